//! The ECS adapter: the services ECS checks judge.

use std::time::SystemTime;

use async_trait::async_trait;
use ops_shared::error::{sdk_message, sdk_retryable};

use crate::probe::ecs::{Deployment, EcsServices, EcsUnread, ServiceState};

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
