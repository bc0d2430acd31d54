//! `make bench`: the numbers of every function, measured over the local stack with release builds,
//! next to a Python 3 + boto3 baseline of the same cold-start work. Writes a Markdown report
//! (`--out bench/RESULTS.md`) and the same tables into docs/performance.md between the bench markers.
//!
//! Nothing here asserts a time: it measures and reports, and says where a target is missed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{Datelike, Duration as Days, NaiveDate, Utc};
use ops_shared::error::SharedError;
use ops_shared::metrics::{Metric, MetricSink, PutSummary};
use ops_shared::notifier::{Notification, Notifier};
use ops_tests::bench::cgroup::CpuLimit;
use ops_tests::bench::parity;
use ops_tests::bench::process::{self, Running};
use ops_tests::bench::provenance::Provenance;
use ops_tests::bench::proxy::CountingProxy;
use ops_tests::bench::runtime::RuntimeApi;
use ops_tests::bench::stats::Spread;
use ops_tests::{repo_path, unique, Stack};
use serde_json::{json, Value};

const COLD_RUNS: usize = 7;
/// Cold starts inside the 128 MB CPU share, per language: slow by design, so fewer.
const LIMITED_RUNS: usize = 3;
/// The memory the template gives the functions, whose CPU share the limited runs get.
const MEMORY_MB: u32 = 128;
const PY_RUNS: usize = 5;
const WARM_RUNS: usize = 20;
const FUNCTIONS: [&str; 5] = [
    "alarm-forwarder",
    "secret-rotator",
    "health-checker",
    "cost-reporter",
    "cleanup-scanner",
];

// Targets of the bench issue.
const COLD_TARGET_MS: f64 = 25.0;
const RSS_TARGET_MIB: f64 = 24.0;
const RSS_1000_CHECKS_TARGET_MIB: f64 = 64.0;
/// #18: 10,000 checks from S3 in one invocation of a 128 MB function.
const RSS_10000_CHECKS_TARGET_MIB: f64 = 128.0;
/// cleanup-scanner's scan of 5,000 resources, in AWS requests (issue 19; 4,549 before the Tagging API).
const CLEANUP_5000_REQUESTS_TARGET: usize = 600;
const ZIP_TARGET_MIB: f64 = 5.0;
/// The account cleanup-scanner's cold start reports on: a tenth of each kind cleanup-5000 seeds.
const COLD_CLEANUP_REGION: &str = "eu-north-1";
const COLD_CLEANUP_RESOURCES: usize = 50;
const RATIO_TARGET: f64 = 15.0;
/// A function's init over the floor's.
const FLOOR_TARGET: f64 = 1.5;
/// Start-up work a function does that the floor (the same SDK clients, nothing else) does not.
const INIT_BEYOND_FLOOR: &[(&str, &str)] = &[(
    "health-checker",
    "it reads the system's CA bundle at start for its http and tls checks, which the SDK clients no longer need",
)];

/// How one function is started and what it is sent.
struct Fixture {
    env: Vec<(String, String)>,
    cold_event: Value,
    warm_event: Value,
    /// A secret whose rotation is started anew before every event (see [`Bench::event`]).
    rotate: Option<String>,
}

struct Bench {
    stack: Stack,
    proxy: CountingProxy,
    aws: aws_config::SdkConfig,
    bin_dir: PathBuf,
    python: PathBuf,
    /// The 128 MB CPU share, or why this machine cannot give it.
    limit: Result<CpuLimit, String>,
}

fn event_file(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_path(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

impl Bench {
    fn base_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PATH"]
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        env.push(("AWS_REGION".into(), "us-east-1".into()));
        env.push(("AWS_DEFAULT_REGION".into(), "us-east-1".into()));
        env.push(("AWS_ENDPOINT_URL".into(), self.proxy.url.clone()));
        env
    }

    fn with(&self, pairs: &[(&str, String)]) -> Vec<(String, String)> {
        let mut env = self.base_env();
        env.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
        env
    }

    /// A cold start of `function` on a Runtime API of its own, which then serves its warm invocations.
    async fn rust(&self, function: &str, env: &[(String, String)], event: &Value) -> (RuntimeApi, Running) {
        let api = RuntimeApi::start().await;
        let running = process::start(&api, function, &self.bin_dir.join(function), &[], env, event).await;
        (api, running)
    }

    /// The event to send next. The rotator's starts a new rotation of its secret first, so every
    /// createSecret generates and stores a pending version: the work of Secrets Manager's first call.
    async fn event(&self, fixture: &Fixture, event: &Value) -> Value {
        let Some(secret) = &fixture.rotate else {
            return event.clone();
        };
        let sm = aws_sdk_secretsmanager::Client::new(&self.aws);
        let token = fresh_rotation(&sm, secret).await;
        json!({"Step": "createSecret", "SecretId": secret, "ClientRequestToken": token})
    }

    async fn fixture(&self, function: &str) -> Fixture {
        let sm = aws_sdk_secretsmanager::Client::new(&self.aws);
        match function {
            "alarm-forwarder" => {
                let name = unique("bench/pagerduty-routing");
                sm.create_secret()
                    .name(&name)
                    .secret_string(ops_tests::routing_key())
                    .send()
                    .await
                    .unwrap();
                let event = event_file("events/alarm-forwarder/metric-alarm-ALARM.json");
                Fixture {
                    env: self.with(&[
                        ("PAGERDUTY_ROUTING_KEY_SECRET", name),
                        (
                            "PAGERDUTY_EVENTS_URL",
                            std::env::var("PAGERDUTY_EVENTS_URL").unwrap(),
                        ),
                    ]),
                    cold_event: event.clone(),
                    warm_event: event,
                    rotate: None,
                }
            }
            "secret-rotator" => {
                let name = unique("bench/generic");
                sm.create_secret()
                    .name(&name)
                    .secret_string(
                        r#"{"username":"svc","password":"initial-password-0001","rotate_field":"password"}"#,
                    )
                    .send()
                    .await
                    .unwrap();
                Fixture {
                    env: self.base_env(),
                    cold_event: Value::Null,
                    warm_event: Value::Null,
                    rotate: Some(name),
                }
            }
            "health-checker" => {
                let port = self
                    .stack
                    .aws_endpoint
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .trim_end_matches('/');
                // The schedule's run of a configured check, alarms managed (the default), as deployed.
                let checks = json!([{"name": "bench-tcp", "kind": "tcp", "host": "127.0.0.1", "port": port.parse::<u16>().unwrap()}]);
                let env = self.with(&[
                    ("HEALTH_CHECKS", checks.to_string()),
                    ("ALARM_TOPIC_ARN", self.stack.topic("bench-alarms").await),
                    ("ALARM_PREFIX", unique("bench-cold-")),
                ]);
                let event = scheduled_event();
                // Its alarm exists before the measured runs, as it does after a deployment's first run.
                let (_, p) = self.rust("health-checker", &env, &event).await;
                if let Err(e) = &p.first {
                    panic!("health-checker could not create the bench's alarm: {e}");
                }
                p.stop().await;
                Fixture {
                    env,
                    cold_event: event.clone(),
                    warm_event: event,
                    rotate: None,
                }
            }
            "cost-reporter" => {
                inject_costs_for_both(&self.stack, 60, 10).await;
                let event = event_file("events/cost-reporter/daily.json");
                Fixture {
                    env: self.with(&[("REPORT_TOPIC_ARN", self.stack.topic("bench-reports").await)]),
                    cold_event: event.clone(),
                    warm_event: event,
                    rotate: None,
                }
            }
            "cleanup-scanner" => {
                // A report over an account with something in it; cleanup-5000 is the large one.
                seed_inventory(self, COLD_CLEANUP_REGION, COLD_CLEANUP_RESOURCES).await;
                let event = json!({"mode": "report"});
                Fixture {
                    env: self.with(&[
                        ("REPORT_TOPIC_ARN", self.stack.topic("bench-reports").await),
                        ("CLEANUP_REGIONS", COLD_CLEANUP_REGION.into()),
                    ]),
                    cold_event: event.clone(),
                    warm_event: event,
                    rotate: None,
                }
            }
            other => panic!("no fixture for {other}"),
        }
    }
}

/// The cost-reporter's cold event reads the daily costs and then the trailing year's months. moto
/// keeps one queued answer per request body, and the SDK and botocore write the same request
/// differently, so each language gets its own pair, queued in the order they ask (Rust first).
async fn inject_costs_for_both(stack: &Stack, days: i64, services: usize) {
    let (daily, monthly) = (daily_costs(days, services), trailing_months());
    ops_tests::inject_cost_results(stack, vec![daily.clone(), monthly.clone(), daily, monthly]).await;
}

/// Twelve closed months of total cost, the trailing-year query's answer.
fn trailing_months() -> Vec<Value> {
    let first = Utc::now().date_naive().with_day(1).unwrap();
    (1..=12)
        .rev()
        .map(|back| {
            let start = first - chrono::Months::new(back);
            let end = start + chrono::Months::new(1);
            json!({"TimePeriod": {"Start": start.to_string(), "End": end.to_string()},
                   "Total": {"UnblendedCost": {"Amount": format!("{:.2}", 9000.0 + back as f64 * 37.5), "Unit": "USD"}},
                   "Groups": [], "Estimated": false})
        })
        .collect()
}

/// Cost Explorer's answer in moto: `days` days up to yesterday, `services` services each day.
async fn inject_costs(stack: &Stack, days: i64, services: usize) {
    ops_tests::inject_costs(stack, daily_costs(days, services)).await;
}

fn daily_costs(days: i64, services: usize) -> Vec<Value> {
    let today = Utc::now().date_naive();
    (1..=days)
        .rev()
        .map(|back| {
            let day = today - Days::days(back);
            let groups: Vec<Value> = (0..services)
                .map(|s| {
                    json!({"Keys": [format!("Service {s:03}")],
                           "Metrics": {"UnblendedCost": {"Amount": format!("{:.2}", 1.0 + (s * 7 % 113) as f64 + back as f64 * 0.01), "Unit": "USD"}}})
                })
                .collect();
            json!({"TimePeriod": {"Start": day.to_string(), "End": (day + Days::days(1)).to_string()},
                   "Total": {}, "Groups": groups, "Estimated": back == 1})
        })
        .collect()
}

#[derive(Default)]
struct FunctionRow {
    cold_rust: Vec<Duration>,
    /// The floor: `bench-floor FUNCTION`, the same clients and nothing else.
    init_floor: Vec<Duration>,
    cold_rust_limited: Vec<Duration>,
    cold_python_limited: Vec<Duration>,
    cold_python: Vec<Duration>,
    /// Wall time during which the cold event had a request at moto, per cold run.
    moto_rust: Vec<Duration>,
    moto_python: Vec<Duration>,
    /// The AWS requests of the first cold event, per operation.
    requests_rust: BTreeMap<String, usize>,
    requests_python: BTreeMap<String, usize>,
    init_rust: Vec<Duration>,
    init_python: Vec<Duration>,
    warm: Vec<Duration>,
    rss: Vec<u64>,
    python_rss: Vec<u64>,
    errors: Vec<String>,
}

async fn measure_function(bench: &Bench, function: &str) -> FunctionRow {
    let fixture = bench.fixture(function).await;
    let mut row = FunctionRow::default();
    for run in 0..COLD_RUNS {
        let event = bench.event(&fixture, &fixture.cold_event).await;
        bench.proxy.take().await;
        let (api, p) = bench.rust(function, &fixture.env, &event).await;
        if let Err(e) = &p.first {
            row.errors
                .push(format!("cold start: {}", e.chars().take(300).collect::<String>()));
        }
        row.cold_rust.push(p.cold_start);
        row.init_rust.extend(p.init);
        let (moto, requests) = first_event_requests(bench).await;
        row.moto_rust.push(moto);
        if run == 0 {
            row.requests_rust = requests;
            // Warm latency from the first process; its peak memory is then read after them.
            for _ in 0..WARM_RUNS {
                let event = bench.event(&fixture, &fixture.warm_event).await;
                let (latency, reply) = api.invoke(&event).await;
                if let Err(e) = reply {
                    row.errors
                        .push(format!("warm: {}", e.chars().take(300).collect::<String>()));
                    break;
                }
                row.warm.push(latency);
            }
        }
        row.rss.push(p.peak_rss());
        p.stop().await;
    }
    for _ in 0..COLD_RUNS {
        let api = RuntimeApi::start().await;
        let event = bench.event(&fixture, &fixture.cold_event).await;
        let p = process::start(
            &api,
            function,
            &bench.bin_dir.join("bench-floor"),
            &[function],
            &fixture.env,
            &event,
        )
        .await;
        if let Err(e) = &p.first {
            row.errors
                .push(format!("floor: {}", e.chars().take(300).collect::<String>()));
        }
        row.init_floor.extend(p.init);
        p.stop().await;
    }
    let baseline = repo_path("bench/baseline.py");
    let python_args = [baseline.to_str().unwrap(), function];
    if let Ok(limit) = &bench.limit {
        for _ in 0..LIMITED_RUNS {
            let api = RuntimeApi::start().await;
            let event = bench.event(&fixture, &fixture.cold_event).await;
            let p = process::start_in(
                Some(limit),
                &api,
                function,
                &bench.bin_dir.join(function),
                &[],
                &fixture.env,
                &event,
            )
            .await;
            row.cold_rust_limited.push(p.cold_start);
            p.stop().await;
            let api = RuntimeApi::start().await;
            let event = bench.event(&fixture, &fixture.cold_event).await;
            let p = process::start_in(
                Some(limit),
                &api,
                function,
                &bench.python,
                &python_args,
                &fixture.env,
                &event,
            )
            .await;
            row.cold_python_limited.push(p.cold_start);
            p.stop().await;
        }
    }
    for run in 0..PY_RUNS {
        let api = RuntimeApi::start().await;
        let event = bench.event(&fixture, &fixture.cold_event).await;
        bench.proxy.take().await;
        let p = process::start(&api, function, &bench.python, &python_args, &fixture.env, &event).await;
        if let Err(e) = &p.first {
            row.errors.push(format!(
                "python cold start: {}",
                e.chars().take(300).collect::<String>()
            ));
        }
        let (moto, requests) = first_event_requests(bench).await;
        row.moto_python.push(moto);
        // The baseline reports how much it was given: a yardstick fed nothing would flatter Python.
        if let Ok(reply) = &p.first {
            if reply["read"].as_u64() == Some(0) {
                row.errors
                    .push("python cold start: its AWS answers held no data".into());
            }
        }
        if run == 0 {
            row.requests_python = requests;
        }
        row.cold_python.push(p.cold_start);
        row.init_python.extend(p.init);
        row.python_rss.push(p.peak_rss());
        p.stop().await;
    }
    row
}

/// What the event just answered asked of AWS: the wall time during which one of its requests was
/// at moto, and the requests per operation (the count was zeroed before the process started).
async fn first_event_requests(bench: &Bench) -> (Duration, BTreeMap<String, usize>) {
    let moto = bench.proxy.busy().await;
    (moto, bench.proxy.take().await)
}

struct Workload {
    name: String,
    figures: Vec<(String, String)>,
}

/// A local HTTP target that answers 200 after `delay`.
async fn slow_target(delay: Duration) -> String {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move {
            tokio::time::sleep(delay).await;
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

fn count(ops: &BTreeMap<String, usize>, prefix: &str) -> usize {
    ops.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .sum()
}

async fn health_1000(bench: &Bench) -> Workload {
    let url = slow_target(Duration::from_millis(50)).await;
    let checks: Vec<Value> = (0..1000)
        .map(|i| json!({"name": format!("bench-{i:04}"), "kind": "http", "url": url, "expect_status": [200]}))
        .collect();
    // The configured list and the schedule's event: the run that keeps the alarms in step.
    let (list_url, _) = checks_in_s3(bench, &checks).await;
    let event = scheduled_event();
    let prefix = unique("bench-health-");
    let env = bench.with(&[
        ("ALARM_TOPIC_ARN", bench.stack.topic("bench-alarms").await),
        ("ALARM_PREFIX", prefix),
        ("HEALTH_CHECKS_URL", list_url),
    ]);
    bench.proxy.take().await;
    let (api, p) = bench.rust("health-checker", &env, &event).await;
    let first_time = p.cold_start;
    let first_ops = bench.proxy.take().await;
    let healthy = p
        .first
        .as_ref()
        .map(|v| v["healthy"].as_u64().unwrap_or(0))
        .unwrap_or(0);
    let first_failed = p.first.is_err();
    // Steady state: the alarms exist; the now warm process runs the same list again (one
    // conditional GetObject, answered 304).
    let mut times = Vec::new();
    let mut cw_requests = Vec::new();
    let mut moto = Vec::new();
    let mut ops: Option<BTreeMap<String, usize>> = None;
    for _ in 0..5 {
        let (t, _) = api.invoke(&event).await;
        times.push(t);
        let tallies = bench.proxy.take_tallies().await;
        moto.push(tallies.values().map(|t| t.upstream).sum::<Duration>());
        let run: BTreeMap<String, usize> = tallies.into_iter().map(|(k, t)| (k, t.requests)).collect();
        cw_requests.push(count(&run, "monitoring:") as f64);
        ops = Some(run);
    }
    let rss = p.peak_rss();
    p.stop().await;
    let rss_mib = rss as f64 / 1048576.0;
    Workload {
        name: "health-checker: 1000 HTTP checks, target answering in 50 ms".into(),
        figures: vec![
            (
                "first run, cold (list from S3; creates the 1000 alarms)".into(),
                format!(
                    "{:.2} s; {} of 1000 healthy; CloudWatch requests: {}{}",
                    first_time.as_secs_f64(),
                    healthy,
                    count(&first_ops, "monitoring:"),
                    if first_failed { " (the run failed)" } else { "" }
                ),
            ),
            (
                "steady run, warm (ms)".into(),
                Spread::millis(&times).map(|s| s.to_string()).unwrap_or_default(),
            ),
            (
                "CloudWatch requests per steady run".into(),
                format!(
                    "{} ({})",
                    Spread::of(&cw_requests).map(|s| s.median).unwrap_or_default(),
                    ops.unwrap_or_default()
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            (
                "of which waiting on moto (ms, summed over requests)".into(),
                Spread::millis(&moto).map(|s| s.to_string()).unwrap_or_default(),
            ),
            (
                "peak RSS".into(),
                format!(
                    "{rss_mib:.1} MiB (target < {RSS_1000_CHECKS_TARGET_MIB} MiB: {})",
                    verdict(rss_mib < RSS_1000_CHECKS_TARGET_MIB)
                ),
            ),
        ],
    }
}

/// Puts a check list in a new bucket; its `s3://` URL and size in KiB.
async fn checks_in_s3(bench: &Bench, checks: &[Value]) -> (String, usize) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&bench.aws)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique("bench-health-lists").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let body = serde_json::to_vec(&json!({ "checks": checks })).unwrap();
    let kib = body.len() / 1024;
    s3.put_object()
        .bucket(&bucket)
        .key("checks.json")
        .body(body.into())
        .send()
        .await
        .unwrap();
    (format!("s3://{bucket}/checks.json"), kib)
}

fn scheduled_event() -> Value {
    json!({"detail-type": "Scheduled Event", "source": "aws.events"})
}

/// 10,000 HTTP checks listed in an S3 object (HEALTH_CHECKS_URL), run by the schedule's event in one
/// invocation: time, memory and the PutMetricData requests (at most 2 per 1,000 checks, plus one
/// for the run's own metrics). Alarms are left out here (MANAGE_ALARMS=false): creating 10,000 of
/// them takes many runs at CloudWatch's write quota, which the 200-check test covers.
async fn health_10000_from_s3(bench: &Bench) -> Workload {
    const CHECKS: usize = 10_000;
    let url = slow_target(Duration::ZERO).await;
    let checks: Vec<Value> = (0..CHECKS)
        .map(|i| json!({"name": format!("bench-{i:05}"), "kind": "http", "url": url, "expect_status": [200]}))
        .collect();
    let (list_url, object_kib) = checks_in_s3(bench, &checks).await;
    let env = bench.with(&[("HEALTH_CHECKS_URL", list_url), ("MANAGE_ALARMS", "false".into())]);
    let event = scheduled_event();
    bench.proxy.take().await;
    let (api, p) = bench.rust("health-checker", &env, &event).await;
    let cold = p.cold_start;
    let tallies = bench.proxy.take_tallies().await;
    let cold_moto: Duration = tallies.values().map(|t| t.upstream).sum();
    let cold_ops: BTreeMap<String, usize> = tallies.into_iter().map(|(k, t)| (k, t.requests)).collect();
    let healthy = p
        .first
        .as_ref()
        .map(|v| v["healthy"].as_u64().unwrap_or(0))
        .unwrap_or(0);
    let failed = p.first.as_ref().err().cloned();
    let (warm, _) = api.invoke(&event).await;
    let warm_ops = bench.proxy.take().await;
    let rss_mib = p.peak_rss() as f64 / 1048576.0;
    p.stop().await;
    let puts = count(&cold_ops, "monitoring:PutMetricData");
    let allowed = CHECKS.div_ceil(1000) * 2 + 1;
    Workload {
        name: format!("health-checker: {CHECKS} HTTP checks from S3 ({object_kib} KiB JSON), local target"),
        figures: vec![
            (
                "cold run (reads the object at cold start)".into(),
                format!(
                    "{:.2} s, of which {:.2} s waiting on moto (summed over requests); {healthy} of {CHECKS} healthy{}",
                    cold.as_secs_f64(),
                    cold_moto.as_secs_f64(),
                    failed
                        .map(|e| format!(" (the run failed: {e})"))
                        .unwrap_or_default()
                ),
            ),
            (
                "PutMetricData requests, cold run".into(),
                format!("{puts} (target ≤ {allowed}: {})", verdict(puts <= allowed)),
            ),
            (
                "S3 requests, cold run / warm run".into(),
                format!("{} / {}", count(&cold_ops, "s3:"), count(&warm_ops, "s3:")),
            ),
            ("warm run".into(), format!("{:.2} s", warm.as_secs_f64())),
            (
                "peak RSS".into(),
                format!(
                    "{rss_mib:.1} MiB (target < {RSS_10000_CHECKS_TARGET_MIB} MiB: {})",
                    verdict(rss_mib < RSS_10000_CHECKS_TARGET_MIB)
                ),
            ),
        ],
    }
}

async fn forwarder_1000(bench: &Bench) -> Workload {
    const EVENTS: usize = 1000;
    let fixture = bench.fixture("alarm-forwarder").await;
    let template = event_file("events/alarm-forwarder/metric-alarm-ALARM.json");
    let api = RuntimeApi::start().await;
    let p = process::start(
        &api,
        "alarm-forwarder",
        &bench.bin_dir.join("alarm-forwarder"),
        &[],
        &fixture.env,
        &fixture.cold_event,
    )
    .await;
    let cpu_before = p.cpu();
    let started = Instant::now();
    let mut failed = 0;
    for i in 0..EVENTS {
        let mut event = template.clone();
        let message = event["Records"][0]["Sns"]["Message"]
            .as_str()
            .unwrap()
            .to_string();
        let mut alarm: Value = serde_json::from_str(&message).unwrap();
        alarm["AlarmName"] = json!(format!("bench-alarm-{i}"));
        alarm["AlarmArn"] = json!(format!(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:bench-alarm-{i}"
        ));
        event["Records"][0]["Sns"]["Message"] = json!(alarm.to_string());
        if api.invoke(&event).await.1.is_err() {
            failed += 1;
        }
    }
    let wall = started.elapsed();
    let cpu = p.cpu().saturating_sub(cpu_before);
    let per_event_ms = |d: Duration| d.as_secs_f64() * 1000.0 / EVENTS as f64;
    let rss = p.peak_rss();
    p.stop().await;
    Workload {
        name: "alarm-forwarder: 1000 alarm notifications through the PagerDuty receiver (one per invocation, as SNS delivers them)".into(),
        figures: vec![
            (
                "wall time".into(),
                format!(
                    "{:.2} s ({:.2} ms per event, {failed} failed)",
                    wall.as_secs_f64(),
                    per_event_ms(wall)
                ),
            ),
            ("CPU per event".into(), format!("{:.3} ms (user + system, /proc)", per_event_ms(cpu))),
            ("peak RSS".into(), format!("{:.1} MiB", rss as f64 / 1048576.0)),
        ],
    }
}

struct Quiet;

#[async_trait]
impl Notifier for Quiet {
    async fn notify(&self, _: &Notification) -> Result<String, SharedError> {
        Ok("bench".into())
    }
}

#[async_trait]
impl MetricSink for Quiet {
    async fn put(&self, metrics: &[Metric]) -> Result<PutSummary, SharedError> {
        Ok(PutSummary {
            sent: metrics.len(),
            dropped: 0,
            requests: 1,
        })
    }
}

/// Thirteen months of 300 services, all in memory: what the analysis and rendering cost alone.
struct Year {
    series: cost_reporter::source::Series,
}

#[async_trait]
impl cost_reporter::source::CostSource for Year {
    async fn daily_costs(
        &self,
        query: &cost_reporter::source::CostQuery,
    ) -> Result<cost_reporter::source::Series, cost_reporter::CostError> {
        let mut s = self.series.clone();
        s.days
            .retain(|d| d.date >= query.range.start && d.date < query.range.end);
        Ok(s)
    }
    /// The same services spread over three environments and untagged cost.
    async fn environment_costs(
        &self,
        query: &cost_reporter::source::CostQuery,
    ) -> Result<cost_reporter::source::EnvironmentSeries, cost_reporter::CostError> {
        let envs = [
            "Environment$prod",
            "Environment$staging",
            "Environment$dev",
            "Environment$",
        ];
        let days = self
            .series
            .days
            .iter()
            .filter(|d| query.range.contains(d.date))
            .map(|d| cost_reporter::source::EnvironmentDay {
                date: d.date,
                costs: d
                    .groups
                    .iter()
                    .enumerate()
                    .map(|(i, (service, cost))| (envs[i % envs.len()].to_string(), service.clone(), *cost))
                    .collect(),
            })
            .collect();
        Ok(cost_reporter::source::EnvironmentSeries { days, requests: 1 })
    }
    async fn monthly_totals(
        &self,
        query: &cost_reporter::source::CostQuery,
    ) -> Result<(Vec<(NaiveDate, f64)>, usize), cost_reporter::CostError> {
        let mut months = std::collections::BTreeMap::new();
        for d in self.series.days.iter().filter(|d| query.range.contains(d.date)) {
            *months
                .entry(cost_reporter::request::first_of_month(d.date))
                .or_insert(0.0) += d.total();
        }
        Ok((months.into_iter().collect(), 1))
    }
    async fn forecast(
        &self,
        _: &str,
        range: cost_reporter::request::Range,
        _: &[String],
    ) -> Result<cost_reporter::source::ForecastMonths, cost_reporter::CostError> {
        let mut months = vec![(range.start, 1234.5)];
        let mut first = cost_reporter::request::next_month(range.start);
        while first < range.end {
            months.push((first, 3000.0));
            first = cost_reporter::request::next_month(first);
        }
        Ok(cost_reporter::source::ForecastMonths { months })
    }
    async fn anomalies(
        &self,
        _: &str,
        _: cost_reporter::request::Range,
    ) -> Result<(Vec<cost_reporter::source::Anomaly>, usize), cost_reporter::CostError> {
        Ok((Vec::new(), 1))
    }
    async fn savings_plans(
        &self,
    ) -> Result<Vec<cost_reporter::source::Recommendation>, cost_reporter::CostError> {
        Ok(Vec::new())
    }
    async fn reservations(
        &self,
        _: &str,
    ) -> Result<Vec<cost_reporter::source::Recommendation>, cost_reporter::CostError> {
        Ok(Vec::new())
    }
    async fn rightsizing(
        &self,
    ) -> Result<Vec<cost_reporter::source::Recommendation>, cost_reporter::CostError> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl cost_reporter::source::CleanupReader for Quiet {
    async fn latest(
        &self,
    ) -> Result<Option<cost_reporter::source::CleanupFigures>, cost_reporter::CostError> {
        Ok(None)
    }
}

async fn cost_analysis(bench: &Bench) -> Workload {
    let today = Utc::now().date_naive();
    let start = NaiveDate::from_ymd_opt(today.year() - 1, today.month(), 1).unwrap() - Days::days(31);
    let days: Vec<_> = (0..(today - start).num_days())
        .map(|i| cost_reporter::source::DayCost {
            date: start + Days::days(i),
            estimated: i == (today - start).num_days() - 1,
            groups: (0..300)
                .map(|s| {
                    (
                        format!("Service {s:03}"),
                        0.5 + ((s * 31 + i as usize * 7) % 97) as f64,
                    )
                })
                .collect(),
        })
        .collect();
    let n_days = days.len();
    let source = Year {
        series: cost_reporter::source::Series {
            currency: "USD".into(),
            days,
            requests: 1,
        },
    };
    let config = cost_reporter::Config::from_vars(&ops_shared::config::Vars::from_pairs([
        ("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:bench"),
        ("COST_ENVIRONMENTS", "TAG:Environment"),
    ]))
    .unwrap();
    let ports = cost_reporter::Ports {
        source: &source,
        cleanup: &Quiet,
        notifier: &Quiet,
        metrics: &Quiet,
    };
    let mut figures = Vec::new();
    for period in ["daily", "weekly", "monthly"] {
        let event = json!({"period": period, "budget": {"monthly": 50000}});
        let mut times = Vec::new();
        for _ in 0..9 {
            let t = Instant::now();
            cost_reporter::report(&ports, &config, &event, today)
                .await
                .unwrap();
            times.push(t.elapsed());
        }
        figures.push((
            format!("{period} report: analysis + text rendering (ms)"),
            Spread::millis(&times).unwrap().to_string(),
        ));
    }
    // Requests per report, counted on the wire against moto (which answers in one page).
    inject_costs(&bench.stack, 62, 300).await;
    let env = bench.with(&[("REPORT_TOPIC_ARN", bench.stack.topic("bench-reports").await)]);
    bench.proxy.take().await;
    let (_api, p) = bench
        .rust("cost-reporter", &env, &json!({"period": "monthly"}))
        .await;
    let ops = bench.proxy.take().await;
    let ok = p.first.is_ok();
    p.stop().await;
    figures.push((
        "Cost Explorer requests per report (monthly, 300 services)".into(),
        format!(
            "{} ({}){}",
            count(&ops, "ce:"),
            ops.iter()
                .filter(|(k, _)| k.starts_with("ce:"))
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            if ok { "" } else { "; the run failed" }
        ),
    ));
    Workload {
        name: format!("cost-reporter: {n_days} days (13 months) × 300 services"),
        figures,
    }
}

/// Seeds `total` resources across the five services into `region`, a few requests at a time.
async fn seed_inventory(bench: &Bench, region: &str, total: usize) {
    let config = bench
        .aws
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let ecs = aws_sdk_ecs::Client::new(&config);
    let per = total / 5;
    let mut jobs = tokio::task::JoinSet::new();
    for i in 0..per {
        let (logs, sns, sm, cw, ecs) = (logs.clone(), sns.clone(), sm.clone(), cw.clone(), ecs.clone());
        jobs.spawn(async move {
            logs.create_log_group()
                .log_group_name(format!("/bench/group-{i:05}"))
                .send()
                .await
                .unwrap();
            sns.create_topic()
                .name(format!("bench-topic-{i:05}"))
                .send()
                .await
                .unwrap();
            sm.create_secret()
                .name(format!("bench/secret-{i:05}"))
                .secret_string("x")
                .send()
                .await
                .unwrap();
            cw.put_metric_alarm()
                .alarm_name(format!("bench-alarm-{i:05}"))
                .namespace("Bench")
                .metric_name("M")
                .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
                .period(300)
                .evaluation_periods(1)
                .threshold(1.0)
                .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
                .send()
                .await
                .unwrap();
            ecs.register_task_definition()
                .family(format!("bench-family-{:03}", i % 100))
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("app")
                        .image("example/app:1")
                        .memory(128)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        });
        while jobs.len() >= 16 {
            jobs.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = jobs.join_next().await {
        r.unwrap();
    }
}

async fn cleanup_5000(bench: &Bench) -> Workload {
    let region = "ap-southeast-2";
    let seeded = Instant::now();
    seed_inventory(bench, region, 5000).await;
    let seeding = seeded.elapsed();
    let env = bench.with(&[
        ("REPORT_TOPIC_ARN", bench.stack.topic("bench-reports").await),
        ("CLEANUP_REGIONS", region.into()),
    ]);
    let event = json!({"mode": "report"});
    let api = RuntimeApi::start().await;
    bench.proxy.take().await;
    let p = process::start(
        &api,
        "cleanup-scanner",
        &bench.bin_dir.join("cleanup-scanner"),
        &[],
        &env,
        &event,
    )
    .await;
    let first = p.cold_start;
    let tallies = bench.proxy.take_tallies().await;
    let moto: Duration = tallies.values().map(|t| t.upstream).sum();
    let ops: BTreeMap<String, usize> = tallies.into_iter().map(|(k, t)| (k, t.requests)).collect();
    let mut candidates = 0;
    if let Ok(v) = &p.first {
        candidates = v["regions"][0]["rules"]
            .as_object()
            .map(|r| {
                r.values()
                    .map(|x| x["candidates"].as_array().map_or(0, Vec::len))
                    .sum()
            })
            .unwrap_or(0);
    }
    let mut times = vec![first];
    for _ in 0..2 {
        times.push(api.invoke(&event).await.0);
    }
    let rss = p.peak_rss();
    p.stop().await;
    let mut top: Vec<_> = ops.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1));
    Workload {
        name: "cleanup-scanner: report over 5000 resources in moto (1000 each of log groups, topics, secrets, alarms, task definitions)".into(),
        figures: vec![
            ("wall time per scan (ms; first is the cold start)".into(), Spread::millis(&times).unwrap().to_string()),
            (
                "AWS requests per scan".into(),
                format!(
                    "{} (target ≤ {CLEANUP_5000_REQUESTS_TARGET}: {}; largest: {})",
                    ops.values().sum::<usize>(),
                    verdict(ops.values().sum::<usize>() <= CLEANUP_5000_REQUESTS_TARGET),
                    top.iter().take(4).map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
                ),
            ),
            (
                "moto's answer time, summed over the first scan's requests (they overlap)".into(),
                format!("{:.1} s", moto.as_secs_f64()),
            ),
            ("candidates reported".into(), candidates.to_string()),
            ("peak RSS".into(), format!("{:.1} MiB", rss as f64 / 1048576.0)),
            ("seeding the 5000 resources (not the scanner)".into(), format!("{:.1} s", seeding.as_secs_f64())),
        ],
    }
}

/// Starts a new rotation of `secret` and returns its token, after removing the AWSPENDING label an
/// earlier one left: AWS removes it at finishSecret and moto does not (LOCAL-STACK.md), and a
/// rotation the bench stopped after createSecret keeps it.
async fn fresh_rotation(sm: &aws_sdk_secretsmanager::Client, secret: &str) -> String {
    let described = sm.describe_secret().secret_id(secret).send().await.unwrap();
    for (version, stages) in described.version_ids_to_stages().cloned().unwrap_or_default() {
        if stages.iter().any(|s| s == "AWSPENDING") {
            sm.update_secret_version_stage()
                .secret_id(secret)
                .version_stage("AWSPENDING")
                .remove_from_version_id(version)
                .send()
                .await
                .unwrap();
        }
    }
    // moto answers ResourceNotFound for the rotation Lambda it cannot call, after labelling the
    // new version AWSPENDING (LOCAL-STACK.md): the state createSecret starts from.
    let (token, _) = ops_tests::start_rotation(sm, secret).await;
    token
}

async fn rotation(bench: &Bench) -> Workload {
    let user = ops_tests::pg_name("bench_rot");
    let admin = bench
        .stack
        .pg_connect("localhost", &bench.stack.pg_user, &bench.stack.pg_password)
        .await
        .expect("PostgreSQL of the stack");
    admin
        .batch_execute(&format!(
            "CREATE ROLE {user} LOGIN PASSWORD 'bench-initial-password-01'"
        ))
        .await
        .unwrap();
    let value = json!({"engine": "postgres", "host": "localhost", "port": bench.stack.pg_port, "username": user,
                       "password": "bench-initial-password-01", "dbname": "postgres", "sslmode": "verify-full"});
    let sm = aws_sdk_secretsmanager::Client::new(&bench.aws);
    let name = unique("bench/postgres");
    sm.create_secret()
        .name(&name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap();
    let env = bench.with(&[("PG_CA_BUNDLE", bench.stack.pg_ca_bundle.clone())]);
    let api = RuntimeApi::start().await;
    let mut p: Option<Running> = None;
    let mut times = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..5 {
        let token = fresh_rotation(&sm, &name).await;
        let step = |s: &str| json!({"Step": s, "SecretId": name, "ClientRequestToken": token});
        let started = Instant::now();
        if p.is_none() {
            let first = process::start(
                &api,
                "secret-rotator",
                &bench.bin_dir.join("secret-rotator"),
                &[],
                &env,
                &step("createSecret"),
            )
            .await;
            if let Err(e) = &first.first {
                errors.push(e.clone());
            }
            p = Some(first);
        } else if let Err(e) = api.invoke(&step("createSecret")).await.1 {
            errors.push(e);
        }
        for s in ["setSecret", "testSecret", "finishSecret"] {
            if let Err(e) = api.invoke(&step(s)).await.1 {
                errors.push(format!("{s}: {e}"));
            }
        }
        times.push(started.elapsed());
    }
    if let Some(p) = p {
        p.stop().await;
    }
    Workload {
        name: "secret-rotator: a full four-step PostgreSQL rotation (TLS verify-full, single user)".into(),
        figures: vec![
            (
                "wall time (ms; the first includes the cold start)".into(),
                Spread::millis(&times).unwrap().to_string(),
            ),
            (
                "failed steps".into(),
                if errors.is_empty() {
                    "0".into()
                } else {
                    format!(
                        "{}: {}",
                        errors.len(),
                        errors[0].chars().take(200).collect::<String>()
                    )
                },
            ),
        ],
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn zip_size(function: &str) -> Option<u64> {
    let dir = std::env::var("CARGO_TARGET_DIR").ok()?;
    std::fs::metadata(
        Path::new(&dir)
            .join("lambda-arm64")
            .join(function)
            .join("bootstrap.zip"),
    )
    .ok()
    .map(|m| m.len())
}

/// Why the cold start is not 15× Python's: how far short, and how much of each language's cold
/// start is spent waiting for the emulator's answers, which no start-up work in the function removes.
fn ratio_miss(ratio: Option<f64>, row: &FunctionRow) -> String {
    let Some(ratio) = ratio else {
        return format!("ratio < {RATIO_TARGET}× (not measured)");
    };
    let (moto_rust, moto_python) = (Spread::millis(&row.moto_rust), Spread::millis(&row.moto_python));
    match (moto_rust, moto_python) {
        (Some(r), Some(p)) => format!(
            "ratio {ratio:.1}× < {RATIO_TARGET}× ({:.0} % short; the first event waits {:.1} ms on moto, Python's {:.1} ms)",
            (1.0 - ratio / RATIO_TARGET) * 100.0,
            r.median,
            p.median
        ),
        _ => format!("ratio {ratio:.1}× < {RATIO_TARGET}×"),
    }
}

fn render(
    rows: &BTreeMap<&str, FunctionRow>,
    workloads: &[Workload],
    provenance: &Provenance,
    limit: &Result<CpuLimit, String>,
) -> String {
    let mut md = String::new();
    writeln!(
        md,
        "{}",
        provenance.header(&Utc::now().format("%Y-%m-%d %H:%M UTC").to_string())
    )
    .unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "Each figure is the median (min–max) of the runs shown. Cold start: process start to the first response \
         through a Lambda Runtime API emulator, including configuration and client setup, {COLD_RUNS} runs \
         (Python {PY_RUNS}); warm: {WARM_RUNS} invocations of one process. Timings use native x86_64 release \
         builds against the local stack (moto behind the stack's AWS proxy, which counts requests); zip sizes are the arm64 artifacts \
         of `make package` that the template deploys."
    )
    .unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "The cold event is each function's production path: alarm-forwarder an ALARM notification (routing secret, \
         the alarm's current state, the PagerDuty post); secret-rotator the createSecret of a new rotation, which \
         generates and stores a pending version (a new rotation before every run); health-checker the schedule's run \
         of its configured check (one TCP check) with alarm management on and the alarm existing; cost-reporter the \
         daily digest over 60 days of 10 services; cleanup-scanner a report over an account whose region holds \
         {COLD_CLEANUP_RESOURCES} resources ({} of each kind cleanup-5000 seeds).",
        COLD_CLEANUP_RESOURCES / 5
    )
    .unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| function | cold start, Rust (ms) | cold start, Python + boto3 (ms) | × Python | cold start at {MEMORY_MB} MB's CPU share, Rust / Python (ms; pessimistic) | warm invocation (ms) | peak RSS, Rust (MiB) | peak RSS, Python (MiB) | zip, arm64 (MiB) | targets |"
    )
    .unwrap();
    writeln!(
        md,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    .unwrap();
    for (function, row) in rows {
        let cold = Spread::millis(&row.cold_rust);
        let py = Spread::millis(&row.cold_python);
        let ratio = match (cold, py) {
            (Some(c), Some(p)) if c.median > 0.0 => Some(p.median / c.median),
            _ => None,
        };
        let rss = Spread::mib(&row.rss);
        let zip = zip_size(function).map(|b| b as f64 / 1048576.0);
        let mut misses = Vec::new();
        if cold.is_none_or(|c| c.median >= COLD_TARGET_MS) {
            misses.push(format!("cold ≥ {COLD_TARGET_MS} ms"));
        }
        if rss.is_none_or(|r| r.max >= RSS_TARGET_MIB) {
            misses.push(format!("RSS ≥ {RSS_TARGET_MIB} MiB"));
        }
        match zip {
            Some(z) if z >= ZIP_TARGET_MIB => misses.push(format!("zip ≥ {ZIP_TARGET_MIB} MiB")),
            None => misses.push("zip not built".into()),
            _ => {}
        }
        if ratio.is_none_or(|r| r < RATIO_TARGET) {
            misses.push(ratio_miss(ratio, row));
        }
        let (init, floor) = (Spread::millis(&row.init_rust), Spread::millis(&row.init_floor));
        match (init, floor) {
            (Some(i), Some(f)) if f.median > 0.0 && i.median / f.median > FLOOR_TARGET => {
                misses.push(format!(
                    "init {:.1}× the floor's (> {FLOOR_TARGET}×){}",
                    i.median / f.median,
                    INIT_BEYOND_FLOOR
                        .iter()
                        .find(|(f, _)| f == function)
                        .map(|(_, why)| format!(": {why}"))
                        .unwrap_or_default()
                ))
            }
            (Some(_), Some(_)) => {}
            _ => misses.push("init or floor not measured".into()),
        }
        if !row.errors.is_empty() {
            misses.push(format!("errors: {}", row.errors[0].replace('|', "/")));
        }
        let show = |s: Option<Spread>| s.map(|s| s.to_string()).unwrap_or_else(|| "–".into());
        let limited = match limit {
            Ok(_) => format!(
                "{} / {}",
                show(Spread::millis(&row.cold_rust_limited)),
                show(Spread::millis(&row.cold_python_limited))
            ),
            Err(_) => "– (see below)".into(),
        };
        writeln!(
            md,
            "| {function} | {} | {} | {} | {limited} | {} | {} | {} | {} | {} |",
            show(cold),
            show(py),
            ratio.map(|r| format!("{r:.1}×")).unwrap_or_else(|| "–".into()),
            show(Spread::millis(&row.warm)),
            show(rss),
            show(Spread::mib(&row.python_rss)),
            zip.map(|z| format!("{z:.2}")).unwrap_or_else(|| "–".into()),
            if misses.is_empty() {
                "all met".to_string()
            } else {
                format!("**missed**: {}", misses.join("; "))
            }
        )
        .unwrap();
    }
    writeln!(md).unwrap();
    writeln!(
        md,
        "Targets: cold start < {COLD_TARGET_MS} ms, peak RSS < {RSS_TARGET_MIB} MiB, zip < {ZIP_TARGET_MIB} MiB, \
         cold start ≥ {RATIO_TARGET}× faster than the Python baseline (`bench/baseline.py`: the same \
         configuration, clients and AWS requests for the same event, without the reports). moto does not \
         implement GetCostForecast; the stack's AWS proxy answers it as Cost Explorer would, for both."
    )
    .unwrap();
    writeln!(md).unwrap();
    match limit {
        Ok(l) => writeln!(
            md,
            "The CPU-share column: {LIMITED_RUNS} cold starts per language inside a cgroup (v1 `cpu`) whose quota is {:.1} % of one CPU, the share AWS documents for {MEMORY_MB} MB (memory / 1,769 MB of one vCPU). AWS does not document how init is scheduled (it may get more), so this is a pessimistic bound; the process is moved into the cgroup right after it is spawned.",
            l.share * 100.0
        ),
        Err(why) => writeln!(md, "The CPU-share column is empty: {why}."),
    }
    .unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "Where a cold start's time goes: initialisation alone (process start to the first poll of \
         `invocation/next`: configuration, logging, SDK and HTTP clients), without the first event's \
         AWS requests, whose latency is the emulator's and the same for both languages."
    )
    .unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| function | init, Rust (ms) | init, floor (ms) | × floor | init, Python + boto3 (ms) | × Python |"
    )
    .unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- | --- |").unwrap();
    let over = |a: Option<Spread>, b: Option<Spread>| match (a, b) {
        (Some(a), Some(b)) if b.median > 0.0 => format!("{:.1}×", a.median / b.median),
        _ => "–".into(),
    };
    for (function, row) in rows {
        let (rust, floor, py) = (
            Spread::millis(&row.init_rust),
            Spread::millis(&row.init_floor),
            Spread::millis(&row.init_python),
        );
        let show = |s: Option<Spread>| s.map(|s| s.to_string()).unwrap_or_else(|| "–".into());
        writeln!(
            md,
            "| {function} | {} | {} | {} | {} | {} |",
            show(rust),
            show(floor),
            over(rust, floor),
            show(py),
            over(py, rust)
        )
        .unwrap();
    }
    writeln!(md).unwrap();
    writeln!(
        md,
        "The floor (`tests/src/bin/bench-floor.rs`, not shipped): a `lambda_runtime` binary that sets up logging, loads the AWS configuration and builds the same SDK clients as the function, then answers at once; measured the same way, {COLD_RUNS} runs. × floor is the function's init over the floor's (target ≤ {FLOOR_TARGET}×)."
 )
 .unwrap();
    writeln!(md).unwrap();
    render_requests(&mut md, rows);
    for w in workloads {
        writeln!(md).unwrap();
        writeln!(md, "**{}**", w.name).unwrap();
        writeln!(md).unwrap();
        writeln!(md, "| measure | value |").unwrap();
        writeln!(md, "| --- | --- |").unwrap();
        for (k, v) in &w.figures {
            writeln!(md, "| {k} | {} |", v.replace('|', "/")).unwrap();
        }
    }
    md
}

/// The first event's requests of both languages side by side: the baseline is only a yardstick if
/// it asks AWS for what the function asks, and the emulator's answer time is the same for both.
fn render_requests(md: &mut String, rows: &BTreeMap<&str, FunctionRow>) {
    writeln!(
        md,
        "What the first event asked of AWS, counted by the stack's proxy for the first cold run of each language \
         (the baseline is meant to make the same requests), and the time the cold event waited for moto's \
         answers (the wall time during which one of its requests was at moto, overlapping requests counted once; \
         median of the cold runs). Without that wait, the cold starts compare \
         as the last column shows."
    )
    .unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| function | requests, Rust | Python's | waiting on moto, Rust / Python (ms) | cold start less that wait, Rust / Python (ms) | × Python, less the wait |"
    )
    .unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- | --- |").unwrap();
    for (function, row) in rows {
        let ms = |d: &[Duration]| Spread::millis(d).map(|s| s.median);
        let less = |cold: &[Duration], moto: &[Duration]| -> Option<f64> {
            let paired: Vec<Duration> = cold.iter().zip(moto).map(|(c, m)| c.saturating_sub(*m)).collect();
            ms(&paired)
        };
        let (rust_less, python_less) = (
            less(&row.cold_rust, &row.moto_rust),
            less(&row.cold_python, &row.moto_python),
        );
        let fmt = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
        writeln!(
            md,
            "| {function} | {} | {} | {} / {} | {} / {} | {} |",
            parity::list(&row.requests_rust),
            parity::compare(&row.requests_rust, &row.requests_python),
            fmt(ms(&row.moto_rust)),
            fmt(ms(&row.moto_python)),
            fmt(rust_less),
            fmt(python_less),
            match (rust_less, python_less) {
                (Some(r), Some(p)) if r > 0.0 => format!("{:.1}×", p / r),
                _ => "–".into(),
            }
        )
        .unwrap();
    }
}

fn write_performance_doc(table: &str) {
    let path = repo_path("docs/performance.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- bench:start -->", "<!-- bench:end -->");
    match (readme.find(start), readme.find(end)) {
        (Some(a), Some(b)) if a < b => {
            let updated = format!("{}{start}\n{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(&path, updated).unwrap();
        }
        _ => eprintln!("docs/performance.md has no {start} … {end} markers; left it alone"),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("bench/RESULTS.md"));
    let only: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with("--") && **a != out.to_string_lossy())
        .collect();
    let venv = std::env::var("VENV").unwrap_or_else(|_| repo_path(".venv").to_string_lossy().into_owned());
    let python = PathBuf::from(&venv).join("bin/python");
    let provenance = Provenance::read(&python.to_string_lossy());
    // Results in the repository must name what was measured: a dirty tree is refused up front.
    if out == repo_path("bench/RESULTS.md") {
        if let Err(e) = provenance.check(std::env::var("BENCH_ALLOW_DIRTY").is_ok_and(|v| v == "1")) {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    }
    let stack = Stack::get();
    let proxy = CountingProxy::start(&stack).await;
    let aws = stack.aws().await;
    let bench = Bench {
        bin_dir: std::env::current_exe().unwrap().parent().unwrap().to_path_buf(),
        python,
        stack,
        proxy,
        aws,
        limit: CpuLimit::make(MEMORY_MB),
    };
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o.as_str() == name);
    let mut rows = BTreeMap::new();
    for function in FUNCTIONS {
        if wanted(function) {
            eprintln!("bench: {function}: cold starts, warm invocations, memory, Python baseline");
            rows.insert(function, measure_function(&bench, function).await);
        }
    }
    let mut workloads = Vec::new();
    if wanted("health-1000") {
        eprintln!("bench: health-checker, 1000 HTTP checks");
        workloads.push(health_1000(&bench).await);
    }
    if wanted("health-10000") {
        eprintln!("bench: health-checker, 10000 HTTP checks from S3");
        workloads.push(health_10000_from_s3(&bench).await);
    }
    if wanted("forwarder-1000") {
        eprintln!("bench: alarm-forwarder, 1000 notifications");
        workloads.push(forwarder_1000(&bench).await);
    }
    if wanted("cost-analysis") {
        eprintln!("bench: cost-reporter, 13 months × 300 services");
        workloads.push(cost_analysis(&bench).await);
    }
    if wanted("cleanup-5000") {
        eprintln!("bench: cleanup-scanner, 5000 resources");
        workloads.push(cleanup_5000(&bench).await);
    }
    if wanted("rotation") {
        eprintln!("bench: secret-rotator, four-step PostgreSQL rotation");
        workloads.push(rotation(&bench).await);
    }
    let table = render(&rows, &workloads, &provenance, &bench.limit);
    let doc = format!("# Benchmark results\n\n{table}");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, &doc).unwrap();
    if only.is_empty() {
        write_performance_doc(&table);
    }
    print!("{doc}");
}
