//! One run: scan every region, apply the rules, decide, then mark, unmark or act, and report.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;
use ops_shared::{Metric, MetricSink, Notification, Notifier, Unit};
use serde::Serialize;

use crate::config::{Config, ScanInput};
use crate::decide::{decide, Decision, Mode, Policy};
use crate::error::CleanupError;
use crate::inventory::Inventory;
use crate::model::{mark_value, marked_on, Action, Candidate, Resource};
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
    pub warnings: Vec<String>,
    pub aws_requests: usize,
    /// Why this region could not be scanned; nothing in it was changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub account: Option<String>,
    pub regions: Vec<RegionReport>,
    /// Resource kinds whose candidates passed CLEANUP_MAX_PERCENT of their population, over every
    /// region: nothing of that kind was changed.
    pub breaker: Vec<String>,
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
        marked_since: marked_on(&c.resource, mark_tag, c.rule),
        status,
    }
}

/// What one region's scan found, before anything is decided.
struct Scanned {
    region: String,
    resources: Vec<Resource>,
    candidates: Vec<Candidate>,
    warnings: Vec<String>,
    requests: usize,
}

/// Scans one region through `inventory`: resources, rule matches, and the tags the rules need.
async fn scan_one(
    inventory: &dyn Inventory,
    region: &str,
    input: &ScanInput,
) -> Result<Scanned, CleanupError> {
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
    Ok(Scanned {
        region: region.to_string(),
        resources: scan.resources,
        candidates,
        warnings,
        requests: inventory.requests(),
    })
}

fn empty_region(region: &str) -> RegionReport {
    RegionReport {
        region: region.to_string(),
        rules: rules::RULES.iter().map(|r| (*r, RuleReport::default())).collect(),
        actions: Vec::new(),
        unmarked: Vec::new(),
        warnings: Vec::new(),
        aws_requests: 0,
        error: None,
    }
}

/// Carries out one decision made over every region, each change through its own region's
/// inventory, and records every result in that region's report.
async fn carry_out(
    decision: &Decision,
    regional: &[(String, Box<dyn Inventory>)],
    reports: &mut BTreeMap<String, RegionReport>,
    today: NaiveDate,
) {
    let mark_tag = ops_shared::CLEANUP_MARKED_TAG;
    let inventory_of = |region: &str| {
        regional
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, inv)| inv.as_ref())
    };
    for c in &decision.protected {
        let r = region_report(reports, &c.resource.region);
        r.rules.entry(c.rule).or_default().protected.push(line(
            c,
            mark_tag,
            "protected: never touched".into(),
        ));
    }
    for (c, why) in &decision.waiting {
        let r = region_report(reports, &c.resource.region);
        r.rules
            .entry(c.rule)
            .or_default()
            .candidates
            .push(line(c, mark_tag, why.clone()));
    }
    for c in &decision.to_mark {
        let result = match inventory_of(&c.resource.region) {
            Some(inv) => {
                inv.set_tag(&c.resource, mark_tag, &mark_value(today, c.rule))
                    .await
            }
            None => Err("its region was not scanned".to_string()),
        };
        let r = region_report(reports, &c.resource.region);
        if let Err(e) = &result {
            r.warnings.push(format!("could not mark {}: {e}", c.resource.arn));
        }
        let entry = r.rules.entry(c.rule).or_default();
        if result.is_ok() {
            entry.marked += 1;
        }
        let status = if result.is_ok() {
            format!("marked {today}")
        } else {
            "mark failed".into()
        };
        entry.candidates.push(line(c, mark_tag, status));
    }
    for res in &decision.to_unmark {
        let result = match inventory_of(&res.region) {
            Some(inv) => inv.remove_tag(res, mark_tag).await,
            None => Err("its region was not scanned".to_string()),
        };
        let r = region_report(reports, &res.region);
        match result {
            Ok(()) => r.unmarked.push(res.arn.clone()),
            Err(e) => r
                .warnings
                .push(format!("could not remove the mark from {}: {e}", res.arn)),
        }
    }
    for c in &decision.to_act {
        let action = serde_json::to_value(&c.action)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string))
            .unwrap_or_default();
        let result = match inventory_of(&c.resource.region) {
            Some(inv) => inv.act(c).await,
            None => Err("its region was not scanned".to_string()),
        };
        // A revision deregistered today is deleted by a later run only after a grace period of
        // its own: its mark starts again.
        if result.is_ok() && c.action == Action::Deregister {
            if let Some(inv) = inventory_of(&c.resource.region) {
                if let Err(e) = inv
                    .set_tag(&c.resource, mark_tag, &mark_value(today, c.rule))
                    .await
                {
                    tracing::warn!(arn = %c.resource.arn, error = %e, "could not re-date the mark after deregistering");
                }
            }
        }
        match &result {
            Ok(()) => tracing::info!(arn = %c.resource.arn, rule = c.rule, %action, "cleanup action done"),
            Err(e) => {
                tracing::warn!(arn = %c.resource.arn, rule = c.rule, error = %e, "cleanup action failed; going on")
            }
        }
        let r = region_report(reports, &c.resource.region);
        let entry = r.rules.entry(c.rule).or_default();
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
        r.actions.push(ActionResult {
            rule: c.rule,
            arn: c.resource.arn.clone(),
            action,
            ok: result.is_ok(),
            outcome: result.err().unwrap_or_else(|| "done".into()),
        });
    }
}

fn region_report<'a>(reports: &'a mut BTreeMap<String, RegionReport>, region: &str) -> &'a mut RegionReport {
    reports
        .entry(region.to_string())
        .or_insert_with(|| empty_region(region))
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

pub fn render(
    mode: Mode,
    account: Option<&str>,
    regions: &[RegionReport],
    breaker: &[String],
    saving: f64,
) -> String {
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
    // What matters most first, so a report cut to SNS's size keeps it: failed regions, the
    // breaker, and every change made.
    for r in regions.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            out,
            "REGION NOT SCANNED: {}: {}",
            r.region,
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
        let _ = writeln!(out, "\n== {} ({} AWS requests) ==", r.region, r.aws_requests);
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

/// The whole run: scan every region first, decide once over all of them (one `max_actions` budget,
/// one population breaker per resource type), then act, and publish the report whatever happened.
/// A region that could not be scanned is reported and fails the run after the report is out.
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
    let regional: Vec<(String, Box<dyn Inventory>)> = input
        .regions
        .iter()
        .map(|r| (r.clone(), inventories(r)))
        .collect();
    let mut account = None;
    let mut scanned = Vec::new();
    let mut reports: BTreeMap<String, RegionReport> = BTreeMap::new();
    let mut first_error: Option<CleanupError> = None;
    for (region, inventory) in &regional {
        let result = async {
            if account.is_none() {
                let id = inventory.account().await.map_err(Regional)?;
                // Before anything is scanned or changed: a refused account is a configuration error.
                check_account(input.mode, &id, &config.allowed_accounts).map_err(Fatal)?;
                account = Some(id);
            }
            scan_one(inventory.as_ref(), region, &input)
                .await
                .map_err(Regional)
        }
        .await;
        match result {
            Ok(s) => scanned.push(s),
            Err(Fatal(e)) => return Err(e),
            Err(Regional(e)) => {
                tracing::warn!(%region, error = %e, "region not scanned; the others go on");
                let mut r = empty_region(region);
                r.error = Some(e.to_string());
                r.aws_requests = inventory.requests();
                reports.insert(region.clone(), r);
                first_error.get_or_insert(e);
            }
        }
    }
    for s in &scanned {
        let r = region_report(&mut reports, &s.region);
        r.warnings = s.warnings.clone();
        r.aws_requests = s.requests;
    }
    let resources: Vec<Resource> = scanned.iter().flat_map(|s| s.resources.iter().cloned()).collect();
    let candidates: Vec<Candidate> = scanned.into_iter().flat_map(|s| s.candidates).collect();
    let policy = Policy {
        mode: input.mode,
        grace: config.grace,
        protect_tag: config.protect_tag.clone(),
        mark_tag: ops_shared::CLEANUP_MARKED_TAG.to_string(),
        max_actions: input.max_actions,
        max_percent: config.max_percent,
    };
    let decision = decide(&policy, &resources, candidates, today);
    carry_out(&decision, &regional, &mut reports, today).await;
    for (region, inventory) in &regional {
        if let Some(r) = reports.get_mut(region) {
            r.aws_requests = inventory.requests();
        }
    }
    // In the input's order.
    let regions: Vec<RegionReport> = input.regions.iter().filter_map(|r| reports.remove(r)).collect();
    let saving: f64 = regions
        .iter()
        .flat_map(|r| r.rules.values())
        .flat_map(|rr| rr.candidates.iter())
        .filter_map(|l| l.monthly_saving)
        .sum::<f64>()
        // An empty sum is -0.0, which would print as "$-0.00".
        + 0.0;
    let text = render(
        input.mode,
        account.as_deref(),
        &regions,
        &decision.breaker,
        saving,
    );
    let candidates: usize = regions
        .iter()
        .flat_map(|r| r.rules.values())
        .map(|rr| rr.candidates.len())
        .sum();
    let failed = regions.iter().filter(|r| r.error.is_some()).count();
    let subject = format!(
        "AWS cleanup {}: {candidates} candidate(s), ~${saving:.2}/month{}",
        format!("{:?}", input.mode).to_lowercase(),
        if failed > 0 {
            format!(", {failed} region(s) NOT scanned")
        } else {
            String::new()
        }
    );
    notifier
        .notify(&Notification {
            subject,
            message: text.clone(),
        })
        .await?;
    if whole_scan(config, &input, first_error.is_some()) {
        metrics.put(&found_metrics(&regions)).await?;
    } else {
        tracing::info!("a partial scan: CleanupCandidates and CleanupMonthlySaving are not published");
    }
    if let Some(e) = first_error {
        // The report (with what was done) is out; the failure still reaches the errors alarm.
        return Err(e);
    }
    Ok(Report {
        mode: input.mode,
        account,
        regions,
        breaker: decision.breaker,
        estimated_monthly_saving: saving,
        prices: PRICES,
        text,
    })
}

/// Only a whole scan speaks for the account: a run missing a region (failed, or left out by the
/// event) or a rule publishes no figures, so those shown stay the last whole run's.
fn whole_scan(config: &Config, input: &ScanInput, region_failed: bool) -> bool {
    !region_failed
        && config.regions.iter().all(|r| input.regions.contains(r))
        && rules::RULES
            .iter()
            .all(|r| input.rules.enabled.get(*r).copied().unwrap_or(true))
}

/// What the run found, for the cost report and `ops status` to show without reading the report:
/// `CleanupCandidates` and `CleanupMonthlySaving` (USD, list prices) per `Rule`, and both totals
/// without a dimension.
fn found_metrics(regions: &[RegionReport]) -> Vec<Metric> {
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

/// Why a region's part of the run stopped: the whole run, or that region only.
enum Stop {
    Fatal(CleanupError),
    Regional(CleanupError),
}
use Stop::{Fatal, Regional};

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
        for (region, lines) in [
            ("us-east-1", vec![Some(0.4), None]),
            ("eu-west-1", vec![Some(0.4)]),
        ] {
            let mut r = empty_region(region);
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
