//! One run: scan every region, apply the rules, decide, then mark, unmark or act, and report.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;
use ops_shared::{Metric, MetricSink, Notification, Notifier, Unit};
use serde::Serialize;

use crate::config::{Config, ScanInput};
use crate::decide::{decide, Mode, Policy};
use crate::error::CleanupError;
use crate::inventory::Inventory;
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
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionReport {
    pub region: String,
    pub rules: BTreeMap<&'static str, RuleReport>,
    pub actions: Vec<ActionResult>,
    pub unmarked: Vec<String>,
    pub breaker: Vec<String>,
    pub warnings: Vec<String>,
    pub aws_requests: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub account: Option<String>,
    pub regions: Vec<RegionReport>,
    pub estimated_monthly_saving: f64,
    pub prices: &'static str,
    pub text: String,
}

const PRICES: &str = "savings at us-east-1 list prices: log storage $0.03/GB-month, secrets $0.40/month, standard alarms $0.10/month";

fn line(c: &Candidate, mark_tag: &str, status: String) -> Line {
    Line {
        arn: c.resource.arn.clone(),
        name: c.resource.name.clone(),
        age_days: c.age_days,
        reason: c.reason.clone(),
        monthly_saving: c.monthly_saving,
        marked_since: marked_on(&c.resource, mark_tag),
        status,
    }
}

/// Scans one region through `inventory` and applies the decision.
pub async fn scan_region(
    inventory: &dyn Inventory,
    region: &str,
    config: &Config,
    input: &ScanInput,
    today: NaiveDate,
) -> Result<RegionReport, CleanupError> {
    let mark_tag = ops_shared::CLEANUP_MARKED_TAG;
    let scan = inventory.scan().await?;
    let mut candidates = rules::evaluate(&scan.resources, &scan.topics, &input.rules, chrono::Utc::now());
    let mut warnings = scan.warnings;
    for c in candidates.iter_mut() {
        if let Err(e) = inventory.load_tags(&mut c.resource).await {
            warnings.push(format!(
                "tags of {} could not be read ({e}): left alone",
                c.resource.arn
            ));
            c.action = crate::model::Action::ReportOnly;
        }
    }
    let policy = Policy {
        mode: input.mode,
        grace: config.grace,
        protect_tag: config.protect_tag.clone(),
        mark_tag: mark_tag.to_string(),
        max_actions: input.max_actions,
        max_percent: config.max_percent,
    };
    let decision = decide(&policy, &scan.resources, candidates, today);
    let mut rules_report: BTreeMap<&'static str, RuleReport> =
        rules::RULES.iter().map(|r| (*r, RuleReport::default())).collect();
    let mut actions = Vec::new();

    for c in &decision.protected {
        rules_report.entry(c.rule).or_default().protected.push(line(
            c,
            mark_tag,
            "protected: never touched".into(),
        ));
    }
    for (c, why) in &decision.waiting {
        rules_report
            .entry(c.rule)
            .or_default()
            .candidates
            .push(line(c, mark_tag, why.clone()));
    }
    for c in &decision.to_mark {
        let result = inventory.set_tag(&c.resource, mark_tag, &today.to_string()).await;
        let entry = rules_report.entry(c.rule).or_default();
        match &result {
            Ok(()) => entry.marked += 1,
            Err(e) => warnings.push(format!("could not mark {}: {e}", c.resource.arn)),
        }
        entry.candidates.push(line(
            c,
            mark_tag,
            if result.is_ok() {
                format!("marked {today}")
            } else {
                "mark failed".into()
            },
        ));
    }
    let mut unmarked = Vec::new();
    for r in &decision.to_unmark {
        match inventory.remove_tag(r, mark_tag).await {
            Ok(()) => unmarked.push(r.arn.clone()),
            Err(e) => warnings.push(format!("could not remove the mark from {}: {e}", r.arn)),
        }
    }
    for c in &decision.to_act {
        let result = inventory.act(c).await;
        let action = serde_json::to_value(&c.action)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string))
            .unwrap_or_default();
        if let Err(e) = &result {
            tracing::warn!(arn = %c.resource.arn, rule = c.rule, error = %e, "cleanup action failed; going on");
        }
        let entry = rules_report.entry(c.rule).or_default();
        if result.is_ok() {
            entry.acted += 1;
        }
        entry.candidates.push(line(
            c,
            mark_tag,
            match &result {
                Ok(()) => format!("{action} done"),
                Err(e) => format!("{action} failed: {e}"),
            },
        ));
        actions.push(ActionResult {
            rule: c.rule,
            arn: c.resource.arn.clone(),
            action,
            ok: result.is_ok(),
            outcome: result.err().unwrap_or_else(|| "done".into()),
        });
    }
    Ok(RegionReport {
        region: region.to_string(),
        rules: rules_report,
        actions,
        unmarked,
        breaker: decision.breaker,
        warnings,
        aws_requests: inventory.requests(),
    })
}

/// Refuses `mark` and `delete` outside the allowed accounts; `report` runs anywhere.
pub fn check_account(mode: Mode, account: &str, allowed: &[String]) -> Result<(), CleanupError> {
    if mode == Mode::Report || allowed.iter().any(|a| a == account) {
        Ok(())
    } else {
        Err(CleanupError::AccountNotAllowed {
            mode: format!("{mode:?}").to_lowercase(),
            account: account.to_string(),
        })
    }
}

pub fn render(mode: Mode, account: Option<&str>, regions: &[RegionReport], saving: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cleanup scan in {} mode, account {}",
        format!("{mode:?}").to_lowercase(),
        account.unwrap_or("(not read)")
    );
    let _ = writeln!(
        out,
        "Estimated monthly saving of the candidates: ${saving:.2} ({PRICES})"
    );
    for r in regions {
        let _ = writeln!(out, "\n== {} ({} AWS requests) ==", r.region, r.aws_requests);
        for b in &r.breaker {
            let _ = writeln!(out, "CIRCUIT BREAKER: {b}");
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

/// The whole run over every region of the input.
pub async fn run<F>(
    inventories: F,
    notifier: &dyn Notifier,
    metrics: &dyn MetricSink,
    config: &Config,
    input: ScanInput,
    today: NaiveDate,
) -> Result<Report, CleanupError>
where
    F: Fn(&str) -> Box<dyn Inventory>,
{
    let mut account = None;
    let mut regions = Vec::new();
    for region in &input.regions {
        let inventory = inventories(region);
        if account.is_none() {
            let id = inventory.account().await?;
            check_account(input.mode, &id, &config.allowed_accounts)?;
            account = Some(id);
        }
        regions.push(scan_region(inventory.as_ref(), region, config, &input, today).await?);
    }
    let saving: f64 = regions
        .iter()
        .flat_map(|r| r.rules.values())
        .flat_map(|rr| rr.candidates.iter())
        .filter_map(|l| l.monthly_saving)
        .sum();
    let text = render(input.mode, account.as_deref(), &regions, saving);
    let candidates: usize = regions
        .iter()
        .flat_map(|r| r.rules.values())
        .map(|rr| rr.candidates.len())
        .sum();
    let subject = format!(
        "AWS cleanup {}: {candidates} candidate(s), ~${saving:.2}/month",
        format!("{:?}", input.mode).to_lowercase()
    );
    notifier
        .notify(&Notification {
            subject,
            message: text.clone(),
        })
        .await?;
    let mut points = Vec::new();
    for rule in rules::RULES {
        let n: usize = regions
            .iter()
            .map(|r| r.rules.get(rule).map(|rr| rr.candidates.len()).unwrap_or(0))
            .sum();
        points.push(Metric::new("CleanupCandidates", n as f64, Unit::Count).dimension("Rule", *rule));
    }
    metrics.put(&points).await?;
    Ok(Report {
        mode: input.mode,
        account,
        regions,
        estimated_monthly_saving: saving,
        prices: PRICES,
        text,
    })
}
