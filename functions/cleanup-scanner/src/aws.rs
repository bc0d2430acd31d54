//! The AWS adapter of [`Inventory`]: paginated listings, batched describes where the APIs take many
//! resources at once, and a count of every request made.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use ops_shared::error::{sdk_message, sdk_retryable};

use crate::error::CleanupError;
use crate::inventory::{Inventory, Scan};
use crate::model::{Action, Candidate, Facts, Kind, Resource};

pub struct AwsInventory {
    region: String,
    ecs: aws_sdk_ecs::Client,
    cw: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    sm: aws_sdk_secretsmanager::Client,
    sns: aws_sdk_sns::Client,
    sts: aws_sdk_sts::Client,
    requests: AtomicUsize,
    /// Log groups created at least this many days ago get their last event read.
    stale_log_days: i64,
}

fn time(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

/// Counts one request and turns its SDK error into ours.
macro_rules! counted {
    ($self:ident, $op:literal, $result:expr) => {{
        $self.requests.fetch_add(1, Ordering::Relaxed);
        $result.map_err(|e| CleanupError::Aws {
            operation: $op,
            reason: sdk_message(&e),
            retryable: sdk_retryable(&e),
        })
    }};
}

macro_rules! aws {
    ($self:ident, $op:literal, $call:expr) => {{
        counted!($self, $op, $call.send().await)
    }};
}

macro_rules! change {
    ($self:ident, $call:expr) => {{
        $self.requests.fetch_add(1, Ordering::Relaxed);
        $call.await.map(|_| ()).map_err(|e| sdk_message(&e))
    }};
}

impl AwsInventory {
    pub fn new(config: &SdkConfig, region: &str, stale_log_days: i64) -> Self {
        let regional = config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Self {
            region: region.to_string(),
            ecs: aws_sdk_ecs::Client::new(&regional),
            cw: aws_sdk_cloudwatch::Client::new(&regional),
            logs: aws_sdk_cloudwatchlogs::Client::new(&regional),
            sm: aws_sdk_secretsmanager::Client::new(&regional),
            sns: aws_sdk_sns::Client::new(&regional),
            sts: aws_sdk_sts::Client::new(&regional),
            requests: AtomicUsize::new(0),
            stale_log_days,
        }
    }

    fn resource(
        &self,
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
            region: self.region.clone(),
            created,
            tags,
            facts,
        }
    }

    async fn scan_ecs(&self, out: &mut Vec<Resource>) -> Result<(), CleanupError> {
        let mut clusters = Vec::new();
        let mut pages = self.ecs.list_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = counted!(self, "ecs:ListClusters", page)?;
            clusters.extend(page.cluster_arns().iter().cloned());
        }
        let mut in_use = HashSet::new();
        for batch in clusters.chunks(100) {
            let described = aws!(
                self,
                "ecs:DescribeClusters",
                self.ecs
                    .describe_clusters()
                    .set_clusters(Some(batch.to_vec()))
                    .include(aws_sdk_ecs::types::ClusterField::Tags)
            )?;
            for c in described.clusters() {
                let tags = c
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect();
                out.push(self.resource(
                    Kind::EcsCluster,
                    c.cluster_arn().unwrap_or_default().to_string(),
                    c.cluster_name().unwrap_or_default().to_string(),
                    None,
                    tags,
                    Facts::EcsCluster {
                        services: c.active_services_count() as i64,
                        running_tasks: c.running_tasks_count() as i64,
                        pending_tasks: c.pending_tasks_count() as i64,
                        instances: c.registered_container_instances_count() as i64,
                    },
                ));
            }
        }
        for cluster in &clusters {
            let mut services = Vec::new();
            let mut pages = self.ecs.list_services().cluster(cluster).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = counted!(self, "ecs:ListServices", page)?;
                services.extend(page.service_arns().iter().cloned());
            }
            for batch in services.chunks(10) {
                let described = aws!(
                    self,
                    "ecs:DescribeServices",
                    self.ecs
                        .describe_services()
                        .cluster(cluster)
                        .set_services(Some(batch.to_vec()))
                        .include(aws_sdk_ecs::types::ServiceField::Tags)
                )?;
                for s in described.services() {
                    // A deleted service lingers as DRAINING, then INACTIVE: it is already going.
                    if matches!(s.status(), Some("INACTIVE" | "DRAINING")) {
                        continue;
                    }
                    if let Some(td) = s.task_definition() {
                        in_use.insert(td.to_string());
                    }
                    for d in s.deployments() {
                        if let Some(td) = d.task_definition() {
                            in_use.insert(td.to_string());
                        }
                    }
                    let last_change = s
                        .deployments()
                        .iter()
                        .filter_map(|d| d.updated_at().and_then(time))
                        .max();
                    let tags = s
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect();
                    out.push(self.resource(
                        Kind::EcsService,
                        s.service_arn().unwrap_or_default().to_string(),
                        s.service_name().unwrap_or_default().to_string(),
                        s.created_at().and_then(time),
                        tags,
                        Facts::EcsService {
                            cluster: cluster.clone(),
                            desired: s.desired_count() as i64,
                            running: s.running_count() as i64,
                            last_change,
                        },
                    ));
                }
            }
        }
        for (status, active) in [
            (aws_sdk_ecs::types::TaskDefinitionStatus::Active, true),
            (aws_sdk_ecs::types::TaskDefinitionStatus::Inactive, false),
        ] {
            let mut arns = Vec::new();
            let mut pages = self
                .ecs
                .list_task_definitions()
                .status(status.clone())
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = counted!(self, "ecs:ListTaskDefinitions", page)?;
                arns.extend(page.task_definition_arns().iter().cloned());
            }
            let mut families: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
            for arn in arns {
                let tail = arn.rsplit('/').next().unwrap_or_default();
                let (family, revision) = tail.rsplit_once(':').unwrap_or((tail, "0"));
                families
                    .entry(family.to_string())
                    .or_default()
                    .push((revision.parse().unwrap_or(0), arn.clone()));
            }
            for (family, mut revisions) in families {
                revisions.sort();
                let count = revisions.len();
                for (i, (revision, arn)) in revisions.into_iter().enumerate() {
                    out.push(self.resource(
                        Kind::EcsTaskDefinition,
                        arn.clone(),
                        format!("{family}:{revision}"),
                        None,
                        HashMap::new(),
                        Facts::EcsTaskDefinition {
                            family: family.clone(),
                            revision,
                            active,
                            in_use: in_use.contains(&arn),
                            newer_revisions: count - i - 1,
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    async fn scan_alarms(
        &self,
        out: &mut Vec<Resource>,
        warnings: &mut Vec<String>,
    ) -> Result<(), CleanupError> {
        let composite_rules = {
            let mut rules = Some(Vec::new());
            let mut pages = self
                .cw
                .describe_alarms()
                .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                match counted!(self, "cloudwatch:DescribeAlarms", page) {
                    Ok(page) => {
                        if let Some(r) = rules.as_mut() {
                            r.extend(
                                page.composite_alarms()
                                    .iter()
                                    .filter_map(|c| c.alarm_rule().map(str::to_string)),
                            );
                        }
                    }
                    Err(e) => {
                        warnings.push(format!("composite alarms could not be read ({e}): stale alarms are reported, not deleted"));
                        rules = None;
                        break;
                    }
                }
            }
            rules
        };
        let mut pages = self.cw.describe_alarms().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = counted!(self, "cloudwatch:DescribeAlarms", page)?;
            for a in page.metric_alarms() {
                let name = a.alarm_name().unwrap_or_default().to_string();
                let arn = a.alarm_arn().unwrap_or_default().to_string();
                let tags = match aws!(
                    self,
                    "cloudwatch:ListTagsForResource",
                    self.cw.list_tags_for_resource().resource_arn(&arn)
                ) {
                    Ok(t) => t
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect(),
                    Err(e) => {
                        warnings.push(format!("tags of alarm {name} could not be read ({e}): skipped"));
                        continue;
                    }
                };
                let in_composite = composite_rules.as_ref().map(|rules| {
                    rules
                        .iter()
                        .any(|r| crate::composite::children(r).contains(&name))
                });
                let mut actions: Vec<String> = a.alarm_actions().to_vec();
                actions.extend(a.ok_actions().iter().cloned());
                actions.extend(a.insufficient_data_actions().iter().cloned());
                out.push(
                    self.resource(
                        Kind::Alarm,
                        arn,
                        name,
                        None,
                        tags,
                        Facts::Alarm {
                            state: a
                                .state_value()
                                .map(|s| s.as_str().to_string())
                                .unwrap_or_default(),
                            state_updated: a.state_updated_timestamp().and_then(time),
                            in_composite,
                            actions,
                        },
                    ),
                );
            }
        }
        Ok(())
    }

    async fn scan_logs(
        &self,
        out: &mut Vec<Resource>,
        warnings: &mut Vec<String>,
    ) -> Result<(), CleanupError> {
        let now = Utc::now();
        let mut pages = self.logs.describe_log_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = counted!(self, "logs:DescribeLogGroups", page)?;
            for g in page.log_groups() {
                let name = g.log_group_name().unwrap_or_default().to_string();
                let arn = g.arn().unwrap_or_default().trim_end_matches(":*").to_string();
                let created = millis(g.creation_time());
                let tags = match aws!(
                    self,
                    "logs:ListTagsForResource",
                    self.logs.list_tags_for_resource().resource_arn(&arn)
                ) {
                    Ok(t) => t.tags().cloned().unwrap_or_default(),
                    Err(e) => {
                        warnings.push(format!(
                            "tags of log group {name} could not be read ({e}): skipped"
                        ));
                        continue;
                    }
                };
                // Only old groups can be stale: reading the newest stream costs a request each.
                let last_event = if created.is_some_and(|c| (now - c).num_days() >= self.stale_log_days) {
                    let streams = aws!(
                        self,
                        "logs:DescribeLogStreams",
                        self.logs
                            .describe_log_streams()
                            .log_group_name(&name)
                            .order_by(aws_sdk_cloudwatchlogs::types::OrderBy::LastEventTime)
                            .descending(true)
                            .limit(1)
                    )?;
                    millis(
                        streams
                            .log_streams()
                            .first()
                            .and_then(|s| s.last_event_timestamp()),
                    )
                } else {
                    None
                };
                out.push(self.resource(
                    Kind::LogGroup,
                    arn,
                    name,
                    created,
                    tags,
                    Facts::LogGroup {
                        retention_days: g.retention_in_days(),
                        stored_bytes: g.stored_bytes().unwrap_or(0),
                        last_event,
                    },
                ));
            }
        }
        Ok(())
    }

    async fn scan_secrets(&self, out: &mut Vec<Resource>) -> Result<(), CleanupError> {
        let mut pages = self.sm.list_secrets().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = counted!(self, "secretsmanager:ListSecrets", page)?;
            for s in page.secret_list() {
                let tags = s
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect();
                out.push(self.resource(
                    Kind::Secret,
                    s.arn().unwrap_or_default().to_string(),
                    s.name().unwrap_or_default().to_string(),
                    s.created_date().and_then(time),
                    tags,
                    Facts::Secret {
                        last_accessed: s.last_accessed_date().and_then(time),
                        rotation_enabled: s.rotation_enabled().unwrap_or(false),
                    },
                ));
            }
        }
        Ok(())
    }

    async fn scan_topics(
        &self,
        out: &mut Vec<Resource>,
        topics: &mut HashSet<String>,
        warnings: &mut Vec<String>,
    ) -> Result<(), CleanupError> {
        let mut pages = self.sns.list_topics().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = counted!(self, "sns:ListTopics", page)?;
            for t in page.topics() {
                let Some(arn) = t.topic_arn() else { continue };
                topics.insert(arn.to_string());
                // GetTopicAttributes' subscription counts are not reliable everywhere; list them.
                let mut subscriptions = 0;
                let mut sub_pages = self
                    .sns
                    .list_subscriptions_by_topic()
                    .topic_arn(arn)
                    .into_paginator()
                    .send();
                while let Some(subs) = sub_pages.next().await {
                    subscriptions += counted!(self, "sns:ListSubscriptionsByTopic", subs)?
                        .subscriptions()
                        .len();
                }
                let tags = match aws!(
                    self,
                    "sns:ListTagsForResource",
                    self.sns.list_tags_for_resource().resource_arn(arn)
                ) {
                    Ok(t) => t
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                    Err(e) => {
                        warnings.push(format!("tags of topic {arn} could not be read ({e}): skipped"));
                        continue;
                    }
                };
                let name = arn.rsplit(':').next().unwrap_or_default().to_string();
                out.push(self.resource(
                    Kind::SnsTopic,
                    arn.to_string(),
                    name,
                    None,
                    tags,
                    Facts::SnsTopic { subscriptions },
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Inventory for AwsInventory {
    async fn account(&self) -> Result<String, CleanupError> {
        let me = aws!(self, "sts:GetCallerIdentity", self.sts.get_caller_identity())?;
        Ok(me.account().unwrap_or_default().to_string())
    }

    async fn scan(&self) -> Result<Scan, CleanupError> {
        let mut scan = Scan::default();
        self.scan_ecs(&mut scan.resources).await?;
        self.scan_alarms(&mut scan.resources, &mut scan.warnings).await?;
        self.scan_logs(&mut scan.resources, &mut scan.warnings).await?;
        self.scan_secrets(&mut scan.resources).await?;
        self.scan_topics(&mut scan.resources, &mut scan.topics, &mut scan.warnings)
            .await?;
        Ok(scan)
    }

    async fn load_tags(&self, resource: &mut Resource) -> Result<(), String> {
        if resource.kind != Kind::EcsTaskDefinition {
            return Ok(());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let out = self
            .ecs
            .list_tags_for_resource()
            .resource_arn(&resource.arn)
            .send()
            .await
            .map_err(|e| sdk_message(&e))?;
        resource.tags = out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect();
        Ok(())
    }

    async fn set_tag(&self, r: &Resource, key: &str, value: &str) -> Result<(), String> {
        match r.kind {
            Kind::EcsService | Kind::EcsTaskDefinition | Kind::EcsCluster => {
                let tag = aws_sdk_ecs::types::Tag::builder().key(key).value(value).build();
                change!(
                    self,
                    self.ecs.tag_resource().resource_arn(&r.arn).tags(tag).send()
                )
            }
            Kind::Alarm => {
                let tag = aws_sdk_cloudwatch::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build();
                change!(self, self.cw.tag_resource().resource_arn(&r.arn).tags(tag).send())
            }
            Kind::LogGroup => change!(
                self,
                self.logs
                    .tag_resource()
                    .resource_arn(&r.arn)
                    .tags(key, value)
                    .send()
            ),
            Kind::Secret => {
                let tag = aws_sdk_secretsmanager::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build();
                change!(self, self.sm.tag_resource().secret_id(&r.arn).tags(tag).send())
            }
            Kind::SnsTopic => {
                let tag = aws_sdk_sns::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .map_err(|e| e.to_string())?;
                change!(
                    self,
                    self.sns.tag_resource().resource_arn(&r.arn).tags(tag).send()
                )
            }
        }
    }

    async fn remove_tag(&self, r: &Resource, key: &str) -> Result<(), String> {
        match r.kind {
            Kind::EcsService | Kind::EcsTaskDefinition | Kind::EcsCluster => change!(
                self,
                self.ecs
                    .untag_resource()
                    .resource_arn(&r.arn)
                    .tag_keys(key)
                    .send()
            ),
            Kind::Alarm => change!(
                self,
                self.cw.untag_resource().resource_arn(&r.arn).tag_keys(key).send()
            ),
            Kind::LogGroup => change!(
                self,
                self.logs
                    .untag_resource()
                    .resource_arn(&r.arn)
                    .tag_keys(key)
                    .send()
            ),
            Kind::Secret => change!(
                self,
                self.sm.untag_resource().secret_id(&r.arn).tag_keys(key).send()
            ),
            Kind::SnsTopic => change!(
                self,
                self.sns
                    .untag_resource()
                    .resource_arn(&r.arn)
                    .tag_keys(key)
                    .send()
            ),
        }
    }

    async fn act(&self, c: &Candidate) -> Result<(), String> {
        let r = &c.resource;
        match (&r.facts, &c.action) {
            (Facts::EcsService { cluster, .. }, Action::Delete) => change!(
                self,
                self.ecs.delete_service().cluster(cluster).service(&r.arn).send()
            ),
            (Facts::EcsTaskDefinition { .. }, Action::Deregister) => change!(
                self,
                self.ecs
                    .deregister_task_definition()
                    .task_definition(&r.arn)
                    .send()
            ),
            (Facts::EcsTaskDefinition { .. }, Action::Delete) => change!(
                self,
                self.ecs.delete_task_definitions().task_definitions(&r.arn).send()
            ),
            (Facts::EcsCluster { .. }, Action::Delete) => {
                change!(self, self.ecs.delete_cluster().cluster(&r.arn).send())
            }
            (Facts::Alarm { .. }, Action::Delete) => {
                change!(self, self.cw.delete_alarms().alarm_names(&r.name).send())
            }
            (Facts::LogGroup { .. }, Action::Delete) => {
                change!(self, self.logs.delete_log_group().log_group_name(&r.name).send())
            }
            (Facts::LogGroup { .. }, Action::SetRetention { days }) => {
                change!(
                    self,
                    self.logs
                        .put_retention_policy()
                        .log_group_name(&r.name)
                        .retention_in_days(*days)
                        .send()
                )
            }
            (Facts::Secret { .. }, Action::DeleteSecret { recovery_window_days }) => {
                change!(
                    self,
                    self.sm
                        .delete_secret()
                        .secret_id(&r.arn)
                        .recovery_window_in_days(*recovery_window_days)
                        .send()
                )
            }
            (Facts::SnsTopic { .. }, Action::Delete) => {
                change!(self, self.sns.delete_topic().topic_arn(&r.arn).send())
            }
            (_, action) => Err(format!("{action:?} does not apply to {:?}", r.kind)),
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}
