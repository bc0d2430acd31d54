//! The run's record: what each (account, region) held, what was done and what failed, as JSON and
//! as the text mailed to the reports topic; and what was found, as metrics.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;
use ops_shared::{Metric, Unit};
use serde::Serialize;

use crate::config::{Config, ScanInput};
use crate::decide::Mode;
use crate::model::{marked_on, Candidate};
use crate::rules;

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub arn: String,
    pub name: String,
    pub age_days: Option<i64>,
    pub reason: String,
    pub monthly_saving: Option<f64>,
    pub marked_since: Option<NaiveDate>,
    /// What this run did with it.
    pub status: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleReport {
    pub candidates: Vec<Line>,
    pub protected: Vec<Line>,
    pub marked: usize,
    pub acted: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionResult {
    pub rule: &'static str,
    pub arn: String,
    pub action: String,
    pub ok: bool,
    pub outcome: String,
    /// The resource's configuration, read before it was removed, so it can be recreated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<serde_json::Value>,
}

/// One region of one account.
#[derive(Debug, Clone, Serialize)]
pub struct RegionReport {
    pub account: String,
    pub region: String,
    pub rules: BTreeMap<&'static str, RuleReport>,
    pub actions: Vec<ActionResult>,
    pub unmarked: Vec<String>,
    pub warnings: Vec<String>,
    pub aws_requests: usize,
    /// Why this region could not be scanned; nothing in it was changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    /// The scanner's own account.
    pub account: Option<String>,
    /// Every account scanned, the scanner's own first.
    pub accounts: Vec<String>,
    pub regions: Vec<RegionReport>,
    /// Resource kinds whose candidates passed CLEANUP_MAX_PERCENT of their population: nothing of
    /// that kind was changed.
    pub breaker: Vec<String>,
    pub estimated_monthly_saving: f64,
    pub prices: &'static str,
    pub text: String,
}

pub const PRICES: &str = "savings at us-east-1 list prices: log storage $0.03/GB-month, secrets $0.40/month, standard alarms $0.10/month";

pub fn line(c: &Candidate, mark_tag: &str, status: String) -> Line {
    Line {
        arn: c.resource.arn.clone(),
        name: c.resource.name.clone(),
        age_days: c.age_days,
        reason: c.reason.clone(),
        monthly_saving: c.monthly_saving,
        marked_since: marked_on(&c.resource, mark_tag, c.rule),
        status,
    }
}

pub fn empty_region(account: &str, region: &str) -> RegionReport {
    RegionReport {
        account: account.to_string(),
        region: region.to_string(),
        rules: rules::RULES.iter().map(|r| (*r, RuleReport::default())).collect(),
        actions: Vec::new(),
        unmarked: Vec::new(),
        warnings: Vec::new(),
        aws_requests: 0,
        error: None,
    }
}

/// The reports of a run, by (account, region).
pub type Reports = BTreeMap<(String, String), RegionReport>;

pub fn region_report<'a>(reports: &'a mut Reports, account: &str, region: &str) -> &'a mut RegionReport {
    reports
        .entry((account.to_string(), region.to_string()))
        .or_insert_with(|| empty_region(account, region))
}

pub fn render(
    mode: Mode,
    accounts: &[String],
    regions: &[RegionReport],
    breaker: &[String],
    saving: f64,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cleanup scan in {} mode, account{} {}",
        format!("{mode:?}").to_lowercase(),
        if accounts.len() > 1 { "s" } else { "" },
        if accounts.is_empty() {
            "(not read)".to_string()
        } else {
            accounts.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "Estimated monthly saving of the candidates: ${saving:.2} ({PRICES})"
    );
    // What matters most first, so a report cut to SNS's size keeps it: failed regions, the
    // breaker, and every change made.
    for r in regions.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            out,
            "REGION NOT SCANNED: {} of account {}: {}",
            r.region,
            r.account,
            r.error.as_deref().unwrap_or("")
        );
    }
    for b in breaker {
        let _ = writeln!(out, "CIRCUIT BREAKER: {b}");
    }
    for r in regions {
        for a in &r.actions {
            let done = if a.ok { "done" } else { "FAILED" };
            let _ = writeln!(
                out,
                "ACTION {done}: {} {} ({}): {}",
                a.action, a.arn, a.rule, a.outcome
            );
        }
    }
    for r in regions {
        let _ = writeln!(
            out,
            "\n== {}, account {} ({} AWS requests) ==",
            r.region, r.account, r.aws_requests
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "SCAN FAILED, nothing in this region was changed: {e}");
        }
        for (rule, rr) in &r.rules {
            if rr.candidates.is_empty() && rr.protected.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n{rule}: {} candidate(s), {} protected, {} marked, {} acted on",
                rr.candidates.len(),
                rr.protected.len(),
                rr.marked,
                rr.acted
            );
            for l in rr.candidates.iter().chain(&rr.protected) {
                let age = l.age_days.map(|d| format!("{d}d")).unwrap_or_else(|| "-".into());
                let saving = l
                    .monthly_saving
                    .map(|s| format!(" ~${s:.2}/month"))
                    .unwrap_or_default();
                let _ = writeln!(out, "  {} [{age}] {}{saving} -> {}", l.arn, l.reason, l.status);
            }
        }
        if !r.unmarked.is_empty() {
            let _ = writeln!(
                out,
                "\nNo longer matching, mark removed: {}",
                r.unmarked.join(", ")
            );
        }
        for w in &r.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
    }
    out
}

/// Only a whole scan speaks for the accounts: a run missing a region (failed, or left out by the
/// event) or a rule publishes no figures, so those shown stay the last whole run's.
pub fn whole_scan(config: &Config, input: &ScanInput, region_failed: bool) -> bool {
    !region_failed
        && config.regions.iter().all(|r| input.regions.contains(r))
        && rules::RULES
            .iter()
            .all(|r| input.rules.enabled.get(*r).copied().unwrap_or(true))
}

/// What the run found, for the cost report and `ops status` to show without reading the report:
/// `CleanupCandidates` and `CleanupMonthlySaving` (USD, list prices) per `Rule`, and both totals
/// without a dimension, over every account and region.
pub fn found_metrics(regions: &[RegionReport]) -> Vec<Metric> {
    let mut points = Vec::new();
    let (mut all, mut all_saving) = (0usize, 0.0f64);
    for rule in rules::RULES {
        let lines = || {
            regions
                .iter()
                .filter_map(|r| r.rules.get(rule))
                .flat_map(|rr| rr.candidates.iter())
        };
        let n = lines().count();
        let saving: f64 = lines().filter_map(|l| l.monthly_saving).sum::<f64>() + 0.0;
        all += n;
        all_saving += saving;
        points.push(Metric::new("CleanupCandidates", n as f64, Unit::Count).dimension("Rule", *rule));
        points.push(Metric::new("CleanupMonthlySaving", saving, Unit::None).dimension("Rule", *rule));
    }
    points.push(Metric::new("CleanupCandidates", all as f64, Unit::Count));
    points.push(Metric::new("CleanupMonthlySaving", all_saving, Unit::None));
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(saving: Option<f64>) -> Line {
        Line {
            arn: "arn".into(),
            name: "n".into(),
            age_days: None,
            reason: String::new(),
            monthly_saving: saving,
            marked_since: None,
            status: String::new(),
        }
    }

    #[test]
    fn only_a_whole_scan_publishes_its_figures() {
        let vars = ops_shared::Vars::from_pairs([
            ("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:1:reports"),
            ("CLEANUP_REGIONS", "us-east-1,eu-west-1"),
        ]);
        let config = Config::from_vars(&vars).unwrap();
        let input = |event: serde_json::Value| config.input(&event).unwrap();
        let scheduled = input(serde_json::json!({"detail-type": "Scheduled Event"}));
        assert!(whole_scan(&config, &scheduled, false));
        assert!(!whole_scan(&config, &scheduled, true), "a region failed");
        let one_region = input(serde_json::json!({"regions": ["us-east-1"]}));
        assert!(!whole_scan(&config, &one_region, false));
        let fewer_rules = input(serde_json::json!({"rules": {"secret-unused": {"enabled": false}}}));
        assert!(!whole_scan(&config, &fewer_rules, false));
    }

    #[test]
    fn what_was_found_is_counted_and_priced_per_rule_and_in_all() {
        let mut regions = Vec::new();
        for (account, region, lines) in [
            ("111111111111", "us-east-1", vec![Some(0.4), None]),
            ("222222222222", "eu-west-1", vec![Some(0.4)]),
        ] {
            let mut r = empty_region(account, region);
            r.rules.insert(
                "secret-unused",
                RuleReport {
                    candidates: lines.into_iter().map(line).collect(),
                    ..RuleReport::default()
                },
            );
            regions.push(r);
        }
        let points = found_metrics(&regions);
        let get = |name: &str, rule: Option<&str>| {
            points
                .iter()
                .find(|m| m.name == name && m.dimensions.iter().map(|d| d.1.as_str()).next() == rule)
                .map(|m| m.value)
        };
        assert_eq!(get("CleanupCandidates", Some("secret-unused")), Some(3.0));
        assert!((get("CleanupMonthlySaving", Some("secret-unused")).unwrap() - 0.8).abs() < 1e-9);
        assert_eq!(get("CleanupCandidates", Some("sns-topic-unused")), Some(0.0));
        assert_eq!(get("CleanupCandidates", None), Some(3.0));
        assert!((get("CleanupMonthlySaving", None).unwrap() - 0.8).abs() < 1e-9);
    }
}
