//! Helpers for the end-to-end tests: where the local stack is, and small clients for what the SDK
//! does not cover (moto's own API, the PagerDuty receiver's test routes, PostgreSQL over TLS).
//!
//! Every test that needs the stack calls [`Stack::get`], which fails the test with instructions when
//! the stack is not running: a missing stack is a failure, never a silent skip.

pub mod aws_tls;
pub mod bench;
pub mod faults;
pub mod fresh;
pub mod lambda;
pub mod targets;
pub mod template;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Where the local stack listens; read from the variables `infra/local/stack-up.sh` writes.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The AWS proxy in front of moto: where every AWS client points.
    pub aws_endpoint: String,
    /// moto itself, for its own API (`/moto-api/`).
    pub moto_url: String,
    /// The proxy's control API (faults, answers, call counts).
    pub faults_url: String,
    pub pagerduty_url: String,
    pub pg_host: String,
    pub pg_port: u16,
    pub pg_user: String,
    pub pg_password: String,
    pub pg_ca_bundle: String,
}

impl Stack {
    /// The running stack, or a panic that says how to start one.
    pub fn get() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: these tests need the local stack. Run them with `make test`, or \
                     `make stack-up && source .stack/env` before `cargo test`."
                )
            })
        };
        Self {
            aws_endpoint: var("AWS_ENDPOINT_URL"),
            moto_url: var("MOTO_URL"),
            faults_url: var("AWS_FAULTS_URL"),
            pagerduty_url: var("PAGERDUTY_RECEIVER_URL"),
            pg_host: var("PGHOST"),
            pg_port: var("PGPORT").parse().expect("PGPORT is a port number"),
            pg_user: var("PGUSER"),
            pg_password: var("PGPASSWORD"),
            pg_ca_bundle: var("PG_CA_BUNDLE"),
        }
    }

    /// The proxy's control API.
    pub fn faults(&self) -> faults::Faults {
        faults::Faults::new(&self.faults_url)
    }

    /// The SDK configuration every function uses, pointed at the proxy by `AWS_ENDPOINT_URL`.
    pub async fn aws(&self) -> aws_config::SdkConfig {
        ops_shared::aws::load().await
    }

    /// A new SNS topic with a unique name; returns its ARN.
    pub async fn topic(&self, prefix: &str) -> String {
        let sns = aws_sdk_sns::Client::new(&self.aws().await);
        let out = sns
            .create_topic()
            .name(unique(prefix))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create topic: {e:?}"));
        out.topic_arn.expect("CreateTopic returns the ARN")
    }

    /// Everything moto holds, as JSON (`GET /moto-api/data.json`).
    pub async fn moto_data(&self) -> Value {
        get_json(&format!("{}/moto-api/data.json", self.moto_url)).await
    }

    /// The receiver's view of one integration: `events`, `incidents` or `rejected`.
    pub async fn pagerduty(&self, listing: &str, routing_key: &str) -> Vec<Value> {
        let url = format!("{}/_test/{listing}?routing_key={routing_key}", self.pagerduty_url);
        match get_json(&url).await {
            Value::Array(items) => items,
            other => panic!("{url} answered {other}, not a list"),
        }
    }

    /// Makes the receiver fail the next `count` requests for `routing_key`.
    pub async fn pagerduty_fault(&self, routing_key: &str, count: usize, status: Option<u16>, delay_ms: u64) {
        let body = serde_json::json!({"count": count, "status": status, "delay_ms": delay_ms, "routing_key": routing_key});
        let resp = reqwest::Client::new()
            .post(format!("{}/_test/faults", self.pagerduty_url))
            .json(&body)
            .send()
            .await
            .expect("the PagerDuty receiver answers");
        assert!(
            resp.status().is_success(),
            "fault injection refused: {}",
            resp.status()
        );
    }

    /// The stack's PostgreSQL server log (`pg_ctl -l`): where a statement's text would leak.
    pub fn pg_server_log(&self) -> PathBuf {
        let dir = std::env::var("OPS_STACK_DIR").expect("OPS_STACK_DIR is set by the stack's env file");
        let pgdata = std::fs::read_to_string(PathBuf::from(dir).join("pg.path"))
            .expect("the stack records its PostgreSQL directory in pg.path");
        PathBuf::from(pgdata.trim()).join("server.log")
    }

    /// Connects to the stack's PostgreSQL with TLS, verifying the server certificate against the
    /// stack's CA and the name in `host` (what libpq calls `sslmode=verify-full`).
    pub async fn pg_connect(
        &self,
        host: &str,
        user: &str,
        password: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(host)
            .port(self.pg_port)
            .user(user)
            .password(password)
            .dbname("postgres")
            .ssl_mode(tokio_postgres::config::SslMode::Require)
            .connect_timeout(std::time::Duration::from_secs(5));
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config());
        let (client, connection) = config.connect(tls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    fn tls_config(&self) -> rustls::ClientConfig {
        let pem = std::fs::read(&self.pg_ca_bundle).expect("the stack's CA bundle is readable");
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots
                .add(cert.expect("the CA bundle is valid PEM"))
                .expect("the CA certificate is usable");
        }
        // Explicit provider: two are compiled in (the AWS SDK brings aws-lc-rs), so none is implied.
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3 are available")
            .with_root_certificates(roots)
            .with_no_client_auth()
    }
}

/// GET a URL and parse its JSON body, failing the test with the URL when that is not possible.
pub async fn get_json(url: &str) -> Value {
    let resp = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    resp.json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: body is not JSON: {e}"))
}

/// A name no other test (nor an earlier run against the same stack) has used.
pub fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos:x}-{n}", std::process::id())
}

/// A 32-character routing key no other test uses.
pub fn routing_key() -> String {
    let seed = unique("rk").replace('-', "");
    format!("{:0>32}", seed.chars().rev().take(32).collect::<String>())
}

/// A path inside the repository, from its root (`events/alarm-forwarder/x.json`).
///
/// `cargo test` sets `CARGO_MANIFEST_DIR` at run time; that wins over the compiled-in path because
/// the build directory is shared between clones (a binary built from another clone would otherwise
/// read that clone's files). `make bench` runs its binary directly, from the clone that built it.
pub fn repo_path(relative: &str) -> PathBuf {
    std::env::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("..")
        .join(relative)
}

/// Starts a rotation as Secrets Manager does before it calls the rotator: moto's RotateSecret labels
/// a new version AWSPENDING and then fails to call the (unknown) function, which is ignored here.
/// Returns the token (32 to 64 characters, as Secrets Manager's are) and RotateSecret's answer.
pub async fn start_rotation(
    sm: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> (String, Result<(), String>) {
    let token = format!("{:a<40}", unique("token"));
    let answer = start_rotation_with(sm, secret, &token).await;
    (token, answer)
}

/// [`start_rotation`] with a token of the caller's.
pub async fn start_rotation_with(
    sm: &aws_sdk_secretsmanager::Client,
    secret: &str,
    token: &str,
) -> Result<(), String> {
    sm.rotate_secret()
        .secret_id(secret)
        .client_request_token(token)
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:secret-rotator")
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(30)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// Queues one Cost Explorer answer in moto (`ResultsByTime` days) for the next distinct request.
pub async fn inject_costs(stack: &Stack, days: Vec<Value>) {
    inject_cost_results(stack, vec![days]).await
}

/// Queues one GetCostAndUsage result per list of `ResultsByTime`: moto answers each new request
/// with the next, in order.
pub async fn inject_cost_results(stack: &Stack, results: Vec<Vec<Value>>) {
    let results: Vec<Value> = results
        .into_iter()
        .map(|days| serde_json::json!({"ResultsByTime": days, "GroupDefinitions": [], "DimensionValueAttributes": []}))
        .collect();
    let body = serde_json::json!({"account_id": "123456789012", "results": results});
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            stack.moto_url
        ))
        .json(&body)
        .send()
        .await
        .expect("moto answers");
    assert!(
        resp.status().is_success(),
        "injecting costs into moto: {}",
        resp.status()
    );
}

/// Creates a Secrets Manager secret with a unique name; returns the name.
pub async fn create_secret(config: &aws_config::SdkConfig, prefix: &str, value: &str) -> String {
    let name = unique(prefix);
    aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create secret {name}: {e:?}"));
    name
}

/// A PostgreSQL identifier no other test uses: lower-case letters, digits and underscores.
pub fn pg_name(prefix: &str) -> String {
    unique(prefix).replace('-', "_").to_ascii_lowercase()
}
