//! cleanup-scanner under the conditions a review named: a resource a CloudFormation stack owns, a
//! Tagging API that lags behind a protect tag, a cluster and a revision only a schedule uses, and a
//! second account reached through STS. Each seeds a region of its own in moto.

mod cleanup;

use aws_sdk_sns::types::Tag;
use cleanup::{
    create_cluster, create_schedule, listed, regional, register_revisions, scanner, topics_event,
    unused_topics, ACCOUNT,
};
use ops_tests::faults::access_key;
use ops_tests::{unique, Stack};
use serde_json::{json, Value};

const MARK: &str = "ops-lambdas:cleanup-marked";
const ALLOWED: (&str, &str) = ("CLEANUP_ALLOWED_ACCOUNTS", ACCOUNT);

async fn sns(stack: &Stack, region: &str) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&regional(stack, region).await)
}

async fn tag(sns: &aws_sdk_sns::Client, arn: &str, key: &str, value: &str) {
    sns.tag_resource()
        .resource_arn(arn)
        .tags(Tag::builder().key(key).value(value).build().unwrap())
        .send()
        .await
        .unwrap();
}

async fn marked(sns: &aws_sdk_sns::Client, arn: &str) -> bool {
    sns.list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .any(|t| t.key() == MARK)
}

/// The status the report gave `arn` under sns-topic-unused's `list`, in any region.
fn status(report: &Value, list: &str, arn: &str) -> Option<String> {
    report["regions"].as_array()?.iter().find_map(|r| {
        r["rules"]["sns-topic-unused"][list]
            .as_array()?
            .iter()
            .find(|l| l["arn"] == arn)
            .and_then(|l| l["status"].as_str().map(str::to_string))
    })
}

/// A topic CloudFormation made (AWS sets `aws:cloudformation:*` itself; moto lets a test set it)
/// is reported with its stack and never marked, so it can never be deleted under the stack.
#[tokio::test]
async fn a_resource_of_a_cloudformation_stack_is_never_marked() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let region = "ap-south-1";
    let made = unused_topics(&stack, &[region]).await;
    let sns = sns(&stack, region).await;
    let owned = &made[0];
    tag(
        &sns,
        owned,
        "aws:cloudformation:stack-id",
        &format!(
            "arn:aws:cloudformation:{region}:{ACCOUNT}:stack/payments/5f0c2a10-0000-4000-8000-000000000001"
        ),
    )
    .await;
    let f = scanner(&reports, &[ALLOWED, ("CLEANUP_GRACE", "0s")]);
    let inv = f.invoke_json(&topics_event("mark", &[region], 50));
    let report = inv.json();
    assert!(
        !marked(&sns, owned).await,
        "the stack's topic was marked: {report}"
    );
    assert!(marked(&sns, &made[1]).await, "a plain unused topic is marked");
    let why = status(&report, "protected", owned).unwrap_or_default();
    assert!(why.contains("owned by CloudFormation stack payments"), "{report}");

    let done = f.invoke_json(&topics_event("delete", &[region], 50)).json();
    let topics: Vec<String> = sns
        .list_topics()
        .send()
        .await
        .unwrap()
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn().map(str::to_string))
        .collect();
    assert!(topics.contains(owned), "{done}");
    assert!(!topics.contains(&made[1]), "the marked plain topic went: {done}");
}

/// The scan reads tags in bulk from the Tagging API, which is eventually consistent. Here it lags
/// (the proxy answers it with no tags, as it would just after a protect tag was set): the protect
/// tag is seen when the tags are re-read from SNS before marking, and nothing is marked.
#[tokio::test]
async fn a_protect_tag_the_tagging_api_has_not_seen_yet_still_protects() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let region = "ap-southeast-1";
    let made = unused_topics(&stack, &[region]).await;
    let sns = sns(&stack, region).await;
    tag(&sns, &made[0], "ops-lambdas:protect", "true").await;
    let key = access_key();
    stack
        .faults()
        .answer(
            json!({"operation": "tagging:GetResources", "access_key": key, "region": region,
                       "body": "{\"PaginationToken\":\"\",\"ResourceTagMappingList\":[]}"}),
        )
        .await;
    let f = scanner(&reports, &[ALLOWED, ("AWS_ACCESS_KEY_ID", key.as_str())]);
    let report = f.invoke_json(&topics_event("mark", &[region], 50)).json();
    assert!(!marked(&sns, &made[0]).await, "{report}");
    let why = status(&report, "protected", &made[0]).unwrap_or_default();
    assert!(why.contains("seen when its tags were re-read"), "{report}");
    assert!(marked(&sns, &made[1]).await, "the others are marked: {report}");
}

/// A cluster and task-definition revisions that only schedules run are in use: one revision pinned
/// by an EventBridge rule, another by an EventBridge Scheduler schedule (the ECS console's scheduled
/// tasks are one or the other). Neither they nor the cluster is a candidate; an unused old revision is.
#[tokio::test]
async fn a_cluster_and_a_revision_only_a_schedule_runs_are_in_use() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let region = "eu-north-1";
    let aws = regional(&stack, region).await;
    let ecs = aws_sdk_ecs::Client::new(&aws);
    let cluster = create_cluster(&ecs, "jobs").await;
    let family = unique("nightly");
    let revisions = register_revisions(&ecs, &family, 8).await;
    let events = aws_sdk_eventbridge::Client::new(&aws);
    let rule = unique("nightly-report");
    events
        .put_rule()
        .name(&rule)
        .schedule_expression("cron(0 3 * * ? *)")
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("run-report")
                .arn(&cluster)
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/ecsEventsRole"))
                .ecs_parameters(
                    aws_sdk_eventbridge::types::EcsParameters::builder()
                        .task_definition_arn(&revisions[0])
                        .task_count(1)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    create_schedule(
        &aws,
        "weekly-export",
        aws_sdk_scheduler::types::Target::builder()
            .arn(&cluster)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/scheduler"))
            .ecs_parameters(
                aws_sdk_scheduler::types::EcsParameters::builder()
                    .task_definition_arn(&revisions[1])
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    )
    .await;
    let f = scanner(&reports, &[]);
    let event = json!({"mode": "report", "regions": [region],
                       "rules": {"ecs-cluster-empty": {"min_age_days": 0}}});
    let report = f.invoke_json(&event).json();
    assert!(
        listed(&report, "ecs-cluster-empty", "candidates", &cluster).is_empty(),
        "a cluster a schedule runs tasks in is in use: {report}"
    );
    let stale = listed(
        &report,
        "ecs-task-definition-stale",
        "candidates",
        &format!("/{family}:"),
    );
    assert_eq!(
        stale,
        vec![revisions[2].clone()],
        "revisions 1 and 2 are scheduled, 3 is not (4 to 8 are the newest five): {report}"
    );
}

/// A second account, reached by assuming a role through STS (moto switches accounts on the
/// assumed role's credentials), appears in the same report as the scanner's own.
#[tokio::test]
async fn two_accounts_appear_in_one_report() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let region = "me-south-1";
    let other = "111111111111";
    let role = format!("arn:aws:iam::{other}:role/ops-lambdas-cleanup");
    let home = unused_topics(&stack, &[region]).await;
    let sts = aws_sdk_sts::Client::new(&stack.aws().await);
    let creds = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("seed")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let theirs = stack
        .aws()
        .await
        .to_builder()
        .region(aws_config::Region::new(region))
        .credentials_provider(aws_sdk_sns::config::SharedCredentialsProvider::new(
            aws_sdk_sns::config::Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_string()),
                None,
                "assumed",
            ),
        ))
        .build();
    let their_topic = aws_sdk_sns::Client::new(&theirs)
        .create_topic()
        .name(unique("idle-elsewhere"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    assert!(
        their_topic.contains(other),
        "moto put it in the other account: {their_topic}"
    );

    let external_id = "ext-7f3a-never-logged";
    let accounts = format!("{role}|{external_id}");
    let f = scanner(&reports, &[("CLEANUP_ACCOUNTS", accounts.as_str()), ALLOWED]);
    let inv = f.invoke_json(&topics_event("report", &[region], 50));
    let report = inv.json();
    assert_eq!(report["accounts"], json!([ACCOUNT, other]), "{report}");
    let found = |account: &str, arn: &str| {
        report["regions"].as_array().unwrap().iter().any(|r| {
            r["account"] == account
                && r["rules"]["sns-topic-unused"]["candidates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["arn"] == arn)
        })
    };
    assert!(found(ACCOUNT, &home[0]), "{report}");
    assert!(found(other, &their_topic), "{report}");
    let text = report["text"].as_str().unwrap();
    assert!(text.contains(&format!("{region}, account {other}")), "{text}");
    assert!(
        !inv.output.contains(external_id) && !f.logs().contains(external_id),
        "the external id leaked"
    );

    // Marking needs the account on the allowlist: the other one is not, so it is reported only
    // (its topic stays unmarked) while the scanner's own account is marked.
    let after = f.invoke_json(&topics_event("mark", &[region], 50)).json();
    assert!(marked(&sns(&stack, region).await, &home[0]).await, "{after}");
    assert!(
        !marked(&aws_sdk_sns::Client::new(&theirs), &their_topic).await,
        "{after}"
    );
    assert!(
        after["text"]
            .as_str()
            .unwrap()
            .contains(&format!("account {other} is not in CLEANUP_ALLOWED_ACCOUNTS")),
        "{after}"
    );
    assert!(!f.logs().contains(external_id));
}

/// A schedule whose universal ECS target (`aws-sdk:ecs:runTask`) names no task definition could run
/// any revision: the region's task definitions are then reported, never marked.
#[tokio::test]
async fn an_unreadable_schedule_target_leaves_every_revision_alone() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let region = "af-south-1";
    let aws = regional(&stack, region).await;
    let family = unique("batch");
    register_revisions(&aws_sdk_ecs::Client::new(&aws), &family, 7).await;
    create_schedule(
        &aws,
        "opaque",
        aws_sdk_scheduler::types::Target::builder()
            .arn("arn:aws:scheduler:::aws-sdk:ecs:runTask")
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/scheduler"))
            .input(r#"{"Cluster": "jobs"}"#)
            .build()
            .unwrap(),
    )
    .await;
    let f = scanner(&reports, &[ALLOWED]);
    let report = f
        .invoke_json(&json!({"mode": "mark", "regions": [region]}))
        .json();
    let stale = &report["regions"][0]["rules"]["ecs-task-definition-stale"];
    assert_eq!(stale["candidates"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(stale["marked"], 0, "nothing marked: {report}");
    assert!(
        report["text"]
            .as_str()
            .unwrap()
            .contains("names no TaskDefinition"),
        "{report}"
    );
}
