//! The AWS adapters: CloudWatch alarms and ECS services.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use ops_shared::error::{sdk_message, sdk_retryable};

use crate::alarms::{AlarmSpec, AlarmStore, Existing};
use crate::error::HealthError;
use crate::probe::ecs::{Deployment, EcsServices, EcsUnread, ServiceState};

pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

fn alarms_error<E, R>(operation: &'static str, e: &aws_sdk_cloudwatch::error::SdkError<E, R>) -> HealthError
where
    E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    HealthError::Alarms {
        operation,
        reason: sdk_message(e),
        retryable: sdk_retryable(e),
    }
}

#[async_trait]
impl AlarmStore for CloudWatchAlarms {
    async fn list(&self, prefix: &str) -> Result<Vec<Existing>, HealthError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .max_records(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| alarms_error("DescribeAlarms", &e))?;
            for a in page.metric_alarms() {
                let mut dimensions: Vec<(String, String)> = a
                    .dimensions()
                    .iter()
                    .map(|d| {
                        (
                            d.name().unwrap_or_default().to_string(),
                            d.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                dimensions.sort();
                let spec = AlarmSpec {
                    name: a.alarm_name().unwrap_or_default().to_string(),
                    description: a.alarm_description().unwrap_or_default().to_string(),
                    namespace: a.namespace().unwrap_or_default().to_string(),
                    metric: a.metric_name().unwrap_or_default().to_string(),
                    dimensions,
                    statistic: a.statistic().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    period_secs: a.period().unwrap_or_default(),
                    evaluation_periods: a.evaluation_periods().unwrap_or_default(),
                    datapoints_to_alarm: a
                        .datapoints_to_alarm()
                        .unwrap_or_else(|| a.evaluation_periods().unwrap_or_default()),
                    threshold: a.threshold().unwrap_or_default(),
                    comparison: a
                        .comparison_operator()
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default(),
                    treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_string(),
                    alarm_actions: a.alarm_actions().to_vec(),
                    ok_actions: a.ok_actions().to_vec(),
                };
                out.push(Existing {
                    spec,
                    ok: a.state_value() == Some(&StateValue::Ok),
                });
            }
        }
        Ok(out)
    }

    async fn put(&self, spec: &AlarmSpec) -> Result<(), HealthError> {
        let dimensions = spec
            .dimensions
            .iter()
            .map(|(k, v)| Dimension::builder().name(k).value(v).build())
            .collect();
        self.client
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .alarm_description(&spec.description)
            .namespace(&spec.namespace)
            .metric_name(&spec.metric)
            .set_dimensions(Some(dimensions))
            .statistic(Statistic::from(spec.statistic.as_str()))
            .period(spec.period_secs)
            .evaluation_periods(spec.evaluation_periods)
            .datapoints_to_alarm(spec.datapoints_to_alarm)
            .threshold(spec.threshold)
            .comparison_operator(ComparisonOperator::from(spec.comparison.as_str()))
            .treat_missing_data(&spec.treat_missing_data)
            .set_alarm_actions(Some(spec.alarm_actions.clone()))
            .set_ok_actions(Some(spec.ok_actions.clone()))
            .send()
            .await
            .map_err(|e| alarms_error("PutMetricAlarm", &e))?;
        Ok(())
    }

    async fn set_ok(&self, name: &str, reason: &str) -> Result<(), HealthError> {
        self.client
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::Ok)
            .state_reason(reason)
            .send()
            .await
            .map_err(|e| alarms_error("SetAlarmState", &e))?;
        Ok(())
    }

    async fn delete(&self, names: &[String]) -> Result<(), HealthError> {
        // DeleteAlarms takes at most 100 names.
        for batch in names.chunks(100) {
            self.client
                .delete_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| alarms_error("DeleteAlarms", &e))?;
        }
        Ok(())
    }
}

pub struct EcsClient {
    client: aws_sdk_ecs::Client,
}

impl EcsClient {
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl EcsServices for EcsClient {
    async fn describe(&self, cluster: &str, services: &[String]) -> Result<Vec<ServiceState>, EcsUnread> {
        let answer = self
            .client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(services.to_vec()))
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            // A deleted or mistyped cluster is a verdict on its services: none of them runs.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_cluster_not_found_exception()) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => {
                return Err(EcsUnread {
                    reason: format!(
                        "ecs:DescribeServices in cluster {cluster} failed: {}",
                        sdk_message(&e)
                    ),
                    retryable: sdk_retryable(&e),
                })
            }
        };
        Ok(out
            .services()
            .iter()
            .map(|s| ServiceState {
                name: s.service_name().unwrap_or_default().to_string(),
                status: s.status().unwrap_or_default().to_string(),
                desired: s.desired_count() as i64,
                running: s.running_count() as i64,
                deployments: s
                    .deployments()
                    .iter()
                    .map(|d| Deployment {
                        id: d.id().unwrap_or_default().to_string(),
                        status: d.status().unwrap_or_default().to_string(),
                        rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                        rollout_reason: d.rollout_state_reason().map(str::to_string),
                        created_at: d.created_at().and_then(|t| SystemTime::try_from(*t).ok()),
                    })
                    .collect(),
            })
            .collect())
    }
}
