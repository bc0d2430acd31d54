//! The bench's view of the stack's AWS proxy (`infra/local/aws-proxy`): functions under measurement
//! use it as `AWS_ENDPOINT_URL` like every test does, so "AWS requests made" is counted on the wire,
//! per operation, with the time spent waiting for moto.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::Stack;

/// Requests made, and the time spent waiting for the emulator, per operation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub requests: usize,
    pub upstream: Duration,
}

pub struct CountingProxy {
    pub url: String,
    calls_url: String,
}

impl CountingProxy {
    /// The stack's proxy, with Cost Explorer's forecast answered as AWS would: moto does not
    /// implement it (500), and the SDK's retry backoff against that 500 would be what the bench
    /// measures. The same answer serves the functions and the Python baseline; RESULTS.md says so.
    pub async fn start(stack: &Stack) -> Self {
        let faults = stack.faults();
        faults
            .answer(json!({
                "operation": "ce:GetCostForecast",
                "body": {"Total": {"Amount": "1234.56", "Unit": "USD"}, "ForecastResultsByTime": []},
            }))
            .await;
        Self {
            url: stack.aws_endpoint.clone(),
            calls_url: format!("{}/calls", stack.faults_url.trim_end_matches('/')),
        }
    }

    /// Requests per operation since the last call, and resets the count.
    pub async fn take(&self) -> BTreeMap<String, usize> {
        self.take_tallies()
            .await
            .into_iter()
            .map(|(k, t)| (k, t.requests))
            .collect()
    }

    /// The wall time during which a request was at moto since the counts were last zeroed
    /// (overlapping requests counted once).
    pub async fn busy(&self) -> Duration {
        let answer: Value = reqwest::Client::new()
            .get(format!("{}/busy", self.calls_url))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("the AWS proxy answers /calls/busy")
            .json()
            .await
            .expect("/calls/busy is JSON");
        Duration::from_secs_f64(answer["busy_ms"].as_f64().unwrap_or(0.0) / 1000.0)
    }

    /// Requests and upstream time per operation since the last call, and resets them.
    pub async fn take_tallies(&self) -> BTreeMap<String, Tally> {
        let client = reqwest::Client::new();
        let listing: Value = client
            .get(format!("{}/upstream", self.calls_url))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("the AWS proxy answers /calls/upstream")
            .json()
            .await
            .expect("/calls/upstream is JSON");
        client
            .delete(&self.calls_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("the AWS proxy zeroes its counts");
        listing
            .as_object()
            .map(|ops| {
                ops.iter()
                    .map(|(op, t)| {
                        let tally = Tally {
                            requests: t["requests"].as_u64().unwrap_or(0) as usize,
                            upstream: Duration::from_secs_f64(
                                t["upstream_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                            ),
                        };
                        (op.clone(), tally)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
