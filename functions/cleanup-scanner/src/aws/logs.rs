//! CloudWatch Logs: log groups with their retention, size and last event; tags, marks, retention
//! and deletion.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use aws_sdk_cloudwatchlogs::types::OrderBy;
use aws_sdk_cloudwatchlogs::Client;
use chrono::Utc;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::{millis, not_applicable, resource, IN_FLIGHT};
use crate::error::CleanupError;
use crate::model::{Action, Candidate, Facts, Kind, Resource};

/// Log groups (tags come in bulk). Only groups at least `stale_days` old can be stale, so only
/// theirs newest stream is read: a request each, several at a time.
pub(super) async fn scan(
    logs: &Client,
    n: &AtomicUsize,
    region: &str,
    stale_days: i64,
) -> Result<Vec<Resource>, CleanupError> {
    let now = Utc::now();
    let mut groups = Vec::new();
    let mut pages = logs.describe_log_groups().limit(50).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = counted!(n, "logs:DescribeLogGroups", page)?;
        groups.extend(page.log_groups().iter().cloned());
    }
    let last_event = |name: String| async move {
        let streams = aws!(
            n,
            "logs:DescribeLogStreams",
            logs.describe_log_streams()
                .log_group_name(&name)
                .order_by(OrderBy::LastEventTime)
                .descending(true)
                .limit(1)
        )?;
        Ok::<_, CleanupError>(millis(
            streams
                .log_streams()
                .first()
                .and_then(|s| s.last_event_timestamp()),
        ))
    };
    stream::iter(groups)
        .map(|g| async move {
            let name = g.log_group_name().unwrap_or_default().to_string();
            let created = millis(g.creation_time());
            let last = if created.is_some_and(|c| (now - c).num_days() >= stale_days) {
                last_event(name.clone()).await?
            } else {
                None
            };
            Ok::<_, CleanupError>(resource(
                region,
                Kind::LogGroup,
                g.arn().unwrap_or_default().trim_end_matches(":*").to_string(),
                name,
                created,
                HashMap::new(),
                Facts::LogGroup {
                    retention_days: g.retention_in_days(),
                    stored_bytes: g.stored_bytes().unwrap_or(0),
                    last_event: last,
                },
            ))
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

pub(super) async fn tags(
    logs: &Client,
    n: &AtomicUsize,
    arn: &str,
) -> Result<HashMap<String, String>, String> {
    let out = read!(n, logs.list_tags_for_resource().resource_arn(arn).send())?;
    Ok(out.tags().cloned().unwrap_or_default())
}

pub(super) async fn set_tag(
    logs: &Client,
    n: &AtomicUsize,
    arn: &str,
    key: &str,
    value: &str,
) -> Result<(), String> {
    change!(n, logs.tag_resource().resource_arn(arn).tags(key, value).send())
}

pub(super) async fn remove_tag(logs: &Client, n: &AtomicUsize, arn: &str, key: &str) -> Result<(), String> {
    change!(n, logs.untag_resource().resource_arn(arn).tag_keys(key).send())
}

pub(super) async fn act(logs: &Client, n: &AtomicUsize, c: &Candidate) -> Result<(), String> {
    let name = &c.resource.name;
    match (&c.resource.facts, &c.action) {
        (Facts::LogGroup { .. }, Action::Delete) => {
            change!(n, logs.delete_log_group().log_group_name(name).send())
        }
        (Facts::LogGroup { .. }, Action::SetRetention { days }) => change!(
            n,
            logs.put_retention_policy()
                .log_group_name(name)
                .retention_in_days(*days)
                .send()
        ),
        _ => not_applicable(c),
    }
}

/// The group's settings (retention, encryption, class); its events cannot be kept here.
pub(super) async fn snapshot(
    logs: &Client,
    n: &AtomicUsize,
    name: &str,
) -> Result<serde_json::Value, String> {
    let out = read!(
        n,
        logs.describe_log_groups()
            .log_group_name_prefix(name)
            .limit(1)
            .send()
    )?;
    let g = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .ok_or_else(|| format!("log group {name} is no longer there"))?;
    Ok(serde_json::json!({
        "LogGroupName": name,
        "RetentionInDays": g.retention_in_days(),
        "KmsKeyId": g.kms_key_id(),
        "LogGroupClass": g.log_group_class().map(|c| c.as_str()),
        "StoredBytes": g.stored_bytes(),
    }))
}
