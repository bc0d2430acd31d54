//! `http`: status, latency, body text and JSONPath conditions.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::checks::{HttpCheck, JsonCondition, JsonExpect};
use crate::outcome::Outcome;

/// Bodies are read up to this many bytes; a longer one fails body checks instead of filling memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One client per (follow redirects, verify TLS) pair, each built on first use and kept for the
/// container's life: building one loads a root store, which a cold start should not pay for the
/// kinds of check a list does not use.
pub struct HttpClients {
    extra_roots: Vec<reqwest::Certificate>,
    clients: [OnceLock<Result<reqwest::Client, String>>; 4],
}

impl HttpClients {
    pub fn new(extra_roots: &[reqwest::Certificate]) -> Self {
        Self {
            extra_roots: extra_roots.to_vec(),
            clients: Default::default(),
        }
    }

    fn get(&self, follow: bool, verify: bool) -> Result<&reqwest::Client, &str> {
        self.clients[(!follow as usize) * 2 + (!verify as usize)]
            .get_or_init(|| {
                let mut b = reqwest::Client::builder()
                    .user_agent(concat!("ops-lambdas-health-checker/", env!("CARGO_PKG_VERSION")))
                    .redirect(if follow {
                        reqwest::redirect::Policy::limited(10)
                    } else {
                        reqwest::redirect::Policy::none()
                    })
                    .danger_accept_invalid_certs(!verify)
                    .pool_max_idle_per_host(4);
                for root in &self.extra_roots {
                    b = b.add_root_certificate(root.clone());
                }
                b.build().map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

pub async fn probe(clients: &HttpClients, check: &HttpCheck, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let client = match clients.get(check.follow_redirects, check.verify_tls) {
        Ok(c) => c,
        Err(e) => {
            return Outcome::unhealthy(
                started.elapsed(),
                format!("the HTTP client could not be built: {e}"),
            )
        }
    };
    let mut request = client
        .request(check.method.clone(), check.url.clone())
        .timeout(timeout);
    for (k, v) in &check.headers {
        request = request.header(k, v);
    }
    if let Some(body) = &check.body {
        request = request.body(body.clone());
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::unhealthy(started.elapsed(), describe(&e)),
    };
    let status = response.status().as_u16();
    let latency = started.elapsed();
    if !check.expect_status.contains(status) {
        return Outcome::unhealthy(
            latency,
            format!("HTTP {status}, expected {}", check.expect_status.describe()),
        );
    }
    if let Some(max) = check.max_latency {
        if latency > max {
            return Outcome::unhealthy(
                latency,
                format!(
                    "answered in {} ms, over max_latency {} ms",
                    latency.as_millis(),
                    max.as_millis()
                ),
            );
        }
    }
    if check.body_contains.is_none() && check.json.is_empty() {
        return Outcome::healthy(latency, format!("HTTP {status}"));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY_BYTES {
                    return Outcome::unhealthy(
                        latency,
                        "the body is larger than 1 MB; body checks need a smaller response".to_string(),
                    );
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Outcome::unhealthy(started.elapsed(), format!("reading the body: {}", describe(&e)))
            }
        }
    }
    let text = String::from_utf8_lossy(&body);
    if let Some(needle) = &check.body_contains {
        if !text.contains(needle.as_str()) {
            return Outcome::unhealthy(latency, format!("the body does not contain {needle:?}"));
        }
    }
    if !check.json.is_empty() {
        let Ok(value) = serde_json::from_slice::<Value>(&body) else {
            return Outcome::unhealthy(latency, "the body is not JSON".to_string());
        };
        for condition in &check.json {
            if let Err(reason) = evaluate(condition, &value) {
                return Outcome::unhealthy(latency, reason);
            }
        }
    }
    Outcome::healthy(latency, format!("HTTP {status}"))
}

/// Checks one JSONPath condition against a document.
pub fn evaluate(condition: &JsonCondition, value: &Value) -> Result<(), String> {
    let nodes = condition.path.query(value).all();
    let path = &condition.path_text;
    match &condition.expect {
        JsonExpect::Exists(true) if nodes.is_empty() => Err(format!("{path} does not exist")),
        JsonExpect::Exists(false) if !nodes.is_empty() => Err(format!("{path} exists")),
        JsonExpect::Exists(_) => Ok(()),
        JsonExpect::Equals(expected) => match nodes.first() {
            None => Err(format!("{path} does not exist, expected {expected}")),
            Some(found) if *found == expected => Ok(()),
            Some(found) => {
                let shown: String = found.to_string().chars().take(100).collect();
                Err(format!("{path} is {shown}, expected {expected}"))
            }
        },
    }
}

fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(cause) => format!("{what}: {}", ops_shared::error::chain(cause)),
        None => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serde_json_path::JsonPath;

    use super::*;

    fn cond(path: &str, expect: JsonExpect) -> JsonCondition {
        JsonCondition {
            path: JsonPath::parse(path).unwrap(),
            path_text: path.into(),
            expect,
        }
    }

    #[test]
    fn json_conditions_check_values_and_presence() {
        let doc = json!({"status": "ok", "db": {"up": true, "lag": 3}, "items": [1, 2]});
        assert!(evaluate(&cond("$.status", JsonExpect::Equals(json!("ok"))), &doc).is_ok());
        assert!(evaluate(&cond("$.db.up", JsonExpect::Exists(true)), &doc).is_ok());
        assert!(evaluate(&cond("$.db.error", JsonExpect::Exists(false)), &doc).is_ok());
        assert!(evaluate(&cond("$.items[1]", JsonExpect::Equals(json!(2))), &doc).is_ok());
        assert_eq!(
            evaluate(&cond("$.db.lag", JsonExpect::Equals(json!(0))), &doc).unwrap_err(),
            "$.db.lag is 3, expected 0"
        );
        assert_eq!(
            evaluate(&cond("$.missing", JsonExpect::Exists(true)), &doc).unwrap_err(),
            "$.missing does not exist"
        );
        assert!(evaluate(&cond("$.status", JsonExpect::Exists(false)), &doc).is_err());
    }
}
