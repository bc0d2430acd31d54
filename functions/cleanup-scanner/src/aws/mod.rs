//! The AWS adapter of [`Inventory`]: one file per service, paginated listings, batched describes
//! where the APIs take many resources at once, tags in bulk through the Resource Groups Tagging API,
//! the services of a region listed at the same time, and a count of every request made.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use aws_config::SdkConfig;
use chrono::{DateTime, Utc};

use crate::error::CleanupError;
use crate::inventory::{Inventory, Scan};
use crate::model::{Candidate, Facts, Kind, Resource};

/// Counts one request and turns its SDK error into ours.
macro_rules! counted {
    ($n:expr, $op:literal, $result:expr) => {{
        $n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        $result.map_err(|e| crate::error::CleanupError::Aws {
            operation: $op,
            reason: ops_shared::error::sdk_message(&e),
            retryable: ops_shared::error::sdk_retryable(&e),
        })
    }};
}

macro_rules! aws {
    ($n:expr, $op:literal, $call:expr) => {{
        counted!($n, $op, $call.send().await)
    }};
}

/// A change: counted, and its error as the operator reads it.
macro_rules! change {
    ($n:expr, $call:expr) => {{
        $n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        $call
            .await
            .map(|_| ())
            .map_err(|e| ops_shared::error::sdk_message(&e))
    }};
}

/// A read whose failure is only this resource's (a tag re-read before a change): its error as text.
macro_rules! read {
    ($n:expr, $call:expr) => {{
        $n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        $call.await.map_err(|e| ops_shared::error::sdk_message(&e))
    }};
}

mod alarms;
mod ecs;
mod logs;
mod schedules;
mod secrets;
mod tagging;
mod topics;

/// How many requests of one kind (log streams, rules' targets) run at once in a region: enough to
/// hide the round trips, few enough to stay under the services' request rates.
const IN_FLIGHT: usize = 8;

/// One attempt of one request, at most.
const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

pub(crate) fn time(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

pub(crate) fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

/// A resource of this region, its account filled in by the run (which knows whose it is).
pub(crate) fn resource(
    region: &str,
    kind: Kind,
    arn: String,
    name: String,
    created: Option<DateTime<Utc>>,
    tags: HashMap<String, String>,
    facts: Facts,
) -> Resource {
    Resource {
        kind,
        arn,
        name,
        account: String::new(),
        region: region.to_string(),
        created,
        tags,
        facts,
    }
}

pub struct AwsInventory {
    region: String,
    ecs: aws_sdk_ecs::Client,
    cw: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    sm: aws_sdk_secretsmanager::Client,
    sns: aws_sdk_sns::Client,
    sts: aws_sdk_sts::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
    events: aws_sdk_eventbridge::Client,
    scheduler: aws_sdk_scheduler::Client,
    requests: AtomicUsize,
    /// Log groups created at least this many days ago get their last event read.
    stale_log_days: i64,
}

impl AwsInventory {
    /// The inventory of one region, read with `config`'s credentials (the scanner's own, or an
    /// account's assumed role).
    pub fn new(config: &SdkConfig, region: &str, stale_log_days: i64) -> Self {
        // A call that hangs must not take the run's time to publish what it did.
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .build();
        let regional = config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .timeout_config(timeouts)
            .build();
        Self {
            region: region.to_string(),
            ecs: aws_sdk_ecs::Client::new(&regional),
            cw: aws_sdk_cloudwatch::Client::new(&regional),
            logs: aws_sdk_cloudwatchlogs::Client::new(&regional),
            sm: aws_sdk_secretsmanager::Client::new(&regional),
            sns: aws_sdk_sns::Client::new(&regional),
            sts: aws_sdk_sts::Client::new(&regional),
            tagging: aws_sdk_resourcegroupstagging::Client::new(&regional),
            events: aws_sdk_eventbridge::Client::new(&regional),
            scheduler: aws_sdk_scheduler::Client::new(&regional),
            requests: AtomicUsize::new(0),
            stale_log_days,
        }
    }
}

/// The kinds whose tags come from the Tagging API rather than from their own listing.
const TAGGED_IN_BULK: &[Kind] = &[
    Kind::EcsTaskDefinition,
    Kind::Alarm,
    Kind::LogGroup,
    Kind::SnsTopic,
];

#[async_trait]
impl Inventory for AwsInventory {
    async fn account(&self) -> Result<String, CleanupError> {
        let me = aws!(
            self.requests,
            "sts:GetCallerIdentity",
            self.sts.get_caller_identity()
        )?;
        Ok(me.account().unwrap_or_default().to_string())
    }

    async fn scan(&self) -> Result<Scan, CleanupError> {
        let (n, region) = (&self.requests, self.region.as_str());
        let (ecs, alarms, logs, secrets, topics, tags, rules, schedules) = tokio::join!(
            ecs::scan(&self.ecs, n, region),
            alarms::scan(&self.cw, n, region),
            logs::scan(&self.logs, n, region, self.stale_log_days),
            secrets::scan(&self.sm, n, region),
            topics::scan(&self.sns, n, region),
            tagging::tags(&self.tagging, n),
            schedules::ecs_targets(&self.events, n),
            schedules::scheduler_targets(&self.scheduler, n),
        );
        let mut scan = Scan::default();
        let (alarms, alarm_warnings) = alarms?;
        let (topics, arns) = topics?;
        scan.resources.extend(ecs?);
        scan.resources.extend(alarms);
        scan.resources.extend(logs?);
        scan.resources.extend(secrets?);
        scan.resources.extend(topics);
        scan.topics = arns;
        scan.warnings.extend(alarm_warnings);
        match tags {
            Ok(tags) => {
                for r in scan
                    .resources
                    .iter_mut()
                    .filter(|r| TAGGED_IN_BULK.contains(&r.kind))
                {
                    // The Tagging API leaves out what was never tagged.
                    r.tags = tags.get(&r.arn).cloned().unwrap_or_default();
                }
            }
            Err(e) => {
                scan.warnings.push(format!(
                    "tags could not be read in bulk ({e}): task definitions, alarms, log groups and topics are reported, not changed"
                ));
                scan.tags_unread.extend(TAGGED_IN_BULK.iter().copied());
            }
        }
        let mut targets = Vec::new();
        for (what, found) in [
            ("EventBridge rules", rules),
            ("EventBridge Scheduler schedules", schedules),
        ] {
            match found {
                Ok(found) => targets.extend(found),
                Err(e) => {
                    scan.warnings.push(format!(
                        "{what} could not be read ({e}): task definitions and clusters are reported, not changed"
                    ));
                    scan.tags_unread
                        .extend([Kind::EcsTaskDefinition, Kind::EcsCluster]);
                }
            }
        }
        schedules::apply(&mut scan.resources, &targets);
        Ok(scan)
    }

    async fn reread_tags(&self, r: &Resource) -> Result<HashMap<String, String>, String> {
        let n = &self.requests;
        match r.kind {
            Kind::EcsService | Kind::EcsTaskDefinition | Kind::EcsCluster => {
                ecs::tags(&self.ecs, n, &r.arn).await
            }
            Kind::Alarm => alarms::tags(&self.cw, n, &r.arn).await,
            Kind::LogGroup => logs::tags(&self.logs, n, &r.arn).await,
            Kind::Secret => secrets::tags(&self.sm, n, &r.arn).await,
            Kind::SnsTopic => topics::tags(&self.sns, n, &r.arn).await,
        }
    }

    async fn in_use(&self, c: &Candidate) -> Result<Option<String>, String> {
        match c.resource.kind {
            Kind::SnsTopic => topics::in_use(&self.sns, &self.requests, &c.resource.arn).await,
            _ => Ok(None),
        }
    }

    async fn set_tag(&self, r: &Resource, key: &str, value: &str) -> Result<(), String> {
        let n = &self.requests;
        match r.kind {
            Kind::EcsService | Kind::EcsTaskDefinition | Kind::EcsCluster => {
                ecs::set_tag(&self.ecs, n, &r.arn, key, value).await
            }
            Kind::Alarm => alarms::set_tag(&self.cw, n, &r.arn, key, value).await,
            Kind::LogGroup => logs::set_tag(&self.logs, n, &r.arn, key, value).await,
            Kind::Secret => secrets::set_tag(&self.sm, n, &r.arn, key, value).await,
            Kind::SnsTopic => topics::set_tag(&self.sns, n, &r.arn, key, value).await,
        }
    }

    async fn remove_tag(&self, r: &Resource, key: &str) -> Result<(), String> {
        let n = &self.requests;
        match r.kind {
            Kind::EcsService | Kind::EcsTaskDefinition | Kind::EcsCluster => {
                ecs::remove_tag(&self.ecs, n, &r.arn, key).await
            }
            Kind::Alarm => alarms::remove_tag(&self.cw, n, &r.arn, key).await,
            Kind::LogGroup => logs::remove_tag(&self.logs, n, &r.arn, key).await,
            Kind::Secret => secrets::remove_tag(&self.sm, n, &r.arn, key).await,
            Kind::SnsTopic => topics::remove_tag(&self.sns, n, &r.arn, key).await,
        }
    }

    async fn snapshot(&self, c: &Candidate) -> Result<serde_json::Value, String> {
        let (n, r) = (&self.requests, &c.resource);
        let mut config = match r.kind {
            Kind::EcsService | Kind::EcsTaskDefinition | Kind::EcsCluster => {
                ecs::snapshot(&self.ecs, n, c).await?
            }
            Kind::Alarm => alarms::snapshot(&self.cw, n, &r.name).await?,
            Kind::LogGroup => logs::snapshot(&self.logs, n, &r.name).await?,
            Kind::Secret => secrets::snapshot(&self.sm, n, &r.arn).await?,
            Kind::SnsTopic => topics::snapshot(&self.sns, n, &r.arn).await?,
        };
        config["Tags"] = serde_json::json!(r.tags);
        Ok(config)
    }

    async fn act(&self, c: &Candidate) -> Result<(), String> {
        let n = &self.requests;
        match c.resource.kind {
            Kind::EcsService | Kind::EcsTaskDefinition | Kind::EcsCluster => ecs::act(&self.ecs, n, c).await,
            Kind::Alarm => alarms::act(&self.cw, n, c).await,
            Kind::LogGroup => logs::act(&self.logs, n, c).await,
            Kind::Secret => secrets::act(&self.sm, n, c).await,
            Kind::SnsTopic => topics::act(&self.sns, n, c).await,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

/// The refusal of an action that does not apply to the resource (a bug, said rather than done).
pub(crate) fn not_applicable(c: &Candidate) -> Result<(), String> {
    Err(format!("{:?} does not apply to {:?}", c.action, c.resource.kind))
}
