//! secret-rotator: the four Secrets Manager rotation steps for PostgreSQL credentials (single user
//! or alternating users) and for generic secrets, safe to retry at every point.

pub mod config;
pub mod database;
pub mod error;
pub mod event;
pub mod postgres;
pub mod rotation;
pub mod secret_value;
pub mod secretsmanager;
pub mod store;
#[cfg(test)]
mod tests;
pub mod trust;

use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub use config::Config;
pub use error::RotateError;
pub use event::RotationEvent;
pub use rotation::{Rotator, StepResult};

use postgres::Postgres;
use secretsmanager::SecretsManager;

/// Clients built once per container and shared by every invocation.
pub struct Deps {
    pub store: SecretsManager,
    pub db: Postgres,
}

impl Deps {
    /// Fails at cold start when the CA bundle cannot be read, naming `PG_CA_BUNDLE`.
    pub async fn connect(config: &Config) -> Result<Self, RotateError> {
        let bad_bundle = |problem: String| {
            RotateError::Config(ops_shared::SharedError::Config {
                var: "PG_CA_BUNDLE".into(),
                problem,
                expected: "the path of a PEM file with the CA certificates of the database server, or `rds`"
                    .into(),
            })
        };
        let db = Postgres::new(config).map_err(bad_bundle)?;
        let aws = ops_shared::aws::load().await;
        Ok(Self {
            store: SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws)),
            db,
        })
    }
}

/// The Lambda handler.
pub async fn handle(
    deps: &Deps,
    config: &Config,
    event: LambdaEvent<Value>,
) -> Result<StepResult, RotateError> {
    let rotation = RotationEvent::parse(&event.payload)?;
    let deadline = ops_shared::deadline::from_epoch_ms(event.context.deadline);
    Rotator {
        store: &deps.store,
        db: &deps.db,
        config,
    }
    .run(&rotation, deadline)
    .await
}
