//! alarm-forwarder: CloudWatch alarm notifications from the `alarms` SNS topic to PagerDuty.
//!
//! ALARM opens an incident, OK resolves it (same dedup key: the alarm ARN), INSUFFICIENT_DATA and
//! non-alarm messages follow configuration. See the README for the variables.

pub mod alarm;
pub mod config;
pub mod error;
pub mod event;
pub mod forward;
pub mod pagerduty;
pub mod routing;
pub mod secrets;
pub mod severity;
pub mod sns;
#[cfg(test)]
mod test_events;

use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub use config::Config;
pub use error::ForwardError;
pub use forward::{forward, Summary};

use pagerduty::PagerDutyHttp;
use routing::RoutingCache;
use secrets::SecretsManagerReader;

/// Clients built once per container and shared by every invocation.
pub struct Deps {
    pub routes: RoutingCache,
    pub pager: PagerDutyHttp,
}

impl Deps {
    pub async fn connect(config: &Config) -> Self {
        let aws = ops_shared::aws::load().await;
        let reader = SecretsManagerReader::new(aws_sdk_secretsmanager::Client::new(&aws));
        Self {
            routes: RoutingCache::new(Box::new(reader), &config.routing_secret, config.routing_cache_ttl),
            pager: PagerDutyHttp::new(&config.events_url, config.request_timeout, config.max_attempts),
        }
    }
}

/// The Lambda handler.
pub async fn handle(
    deps: &Deps,
    config: &Config,
    event: LambdaEvent<Value>,
) -> Result<Summary, ForwardError> {
    let deadline = ops_shared::deadline::from_epoch_ms(event.context.deadline);
    tracing::debug!(
        deadline_ms = event.context.deadline,
        budget_ms = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_millis() as u64,
        "invocation budget"
    );
    forward(&deps.routes, &deps.pager, config, &event.payload, deadline).await
}
