//! cost-reporter through `cargo lambda invoke`, with Cost Explorer results injected into moto and
//! the published report read back from moto's SNS. moto keeps one queue of Cost Explorer results
//! per account, so the tests take turns (`COST_EXPLORER`): one's injected days must not be answered
//! to another's request.

use chrono::{Duration, Utc};
use ops_tests::lambda::Function;
use ops_tests::{unique, Stack};
use serde_json::{json, Value};

static COST_EXPLORER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The recommendation operations moto lacks.
const RECOMMENDATIONS: &[&str] = &[
    "ce:GetSavingsPlansPurchaseRecommendation",
    "ce:GetReservationPurchaseRecommendation",
    "ce:GetRightsizingRecommendation",
];

/// The Cost Explorer requests among the proxy's counts.
fn ce_requests(calls: &std::collections::BTreeMap<String, u64>) -> u64 {
    calls
        .iter()
        .filter(|(op, _)| op.starts_with("ce:"))
        .map(|(_, n)| n)
        .sum()
}

/// Every request `key` signs for `operations` is refused outright (AccessDenied, not retried).
async fn deny(stack: &Stack, key: &str, operations: &[&str]) {
    for op in operations {
        stack
            .faults()
            .inject(json!({"operation": op, "error": "deny", "access_key": key}))
            .await;
    }
}

/// The function's clients, signing with `key` so the proxy's answers and faults for it apply.
async fn deps(stack: &Stack, key: &str, topic: &str) -> cost_reporter::Deps {
    deps_reading(stack, key, topic, "cleanup-scanner").await
}

/// The same, reading the cleanup figures `scanner` published.
async fn deps_reading(stack: &Stack, key: &str, topic: &str, scanner: &str) -> cost_reporter::Deps {
    let signed = ops_tests::faults::signed_with(&stack.aws().await, key);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&signed);
    cost_reporter::Deps {
        source: cost_reporter::costexplorer::CostExplorer::new(aws_sdk_costexplorer::Client::new(&signed)),
        cleanup: cost_reporter::cleanup_figures::CloudWatchCleanup::new(cloudwatch.clone(), scanner),
        notifier: ops_shared::SnsNotifier::new(aws_sdk_sns::Client::new(&signed), topic),
        metrics: ops_shared::CloudWatchSink::new(cloudwatch, ops_shared::METRICS_NAMESPACE, "cost-reporter"),
    }
}

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
    let key = ops_tests::faults::access_key();
    // moto answers a request it has seen before from memory; a record type no bill has makes every
    // request of this run new, so a re-run against the same stack reads fresh results too. It is
    // the configured basis, so the reports publish their metrics.
    let marker = unique("NoSuchRecordType");
    let excluded = format!("Credit,Refund,Upfront,Support,{marker}");
    // A forecast refused outright (not retried): the run rate is projected, and every request the
    // report counts is one that reached Cost Explorer.
    // The weekly reports' recommendations, refused alike: each is a line, the reports still go out.
    deny(&stack, &key, &["ce:GetCostForecast"]).await;
    deny(&stack, &key, RECOMMENDATIONS).await;
    let f = Function::start(
        "cost-reporter",
        &[
            ("REPORT_TOPIC_ARN", topic.as_str()),
            ("COST_BUDGET_MONTHLY", "100"),
            ("COST_EXCLUDE_RECORD_TYPES", excluded.as_str()),
            ("AWS_ACCESS_KEY_ID", key.as_str()),
        ],
    );
    let yesterday = (Utc::now().date_naive() - Duration::days(1)).to_string();
    let event = |file: &str| {
        let path = ops_tests::repo_path(&format!("events/cost-reporter/{file}"));
        let mut e: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        if let Some(own) = e.get_mut("exclude_record_types").and_then(Value::as_array_mut) {
            own.push(json!(unique("NoSuchRecordType")));
        }
        e
    };
    // A request of its own (a daily and a weekly report can ask for the same days).
    let own_request = |file: &str| {
        let mut e = event(file);
        e["exclude_record_types"] = json!([unique("NoSuchRecordType")]);
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
        report["requests"], 3,
        "the daily costs, the trailing year and one forecast attempt, on any day of the month: {report}"
    );
    let calls = stack.faults().calls(&key).await;
    let ce = ce_requests(&calls);
    assert_eq!(
        (ce, calls.get("ce:GetCostAndUsage")),
        (3, Some(&2)),
        "the count the report states is what reached Cost Explorer: {calls:?}"
    );
    assert_eq!(daily["metrics"], "published", "{daily}");
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
        text.contains("The forecast could not be read: Cost Explorer GetCostForecast failed"),
        "{text}"
    );
    assert!(
        text.contains("This report made 3 Cost Explorer request(s), $0.03"),
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
    let empty = f.invoke_json(&own_request("weekly.json")).json();
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
                       "body": {"Total": {"Amount": "123.45", "Unit": "USD"}, "ForecastResultsByTime": [
                           {"TimePeriod": {"Start": "2026-11-15", "End": "2026-12-01"}, "MeanValue": "123.45"}]}}))
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
    let deps = deps(&stack, &key, &topic).await;
    ops_tests::inject_costs(&stack, series(60, |_| 20.0, false)).await;
    let mid_month = chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
    let marker = unique("NoSuchRecordType");
    let event = json!({"period": "daily", "exclude_record_types": ["Credit", "Refund", marker]});
    let out = cost_reporter::report(&deps.ports(), &config, &event, mid_month)
        .await
        .unwrap();
    assert_eq!(
        out.report.forecast.method,
        cost_reporter::forecast::ForecastMethod::CostExplorer,
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

fn day_result(day: chrono::NaiveDate, groups: Vec<(Vec<String>, f64)>) -> Value {
    json!({
        "TimePeriod": {"Start": day.to_string(), "End": (day + Duration::days(1)).to_string()},
        "Total": {},
        "Groups": groups.iter().map(|(keys, amount)| json!({
            "Keys": keys, "Metrics": {"UnblendedCost": {"Amount": format!("{amount:.2}"), "Unit": "USD"}}
        })).collect::<Vec<_>>(),
        "Estimated": false
    })
}

/// AWS's documented answers for the operations moto lacks (Cost Explorer API Reference, the
/// Response Syntax of each), for requests signed with `key`.
async fn answer_recommendations(stack: &Stack, key: &str, today: chrono::NaiveDate) {
    let faults = stack.faults();
    let mut months = Vec::new();
    let mut start = today;
    for i in 0..12 {
        let end = cost_reporter::request::next_month(start);
        let mean = if i == 0 { 16.0 * 72.0 } else { 2200.0 };
        months.push(
            json!({"TimePeriod": {"Start": start.to_string(), "End": end.to_string()},
                           "MeanValue": format!("{mean:.2}"),
                           "PredictionIntervalLowerBound": "0", "PredictionIntervalUpperBound": "0"}),
        );
        start = end;
    }
    for (operation, body) in [
        (
            "ce:GetCostForecast",
            json!({"Total": {"Amount": "25352.00", "Unit": "USD"}, "ForecastResultsByTime": months}),
        ),
        (
            "ce:GetSavingsPlansPurchaseRecommendation",
            json!({
            "Metadata": {"RecommendationId": "sp-1", "GenerationTimestamp": "2026-11-14T00:00:00Z", "LookbackPeriodInDays": "THIRTY_DAYS"},
            "SavingsPlansPurchaseRecommendation": {
                "AccountScope": "PAYER", "SavingsPlansType": "COMPUTE_SP", "TermInYears": "ONE_YEAR",
                "PaymentOption": "NO_UPFRONT", "LookbackPeriodInDays": "THIRTY_DAYS",
                "SavingsPlansPurchaseRecommendationDetails": [],
                "SavingsPlansPurchaseRecommendationSummary": {
                    "EstimatedMonthlySavingsAmount": "112.40", "HourlyCommitmentToPurchase": "0.85",
                    "CurrencyCode": "USD", "EstimatedSavingsPercentage": "18.2", "TotalRecommendationCount": "1"}}}),
        ),
        (
            "ce:GetReservationPurchaseRecommendation",
            json!({
            "Metadata": {"RecommendationId": "ri-1", "GenerationTimestamp": "2026-11-14T00:00:00Z"},
            "Recommendations": [{
                "AccountScope": "PAYER", "LookbackPeriodInDays": "THIRTY_DAYS", "TermInYears": "ONE_YEAR",
                "PaymentOption": "NO_UPFRONT",
                "RecommendationDetails": [{
                    "AccountId": "123456789012",
                    "InstanceDetails": {"RDSInstanceDetails": {"InstanceType": "db.r6g.large", "DatabaseEngine": "PostgreSQL", "Region": "US East (N. Virginia)"}},
                    "RecommendedNumberOfInstancesToPurchase": "2",
                    "EstimatedMonthlySavingsAmount": "96.50", "CurrencyCode": "USD"}],
                "RecommendationSummary": {"TotalEstimatedMonthlySavingsAmount": "96.50", "CurrencyCode": "USD"}}]}),
        ),
        (
            "ce:GetRightsizingRecommendation",
            json!({
            "Metadata": {"RecommendationId": "rs-1", "GenerationTimestamp": "2026-11-14T00:00:00Z", "LookbackPeriodInDays": "FOURTEEN_DAYS"},
            "Summary": {"TotalRecommendationCount": "2", "EstimatedTotalMonthlySavingsAmount": "210.16", "SavingsCurrencyCode": "USD"},
            "RightsizingRecommendations": [
                {"AccountId": "123456789012", "RightsizingType": "MODIFY",
                 "CurrentInstance": {"ResourceId": "i-0abc", "InstanceName": "api", "MonthlyCost": "280.32", "CurrencyCode": "USD",
                                     "ResourceDetails": {"EC2ResourceDetails": {"InstanceType": "m5.2xlarge"}}},
                 "ModifyRecommendationDetail": {"TargetInstances": [
                     {"EstimatedMonthlySavings": "140.16", "CurrencyCode": "USD", "DefaultTargetInstance": true,
                      "ResourceDetails": {"EC2ResourceDetails": {"InstanceType": "m5.xlarge"}}}]}},
                {"AccountId": "123456789012", "RightsizingType": "TERMINATE",
                 "CurrentInstance": {"ResourceId": "i-0def", "MonthlyCost": "70.00", "CurrencyCode": "USD",
                                     "ResourceDetails": {"EC2ResourceDetails": {"InstanceType": "t3.large"}}},
                 "TerminateRecommendationDetail": {"EstimatedMonthlySavings": "70.00", "CurrencyCode": "USD"}}],
            "Configuration": {"RecommendationTarget": "SAME_INSTANCE_FAMILY", "BenefitsConsidered": true}}),
        ),
    ] {
        faults
            .answer(json!({"operation": operation, "access_key": key, "body": body}))
            .await;
    }
}

/// Queues a month and a half of costs by service, the same by environment and service (prod,
/// staging, dev and untagged), and twelve months of $2,000 for the trailing year, in the order the
/// report asks for them.
async fn inject_environment_costs(stack: &Stack, today: chrono::NaiveDate) {
    let days: Vec<chrono::NaiveDate> = (today - Duration::days(45))
        .iter_days()
        .take_while(|d| *d < today)
        .collect();
    let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let ec2 = "Amazon Elastic Compute Cloud - Compute";
    let rds = "Amazon Relational Database Service";
    let by_service = days
        .iter()
        .map(|d| day_result(*d, vec![(keys(&[ec2]), 60.0), (keys(&[rds]), 12.0)]))
        .collect();
    let by_environment = days
        .iter()
        .map(|d| {
            day_result(
                *d,
                vec![
                    (keys(&["Environment$prod", ec2]), 40.0),
                    (keys(&["Environment$prod", rds]), 12.0),
                    (keys(&["Environment$staging", ec2]), 10.0),
                    (keys(&["Environment$dev", ec2]), 6.0),
                    (keys(&["Environment$", ec2]), 4.0),
                ],
            )
        })
        .collect();
    let year = cost_reporter::request::trailing_year(today);
    let mut trailing = Vec::new();
    let mut start = year.start;
    while start < year.end {
        let end = cost_reporter::request::next_month(start);
        trailing.push(json!({"TimePeriod": {"Start": start.to_string(), "End": end.to_string()},
                             "Total": {"UnblendedCost": {"Amount": "2000.00", "Unit": "USD"}}, "Groups": [], "Estimated": false}));
        start = end;
    }
    ops_tests::inject_cost_results(stack, vec![by_service, by_environment, trailing]).await;
}

/// What a cleanup-scanner publishes after a whole scan, under the function name `function` (a
/// test's own: other tests publish the real scanner's figures into the same CloudWatch).
async fn put_cleanup_figures(stack: &Stack, function: &str) {
    let at = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let point = |metric: &str, value: f64| {
        aws_sdk_cloudwatch::types::MetricDatum::builder()
            .metric_name(metric)
            .value(value)
            .timestamp(at)
            .dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name("Function")
                    .value(function)
                    .build(),
            )
            .build()
    };
    aws_sdk_cloudwatch::Client::new(&stack.aws().await)
        .put_metric_data()
        .namespace("OpsLambdas")
        .metric_data(point("CleanupCandidates", 9.0))
        .metric_data(point("CleanupMonthlySaving", 42.5))
        .send()
        .await
        .unwrap();
}

/// Over the local stack on an injected 15th: a monthly report shows three environments and an
/// untagged line with their budgets, the year ahead from the forecast and the trailing year, and
/// recommendations of all four kinds, within its stated request budget; with the recommendation
/// operations failing, it still publishes and says why.
#[tokio::test]
async fn a_monthly_report_has_environments_the_year_ahead_and_recommendations_of_every_kind() {
    let _turn = COST_EXPLORER.lock().await;
    let stack = Stack::get();
    let topic = stack.topic("reports").await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
    // A record type no bill has, as the configured basis: every request of the run is new to
    // moto, and the metrics are published.
    let configured = |marker: String| {
        cost_reporter::Config::from_vars(&ops_shared::Vars::from_pairs([
            ("REPORT_TOPIC_ARN", topic.clone()),
            ("COST_ENVIRONMENTS", "TAG:Environment".into()),
            ("COST_BUDGETS", r#"{"prod": 1500, "staging": 200}"#.into()),
            ("COST_EXCLUDE_RECORD_TYPES", marker),
        ]))
        .unwrap()
    };
    let scanner = unique("cleanup-scanner");
    put_cleanup_figures(&stack, &scanner).await;

    let key = ops_tests::faults::access_key();
    answer_recommendations(&stack, &key, today).await;
    inject_environment_costs(&stack, today).await;
    let ports = deps_reading(&stack, &key, &topic, &scanner).await;
    let event = json!({"period": "monthly"});
    let config = configured(unique("NoSuchRecordType"));
    let out = cost_reporter::report(&ports.ports(), &config, &event, today)
        .await
        .unwrap();
    let report = serde_json::to_value(&out.report).unwrap();
    assert_eq!(out.metrics, "published");

    let envs = report["environments"].as_array().unwrap();
    let names: Vec<&str> = envs.iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(names, vec!["prod", "staging", "dev", "(untagged)"], "{report}");
    for env in envs {
        for field in [
            "month_to_date",
            "forecast_month_end",
            "annual_projection",
            "budget",
            "change_pct",
        ] {
            assert!(env.get(field).is_some(), "{field} is part of the contract: {env}");
        }
    }
    assert_eq!(envs[0]["month_to_date"], 14.0 * 52.0);
    assert_eq!(envs[0]["budget"]["monthly"], 1500.0);
    assert_eq!(envs[3]["untagged"], true);
    assert_eq!(
        envs[0]["top_services"][0]["name"],
        "Amazon Elastic Compute Cloud - Compute"
    );
    assert_eq!(envs[0]["daily"].as_array().unwrap().len(), 14);

    let year = &report["annual_projection"];
    assert_eq!(year["method"], "cost_explorer_forecast", "{year}");
    assert_eq!(year["trailing_12_months"], 24_000.0);
    let month_end = 14.0 * 72.0 + 16.0 * 72.0;
    assert_eq!(report["forecast"]["month_end"], month_end);
    assert_eq!(year["next_12_months"], month_end + 11.0 * 2200.0);

    let advice = &report["recommendations"];
    assert_eq!(advice["available"], true);
    let kinds: std::collections::BTreeSet<&str> = advice["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["cleanup", "reservation", "rightsizing", "savings_plans"]
            .into_iter()
            .collect(),
        "{advice}"
    );
    assert_eq!(
        advice["items"].as_array().unwrap().len(),
        5,
        "two rightsizing actions and one of each other kind"
    );
    assert_eq!(advice["items"][0]["monthly_saving"], 140.16);
    for field in ["kind", "action", "monthly_saving", "currency"] {
        assert!(advice["items"][0].get(field).is_some(), "{field}");
    }

    // Daily costs, forecast, environments, trailing year, Savings Plans, RDS reservations (the only
    // reserved service with spend), rightsizing: seven, what the footer states and the proxy saw.
    assert_eq!(report["requests"], 7, "{report}");
    let calls = stack.faults().calls(&key).await;
    let ce = ce_requests(&calls);
    assert_eq!(ce, 7, "{calls:?}");
    assert_eq!(
        calls.get("ce:GetReservationPurchaseRecommendation"),
        Some(&1),
        "{calls:?}"
    );
    for expected in [
        "Environments by tag Environment",
        "(untagged)",
        "Year ahead",
        "Last 12 months $24,000.00",
        "Recommendations (estimated saving a month)",
        "Resize the EC2 instance i-0abc (api) from m5.2xlarge to m5.xlarge",
        "Reserve 2 x db.r6g.large (PostgreSQL)",
        "Buy a Compute Savings Plan of $0.85 an hour",
        "the cleanup-scanner reported",
        "This report made 7 Cost Explorer request(s), $0.07",
    ] {
        assert!(out.text.contains(expected), "{expected}:\n{}", out.text);
    }
    assert_eq!(
        published(&stack, &topic).await.last().map(|s| s.0.clone()),
        Some(out.subject.clone())
    );
    let listed = aws_sdk_cloudwatch::Client::new(&stack.aws().await)
        .list_metrics()
        .namespace("OpsLambdas")
        .metric_name("CostAnnualProjection")
        .dimensions(
            aws_sdk_cloudwatch::types::DimensionFilter::builder()
                .name("Environment")
                .value("prod")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        !listed.metrics().is_empty(),
        "per-environment figures reach CloudWatch"
    );

    // Every recommendation operation refused: the report still goes out, saying why for each.
    let refused = ops_tests::faults::access_key();
    answer_recommendations(&stack, &refused, today).await;
    deny(&stack, &refused, RECOMMENDATIONS).await;
    inject_environment_costs(&stack, today).await;
    let ports = deps_reading(&stack, &refused, &topic, &scanner).await;
    let config = configured(unique("NoSuchRecordType"));
    let out = cost_reporter::report(&ports.ports(), &config, &event, today)
        .await
        .unwrap();
    let advice = serde_json::to_value(&out.report.recommendations).unwrap();
    assert_eq!(advice["unavailable"].as_array().unwrap().len(), 3, "{advice}");
    assert_eq!(
        advice["items"][0]["kind"], "cleanup",
        "the scanner's figure still stands: {advice}"
    );
    for op in [
        "GetSavingsPlansPurchaseRecommendation",
        "GetReservationPurchaseRecommendation",
        "GetRightsizingRecommendation",
    ] {
        assert!(
            out.text.contains("unavailable: ") && out.text.contains(op),
            "{op}:\n{}",
            out.text
        );
    }
    assert!(out.text.contains("AccessDenied"), "{}", out.text);
    assert_eq!(
        published(&stack, &topic).await.last().map(|s| s.0.clone()),
        Some(out.subject)
    );
}
