//! health-checker: scheduled HTTP, TCP, DNS, TLS and ECS checks → CloudWatch metrics and one alarm
//! per check. State lives in CloudWatch: the alarm decides when M of N runs failed and when the
//! check has recovered.

pub mod alarms;
pub mod aws_cloudwatch;
pub mod aws_ecs;
pub mod aws_s3;
pub mod checks;
pub mod checks_file;
pub mod config;
pub mod error;
pub mod outcome;
pub mod probe;
pub mod publish;
pub mod run;
pub mod selection;
pub mod status;

use lambda_runtime::LambdaEvent;
use ops_shared::CloudWatchSink;
use serde_json::Value;

pub use config::Config;
pub use error::HealthError;
pub use run::{Deps, Report};

use checks_file::ChecksFile;
use probe::http::HttpClients;
use probe::tls::TlsProbe;

impl Deps {
    /// Builds every client once. An unreadable `HEALTH_CA_BUNDLE` fails the cold start.
    pub async fn connect(config: &Config) -> Result<Self, HealthError> {
        let bad = |problem: String| {
            HealthError::Shared(ops_shared::SharedError::Config {
                var: "HEALTH_CA_BUNDLE".into(),
                problem,
                expected: "the path of a PEM file of extra CA certificates".into(),
            })
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in ops_shared::tls::system_roots() {
            let _ = roots.add(cert);
        }
        // A runtime without a CA store of its own still verifies against the Mozilla roots.
        if roots.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if let Some(path) = &config.ca_bundle {
            let pem =
                std::fs::read(path).map_err(|e| bad(format!("cannot be read ({}: {e})", path.display())))?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| bad(format!("is not PEM ({e})")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("holds an unusable certificate ({e})")))?;
            }
        }
        let http = HttpClients::new(roots.clone());
        let tls = TlsProbe::new(roots).map_err(bad)?;
        let aws = ops_shared::aws::load().await;
        let checks_file = config
            .checks_url
            .clone()
            .map(|url| ChecksFile::new(url, Box::new(aws_s3::S3Objects::new(&aws))));
        // Read at cold start; a failure here is the first run's to report.
        if let Some(file) = &checks_file {
            if let Err(e) = file.checks().await {
                tracing::warn!(error = %e, "the check list could not be read at cold start");
            }
        }
        Ok(Self {
            checks_file,
            http,
            tls,
            ecs: Box::new(aws_ecs::EcsClient::new(aws_sdk_ecs::Client::new(&aws))),
            metrics: Box::new(CloudWatchSink::new(
                aws_sdk_cloudwatch::Client::new(&aws),
                ops_shared::METRICS_NAMESPACE,
                config::FUNCTION,
            )),
            alarms: Box::new(aws_cloudwatch::CloudWatchAlarms::new(
                aws_sdk_cloudwatch::Client::new(&aws),
            )),
        })
    }
}

/// The Lambda handler.
pub async fn handle(deps: &Deps, config: &Config, event: LambdaEvent<Value>) -> Result<Report, HealthError> {
    let deadline = ops_shared::deadline::from_epoch_ms(event.context.deadline);
    run::run(deps, config, &event.payload, deadline).await
}
