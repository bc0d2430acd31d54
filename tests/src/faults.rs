//! The local stack's AWS proxy, from a test: make AWS throttle, fail, lag or drop the connection
//! for one operation, answer what moto lacks, and count requests (`AWS_FAULTS_URL`, served by
//! `infra/local/aws-proxy`).
//!
//! Faults are global to the stack, and tests in one binary run side by side: a test that injects a
//! fault narrows it to an access key of its own ([`access_key`]) and runs its function with that key
//! as `AWS_ACCESS_KEY_ID` (moto accepts any key, in the same account).

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// An access key no other test uses, for keeping faults and counts to one test's requests.
pub fn access_key() -> String {
    format!("AKIA{}", crate::unique("t").replace('-', "").to_ascii_uppercase())
}

/// `config` signing with `key`: the requests a fault or capture narrowed to that key selects.
pub fn signed_with(config: &aws_config::SdkConfig, key: &str) -> aws_config::SdkConfig {
    let credentials = aws_sdk_secretsmanager::config::Credentials::new(key, "testing", None, None, "test");
    config
        .to_builder()
        .credentials_provider(aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build()
}

/// The proxy's control API.
#[derive(Debug, Clone)]
pub struct Faults {
    url: String,
    client: reqwest::Client,
}

impl Faults {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let url = format!("{}{path}", self.url);
        let mut request = self.client.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let resp = request.send().await.unwrap_or_else(|e| {
            panic!("{method} {url}: the AWS proxy does not answer ({e}); is the stack up?")
        });
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "{method} {url} {body:?} refused: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `POST /faults`: `rule` is `{"operation", "error", "times"?, "after"?, "region"?, "access_key"?, "latency_ms"?}`.
    pub async fn inject(&self, rule: Value) -> Value {
        self.send(reqwest::Method::POST, "/faults", Some(&rule)).await
    }

    /// `operation` answers AWS's throttling error to every request signed with `access_key`.
    pub async fn throttle(&self, operation: &str, access_key: &str) {
        self.inject(json!({"operation": operation, "error": "throttle", "access_key": access_key}))
            .await;
    }

    /// `POST /rate`: a token bucket of `per_second` for `operation`.
    pub async fn rate(&self, rule: Value) {
        self.send(reqwest::Method::POST, "/rate", Some(&rule)).await;
    }

    /// `POST /answers`: answer `operation` with `body` instead of asking moto.
    pub async fn answer(&self, rule: Value) {
        self.send(reqwest::Method::POST, "/answers", Some(&rule)).await;
    }

    /// `POST /capture`: keep the bodies of the requests `rule` selects.
    pub async fn capture(&self, rule: Value) {
        self.send(reqwest::Method::POST, "/capture", Some(&rule)).await;
    }

    /// `GET /captured?access_key=K`: the kept requests signed with that key, oldest first.
    pub async fn captured(&self, access_key: &str) -> Vec<Value> {
        match self
            .send(
                reqwest::Method::GET,
                &format!("/captured?access_key={access_key}"),
                None,
            )
            .await
        {
            Value::Array(kept) => kept,
            other => panic!("/captured answered {other}, not a list"),
        }
    }

    /// `GET /calls?access_key=K`: requests per `service:Operation` signed with that key.
    pub async fn calls(&self, access_key: &str) -> BTreeMap<String, u64> {
        let listing = self
            .send(
                reqwest::Method::GET,
                &format!("/calls?access_key={access_key}"),
                None,
            )
            .await;
        serde_json::from_value(listing).expect("/calls answers {operation: count}")
    }

    /// `GET /faults`: the faults and rates in force, with their counters.
    pub async fn listing(&self) -> Value {
        self.send(reqwest::Method::GET, "/faults", None).await
    }
}
