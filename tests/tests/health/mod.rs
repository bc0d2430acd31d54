#![allow(dead_code)] // Each test binary uses its own part of these helpers.

//! What the health-checker's integration tests share: a run against the local stack with its own
//! alarm prefix, and readers of what it left in CloudWatch.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use health_checker::{Config, Deps, Report};
use ops_tests::{unique, Stack};
use serde_json::{json, Value};

pub struct Env {
    pub stack: Stack,
    pub prefix: String,
    pub topic: String,
    pub bundle: Option<String>,
}

impl Env {
    pub async fn new() -> Self {
        let stack = Stack::get();
        let topic = stack.topic("alarms").await;
        Self {
            stack,
            prefix: format!("{}-", unique("ops-lambdas-health-test")),
            topic,
            bundle: None,
        }
    }

    pub fn vars(&self) -> Vec<(&str, String)> {
        let mut v = vec![
            ("ALARM_TOPIC_ARN", self.topic.clone()),
            ("ALARM_PREFIX", self.prefix.clone()),
        ];
        if let Some(b) = &self.bundle {
            v.push(("HEALTH_CA_BUNDLE", b.clone()));
        }
        v
    }

    pub fn config(&self) -> Config {
        Config::from_vars(&ops_shared::Vars::from_pairs(self.vars())).unwrap()
    }

    /// An ad-hoc run of `checks`: metrics, no alarms.
    pub async fn run(&self, checks: Value) -> Report {
        self.run_event(&self.config(), json!({ "checks": checks }))
            .await
            .unwrap()
    }

    /// A scheduled run of `checks` as the configured list (HEALTH_CHECKS): the run that keeps the
    /// alarms in step.
    pub async fn run_configured(&self, checks: Value) -> Report {
        let config = self.configured(&checks);
        self.run_event(
            &config,
            json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
        )
        .await
        .unwrap()
    }

    pub fn configured(&self, checks: &Value) -> Config {
        let mut vars = self.vars();
        vars.push(("HEALTH_CHECKS", json!({ "checks": checks }).to_string()));
        Config::from_vars(&ops_shared::Vars::from_pairs(vars)).unwrap()
    }

    pub async fn run_event(
        &self,
        config: &Config,
        event: Value,
    ) -> Result<Report, health_checker::HealthError> {
        let deps = Deps::connect(config).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        health_checker::run::run(&deps, config, &event, deadline).await
    }

    pub async fn alarm_names(&self) -> Vec<String> {
        let cw = aws_sdk_cloudwatch::Client::new(&self.stack.aws().await);
        let page = cw
            .describe_alarms()
            .alarm_name_prefix(&self.prefix)
            .max_records(100)
            .send()
            .await
            .unwrap();
        assert!(
            page.next_token().is_none(),
            "the tests keep under 100 alarms a prefix"
        );
        let mut names: Vec<String> = page
            .metric_alarms()
            .iter()
            .filter_map(|a| a.alarm_name().map(str::to_string))
            .collect();
        names.sort();
        names
    }
}

pub fn by_name(report: &Report) -> HashMap<String, (bool, String, Option<i64>)> {
    report
        .checks
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                (c.outcome.healthy, c.outcome.reason.clone(), c.outcome.days_left),
            )
        })
        .collect()
}

/// The datapoints (minimum and maximum a minute) of one of the checker's metrics in the last
/// quarter hour; `dimension` is the metric's own (`Check` or `Group`) beside `Function`.
pub async fn datapoints(
    stack: &Stack,
    metric: &str,
    dimension: (&str, &str),
) -> Vec<aws_sdk_cloudwatch::types::Datapoint> {
    let cw = aws_sdk_cloudwatch::Client::new(&stack.aws().await);
    let now = SystemTime::now();
    let stats = cw
        .get_metric_statistics()
        .namespace("OpsLambdas")
        .metric_name(metric)
        .dimensions(Dimension::builder().name(dimension.0).value(dimension.1).build())
        .dimensions(
            Dimension::builder()
                .name("Function")
                .value("health-checker")
                .build(),
        )
        .start_time((now - Duration::from_secs(900)).into())
        .end_time((now + Duration::from_secs(60)).into())
        .period(60)
        .statistics(Statistic::Minimum)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap();
    stats.datapoints().to_vec()
}

/// The CheckHealthy datapoints of one check in the last quarter hour.
pub async fn check_healthy(stack: &Stack, check: &str) -> Vec<aws_sdk_cloudwatch::types::Datapoint> {
    datapoints(stack, "CheckHealthy", ("Check", check)).await
}

pub fn tcp_checks(n: usize, port: u16) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("c{i:02}"), "kind": "tcp", "host": "127.0.0.1", "port": port}))
        .collect()
}
