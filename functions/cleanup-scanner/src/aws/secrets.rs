//! Secrets Manager: secrets with their last access and rotation (never their values); tags, marks,
//! and deletion with a recovery window.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;

use super::{not_applicable, resource, time};
use crate::error::CleanupError;
use crate::model::{Action, Candidate, Facts, Kind, Resource};

fn tag_map(tags: &[Tag]) -> HashMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

/// Secrets with their tags (ListSecrets carries them).
pub(super) async fn scan(sm: &Client, n: &AtomicUsize, region: &str) -> Result<Vec<Resource>, CleanupError> {
    let mut out = Vec::new();
    let mut pages = sm.list_secrets().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = counted!(n, "secretsmanager:ListSecrets", page)?;
        for s in page.secret_list() {
            out.push(resource(
                region,
                Kind::Secret,
                s.arn().unwrap_or_default().to_string(),
                s.name().unwrap_or_default().to_string(),
                s.created_date().and_then(time),
                tag_map(s.tags()),
                Facts::Secret {
                    last_accessed: s.last_accessed_date().and_then(time),
                    rotation_enabled: s.rotation_enabled().unwrap_or(false),
                },
            ));
        }
    }
    Ok(out)
}

/// The secret's tags from its metadata; its value is never read.
pub(super) async fn tags(sm: &Client, n: &AtomicUsize, arn: &str) -> Result<HashMap<String, String>, String> {
    let out = read!(n, sm.describe_secret().secret_id(arn).send())?;
    Ok(tag_map(out.tags()))
}

pub(super) async fn set_tag(
    sm: &Client,
    n: &AtomicUsize,
    arn: &str,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let tag = Tag::builder().key(key).value(value).build();
    change!(n, sm.tag_resource().secret_id(arn).tags(tag).send())
}

pub(super) async fn remove_tag(sm: &Client, n: &AtomicUsize, arn: &str, key: &str) -> Result<(), String> {
    change!(n, sm.untag_resource().secret_id(arn).tag_keys(key).send())
}

/// Always with a recovery window: a secret deleted by mistake can be restored for that long.
pub(super) async fn act(sm: &Client, n: &AtomicUsize, c: &Candidate) -> Result<(), String> {
    match (&c.resource.facts, &c.action) {
        (Facts::Secret { .. }, Action::DeleteSecret { recovery_window_days }) => change!(
            n,
            sm.delete_secret()
                .secret_id(&c.resource.arn)
                .recovery_window_in_days(*recovery_window_days)
                .send()
        ),
        _ => not_applicable(c),
    }
}

/// The secret's metadata from DescribeSecret, which never returns its value.
pub(super) async fn snapshot(sm: &Client, n: &AtomicUsize, arn: &str) -> Result<serde_json::Value, String> {
    let s = read!(n, sm.describe_secret().secret_id(arn).send())?;
    Ok(serde_json::json!({
        "ARN": s.arn(),
        "Name": s.name(),
        "Description": s.description(),
        "KmsKeyId": s.kms_key_id(),
        "RotationEnabled": s.rotation_enabled(),
        "RotationLambdaARN": s.rotation_lambda_arn(),
        "RotationRules": s.rotation_rules().map(|r| serde_json::json!({
            "AutomaticallyAfterDays": r.automatically_after_days(),
            "ScheduleExpression": r.schedule_expression(),
            "Duration": r.duration(),
        })),
        "ReplicationRegions": s.replication_status().iter().filter_map(|r| r.region()).collect::<Vec<_>>(),
        "PrimaryRegion": s.primary_region(),
    }))
}
