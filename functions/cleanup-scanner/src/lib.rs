//! cleanup-scanner: finds unused ECS, CloudWatch, Logs, Secrets Manager and SNS resources; reports by
//! default, marks candidates with a dated tag, and removes only what stayed unused through a grace
//! period, in an allowed account, under a cap, and never anything protected.

pub mod aws;
pub mod composite;
pub mod config;
pub mod decide;
pub mod error;
pub mod inventory;
pub mod model;
pub mod rules;
pub mod scan;

use lambda_runtime::LambdaEvent;
use ops_shared::{CloudWatchSink, SnsNotifier};
use serde_json::Value;

pub use config::Config;
pub use error::CleanupError;
pub use scan::Report;

pub struct Deps {
    pub aws: aws_config::SdkConfig,
    pub notifier: SnsNotifier,
    pub metrics: CloudWatchSink,
}

impl Deps {
    pub async fn connect(config: &Config) -> Self {
        let aws = ops_shared::aws::load().await;
        Self {
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(&aws), &config.report_topic),
            metrics: CloudWatchSink::new(
                aws_sdk_cloudwatch::Client::new(&aws),
                ops_shared::METRICS_NAMESPACE,
                config::FUNCTION,
            ),
            aws,
        }
    }
}

pub async fn handle(deps: &Deps, config: &Config, event: LambdaEvent<Value>) -> Result<Report, CleanupError> {
    let input = config.input(&event.payload)?;
    let stale_days = input.rules.log_stale_days;
    let today = chrono::Utc::now().date_naive();
    let inventories = |region: &str| -> Box<dyn inventory::Inventory> {
        Box::new(aws::AwsInventory::new(&deps.aws, region, stale_days))
    };
    scan::run(inventories, &deps.notifier, &deps.metrics, config, input, today).await
}
