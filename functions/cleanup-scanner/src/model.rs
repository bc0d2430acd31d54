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
