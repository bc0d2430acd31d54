//! The Secrets Manager adapter of [`SecretReader`].

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use ops_shared::error::{sdk_message, sdk_retryable};
use secrecy::SecretString;

use crate::error::ForwardError;
use crate::routing::SecretReader;

pub struct SecretsManagerReader {
    client: Client,
}

impl SecretsManagerReader {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretReader for SecretsManagerReader {
    async fn read(&self, secret_id: &str) -> Result<SecretString, ForwardError> {
        let unreadable = |reason: String, retryable: bool| ForwardError::RoutingSecretUnreadable {
            secret: secret_id.to_string(),
            reason,
            retryable,
        };
        // Always name the stage: without it, a just-rotated secret can answer with the old value.
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| unreadable(sdk_message(&e), sdk_retryable(&e)))?;
        let value = out
            .secret_string
            .ok_or_else(|| unreadable("it has no string value".into(), false))?;
        ops_shared::redact::register(&value);
        Ok(SecretString::from(value))
    }
}
