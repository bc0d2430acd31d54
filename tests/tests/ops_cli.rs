//! The `ops` command over the local stack: `ops status` reads the health-checker's alarms (kind and
//! group from their descriptions), judges, and keeps its JSON contract and exit codes; `ops health`
//! runs the probes from a file and publishes nothing.

use std::process::Command;

use serde_json::{json, Value};

mod health;
use health::Env;

/// The tests take turns: each reads the whole account (scans, listings, the latest metrics) while
/// the others would be adding to it.
static ACCOUNT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn ops(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(ops_tests::fresh::ops_cli())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("ops runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn status_shows_the_health_matrix_judges_it_and_keeps_its_contract() {
    let _turn = ACCOUNT.lock().await;
    let env = Env::new().await;
    let web = ops_tests::targets::http().await;
    env.run_configured(json!([
        {"name": "api", "kind": "http", "url": web.url("/ok"), "group": "payments"},
        {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": web.addr.port()},
        {"name": "web", "kind": "http", "url": web.url("/ok")},
    ]))
    .await;
    let cw = aws_sdk_cloudwatch::Client::new(&env.stack.aws().await);
    cw.set_alarm_state()
        .alarm_name(format!("{}api", env.prefix))
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("the test says so")
        .send()
        .await
        .unwrap();
    // Somebody else's alarm in ALARM, with a runbook in its description.
    let queue = ops_tests::unique("orders-queue-depth");
    cw.put_metric_alarm()
        .alarm_name(&queue)
        .alarm_description("Orders are backing up. runbook:https://wiki.example.com/runbooks/orders-queue")
        .namespace("Shop")
        .metric_name("QueueDepth")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(100.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    cw.set_alarm_state()
        .alarm_name(&queue)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("the test says so")
        .send()
        .await
        .unwrap();
    // What the cleanup-scanner publishes after a run (the newest datapoints win).
    let at =
        aws_smithy_types::DateTime::from(std::time::SystemTime::now() + std::time::Duration::from_secs(120));
    // Dimensions in the order the functions' sink publishes them: its own first, `Function` last.
    let dimension = |name: &str, value: &str| {
        aws_sdk_cloudwatch::types::Dimension::builder()
            .name(name)
            .value(value)
            .build()
    };
    let point = |metric: &str, value: f64, rule: Option<&str>| {
        let mut d = aws_sdk_cloudwatch::types::MetricDatum::builder()
            .metric_name(metric)
            .value(value)
            .timestamp(at);
        if let Some(rule) = rule {
            d = d.dimensions(dimension("Rule", rule));
        }
        d.dimensions(dimension("Function", "cleanup-scanner")).build()
    };
    cw.put_metric_data()
        .namespace("OpsLambdas")
        .metric_data(point("CleanupCandidates", 7.0, None))
        .metric_data(point("CleanupMonthlySaving", 2.8, None))
        .metric_data(point("CleanupCandidates", 7.0, Some("secret-unused")))
        .metric_data(point("CleanupMonthlySaving", 2.8, Some("secret-unused")))
        .send()
        .await
        .unwrap();
    // What the cost-reporter publishes after a report, larger than any other test's figures (the
    // hour's highest wins), with an environment of this test's own.
    let environment = ops_tests::unique("env");
    let cost = |metric: &str, value: f64, env: Option<&str>| {
        let mut d = aws_sdk_cloudwatch::types::MetricDatum::builder()
            .metric_name(metric)
            .value(value)
            .timestamp(at);
        if let Some(env) = env {
            d = d.dimensions(dimension("Environment", env));
        }
        d.dimensions(dimension("Function", "cost-reporter")).build()
    };
    cw.put_metric_data()
        .namespace("OpsLambdas")
        .metric_data(cost("CostMonthToDate", 987_654.5, None))
        .metric_data(cost("CostForecastMonthEnd", 1_500_000.0, None))
        .metric_data(cost("CostAnnualProjection", 18_000_000.0, None))
        .metric_data(cost("CostBudget", 1_000_000.0, None))
        .metric_data(cost("CostMonthToDate", 600.0, Some(&environment)))
        .metric_data(cost("CostForecastMonthEnd", 1200.0, Some(&environment)))
        .metric_data(cost("CostAnnualProjection", 14_400.0, Some(&environment)))
        .metric_data(cost("CostBudget", 1000.0, Some(&environment)))
        .send()
        .await
        .unwrap();
    // A rotation started and not finished: moto labels the new version AWSPENDING, then fails to
    // call the rotator, the state a rotation in progress (or a failed one) leaves.
    let sm = aws_sdk_secretsmanager::Client::new(&env.stack.aws().await);
    let rotating = ops_tests::create_secret(&env.stack.aws().await, "ops-rotating", "{}").await;
    let _ = ops_tests::start_rotation(&sm, &rotating).await;
    // Two rotating secrets, one overdue. moto cannot date a rotation in the past, so the proxy
    // answers this run's ListSecrets as Secrets Manager does (its documented response shape).
    let key = ops_tests::faults::access_key();
    let day = 86_400.0;
    let now = chrono::Utc::now().timestamp() as f64;
    env.stack
        .faults()
        .answer(json!({"operation": "secretsmanager:ListSecrets", "access_key": key, "body": {"SecretList": [
            {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", "Name": "prod/db",
             "RotationEnabled": true, "RotationLambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:secret-rotator",
             "RotationRules": {"AutomaticallyAfterDays": 30},
             "LastRotatedDate": now - 20.0 * day, "LastChangedDate": now - 20.0 * day, "NextRotationDate": now + 10.0 * day,
             "SecretVersionsToStages": {"v2": ["AWSCURRENT"], "v1": ["AWSPREVIOUS"]}},
            {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-key-GhIjKl", "Name": "prod/api-key",
             "RotationEnabled": true, "RotationLambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:secret-rotator",
             "RotationRules": {"AutomaticallyAfterDays": 30},
             "LastRotatedDate": now - 33.0 * day, "LastChangedDate": now - 33.0 * day, "NextRotationDate": now - 3.0 * day,
             "SecretVersionsToStages": {"v7": ["AWSCURRENT"]}}
        ]}}))
        .await;
    let dir = std::env::temp_dir().join(ops_tests::unique("ops-status"));
    let (code, out, err) = ops(
        &[
            "status",
            "--json",
            "--prefix",
            &env.prefix,
            "--save",
            dir.to_str().unwrap(),
        ],
        &[("AWS_ACCESS_KEY_ID", key.as_str())],
    );
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(
        (code, doc["overall"].as_str()),
        (1, Some("degraded")),
        "one check of three and another alarm in ALARM: {doc}"
    );
    let checks = doc["health"]["checks"].as_array().unwrap();
    let api = checks.iter().find(|c| c["name"] == "api").unwrap();
    assert_eq!(
        (api["kind"].as_str(), api["group"].as_str(), api["state"].as_str()),
        (Some("http"), Some("payments"), Some("ALARM"))
    );
    assert!(api["latency_ms"].is_number(), "the latest CheckLatencyMs: {api}");
    let db = checks.iter().find(|c| c["name"] == "db").unwrap();
    assert_eq!(
        (db["kind"].as_str(), db["group"].clone()),
        (Some("tcp"), Value::Null)
    );
    assert!(doc["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == format!("{}api", env.prefix)));
    let theirs = doc["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == queue.as_str())
        .unwrap_or_else(|| panic!("{queue} in {}", doc["alarms"]));
    assert_eq!(
        theirs["runbook"], "https://wiki.example.com/runbooks/orders-queue",
        "{theirs}"
    );
    assert_eq!(doc["cleanup"]["candidates"], 7, "{}", doc["cleanup"]);
    assert_eq!(doc["cleanup"]["by_rule"][0]["rule"], "secret-unused");
    assert!((doc["cleanup"]["monthly_saving"].as_f64().unwrap() - 2.8).abs() < 1e-9);
    for key in ["cost", "cleanup", "secrets", "reasons"] {
        assert!(doc.get(key).is_some(), "{key} is part of the contract");
    }
    for key in [
        "month_to_date",
        "forecast_month_end",
        "annual_projection",
        "currency",
        "environments",
    ] {
        assert!(doc["cost"].get(key).is_some(), "cost.{key}");
    }
    let secrets = doc["secrets"].as_array().unwrap();
    assert_eq!(
        (
            secrets.len(),
            secrets[0]["name"].as_str(),
            secrets[0]["overdue"].as_bool()
        ),
        (2, Some("prod/api-key"), Some(true)),
        "overdue first: {secrets:?}"
    );
    assert_eq!(secrets[1]["overdue"], false);
    assert!(
        doc["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "1 secret rotation(s) overdue"),
        "{doc}"
    );
    // The account's own secrets, as moto has them: the rotation started minutes ago is pending.
    let (_, out, _) = ops(&["status", "--json", "--prefix", &env.prefix], &[]);
    let mine: Value = serde_json::from_str(&out).unwrap();
    let secret = mine["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == rotating.as_str())
        .unwrap_or_else(|| panic!("{rotating} in {}", mine["secrets"]));
    assert!(secret["rotation_pending_since"].is_string(), "{secret}");
    assert_eq!(
        secret["rotation_failed"], false,
        "minutes old: in progress, {secret}"
    );
    let cost = &doc["cost"];
    assert_eq!(
        (cost["month_to_date"].as_f64(), cost["source"].as_str()),
        (Some(987_654.5), Some("metrics")),
        "{cost}"
    );
    assert_eq!(cost["budget_use_pct"].as_f64(), Some(150.0), "{cost}");
    let ours = cost["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == environment.as_str())
        .unwrap_or_else(|| panic!("{environment} in {cost}"));
    assert_eq!(
        (
            ours["forecast_month_end"].as_f64(),
            ours["budget_use_pct"].as_f64()
        ),
        (Some(1200.0), Some(120.0))
    );
    assert!(
        doc["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("2/3 checks OK; failing: api"),
        "{doc}"
    );
    let saved: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(saved.len(), 2, "{saved:?}");
    assert!(saved.iter().all(|f| f.starts_with("status-")));

    let (code, text, _) = ops(&["status", "--prefix", &env.prefix], &[]);
    assert_eq!(code, 1);
    assert!(
        text.starts_with("overall: degraded") && text.contains("payments"),
        "{text}"
    );
    assert!(
        text.contains("cost (the cost-reporter's last report")
            && text.contains("month to date $987,654.50, forecast month end $1,500,000.00")
            && text.contains("forecast 150% OVER"),
        "{text}"
    );

    // Nothing reachable: it cannot tell, and says why.
    let (code, out, _) = ops(
        &["status", "--json", "--prefix", &env.prefix],
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, doc["overall"].as_str()), (3, Some("unknown")), "{doc}");
    assert!(
        doc["reasons"][0].as_str().unwrap().contains("could not be read"),
        "{doc}"
    );
}

#[tokio::test]
async fn health_runs_the_probes_from_a_file_filters_them_and_fails_on_an_unhealthy_check() {
    let _turn = ACCOUNT.lock().await;
    let env = Env::new().await;
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = std::env::temp_dir().join(format!("{}.yaml", ops_tests::unique("ops-checks")));
    std::fs::write(
        &file,
        format!(
            "checks:\n  - {{name: up, kind: tcp, host: 127.0.0.1, port: {port}, group: db}}\n  - {{name: down, kind: tcp, host: 127.0.0.1, port: {closed}}}\n"
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    // The test keeps the listener served on a thread of its own while ops connects.
    let (code, out, err) = tokio::task::spawn_blocking({
        let path = path.to_string();
        move || ops(&["health", "--file", &path, "--group", "db"], &[])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("up") && !out.contains("down ") && out.contains("1 healthy, 0 unhealthy"),
        "{out}"
    );
    let (code, out, _) = tokio::task::spawn_blocking({
        let path = path.to_string();
        move || ops(&["health", "--file", &path, "--json"], &[])
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "a check is unhealthy: {out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["unhealthy"], 1);
    assert!(report["checks"][0]["connect_ms"].is_number(), "{report}");
    assert!(report["alarms"].is_null(), "no alarm touched");
    let (code, _, err) = ops(&["health", "--file", "/nonexistent/checks.yaml"], &[]);
    assert_eq!(code, 3);
    assert!(err.contains("/nonexistent/checks.yaml cannot be read"), "{err}");

    // --only dns: the DNS checks alone, and no alarm appears in moto for any of them.
    let dns = ops_tests::targets::dns().await;
    let resolver = dns.addr.to_string();
    let list = json!({"checks": [
        {"name": "svc-resolves", "kind": "dns", "query": "svc.ops.test", "resolver": resolver, "expect_values": ["10.1.2.3"]},
        {"name": "up", "kind": "tcp", "host": "127.0.0.1", "port": port},
    ]});
    let file = std::env::temp_dir().join(format!("{}.json", ops_tests::unique("ops-dns")));
    std::fs::write(&file, list.to_string()).unwrap();
    let (code, out, err) = tokio::task::spawn_blocking({
        let path = file.to_str().unwrap().to_string();
        let prefix = env.prefix.clone();
        move || {
            ops(
                &["health", "--file", &path, "--only", "dns", "--json"],
                &[("ALARM_PREFIX", prefix.as_str())],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, vec!["svc-resolves"], "{report}");
    let alarms = aws_sdk_cloudwatch::Client::new(&env.stack.aws().await)
        .describe_alarms()
        .alarm_name_prefix(&env.prefix)
        .send()
        .await
        .unwrap();
    assert!(
        alarms.metric_alarms().is_empty(),
        "no alarm touched: {:?}",
        alarms.metric_alarms()
    );
    drop(env);
    drop(open);
}

/// `ops cost` prints the digest the cost-reporter would send, from Cost Explorer now, and sends
/// nothing; `ops status --live` reads its cost section the same way and says what it cost.
#[tokio::test]
async fn cost_prints_the_digest_without_sending_and_status_live_reads_cost_explorer() {
    let _turn = ACCOUNT.lock().await;
    let stack = ops_tests::Stack::get();
    let key = ops_tests::faults::access_key();
    // Refused outright, so the run rate is projected and every counted request reached the proxy.
    stack
        .faults()
        .inject(json!({"operation": "ce:GetCostForecast", "error": "deny", "access_key": key}))
        .await;
    let today = chrono::Utc::now().date_naive();
    let days: Vec<Value> = (1..=30)
        .rev()
        .map(|back| {
            let day = today - chrono::Duration::days(back);
            json!({"TimePeriod": {"Start": day.to_string(), "End": (day + chrono::Duration::days(1)).to_string()},
                   "Total": {}, "Estimated": false,
                   "Groups": [{"Keys": ["AWS Lambda"], "Metrics": {"UnblendedCost": {"Amount": "3.00", "Unit": "USD"}}}]})
        })
        .collect();
    ops_tests::inject_costs(&stack, days).await;
    // A record type no bill has: requests moto has not answered before.
    let marker = ops_tests::unique("NoSuchRecordType");
    let env = [
        ("AWS_ACCESS_KEY_ID", key.as_str()),
        ("COST_EXCLUDE_RECORD_TYPES", marker.as_str()),
    ];
    let (code, out, err) = ops(&["cost", "--period", "daily"], &env);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("Subject: AWS cost "), "{out}");
    assert!(
        out.contains("Daily AWS cost report") && out.contains("AWS Lambda"),
        "{out}"
    );
    assert!(
        out.contains("This report made 3 Cost Explorer request(s), $0.03"),
        "{out}"
    );

    let marker = ops_tests::unique("NoSuchRecordType");
    let prefix = ops_tests::unique("none-");
    let (_, out, err) = ops(
        &["status", "--json", "--live", "--prefix", &prefix],
        &[
            ("AWS_ACCESS_KEY_ID", key.as_str()),
            ("COST_EXCLUDE_RECORD_TYPES", marker.as_str()),
        ],
    );
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let cost = &doc["cost"];
    assert_eq!(
        (cost["source"].as_str(), cost["requests"].as_u64()),
        (Some("live"), Some(3)),
        "{cost}"
    );
    assert!(
        cost["note"]
            .as_str()
            .unwrap_or_default()
            .contains("3 request(s), $0.03"),
        "{cost}"
    );

    let calls = stack.faults().calls(&key).await;
    assert!(
        !calls
            .keys()
            .any(|op| op.starts_with("sns:") || op == "monitoring:PutMetricData"),
        "nothing is mailed or published: {calls:?}"
    );

    let (code, _, err) = ops(&["cost", "--period", "hourly"], &env);
    assert_eq!(code, 3, "a usage error is not a report: {err}");
}

/// `ops cleanup scan` runs the scanner's rules in report mode and prints the report; it marks,
/// deletes and publishes nothing, whatever CLEANUP_MODE says.
#[tokio::test]
async fn cleanup_scan_reports_and_changes_nothing() {
    let _turn = ACCOUNT.lock().await;
    let stack = ops_tests::Stack::get();
    let topic = ops_tests::unique("ops-scan-unused");
    // Marked long ago by its own rule: a delete run would remove it, this command must not.
    aws_sdk_sns::Client::new(&stack.aws().await)
        .create_topic()
        .name(&topic)
        .tags(
            aws_sdk_sns::types::Tag::builder()
                .key(ops_shared::CLEANUP_MARKED_TAG)
                .value("2026-01-01:sns-topic-unused")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let key = ops_tests::faults::access_key();
    // Where the function's own report goes, made before either scan: both see the same account.
    let reports = stack.topic("reports").await;
    let rules = std::env::temp_dir().join(ops_tests::unique("rules.json"));
    // One rule off: a partial scan, whose figures the function does not publish (the status test
    // reads the latest ones).
    std::fs::write(
        &rules,
        r#"{"secret-unused": {"days": 0}, "alarm-stale": {"days": 0}, "ecs-cluster-empty": {"enabled": false}}"#,
    )
    .unwrap();
    let dir = std::env::temp_dir().join(ops_tests::unique("ops-cleanup"));
    let (code, out, err) = ops(
        &[
            "cleanup",
            "scan",
            "--json",
            "--rules",
            rules.to_str().unwrap(),
            "--save",
            dir.to_str().unwrap(),
        ],
        &[
            ("AWS_ACCESS_KEY_ID", key.as_str()),
            // Even so: the command is report mode only.
            ("CLEANUP_MODE", "delete"),
            ("CLEANUP_ALLOWED_ACCOUNTS", "123456789012"),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(report["mode"], "report", "{report}");
    let unused: Vec<&str> = report["regions"][0]["rules"]["sns-topic-unused"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(unused.contains(&topic.as_str()), "{unused:?}");
    let calls = stack.faults().calls(&key).await;
    let changes: Vec<&String> = calls
        .keys()
        .filter(|op| {
            let op = op.split(':').nth(1).unwrap_or_default();
            [
                "Delete",
                "Deregister",
                "Tag",
                "Untag",
                "Put",
                "Publish",
                "Set",
                "Update",
            ]
            .iter()
            .any(|verb| op.starts_with(verb))
        })
        .collect();
    assert!(
        changes.is_empty(),
        "report mode changes nothing: {changes:?} in {calls:?}"
    );
    let saved = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(saved, 2, "cleanup-<time>.txt and .json");

    // The function's own report of the same rules lists the same candidates.
    let f = ops_tests::lambda::Function::start("cleanup-scanner", &[("REPORT_TOPIC_ARN", reports.as_str())]);
    let event = json!({"mode": "report", "rules": serde_json::from_str::<Value>(&std::fs::read_to_string(&rules).unwrap()).unwrap()});
    let function = f.invoke_json(&event).json();
    let candidates = |report: &Value| -> std::collections::BTreeMap<String, Vec<String>> {
        report["regions"][0]["rules"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(rule, r)| {
                let mut names: Vec<String> = r["candidates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|c| c["arn"].as_str().map(str::to_string))
                    .collect();
                names.sort();
                (rule.clone(), names)
            })
            .collect()
    };
    assert_eq!(
        candidates(&report),
        candidates(&function),
        "ops and the function see the same candidates"
    );

    let (code, _, err) = ops(&["cleanup", "scan", "--rules", "/nonexistent.json"], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("the rules file /nonexistent.json cannot be read"),
        "{err}"
    );
}

/// `ops rotate SECRET --wait` follows the version stages while the real secret-rotator runs the
/// four steps, and says when AWSCURRENT moves; a rotation that does not finish is exit 1, saying
/// what is left pending. No secret value is ever printed. moto cannot call a rotator, so the
/// proxy answers ops's RotateSecret as Secrets Manager does (its documented response) and the test
/// plays Secrets Manager's part: it labels AWSPENDING and invokes the function's steps.
#[tokio::test]
async fn rotate_wait_follows_the_stages_until_awscurrent_moves() {
    let _turn = ACCOUNT.lock().await;
    let stack = ops_tests::Stack::get();
    let aws = stack.aws().await;
    let sm = aws_sdk_secretsmanager::Client::new(&aws);
    let first = "first-secret-value-ops-7";
    let secret = ops_tests::create_secret(
        &aws,
        "ops-rotate",
        &format!(r#"{{"client_id":"svc","client_secret":"{first}","rotate_field":"client_secret"}}"#),
    )
    .await;
    // Rotation configured, nothing pending: the state before a scheduled rotation.
    let (configured, _) = ops_tests::start_rotation(&sm, &secret).await;
    sm.update_secret_version_stage()
        .secret_id(&secret)
        .version_stage("AWSPENDING")
        .remove_from_version_id(&configured)
        .send()
        .await
        .unwrap();
    let token = format!("{:a<40}", ops_tests::unique("token"));
    let key = ops_tests::faults::access_key();
    stack
        .faults()
        .answer(
            json!({"operation": "secretsmanager:RotateSecret", "access_key": key,
                       "body": {"ARN": secret, "Name": secret, "VersionId": token}}),
        )
        .await;
    /// Kills the background `ops` when the test fails before it ends.
    struct Reaped(std::process::Child);
    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let mut child = Reaped(
        Command::new(ops_tests::fresh::ops_cli())
            .args(["rotate", &secret, "--wait", "--interval", "1", "--timeout", "90"])
            .env("AWS_ACCESS_KEY_ID", &key)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ops runs"),
    );
    // The steps only once ops has seen the stages before them and started the rotation.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.0.stdout.take().unwrap()));
    let mut stdout = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        stdout.push_str(&line);
        stdout.push('\n');
        if line.contains("rotation started") {
            break;
        }
    }
    assert!(
        stdout.contains(&format!("rotation started: new version {token}")),
        "{stdout}"
    );
    // Secrets Manager's part: label the new version AWSPENDING, then call the rotator's steps.
    let _ = ops_tests::start_rotation_with(&sm, &secret, &token).await;
    let f = ops_tests::lambda::Function::start("secret-rotator", &[]);
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let inv = f.invoke_json(&json!({"Step": step, "SecretId": secret, "ClientRequestToken": token}));
        assert!(inv.ok, "{step}: {}", inv.error);
    }
    for line in lines {
        stdout.push_str(&line.unwrap());
        stdout.push('\n');
    }
    let status = child.0.wait().unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("AWSCURRENT moved to version {token}: rotated")),
        "{stdout}"
    );
    let new: Value = serde_json::from_str(
        &sm.get_secret_value()
            .secret_id(&secret)
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap(),
    )
    .unwrap();
    let new = new["client_secret"].as_str().unwrap();
    assert!(
        !stdout.contains(first) && !stdout.contains(new) && !stderr.contains(new),
        "no secret value is printed: {stdout}"
    );

    // Started and never finished: the old credentials stand, and it says what is left.
    let stuck = ops_tests::create_secret(
        &aws,
        "ops-rotate-stuck",
        r#"{"client_secret":"x-ops-7","rotate_field":"client_secret"}"#,
    )
    .await;
    // A rotation left pending: ops follows it (Secrets Manager retries it) rather than start another.
    let (pending, _) = ops_tests::start_rotation(&sm, &stuck).await;
    let (code, stdout, stderr) = ops(
        &["rotate", &stuck, "--wait", "--interval", "1", "--timeout", "2"],
        &[("AWS_ACCESS_KEY_ID", key.as_str())],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("did not rotate within 2s")
            && stderr.contains(&format!("version {pending} is still AWSPENDING")),
        "{stderr}"
    );

    let (code, _, stderr) = ops(&["rotate", "no-such-secret-ops"], &[]);
    assert_eq!(code, 3, "{stderr}");
}

/// `ops health --remote` invokes the deployed health-checker (here behind `cargo lambda watch`'s
/// Invoke API, as Lambda's) with a component run of the filters and prints its answer; the exit
/// code is the same as for a local run.
// Multi-threaded: `ops` blocks this thread while the local target must keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_remote_invokes_the_deployed_function_with_a_component_run() {
    let _turn = ACCOUNT.lock().await;
    let env = Env::new().await;
    let web = ops_tests::targets::http().await;
    let checks = json!({"checks": [
        {"name": "pay-api", "kind": "http", "url": web.url("/ok"), "group": "payments"},
        {"name": "search", "kind": "http", "url": web.url("/status/502"), "group": "search"},
    ]});
    let mut vars = env.vars();
    vars.push(("HEALTH_CHECKS", checks.to_string()));
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let f = ops_tests::lambda::Function::start("health-checker", &pairs);
    let endpoint = f.invoke_endpoint();
    let lambda = [("AWS_ENDPOINT_URL_LAMBDA", endpoint.as_str())];

    let (code, out, err) = ops(
        &[
            "health",
            "--remote",
            "--function",
            "health-checker",
            "--group",
            "payments",
        ],
        &lambda,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("pay-api") && l.contains(" healthy "))
            && !out.contains("search"),
        "{out}"
    );
    assert!(out.contains("the deployed function's run"), "{out}");

    let (code, out, err) = ops(
        &["health", "--remote", "--function", "health-checker", "--json"],
        &lambda,
    );
    assert_eq!(code, 1, "the whole list, one unhealthy: {out}\n{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["checks"].as_array().unwrap().len(), 2, "{answer}");
    assert!(
        answer["alarms"].is_null(),
        "a component run touches no alarm: {answer}"
    );
    assert!(
        aws_sdk_cloudwatch::Client::new(&env.stack.aws().await)
            .describe_alarms()
            .alarm_name_prefix(&env.prefix)
            .send()
            .await
            .unwrap()
            .metric_alarms()
            .is_empty(),
        "no alarm was created under the checker's prefix"
    );

    let (code, out, _) = ops(
        &[
            "health",
            "--remote",
            "--function",
            "health-checker",
            "--name",
            "no-match-*",
        ],
        &lambda,
    );
    assert_eq!(code, 3, "nothing matched: {out}");
    assert!(out.contains("no check matched"), "{out}");

    let (code, _, err) = ops(&["health", "--remote", "--function", "no-such-function"], &lambda);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no-such-function"), "{err}");
}
