//! One run: scan every (account, region) first, a few at a time and within the deadline; apply the
//! rules; decide once over all of them; then mark, unmark or act, and report whatever happened.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use futures::stream::{self, StreamExt};
use ops_shared::{MetricSink, Notification, Notifier};
use tokio::time::Instant;

use crate::carry_out::carry_out;
use crate::config::{AccountRole, Config, ScanInput};
use crate::decide::{decide, Mode, Policy};
use crate::error::CleanupError;
use crate::inventory::Inventory;
use crate::report::{empty_region, found_metrics, region_report, render, whole_scan, Reports, PRICES};
pub use crate::report::{Line, RegionReport, Report, RuleReport};
use crate::rules;

/// An account the run scans: the scanner's own (`role: None`) or one of `CLEANUP_ACCOUNTS`, and how
/// to open its inventory in a region.
pub struct Account<'a> {
    pub role: Option<AccountRole>,
    pub open: Opener<'a>,
}

/// Opens an account's inventory in a region.
pub type Opener<'a> = Box<dyn Fn(&str) -> Box<dyn Inventory> + Send + Sync + 'a>;

/// Regions (of any account) scanned at the same time.
const SCANS_IN_FLIGHT: usize = 4;

/// What the run keeps back from its deadline: time to decide, act and publish after the scans
/// (at most a quarter of what it had), and time to publish after the actions.
const DECIDE_RESERVE: Duration = Duration::from_secs(30);
const PUBLISH_RESERVE: Duration = Duration::from_secs(5);

/// What one (account, region) scan found, before anything is decided.
struct Scanned {
    resources: Vec<crate::model::Resource>,
    candidates: Vec<crate::model::Candidate>,
    warnings: Vec<String>,
}

/// Scans one region through `inventory`: resources (with their account) and the rules' matches.
async fn scan_one(
    inventory: &dyn Inventory,
    account: &str,
    input: &ScanInput,
) -> Result<Scanned, CleanupError> {
    let mut scan = inventory.scan().await?;
    for r in &mut scan.resources {
        r.account = account.to_string();
    }
    let mut candidates = rules::evaluate(&scan.resources, &scan.topics, &input.rules, chrono::Utc::now());
    for c in candidates
        .iter_mut()
        .filter(|c| scan.tags_unread.contains(&c.resource.kind))
    {
        c.action = crate::model::Action::ReportOnly;
    }
    Ok(Scanned {
        resources: scan.resources,
        candidates,
        warnings: scan.warnings,
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

/// How the report names an account: its id, else its role's account, else the scanner's own
/// (whose id could not be read).
fn label(account: &Account<'_>, id: Option<&String>) -> String {
    id.cloned()
        .or_else(|| account.role.as_ref().map(|r| r.account.clone()))
        .unwrap_or_else(|| "(the scanner's own)".into())
}

/// Which account an inventory is in: the scanner's own as STS says, an assumed one as its role's
/// ARN says (and STS confirms: a role that lands elsewhere is a configuration error).
async fn account_id(account: &Account<'_>, inventory: &dyn Inventory) -> Result<String, CleanupError> {
    let id = inventory.account().await?;
    match &account.role {
        Some(role) if role.account != id => Err(CleanupError::BadInput {
            problem: format!(
                "the role {} of CLEANUP_ACCOUNTS answered as account {id}, not {}",
                role.role_arn, role.account
            ),
        }),
        _ => Ok(id),
    }
}

/// The whole run: scan every (account, region) first, decide once over all of them (one
/// `max_actions` budget, one population breaker per resource type), then act, and publish the
/// report whatever happened. An account or region that could not be scanned is reported, and fails
/// the run after the report is out.
pub async fn run(
    accounts: Vec<Account<'_>>,
    notifier: &dyn Notifier,
    metrics: &dyn MetricSink,
    config: &Config,
    input: ScanInput,
    today: NaiveDate,
    deadline: Instant,
) -> Result<Report, CleanupError> {
    let started = Instant::now();
    let reserve = DECIDE_RESERVE.min(deadline.saturating_duration_since(started) / 4);
    let scan_until = deadline.checked_sub(reserve).unwrap_or(started);
    let act_until = deadline.checked_sub(PUBLISH_RESERVE).unwrap_or(started);

    // Each account's inventory in each region, and its id (read once, from its first region).
    let opened: Vec<Vec<(String, Box<dyn Inventory>)>> = accounts
        .iter()
        .map(|a| input.regions.iter().map(|r| (r.clone(), (a.open)(r))).collect())
        .collect();
    let mut reports: Reports = BTreeMap::new();
    let mut first_error: Option<CleanupError> = None;
    let mut ids: Vec<Option<String>> = Vec::new();
    // Every account's identity at once (assuming each role on the way), within the scan's time.
    let looked_up = futures::future::join_all(accounts.iter().zip(&opened).map(
        |(account, regional)| async move {
            let (_, first) = regional.first()?;
            Some(
                tokio::time::timeout_at(scan_until, account_id(account, first.as_ref()))
                    .await
                    .unwrap_or_else(|_| {
                        Err(CleanupError::OutOfTime {
                            region: "(the account's identity, first)".into(),
                        })
                    }),
            )
        },
    ))
    .await;
    for ((account, regional), found) in accounts.iter().zip(&opened).zip(looked_up) {
        let Some(found) = found else {
            ids.push(None);
            continue;
        };
        match found {
            // The same account twice (a role in the scanner's own account) is scanned once.
            Ok(id) if ids.contains(&Some(id.clone())) => {
                tracing::warn!(account = %id, "account listed twice; scanned once");
                ids.push(None);
            }
            Ok(id) => ids.push(Some(id)),
            Err(e) => {
                let who = label(account, None);
                tracing::warn!(account = %who, error = %e, "account not scanned; the others go on");
                for (region, inv) in regional {
                    let r = region_report(&mut reports, &who, region);
                    r.error = Some(format!("the account could not be reached: {e}"));
                    r.aws_requests = inv.requests();
                }
                first_error.get_or_insert(e);
                ids.push(None);
            }
        }
    }
    // Before anything is scanned or changed. mark and delete need an allowed account: one that is
    // not is scanned and reported only; none at all is a configuration error.
    let known: Vec<String> = accounts
        .iter()
        .zip(&ids)
        .filter_map(|(account, id)| {
            id.clone()
                .or_else(|| account.role.as_ref().map(|r| r.account.clone()))
        })
        .collect();
    let refused: Vec<String> = known
        .iter()
        .filter(|id| check_account(input.mode, id, &config.allowed_accounts).is_err())
        .cloned()
        .collect();
    if !known.is_empty() && refused.len() == known.len() {
        check_account(input.mode, &refused.join(", "), &config.allowed_accounts)?;
    }

    let places: Vec<(String, String, &dyn Inventory)> = ids
        .iter()
        .zip(&opened)
        .filter_map(|(id, regional)| Some((id.clone()?, regional)))
        .flat_map(|(id, regional)| {
            regional
                .iter()
                .map(move |(region, inv)| (id.clone(), region.clone(), inv.as_ref()))
        })
        .collect();
    let input_ref = &input;
    let results: Vec<(String, String, Result<Scanned, CleanupError>)> = stream::iter(places.iter())
        .map(|(account, region, inv)| async move {
            let scanned = match tokio::time::timeout_at(scan_until, scan_one(*inv, account, input_ref)).await
            {
                Ok(result) => result,
                Err(_) => Err(CleanupError::OutOfTime {
                    region: region.clone(),
                }),
            };
            (account.clone(), region.clone(), scanned)
        })
        .buffer_unordered(SCANS_IN_FLIGHT)
        .collect()
        .await;

    let mut resources = Vec::new();
    let mut candidates = Vec::new();
    for (account, region, result) in results {
        match result {
            Ok(mut s) => {
                if refused.contains(&account) {
                    for c in &mut s.candidates {
                        c.action = crate::model::Action::ReportOnly;
                    }
                    s.warnings.insert(0, format!(
                        "account {account} is not in CLEANUP_ALLOWED_ACCOUNTS: reported only, nothing in it is marked or changed"
                    ));
                }
                region_report(&mut reports, &account, &region).warnings = s.warnings;
                resources.extend(s.resources);
                candidates.extend(s.candidates);
            }
            Err(e) => {
                tracing::warn!(%account, %region, error = %e, "region not scanned; the others go on");
                region_report(&mut reports, &account, &region).error = Some(e.to_string());
                first_error.get_or_insert(e);
            }
        }
    }
    let policy = Policy {
        mode: input.mode,
        grace: config.grace,
        protect_tag: config.protect_tag.clone(),
        mark_tag: ops_shared::CLEANUP_MARKED_TAG.to_string(),
        max_actions: input.max_actions,
        max_percent: config.max_percent,
    };
    let mut decision = decide(&policy, &resources, candidates, today);
    decision.to_unmark.retain(|r| !refused.contains(&r.account));
    for (c, why) in &mut decision.waiting {
        if refused.contains(&c.resource.account) && why == "report only" {
            *why = "report only: its account is not in CLEANUP_ALLOWED_ACCOUNTS".into();
        }
    }
    carry_out(&decision, &places, &mut reports, &policy, today, act_until).await;
    for (account, region, inv) in &places {
        region_report(&mut reports, account, region).aws_requests = inv.requests();
    }

    // The scanner's own account first, then CLEANUP_ACCOUNTS' order; regions in the input's order.
    let mut order: Vec<String> = Vec::new();
    for (account, id) in accounts.iter().zip(&ids) {
        let id = label(account, id.as_ref());
        if !order.contains(&id) {
            order.push(id);
        }
    }
    let mut regions = Vec::new();
    for account in &order {
        for region in &input.regions {
            regions.push(
                reports
                    .remove(&(account.clone(), region.clone()))
                    .unwrap_or_else(|| empty_region(account, region)),
            );
        }
    }
    let saving: f64 = regions
        .iter()
        .flat_map(|r| r.rules.values())
        .flat_map(|rr| rr.candidates.iter())
        .filter_map(|l| l.monthly_saving)
        .sum::<f64>()
        // An empty sum is -0.0, which would print as "$-0.00".
        + 0.0;
    let scanned_ids: Vec<String> = ids.iter().flatten().cloned().collect();
    let text = render(input.mode, &order, &regions, &decision.breaker, saving);
    let count: usize = regions
        .iter()
        .flat_map(|r| r.rules.values())
        .map(|rr| rr.candidates.len())
        .sum();
    let failed = regions.iter().filter(|r| r.error.is_some()).count();
    let subject = format!(
        "AWS cleanup {}: {count} candidate(s), ~${saving:.2}/month{}{}",
        format!("{:?}", input.mode).to_lowercase(),
        if order.len() > 1 {
            format!(", {} accounts", order.len())
        } else {
            String::new()
        },
        if failed > 0 {
            format!(", {failed} region(s) NOT scanned")
        } else {
            String::new()
        }
    );
    if let Err(e) = notifier
        .notify(&Notification {
            subject,
            message: text.clone(),
        })
        .await
    {
        // What was done must not be lost with the mail: the whole report goes to the log.
        tracing::error!(error = %e, report = %text, "the cleanup report could not be published; it is in this log line");
        return Err(e.into());
    }
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
        account: scanned_ids.first().cloned(),
        accounts: scanned_ids,
        regions,
        breaker: decision.breaker,
        estimated_monthly_saving: saving,
        prices: PRICES,
        text,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use ops_shared::metrics::PutSummary;
    use ops_shared::{Metric, SharedError};

    use super::*;
    use crate::inventory::Scan;
    use crate::model::{Candidate, Facts, Kind, Resource};

    /// One region: an unused topic, listed at once or only after `delay`.
    struct Fake {
        region: String,
        delay: Duration,
    }

    #[async_trait]
    impl Inventory for Fake {
        async fn account(&self) -> Result<String, CleanupError> {
            Ok("123456789012".into())
        }
        async fn scan(&self) -> Result<Scan, CleanupError> {
            tokio::time::sleep(self.delay).await;
            let mut scan = Scan::default();
            scan.resources.push(Resource {
                kind: Kind::SnsTopic,
                arn: format!("arn:aws:sns:{}:123456789012:idle", self.region),
                name: "idle".into(),
                account: String::new(),
                region: self.region.clone(),
                created: None,
                tags: HashMap::new(),
                facts: Facts::SnsTopic { subscriptions: 0 },
            });
            Ok(scan)
        }
        async fn reread_tags(&self, _: &Resource) -> Result<HashMap<String, String>, String> {
            Ok(HashMap::new())
        }
        async fn in_use(&self, _: &Candidate) -> Result<Option<String>, String> {
            Ok(None)
        }
        async fn set_tag(&self, _: &Resource, _: &str, _: &str) -> Result<(), String> {
            Ok(())
        }
        async fn remove_tag(&self, _: &Resource, _: &str) -> Result<(), String> {
            Ok(())
        }
        async fn snapshot(&self, _: &Candidate) -> Result<serde_json::Value, String> {
            Ok(serde_json::json!({}))
        }
        async fn act(&self, _: &Candidate) -> Result<(), String> {
            Ok(())
        }
        fn requests(&self) -> usize {
            1
        }
    }

    #[derive(Default)]
    struct Mailbox(Mutex<Vec<Notification>>);

    #[async_trait]
    impl Notifier for Mailbox {
        async fn notify(&self, n: &Notification) -> Result<String, SharedError> {
            self.0.lock().unwrap().push(n.clone());
            Ok("1".into())
        }
    }

    struct NoMetrics;

    #[async_trait]
    impl MetricSink for NoMetrics {
        async fn put(&self, _: &[Metric]) -> Result<PutSummary, SharedError> {
            Ok(PutSummary::default())
        }
    }

    #[tokio::test]
    async fn a_region_still_listing_near_the_deadline_is_cut_off_and_the_report_still_goes_out() {
        let config = Config::from_vars(&ops_shared::Vars::from_pairs([
            ("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:1:reports"),
            ("CLEANUP_REGIONS", "us-east-1,eu-west-1"),
        ]))
        .unwrap();
        let input = config.input(&serde_json::json!({})).unwrap();
        let account = Account {
            role: None,
            open: Box::new(|region: &str| -> Box<dyn Inventory> {
                Box::new(Fake {
                    region: region.to_string(),
                    // eu-west-1 would take far longer than the invocation has.
                    delay: if region == "eu-west-1" {
                        Duration::from_secs(600)
                    } else {
                        Duration::ZERO
                    },
                })
            }),
        };
        let mail = Mailbox::default();
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let deadline = Instant::now() + Duration::from_millis(400);
        let result = run(vec![account], &mail, &NoMetrics, &config, input, today, deadline).await;
        let err = result.unwrap_err();
        assert!(
            matches!(&err, CleanupError::OutOfTime { region } if region == "eu-west-1"),
            "{err}"
        );
        let sent = mail.0.lock().unwrap();
        assert_eq!(sent.len(), 1, "the report went out");
        assert!(
            sent[0].message.contains("REGION NOT SCANNED: eu-west-1")
                && sent[0]
                    .message
                    .contains("arn:aws:sns:us-east-1:123456789012:idle"),
            "{}",
            sent[0].message
        );
    }
}
