//! The AWS adapters of `ops status`: alarms and their latest latency from CloudWatch, rotation
//! state from Secrets Manager. Each section is read on its own; one that fails is reported, the
//! others still shown.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatch::types::StateValue;
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Utc};
use ops_shared::metrics::maximum_query as maximum;

use crate::status::{kind_and_group, AlarmRow, CheckRow, Cleanup, CleanupRule, SecretRow};

fn time(t: Option<&SmithyTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn message<E: std::error::Error + 'static>(e: E) -> String {
    ops_shared::error::chain(&e)
}

/// Every alarm under the health-checker's prefix, with its latest `CheckLatencyMs`.
pub async fn checks(cw: &aws_sdk_cloudwatch::Client, prefix: &str) -> Result<Vec<CheckRow>, String> {
    let mut rows = Vec::new();
    let mut pages = cw
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .max_records(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(message)?;
        // Only the checker's own alarms: the stack's alarms about the checker itself
        // (`<stack>-health-checker-errors`, ...) share the default prefix.
        for a in page.metric_alarms().iter().filter(|a| {
            health_checker::alarms::is_check_alarm(
                a.namespace().unwrap_or_default(),
                a.metric_name().unwrap_or_default(),
                a.dimensions()
                    .iter()
                    .map(|d| (d.name().unwrap_or_default(), d.value().unwrap_or_default())),
            )
        }) {
            let name = a.alarm_name().unwrap_or_default();
            let (kind, group) = kind_and_group(a.alarm_description().unwrap_or_default());
            rows.push(CheckRow {
                name: name.strip_prefix(prefix).unwrap_or(name).to_string(),
                kind,
                group,
                state: a
                    .state_value()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                latency_ms: None,
                since: time(a.state_transitioned_timestamp().or(a.state_updated_timestamp())),
            });
        }
    }
    let latest = latencies(cw, &rows).await.unwrap_or_default();
    for row in &mut rows {
        row.latency_ms = latest.get(&row.name).copied();
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// The newest `CheckLatencyMs` of each check in the last hour: one GetMetricData per 500 checks.
async fn latencies(
    cw: &aws_sdk_cloudwatch::Client,
    rows: &[CheckRow],
) -> Result<HashMap<String, f64>, String> {
    let now = std::time::SystemTime::now();
    let mut out = HashMap::new();
    for batch in rows.chunks(500) {
        let queries = batch
            .iter()
            .enumerate()
            .map(|(i, r)| {
                maximum(
                    format!("c{i}"),
                    "CheckLatencyMs",
                    &[("Check", &r.name), ("Function", "health-checker")],
                    60,
                )
            })
            .collect();
        let answer = cw
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time((now - std::time::Duration::from_secs(3600)).into())
            .end_time((now + std::time::Duration::from_secs(60)).into())
            .send()
            .await
            .map_err(message)?;
        for result in answer.metric_data_results() {
            let Some(i) = result
                .id()
                .and_then(|id| id.strip_prefix('c')?.parse::<usize>().ok())
            else {
                continue;
            };
            // Newest first unless CloudWatch was asked otherwise; take the latest timestamp.
            let newest = result
                .timestamps()
                .iter()
                .zip(result.values())
                .max_by_key(|(t, _)| t.secs())
                .map(|(_, v)| *v);
            if let (Some(row), Some(v)) = (batch.get(i), newest) {
                out.insert(row.name.clone(), v);
            }
        }
    }
    Ok(out)
}

/// Each query's datapoints by timestamp (seconds), added to what earlier batches gave.
pub(crate) fn collect(
    results: &[aws_sdk_cloudwatch::types::MetricDataResult],
    into: &mut BTreeMap<String, BTreeMap<i64, f64>>,
) {
    for r in results {
        if let Some(id) = r.id() {
            into.entry(id.to_string()).or_default().extend(
                r.timestamps()
                    .iter()
                    .map(|t| t.secs())
                    .zip(r.values().iter().copied()),
            );
        }
    }
}

/// The cleanup-scanner's `CleanupCandidates` and `CleanupMonthlySaving`, in all and per rule, of
/// its latest run in the last eight days (it runs daily or weekly), all read at the hour of that
/// run: one GetMetricData of hour-long periods (two runs in one hour show the higher figures).
pub async fn cleanup(cw: &aws_sdk_cloudwatch::Client) -> Result<Cleanup, String> {
    let now = std::time::SystemTime::now();
    let function = ("Function", "cleanup-scanner");
    let mut series: Vec<(String, &str, Option<&str>)> = Vec::new();
    for (i, metric) in ["CleanupCandidates", "CleanupMonthlySaving"]
        .into_iter()
        .enumerate()
    {
        series.push((format!("t{i}"), metric, None));
        for (j, rule) in cleanup_scanner::rules::RULES.iter().enumerate() {
            series.push((format!("r{i}x{j}"), metric, Some(rule)));
        }
    }
    let queries = series
        .iter()
        .map(|(id, metric, rule)| {
            // In the order the scanner's sink publishes them (moto matches dimensions in order).
            let mut dimensions: Vec<(&str, &str)> = Vec::new();
            if let Some(r) = rule {
                dimensions.push(("Rule", r));
            }
            dimensions.push(function);
            maximum(id.clone(), metric, &dimensions, 3600)
        })
        .collect();
    let answer = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time((now - std::time::Duration::from_secs(8 * 86_400)).into())
        // A datapoint may be stamped a little ahead of this machine's clock.
        .end_time((now + std::time::Duration::from_secs(3600)).into())
        .send()
        .await
        .map_err(message)?;
    let mut series = BTreeMap::new();
    collect(answer.metric_data_results(), &mut series);
    // Every figure from the hour of the latest run: a rule's row never comes from an older run
    // than the total beside it.
    let Some((&at, &candidates)) = series.get("t0").and_then(|t| t.iter().max_by_key(|(t, _)| **t)) else {
        return Ok(Cleanup {
            note: Some("the cleanup-scanner published nothing in the last 8 days".into()),
            ..Cleanup::default()
        });
    };
    let value = |id: String| series.get(&id).and_then(|s| s.get(&at)).copied();
    let by_rule = cleanup_scanner::rules::RULES
        .iter()
        .enumerate()
        .filter_map(|(j, rule)| {
            let n = value(format!("r0x{j}"))?;
            (n > 0.0).then(|| CleanupRule {
                rule: rule.to_string(),
                candidates: n as u64,
                monthly_saving: value(format!("r1x{j}")).unwrap_or(0.0),
            })
        })
        .collect();
    Ok(Cleanup {
        candidates: Some(candidates as u64),
        monthly_saving: value("t1".into()),
        by_rule,
        as_of: DateTime::from_timestamp(at, 0),
        note: None,
    })
}

/// Every alarm in ALARM in the account and region, metric and composite, any owner.
pub async fn alarms(cw: &aws_sdk_cloudwatch::Client) -> Result<Vec<AlarmRow>, String> {
    let mut rows = Vec::new();
    let mut pages = cw
        .describe_alarms()
        .state_value(StateValue::Alarm)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
        .max_records(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(message)?;
        let metric = page.metric_alarms().iter().map(|a| {
            (
                a.alarm_name(),
                a.alarm_description(),
                a.state_transitioned_timestamp().or(a.state_updated_timestamp()),
            )
        });
        let composite = page.composite_alarms().iter().map(|a| {
            (
                a.alarm_name(),
                a.alarm_description(),
                a.state_transitioned_timestamp().or(a.state_updated_timestamp()),
            )
        });
        for (name, description, since) in metric.chain(composite) {
            rows.push(AlarmRow {
                name: name.unwrap_or_default().to_string(),
                state: "ALARM".into(),
                since: time(since),
                runbook: description
                    .and_then(alarm_forwarder::runbook::from_description)
                    .and_then(Result::ok),
            });
        }
    }
    Ok(rows)
}

/// Every secret with rotation configured or a rotation date, overdue when its next rotation passed.
pub async fn secrets(
    sm: &aws_sdk_secretsmanager::Client,
    now: DateTime<Utc>,
) -> Result<Vec<SecretRow>, String> {
    let mut rows = Vec::new();
    let mut pages = sm.list_secrets().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(message)?;
        for s in page.secret_list() {
            let enabled = s.rotation_enabled().unwrap_or(false);
            if !enabled && s.last_rotated_date().is_none() {
                continue;
            }
            let next = time(s.next_rotation_date());
            let pending = s.secret_versions_to_stages().is_some_and(|versions| {
                versions.values().any(|stages| {
                    stages.iter().any(|x| x == "AWSPENDING") && !stages.iter().any(|x| x == "AWSCURRENT")
                })
            });
            let since = time(s.last_changed_date()).filter(|_| pending);
            rows.push(SecretRow {
                name: s.name().unwrap_or_default().to_string(),
                rotation_enabled: enabled,
                last_rotated: time(s.last_rotated_date()),
                next_rotation: next,
                overdue: enabled && next.is_some_and(|n| n < now),
                rotation_pending_since: since,
                rotation_failed: crate::status::rotation_failed(since, pending, now),
            });
        }
    }
    Ok(rows)
}
