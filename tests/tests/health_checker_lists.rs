//! health-checker over the local stack: the list from an S3 object (`HEALTH_CHECKS_URL`), what the
//! alarms say of their check (tags), `METRICS_MODE=per-group`, and a fresh, timed connection for
//! every check on every run.

use std::sync::atomic::Ordering;
use std::time::Duration;

use health_checker::{Config, Deps, HealthError};
use ops_tests::targets;
use serde_json::{json, Value};

mod health;
use health::{tcp_checks, Env};

fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
}

fn yaml(checks: &[Value]) -> String {
    let mut out = String::from("checks:\n");
    for c in checks {
        out.push_str(&format!(
            "  - name: {}\n    kind: tcp\n    host: \"{}\"\n    port: {}\n",
            c["name"].as_str().unwrap(),
            c["host"].as_str().unwrap(),
            c["port"]
        ));
    }
    out
}

fn scheduled() -> Value {
    json!({"detail-type": "Scheduled Event", "source": "aws.events"})
}

#[tokio::test]
async fn a_list_in_s3_is_read_again_only_when_it_changes_and_a_broken_one_touches_no_alarm() {
    let env = Env::new().await;
    let aws = env.stack.aws().await;
    let s3 = s3(&aws);
    let bucket = ops_tests::unique("health-lists").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    let checks = tcp_checks(3, port);
    put(&s3, &bucket, "health/checks.yaml", &yaml(&checks[..2])).await;

    let mut vars = env.vars();
    vars.push(("HEALTH_CHECKS_URL", format!("s3://{bucket}/health/checks.yaml")));
    let config = Config::from_vars(&ops_shared::Vars::from_pairs(vars)).unwrap();
    // One container: read at cold start, then once a run if the object changed.
    let deps = Deps::connect(&config).await.unwrap();
    let run = |event: Value| {
        let deps = &deps;
        let config = &config;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            health_checker::run::run(deps, config, &event, deadline).await
        }
    };

    let first = run(scheduled()).await.unwrap();
    assert_eq!(first.healthy, 2);
    assert_eq!(first.alarms.unwrap().created.len(), 2);
    let read = first.checks_file.unwrap();
    assert!(
        !read.read,
        "read at cold start; this run's conditional read was answered 304"
    );
    assert_eq!(read.object, format!("s3://{bucket}/health/checks.yaml"));

    put(&s3, &bucket, "health/checks.yaml", &yaml(&checks)).await;
    let changed = run(scheduled()).await.unwrap();
    assert!(changed.checks_file.as_ref().unwrap().read, "a new ETag is read");
    assert_ne!(changed.checks_file.unwrap().etag, read.etag);
    assert_eq!(
        changed.alarms.unwrap().created,
        vec![format!("{}c02", env.prefix)]
    );

    // A component run selects from the file's list too.
    let component = run(json!({"only": {"names": ["c00", "c01"]}})).await.unwrap();
    assert_eq!(component.checks.len(), 2);

    put(&s3, &bucket, "health/checks.yaml", "checks:\n  - name: [c00\n").await;
    let err = run(scheduled()).await.unwrap_err();
    assert!(matches!(err, HealthError::ChecksFile { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("s3://{bucket}/health/checks.yaml is not valid YAML"))
            && text.contains("line"),
        "{text}"
    );
    put(&s3, &bucket, "health/checks.yaml", "check: []\n").await;
    let err = run(scheduled()).await.unwrap_err().to_string();
    assert!(err.contains("has no field checks"), "{err}");
    s3.delete_object()
        .bucket(&bucket)
        .key("health/checks.yaml")
        .send()
        .await
        .unwrap();
    let err = run(scheduled()).await.unwrap_err().to_string();
    assert!(
        err.contains("could not be read") && err.contains("NoSuchKey"),
        "{err}"
    );
    assert_eq!(
        env.alarm_names().await.len(),
        3,
        "no alarm was touched by a broken list"
    );
    // An ad-hoc list does not need the file.
    let adhoc = run(json!({"checks": [checks[0]]})).await.unwrap();
    assert_eq!(adhoc.healthy, 1);
    drop(open);
}

#[tokio::test]
async fn every_alarm_carries_its_checks_kind_and_group_and_a_new_group_is_retagged() {
    let env = Env::new().await;
    let web = targets::http().await;
    let mut checks = vec![
        json!({"name": "api", "kind": "http", "url": web.url("/ok"), "group": "payments"}),
        json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": web.addr.port()}),
    ];
    env.run_configured(Value::Array(checks.clone())).await;
    let cw = aws_sdk_cloudwatch::Client::new(&env.stack.aws().await);
    let tags = |name: String| {
        let cw = cw.clone();
        async move {
            let alarm = cw.describe_alarms().alarm_names(&name).send().await.unwrap();
            let arn = alarm.metric_alarms()[0].alarm_arn().unwrap().to_string();
            let mut tags: Vec<(String, String)> = cw
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                .collect();
            tags.sort();
            tags
        }
    };
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        tags(format!("{}api", env.prefix)).await,
        vec![
            pair("ops-lambdas:check-group", "payments"),
            pair("ops-lambdas:check-kind", "http")
        ]
    );
    assert_eq!(
        tags(format!("{}db", env.prefix)).await,
        vec![
            pair("ops-lambdas:check-group", ""),
            pair("ops-lambdas:check-kind", "tcp")
        ]
    );
    checks[1]["group"] = json!("storage");
    let moved = env.run_configured(Value::Array(checks)).await;
    assert_eq!(moved.alarms.unwrap().updated, vec![format!("{}db", env.prefix)]);
    assert_eq!(
        tags(format!("{}db", env.prefix)).await,
        vec![
            pair("ops-lambdas:check-group", "storage"),
            pair("ops-lambdas:check-kind", "tcp")
        ]
    );
}

#[tokio::test]
async fn per_group_mode_publishes_one_count_and_keeps_one_alarm_a_group() {
    let env = Env::new().await;
    let web = targets::http().await;
    let checks = json!([
        {"name": "pay-api", "kind": "http", "url": web.url("/ok"), "group": "payments"},
        {"name": "pay-down", "kind": "http", "url": web.url("/status/503"), "group": "payments"},
        {"name": "lone", "kind": "tcp", "host": "127.0.0.1", "port": web.addr.port()},
    ]);
    let mut vars = env.vars();
    vars.push(("METRICS_MODE", "per-group".into()));
    vars.push(("HEALTH_CHECKS", json!({ "checks": checks }).to_string()));
    let config = Config::from_vars(&ops_shared::Vars::from_pairs(vars)).unwrap();
    let report = env.run_event(&config, scheduled()).await.unwrap();
    assert_eq!(
        report.checks.len(),
        3,
        "per-check results are still in the result"
    );
    let mut created = report.alarms.unwrap().created;
    created.sort();
    assert_eq!(
        created,
        vec![
            format!("{}group-payments", env.prefix),
            format!("{}group-ungrouped", env.prefix)
        ]
    );
    assert_eq!(report.metric_requests, 1);
    let points = health::datapoints(&env.stack, "ChecksUnhealthy", ("Group", "payments")).await;
    assert!(
        points.iter().any(|d| d.maximum() == Some(1.0)),
        "one of payments' two checks is down: {points:?}"
    );
    let check_healthy = health::check_healthy(&env.stack, "pay-down").await;
    assert!(
        check_healthy.is_empty(),
        "no per-check metric in per-group mode: {check_healthy:?}"
    );
}

#[tokio::test]
async fn every_run_opens_its_own_connections_and_times_each_phase() {
    let env = Env::new().await;
    let (server, accepted) = targets::keep_alive_http().await;
    let (tls, pem) = targets::tls(60).await;
    let mut env = env;
    let bundle = std::env::temp_dir().join(format!("{}.pem", ops_tests::unique("health-ca")));
    std::fs::write(&bundle, pem).unwrap();
    env.bundle = Some(bundle.display().to_string());
    let url = format!("http://localhost:{}/health", server.addr.port());
    let checks = json!([
        {"name": "web", "kind": "http", "url": url},
        {"name": "cert", "kind": "tls", "host": "localhost", "port": tls.addr.port()},
    ]);
    let config = env.config();
    // One container, three runs: a pooled client would open one connection for all of them.
    let deps = Deps::connect(&config).await.unwrap();
    for run in 1..=3 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let report = health_checker::run::run(&deps, &config, &json!({ "checks": checks }), deadline)
            .await
            .unwrap();
        assert_eq!(report.healthy, 2, "{:?}", report.checks);
        assert_eq!(accepted.load(Ordering::SeqCst), run, "one new connection a run");
        let out = serde_json::to_value(&report).unwrap();
        for key in ["dns_ms", "connect_ms", "first_byte_ms"] {
            assert!(
                out["checks"][0][key].is_number(),
                "web has {key}: {}",
                out["checks"][0]
            );
        }
        assert!(
            out["checks"][0].get("tls_ms").is_none(),
            "plain HTTP has no TLS phase"
        );
        for key in ["dns_ms", "connect_ms", "tls_ms"] {
            assert!(
                out["checks"][1][key].is_number(),
                "cert has {key}: {}",
                out["checks"][1]
            );
        }
    }
}

#[tokio::test]
async fn credentials_go_to_the_checks_own_origin_and_never_follow_a_redirect_elsewhere() {
    let env = Env::new().await;
    let here = targets::http().await;
    let elsewhere = targets::http().await;
    let via = |to: String| format!("{}?to={}", here.url("/redirect-to"), to);
    let secret = json!({"authorization": "Bearer s3cret-token"});
    let port = here.addr.port();
    let report = env
        .run(json!([
            {"name": "same-origin", "kind": "http", "url": via(here.url("/authorization")), "headers": secret, "body_contains": "Bearer s3cret-token"},
            {"name": "other-origin", "kind": "http", "url": via(elsewhere.url("/authorization")), "headers": secret, "body_contains": "none"},
            {"name": "url-credentials", "kind": "http", "url": format!("http://ops:pa%40ss@127.0.0.1:{port}/authorization"), "body_contains": "Basic b3BzOnBhQHNz"},
            {"name": "url-credentials-unshown", "kind": "http", "url": format!("http://ops:pa%40ss@127.0.0.1:{port}/status/503")},
        ]))
        .await;
    let r = health::by_name(&report);
    for name in ["same-origin", "other-origin", "url-credentials"] {
        assert!(r[name].0, "{name}: {:?}", r[name]);
    }
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("pa%40ss") && !text.contains("s3cret"), "{text}");
}

#[tokio::test]
async fn an_alarm_under_the_prefix_that_is_not_a_checks_is_never_retired_or_deleted() {
    // With the default stack name and prefix, the stack's own alarms about the checker
    // (`ops-lambdas-health-checker-heartbeat`, ...) are under the checker's prefix.
    let env = Env::new().await;
    let cw = aws_sdk_cloudwatch::Client::new(&env.stack.aws().await);
    let heartbeat = format!("{}checker-heartbeat", env.prefix);
    cw.put_metric_alarm()
        .alarm_name(&heartbeat)
        .namespace("OpsLambdas")
        .metric_name("RunsCompleted")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(300)
        .evaluation_periods(3)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::LessThanThreshold)
        .alarm_actions(&env.topic)
        .send()
        .await
        .unwrap();
    cw.set_alarm_state()
        .alarm_name(&heartbeat)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("the checker stopped")
        .send()
        .await
        .unwrap();
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    for _ in 0..3 {
        let report = env.run_configured(Value::Array(tcp_checks(2, port))).await;
        let changes = report.alarms.unwrap();
        assert!(
            changes.retired.is_empty() && changes.deleted.is_empty(),
            "{changes:?}"
        );
    }
    let left = cw.describe_alarms().alarm_names(&heartbeat).send().await.unwrap();
    let alarm = &left.metric_alarms()[0];
    assert_eq!(
        alarm.alarm_actions(),
        std::slice::from_ref(&env.topic),
        "its ALARM action is still there"
    );
    drop(open);
}
