//! ops-shared: what two or more ops-lambdas functions need, and nothing else.
//!
//! - [`aws`]: one AWS configuration for every SDK client (honours `AWS_ENDPOINT_URL`).
//! - [`logging`]: tracing that follows Lambda's logging controls and redacts registered secrets.
//! - [`config`]: typed environment variables with defaults and errors that name the variable.
//! - [`deadline`]: the time an invocation has left.
//! - [`error`]: the crate's error enum and the mapping of any error to a Lambda `Diagnostic`.
//! - [`notifier`]: the `Notifier` port and its SNS adapter (subject and size limits enforced).
//! - [`metrics`]: the `MetricSink` port and its batching CloudWatch adapter.
//! - [`redact`]: the registry of secret values that must never reach a log line or an error.
//! - [`tls`]: a certificate verifier that checks signatures only (`sslmode=require`, `verify_tls: false`).

pub mod aws;
pub mod config;
pub mod deadline;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod notifier;
pub mod redact;
pub mod tls;

pub use config::{parse_duration, Vars};
pub use error::{diagnostic, Retryable, SharedError};
pub use metrics::{CloudWatchSink, Metric, MetricSink, Unit};
pub use notifier::{Notification, Notifier, SnsNotifier};

/// CloudWatch namespace of every metric the functions publish.
pub const METRICS_NAMESPACE: &str = "OpsLambdas";
/// Tag that exempts a resource from cleanup.
pub const PROTECT_TAG: &str = "ops-lambdas:protect";
/// Tag that records when cleanup first marked a resource (RFC 3339 date).
pub const CLEANUP_MARKED_TAG: &str = "ops-lambdas:cleanup-marked";

/// A sample event of `events/<function>/`, for the functions' tests.
///
/// Read from `CARGO_MANIFEST_DIR` at run time, which `cargo test` sets to the package being tested:
/// the build directory is shared between clones, and a path compiled in with `env!` would point a
/// test binary built from another clone at that clone's files.
pub fn sample_event_path(function: &str, file: &str) -> std::path::PathBuf {
    let package = std::env::var("CARGO_MANIFEST_DIR")
        .expect("CARGO_MANIFEST_DIR is set by cargo: run the tests with cargo test");
    std::path::Path::new(&package)
        .join("../../events")
        .join(function)
        .join(file)
}
