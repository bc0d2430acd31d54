//! What a run may do, decided before anything is changed. Pure, and property-tested: no protected
//! resource and no resource inside its grace period is ever acted on, and the cap always holds.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;

use crate::model::{kept_because, mark_of, marked_on, Action, Candidate, Kind, Resource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Report,
    Mark,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub mode: Mode,
    pub grace: Duration,
    pub protect_tag: String,
    pub mark_tag: String,
    pub max_actions: usize,
    pub max_percent: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decision {
    /// Candidates that carry the protect tag or belong to a CloudFormation stack: listed, never
    /// touched.
    pub protected: Vec<Candidate>,
    /// Candidates to tag with today's date (mark mode; those not marked yet).
    pub to_mark: Vec<Candidate>,
    /// Marked resources that no longer match any rule (mark mode).
    pub to_unmark: Vec<Resource>,
    /// Candidates to act on (delete mode).
    pub to_act: Vec<Candidate>,
    /// Candidates left alone this run, with the reason.
    pub waiting: Vec<(Candidate, String)>,
    /// Resource kinds whose candidates exceed the allowed share of their population.
    pub breaker: Vec<String>,
}

/// Whether the candidate's own mark is old enough to act on, or why not.
pub fn old_enough(c: &Candidate, policy: &Policy, today: NaiveDate) -> Result<(), String> {
    let Some(marked) = marked_on(&c.resource, &policy.mark_tag, c.rule) else {
        return Err(match mark_of(&c.resource, &policy.mark_tag) {
            Some((_, Some(other))) => format!(
                "marked by rule {other}, not {}: run in mark mode to mark it for this rule",
                c.rule
            ),
            Some((_, None)) => {
                "its mark names no rule (an older version set it): run in mark mode to mark it again".into()
            }
            None => "not marked yet: run in mark mode first".into(),
        });
    };
    let days = (today - marked).num_days();
    let grace_days = policy.grace.as_secs().div_ceil(86_400) as i64;
    let needed = grace_days.max(c.min_mark_days);
    if days < needed {
        return Err(format!("marked {days} day(s) ago; acts after {needed}"));
    }
    Ok(())
}

pub fn decide(
    policy: &Policy,
    resources: &[Resource],
    candidates: Vec<Candidate>,
    today: NaiveDate,
) -> Decision {
    let mut d = Decision::default();
    // Per account, region and type: a surge in one place is not diluted by quiet ones elsewhere.
    let mut population: BTreeMap<(&str, &str, Kind), usize> = BTreeMap::new();
    for r in resources {
        *population
            .entry((r.account.as_str(), r.region.as_str(), r.kind))
            .or_default() += 1;
    }
    let (protected_list, open): (Vec<Candidate>, Vec<Candidate>) = candidates
        .into_iter()
        .partition(|c| kept_because(&c.resource, &policy.protect_tag).is_some());
    d.protected = protected_list;

    // The breaker counts what would be removed, per region and resource type: a retention fix
    // removes nothing, and one type's surge says nothing about another's. A type tripped in any
    // region is stopped in every region.
    let removes = |c: &Candidate| !matches!(c.action, Action::ReportOnly | Action::SetRetention { .. });
    let mut actionable: BTreeMap<(&str, &str, Kind), usize> = BTreeMap::new();
    for c in open.iter().filter(|c| removes(c)) {
        *actionable
            .entry((
                c.resource.account.as_str(),
                c.resource.region.as_str(),
                c.resource.kind,
            ))
            .or_default() += 1;
    }
    let mut tripped_kinds: Vec<Kind> = Vec::new();
    for ((account, region, kind), count) in &actionable {
        let total = population
            .get(&(*account, *region, *kind))
            .copied()
            .unwrap_or(*count)
            .max(1);
        let share = 100.0 * *count as f64 / total as f64;
        if share > policy.max_percent {
            d.breaker.push(format!(
                "{count} of {total} {kind:?} resources in {region} of account {account} ({share:.0}%) are candidates, over CLEANUP_MAX_PERCENT={}: no {kind:?} is marked or removed this run (retention fixes go on)",
                policy.max_percent
            ));
            if !tripped_kinds.contains(kind) {
                tripped_kinds.push(*kind);
            }
        }
    }
    let tripped = |c: &Candidate| removes(c) && tripped_kinds.contains(&c.resource.kind);

    match policy.mode {
        Mode::Report => {
            d.waiting = open
                .into_iter()
                .map(|c| (c, "report mode changes nothing".to_string()))
                .collect()
        }
        Mode::Mark => {
            for c in open {
                if c.action == Action::ReportOnly {
                    d.waiting.push((c, "report only".into()));
                } else if tripped(&c) {
                    d.waiting.push((c, "circuit breaker".into()));
                } else if marked_on(&c.resource, &policy.mark_tag, c.rule).is_some() {
                    d.waiting.push((c, "already marked".into()));
                } else {
                    d.to_mark.push(c);
                }
            }
            // A protected resource loses its mark: were the protect tag removed later, an old mark
            // must not let it go on the next delete run without a grace period of its own.
            let matched: Vec<&str> = d
                .to_mark
                .iter()
                .chain(d.waiting.iter().map(|(c, _)| c))
                .map(|c| c.resource.arn.as_str())
                .collect();
            d.to_unmark = resources
                .iter()
                .filter(|r| r.tags.contains_key(&policy.mark_tag) && !matched.contains(&r.arn.as_str()))
                .cloned()
                .collect();
        }
        Mode::Delete => {
            let mut ready: Vec<(NaiveDate, Candidate)> = Vec::new();
            for c in open {
                if c.action == Action::ReportOnly {
                    d.waiting.push((c, "report only".into()));
                } else if tripped(&c) {
                    d.waiting.push((c, "circuit breaker".into()));
                } else {
                    match old_enough(&c, policy, today) {
                        Ok(()) => ready.push((
                            marked_on(&c.resource, &policy.mark_tag, c.rule).unwrap_or(today),
                            c,
                        )),
                        Err(why) => d.waiting.push((c, why)),
                    }
                }
            }
            // The longest-marked go first; the rest wait for the next run.
            ready.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.resource.arn.cmp(&b.1.resource.arn)));
            for (i, (_, c)) in ready.into_iter().enumerate() {
                if i < policy.max_actions {
                    d.to_act.push(c);
                } else {
                    d.waiting
                        .push((c, format!("over max_actions={}", policy.max_actions)));
                }
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::model::Facts;

    const MARK: &str = "ops-lambdas:cleanup-marked";
    const PROTECT: &str = "ops-lambdas:protect";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn resource(i: usize, marked_days_ago: Option<i64>, protect: bool) -> Resource {
        let mut tags = HashMap::new();
        if let Some(days) = marked_days_ago {
            tags.insert(
                MARK.to_string(),
                crate::model::mark_value(today() - chrono::Duration::days(days), "sns-topic-unused"),
            );
        }
        if protect {
            tags.insert(PROTECT.to_string(), "true".to_string());
        }
        Resource {
            kind: Kind::SnsTopic,
            arn: format!("arn:aws:sns:us-east-1:123456789012:t{i}"),
            name: format!("t{i}"),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            created: None,
            tags,
            facts: Facts::SnsTopic { subscriptions: 0 },
        }
    }

    /// The resource marked `days` ago by `rule`.
    fn marked_by(mut r: Resource, rule: &str, days: i64) -> Resource {
        r.tags.insert(
            MARK.to_string(),
            crate::model::mark_value(today() - chrono::Duration::days(days), rule),
        );
        r
    }

    fn candidate(r: &Resource) -> Candidate {
        Candidate {
            rule: "sns-topic-unused",
            resource: r.clone(),
            action: Action::Delete,
            reason: String::new(),
            age_days: None,
            monthly_saving: None,
            min_mark_days: 0,
        }
    }

    fn policy(mode: Mode, grace_days: u64, max_actions: usize, max_percent: f64) -> Policy {
        Policy {
            mode,
            grace: Duration::from_secs(grace_days * 86_400),
            protect_tag: PROTECT.into(),
            mark_tag: MARK.into(),
            max_actions,
            max_percent,
        }
    }

    #[test]
    fn report_mode_changes_nothing() {
        let rs: Vec<Resource> = (0..4).map(|i| resource(i, Some(30), false)).collect();
        let d = decide(
            &policy(Mode::Report, 7, 20, 100.0),
            &rs,
            rs.iter().map(candidate).collect(),
            today(),
        );
        assert!(d.to_act.is_empty() && d.to_mark.is_empty() && d.to_unmark.is_empty());
        assert_eq!(d.waiting.len(), 4);
    }

    #[test]
    fn mark_mode_marks_new_candidates_and_unmarks_those_that_recovered() {
        let rs = vec![
            resource(0, None, false),
            resource(1, Some(3), false),
            resource(2, Some(3), false),
            resource(3, None, true),
        ];
        let cands = vec![candidate(&rs[0]), candidate(&rs[1]), candidate(&rs[3])];
        let d = decide(&policy(Mode::Mark, 7, 20, 100.0), &rs, cands, today());
        assert_eq!(
            d.to_mark
                .iter()
                .map(|c| c.resource.name.as_str())
                .collect::<Vec<_>>(),
            vec!["t0"]
        );
        assert_eq!(
            d.to_unmark.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["t2"],
            "t2 no longer matches"
        );
        assert_eq!(d.protected.len(), 1);
    }

    #[test]
    fn delete_mode_waits_for_the_grace_period_and_longer_for_clusters() {
        let rs = vec![
            resource(0, Some(10), false),
            resource(1, Some(2), false),
            resource(2, None, false),
            resource(3, Some(10), false),
        ];
        let mut cands: Vec<Candidate> = rs.iter().map(candidate).collect();
        cands[3].min_mark_days = 14;
        let d = decide(&policy(Mode::Delete, 7, 20, 100.0), &rs, cands, today());
        assert_eq!(
            d.to_act
                .iter()
                .map(|c| c.resource.name.as_str())
                .collect::<Vec<_>>(),
            vec!["t0"]
        );
        assert_eq!(d.waiting.len(), 3);
    }

    #[test]
    fn the_breaker_stops_that_types_actions_when_too_many_match() {
        let rs: Vec<Resource> = (0..10).map(|i| resource(i, Some(30), false)).collect();
        let d = decide(
            &policy(Mode::Delete, 7, 20, 25.0),
            &rs,
            rs[..3].iter().map(candidate).collect(),
            today(),
        );
        assert!(d.to_act.is_empty());
        assert!(d.breaker[0].contains("3 of 10"), "{:?}", d.breaker);
        let ok = decide(
            &policy(Mode::Delete, 7, 20, 25.0),
            &rs,
            rs[..2].iter().map(candidate).collect(),
            today(),
        );
        assert_eq!(ok.to_act.len(), 2);
    }

    #[test]
    fn one_kinds_breaker_stops_that_kind_only_and_retention_fixes_never_count() {
        // Three of ten topics: over 25 % for topics. Two log groups, only retention fixes.
        let mut rs: Vec<Resource> = (0..10).map(|i| resource(i, Some(30), false)).collect();
        let mut logs: Vec<Resource> = (0..2)
            .map(|i| Resource {
                kind: Kind::LogGroup,
                arn: format!("arn:aws:logs:us-east-1:123456789012:log-group:g{i}"),
                name: format!("g{i}"),
                ..marked_by(resource(100 + i, None, false), "log-group-no-retention", 30)
            })
            .collect();
        let mut secret = marked_by(resource(200, None, false), "secret-unused", 30);
        secret.kind = Kind::Secret;
        secret.arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s".into();
        let mut candidates: Vec<Candidate> = rs[..3].iter().map(candidate).collect();
        candidates.extend(logs.iter().map(|r| Candidate {
            rule: "log-group-no-retention",
            action: Action::SetRetention { days: 30 },
            ..candidate(r)
        }));
        let mut other_secrets: Vec<Resource> = (0..9)
            .map(|i| Resource {
                kind: Kind::Secret,
                arn: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:o{i}"),
                ..resource(300 + i, None, false)
            })
            .collect();
        candidates.push(Candidate {
            rule: "secret-unused",
            action: Action::DeleteSecret {
                recovery_window_days: 30,
            },
            ..candidate(&secret)
        });
        rs.append(&mut logs);
        rs.push(secret);
        rs.append(&mut other_secrets);
        let d = decide(&policy(Mode::Delete, 7, 20, 25.0), &rs, candidates, today());
        assert_eq!(d.breaker.len(), 1, "{:?}", d.breaker);
        assert!(d.breaker[0].contains("SnsTopic"), "{:?}", d.breaker);
        let acted: Vec<&str> = d.to_act.iter().map(|c| c.rule).collect();
        assert!(
            acted.contains(&"secret-unused"),
            "another kind still acts: {acted:?}"
        );
        assert_eq!(
            acted.iter().filter(|r| **r == "log-group-no-retention").count(),
            2,
            "retention fixes are not counted"
        );
        assert!(!acted.contains(&"sns-topic-unused"));
    }

    #[test]
    fn a_protected_resource_loses_its_mark() {
        let r = resource(1, Some(30), true);
        let d = decide(
            &policy(Mode::Mark, 7, 20, 100.0),
            std::slice::from_ref(&r),
            vec![candidate(&r)],
            today(),
        );
        assert_eq!(d.protected.len(), 1);
        assert_eq!(d.to_unmark.len(), 1, "its old mark is taken away");
    }

    #[test]
    fn a_mark_counts_only_for_the_rule_that_set_it() {
        // Marked 30 days ago for a retention fix, now stale: deleting it needs a mark of its own.
        let group = Resource {
            kind: Kind::LogGroup,
            ..marked_by(resource(1, None, false), "log-group-no-retention", 30)
        };
        let stale = Candidate {
            rule: "log-group-stale",
            ..candidate(&group)
        };
        let d = decide(
            &policy(Mode::Delete, 7, 20, 100.0),
            std::slice::from_ref(&group),
            vec![stale.clone()],
            today(),
        );
        assert!(d.to_act.is_empty());
        assert!(
            d.waiting[0].1.contains("marked by rule log-group-no-retention"),
            "{:?}",
            d.waiting
        );
        let m = decide(
            &policy(Mode::Mark, 7, 20, 100.0),
            std::slice::from_ref(&group),
            vec![stale.clone()],
            today(),
        );
        assert_eq!(m.to_mark.len(), 1, "marked again, for this rule");
        // A bare date, as older versions wrote, counts for no rule.
        let mut old = group;
        old.tags.insert(
            MARK.to_string(),
            (today() - chrono::Duration::days(30)).to_string(),
        );
        let d = decide(
            &policy(Mode::Delete, 7, 20, 100.0),
            &[old.clone()],
            vec![Candidate {
                resource: old,
                ..stale
            }],
            today(),
        );
        assert!(
            d.to_act.is_empty() && d.waiting[0].1.contains("names no rule"),
            "{:?}",
            d.waiting
        );
    }

    #[test]
    fn a_surge_in_one_region_trips_the_breaker_whatever_the_other_regions_hold() {
        // 4 of 4 topics in one region are candidates; 40 quiet topics in another.
        let mut rs: Vec<Resource> = (0..4)
            .map(|i| Resource {
                region: "eu-west-1".into(),
                ..resource(i, Some(30), false)
            })
            .collect();
        rs.extend((10..50).map(|i| resource(i, Some(30), false)));
        let candidates = rs[..4].iter().map(candidate).collect();
        let d = decide(&policy(Mode::Delete, 7, 20, 25.0), &rs, candidates, today());
        assert!(d.to_act.is_empty(), "{:?}", d.to_act);
        assert!(
            d.breaker[0].contains("4 of 4") && d.breaker[0].contains("eu-west-1"),
            "{:?}",
            d.breaker
        );
    }

    #[test]
    fn a_resource_of_a_cloudformation_stack_is_never_marked_or_acted_on_and_loses_its_mark() {
        let mut r = resource(1, Some(30), false);
        r.tags.insert(
            crate::model::STACK_ID_TAG.into(),
            "arn:aws:cloudformation:us-east-1:123456789012:stack/payments/0f1e".into(),
        );
        for mode in [Mode::Mark, Mode::Delete] {
            let d = decide(
                &policy(mode, 0, 20, 100.0),
                std::slice::from_ref(&r),
                vec![candidate(&r)],
                today(),
            );
            assert!(d.to_mark.is_empty() && d.to_act.is_empty(), "{mode:?}: {d:?}");
            assert_eq!(d.protected.len(), 1);
            assert_eq!(d.to_unmark.len(), usize::from(mode == Mode::Mark), "{mode:?}");
        }
        assert_eq!(
            kept_because(&r, PROTECT).unwrap(),
            "owned by CloudFormation stack payments: never marked or changed here; change it through the stack"
        );
    }

    proptest! {
        #[test]
        fn no_protected_or_young_resource_is_ever_acted_on_and_the_cap_holds(
            specs in proptest::collection::vec((proptest::option::of(0i64..40), any::<bool>(), any::<bool>(), any::<bool>()), 0..60),
            grace in 0u64..20,
            max_actions in 0usize..15,
            max_percent in 0.0f64..=100.0,
        ) {
            let rs: Vec<Resource> = specs.iter().enumerate().map(|(i, (marked, protect, _, stack))| {
                let mut r = resource(i, *marked, *protect);
                if *stack {
                    r.tags.insert(crate::model::STACK_ID_TAG.into(), format!("arn:aws:cloudformation:us-east-1:1:stack/s{i}/x"));
                }
                r
            }).collect();
            let cands: Vec<Candidate> = rs.iter().zip(&specs).filter(|(_, s)| s.2).map(|(r, _)| candidate(r)).collect();
            let p = policy(Mode::Delete, grace, max_actions, max_percent);
            let d = decide(&p, &rs, cands, today());
            prop_assert!(d.to_act.len() <= max_actions);
            for c in &d.to_act {
                prop_assert!(kept_because(&c.resource, PROTECT).is_none());
                let marked = marked_on(&c.resource, MARK, c.rule).expect("acted on without its rule's mark");
                prop_assert!((today() - marked).num_days() >= grace as i64);
            }
            if !d.breaker.is_empty() {
                prop_assert!(d.to_act.is_empty());
            }
            let marked = decide(&Policy { mode: Mode::Mark, ..p }, &rs, rs.iter().map(candidate).collect(), today());
            prop_assert!(marked.to_mark.iter().all(|c| kept_because(&c.resource, PROTECT).is_none()));
        }
    }
}
