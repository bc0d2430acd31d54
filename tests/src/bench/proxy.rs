//! A counting proxy in front of moto: functions under measurement get its URL as
//! `AWS_ENDPOINT_URL`, so "AWS requests made" is counted on the wire, per operation, whatever the
//! protocol (JSON's `X-Amz-Target`, Query's `Action=`).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// Requests made, and the time spent waiting for the emulator, per operation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub requests: usize,
    pub upstream: Duration,
}

type Tallies = Arc<Mutex<BTreeMap<String, Tally>>>;

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    counts: Tallies,
}

pub struct CountingProxy {
    pub url: String,
    counts: Tallies,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> Self {
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .unwrap(),
            counts: counts.clone(),
        };
        let app = Router::new().fallback(forward).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}"),
            counts,
        }
    }

    /// Requests per operation since the last call, and resets the count.
    pub fn take(&self) -> BTreeMap<String, usize> {
        self.take_tallies()
            .into_iter()
            .map(|(k, t)| (k, t.requests))
            .collect()
    }

    /// Requests and upstream time per operation since the last call, and resets them.
    pub fn take_tallies(&self) -> BTreeMap<String, Tally> {
        std::mem::take(&mut *self.counts.lock().unwrap())
    }
}

fn operation(headers: &HeaderMap, uri: &Uri, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("", target));
        let service = match service {
            s if s.starts_with("AmazonEC2ContainerService") => "ecs",
            s if s.starts_with("Logs_") => "logs",
            "secretsmanager" => "secretsmanager",
            "AWSInsightsIndexService" => "ce",
            other => other,
        };
        return format!("{service}:{op}");
    }
    // The SDK gzips large Query bodies (PutMetricData): read the action from the inflated form.
    let inflated;
    let body = if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut out = Vec::new();
        inflated = match flate2::read::GzDecoder::new(body).read_to_end(&mut out) {
            Ok(_) => out,
            Err(_) => Vec::new(),
        };
        inflated.as_slice()
    } else {
        body
    };
    let form = String::from_utf8_lossy(body);
    let query = uri.query().unwrap_or("");
    for pair in form.split('&').chain(query.split('&')) {
        if let Some(action) = pair.strip_prefix("Action=") {
            let service = match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some(auth) => auth.split('/').nth(3).unwrap_or("query").to_string(),
                None => "query".into(),
            };
            return format!("{service}:{action}");
        }
    }
    format!("{}:{}", "other", uri.path())
}

async fn forward(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&headers, &uri, &body);
    if op == "ce:GetCostForecast" {
        // moto does not implement it (500), and the SDK's retry backoff against that 500 would be
        // what the bench measures. The proxy answers as Cost Explorer would, for the functions and
        // the Python baseline alike; RESULTS.md says so.
        s.counts.lock().unwrap().entry(op).or_default().requests += 1;
        let forecast = r#"{"Total":{"Amount":"1234.56","Unit":"USD"},"ForecastResultsByTime":[]}"#;
        return ([("content-type", "application/x-amz-json-1.1")], forecast).into_response();
    }
    let started = Instant::now();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = s.client.request(method, format!("{}{}", s.upstream, path));
    for (name, value) in headers.iter() {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.body(body).send().await;
    let answer = match answer {
        Ok(resp) => {
            let status = resp.status();
            let headers = resp.headers().clone();
            Ok((status, headers, resp.bytes().await.unwrap_or_default()))
        }
        Err(e) => Err(e),
    };
    {
        let mut counts = s.counts.lock().unwrap();
        let tally = counts.entry(op).or_default();
        tally.requests += 1;
        tally.upstream += started.elapsed();
    }
    match answer {
        Ok((status, headers, bytes)) => {
            let mut out = (status, bytes).into_response();
            for (name, value) in headers.iter() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    out.headers_mut().insert(name, value.clone());
                }
            }
            out
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
