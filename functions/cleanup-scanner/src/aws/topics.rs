//! SNS: topics and how many subscribe to each; tags, marks and deletion.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;

use aws_sdk_sns::types::Tag;
use aws_sdk_sns::Client;

use super::{not_applicable, resource};
use crate::error::CleanupError;
use crate::model::{Action, Candidate, Facts, Kind, Resource};

/// Topics (tags come in bulk) and every topic ARN that exists. Subscriptions are listed once for
/// the region (100 a page) rather than per topic. ListSubscriptions lists only this account's
/// subscriptions, so a topic with none there is confirmed with [`in_use`] before any change.
pub(super) async fn scan(
    sns: &Client,
    n: &AtomicUsize,
    region: &str,
) -> Result<(Vec<Resource>, HashSet<String>), CleanupError> {
    let mut arns = Vec::new();
    let mut pages = sns.list_topics().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = counted!(n, "sns:ListTopics", page)?;
        arns.extend(
            page.topics()
                .iter()
                .filter_map(|t| t.topic_arn().map(str::to_string)),
        );
    }
    let mut subscribers: HashMap<String, usize> = HashMap::new();
    let mut pages = sns.list_subscriptions().into_paginator().send();
    while let Some(page) = pages.next().await {
        for s in counted!(n, "sns:ListSubscriptions", page)?.subscriptions() {
            if let Some(topic) = s.topic_arn() {
                *subscribers.entry(topic.to_string()).or_default() += 1;
            }
        }
    }
    let out = arns
        .iter()
        .map(|arn| {
            resource(
                region,
                Kind::SnsTopic,
                arn.clone(),
                arn.rsplit(':').next().unwrap_or_default().to_string(),
                None,
                HashMap::new(),
                Facts::SnsTopic {
                    subscriptions: subscribers.get(arn).copied().unwrap_or(0),
                },
            )
        })
        .collect();
    Ok((out, arns.into_iter().collect()))
}

/// Subscriptions to the topic from any account, as its owner sees them.
pub(super) async fn in_use(sns: &Client, n: &AtomicUsize, arn: &str) -> Result<Option<String>, String> {
    let mut count = 0;
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        count += page
            .map_err(|e| ops_shared::error::sdk_message(&e))?
            .subscriptions()
            .len();
    }
    Ok((count > 0).then(|| {
        format!("{count} subscription(s) by ListSubscriptionsByTopic (from another account: this account's ListSubscriptions does not list them); not a candidate")
    }))
}

pub(super) async fn tags(
    sns: &Client,
    n: &AtomicUsize,
    arn: &str,
) -> Result<HashMap<String, String>, String> {
    let out = read!(n, sns.list_tags_for_resource().resource_arn(arn).send())?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

pub(super) async fn set_tag(
    sns: &Client,
    n: &AtomicUsize,
    arn: &str,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let tag = Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| e.to_string())?;
    change!(n, sns.tag_resource().resource_arn(arn).tags(tag).send())
}

pub(super) async fn remove_tag(sns: &Client, n: &AtomicUsize, arn: &str, key: &str) -> Result<(), String> {
    change!(n, sns.untag_resource().resource_arn(arn).tag_keys(key).send())
}

pub(super) async fn act(sns: &Client, n: &AtomicUsize, c: &Candidate) -> Result<(), String> {
    match (&c.resource.facts, &c.action) {
        (Facts::SnsTopic { .. }, Action::Delete) => {
            change!(n, sns.delete_topic().topic_arn(&c.resource.arn).send())
        }
        _ => not_applicable(c),
    }
}

/// The topic's attributes (policy, delivery policy, encryption, display name); it has no
/// subscription, or it would not be a candidate.
pub(super) async fn snapshot(sns: &Client, n: &AtomicUsize, arn: &str) -> Result<serde_json::Value, String> {
    let out = read!(n, sns.get_topic_attributes().topic_arn(arn).send())?;
    Ok(serde_json::json!({"TopicArn": arn, "Attributes": out.attributes(), "Subscriptions": []}))
}
