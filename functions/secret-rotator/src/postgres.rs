//! The PostgreSQL adapter of [`Database`]: tokio-postgres over rustls.
//!
//! `sslmode` is honoured exactly and never weakened: `verify-full` checks the certificate chain
//! against the roots of [`CaBundle`] and the host name; `require` encrypts without
//! verifying; `disable` is plaintext. A server that does not offer TLS fails `require` and
//! `verify-full`, it is never retried in plaintext.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use ops_shared::tls::SignaturesOnly;
use postgres_protocol::password::{md5, scram_sha_256};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::error::SqlState;

use crate::config::Config;
use crate::database::{Database, DbError, RoleChange, Session, Target};
use crate::secret_value::SslMode;
use crate::trust::{self, CaBundle};

pub struct Postgres {
    verified: ClientConfig,
    /// For RDS hosts when no bundle is set; built on first use, as most rotators never need it.
    rds: OnceLock<Result<ClientConfig, String>>,
    bundle: CaBundle,
    allow_md5: bool,
    unverified: ClientConfig,
    connect_timeout: Duration,
    interruption: Option<Arc<Interruption>>,
}

/// Crash injection for the crash-consistency tests: the adapter fails as if the Lambda died right
/// after its `after`-th database write (each statement, and each commit, is one write), once.
#[derive(Debug)]
pub struct Interruption {
    after: usize,
    writes: AtomicUsize,
}

impl Interruption {
    pub fn after_writes(after: usize) -> Arc<Self> {
        Arc::new(Self {
            after,
            writes: AtomicUsize::new(0),
        })
    }

    /// Whether the interruption happened (it fires once).
    pub fn fired(&self) -> bool {
        self.writes.load(Ordering::SeqCst) >= self.after
    }

    fn record_write(&self) -> Result<(), DbError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.after {
            return Err(DbError::other(
                format!("interrupted after database write {n} (crash test)"),
                true,
            ));
        }
        Ok(())
    }
}

fn provider() -> Arc<CryptoProvider> {
    // Explicit: the AWS SDK compiles aws-lc-rs in as well, so no provider is implied.
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(roots: RootCertStore) -> Result<ClientConfig, String> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl Postgres {
    /// Reads the bundle's roots now, so an unusable `PG_CA_BUNDLE` fails the cold start.
    pub fn new(config: &Config) -> Result<Self, String> {
        let (bundle, connect_timeout) = (&config.ca_bundle, config.connect_timeout);
        let verified = client_config(bundle.roots()?)?;
        let mut unverified = client_config(RootCertStore::empty())?;
        unverified
            .dangerous()
            .set_certificate_verifier(Arc::new(SignaturesOnly(provider())));
        Ok(Self {
            verified,
            rds: OnceLock::new(),
            bundle: bundle.clone(),
            allow_md5: config.allow_md5,
            unverified,
            connect_timeout,
            interruption: None,
        })
    }

    /// A refused certificate from RDS most often means a region newer than the compiled-in bundle.
    fn explain_certificate(&self, mut e: DbError, target: &Target) -> DbError {
        let rds = self.bundle == CaBundle::Rds || self.bundle.rds_for(&target.host);
        if rds && target.sslmode == SslMode::VerifyFull && e.reason.contains("certificate") {
            e.reason.push_str(
                "; it was checked against the RDS authorities compiled in and the system's roots \
                 (see the rotator's README): for a region that bundle lacks (a newer region, \
                 GovCloud, China), set PG_CA_BUNDLE to the path of that region's bundle from AWS",
            );
        }
        e
    }

    /// Arms a crash after the given write (crash-consistency tests only).
    pub fn interrupt(mut self, interruption: Arc<Interruption>) -> Self {
        self.interruption = Some(interruption);
        self
    }
}

#[async_trait]
impl Database for Postgres {
    async fn connect(
        &self,
        target: &Target,
        user: &str,
        password: &SecretString,
        deadline: Instant,
    ) -> Result<Box<dyn Session>, DbError> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&target.host)
            .port(target.port)
            .user(user)
            .password(password.expose_secret())
            .dbname(&target.dbname)
            .application_name("ops-lambdas-secret-rotator")
            .connect_timeout(self.connect_timeout);
        let tls = match target.sslmode {
            SslMode::Disable => None,
            SslMode::VerifyFull if self.bundle.rds_for(&target.host) => Some(
                self.rds
                    .get_or_init(|| client_config(trust::rds_and_system_roots()?))
                    .as_ref()
                    .map_err(|e| DbError::other(e.clone(), false))?,
            ),
            SslMode::VerifyFull => Some(&self.verified),
            SslMode::Require => Some(&self.unverified),
        };
        let connecting = async {
            match tls {
                None => {
                    config.ssl_mode(PgSslMode::Disable);
                    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                    tokio::spawn(connection);
                    Ok(client)
                }
                Some(tls) => {
                    config.ssl_mode(PgSslMode::Require);
                    let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls.clone());
                    let (client, connection) = config.connect(connector).await?;
                    tokio::spawn(connection);
                    Ok(client)
                }
            }
        };
        let client = bounded(deadline, connecting)
            .await
            .map_err(|e| self.explain_certificate(e, target))?;
        Ok(Box::new(PgSession {
            client,
            deadline,
            allow_md5: self.allow_md5,
            interruption: self.interruption.clone(),
        }))
    }
}

struct PgSession {
    client: tokio_postgres::Client,
    deadline: Instant,
    allow_md5: bool,
    interruption: Option<Arc<Interruption>>,
}

#[async_trait]
impl Session for PgSession {
    async fn check(&mut self) -> Result<(), DbError> {
        bounded(self.deadline, self.client.query_one("SELECT 1", &[]))
            .await
            .map(|_| ())
    }

    async fn role_exists(&mut self, role: &str) -> Result<bool, DbError> {
        let rows = bounded(
            self.deadline,
            self.client
                .query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role]),
        )
        .await?;
        Ok(!rows.is_empty())
    }

    async fn paired(&mut self, a: &str, b: &str) -> Result<bool, DbError> {
        // Direct grants only (what setSecret's GRANT makes); pg_has_role would also say yes for
        // any superuser.
        let rows = bounded(
            self.deadline,
            self.client.query(
                "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
                 JOIN pg_roles u ON u.oid = m.member \
                 WHERE (r.rolname = $1 AND u.rolname = $2) OR (r.rolname = $2 AND u.rolname = $1)",
                &[&a, &b],
            ),
        )
        .await?;
        Ok(!rows.is_empty())
    }

    async fn apply(&mut self, changes: &[RoleChange]) -> Result<(), DbError> {
        let deadline = self.deadline;
        let interruption = self.interruption.clone();
        // Every statement, and the commit, is one write for the crash tests.
        let record = || match &interruption {
            Some(i) => i.record_write(),
            None => Ok(()),
        };
        let tx = bounded(deadline, self.client.transaction()).await?;
        let row = bounded(
            deadline,
            tx.query_one("SELECT current_setting('password_encryption')", &[]),
        )
        .await?;
        let hashing = Hashing::from_setting(&row.get::<_, String>(0), self.allow_md5)?;
        for change in changes {
            let (template, args): (&str, [String; 2]) = match change {
                RoleChange::SetPassword { role, password } => (
                    "ALTER ROLE %I WITH PASSWORD %L",
                    [role.clone(), hashing.verifier(role, password)],
                ),
                RoleChange::CreateLoginRole { role, password } => (
                    "CREATE ROLE %I WITH LOGIN PASSWORD %L",
                    [role.clone(), hashing.verifier(role, password)],
                ),
                RoleChange::Grant { role, member } => ("GRANT %I TO %I", [role.clone(), member.clone()]),
            };
            // The server quotes the identifier and the literal; nothing of ours is pasted into SQL.
            let query = format!("SELECT format('{template}', $1::text, $2::text)");
            let row = bounded(deadline, tx.query_one(&query, &[&args[0], &args[1]])).await?;
            let statement: String = row.get(0);
            bounded(deadline, tx.batch_execute(&statement)).await?;
            record()?;
        }
        bounded(deadline, tx.commit()).await?;
        record()
    }
}

/// How the server stores passwords (`password_encryption`), so the verifier sent is the one it
/// would have made itself: a server kept on md5 has clients (old drivers, PgBouncer with md5
/// hashes) that cannot log in with SCRAM.
///
/// Only the verifier goes to the server, never the password: a statement's text and parameters
/// reach the server log (log_statement, or any failed statement under the default
/// log_min_error_statement), and RDS exports that log. PostgreSQL stores a value that already has
/// a verifier's form as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hashing {
    Scram,
    Md5,
}

impl Hashing {
    /// md5 only when `allow_md5`: under md5 authentication the md5 verifier logs in as well as the
    /// password does, and the statement that carries it reaches the server log when it is logged.
    fn from_setting(setting: &str, allow_md5: bool) -> Result<Self, DbError> {
        match setting {
            "scram-sha-256" => Ok(Self::Scram),
            // `on` is PostgreSQL 9's spelling of md5.
            "md5" | "on" if allow_md5 => Ok(Self::Md5),
            "md5" | "on" => Err(DbError::other(
                "the server's password_encryption is md5: an md5 verifier is as good as the password \
                 for md5 logins, and any logged ALTER ROLE would put it in the server's log. Move the \
                 server to scram-sha-256 (password_encryption, then pg_hba), or set PG_ALLOW_MD5=true \
                 on the rotator to accept that risk"
                    .to_string(),
                false,
            )),
            other => Err(DbError::other(
                format!(
                    "the server's password_encryption is {:?}, which would store the password as \
                     given: set it to scram-sha-256 (or md5) before rotating",
                    other.chars().take(20).collect::<String>()
                ),
                false,
            )),
        }
    }

    fn verifier(self, role: &str, password: &SecretString) -> String {
        let password = password.expose_secret().as_bytes();
        match self {
            Self::Scram => scram_sha_256(password),
            Self::Md5 => md5(password, role),
        }
    }
}

/// Runs a database call within the invocation's deadline.
async fn bounded<T>(
    deadline: Instant,
    call: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, DbError> {
    match tokio::time::timeout_at(deadline, call).await {
        Ok(result) => result.map_err(|e| db_error(&e)),
        Err(_) => Err(DbError::other("timed out at the invocation's deadline", true)),
    }
}

fn db_error(e: &tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let retryable = !(code == &SqlState::INVALID_PASSWORD
            || code == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            || code == &SqlState::INSUFFICIENT_PRIVILEGE
            || code == &SqlState::DUPLICATE_OBJECT
            || code == &SqlState::UNDEFINED_OBJECT
            || code == &SqlState::INVALID_GRANT_OPERATION);
        return DbError {
            reason: format!("{} ({})", db.message(), code.code()),
            retryable,
            wrong_password: code == &SqlState::INVALID_PASSWORD,
        };
    }
    let reason = ops_shared::error::chain(e);
    let certificate = reason.contains("certificate") || reason.contains("InvalidCertificate");
    DbError::other(reason, !certificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_follows_the_servers_password_encryption() {
        let password = SecretString::from("correct horse battery staple");
        let scram = Hashing::from_setting("scram-sha-256", false)
            .unwrap()
            .verifier("app", &password);
        assert!(scram.starts_with("SCRAM-SHA-256$4096:"), "{scram}");
        let md5 = Hashing::from_setting("md5", true)
            .unwrap()
            .verifier("app", &password);
        assert!(md5.starts_with("md5") && md5.len() == 35, "{md5}");
        assert_eq!(Hashing::from_setting("on", true).unwrap(), Hashing::Md5);
        for verifier in [scram, md5] {
            assert!(!verifier.contains("horse"), "{verifier}");
        }
        let md5_refused = Hashing::from_setting("md5", false).unwrap_err();
        assert!(
            md5_refused.reason.contains("PG_ALLOW_MD5=true"),
            "{}",
            md5_refused.reason
        );
        assert!(!md5_refused.retryable);
        let refused = Hashing::from_setting("off", true).unwrap_err();
        assert!(
            !refused.retryable && refused.reason.contains("scram-sha-256"),
            "{refused:?}"
        );
    }
}
