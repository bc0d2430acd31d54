//! CloudWatch alarms: metric alarms with what they notify, composite rules (a child of a composite
//! is in use), tags, marks and deletion.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use aws_sdk_cloudwatch::types::{AlarmType, Tag};
use aws_sdk_cloudwatch::Client;

use super::{not_applicable, resource, time};
use crate::error::CleanupError;
use crate::model::{Action, Candidate, Facts, Kind, Resource};

/// Metric alarms (tags come in bulk), and warnings about what could not be read.
pub(super) async fn scan(
    cw: &Client,
    n: &AtomicUsize,
    region: &str,
) -> Result<(Vec<Resource>, Vec<String>), CleanupError> {
    let mut warnings = Vec::new();
    let composite_rules = {
        let mut rules = Some(Vec::new());
        let mut pages = cw
            .describe_alarms()
            .alarm_types(AlarmType::CompositeAlarm)
            .max_records(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match counted!(n, "cloudwatch:DescribeAlarms", page) {
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
                    warnings.push(format!(
                        "composite alarms could not be read ({e}): stale alarms are reported, not deleted"
                    ));
                    rules = None;
                    break;
                }
            }
        }
        rules.map(|rules| {
            rules
                .iter()
                .flat_map(|r| crate::composite::children(r))
                .collect::<std::collections::HashSet<String>>()
        })
    };
    let mut out = Vec::new();
    let mut pages = cw.describe_alarms().max_records(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = counted!(n, "cloudwatch:DescribeAlarms", page)?;
        for a in page.metric_alarms() {
            let name = a.alarm_name().unwrap_or_default().to_string();
            let arn = a.alarm_arn().unwrap_or_default().to_string();
            let in_composite = composite_rules.as_ref().map(|children| children.contains(&name));
            let mut actions: Vec<String> = a.alarm_actions().to_vec();
            actions.extend(a.ok_actions().iter().cloned());
            actions.extend(a.insufficient_data_actions().iter().cloned());
            out.push(resource(
                region,
                Kind::Alarm,
                arn,
                name,
                None,
                HashMap::new(),
                Facts::Alarm {
                    state: a
                        .state_value()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    state_updated: a.state_updated_timestamp().and_then(time),
                    in_composite,
                    actions,
                },
            ));
        }
    }
    Ok((out, warnings))
}

pub(super) async fn tags(cw: &Client, n: &AtomicUsize, arn: &str) -> Result<HashMap<String, String>, String> {
    let out = read!(n, cw.list_tags_for_resource().resource_arn(arn).send())?;
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

pub(super) async fn set_tag(
    cw: &Client,
    n: &AtomicUsize,
    arn: &str,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let tag = Tag::builder().key(key).value(value).build();
    change!(n, cw.tag_resource().resource_arn(arn).tags(tag).send())
}

pub(super) async fn remove_tag(cw: &Client, n: &AtomicUsize, arn: &str, key: &str) -> Result<(), String> {
    change!(n, cw.untag_resource().resource_arn(arn).tag_keys(key).send())
}

pub(super) async fn act(cw: &Client, n: &AtomicUsize, c: &Candidate) -> Result<(), String> {
    match (&c.resource.facts, &c.action) {
        (Facts::Alarm { .. }, Action::Delete) => {
            change!(n, cw.delete_alarms().alarm_names(&c.resource.name).send())
        }
        _ => not_applicable(c),
    }
}

/// The alarm's definition, as PutMetricAlarm takes it.
pub(super) async fn snapshot(cw: &Client, n: &AtomicUsize, name: &str) -> Result<serde_json::Value, String> {
    let out = read!(n, cw.describe_alarms().alarm_names(name).send())?;
    let a = out
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(name))
        .ok_or_else(|| format!("alarm {name} is no longer there"))?;
    let dimensions = |d: &[aws_sdk_cloudwatch::types::Dimension]| -> Vec<serde_json::Value> {
        d.iter()
            .map(|d| serde_json::json!({"Name": d.name(), "Value": d.value()}))
            .collect()
    };
    let metrics: Vec<serde_json::Value> = a
        .metrics()
        .iter()
        .map(|m| {
            serde_json::json!({
                "Id": m.id(),
                "Expression": m.expression(),
                "Label": m.label(),
                "ReturnData": m.return_data(),
                "Period": m.period(),
                "MetricStat": m.metric_stat().map(|s| serde_json::json!({
                    "Metric": s.metric().map(|x| serde_json::json!({
                        "Namespace": x.namespace(),
                        "MetricName": x.metric_name(),
                        "Dimensions": dimensions(x.dimensions()),
                    })),
                    "Period": s.period(),
                    "Stat": s.stat(),
                    "Unit": s.unit().map(|u| u.as_str()),
                })),
            })
        })
        .collect();
    Ok(serde_json::json!({
        "AlarmName": name,
        "AlarmDescription": a.alarm_description(),
        "ActionsEnabled": a.actions_enabled(),
        "AlarmActions": a.alarm_actions(),
        "OKActions": a.ok_actions(),
        "InsufficientDataActions": a.insufficient_data_actions(),
        "Namespace": a.namespace(),
        "MetricName": a.metric_name(),
        "Dimensions": dimensions(a.dimensions()),
        "Statistic": a.statistic().map(|s| s.as_str()),
        "ExtendedStatistic": a.extended_statistic(),
        "Unit": a.unit().map(|u| u.as_str()),
        "Period": a.period(),
        "EvaluationPeriods": a.evaluation_periods(),
        "DatapointsToAlarm": a.datapoints_to_alarm(),
        "Threshold": a.threshold(),
        "ThresholdMetricId": a.threshold_metric_id(),
        "ComparisonOperator": a.comparison_operator().map(|c| c.as_str()),
        "TreatMissingData": a.treat_missing_data(),
        "EvaluateLowSampleCountPercentile": a.evaluate_low_sample_count_percentile(),
        "Metrics": metrics,
    }))
}
