//! EventBridge: the rules and the EventBridge Scheduler schedules that run ECS tasks (the ECS
//! console's scheduled tasks are one or the other), so a task definition or a cluster that only a
//! schedule uses is in use.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use aws_sdk_eventbridge::Client;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::IN_FLIGHT;
use crate::error::CleanupError;
use crate::model::{Facts, Resource};

/// One rule target that runs tasks: in which cluster, and which task definition (a full ARN, a
/// `family:revision`, or a family alone for its latest revision).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct EcsTarget {
    pub rule: String,
    pub cluster: String,
    pub task_definition: Option<String>,
}

/// Every ECS target of every rule on every event bus of the region.
pub(super) async fn ecs_targets(events: &Client, n: &AtomicUsize) -> Result<Vec<EcsTarget>, CleanupError> {
    let mut buses = Vec::new();
    let mut token = None;
    loop {
        let page = aws!(
            n,
            "events:ListEventBuses",
            events.list_event_buses().set_next_token(token)
        )?;
        buses.extend(
            page.event_buses()
                .iter()
                .filter_map(|b| b.name().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    if !buses.iter().any(|b| b == "default") {
        buses.push("default".into());
    }
    let mut rules = Vec::new();
    for bus in &buses {
        let mut token = None;
        loop {
            let page = aws!(
                n,
                "events:ListRules",
                events.list_rules().event_bus_name(bus).set_next_token(token)
            )?;
            rules.extend(
                page.rules()
                    .iter()
                    .filter_map(|r| Some((bus.clone(), r.name()?.to_string()))),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    let per_rule: Vec<Vec<EcsTarget>> = stream::iter(rules)
        .map(|(bus, rule)| async move {
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let page = aws!(
                    n,
                    "events:ListTargetsByRule",
                    events
                        .list_targets_by_rule()
                        .rule(&rule)
                        .event_bus_name(&bus)
                        .set_next_token(token)
                )?;
                out.extend(page.targets().iter().filter_map(|t| {
                    let ecs = t.ecs_parameters()?;
                    Some(EcsTarget {
                        rule: rule.clone(),
                        cluster: t.arn().to_string(),
                        task_definition: Some(ecs.task_definition_arn().to_string()),
                    })
                }));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Ok::<_, CleanupError>(out)
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(per_rule.into_iter().flatten().collect())
}

/// Every ECS target of every EventBridge Scheduler schedule of the region: the listing gives each
/// schedule's target ARN; only those that run tasks in a cluster are read whole.
pub(super) async fn scheduler_targets(
    scheduler: &aws_sdk_scheduler::Client,
    n: &AtomicUsize,
) -> Result<Vec<EcsTarget>, CleanupError> {
    let mut ecs = Vec::new();
    let mut pages = scheduler
        .list_schedules()
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = counted!(n, "scheduler:ListSchedules", page)?;
        ecs.extend(page.schedules().iter().filter_map(|s| {
            let target = s.target()?.arn();
            let name = s.name()?.to_string();
            // A templated ECS target names the cluster; a universal one calls ecs:runTask.
            let runs_tasks = (target.contains(":ecs:") && target.contains(":cluster/"))
                || target.contains("aws-sdk:ecs:runTask")
                || target.contains("aws-sdk:ecs:startTask");
            runs_tasks.then(|| (s.group_name().map(str::to_string), name))
        }));
    }
    let found: Vec<Option<EcsTarget>> = stream::iter(ecs)
        .map(|(group, name)| schedule_target(scheduler, n, group, name))
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// One schedule's ECS target, read whole.
async fn schedule_target(
    scheduler: &aws_sdk_scheduler::Client,
    n: &AtomicUsize,
    group: Option<String>,
    name: String,
) -> Result<Option<EcsTarget>, CleanupError> {
    let s = aws!(
        n,
        "scheduler:GetSchedule",
        scheduler.get_schedule().name(&name).set_group_name(group)
    )?;
    let Some(t) = s.target() else {
        return Ok(None);
    };
    if let Some(e) = t.ecs_parameters() {
        return Ok(Some(EcsTarget {
            rule: format!("schedule {name}"),
            cluster: t.arn().to_string(),
            task_definition: Some(e.task_definition_arn().to_string()),
        }));
    }
    // A universal target: the RunTask request is its input. One that cannot be read
    // could pin any revision, so the region's task definitions are reported only.
    let input: serde_json::Value = t
        .input()
        .and_then(|i| serde_json::from_str(i).ok())
        .unwrap_or_default();
    match input["TaskDefinition"].as_str() {
            Some(td) => Ok(Some(EcsTarget {
                rule: format!("schedule {name}"),
                cluster: input["Cluster"].as_str().unwrap_or("default").to_string(),
                task_definition: Some(td.to_string()),
            })),
            None => Err(CleanupError::Aws {
                operation: "scheduler:GetSchedule",
                reason: format!("schedule {name} runs ECS tasks through a universal target whose input names no TaskDefinition"),
                retryable: false,
            }),
        }
}

/// Marks what the targets use: the revision each runs (a family alone means its latest active
/// revision), and the cluster each runs in.
pub(super) fn apply(resources: &mut [Resource], targets: &[EcsTarget]) {
    let mut latest: HashMap<String, i64> = HashMap::new();
    for r in resources.iter() {
        if let Facts::EcsTaskDefinition {
            family,
            revision,
            active: true,
            ..
        } = &r.facts
        {
            let best = latest.entry(family.clone()).or_default();
            *best = (*best).max(*revision);
        }
    }
    for r in resources.iter_mut() {
        let arn = r.arn.clone();
        match &mut r.facts {
            Facts::EcsTaskDefinition {
                family,
                revision,
                in_use,
                ..
            } => {
                let named = format!("{family}:{revision}");
                let is_latest = latest.get(family.as_str()) == Some(revision);
                *in_use |= targets
                    .iter()
                    .filter_map(|t| t.task_definition.as_deref())
                    .any(|td| {
                        // arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY[:REVISION], or FAMILY[:REVISION]
                        let tail = td.rsplit('/').next().unwrap_or(td);
                        td == arn || tail == named || (tail == family.as_str() && is_latest)
                    });
            }
            Facts::EcsCluster { scheduled_by, .. } => {
                let name = r.name.as_str();
                scheduled_by.extend(
                    targets
                        .iter()
                        .filter(|t| t.cluster == arn || t.cluster == name)
                        .map(|t| t.rule.clone()),
                );
                scheduled_by.sort();
                scheduled_by.dedup();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn td(family: &str, revision: i64) -> Resource {
        super::super::resource(
            "us-east-1",
            Kind::EcsTaskDefinition,
            format!("arn:aws:ecs:us-east-1:1:task-definition/{family}:{revision}"),
            format!("{family}:{revision}"),
            None,
            HashMap::new(),
            Facts::EcsTaskDefinition {
                family: family.into(),
                revision,
                active: true,
                in_use: false,
                newer_revisions: 0,
            },
        )
    }

    fn in_use(r: &Resource) -> bool {
        matches!(r.facts, Facts::EcsTaskDefinition { in_use: true, .. })
    }

    #[test]
    fn a_target_uses_the_revision_it_names_or_the_latest_of_its_family_and_its_cluster() {
        let mut rs = vec![
            td("report", 1),
            td("report", 2),
            td("report", 3),
            td("batch", 7),
            td("batch", 8),
        ];
        rs.push(super::super::resource(
            "us-east-1",
            Kind::EcsCluster,
            "arn:aws:ecs:us-east-1:1:cluster/jobs".into(),
            "jobs".into(),
            None,
            HashMap::new(),
            Facts::EcsCluster {
                services: 0,
                running_tasks: 0,
                pending_tasks: 0,
                instances: 0,
                scheduled_by: Vec::new(),
            },
        ));
        let targets = vec![
            EcsTarget {
                rule: "nightly".into(),
                cluster: "arn:aws:ecs:us-east-1:1:cluster/jobs".into(),
                task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/report:1".into()),
            },
            EcsTarget {
                rule: "hourly".into(),
                cluster: "arn:aws:ecs:us-east-1:1:cluster/other".into(),
                task_definition: Some("batch".into()),
            },
        ];
        apply(&mut rs, &targets);
        let used: Vec<&str> = rs.iter().filter(|r| in_use(r)).map(|r| r.name.as_str()).collect();
        assert_eq!(used, vec!["report:1", "batch:8"]);
        assert!(
            matches!(&rs[5].facts, Facts::EcsCluster { scheduled_by, .. } if scheduled_by == &vec!["nightly".to_string()])
        );
    }
}
