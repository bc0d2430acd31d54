//! cost-reporter: what did we spend, what changed, where will the month end — from one
//! GetCostAndUsage request (plus the forecast, and anomalies when a monitor is set).

pub mod analysis;
pub mod config;
pub mod costexplorer;
pub mod error;
pub mod render;
pub mod report;
pub mod request;
pub mod source;

use lambda_runtime::LambdaEvent;
use ops_shared::{CloudWatchSink, SnsNotifier};
use serde_json::Value;

pub use config::Config;
pub use error::CostError;
pub use report::{report, ReportOutput};

/// Clients built once per container.
pub struct Deps {
    pub source: costexplorer::CostExplorer,
    pub notifier: SnsNotifier,
    pub metrics: CloudWatchSink,
}

impl Deps {
    pub async fn connect(config: &Config) -> Self {
        let aws = ops_shared::aws::load().await;
        Self {
            source: costexplorer::CostExplorer::new(aws_sdk_costexplorer::Client::new(&aws)),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(&aws), &config.report_topic),
            metrics: CloudWatchSink::new(
                aws_sdk_cloudwatch::Client::new(&aws),
                ops_shared::METRICS_NAMESPACE,
                config::FUNCTION,
            ),
        }
    }
}

/// The Lambda handler: the report for the UTC day of the invocation.
pub async fn handle(
    deps: &Deps,
    config: &Config,
    event: LambdaEvent<Value>,
) -> Result<ReportOutput, CostError> {
    let today = chrono::Utc::now().date_naive();
    report(
        &deps.source,
        &deps.notifier,
        &deps.metrics,
        config,
        &event.payload,
        today,
    )
    .await
}
