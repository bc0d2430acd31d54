//! health-checker against real local targets (HTTP, TLS, DNS, closed ports) and moto (ECS services,
//! alarms, metrics), driven through its handler logic and once through `cargo lambda invoke`.

use std::time::Duration;

use health_checker::{Config, Deps};
use ops_tests::faults::access_key;
use ops_tests::lambda::Function;
use ops_tests::{targets, unique};
use serde_json::{json, Value};

mod health;
use health::{by_name, check_healthy, tcp_checks, Env};

#[tokio::test]
async fn http_conditions_are_judged_against_a_real_server() {
    let env = Env::new().await;
    let web = targets::http().await;
    let report = env
        .run(json!([
            {"name": "ok", "kind": "http", "url": web.url("/ok"), "json": [{"path": "$.status", "equals": "ok"}, {"path": "$.db.up", "exists": true}], "body_contains": "\"lag\""},
            {"name": "slow-latency", "kind": "http", "url": web.url("/slow"), "max_latency": "1s"},
            {"name": "slow-timeout", "kind": "http", "url": web.url("/slow"), "timeout": "500ms"},
            {"name": "wrong-status", "kind": "http", "url": web.url("/status/503")},
            {"name": "teapot-expected", "kind": "http", "url": web.url("/status/418"), "expect_status": ["400-499"]},
            {"name": "bad-json", "kind": "http", "url": web.url("/bad-json"), "json": [{"path": "$.status", "equals": "ok"}]},
            {"name": "wrong-value", "kind": "http", "url": web.url("/ok"), "json": [{"path": "$.db.lag", "equals": 5}]},
            {"name": "huge", "kind": "http", "url": web.url("/huge"), "body_contains": "y"},
            {"name": "redirect-followed", "kind": "http", "url": web.url("/redirect"), "expect_status": [200]},
            {"name": "redirect-kept", "kind": "http", "url": web.url("/redirect"), "follow_redirects": false, "expect_status": [200]},
        ]))
        .await;
    let r = by_name(&report);
    assert!(r["ok"].0, "{:?}", r["ok"]);
    assert!(
        r["slow-latency"].1.contains("over max_latency 1000 ms"),
        "{:?}",
        r["slow-latency"]
    );
    assert!(
        r["slow-timeout"].1.contains("timed out"),
        "{:?}",
        r["slow-timeout"]
    );
    assert_eq!(r["wrong-status"].1, "HTTP 503, expected 200-399");
    assert!(r["teapot-expected"].0);
    assert_eq!(r["bad-json"].1, "the body is not JSON");
    assert_eq!(r["wrong-value"].1, "$.db.lag is 0, expected 5");
    assert!(r["huge"].1.contains("larger than 1 MB"));
    assert!(r["redirect-followed"].0);
    assert!(
        r["redirect-kept"].1.starts_with("HTTP 307"),
        "{:?}",
        r["redirect-kept"]
    );
}

#[tokio::test]
async fn tcp_dns_and_tls_checks_against_real_servers() {
    let mut env = Env::new().await;
    let web = targets::http().await;
    let dns = targets::dns().await;
    let (short, short_pem) = targets::tls(2).await;
    let (long, long_pem) = targets::tls(60).await;
    let (untrusted, _) = targets::tls(60).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bundle = std::env::temp_dir().join(format!("{}.pem", unique("health-ca")));
    std::fs::write(&bundle, format!("{short_pem}{long_pem}")).unwrap();
    env.bundle = Some(bundle.display().to_string());
    let resolver = dns.addr.to_string();

    let report = env
        .run(json!([
            {"name": "tcp-open", "kind": "tcp", "host": "127.0.0.1", "port": web.addr.port()},
            {"name": "tcp-closed", "kind": "tcp", "host": "127.0.0.1", "port": closed},
            {"name": "dns-resolves", "kind": "dns", "query": "svc.ops.test", "resolver": resolver, "expect_values": ["10.1.2.3"]},
            {"name": "dns-wrong-value", "kind": "dns", "query": "svc.ops.test", "resolver": resolver, "expect_values": ["10.9.9.9"]},
            {"name": "dns-missing", "kind": "dns", "query": "gone.ops.test", "resolver": resolver},
            {"name": "dns-must-not-exist", "kind": "dns", "query": "gone.ops.test", "resolver": resolver, "expect_rcode": "NXDOMAIN"},
            {"name": "tls-expiring", "kind": "tls", "host": "localhost", "port": short.addr.port(), "min_days_left": 14},
            {"name": "tls-good", "kind": "tls", "host": "localhost", "port": long.addr.port()},
            {"name": "tls-untrusted", "kind": "tls", "host": "localhost", "port": untrusted.addr.port()},
        ]))
        .await;
    let r = by_name(&report);
    assert!(r["tcp-open"].0);
    assert!(
        r["tcp-closed"].1.contains("could not connect"),
        "{:?}",
        r["tcp-closed"]
    );
    assert!(r["dns-resolves"].0, "{:?}", r["dns-resolves"]);
    assert!(
        r["dns-wrong-value"].1.contains("missing [\"10.9.9.9\"]"),
        "{:?}",
        r["dns-wrong-value"]
    );
    assert!(r["dns-missing"].1.contains("NXDOMAIN"), "{:?}", r["dns-missing"]);
    assert!(r["dns-must-not-exist"].0, "{:?}", r["dns-must-not-exist"]);
    let (healthy, reason, days) = &r["tls-expiring"];
    assert!(!healthy && reason.contains("under min_days_left 14"), "{reason}");
    assert!(days.is_some_and(|d| (0..=2).contains(&d)), "{days:?}");
    assert!(r["tls-good"].0, "{:?}", r["tls-good"]);
    assert!(r["tls-good"].2.is_some_and(|d| d >= 58));
    assert!(
        r["tls-untrusted"].1.contains("chain is not valid"),
        "{:?}",
        r["tls-untrusted"]
    );
    assert!(
        r["tls-untrusted"].2.is_some(),
        "days left are reported even for an untrusted chain"
    );
    let _ = std::fs::remove_file(bundle);
}

#[tokio::test]
async fn ecs_services_healthy_and_degraded_are_told_apart() {
    let env = Env::new().await;
    let ecs = aws_sdk_ecs::Client::new(&env.stack.aws().await);
    let cluster = unique("prod");
    ecs.create_cluster().cluster_name(&cluster).send().await.unwrap();
    let family = unique("web");
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("web")
        .image("nginx")
        .memory(128)
        .build();
    ecs.register_task_definition()
        .family(&family)
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    for (service, desired) in [("steady", 0), ("degraded", 2)] {
        ecs.create_service()
            .cluster(&cluster)
            .service_name(service)
            .task_definition(&family)
            .desired_count(desired)
            .send()
            .await
            .unwrap();
    }
    // moto starts services with no running task; UpdateService brings runningCount to the desired count.
    ecs.update_service()
        .cluster(&cluster)
        .service("steady")
        .desired_count(2)
        .send()
        .await
        .unwrap();

    let report = env
        .run(json!([
            {"name": "steady", "kind": "ecs", "cluster": cluster, "service": "steady", "min_running": 2},
            {"name": "degraded", "kind": "ecs", "cluster": cluster, "service": "degraded"},
            {"name": "missing", "kind": "ecs", "cluster": cluster, "service": "nope"},
        ]))
        .await;
    let r = by_name(&report);
    assert!(r["steady"].0, "{:?}", r["steady"]);
    assert_eq!(r["degraded"].1, "0 of 2 desired tasks running");
    assert!(r["missing"].1.contains("not found"), "{:?}", r["missing"]);
}

#[tokio::test]
async fn alarms_are_created_updated_and_deleted_and_metrics_are_readable() {
    let env = Env::new().await;
    let web = targets::http().await;
    let cw = aws_sdk_cloudwatch::Client::new(&env.stack.aws().await);
    let first = env
        .run_configured(json!([
            {"name": "keep", "kind": "http", "url": web.url("/ok")},
            {"name": "change", "kind": "http", "url": web.url("/status/500")},
            {"name": "drop", "kind": "tcp", "host": "127.0.0.1", "port": web.addr.port()},
        ]))
        .await;
    let alarms = first.alarms.unwrap();
    assert_eq!(alarms.created.len(), 3);
    assert_eq!(first.metric_requests, 1);

    let second = env
        .run_configured(json!([
            {"name": "keep", "kind": "http", "url": web.url("/ok")},
            {"name": "change", "kind": "http", "url": web.url("/status/500"), "failure_threshold": 1, "evaluation_runs": 2},
        ]))
        .await
        .alarms
        .unwrap();
    assert!(second.created.is_empty());
    assert_eq!(second.updated, vec![format!("{}change", env.prefix)]);
    assert_eq!(second.deleted, vec![format!("{}drop", env.prefix)]);

    let described = cw
        .describe_alarms()
        .alarm_name_prefix(&env.prefix)
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = described
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![format!("{}change", env.prefix), format!("{}keep", env.prefix)]
    );
    let change = described
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name().unwrap().ends_with("change"))
        .unwrap();
    assert_eq!(
        (change.datapoints_to_alarm(), change.evaluation_periods()),
        (Some(1), Some(2))
    );
    assert_eq!(
        change.treat_missing_data(),
        Some("missing"),
        "a run that did not happen pages nobody"
    );
    assert_eq!(change.alarm_actions(), std::slice::from_ref(&env.topic));
    assert_eq!(change.ok_actions(), std::slice::from_ref(&env.topic));

    let third = env.run_configured(json!([{"name": "keep", "kind": "http", "url": web.url("/ok")}, {"name": "change", "kind": "http", "url": web.url("/status/500"), "failure_threshold": 1, "evaluation_runs": 2}])).await;
    let unchanged = third.alarms.unwrap();
    assert!(unchanged.created.is_empty() && unchanged.updated.is_empty() && unchanged.deleted.is_empty());

    let points = check_healthy(&env.stack, "change").await;
    assert!(!points.is_empty());
    assert!(
        points.iter().all(|p| p.maximum == Some(0.0)),
        "the failing check reported 0: {points:?}"
    );
}

#[tokio::test]
async fn a_thousand_checks_finish_within_the_deadline_in_two_metric_requests_and_one_for_the_run() {
    let env = Env::new().await;
    let web = targets::http().await;
    let checks: Vec<Value> = (0..1000)
        .map(|i| json!({"name": format!("bulk-{i}"), "kind": "http", "url": web.url("/latency50"), "timeout": "20s"}))
        .collect();
    let mut env_no_alarms = env;
    env_no_alarms.prefix = format!("{}-", unique("ops-lambdas-health-bulk"));
    let report = env_no_alarms.run(Value::Array(checks)).await;
    assert_eq!(report.checks.len(), 1000);
    assert_eq!(
        report.healthy,
        1000,
        "{:?}",
        report.checks.iter().find(|c| !c.outcome.healthy)
    );
    assert_eq!(
        report.metric_requests, 3,
        "2000 datapoints in two PutMetricData calls, and one for the run's own two (ChecksSkipped, RunsCompleted)"
    );
}

// Multi-threaded: `cargo lambda invoke` blocks this thread while the local target must keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_through_cargo_lambda_invoke_reports_each_check_and_logs_the_failures() {
    let env = Env::new().await;
    let web = targets::http().await;
    let vars = env.vars();
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let f = Function::start("health-checker", &pairs);
    let inv = f.invoke_json(&json!({"checks": [
        {"name": "up", "kind": "http", "url": web.url("/ok")},
        {"name": "down", "kind": "http", "url": web.url("/status/502")},
    ]}));
    let out = inv.json();
    assert_eq!(
        (out["healthy"].as_u64(), out["unhealthy"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    assert_eq!(out["checks"][1]["reason"], "HTTP 502, expected 200-399");
    assert!(out["checks"][0]["latency_ms"].is_u64());
    let logs = f.logs();
    assert_eq!(
        logs.matches("check failed").count(),
        1,
        "one line per failed check:\n{logs}"
    );

    // Nothing configured: not an error (the default deploy must not fail every five minutes).
    let scheduled = f.invoke_file("events/health-checker/scheduled-event.json");
    assert!(scheduled.ok, "{}", scheduled.error);
    assert!(
        scheduled.json()["note"]
            .as_str()
            .unwrap_or("")
            .contains("HEALTH_CHECKS"),
        "{}",
        scheduled.output
    );
}

// Multi-threaded: `cargo lambda invoke` blocks this thread while the local target must keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_ecs_reads_call_no_service_unhealthy_and_fail_the_run_naming_the_throttle() {
    let env = Env::new().await;
    let web = targets::http().await;
    let key = access_key();
    env.stack.faults().throttle("ecs:DescribeServices", &key).await;
    let mut vars = env.vars();
    vars.push(("AWS_ACCESS_KEY_ID", key.clone()));
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let f = Function::start("health-checker", &pairs);
    let (web_check, ecs_check) = (unique("throttle-web"), unique("throttle-ecs"));

    let inv = f.invoke_json(&json!({"checks": [
        {"name": web_check, "kind": "http", "url": web.url("/ok")},
        {"name": ecs_check, "kind": "ecs", "cluster": "prod", "service": "api"},
    ]}));
    inv.assert_throttled("ecs:DescribeServices", "ThrottlingException");
    let web_points = check_healthy(&env.stack, &web_check).await;
    assert_eq!(
        web_points.len(),
        1,
        "the HTTP check still reported: {web_points:?}"
    );
    assert_eq!(web_points[0].minimum, Some(1.0), "{web_points:?}");
    let ecs_points = check_healthy(&env.stack, &ecs_check).await;
    assert!(
        ecs_points.is_empty(),
        "an unread service is never reported unhealthy: {ecs_points:?}"
    );
    let logs = f.logs();
    assert!(
        !logs.contains("check failed"),
        "no check is logged as failed:\n{logs}"
    );
}

/// `n` TCP checks against one open port, named `c00`, `c01`, ...
#[tokio::test]
async fn a_component_run_of_dns_checks_only_deletes_no_alarm() {
    let env = Env::new().await;
    let dns = targets::dns().await;
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    let mut checks = tcp_checks(3, port);
    checks.push(
        json!({"name": "api-dns", "kind": "dns", "query": "svc.ops.test", "resolver": dns.addr.to_string()}),
    );
    let first = env.run_configured(Value::Array(checks.clone())).await;
    assert_eq!(first.alarms.unwrap().created.len(), 4);

    let config = env.configured(&Value::Array(checks));
    let component = env
        .run_event(&config, json!({"only": {"kinds": ["dns"]}}))
        .await
        .unwrap();
    assert_eq!(component.checks.len(), 1, "only the DNS check ran");
    assert!(component.alarms.is_none());
    assert_eq!(env.alarm_names().await.len(), 4, "every alarm is still there");
    drop(open);
}

#[tokio::test]
async fn removing_three_of_forty_checks_deletes_exactly_their_alarms_resolving_the_alarmed_one_first() {
    let env = Env::new().await;
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    let all = tcp_checks(40, port);
    env.run_configured(Value::Array(all.clone())).await;
    assert_eq!(env.alarm_names().await.len(), 40);
    let cw = aws_sdk_cloudwatch::Client::new(&env.stack.aws().await);
    let alarmed = format!("{}c01", env.prefix);
    cw.set_alarm_state()
        .alarm_name(&alarmed)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("paging now")
        .send()
        .await
        .unwrap();

    let kept: Vec<Value> = all.iter().skip(3).cloned().collect();
    let changes = env
        .run_configured(Value::Array(kept.clone()))
        .await
        .alarms
        .unwrap();
    let name = |i: usize| format!("{}c{i:02}", env.prefix);
    assert_eq!(changes.deleted, vec![name(0), name(2)]);
    assert_eq!(
        changes.retired,
        vec![alarmed.clone()],
        "set to OK first, so its incident resolves"
    );
    assert_eq!(changes.waiting, 0);
    let retired = cw.describe_alarms().alarm_names(&alarmed).send().await.unwrap();
    let retired = &retired.metric_alarms()[0];
    assert_eq!(
        retired.state_value(),
        Some(&aws_sdk_cloudwatch::types::StateValue::Ok)
    );
    assert!(retired.alarm_actions().is_empty(), "it can page no more");
    assert_eq!(
        retired.ok_actions(),
        std::slice::from_ref(&env.topic),
        "its OK told the forwarder"
    );

    let next = env.run_configured(Value::Array(kept)).await.alarms.unwrap();
    assert_eq!(next.deleted, vec![alarmed]);
    let left = env.alarm_names().await;
    assert_eq!(left.len(), 37);
    assert!((0..3).all(|i| !left.contains(&name(i))));
    drop(open);
}

#[tokio::test]
async fn an_empty_configured_list_succeeds_and_a_shared_name_is_refused() {
    let env = Env::new().await;
    let empty = env.configured(&json!([]));
    let report = env
        .run_event(&empty, json!({"detail-type": "Scheduled Event"}))
        .await
        .expect("nothing configured is not an error");
    assert!(report.checks.is_empty() && report.note.is_some());

    let twice = json!([
        {"name": "same", "kind": "tcp", "host": "127.0.0.1", "port": 1},
        {"name": "same", "kind": "tcp", "host": "127.0.0.1", "port": 2},
    ]);
    let err = env
        .run_event(&env.configured(&twice), json!({"detail-type": "Scheduled Event"}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checks[0] and checks[1]") && err.contains("same"),
        "{err}"
    );
    assert!(env.alarm_names().await.is_empty(), "no alarm was made for either");
}

#[tokio::test]
async fn a_check_that_could_not_start_publishes_no_check_healthy() {
    let env = Env::new().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let web = targets::http().await;
    let (ran, never) = (unique("ran"), unique("never-started"));
    let mut vars = env.vars();
    vars.push(("HEALTH_CONCURRENCY", "1".to_string()));
    let config = Config::from_vars(&ops_shared::Vars::from_pairs(vars)).unwrap();
    let deps = Deps::connect(&config).await.unwrap();
    // One at a time: a quick healthy check, one that hangs until the budget is spent, one that
    // never gets to start.
    let checks = json!({"checks": [
        {"name": ran, "kind": "http", "url": web.url("/ok")},
        {"name": unique("hangs"), "kind": "http", "url": format!("http://127.0.0.1:{port}/"), "timeout": "30s"},
        {"name": never, "kind": "tcp", "host": "127.0.0.1", "port": web.addr.port()},
    ]});
    let deadline = tokio::time::Instant::now() + Duration::from_millis(5000);
    let report = health_checker::run::run(&deps, &config, &checks, deadline)
        .await
        .unwrap();
    assert_eq!(report.healthy, 1, "{:?}", report.checks);
    assert!(report.skipped.contains(&never), "{:?}", report.checks);
    assert!(
        !check_healthy(&env.stack, &ran).await.is_empty(),
        "the check that ran published"
    );
    assert!(
        check_healthy(&env.stack, &never).await.is_empty(),
        "no CheckHealthy for a check that never ran"
    );
    drop(silent);
}

/// CloudWatch's PutMetricAlarm quota is a few a second. With the stack's proxy holding it to 3 a
/// second, a first run of 200 checks writes what fits, defers the rest, and never fails; later
/// runs finish the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_first_run_of_200_checks_completes_over_several_runs_without_failing() {
    let env = Env::new().await;
    // Accepts and drops: 200 checks at once would fill a listener's backlog otherwise.
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((conn, _)) = open.accept().await {
            drop(conn);
        }
    });
    let key = access_key();
    env.stack
        .faults()
        .rate(
            json!({"operation": "monitoring:PutMetricAlarm", "per_second": 3, "burst": 3, "access_key": key}),
        )
        .await;
    let checks = Value::Array(
        (0..200)
            .map(|i| json!({"name": format!("r{i:03}"), "kind": "tcp", "host": "127.0.0.1", "port": port}))
            .collect(),
    );
    let config = env.configured(&checks);
    let mut deps = Deps::connect(&config).await.unwrap();
    let signed = ops_tests::faults::signed_with(&env.stack.aws().await, &key);
    deps.alarms = Box::new(health_checker::aws_cloudwatch::CloudWatchAlarms::new(
        aws_sdk_cloudwatch::Client::new(&signed),
    ));
    let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events"});
    let mut runs = 0;
    let mut deferred_once = false;
    while env.alarm_names().await.len() < 200 {
        runs += 1;
        assert!(
            runs <= 8,
            "200 alarms should be written within 8 runs of 25 s at 3 a second"
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
        let report = health_checker::run::run(&deps, &config, &scheduled, deadline)
            .await
            .unwrap_or_else(|e| panic!("run {runs} failed: {e}"));
        let alarms = report.alarms.unwrap();
        deferred_once |= alarms.deferred > 0;
        assert_eq!(report.healthy, 200, "the checks themselves all ran in run {runs}");
    }
    assert!(
        runs > 1 && deferred_once,
        "the rate limit made the work span runs ({runs})"
    );
    assert!(
        env.stack.faults().calls(&key).await["monitoring:PutMetricAlarm"] >= 200,
        "every alarm went through the rate-limited proxy"
    );
}

/// The response code comes from the response itself: SERVFAIL and REFUSED are told apart from a
/// resolver that did not answer, and `expect_rcode` matches them.
#[tokio::test]
async fn dns_response_codes_come_from_the_response() {
    let env = Env::new().await;
    let dns = targets::dns().await;
    let resolver = dns.addr.to_string();
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let nobody = silent.local_addr().unwrap().to_string();
    let report = env
        .run(json!([
            {"name": "servfail-expected", "kind": "dns", "query": "servfail.ops.test", "resolver": resolver, "expect_rcode": "SERVFAIL"},
            {"name": "refused-expected", "kind": "dns", "query": "refused.ops.test", "resolver": resolver, "expect_rcode": "REFUSED"},
            {"name": "servfail-is-unhealthy", "kind": "dns", "query": "servfail.ops.test", "resolver": resolver},
            {"name": "no-answer", "kind": "dns", "query": "svc.ops.test", "resolver": nobody, "expect_rcode": "SERVFAIL", "timeout": "1s"},
        ]))
        .await;
    let by = by_name(&report);
    assert!(by["servfail-expected"].0, "{:?}", by["servfail-expected"]);
    assert!(by["refused-expected"].0, "{:?}", by["refused-expected"]);
    assert_eq!(
        by["servfail-is-unhealthy"].1,
        "servfail.ops.test answered SERVFAIL"
    );
    assert!(
        !by["no-answer"].0,
        "no answer is not a SERVFAIL: {:?}",
        by["no-answer"]
    );
    drop(silent);
}

/// An intermediate that expires before the leaf breaks the chain as surely: the check reports the
/// earliest expiry in the served chain and names the intermediate.
#[tokio::test]
async fn an_intermediate_expiring_first_is_what_the_tls_check_reports() {
    let mut env = Env::new().await;
    let (server, root_pem) = targets::tls_chain(300, 5).await;
    let bundle = std::env::temp_dir().join(format!("{}.pem", unique("chain-root")));
    std::fs::write(&bundle, root_pem).unwrap();
    env.bundle = Some(bundle.display().to_string());
    let report = env
        .run(json!([{"name": "chain", "kind": "tls", "host": "localhost", "port": server.addr.port(), "min_days_left": 14}]))
        .await;
    let (healthy, reason, days) = by_name(&report)["chain"].clone();
    assert!(!healthy, "{reason}");
    assert!(
        reason.contains("intermediate certificate ops-tests intermediate"),
        "{reason}"
    );
    assert!(
        matches!(days, Some(4..=5)),
        "the intermediate's days, not the leaf's 300: {days:?}"
    );
}
