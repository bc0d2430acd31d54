//! cleanup-scanner through `cargo lambda invoke` over a seeded account in moto: report changes
//! nothing, mark tags, delete waits for the grace period, then (time moved by configuration, not by
//! sleeping) removes exactly what is safe. The account is seeded in a region of its own so the
//! scan sees only what this test made.

mod cleanup;

use cleanup::{
    create_cluster, delivered, listed, regional, register_revisions, rule, scanner, topics_event,
    unused_topics,
};
use ops_tests::faults::access_key;
use ops_tests::{unique, Stack};
use serde_json::{json, Value};

const REGION: &str = "eu-west-3";
const MARK: &str = "ops-lambdas:cleanup-marked";

struct Seeded {
    lonely_topic: String,
    heard_topic: String,
    protected_topic: String,
    secret: String,
    empty_cluster: String,
    apps_cluster: String,
    family: String,
    stale_alarm: String,
    orphaned_alarm: String,
    log_group: String,
}

async fn seed(stack: &Stack) -> Seeded {
    let aws = regional(stack, REGION).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let topic = |name: &str| {
        sns.create_topic()
            .name(format!("{}-{name}", unique("cleanup")))
            .send()
    };
    let lonely_topic = topic("lonely").await.unwrap().topic_arn.unwrap();
    let heard_topic = topic("heard").await.unwrap().topic_arn.unwrap();
    sns.subscribe()
        .topic_arn(&heard_topic)
        .protocol("email")
        .endpoint("oncall@example.com")
        .send()
        .await
        .unwrap();
    let protected_topic = topic("keep").await.unwrap().topic_arn.unwrap();
    let tag = aws_sdk_sns::types::Tag::builder()
        .key("ops-lambdas:protect")
        .value("true")
        .build()
        .unwrap();
    sns.tag_resource()
        .resource_arn(&protected_topic)
        .tags(tag)
        .send()
        .await
        .unwrap();

    let sm = aws_sdk_secretsmanager::Client::new(&aws);
    let secret = sm
        .create_secret()
        .name(unique("cleanup-unused"))
        .secret_string("nobody-reads-this")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();

    let logs = aws_sdk_cloudwatchlogs::Client::new(&aws);
    let log_group = unique("/cleanup/no-retention");
    logs.create_log_group()
        .log_group_name(&log_group)
        .send()
        .await
        .unwrap();

    let ecs = aws_sdk_ecs::Client::new(&aws);
    let empty_cluster = create_cluster(&ecs, "empty").await;
    let apps_cluster = create_cluster(&ecs, "apps").await;
    let cw = aws_sdk_cloudwatch::Client::new(&aws);
    let (stale_alarm, orphaned_alarm) = (unique("stale"), unique("orphaned"));
    for (name, action) in [
        (&stale_alarm, None),
        (
            &orphaned_alarm,
            Some("arn:aws:sns:eu-west-3:123456789012:no-such-topic"),
        ),
    ] {
        cw.put_metric_alarm()
            .alarm_name(name)
            .namespace("Gone")
            .metric_name("Nothing")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
            .set_alarm_actions(action.map(|a| vec![a.to_string()]))
            .send()
            .await
            .unwrap();
    }
    cw.set_alarm_state()
        .alarm_name(&stale_alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::InsufficientData)
        .state_reason("no data")
        .send()
        .await
        .unwrap();

    let family = unique("web");
    let latest = register_revisions(&ecs, &family, 7).await.pop().unwrap();
    ecs.create_service()
        .cluster(&apps_cluster)
        .service_name("idle")
        .task_definition(&latest)
        .desired_count(0)
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster(&apps_cluster)
        .service_name("busy")
        .task_definition(&latest)
        .desired_count(0)
        .send()
        .await
        .unwrap();
    ecs.update_service()
        .cluster(&apps_cluster)
        .service("busy")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    Seeded {
        lonely_topic,
        heard_topic,
        protected_topic,
        secret,
        empty_cluster,
        apps_cluster,
        family,
        stale_alarm,
        orphaned_alarm,
        log_group,
    }
}

fn event(mode: &str) -> Value {
    json!({
        "mode": mode,
        "regions": [REGION],
        "rules": {
            "ecs-service-idle": {"idle_days": 0},
            "ecs-cluster-empty": {"min_age_days": 0},
            "secret-unused": {"days": 0},
            "alarm-stale": {"days": 0},
            "log-group-stale": {"days": 3650}
        },
        "max_actions": 50
    })
}

async fn topics(stack: &Stack) -> Vec<String> {
    let sns = aws_sdk_sns::Client::new(&regional(stack, REGION).await);
    sns.list_topics()
        .send()
        .await
        .unwrap()
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn().map(str::to_string))
        .collect()
}

async fn topic_marked(stack: &Stack, arn: &str) -> bool {
    let sns = aws_sdk_sns::Client::new(&regional(stack, REGION).await);
    sns.list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .any(|t| t.key() == MARK)
}

#[tokio::test]
async fn report_then_mark_then_delete_after_the_grace_period_removes_only_what_is_safe() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let seeded = seed(&stack).await;
    let allowed = [("CLEANUP_ALLOWED_ACCOUNTS", "123456789012")];

    // report: lists, changes nothing.
    let f = scanner(&reports, &allowed);
    let report = f.invoke_json(&event("report")).json();
    assert_eq!(
        listed(&report, "sns-topic-unused", "candidates", &seeded.lonely_topic),
        vec![seeded.lonely_topic.clone()],
        "{report}"
    );
    assert!(listed(&report, "sns-topic-unused", "candidates", &seeded.heard_topic).is_empty());
    assert!(listed(&report, "sns-topic-unused", "candidates", &seeded.protected_topic).is_empty());
    assert_eq!(
        listed(&report, "sns-topic-unused", "protected", &seeded.protected_topic).len(),
        1
    );
    assert_eq!(
        listed(&report, "secret-unused", "candidates", &seeded.secret).len(),
        1
    );
    assert_eq!(
        listed(&report, "log-group-no-retention", "candidates", &seeded.log_group).len(),
        1
    );
    assert_eq!(
        listed(&report, "ecs-cluster-empty", "candidates", &seeded.empty_cluster).len(),
        1
    );
    assert_eq!(
        listed(
            &report,
            "ecs-service-idle",
            "candidates",
            &seeded.apps_cluster.replace(":cluster/", ":service/")
        )
        .len(),
        1
    );
    assert_eq!(
        listed(&report, "alarm-stale", "candidates", &seeded.stale_alarm).len(),
        1
    );
    assert_eq!(
        listed(
            &report,
            "alarm-orphaned-action",
            "candidates",
            &seeded.orphaned_alarm
        )
        .len(),
        1
    );
    let stale = listed(
        &report,
        "ecs-task-definition-stale",
        "candidates",
        &format!("/{}:", seeded.family),
    );
    assert_eq!(stale.len(), 2, "revisions 1 and 2 of 7: {stale:?}");
    assert!(report["regions"][0]["aws_requests"].as_u64().unwrap() > 0);
    assert!(report["text"]
        .as_str()
        .unwrap()
        .contains("Cleanup scan in report mode"));
    assert!(
        !topic_marked(&stack, &seeded.lonely_topic).await,
        "report mode changes nothing"
    );

    // mark and delete refuse an account that is not allowed.
    let outsider = scanner(&reports, &[]);
    let refused = outsider.invoke_json(&event("mark"));
    assert!(
        !refused.ok && refused.error.contains("CLEANUP_ALLOWED_ACCOUNTS"),
        "{}",
        refused.error
    );
    drop(outsider);

    // mark: tags the candidates, never the protected.
    let marked = f.invoke_json(&event("mark")).json();
    assert!(rule(&marked, "sns-topic-unused")["marked"].as_u64().unwrap() >= 1);
    assert!(topic_marked(&stack, &seeded.lonely_topic).await);
    assert!(!topic_marked(&stack, &seeded.protected_topic).await);

    // delete inside the grace period (7d by default): nothing happens.
    let early = f.invoke_json(&event("delete")).json();
    assert!(
        early["regions"][0]["actions"].as_array().unwrap().is_empty(),
        "{early}"
    );
    assert!(topics(&stack).await.contains(&seeded.lonely_topic));
    drop(f);

    // Time moved by configuration: a grace of 0s makes today's marks old enough.
    let later = scanner(&reports, &[allowed[0], ("CLEANUP_GRACE", "0s")]);
    let done = later.invoke_json(&event("delete")).json();
    let actions = done["regions"][0]["actions"].as_array().unwrap().clone();
    let acted: Vec<&str> = actions
        .iter()
        .filter(|a| a["ok"] == true)
        .filter_map(|a| a["arn"].as_str())
        .collect();
    assert!(acted.contains(&seeded.lonely_topic.as_str()), "{actions:?}");
    assert!(acted.contains(&seeded.secret.as_str()));
    assert!(acted.contains(&seeded.empty_cluster.as_str()));
    // Each removal kept what it takes to recreate the resource, first; never a secret's value.
    let configuration = |arn: &str| {
        actions
            .iter()
            .find(|a| a["arn"].as_str().is_some_and(|a| a.ends_with(arn)))
            .map(|a| a["configuration"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        configuration(&seeded.lonely_topic)["Attributes"]["TopicArn"],
        seeded.lonely_topic.as_str(),
        "{actions:?}"
    );
    assert_eq!(
        configuration(&format!(":alarm:{}", seeded.stale_alarm))["Namespace"],
        "Gone",
        "{actions:?}"
    );
    assert!(configuration(&seeded.secret)["Name"].is_string(), "{actions:?}");
    assert!(
        configuration(&seeded.empty_cluster)["clusterName"].is_string(),
        "{actions:?}"
    );
    assert!(
        !done.to_string().contains("nobody-reads-this"),
        "a secret's value in the report"
    );

    let remaining = topics(&stack).await;
    assert!(
        !remaining.contains(&seeded.lonely_topic),
        "the unused topic is gone"
    );
    assert!(
        remaining.contains(&seeded.heard_topic),
        "a topic with a subscriber stays"
    );
    assert!(
        remaining.contains(&seeded.protected_topic),
        "a protected topic stays"
    );

    let aws = regional(&stack, REGION).await;
    let secret = aws_sdk_secretsmanager::Client::new(&aws)
        .describe_secret()
        .secret_id(&seeded.secret)
        .send()
        .await
        .unwrap();
    assert!(
        secret.deleted_date.is_some(),
        "scheduled for deletion with a recovery window"
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&aws)
        .describe_log_groups()
        .log_group_name_prefix(&seeded.log_group)
        .send()
        .await
        .unwrap();
    assert!(
        logs.log_groups()
            .iter()
            .all(|g| g.retention_in_days() == Some(30)),
        "retention set, group kept"
    );
    let ecs = aws_sdk_ecs::Client::new(&aws);
    let services = ecs
        .describe_services()
        .cluster(&seeded.apps_cluster)
        .services("idle")
        .services("busy")
        .send()
        .await
        .unwrap();
    let status: Vec<(&str, &str)> = services
        .services()
        .iter()
        .map(|s| {
            (
                s.service_name().unwrap_or_default(),
                s.status().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        status.contains(&("idle", "INACTIVE")),
        "the idle service is deleted: {status:?}"
    );
    assert!(
        status.contains(&("busy", "ACTIVE")),
        "the busy one stays: {status:?}"
    );
    let alarms = aws_sdk_cloudwatch::Client::new(&aws)
        .describe_alarms()
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = alarms
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    assert!(
        !names.contains(&seeded.stale_alarm.as_str()),
        "the stale alarm is gone: {names:?}"
    );
    assert!(
        names.contains(&seeded.orphaned_alarm.as_str()),
        "an orphaned action is reported, never acted on"
    );
    for a in actions.iter().filter(|a| a["ok"] == false) {
        assert!(
            !a["outcome"].as_str().unwrap_or_default().is_empty(),
            "a failed action says why: {a}"
        );
    }
}

#[tokio::test]
async fn a_throttled_listing_fails_the_scan_retryably_and_reports_nothing_as_unused() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let key = access_key();
    stack.faults().throttle("logs:DescribeLogGroups", &key).await;
    let f = scanner(&reports, &[("AWS_ACCESS_KEY_ID", key.as_str())]);
    let before = delivered(&stack, &reports).await.len();

    let inv = f.invoke_json(&event("report"));
    inv.assert_throttled("logs:DescribeLogGroups", "ThrottlingException");
    let sent = delivered(&stack, &reports).await;
    assert_eq!(
        sent.len(),
        before + 1,
        "the report still goes out, saying the region failed"
    );
    let report = sent.last().unwrap();
    assert!(
        report.contains("NOT scanned") && report.contains("SCAN FAILED"),
        "{report}"
    );
    assert!(
        !report.contains(" protected, "),
        "no candidates from a partial listing: {report}"
    );
}

/// One budget for the whole run: `max_actions=3` over two regions acts three times, not six.
#[tokio::test]
async fn max_actions_is_one_budget_over_every_region() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let regions = ["ap-northeast-3", "sa-east-1"];
    let made = unused_topics(&stack, &regions).await;
    let allowed = ("CLEANUP_ALLOWED_ACCOUNTS", "123456789012");
    let f = scanner(&reports, &[allowed, ("CLEANUP_GRACE", "0s")]);
    let marked = f.invoke_json(&topics_event("mark", &regions, 50));
    assert!(marked.ok, "{}", marked.error);
    let done = f.invoke_json(&topics_event("delete", &regions, 3));
    assert!(done.ok, "{}", done.error);
    let report = done.json();
    let acted: usize = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["actions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["ok"] == true)
                .count()
        })
        .sum();
    assert_eq!(acted, 3, "{report}");
    let waiting = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["rules"]["sns-topic-unused"]["candidates"]
                .as_array()
                .unwrap()
                .clone()
        })
        .filter(|c| c["status"] == "over max_actions=3" && made.iter().any(|m| c["arn"] == m.as_str()))
        .count();
    assert_eq!(
        waiting,
        made.len() - 3,
        "the rest wait for the next run: {report}"
    );

    // An event may lower the cap, never raise it past CLEANUP_MAX_ACTIONS.
    let capped = scanner(
        &reports,
        &[allowed, ("CLEANUP_GRACE", "0s"), ("CLEANUP_MAX_ACTIONS", "1")],
    );
    let one = capped.invoke_json(&topics_event("delete", &regions, 50)).json();
    let acted: usize = one["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actions"].as_array().unwrap().len())
        .sum();
    assert_eq!(acted, 1, "{one}");
}

/// A second region that cannot be listed does not lose the first region's actions: the report
/// goes out with them, and the run fails after it.
#[tokio::test]
async fn a_throttled_second_region_still_publishes_the_first_regions_actions() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let regions = ["ca-central-1", "eu-south-1"];
    unused_topics(&stack, &regions[..1]).await;
    let key = access_key();
    let allowed = ("CLEANUP_ALLOWED_ACCOUNTS", "123456789012");
    let f = scanner(
        &reports,
        &[
            allowed,
            ("CLEANUP_GRACE", "0s"),
            ("AWS_ACCESS_KEY_ID", key.as_str()),
        ],
    );
    assert!(f.invoke_json(&topics_event("mark", &regions[..1], 50)).ok);
    stack
        .faults()
        .inject(json!({"operation": "sns:ListTopics", "error": "throttle", "region": regions[1], "access_key": key}))
        .await;
    let before = delivered(&stack, &reports).await.len();

    let inv = f.invoke_json(&topics_event("delete", &regions, 50));
    assert!(
        !inv.ok,
        "a region that was not scanned fails the run: {}",
        inv.output
    );
    let sent = delivered(&stack, &reports).await;
    assert_eq!(sent.len(), before + 1, "the report went out anyway");
    let report = sent.last().unwrap();
    assert!(
        report.contains("delete done"),
        "the first region's deletions are reported: {report}"
    );
    assert!(
        report.contains(regions[1]) && report.contains("SCAN FAILED"),
        "{report}"
    );
}

/// A composite's child named by ARN, and a target-tracking alarm, sit in INSUFFICIENT_DATA by
/// design: never candidates. moto has no composite alarms, so the stack's proxy answers
/// DescribeAlarms (and the tag reads) for this test's key as CloudWatch would.
#[tokio::test]
async fn a_composites_arn_named_child_and_a_target_tracking_alarm_are_never_stale() {
    let stack = Stack::get();
    let reports = stack.topic("reports").await;
    let key = access_key();
    let region = "eu-west-2";
    let arn = |name: &str| format!("arn:aws:cloudwatch:{region}:123456789012:alarm:{name}");
    let metric_alarm = |name: &str| {
        format!(
            "<member><AlarmName>{name}</AlarmName><AlarmArn>{}</AlarmArn><StateValue>INSUFFICIENT_DATA</StateValue>\
             <StateUpdatedTimestamp>2026-01-01T00:00:00Z</StateUpdatedTimestamp><Namespace>AWS/DynamoDB</Namespace>\
             <MetricName>ConsumedReadCapacityUnits</MetricName><AlarmActions></AlarmActions><OKActions></OKActions>\
             <InsufficientDataActions></InsufficientDataActions></member>",
            arn(name)
        )
    };
    let describe = format!(
        "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><DescribeAlarmsResult>\
         <MetricAlarms>{}{}{}</MetricAlarms><CompositeAlarms><member><AlarmName>parent</AlarmName>\
         <AlarmArn>{}</AlarmArn><AlarmRule>ALARM(\"{}\") OR ALARM(other)</AlarmRule><StateValue>OK</StateValue></member>\
         </CompositeAlarms></DescribeAlarmsResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\
         </DescribeAlarmsResponse>",
        metric_alarm("child-by-arn"),
        metric_alarm("TargetTracking-table/orders-AlarmLow-1a2b"),
        metric_alarm("plain-stale"),
        arn("parent"),
        arn("child-by-arn"),
    );
    let no_tags = "<ListTagsForResourceResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
                   <ListTagsForResourceResult><Tags></Tags></ListTagsForResourceResult>\
                   <ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></ListTagsForResourceResponse>";
    let faults = stack.faults();
    faults
        .answer(json!({"operation": "monitoring:DescribeAlarms", "access_key": key, "body": describe}))
        .await;
    faults
        .answer(json!({"operation": "monitoring:ListTagsForResource", "access_key": key, "body": no_tags}))
        .await;
    let f = scanner(&reports, &[("AWS_ACCESS_KEY_ID", key.as_str())]);
    let inv = f.invoke_json(&json!({"mode": "report", "regions": [region]}));
    assert!(inv.ok, "{}", inv.error);
    let report = inv.json();
    let stale = listed(&report, "alarm-stale", "candidates", ":alarm:");
    assert_eq!(
        stale,
        vec![arn("plain-stale")],
        "only the plain alarm is stale: {report}"
    );
}
