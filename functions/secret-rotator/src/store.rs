//! The `SecretStore` port: what the rotation needs from Secrets Manager.

use std::collections::HashMap;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::RotateError;

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// What DescribeSecret tells about a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description {
    pub arn: String,
    pub rotation_enabled: bool,
    /// Version id → its staging labels.
    pub versions: HashMap<String, Vec<String>>,
}

impl Description {
    /// The version that carries `stage`, if any.
    pub fn version_with(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(v, _)| v.as_str())
    }

    pub fn stages_of(&self, version: &str) -> Option<&[String]> {
        self.versions.get(version).map(Vec::as_slice)
    }
}

/// How new passwords are made (GetRandomPassword's options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub length: i64,
    pub exclude_characters: String,
    pub exclude_punctuation: bool,
    pub exclude_numbers: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub require_each_included_type: bool,
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn describe(&self, secret: &str) -> Result<Description, RotateError>;
    /// The value labelled `stage`; `None` when no version carries it.
    async fn value_at_stage(&self, secret: &str, stage: &str) -> Result<Option<SecretString>, RotateError>;
    /// The value of `version` if it carries `stage`; `None` when it has no such value.
    async fn value_of_version(
        &self,
        secret: &str,
        version: &str,
        stage: &str,
    ) -> Result<Option<SecretString>, RotateError>;
    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretString, RotateError>;
    /// Stores `value` as version `version` labelled AWSPENDING.
    async fn put_pending(
        &self,
        secret: &str,
        version: &str,
        value: &SecretString,
        rotation_token: Option<&SecretString>,
    ) -> Result<(), RotateError>;
    /// Moves AWSCURRENT to `to`, off `from` (Secrets Manager moves AWSPREVIOUS by itself).
    async fn move_current(&self, secret: &str, to: &str, from: &str) -> Result<(), RotateError>;
}
