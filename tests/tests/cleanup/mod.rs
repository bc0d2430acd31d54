#![allow(dead_code)] // Each test binary uses its own part of these helpers.

//! What the cleanup-scanner tests share: the function with the stack's reports topic, reading its
//! report, and seeding unused topics in regions of their own.

use ops_tests::lambda::Function;
use ops_tests::{unique, Stack};
use serde_json::{json, Value};

pub const ACCOUNT: &str = "123456789012";

/// The stack's AWS configuration in `region`.
pub async fn regional(stack: &Stack, region: &str) -> aws_config::SdkConfig {
    stack
        .aws()
        .await
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

/// Creates a cluster named after `name`; its ARN.
pub async fn create_cluster(ecs: &aws_sdk_ecs::Client, name: &str) -> String {
    ecs.create_cluster()
        .cluster_name(unique(name))
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap()
        .cluster_arn
        .unwrap()
}

/// Creates an EventBridge Scheduler schedule named after `name` with `target`, whenever it runs.
pub async fn create_schedule(
    aws: &aws_config::SdkConfig,
    name: &str,
    target: aws_sdk_scheduler::types::Target,
) {
    aws_sdk_scheduler::Client::new(aws)
        .create_schedule()
        .name(unique(name))
        .schedule_expression("rate(1 hour)")
        .flexible_time_window(
            aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(target)
        .send()
        .await
        .unwrap();
}

/// Registers `count` revisions of `family` (one small container); their ARNs, oldest first.
pub async fn register_revisions(ecs: &aws_sdk_ecs::Client, family: &str, count: usize) -> Vec<String> {
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("busybox")
        .memory(128)
        .build();
    let mut arns = Vec::new();
    for _ in 0..count {
        arns.push(
            ecs.register_task_definition()
                .family(family)
                .container_definitions(container.clone())
                .send()
                .await
                .unwrap()
                .task_definition
                .unwrap()
                .task_definition_arn
                .unwrap(),
        );
    }
    arns
}

pub fn scanner(stack_topic: &str, extra: &[(&str, &str)]) -> Function {
    let mut env = vec![("REPORT_TOPIC_ARN", stack_topic), ("CLEANUP_MAX_PERCENT", "100")];
    env.extend_from_slice(extra);
    Function::start("cleanup-scanner", &env)
}

pub fn rule<'a>(report: &'a Value, name: &str) -> &'a Value {
    &report["regions"][0]["rules"][name]
}

/// The ARNs a rule listed under `list` (candidates or protected) that contain `part`.
pub fn listed(report: &Value, name: &str, list: &str, part: &str) -> Vec<String> {
    rule(report, name)[list]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| c["arn"].as_str())
                .filter(|a| a.contains(part))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// What SNS delivered to a topic in moto: its messages, newest last.
pub async fn delivered(stack: &Stack, topic: &str) -> Vec<String> {
    let data = stack.moto_data().await;
    data["sns"]["Topic"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["arn"] == topic))
        .and_then(|t| t["sent_notifications"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|n| n.to_string())
        .collect()
}

/// Three unused topics in each of two regions of their own.
pub async fn unused_topics(stack: &Stack, regions: &[&str]) -> Vec<String> {
    let mut arns = Vec::new();
    for region in regions {
        let sns = aws_sdk_sns::Client::new(&regional(stack, region).await);
        for _ in 0..3 {
            arns.push(
                sns.create_topic()
                    .name(unique("idle"))
                    .send()
                    .await
                    .unwrap()
                    .topic_arn
                    .unwrap(),
            );
        }
    }
    arns
}

pub fn topics_event(mode: &str, regions: &[&str], max_actions: u64) -> Value {
    json!({"mode": mode, "regions": regions, "max_actions": max_actions,
           "rules": {"ecs-service-idle": {"enabled": false}, "ecs-cluster-empty": {"enabled": false},
                     "ecs-task-definition-stale": {"enabled": false}, "ecs-task-definition-inactive": {"enabled": false}, "secret-unused": {"enabled": false},
                     "alarm-stale": {"enabled": false}, "alarm-orphaned-action": {"enabled": false},
                     "log-group-stale": {"enabled": false}, "log-group-no-retention": {"enabled": false}}})
}
