//! The AWS emulator, through ops-shared's adapters: SNS publish and CloudWatch metrics and alarms.
//! These also guard the `aws-sdk-cloudwatch = "=1.99.0"` pin: a CloudWatch SDK that speaks a protocol
//! moto does not answer fails here.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use ops_shared::{CloudWatchSink, Metric, MetricSink, Notification, Notifier, SnsNotifier, Unit};
use ops_tests::{unique, Stack};

#[tokio::test]
async fn a_notification_published_through_sns_is_read_back_from_moto() {
    let stack = Stack::get();
    let sns = aws_sdk_sns::Client::new(&stack.aws().await);
    let name = unique("reports");
    let topic = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();

    let notifier = SnsNotifier::new(sns, &topic);
    let subject = format!("AWS cost report \u{2014} {}", "very long ".repeat(20));
    notifier
        .notify(&Notification {
            subject,
            message: "line one\nline two".into(),
        })
        .await
        .unwrap();

    let data = stack.moto_data().await;
    let topics = data["sns"]["Topic"].as_array().unwrap();
    let ours = topics
        .iter()
        .find(|t| t["arn"] == topic.as_str())
        .expect("topic is in moto");
    let sent = ours["sent_notifications"].as_array().unwrap();
    assert_eq!(sent.len(), 1);
    let (message, subject) = (sent[0][1].as_str().unwrap(), sent[0][2].as_str().unwrap());
    assert_eq!(message, "line one\nline two");
    assert!(subject.len() <= 100, "{subject}");
    assert!(subject.starts_with("AWS cost report - very long"), "{subject}");
    assert!(subject.ends_with("..."), "{subject}");
}

#[tokio::test]
async fn publishing_to_a_missing_topic_is_a_clear_non_retryable_error() {
    let stack = Stack::get();
    let sns = aws_sdk_sns::Client::new(&stack.aws().await);
    let topic = format!("arn:aws:sns:us-east-1:123456789012:{}", unique("missing"));
    let err = SnsNotifier::new(sns, &topic)
        .notify(&Notification {
            subject: "s".into(),
            message: "m".into(),
        })
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&topic), "{text}");
    assert!(text.contains("NotFound"), "{text}");
    assert!(!ops_shared::Retryable::retryable(&err));
}

#[tokio::test]
async fn metrics_are_batched_and_read_back_and_alarms_round_trip() {
    let stack = Stack::get();
    let config = stack.aws().await;
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let namespace = unique("OpsLambdasTest");
    let sink = CloudWatchSink::new(cw.clone(), &namespace, "foundation-test");

    let now = SystemTime::now();
    let mut metrics: Vec<Metric> = (0..1500)
        .map(|i| {
            Metric::new("CheckHealthy", (i % 2) as f64, Unit::None)
                .dimension("Check", format!("c{i}"))
                .at(now)
        })
        .collect();
    metrics.push(Metric::new("CheckLatencyMs", f64::NAN, Unit::Milliseconds).dimension("Check", "c0"));
    let summary = sink.put(&metrics).await.unwrap();
    assert_eq!(summary.sent, 1500);
    assert_eq!(summary.dropped, 1);
    assert_eq!(
        summary.requests, 2,
        "1500 datapoints take two PutMetricData calls, not one per datapoint"
    );

    let dims = [
        Dimension::builder().name("Check").value("c1").build(),
        Dimension::builder()
            .name("Function")
            .value("foundation-test")
            .build(),
    ];
    let stats = cw
        .get_metric_statistics()
        .namespace(&namespace)
        .metric_name("CheckHealthy")
        .set_dimensions(Some(dims.to_vec()))
        .start_time((now - Duration::from_secs(600)).into())
        .end_time((now + Duration::from_secs(600)).into())
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap();
    let points = stats.datapoints();
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0].maximum, Some(1.0));

    let alarm = unique("ops-lambdas-health-foundation");
    cw.put_metric_alarm()
        .alarm_name(&alarm)
        .namespace(&namespace)
        .metric_name("CheckHealthy")
        .set_dimensions(Some(dims.to_vec()))
        .statistic(Statistic::Minimum)
        .period(60)
        .evaluation_periods(3)
        .datapoints_to_alarm(2)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .send()
        .await
        .unwrap();
    let described = cw
        .describe_alarms()
        .alarm_name_prefix(&alarm)
        .send()
        .await
        .unwrap();
    let alarms = described.metric_alarms();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].datapoints_to_alarm, Some(2));
    assert_eq!(alarms[0].dimensions().len(), 2);
}
