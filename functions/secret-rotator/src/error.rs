//! secret-rotator's errors. Each names the secret, the credential (current, previous, pending or
//! master) and the place that failed, and what to do; none carries a secret value.

use lambda_runtime::Diagnostic;
use ops_shared::{Retryable, SharedError};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Config(#[from] SharedError),

    #[error("the rotation event is invalid: {problem}. Secrets Manager sends {{\"Step\", \"SecretId\", \"ClientRequestToken\"}}")]
    BadEvent { problem: String },

    #[error("secret {secret} is not in ALLOWED_SECRET_ARNS: this rotator refuses it (add its ARN to the list to allow it)")]
    NotAllowed { secret: String },

    #[error("rotation is not enabled for secret {secret}: enable it with RotateSecret before invoking the rotator")]
    RotationDisabled { secret: String },

    #[error("version {token} is not a version of secret {secret}: the event belongs to another rotation")]
    UnknownVersion { secret: String, token: String },

    #[error("version {token} of secret {secret} is not AWSPENDING: this is a stale retry of an earlier rotation; start a new rotation")]
    NotPending { secret: String, token: String },

    #[error("secret {secret} has no {stage} value: {hint}")]
    MissingValue {
        secret: String,
        stage: String,
        hint: String,
    },

    #[error("Secrets Manager {operation} on {secret} failed: {reason}")]
    SecretsManager {
        operation: &'static str,
        secret: String,
        reason: String,
        retryable: bool,
    },

    #[error("the {stage} value of secret {secret} is not usable: {problem}")]
    BadSecretValue {
        secret: String,
        stage: String,
        problem: String,
    },

    #[error("secret {secret} has engine \"{engine}\", which this rotator does not rotate (postgres, postgresql and aurora-postgresql only; a generic secret has no \"engine\" and names the field to regenerate in \"rotate_field\")")]
    UnsupportedEngine { secret: String, engine: String },

    #[error("the pending {field} of secret {secret} differs from the current one: a rotation changes only the password (and, with alternating users, which of the two users); nothing was changed, start a new rotation")]
    Mismatch { secret: String, field: &'static str },

    #[error("the pending user of secret {secret} is {found}, but an alternating-users rotation from {current} may only change {expected}{why}; nothing was changed: {advice}", expected = crate::secret_value::alternate_user(current), why = problem.why(current), advice = problem.advice(current, found))]
    WrongAlternate {
        secret: String,
        current: String,
        found: String,
        problem: AlternateProblem,
    },

    #[error("the alternate user name {name} is {len} bytes, over PostgreSQL's 63-byte limit: shorten the user name in secret {secret}")]
    NameTooLong {
        secret: String,
        name: String,
        len: usize,
    },

    #[error("the master secret {master} is for host {master_host}, but secret {secret} is for host {host}: point masterarn at the master of the same database")]
    MasterHostMismatch {
        secret: String,
        master: String,
        master_host: String,
        host: String,
    },

    #[error("the {credential} credential of secret {secret} could not log in to {host}:{port} as {user}: {reason}")]
    Login {
        credential: Credential,
        secret: String,
        host: String,
        port: u16,
        user: String,
        reason: String,
        retryable: bool,
        /// The server refused the password itself (not the host, TLS or pg_hba).
        wrong_password: bool,
    },

    #[error("the current credential of secret {secret} was refused by {host}:{port} ({current}), and the previous password, tried with the current connection settings, could not log in either ({previous}). Nothing was changed; fix the second problem, then retry")]
    FallbackFailed {
        secret: String,
        host: String,
        port: u16,
        current: String,
        previous: String,
        retryable: bool,
    },

    #[error("neither the current nor the previous credential of secret {secret} logs in to {host}:{port} as {user}: the database holds a password in no label of the secret, or (restored from a backup older than the user) no such user at all. Nothing was changed; reset the user's password to the AWSCURRENT value by hand (or create the user), then retry")]
    NoWorkingCredential {
        secret: String,
        host: String,
        port: u16,
        user: String,
    },

    #[error("changing role {role} on {host}:{port} as the {credential} user failed: {reason} (nothing was committed)")]
    Database {
        credential: Credential,
        role: String,
        host: String,
        port: u16,
        reason: String,
        retryable: bool,
    },

    #[error("{what} did not finish before the invocation's deadline")]
    Timeout { what: String },
}

/// Which credential an operation used, for errors that say exactly what failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Current,
    Previous,
    Pending,
    Master,
}

impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Current => "current (AWSCURRENT)",
            Self::Previous => "previous (AWSPREVIOUS)",
            Self::Pending => "pending (AWSPENDING)",
            Self::Master => "master",
        })
    }
}

/// Why a pending user is not the one an alternating-users rotation may change; a new rotation
/// fixes a wrong pending name, not a role conflict, so the advice differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlternateProblem {
    /// Another name than the current user's alternate.
    NotTheAlternate,
    /// The current user itself (AWSPENDING staged by hand as a copy of AWSCURRENT).
    CurrentUser,
    /// The master secret's user.
    MasterUser,
    /// A role of the alternate's name that is granted neither to nor from the current user.
    Stranger,
}

impl AlternateProblem {
    fn why(&self, current: &str) -> String {
        match self {
            Self::NotTheAlternate => String::new(),
            Self::CurrentUser => ", never the user the application is logged in as".into(),
            Self::MasterUser => ", never the master user".into(),
            Self::Stranger => format!(
                ", and that role exists without being granted to or from {current}: it is not this pair's"
            ),
        }
    }

    fn advice(&self, current: &str, found: &str) -> String {
        match self {
            Self::NotTheAlternate | Self::CurrentUser => "remove AWSPENDING and start a new rotation".into(),
            Self::MasterUser => format!(
                "point masterarn at a secret whose user is not {found}, or rename the application's user"
            ),
            Self::Stranger => format!(
                "if {found} is {current}'s alternate, GRANT {current} TO {found}; otherwise rename or drop \
                 {found}, or rename the application's user"
            ),
        }
    }
}

impl Retryable for RotateError {
    fn retryable(&self) -> bool {
        match self {
            Self::Config(e) => e.retryable(),
            Self::SecretsManager { retryable, .. }
            | Self::Login { retryable, .. }
            | Self::FallbackFailed { retryable, .. }
            | Self::Database { retryable, .. } => *retryable,
            Self::Timeout { .. } => true,
            _ => false,
        }
    }
}

impl From<RotateError> for Diagnostic {
    fn from(error: RotateError) -> Self {
        ops_shared::diagnostic(&error)
    }
}
