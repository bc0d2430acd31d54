//! What a run publishes and which alarms it wants, in either metrics mode.
//!
//! `per-check`: `CheckHealthy`, `CheckLatencyMs` (and `CertificateDaysLeft`) per check, one alarm
//! per check. `per-group`: one `ChecksUnhealthy` count per group and one alarm per group, for lists
//! where a metric and an alarm per check cost more than they tell (see the function's README);
//! the per-check results are in the run's result and its log. The group metric counts the
//! *unhealthy* checks, not the healthy ones: a healthy count falls when a check is skipped or
//! cannot be judged, which would page for the checker's trouble instead of the service's.

use std::collections::BTreeMap;
use std::time::SystemTime;

use ops_shared::{Metric, Unit};

use crate::alarms::AlarmSpec;
use crate::checks::{Check, Invalid};
use crate::config::{Config, MetricsMode, FUNCTION};
use crate::run::CheckReport;

/// The group of a check that names none.
pub const UNGROUPED: &str = "ungrouped";

fn group_of(r: &CheckReport) -> &str {
    r.group.as_deref().unwrap_or(UNGROUPED)
}

/// A broken definition without a name could be any check's: it publishes nothing.
fn named(c: &Result<Check, Invalid>) -> bool {
    match c {
        Ok(_) => true,
        Err(Invalid { name, .. }) => !name.starts_with("checks["),
    }
}

pub fn metrics(mode: MetricsMode, parsed: &[Result<Check, Invalid>], reports: &[CheckReport]) -> Vec<Metric> {
    match mode {
        MetricsMode::PerCheck => per_check(parsed, reports),
        MetricsMode::PerGroup => per_group(parsed, reports),
    }
}

/// `CheckHealthy` for every named check (a broken definition counts as unhealthy, so its alarm
/// tells someone), `CheckLatencyMs` for those that ran, `CertificateDaysLeft` for tls checks.
fn per_check(parsed: &[Result<Check, Invalid>], reports: &[CheckReport]) -> Vec<Metric> {
    let now = SystemTime::now();
    let mut out = Vec::with_capacity(reports.len() * 2);
    for (c, r) in parsed.iter().zip(reports) {
        if !named(c) || r.outcome.unknown {
            continue;
        }
        let metric = |name: &str, value: f64, unit: Unit| {
            Metric::new(name, value, unit).dimension("Check", &r.name).at(now)
        };
        out.push(metric(
            "CheckHealthy",
            if r.outcome.healthy { 1.0 } else { 0.0 },
            Unit::None,
        ));
        if c.is_ok() {
            out.push(metric(
                "CheckLatencyMs",
                r.outcome.latency.as_secs_f64() * 1000.0,
                Unit::Milliseconds,
            ));
        }
        if let Some(days) = r.outcome.days_left {
            out.push(metric("CertificateDaysLeft", days as f64, Unit::Count));
        }
    }
    out
}

/// `ChecksUnhealthy` per group. A group with no unhealthy check but one that could not be judged
/// (skipped, or ECS unreadable) publishes nothing: a 0 would turn its alarm OK, and resolve the
/// page, while the check that paged was never looked at.
fn per_group(parsed: &[Result<Check, Invalid>], reports: &[CheckReport]) -> Vec<Metric> {
    let now = SystemTime::now();
    // (unhealthy, not judged)
    let mut groups: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (c, r) in parsed.iter().zip(reports) {
        if !named(c) {
            continue;
        }
        let g = groups.entry(group_of(r)).or_default();
        if r.outcome.unknown {
            g.1 += 1;
        } else if !r.outcome.healthy {
            g.0 += 1;
        }
    }
    groups
        .into_iter()
        .filter(|(_, (unhealthy, unjudged))| *unhealthy > 0 || *unjudged == 0)
        .map(|(group, (n, _))| {
            Metric::new("ChecksUnhealthy", n as f64, Unit::Count)
                .dimension("Group", group)
                .at(now)
        })
        .collect()
}

/// `per-group`: every check of a group shares the first one's `failure_threshold` and
/// `evaluation_runs`, since one alarm judges them all; a check with another window is reported as a
/// broken definition (it counts as unhealthy, so the mistake pages rather than hides).
pub fn one_window_per_group(parsed: Vec<Result<Check, Invalid>>) -> Vec<Result<Check, Invalid>> {
    let mut first: BTreeMap<String, (u32, u32, String)> = BTreeMap::new();
    parsed
        .into_iter()
        .map(|c| {
            let check = c?;
            let group = check.group.clone().unwrap_or_else(|| UNGROUPED.to_string());
            let window = (check.failure_threshold, check.evaluation_runs);
            let (f, e, by) = first
                .entry(group.clone())
                .or_insert_with(|| (window.0, window.1, check.name.clone()));
            if (*f, *e) == window {
                return Ok(check);
            }
            Err(Invalid {
                problem: format!(
                    "fields failure_threshold and evaluation_runs: in METRICS_MODE=per-group every check of group {group} shares one alarm, so one window: {f} of {e} as check {by}, not {} of {}",
                    window.0, window.1
                ),
                name: check.name,
            })
        })
        .collect()
}

/// The alarms a configured run wants, and those it must keep though it wants none for them (the
/// alarm of a check, or of a group, whose definition is broken this run).
pub fn wanted_alarms(
    config: &Config,
    parsed: &[Result<Check, Invalid>],
    reports: &[CheckReport],
) -> (Vec<AlarmSpec>, Vec<String>) {
    let topic = config.alarm_topic.as_deref().unwrap_or_default();
    let period = config.period.as_secs() as i32;
    let prefix = &config.alarm_prefix;
    match config.metrics_mode {
        MetricsMode::PerCheck => {
            let wanted = parsed
                .iter()
                .filter_map(|c| c.as_ref().ok())
                .map(|c| {
                    AlarmSpec::for_check(
                        prefix,
                        &c.name,
                        c.failure_threshold,
                        c.evaluation_runs,
                        period,
                        FUNCTION,
                        topic,
                    )
                    .about(c.probe.kind(), c.group.as_deref())
                })
                .collect();
            let keep = parsed
                .iter()
                .filter_map(|c| c.as_ref().err())
                .map(|i| format!("{prefix}{}", i.name))
                .collect();
            (wanted, keep)
        }
        MetricsMode::PerGroup => {
            // The most sensitive of the group's checks decides: fewest failures, longest window.
            let mut groups: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
            let mut broken: Vec<&str> = Vec::new();
            for (c, r) in parsed.iter().zip(reports) {
                match c {
                    Ok(c) => {
                        let g = groups.entry(group_of(r)).or_insert((u32::MAX, 0));
                        g.0 = g.0.min(c.failure_threshold);
                        g.1 = g.1.max(c.evaluation_runs);
                    }
                    Err(_) => broken.push(group_of(r)),
                }
            }
            let wanted = groups
                .iter()
                .map(|(group, window)| AlarmSpec::for_group(prefix, group, *window, period, FUNCTION, topic))
                .collect();
            let keep = broken
                .into_iter()
                .filter(|g| !groups.contains_key(g))
                .map(|g| AlarmSpec::group_alarm_name(prefix, g))
                .collect();
            (wanted, keep)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::checks;
    use crate::outcome::Outcome;

    #[test]
    fn metrics_cover_every_named_check() {
        let parsed = checks::parse_list(&[
            json!({"name": "a", "kind": "tcp", "host": "h", "port": 1}),
            json!({"name": "b", "kind": "tcp", "host": "h"}),
            json!({"kind": "tcp"}),
        ]);
        let reports: Vec<CheckReport> = ["a", "b", "checks[2]"]
            .iter()
            .map(|n| CheckReport {
                name: n.to_string(),
                kind: "tcp".into(),
                group: None,
                outcome: Outcome {
                    days_left: Some(3),
                    ..Outcome::healthy(Duration::from_millis(7), "")
                },
            })
            .collect();
        let m = metrics(MetricsMode::PerCheck, &parsed, &reports);
        let names: Vec<(&str, &str)> = m
            .iter()
            .map(|m| (m.name.as_str(), m.dimensions[0].1.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("CheckHealthy", "a"),
                ("CheckLatencyMs", "a"),
                ("CertificateDaysLeft", "a"),
                ("CheckHealthy", "b"),
                ("CertificateDaysLeft", "b")
            ]
        );
    }

    #[test]
    fn per_group_counts_the_unhealthy_and_wants_one_alarm_a_group() {
        let raw = [
            json!({"name": "a", "kind": "tcp", "host": "h", "port": 1, "group": "pay", "failure_threshold": 2}),
            json!({"name": "b", "kind": "tcp", "host": "h", "port": 1, "group": "pay"}),
            json!({"name": "c", "kind": "tcp", "host": "h", "port": 1}),
            json!({"name": "d", "kind": "tcp", "host": "h", "port": 1, "group": "skipped"}),
            json!({"name": "d2", "kind": "tcp", "host": "h", "port": 1, "group": "skipped"}),
            json!({"name": "e", "kind": "tcp", "group": "broken"}),
        ];
        let parsed = checks::parse_list(&raw);
        let outcome = |healthy: bool| {
            if healthy {
                Outcome::healthy(Duration::ZERO, "")
            } else {
                Outcome::unhealthy(Duration::ZERO, "down")
            }
        };
        let reports: Vec<CheckReport> = [
            ("a", Some("pay"), outcome(false)),
            ("b", Some("pay"), outcome(false)),
            ("c", None, outcome(true)),
            ("d", Some("skipped"), Outcome::skipped(Duration::ZERO, "budget")),
            ("d2", Some("skipped"), outcome(true)),
            ("e", Some("broken"), outcome(false)),
        ]
        .into_iter()
        .map(|(n, g, outcome)| CheckReport {
            name: n.into(),
            kind: "tcp".into(),
            group: g.map(str::to_string),
            outcome,
        })
        .collect();
        let m = metrics(MetricsMode::PerGroup, &parsed, &reports);
        let got: Vec<(&str, f64)> = m.iter().map(|m| (m.dimensions[0].1.as_str(), m.value)).collect();
        // "skipped" had a skipped check and a healthy one: nothing, rather than a 0 that would
        // clear its alarm while the skipped one was never looked at.
        assert_eq!(got, vec![("broken", 1.0), ("pay", 2.0), ("ungrouped", 0.0)]);
        assert!(m.iter().all(|m| m.name == "ChecksUnhealthy"));

        let vars = ops_shared::Vars::from_pairs([
            ("ALARM_TOPIC_ARN", "arn:aws:sns:us-east-1:1:alarms"),
            ("METRICS_MODE", "per-group"),
        ]);
        let config = Config::from_vars(&vars).unwrap();
        let (wanted, keep) = wanted_alarms(&config, &parsed, &reports);
        let names: Vec<&str> = wanted.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "ops-lambdas-health-group-pay",
                "ops-lambdas-health-group-skipped",
                "ops-lambdas-health-group-ungrouped"
            ]
        );
        assert_eq!(keep, vec!["ops-lambdas-health-group-broken"]);
        let pay = &wanted[0];
        assert_eq!((pay.datapoints_to_alarm, pay.evaluation_periods), (2, 3));
        assert_eq!(pay.metric, "ChecksUnhealthy");
        assert!(pay
            .tags
            .contains(&(crate::alarms::GROUP_TAG.to_string(), "pay".to_string())));
    }

    #[test]
    fn per_group_a_check_with_another_window_is_a_broken_definition() {
        let parsed = checks::parse_list(&[
            json!({"name": "a", "kind": "tcp", "host": "h", "port": 1, "group": "pay"}),
            json!({"name": "b", "kind": "tcp", "host": "h", "port": 1, "group": "pay", "failure_threshold": 1, "evaluation_runs": 1}),
            json!({"name": "c", "kind": "tcp", "host": "h", "port": 1, "failure_threshold": 1, "evaluation_runs": 1}),
        ]);
        let checked = one_window_per_group(parsed);
        assert!(checked[0].is_ok() && checked[2].is_ok());
        let err = checked[1].as_ref().unwrap_err();
        assert_eq!(err.name, "b");
        assert!(
            err.problem.contains("3 of 3 as check a, not 1 of 1"),
            "{}",
            err.problem
        );
    }
}
