//! The Secrets Manager adapter of [`SecretStore`].

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::Client;
use ops_shared::error::{sdk_message, sdk_retryable};
use secrecy::{ExposeSecret, SecretString};

use crate::error::RotateError;
use crate::store::{Description, PasswordPolicy, SecretStore, CURRENT};

pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn failed<E>(
    operation: &'static str,
    secret: &str,
    e: &aws_sdk_secretsmanager::error::SdkError<E>,
) -> RotateError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    RotateError::SecretsManager {
        operation,
        secret: secret.to_string(),
        reason: sdk_message(e),
        retryable: sdk_retryable(e),
    }
}

fn not_found<E: ProvideErrorMetadata>(e: &aws_sdk_secretsmanager::error::SdkError<E>) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ResourceNotFoundException")
}

/// Registers a value with the redactor the moment it is read.
fn secret_value(value: Option<String>) -> Option<SecretString> {
    value.map(ops_shared::redact::secret)
}

#[async_trait]
impl SecretStore for SecretsManager {
    async fn describe(&self, secret: &str) -> Result<Description, RotateError> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| failed("DescribeSecret", secret, &e))?;
        Ok(Description {
            arn: out.arn.clone().unwrap_or_else(|| secret.to_string()),
            rotation_enabled: out.rotation_enabled.unwrap_or(false),
            versions: out.version_ids_to_stages.unwrap_or_default(),
        })
    }

    async fn value_at_stage(&self, secret: &str, stage: &str) -> Result<Option<SecretString>, RotateError> {
        match self
            .client
            .get_secret_value()
            .secret_id(secret)
            .version_stage(stage)
            .send()
            .await
        {
            Ok(out) => Ok(secret_value(out.secret_string)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(failed("GetSecretValue", secret, &e)),
        }
    }

    async fn value_of_version(
        &self,
        secret: &str,
        version: &str,
        stage: &str,
    ) -> Result<Option<SecretString>, RotateError> {
        let call = self
            .client
            .get_secret_value()
            .secret_id(secret)
            .version_id(version)
            .version_stage(stage);
        match call.send().await {
            Ok(out) => Ok(secret_value(out.secret_string)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(failed("GetSecretValue", secret, &e)),
        }
    }

    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretString, RotateError> {
        let out = self
            .client
            .get_random_password()
            .password_length(policy.length)
            .exclude_characters(&policy.exclude_characters)
            .exclude_punctuation(policy.exclude_punctuation)
            .exclude_numbers(policy.exclude_numbers)
            .exclude_uppercase(policy.exclude_uppercase)
            .exclude_lowercase(policy.exclude_lowercase)
            .require_each_included_type(policy.require_each_included_type)
            .send()
            .await
            .map_err(|e| failed("GetRandomPassword", "(none)", &e))?;
        secret_value(out.random_password).ok_or_else(|| RotateError::SecretsManager {
            operation: "GetRandomPassword",
            secret: "(none)".into(),
            reason: "the answer held no password".into(),
            retryable: true,
        })
    }

    async fn put_pending(
        &self,
        secret: &str,
        version: &str,
        value: &SecretString,
        rotation_token: Option<&SecretString>,
    ) -> Result<(), RotateError> {
        let mut call = self
            .client
            .put_secret_value()
            .secret_id(secret)
            .client_request_token(version)
            .secret_string(value.expose_secret())
            .version_stages(crate::store::PENDING);
        if let Some(token) = rotation_token {
            call = call.rotation_token(token.expose_secret());
        }
        call.send()
            .await
            .map_err(|e| failed("PutSecretValue", secret, &e))?;
        Ok(())
    }

    async fn move_current(&self, secret: &str, to: &str, from: &str) -> Result<(), RotateError> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret)
            .version_stage(CURRENT)
            .move_to_version_id(to)
            .remove_from_version_id(from)
            .send()
            .await
            .map_err(|e| failed("UpdateSecretVersionStage", secret, &e))?;
        Ok(())
    }
}
