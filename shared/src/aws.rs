//! One AWS configuration for every SDK client a function builds.
//!
//! The SDK reads region, credentials and `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>`) from the environment by itself, so the same code talks to AWS in the
//! cloud and to the local emulator in tests: there is deliberately no "local mode" here.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the shared SDK configuration once, at cold start.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
