//! cleanup-scanner: finds unused ECS, CloudWatch, Logs, Secrets Manager and SNS resources in its own
//! account and those of `CLEANUP_ACCOUNTS`; reports by default, marks candidates with a dated tag,
//! and removes only what stayed unused through a grace period, in an allowed account, under a cap,
//! and never anything protected or owned by a CloudFormation stack.

pub mod aws;
pub mod carry_out;
pub mod composite;
pub mod config;
pub mod decide;
pub mod error;
pub mod inventory;
pub mod model;
pub mod report;
pub mod rules;
pub mod scan;

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use ops_shared::{CloudWatchSink, SnsNotifier};
use serde_json::Value;

pub use config::{AccountRole, Config};
pub use error::CleanupError;
pub use scan::Report;

pub struct Deps {
    pub aws: SdkConfig,
    pub notifier: SnsNotifier,
    pub metrics: CloudWatchSink,
    /// The accounts every run scans, built once at cold start: each role's credentials are then
    /// assumed once and refreshed as they expire, not assumed again on every invocation.
    pub accounts: Vec<AccountConfig>,
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
            accounts: account_configs(&aws, config).await,
            aws,
        }
    }
}

/// An account a run scans: `None` for the scanner's own, or a role of `CLEANUP_ACCOUNTS`, with the
/// SDK configuration that reaches it.
pub type AccountConfig = (Option<AccountRole>, SdkConfig);

/// The SDK configuration for an account of `CLEANUP_ACCOUNTS`: the scanner's own credentials
/// assume the role (with its external id), refreshed as they expire. Nothing is asked of STS until
/// the first request, whose failure is that account's, not the run's.
pub async fn assumed(base: &SdkConfig, role: &AccountRole) -> SdkConfig {
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
        .session_name("ops-lambdas-cleanup-scanner")
        .configure(base);
    if let Some(id) = &role.external_id {
        provider = provider.external_id(id.clone());
    }
    base.to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider.build().await,
        ))
        .build()
}

/// The scanner's own account first, then every account of `CLEANUP_ACCOUNTS`.
pub async fn account_configs(base: &SdkConfig, config: &Config) -> Vec<AccountConfig> {
    let mut out = vec![(None, base.clone())];
    for role in &config.accounts {
        out.push((Some(role.clone()), assumed(base, role).await));
    }
    out
}

/// Each account opening an inventory per region, passed through `wrap` (the Lambda takes it as it
/// is; `ops cleanup scan` watches it and refuses its changes).
pub fn accounts<'a, W>(configs: &'a [AccountConfig], stale_days: i64, wrap: W) -> Vec<scan::Account<'a>>
where
    W: Fn(Box<dyn inventory::Inventory>, Option<&AccountRole>, &str) -> Box<dyn inventory::Inventory>
        + Copy
        + Send
        + Sync
        + 'a,
{
    configs
        .iter()
        .map(|(role, sdk)| scan::Account {
            role: role.clone(),
            open: Box::new(move |region: &str| -> Box<dyn inventory::Inventory> {
                wrap(
                    Box::new(aws::AwsInventory::new(sdk, region, stale_days)),
                    role.as_ref(),
                    region,
                )
            }),
        })
        .collect()
}

pub async fn handle(deps: &Deps, config: &Config, event: LambdaEvent<Value>) -> Result<Report, CleanupError> {
    let input = config.input(&event.payload)?;
    let deadline = ops_shared::deadline::from_epoch_ms(event.context.deadline);
    let today = chrono::Utc::now().date_naive();
    let accounts = accounts(&deps.accounts, input.rules.log_stale_days, |inventory, _, _| {
        inventory
    });
    scan::run(
        accounts,
        &deps.notifier,
        &deps.metrics,
        config,
        input,
        today,
        deadline,
    )
    .await
}
