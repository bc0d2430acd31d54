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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub use config::Config;
pub use error::ForwardError;
pub use forward::{forward, Summary};

use pagerduty::PagerDutyHttp;
use routing::RoutingCache;
use secrets::SecretsManagerReader;

/// Time kept back from the Lambda deadline to report the result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// The budget when the runtime gives no usable deadline (local emulators send a fixed number of
/// milliseconds rather than a point in time).
const UNKNOWN_DEADLINE_BUDGET: Duration = Duration::from_secs(60);

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
    let deadline = deadline(event.context.deadline);
    tracing::debug!(
        deadline_ms = event.context.deadline,
        budget_ms = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_millis() as u64,
        "invocation budget"
    );
    forward(&deps.routes, &deps.pager, config, &event.payload, deadline).await
}

/// The invocation's deadline (milliseconds since the epoch) as an `Instant`, less a margin.
fn deadline(deadline_ms: u64) -> tokio::time::Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = if deadline_ms > now_ms {
        Duration::from_millis(deadline_ms - now_ms).saturating_sub(DEADLINE_MARGIN)
    } else {
        UNKNOWN_DEADLINE_BUDGET
    };
    tokio::time::Instant::now() + left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_deadline_is_kept_less_the_margin() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let left = deadline(now_ms + 3_000) - tokio::time::Instant::now();
        assert!(
            left <= Duration::from_millis(2_500) && left > Duration::from_millis(2_000),
            "{left:?}"
        );
    }

    #[test]
    fn a_deadline_in_the_past_means_the_runtime_gave_none() {
        let left = deadline(600_000) - tokio::time::Instant::now();
        assert!(left > Duration::from_secs(50), "{left:?}");
    }
}
