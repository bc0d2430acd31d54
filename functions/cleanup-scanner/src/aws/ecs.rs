//! ECS: clusters, services and task-definition revisions; their tags, marks and removal.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicUsize;

use aws_sdk_ecs::types::{ClusterField, ServiceField, Tag, TaskDefinitionStatus};
use aws_sdk_ecs::Client;

use super::{not_applicable, resource, time};
use crate::error::CleanupError;
use crate::model::{Action, Candidate, Facts, Kind, Resource};

fn tag_map(tags: &[Tag]) -> HashMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

/// Clusters and services with their tags (their describes carry them); task definitions without
/// (the Tagging API reads those in bulk). `in_use` counts the revisions services run; EventBridge's
/// are added later.
pub(super) async fn scan(ecs: &Client, n: &AtomicUsize, region: &str) -> Result<Vec<Resource>, CleanupError> {
    let mut out = Vec::new();
    let mut clusters = Vec::new();
    let mut pages = ecs.list_clusters().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = counted!(n, "ecs:ListClusters", page)?;
        clusters.extend(page.cluster_arns().iter().cloned());
    }
    let mut in_use = HashSet::new();
    for batch in clusters.chunks(100) {
        let described = aws!(
            n,
            "ecs:DescribeClusters",
            ecs.describe_clusters()
                .set_clusters(Some(batch.to_vec()))
                .include(ClusterField::Tags)
        )?;
        for c in described.clusters() {
            out.push(resource(
                region,
                Kind::EcsCluster,
                c.cluster_arn().unwrap_or_default().to_string(),
                c.cluster_name().unwrap_or_default().to_string(),
                None,
                tag_map(c.tags()),
                Facts::EcsCluster {
                    services: c.active_services_count() as i64,
                    running_tasks: c.running_tasks_count() as i64,
                    pending_tasks: c.pending_tasks_count() as i64,
                    instances: c.registered_container_instances_count() as i64,
                    scheduled_by: Vec::new(),
                },
            ));
        }
    }
    for cluster in &clusters {
        let mut services = Vec::new();
        let mut pages = ecs
            .list_services()
            .cluster(cluster)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = counted!(n, "ecs:ListServices", page)?;
            services.extend(page.service_arns().iter().cloned());
        }
        for batch in services.chunks(10) {
            let described = aws!(
                n,
                "ecs:DescribeServices",
                ecs.describe_services()
                    .cluster(cluster)
                    .set_services(Some(batch.to_vec()))
                    .include(ServiceField::Tags)
            )?;
            for s in described.services() {
                // A deleted service lingers as DRAINING, then INACTIVE: it is already going.
                if matches!(s.status(), Some("INACTIVE" | "DRAINING")) {
                    continue;
                }
                in_use.extend(s.task_definition().map(str::to_string));
                in_use.extend(
                    s.deployments()
                        .iter()
                        .filter_map(|d| d.task_definition().map(str::to_string)),
                );
                let last_change = s
                    .deployments()
                    .iter()
                    .filter_map(|d| d.updated_at().and_then(time))
                    .max();
                out.push(resource(
                    region,
                    Kind::EcsService,
                    s.service_arn().unwrap_or_default().to_string(),
                    s.service_name().unwrap_or_default().to_string(),
                    s.created_at().and_then(time),
                    tag_map(s.tags()),
                    Facts::EcsService {
                        cluster: cluster.clone(),
                        desired: s.desired_count() as i64,
                        running: s.running_count() as i64,
                        last_change,
                    },
                ));
            }
        }
    }
    for (status, active) in [
        (TaskDefinitionStatus::Active, true),
        (TaskDefinitionStatus::Inactive, false),
    ] {
        let mut arns = Vec::new();
        let mut pages = ecs
            .list_task_definitions()
            .status(status.clone())
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = counted!(n, "ecs:ListTaskDefinitions", page)?;
            arns.extend(page.task_definition_arns().iter().cloned());
        }
        let mut families: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
        for arn in arns {
            let tail = arn.rsplit('/').next().unwrap_or_default();
            let (family, revision) = tail.rsplit_once(':').unwrap_or((tail, "0"));
            families
                .entry(family.to_string())
                .or_default()
                .push((revision.parse().unwrap_or(0), arn.clone()));
        }
        for (family, mut revisions) in families {
            revisions.sort();
            let count = revisions.len();
            for (i, (revision, arn)) in revisions.into_iter().enumerate() {
                out.push(resource(
                    region,
                    Kind::EcsTaskDefinition,
                    arn.clone(),
                    format!("{family}:{revision}"),
                    None,
                    HashMap::new(),
                    Facts::EcsTaskDefinition {
                        family: family.clone(),
                        revision,
                        active,
                        in_use: in_use.contains(&arn),
                        newer_revisions: count - i - 1,
                    },
                ));
            }
        }
    }
    Ok(out)
}

pub(super) async fn tags(
    ecs: &Client,
    n: &AtomicUsize,
    arn: &str,
) -> Result<HashMap<String, String>, String> {
    let out = read!(n, ecs.list_tags_for_resource().resource_arn(arn).send())?;
    Ok(tag_map(out.tags()))
}

pub(super) async fn set_tag(
    ecs: &Client,
    n: &AtomicUsize,
    arn: &str,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let tag = Tag::builder().key(key).value(value).build();
    change!(n, ecs.tag_resource().resource_arn(arn).tags(tag).send())
}

pub(super) async fn remove_tag(ecs: &Client, n: &AtomicUsize, arn: &str, key: &str) -> Result<(), String> {
    change!(n, ecs.untag_resource().resource_arn(arn).tag_keys(key).send())
}

pub(super) async fn act(ecs: &Client, n: &AtomicUsize, c: &Candidate) -> Result<(), String> {
    let arn = &c.resource.arn;
    match (&c.resource.facts, &c.action) {
        (Facts::EcsService { cluster, .. }, Action::Delete) => {
            change!(n, ecs.delete_service().cluster(cluster).service(arn).send())
        }
        (Facts::EcsTaskDefinition { .. }, Action::Deregister) => {
            change!(n, ecs.deregister_task_definition().task_definition(arn).send())
        }
        (Facts::EcsTaskDefinition { .. }, Action::Delete) => {
            // Failures come back inside a successful answer.
            let out = read!(n, ecs.delete_task_definitions().task_definitions(arn).send())?;
            match out.failures().first() {
                Some(f) => Err(format!(
                    "ECS refused: {} {}",
                    f.reason().unwrap_or("(no reason)"),
                    f.detail().unwrap_or("")
                )),
                None => Ok(()),
            }
        }
        (Facts::EcsCluster { .. }, Action::Delete) => change!(n, ecs.delete_cluster().cluster(arn).send()),
        _ => not_applicable(c),
    }
}

/// What it takes to recreate a service, a cluster or a task-definition revision. A revision's
/// environment values, command arguments and non-`awslogs-` log options are left out (they often
/// hold credentials, and the report is mailed and logged); environment names are kept, and
/// `secrets` are references (`valueFrom`), kept whole.
pub(super) async fn snapshot(
    ecs: &Client,
    n: &AtomicUsize,
    c: &Candidate,
) -> Result<serde_json::Value, String> {
    use serde_json::json;
    let arn = &c.resource.arn;
    match &c.resource.facts {
        Facts::EcsService { cluster, .. } => {
            let out = read!(n, ecs.describe_services().cluster(cluster).services(arn).send())?;
            let s = out
                .services()
                .first()
                .ok_or_else(|| format!("service {arn} is no longer there"))?;
            Ok(json!({
                "cluster": cluster,
                "serviceName": s.service_name(),
                "taskDefinition": s.task_definition(),
                "desiredCount": s.desired_count(),
                "launchType": s.launch_type().map(|l| l.as_str()),
                "platformVersion": s.platform_version(),
                "schedulingStrategy": s.scheduling_strategy().map(|x| x.as_str()),
                "capacityProviderStrategy": s.capacity_provider_strategy().iter().map(|p| json!({
                    "capacityProvider": p.capacity_provider(), "weight": p.weight(), "base": p.base(),
                })).collect::<Vec<_>>(),
                "loadBalancers": s.load_balancers().iter().map(|l| json!({
                    "targetGroupArn": l.target_group_arn(), "loadBalancerName": l.load_balancer_name(),
                    "containerName": l.container_name(), "containerPort": l.container_port(),
                })).collect::<Vec<_>>(),
                "serviceRegistries": s.service_registries().iter().map(|r| r.registry_arn()).collect::<Vec<_>>(),
                "networkConfiguration": s.network_configuration().and_then(|n| n.awsvpc_configuration()).map(|v| json!({
                    "subnets": v.subnets(), "securityGroups": v.security_groups(),
                    "assignPublicIp": v.assign_public_ip().map(|a| a.as_str()),
                })),
                "deploymentConfiguration": s.deployment_configuration().map(|d| json!({
                    "minimumHealthyPercent": d.minimum_healthy_percent(), "maximumPercent": d.maximum_percent(),
                })),
                "healthCheckGracePeriodSeconds": s.health_check_grace_period_seconds(),
                "enableExecuteCommand": s.enable_execute_command(),
                "propagateTags": s.propagate_tags().map(|p| p.as_str()),
            }))
        }
        Facts::EcsCluster { .. } => {
            let out = read!(
                n,
                ecs.describe_clusters()
                    .clusters(arn)
                    .include(ClusterField::Settings)
                    .send()
            )?;
            let k = out
                .clusters()
                .first()
                .ok_or_else(|| format!("cluster {arn} is no longer there"))?;
            Ok(json!({
                "clusterName": k.cluster_name(),
                "settings": k.settings().iter().map(|s| json!({
                    "name": s.name().map(|x| x.as_str()), "value": s.value(),
                })).collect::<Vec<_>>(),
                "capacityProviders": k.capacity_providers(),
                "defaultCapacityProviderStrategy": k.default_capacity_provider_strategy().iter().map(|p| json!({
                    "capacityProvider": p.capacity_provider(), "weight": p.weight(), "base": p.base(),
                })).collect::<Vec<_>>(),
            }))
        }
        Facts::EcsTaskDefinition { .. } => {
            let out = read!(n, ecs.describe_task_definition().task_definition(arn).send())?;
            let t = out
                .task_definition()
                .ok_or_else(|| format!("task definition {arn} is no longer there"))?;
            let containers: Vec<serde_json::Value> = t
                .container_definitions()
                .iter()
                .map(|d| {
                    json!({
                        "name": d.name(),
                        "image": d.image(),
                        "cpu": d.cpu(),
                        "memory": d.memory(),
                        "memoryReservation": d.memory_reservation(),
                        "essential": d.essential(),
                        // Commands and log options often carry tokens: their shape, not their values.
                        "commandArguments": d.command().len(),
                        "entryPointArguments": d.entry_point().len(),
                        "workingDirectory": d.working_directory(),
                        "user": d.user(),
                        "portMappings": d.port_mappings().iter().map(|p| json!({
                            "containerPort": p.container_port(), "hostPort": p.host_port(),
                            "protocol": p.protocol().map(|x| x.as_str()), "name": p.name(),
                        })).collect::<Vec<_>>(),
                        "environmentNames": d.environment().iter().filter_map(|e| e.name()).collect::<Vec<_>>(),
                        "secrets": d.secrets().iter().map(|s| json!({"name": s.name(), "valueFrom": s.value_from()})).collect::<Vec<_>>(),
                        "logConfiguration": d.log_configuration().map(|l| json!({
                            "logDriver": l.log_driver().as_str(),
                            "options": l.options().map(|o| o.iter().map(|(k, v)| {
                                let shown = if k.starts_with("awslogs-") { v.clone() } else { "(withheld)".to_string() };
                                (k.clone(), shown)
                            }).collect::<std::collections::BTreeMap<_, _>>()),
                        })),
                        "healthCheck": d.health_check().map(|h| json!({
                            "commandArguments": h.command().len(), "interval": h.interval(), "timeout": h.timeout(),
                            "retries": h.retries(), "startPeriod": h.start_period(),
                        })),
                    })
                })
                .collect();
            Ok(json!({
                "family": t.family(),
                "revision": t.revision(),
                "taskRoleArn": t.task_role_arn(),
                "executionRoleArn": t.execution_role_arn(),
                "networkMode": t.network_mode().map(|m| m.as_str()),
                "cpu": t.cpu(),
                "memory": t.memory(),
                "requiresCompatibilities": t.requires_compatibilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "runtimePlatform": t.runtime_platform().map(|p| json!({
                    "cpuArchitecture": p.cpu_architecture().map(|a| a.as_str()),
                    "operatingSystemFamily": p.operating_system_family().map(|o| o.as_str()),
                })),
                "volumes": t.volumes().iter().map(|v| v.name()).collect::<Vec<_>>(),
                "containerDefinitions": containers,
                "withheld": "environment values, command and entry point arguments, and log options other than awslogs-*: they often hold credentials, and the report is mailed; read them from the revision while it exists",
            }))
        }
        _ => Err(format!("{:?} is not an ECS resource", c.resource.kind)),
    }
}
