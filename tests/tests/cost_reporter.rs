//! cost-reporter through `cargo lambda invoke`, with Cost Explorer results injected into moto and
//! the published report read back from moto's SNS. moto keeps one queue of Cost Explorer results
//! per account, so the tests take turns (`COST_EXPLORER`): one's injected days must not be answered
//! to another's request.

use chrono::{Duration, Utc};
use ops_tests::lambda::Function;
use ops_tests::{unique, Stack};
use serde_json::{json, Value};

static COST_EXPLORER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `days` days up to yesterday; each day costs `ec2(i)` for EC2 and 5 for S3; the last is estimated.
fn series(days: i64, ec2: impl Fn(i64) -> f64, tag: bool) -> Vec<Value> {
    let today = Utc::now().date_naive();
    (1..=days)
        .rev()
        .map(|back| {
            let day = today - Duration::days(back);
            let key = |service: &str, team: &str| if tag { json!([service, format!("team${team}")]) } else { json!([service]) };
            json!({
                "TimePeriod": {"Start": day.to_string(), "End": (day + Duration::days(1)).to_string()},
                "Total": {},
                "Groups": [
                    {"Keys": key("Amazon Elastic Compute Cloud - Compute", "platform"), "Metrics": {"UnblendedCost": {"Amount": format!("{:.2}", ec2(back)), "Unit": "USD"}}},
                    {"Keys": key("Amazon Simple Storage Service", ""), "Metrics": {"UnblendedCost": {"Amount": "5.00", "Unit": "USD"}}}
                ],
                "Estimated": back == 1
            })
        })
        .collect()
}

async fn published(stack: &Stack, topic: &str) -> Vec<(String, String)> {
    let data = stack.moto_data().await;
    let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
    let ours = topics
        .iter()
        .find(|t| t["arn"] == topic)
        .cloned()
        .unwrap_or_default();
    ours["sent_notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| {
            (
                n[2].as_str().unwrap_or_default().to_string(),
                n[1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn daily_weekly_tagged_and_empty_reports_are_published_from_one_request_each() {
    let _turn = COST_EXPLORER.lock().await;
    let stack = Stack::get();
    let topic = stack.topic("reports").await;
    let f = Function::start(
        "cost-reporter",
        &[
            ("REPORT_TOPIC_ARN", topic.as_str()),
            ("COST_BUDGET_MONTHLY", "100"),
        ],
    );
    let yesterday = (Utc::now().date_naive() - Duration::days(1)).to_string();
    // moto answers a request it has seen before from memory; a record type no bill has makes every
    // request of this run new, so a re-run against the same stack reads fresh results too.
    let event = |file: &str| {
        let marker = unique("NoSuchRecordType");
        let path = ops_tests::repo_path(&format!("events/cost-reporter/{file}"));
        let mut e: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut excluded = e["exclude_record_types"].as_array().cloned().unwrap_or_else(|| {
            ["Credit", "Refund", "Upfront", "Support"]
                .iter()
                .map(|t| json!(t))
                .collect()
        });
        excluded.push(json!(marker));
        e["exclude_record_types"] = Value::Array(excluded);
        e
    };

    // Daily: EC2 doubles yesterday.
    ops_tests::inject_costs(
        &stack,
        series(60, |back| if back == 1 { 40.0 } else { 20.0 }, false),
    )
    .await;
    let daily = f.invoke_json(&event("daily.json")).json();
    let subject = daily["subject"].as_str().unwrap();
    assert!(
        subject.starts_with(&format!("AWS cost {yesterday}: $45.00 (+80% vs previous day)")),
        "{subject}"
    );
    let report = &daily["report"];
    assert_eq!(
        report["requests"], 2,
        "one GetCostAndUsage and one forecast attempt: {report}"
    );
    assert_eq!(
        report["forecast"]["method"], "run_rate",
        "moto has no forecast: the run rate is projected"
    );
    assert_eq!(
        report["movers_up"][0]["name"],
        "Amazon Elastic Compute Cloud - Compute"
    );
    assert_eq!(report["estimated_days"][0], yesterday);
    let text = daily["text"].as_str().unwrap();
    assert!(text.contains("run-rate projection"), "{text}");
    assert!(
        text.contains("This report made 2 Cost Explorer request(s), $0.02"),
        "{text}"
    );
    let sent = published(&stack, &topic).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, subject);
    assert_eq!(sent[0].1, text);

    // Weekly, grouped by service and team tag.
    ops_tests::inject_costs(&stack, series(60, |_| 20.0, true)).await;
    let tagged = f.invoke_json(&event("by-team-tag.json")).json();
    let names: Vec<&str> = tagged["report"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Amazon Elastic Compute Cloud - Compute / team: platform"),
        "{names:?}"
    );
    assert!(
        names.contains(&"Amazon Simple Storage Service / team: (untagged)"),
        "{names:?}"
    );
    assert_eq!(tagged["report"]["total"]["change_pct"], 0.0);

    // A new account: nothing to report, and still a report.
    let empty = f.invoke_json(&event("weekly.json")).json();
    assert!(
        empty["text"]
            .as_str()
            .unwrap()
            .contains("No cost was recorded in this period."),
        "{}",
        empty["text"]
    );
    assert_eq!(empty["report"]["forecast"]["method"], "unavailable");
    assert_eq!(published(&stack, &topic).await.len(), 3);

    // The month-to-date metric reaches CloudWatch, for a budget alarm to page on.
    let cw = aws_sdk_cloudwatch::Client::new(&stack.aws().await);
    let listed = cw
        .list_metrics()
        .namespace("OpsLambdas")
        .metric_name("CostMonthToDate")
        .send()
        .await
        .unwrap();
    assert!(!listed.metrics().is_empty());

    let bad = f.invoke_json(&json!({"period": "hourly"}));
    assert!(
        !bad.ok && bad.error.contains("period is not daily, weekly or monthly"),
        "{}",
        bad.error
    );
}

#[tokio::test]
async fn a_throttled_cost_explorer_fails_the_report_retryably_and_publishes_nothing() {
    let _turn = COST_EXPLORER.lock().await;
    let stack = Stack::get();
    let topic = stack.topic("reports").await;
    let key = ops_tests::faults::access_key();
    stack.faults().throttle("ce:GetCostAndUsage", &key).await;
    let f = Function::start(
        "cost-reporter",
        &[
            ("REPORT_TOPIC_ARN", topic.as_str()),
            ("AWS_ACCESS_KEY_ID", key.as_str()),
        ],
    );

    let inv = f.invoke_json(&json!({"period": "daily"}));
    inv.assert_throttled("GetCostAndUsage", "LimitExceededException");
    assert!(
        published(&stack, &topic).await.is_empty(),
        "no report of made-up figures"
    );
}

/// One basis: the forecast leaves out the same record types as the actuals (credits, refunds, ...),
/// so month end is actual-to-date plus forecast-for-the-rest on one basis. Checked on the wire,
/// mid-month by an injected date; the proxy answers the forecast moto lacks.
#[tokio::test]
async fn the_forecast_is_asked_on_the_actuals_basis() {
    let _turn = COST_EXPLORER.lock().await;
    let stack = Stack::get();
    let topic = stack.topic("reports").await;
    let key = ops_tests::faults::access_key();
    stack
        .faults()
        .answer(json!({"operation": "ce:GetCostForecast", "access_key": key,
                       "body": {"Total": {"Amount": "123.45", "Unit": "USD"}, "ForecastResultsByTime": []}}))
        .await;
    stack
        .faults()
        .capture(json!({"operation": "ce:GetCostForecast", "access_key": key}))
        .await;
    let config = cost_reporter::Config::from_vars(&ops_shared::Vars::from_pairs([(
        "REPORT_TOPIC_ARN",
        topic.as_str(),
    )]))
    .unwrap();
    let signed = ops_tests::faults::signed_with(&stack.aws().await, &key);
    let deps = cost_reporter::Deps {
        source: cost_reporter::costexplorer::CostExplorer::new(aws_sdk_costexplorer::Client::new(&signed)),
        notifier: ops_shared::SnsNotifier::new(aws_sdk_sns::Client::new(&signed), &topic),
        metrics: ops_shared::CloudWatchSink::new(
            aws_sdk_cloudwatch::Client::new(&signed),
            ops_shared::METRICS_NAMESPACE,
            "cost-reporter",
        ),
    };
    ops_tests::inject_costs(&stack, series(60, |_| 20.0, false)).await;
    let mid_month = chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
    let marker = unique("NoSuchRecordType");
    let event = json!({"period": "daily", "exclude_record_types": ["Credit", "Refund", marker]});
    let out = cost_reporter::report(
        &deps.source,
        &deps.notifier,
        &deps.metrics,
        &config,
        &event,
        mid_month,
    )
    .await
    .unwrap();
    assert_eq!(
        out.report.forecast.method,
        cost_reporter::analysis::ForecastMethod::CostExplorer,
        "{:?}",
        out.report.forecast
    );

    let sent = stack.faults().captured(&key).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let body: Value = serde_json::from_str(sent[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["Filter"]["Not"]["Dimensions"]["Key"], "RECORD_TYPE",
        "{body}"
    );
    assert_eq!(
        body["Filter"]["Not"]["Dimensions"]["Values"],
        json!(["Credit", "Refund", marker]),
        "{body}"
    );
}
