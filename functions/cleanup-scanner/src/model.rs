//! What the scanner knows about a resource, and what it may do to one.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    EcsService,
    EcsTaskDefinition,
    EcsCluster,
    Alarm,
    LogGroup,
    Secret,
    SnsTopic,
}

/// What was seen of one resource; the facts the rules need, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub kind: Kind,
    pub arn: String,
    pub name: String,
    /// The account the resource is in (the scanner's own, or one assumed through CLEANUP_ACCOUNTS).
    pub account: String,
    pub region: String,
    pub created: Option<DateTime<Utc>>,
    pub tags: HashMap<String, String>,
    pub facts: Facts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Facts {
    EcsService {
        cluster: String,
        desired: i64,
        running: i64,
        last_change: Option<DateTime<Utc>>,
    },
    EcsTaskDefinition {
        family: String,
        revision: i64,
        active: bool,
        in_use: bool,
        newer_revisions: usize,
    },
    EcsCluster {
        services: i64,
        running_tasks: i64,
        pending_tasks: i64,
        instances: i64,
        /// EventBridge rules that run tasks in it (scheduled tasks): a cluster with none running
        /// right now is still in use.
        scheduled_by: Vec<String>,
    },
    Alarm {
        state: String,
        state_updated: Option<DateTime<Utc>>,
        in_composite: Option<bool>,
        actions: Vec<String>,
    },
    LogGroup {
        retention_days: Option<i32>,
        stored_bytes: i64,
        last_event: Option<DateTime<Utc>>,
    },
    Secret {
        last_accessed: Option<DateTime<Utc>>,
        rotation_enabled: bool,
    },
    SnsTopic {
        subscriptions: usize,
    },
}

/// What the scanner does to a candidate in `delete` mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Delete,
    Deregister,
    SetRetention { days: i32 },
    DeleteSecret { recovery_window_days: i64 },
    ReportOnly,
}

/// A resource a rule matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub rule: &'static str,
    pub resource: Resource,
    pub action: Action,
    pub reason: String,
    pub age_days: Option<i64>,
    /// Estimated monthly saving at list prices, in USD.
    pub monthly_saving: Option<f64>,
    /// The mark must be at least this old before the action (raised by rules whose resource age
    /// cannot be read, such as ECS clusters).
    pub min_mark_days: i64,
}

/// The mark tag's value: the day and the rule that set it (`2026-11-20:log-group-stale`).
pub fn mark_value(day: NaiveDate, rule: &str) -> String {
    format!("{day}:{rule}")
}

/// The day and the rule of a mark; an older mark without a rule (a bare date or RFC 3339
/// date-time) has none.
pub fn mark_of<'a>(resource: &'a Resource, tag: &str) -> Option<(NaiveDate, Option<&'a str>)> {
    let value = resource.tags.get(tag)?;
    let day = |text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|d| d.date_naive()))
    };
    if let Some(d) = day(value) {
        return Some((d, None));
    }
    let (date, rule) = value.split_once(':')?;
    Some((day(date)?, Some(rule)))
}

/// When `rule` marked the resource. A mark set by another rule (or by a version that did not name
/// its rule) does not count: each rule's grace period starts with its own mark, so a log group
/// marked for a retention fix is not deleted as stale without a grace period of its own.
pub fn marked_on(resource: &Resource, tag: &str, rule: &str) -> Option<NaiveDate> {
    match mark_of(resource, tag)? {
        (day, Some(by)) if by == rule => Some(day),
        _ => None,
    }
}

pub fn protected(resource: &Resource, tag: &str) -> bool {
    resource
        .tags
        .get(tag)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// CloudFormation's tag on every resource a stack made.
pub const STACK_ID_TAG: &str = "aws:cloudformation:stack-id";

/// The name of the CloudFormation stack that owns the resource, if one does: the stack, not the
/// scanner, decides when it goes (a resource deleted under a stack breaks its next update).
pub fn owner_stack(resource: &Resource) -> Option<String> {
    let id = resource.tags.get(STACK_ID_TAG)?;
    let name = resource
        .tags
        .get("aws:cloudformation:stack-name")
        .cloned()
        // arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID
        .or_else(|| id.split('/').nth(1).map(str::to_string))
        .unwrap_or_else(|| id.clone());
    Some(name)
}

/// Why a resource is never marked or changed, if it is not: the protect tag, or a stack owns it.
pub fn kept_because(resource: &Resource, protect_tag: &str) -> Option<String> {
    if protected(resource, protect_tag) {
        Some(format!("protected ({protect_tag}): never touched"))
    } else {
        owner_stack(resource).map(|stack| {
            format!("owned by CloudFormation stack {stack}: never marked or changed here; change it through the stack")
        })
    }
}
