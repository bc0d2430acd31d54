//! The CloudWatch adapter: the managed alarms, read, written, tagged and deleted.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic, Tag};
use ops_shared::error::{sdk_message, sdk_retryable};

use crate::alarms::{AlarmSpec, AlarmStore, Existing};
use crate::error::HealthError;

pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
    /// The ARNs the last listing returned. PutMetricAlarm's tags count only when it creates an
    /// alarm; an existing one (known by its ARN) is tagged with TagResource.
    arns: Mutex<HashMap<String, String>>,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self {
            client,
            arns: Mutex::default(),
        }
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
        let mut arns = HashMap::new();
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
                    tags: Vec::new(),
                };
                if let Some(arn) = a.alarm_arn() {
                    arns.insert(spec.name.clone(), arn.to_string());
                }
                out.push(Existing {
                    spec,
                    ok: a.state_value() == Some(&StateValue::Ok),
                });
            }
        }
        if let Ok(mut known) = self.arns.lock() {
            *known = arns;
        }
        Ok(out)
    }

    async fn put(&self, spec: &AlarmSpec) -> Result<(), HealthError> {
        let tags: Vec<Tag> = spec
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
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
            .set_tags(Some(tags.clone()))
            .send()
            .await
            .map_err(|e| alarms_error("PutMetricAlarm", &e))?;
        let arn = self.arns.lock().ok().and_then(|a| a.get(&spec.name).cloned());
        // Tags are for tools: an alarm that could not be retagged still pages as it should, so a
        // refusal is a warning, not a failed run.
        if let (Some(arn), false) = (arn, tags.is_empty()) {
            if let Err(e) = self
                .client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
            {
                tracing::warn!(alarm = %spec.name, error = %sdk_message(&e), "the alarm's kind and group tags could not be written");
            }
        }
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
