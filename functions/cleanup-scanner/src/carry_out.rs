//! Carrying out one decision made over every account and region: each change through its own
//! (account, region) inventory, each one re-checked against the resource's tags as its service
//! holds them now, none started once the deadline is near, and every result recorded.

use chrono::NaiveDate;
use tokio::time::Instant;

use crate::decide::{old_enough, Decision, Policy};
use crate::inventory::Inventory;
use crate::model::{kept_because, mark_value, Action, Candidate};
use crate::report::{line, region_report, ActionResult, Reports};

/// The inventories of the run, by (account, region).
pub type Places<'a> = [(String, String, &'a dyn Inventory)];

fn inventory_of<'a>(places: &Places<'a>, account: &str, region: &str) -> Option<&'a dyn Inventory> {
    places
        .iter()
        .find(|(a, r, _)| a == account && r == region)
        .map(|(_, _, inv)| *inv)
}

/// Why a change is not made after all.
enum Hold {
    /// The tags read now say protected, or a stack owns it.
    Kept(String),
    /// Anything else: the mark is gone, the tags could not be read, time is up.
    Wait(String),
    /// A read of the resource itself shows it in use: not a candidate after all.
    InUse(String),
}

const OUT_OF_TIME: &str = "not done: the run's time was nearly up (the next run goes on)";

/// The candidate with its tags re-read from its own service, if it may still be changed; within
/// the run's time. One found in use after all loses its mark, so it never waits to be acted on.
async fn recheck(
    inv: &dyn Inventory,
    c: &Candidate,
    policy: &Policy,
    act_until: Instant,
) -> Result<Candidate, Hold> {
    let checked = tokio::time::timeout_at(act_until, reread(inv, c, policy))
        .await
        .unwrap_or_else(|_| Err(Hold::Wait(OUT_OF_TIME.into())));
    if let Err(Hold::InUse(why)) = &checked {
        if c.resource.tags.contains_key(&policy.mark_tag) {
            let removed = tokio::time::timeout_at(act_until, inv.remove_tag(&c.resource, &policy.mark_tag))
                .await
                .unwrap_or_else(|_| {
                    Err("outcome unknown: the run's time was up while it was in flight".into())
                });
            let note = match removed {
                Ok(()) => "its mark was removed".to_string(),
                Err(e) => format!("its mark could not be removed ({e})"),
            };
            tracing::info!(arn = %c.resource.arn, %note, "in use after all");
            return Err(Hold::InUse(format!("{why}; {note}")));
        }
    }
    checked
}

async fn reread(inv: &dyn Inventory, c: &Candidate, policy: &Policy) -> Result<Candidate, Hold> {
    let tags = inv
        .reread_tags(&c.resource)
        .await
        .map_err(|e| Hold::Wait(format!("its tags could not be re-read ({e}): left alone")))?;
    let mut fresh = c.clone();
    fresh.resource.tags = tags;
    if let Some(why) = kept_because(&fresh.resource, &policy.protect_tag) {
        return Err(Hold::Kept(format!("{why} (seen when its tags were re-read)")));
    }
    match inv.in_use(&fresh).await {
        Ok(None) => Ok(fresh),
        Ok(Some(why)) => Err(Hold::InUse(why)),
        Err(e) => Err(Hold::Wait(format!(
            "could not confirm it is unused ({e}): left alone"
        ))),
    }
}

/// Whether an action's error says the resource is no longer there to remove.
fn already_gone(error: &str) -> bool {
    [
        "ResourceNotFound",
        "NotFoundException",
        "does not exist",
        "marked for deletion",
    ]
    .iter()
    .any(|s| error.contains(s))
}

/// Records a change not made: protected lines, candidates still waiting, or a warning for one in
/// use after all.
fn held(reports: &mut Reports, c: &Candidate, mark_tag: &str, hold: Hold) {
    let r = region_report(reports, &c.resource.account, &c.resource.region);
    let entry = r.rules.entry(c.rule).or_default();
    match hold {
        Hold::Kept(why) => entry.protected.push(line(c, mark_tag, why)),
        Hold::Wait(why) => entry.candidates.push(line(c, mark_tag, why)),
        Hold::InUse(why) => r
            .warnings
            .push(format!("{} is in use after all: {why}", c.resource.arn)),
    }
}

pub async fn carry_out(
    decision: &Decision,
    places: &Places<'_>,
    reports: &mut Reports,
    policy: &Policy,
    today: NaiveDate,
    act_until: Instant,
) {
    let mark_tag = policy.mark_tag.as_str();
    for c in &decision.protected {
        let r = region_report(reports, &c.resource.account, &c.resource.region);
        let why = kept_because(&c.resource, &policy.protect_tag).unwrap_or_default();
        r.rules
            .entry(c.rule)
            .or_default()
            .protected
            .push(line(c, mark_tag, why));
    }
    for (c, why) in &decision.waiting {
        let r = region_report(reports, &c.resource.account, &c.resource.region);
        r.rules
            .entry(c.rule)
            .or_default()
            .candidates
            .push(line(c, mark_tag, why.clone()));
    }
    for c in &decision.to_mark {
        let result = match inventory_of(places, &c.resource.account, &c.resource.region) {
            _ if Instant::now() >= act_until => Err(Hold::Wait(OUT_OF_TIME.into())),
            Some(inv) => match recheck(inv, c, policy, act_until).await {
                Ok(fresh) => match tokio::time::timeout_at(
                    act_until,
                    inv.set_tag(&fresh.resource, mark_tag, &mark_value(today, c.rule)),
                )
                .await
                {
                    Ok(done) => done.map_err(|e| Hold::Wait(format!("mark failed: {e}"))),
                    Err(_) => Err(Hold::Wait("mark outcome unknown: the run's time was up".into())),
                },
                Err(hold) => Err(hold),
            },
            None => Err(Hold::Wait("its region was not scanned".into())),
        };
        match result {
            Ok(()) => {
                tracing::info!(arn = %c.resource.arn, account = %c.resource.account, rule = c.rule, "marked");
                let r = region_report(reports, &c.resource.account, &c.resource.region);
                let entry = r.rules.entry(c.rule).or_default();
                entry.marked += 1;
                entry
                    .candidates
                    .push(line(c, mark_tag, format!("marked {today}")));
            }
            Err(hold) => held(reports, c, mark_tag, hold),
        }
    }
    for res in &decision.to_unmark {
        // Taking a mark away is always safe: no re-read; but none is started near the deadline.
        let result = match inventory_of(places, &res.account, &res.region) {
            _ if Instant::now() >= act_until => Err(OUT_OF_TIME.to_string()),
            Some(inv) => tokio::time::timeout_at(act_until, inv.remove_tag(res, mark_tag))
                .await
                .unwrap_or_else(|_| Err("outcome unknown: the run's time was up".into())),
            None => Err("its region was not scanned".to_string()),
        };
        let r = region_report(reports, &res.account, &res.region);
        match result {
            Ok(()) => {
                tracing::info!(arn = %res.arn, account = %res.account, "mark removed: no longer matching");
                r.unmarked.push(res.arn.clone())
            }
            Err(e) => r
                .warnings
                .push(format!("could not remove the mark from {}: {e}", res.arn)),
        }
    }
    for c in &decision.to_act {
        act_one(c, places, reports, policy, today, act_until).await;
    }
}

async fn act_one(
    c: &Candidate,
    places: &Places<'_>,
    reports: &mut Reports,
    policy: &Policy,
    today: NaiveDate,
    act_until: Instant,
) {
    let mark_tag = policy.mark_tag.as_str();
    let action = serde_json::to_value(&c.action)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string))
        .unwrap_or_default();
    let checked = match inventory_of(places, &c.resource.account, &c.resource.region) {
        _ if Instant::now() >= act_until => Err(Hold::Wait(OUT_OF_TIME.into())),
        None => Err(Hold::Wait("its region was not scanned".into())),
        Some(inv) => match recheck(inv, c, policy, act_until).await {
            // A mark taken away since the scan (or one set by another rule) stops the action.
            Ok(fresh) => old_enough(&fresh, policy, today)
                .map(|()| (inv, fresh))
                .map_err(|why| Hold::Wait(format!("{why} (seen when its tags were re-read)"))),
            Err(hold) => Err(hold),
        },
    };
    let (inv, fresh) = match checked {
        Ok(checked) => checked,
        Err(hold) => return held(reports, c, mark_tag, hold),
    };
    // What it takes to recreate it goes into the report (and a log line) first; without it,
    // nothing is removed. A deregistered revision stays describable (INACTIVE).
    let configuration = match &c.action {
        Action::Deregister => None,
        Action::SetRetention { .. } => match &c.resource.facts {
            // Retention expires older events for good: what it was is kept.
            crate::model::Facts::LogGroup { retention_days, .. } => {
                Some(serde_json::json!({"LogGroupName": c.resource.name, "RetentionInDays": retention_days}))
            }
            _ => None,
        },
        _ => match tokio::time::timeout_at(act_until, inv.snapshot(&fresh)).await {
            Ok(Ok(config)) => Some(config),
            Ok(Err(e)) => {
                let why = format!(
                    "not done: its configuration could not be read to keep in the report first ({e})"
                );
                return held(reports, c, mark_tag, Hold::Wait(why));
            }
            Err(_) => return held(reports, c, mark_tag, Hold::Wait(OUT_OF_TIME.into())),
        },
    };
    // Recorded before it is taken: were the run to end half-way, the log still says what it did
    // and what the resource was.
    let recorded = configuration.as_ref().map(|v| v.to_string()).unwrap_or_default();
    tracing::info!(arn = %c.resource.arn, account = %c.resource.account, rule = c.rule, %action, configuration = %recorded, "cleanup action starting");
    let mut outcome = "done".to_string();
    let result = match tokio::time::timeout_at(act_until, inv.act(&fresh)).await {
        // The SDK retries an attempt that timed out; when the first one went through, the retry
        // finds the resource gone. It is gone either way: done, and said how.
        Ok(Err(e)) if already_gone(&e) => {
            outcome = format!("done: it was already gone when AWS answered ({e}): a retried request, or someone removed it meanwhile");
            Ok(())
        }
        Ok(result) => result,
        // Whether AWS carried it out is not known: said so, never counted as done.
        Err(_) => {
            Err("outcome unknown: the run's time was up while it was in flight; look at the resource".into())
        }
    };
    // A revision deregistered today is deleted for good only by ecs-task-definition-inactive,
    // whose own mark and grace period start after this (its mark here counts for no other rule).
    match &result {
        Ok(()) => tracing::info!(arn = %c.resource.arn, rule = c.rule, %action, "cleanup action done"),
        Err(e) => {
            tracing::warn!(arn = %c.resource.arn, rule = c.rule, error = %e, "cleanup action failed; going on")
        }
    }
    let r = region_report(reports, &c.resource.account, &c.resource.region);
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
        outcome: result.err().unwrap_or(outcome),
        configuration,
    });
}

#[cfg(test)]
mod tests {
    use super::already_gone;

    #[test]
    fn a_removal_that_finds_nothing_to_remove_is_told_from_a_failure() {
        for gone in [
            "ResourceNotFoundException: The specified log group does not exist.",
            "InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion.",
            "ClusterNotFoundException: Cluster not found.",
        ] {
            assert!(already_gone(gone), "{gone}");
        }
        assert!(!already_gone(
            "AccessDeniedException: not authorized to perform: logs:DeleteLogGroup"
        ));
        assert!(!already_gone("ThrottlingException: Rate exceeded"));
    }
}
