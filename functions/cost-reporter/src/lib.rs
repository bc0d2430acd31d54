//! cost-reporter: what did we spend, what changed, where will the month and the year end, per
//! environment, and what to do about it — from a stated handful of Cost Explorer requests.

pub mod analysis;
mod ce_recommendations;
pub mod cleanup_figures;
pub mod config;
pub mod costexplorer;
pub mod environments;
pub mod error;
pub mod forecast;
pub mod recommendations;
pub mod render;
pub(crate) mod render_sections;
pub mod report;
pub mod request;
pub mod source;
pub mod sparkline;

use lambda_runtime::LambdaEvent;
use ops_shared::{CloudWatchSink, SnsNotifier};
use serde_json::Value;

pub use config::Config;
pub use error::CostError;
pub use report::{report, Ports, ReportOutput};

/// Clients built once per container.
pub struct Deps {
    pub source: costexplorer::CostExplorer,
    pub cleanup: cleanup_figures::CloudWatchCleanup,
    pub notifier: SnsNotifier,
    pub metrics: CloudWatchSink,
}

impl Deps {
    pub async fn connect(config: &Config) -> Self {
        let aws = ops_shared::aws::load().await;
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws);
        Self {
            source: costexplorer::CostExplorer::new(aws_sdk_costexplorer::Client::new(&aws)),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(&aws), &config.report_topic),
            cleanup: cleanup_figures::CloudWatchCleanup::new(cloudwatch.clone(), "cleanup-scanner"),
            metrics: CloudWatchSink::new(cloudwatch, ops_shared::METRICS_NAMESPACE, config::FUNCTION),
        }
    }

    pub fn ports(&self) -> Ports<'_> {
        Ports {
            source: &self.source,
            cleanup: &self.cleanup,
            notifier: &self.notifier,
            metrics: &self.metrics,
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
    report(&deps.ports(), config, &event.payload, today).await
}
