//! The stack's AWS proxy: faults come back in each protocol's own shape, and the Rust SDK classifies
//! them as it would AWS's: a throttle is retried through, an access denial is not retried at all.
//! Every test signs with an access key of its own, so its faults touch no other test's requests.

use aws_sdk_cloudwatch::config::Region;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use ops_tests::faults::{access_key, signed_with};
use ops_tests::{create_secret, Stack};
use serde_json::json;

/// SDK settings signed with `key`, with the SDK's standard retries or none.
async fn config(stack: &Stack, key: &str, retries: bool, region: &str) -> aws_config::SdkConfig {
    signed_with(&stack.aws().await, key)
        .to_builder()
        .region(Region::new(region.to_string()))
        .retry_config(if retries {
            RetryConfig::standard()
        } else {
            RetryConfig::disabled()
        })
        .build()
}

async fn secret(stack: &Stack) -> String {
    create_secret(&stack.aws().await, "proxy-test", "value-of-the-proxy-test").await
}

#[tokio::test]
async fn a_throttled_get_secret_value_is_a_throttling_exception() {
    let stack = Stack::get();
    let name = secret(&stack).await;
    let key = access_key();
    stack
        .faults()
        .throttle("secretsmanager:GetSecretValue", &key)
        .await;
    let sm = aws_sdk_secretsmanager::Client::new(&config(&stack, &key, false, "us-east-1").await);

    let err = sm.get_secret_value().secret_id(&name).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"), "{err:?}");
    assert_eq!(
        stack.faults().calls(&key).await["secretsmanager:GetSecretValue"],
        1
    );
}

#[tokio::test]
async fn a_throttled_describe_alarms_is_throttling_in_the_query_protocol() {
    let stack = Stack::get();
    let key = access_key();
    stack.faults().throttle("monitoring:DescribeAlarms", &key).await;
    let cw = aws_sdk_cloudwatch::Client::new(&config(&stack, &key, false, "us-east-1").await);

    let err = cw.describe_alarms().send().await.unwrap_err();
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
    assert_eq!(err.message(), Some("Rate exceeded"));
}

#[tokio::test]
async fn the_sdk_retries_two_throttles_through_in_json_and_query_protocols() {
    let stack = Stack::get();
    let name = secret(&stack).await;
    let key = access_key();
    let faults = stack.faults();
    for op in ["secretsmanager:GetSecretValue", "monitoring:DescribeAlarms"] {
        faults
            .inject(json!({"operation": op, "error": "throttle", "times": 2, "access_key": key}))
            .await;
    }
    let aws = config(&stack, &key, true, "us-east-1").await;

    let value = aws_sdk_secretsmanager::Client::new(&aws)
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("the third attempt passes");
    assert_eq!(value.secret_string(), Some("value-of-the-proxy-test"));
    aws_sdk_cloudwatch::Client::new(&aws)
        .describe_alarms()
        .send()
        .await
        .expect("the third attempt passes");

    let calls = faults.calls(&key).await;
    assert_eq!(calls["secretsmanager:GetSecretValue"], 3, "{calls:?}");
    assert_eq!(calls["monitoring:DescribeAlarms"], 3, "{calls:?}");
}

#[tokio::test]
async fn an_access_denial_is_not_retried_and_names_the_iam_action() {
    let stack = Stack::get();
    let key = access_key();
    stack
        .faults()
        .inject(json!({"operation": "logs:DescribeLogGroups", "error": "deny", "access_key": key}))
        .await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config(&stack, &key, true, "us-east-1").await);

    let err = logs.describe_log_groups().send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert!(
        err.message().unwrap_or("").contains("logs:DescribeLogGroups"),
        "{err:?}"
    );
    assert_eq!(
        stack.faults().calls(&key).await["logs:DescribeLogGroups"],
        1,
        "not retried"
    );
}

#[tokio::test]
async fn a_dropped_connection_and_a_503_are_retried_through() {
    let stack = Stack::get();
    let key = access_key();
    let faults = stack.faults();
    faults
        .inject(json!({"operation": "ecs:ListClusters", "error": "reset", "times": 1, "access_key": key}))
        .await;
    faults.inject(json!({"operation": "ecs:ListClusters", "error": "503", "times": 1, "after": 1, "access_key": key})).await;
    let ecs = aws_sdk_ecs::Client::new(&config(&stack, &key, true, "us-east-1").await);

    ecs.list_clusters()
        .send()
        .await
        .expect("the third attempt passes");
    assert_eq!(faults.calls(&key).await["ecs:ListClusters"], 3);

    faults
        .inject(json!({"operation": "ecs:ListClusters", "error": "reset", "access_key": key}))
        .await;
    let err = ecs.list_clusters().send().await.unwrap_err();
    assert!(
        matches!(
            err,
            aws_sdk_ecs::error::SdkError::DispatchFailure(_) | aws_sdk_ecs::error::SdkError::ResponseError(_)
        ),
        "a closed connection is a transport failure, not an answer: {err:?}"
    );
}

#[tokio::test]
async fn latency_past_the_attempt_timeout_is_a_timeout() {
    let stack = Stack::get();
    let key = access_key();
    stack
        .faults()
        .inject(json!({"operation": "sns:ListTopics", "error": "latency", "latency_ms": 3000, "times": 1, "access_key": key}))
        .await;
    let aws = config(&stack, &key, false, "us-east-1").await;
    let conf = aws_sdk_sns::config::Builder::from(&aws)
        .timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(std::time::Duration::from_millis(300))
                .build(),
        )
        .build();
    let sns = aws_sdk_sns::Client::from_conf(conf);

    let err = sns.list_topics().send().await.unwrap_err();
    assert!(
        matches!(err, aws_sdk_sns::error::SdkError::TimeoutError(_)),
        "{err:?}"
    );
    // Without the short timeout: under a loaded machine moto itself may take longer than 300 ms.
    aws_sdk_sns::Client::new(&aws)
        .list_topics()
        .send()
        .await
        .expect("the fault was for one request only");
}

#[tokio::test]
async fn a_fault_for_one_region_leaves_the_others_alone() {
    let stack = Stack::get();
    let key = access_key();
    stack
        .faults()
        .inject(json!({"operation": "sns:*", "error": "500", "region": "eu-west-1", "access_key": key}))
        .await;
    let west = aws_sdk_sns::Client::new(&config(&stack, &key, false, "eu-west-1").await);
    let east = aws_sdk_sns::Client::new(&config(&stack, &key, false, "us-east-1").await);

    let err = west.list_topics().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InternalFailure"), "{err:?}");
    east.list_topics().send().await.expect("us-east-1 is not faulted");
}

#[tokio::test]
async fn past_its_rate_an_operation_is_throttled() {
    let stack = Stack::get();
    let key = access_key();
    stack
        .faults()
        .rate(json!({"operation": "monitoring:PutMetricAlarm", "per_second": 0.01, "burst": 2, "access_key": key}))
        .await;
    let cw = aws_sdk_cloudwatch::Client::new(&config(&stack, &key, false, "us-east-1").await);
    let put = |i: usize| {
        cw.put_metric_alarm()
            .alarm_name(format!("{key}-rate-{i}"))
            .namespace("ProxyTest")
            .metric_name("M")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
            .send()
    };

    put(0).await.expect("within the burst");
    put(1).await.expect("within the burst");
    let err = put(2).await.unwrap_err();
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
}

#[tokio::test]
async fn an_operation_moto_lacks_is_answered_with_what_the_test_set() {
    let stack = Stack::get();
    let key = access_key();
    stack
        .faults()
        .answer(json!({
            "operation": "ce:GetCostForecast",
            "access_key": key,
            "body": {"Total": {"Amount": "321.50", "Unit": "USD"}, "ForecastResultsByTime": []},
        }))
        .await;
    let ce = aws_sdk_costexplorer::Client::new(&config(&stack, &key, false, "us-east-1").await);

    let out = ce
        .get_cost_forecast()
        .time_period(
            aws_sdk_costexplorer::types::DateInterval::builder()
                .start("2026-12-02")
                .end("2027-01-01")
                .build()
                .unwrap(),
        )
        .metric(aws_sdk_costexplorer::types::Metric::UnblendedCost)
        .granularity(aws_sdk_costexplorer::types::Granularity::Monthly)
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(out.total().and_then(|t| t.amount()), Some("321.50"));
}

#[tokio::test]
async fn a_malformed_fault_is_refused_with_the_reason() {
    let stack = Stack::get();
    let resp = reqwest::Client::new()
        .post(format!("{}/faults", stack.faults_url))
        .json(&json!({"operation": "GetSecretValue", "error": "throttle"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("service:Operation"));
}
