//! alarm-forwarder: CloudWatch alarm notifications from the `alarms` SNS topic to PagerDuty.
//!
//! ALARM opens an incident, OK resolves it (same dedup key: the alarm ARN) on every routing key,
//! a notification its alarm has moved past is skipped as stale, INSUFFICIENT_DATA and non-alarm
//! messages follow configuration. See `functions/alarm-forwarder/README.md` for the variables.

pub mod alarm;
pub mod aws_events;
pub mod config;
pub mod error;
pub mod event;
pub mod forward;
pub mod pagerduty;
pub mod plan;
pub mod routing;
pub mod runbook;
pub mod secrets;
pub mod severity;
pub mod sns;
pub mod states;
#[cfg(test)]
mod test_events;

use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub use config::Config;
pub use error::ForwardError;
pub use forward::{forward, Ports, Summary};

use ops_shared::metrics::CloudWatchSink;
use pagerduty::PagerDutyHttp;
use routing::RoutingCache;
use secrets::SecretsManagerReader;
use states::CloudWatchStates;

/// Clients built once per container and shared by every invocation.
pub struct Deps {
    pub routes: RoutingCache,
    pub pager: PagerDutyHttp,
    pub states: CloudWatchStates,
    pub metrics: CloudWatchSink,
}

impl Deps {
    pub async fn connect(config: &Config) -> Self {
        let aws = ops_shared::aws::load().await;
        let reader = SecretsManagerReader::new(aws_sdk_secretsmanager::Client::new(&aws));
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws);
        Self {
            routes: RoutingCache::new(Box::new(reader), &config.routing_secret, config.routing_cache_ttl),
            pager: PagerDutyHttp::new(&config.events_url, config.request_timeout, config.max_attempts),
            states: CloudWatchStates::new(cloudwatch.clone()),
            metrics: CloudWatchSink::new(cloudwatch, ops_shared::METRICS_NAMESPACE, "alarm-forwarder"),
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
    let ports = Ports {
        routes: &deps.routes,
        pager: &deps.pager,
        states: &deps.states,
        metrics: &deps.metrics,
    };
    forward(&ports, config, &event.payload, deadline).await
}
