//! The `Database` port: logging in, and changing roles in one transaction.

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::time::Instant;

use crate::secret_value::SslMode;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub sslmode: SslMode,
}

/// A change to a role. Identifiers are quoted by the server (`format('%I', '%L')`), never pasted
/// into SQL by us, and a password reaches the server only as its SCRAM-SHA-256 verifier.
#[derive(Debug, Clone)]
pub enum RoleChange {
    SetPassword {
        role: String,
        password: SecretString,
    },
    CreateLoginRole {
        role: String,
        password: SecretString,
    },
    /// `GRANT role TO member`: the member gets the role's privileges.
    Grant {
        role: String,
        member: String,
    },
}

/// Why a database operation failed, without any secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub reason: String,
    /// Network trouble and timeouts can pass; a refused password or certificate cannot.
    pub retryable: bool,
    /// The server refused the password itself (SQLSTATE 28P01), not the host, TLS or pg_hba.
    pub wrong_password: bool,
}

impl DbError {
    /// A failure that is not a refused password.
    pub fn other(reason: impl Into<String>, retryable: bool) -> Self {
        Self {
            reason: reason.into(),
            retryable,
            wrong_password: false,
        }
    }
}

#[async_trait]
pub trait Database: Send + Sync {
    /// Logs in; every later call on the session is bounded by `deadline` too.
    async fn connect(
        &self,
        target: &Target,
        user: &str,
        password: &SecretString,
        deadline: Instant,
    ) -> Result<Box<dyn Session>, DbError>;
}

#[async_trait]
pub trait Session: Send {
    /// Runs a query, proving the login works for real.
    async fn check(&mut self) -> Result<(), DbError>;
    async fn role_exists(&mut self, role: &str) -> Result<bool, DbError>;
    /// Whether one of the two roles was granted the other: an alternating pair.
    async fn paired(&mut self, a: &str, b: &str) -> Result<bool, DbError>;
    /// Applies every change in one transaction: all of them, or none.
    async fn apply(&mut self, changes: &[RoleChange]) -> Result<(), DbError>;
}
