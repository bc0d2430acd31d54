//! The four rotation steps, faithful to Secrets Manager's protocol and safe to retry at any point.
//!
//! The invariant: at every moment the database accepts the AWSCURRENT value or the AWSPENDING one
//! (with alternating users, always AWSCURRENT), and retrying any failed step completes the rotation.
//! Every step first checks the version's stages, so a retry of a step that already succeeded, or a
//! retry that arrives after the rotation finished, changes nothing.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::time::Instant;

use crate::config::Config;
use crate::database::{Database, RoleChange, Session, Target};
use crate::error::{AlternateProblem, Credential, RotateError};
use crate::event::{RotationEvent, Step};
use crate::secret_value::{self, classify, PgCredentials, Problem, SecretKind, MAX_IDENTIFIER_BYTES};
use crate::store::{Description, SecretStore, CURRENT, PENDING, PREVIOUS};
use ops_shared::Retryable;

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    pub step: &'static str,
    pub secret: String,
    pub outcome: &'static str,
}

/// The ports a rotation works through.
pub struct Rotator<'a> {
    pub store: &'a dyn SecretStore,
    pub db: &'a dyn Database,
    pub config: &'a Config,
}

impl Rotator<'_> {
    pub async fn run(&self, event: &RotationEvent, deadline: Instant) -> Result<StepResult, RotateError> {
        // Secrets Manager calls end at the deadline too (the database's have their own bound): a
        // slow answer fails the step with an error Secrets Manager retries, not a killed
        // invocation. Every step is safe to stop at any point.
        match tokio::time::timeout_at(deadline, self.step(event, deadline)).await {
            Ok(result) => result,
            Err(_) => Err(RotateError::Timeout {
                what: format!("the {} step of secret {}", event.step.as_str(), event.secret_id),
            }),
        }
    }

    async fn step(&self, event: &RotationEvent, deadline: Instant) -> Result<StepResult, RotateError> {
        let secret = event.secret_id.as_str();
        self.check_allowed(secret)?;
        let description = self.store.describe(secret).await?;
        self.check_allowed(&description.arn)?;
        if !description.rotation_enabled {
            return Err(RotateError::RotationDisabled {
                secret: secret.into(),
            });
        }
        let Some(stages) = description.stages_of(&event.token) else {
            return Err(RotateError::UnknownVersion {
                secret: secret.into(),
                token: event.token.clone(),
            });
        };
        let result = |outcome| StepResult {
            step: event.step.as_str(),
            secret: description.arn.clone(),
            outcome,
        };
        if stages.iter().any(|s| s == CURRENT) {
            tracing::info!(
                step = event.step.as_str(),
                secret,
                "the version is already AWSCURRENT: nothing to do"
            );
            return Ok(result("already current"));
        }
        if !stages.iter().any(|s| s == PENDING) {
            return Err(RotateError::NotPending {
                secret: secret.into(),
                token: event.token.clone(),
            });
        }
        let outcome = match event.step {
            Step::Create => self.create(secret, event).await?,
            Step::Set => self.set(secret, &event.token, deadline).await?,
            Step::Test => self.test(secret, &event.token, deadline).await?,
            Step::Finish => self.finish(secret, &event.token, &description).await?,
        };
        tracing::info!(step = event.step.as_str(), secret, outcome, "rotation step done");
        Ok(result(outcome))
    }

    fn check_allowed(&self, secret: &str) -> Result<(), RotateError> {
        let allowed = &self.config.allowed_secret_arns;
        if allowed.is_empty() || allowed.iter().any(|a| a == secret) {
            Ok(())
        } else {
            Err(RotateError::NotAllowed {
                secret: secret.into(),
            })
        }
    }

    async fn current(&self, secret: &str) -> Result<(SecretString, SecretKind), RotateError> {
        let value =
            self.store
                .value_at_stage(secret, CURRENT)
                .await?
                .ok_or_else(|| RotateError::MissingValue {
                    secret: secret.into(),
                    stage: CURRENT.into(),
                    hint: "a secret must have a value before it can be rotated".into(),
                })?;
        let kind = classify(&value).map_err(|p| problem(secret, CURRENT, p))?;
        Ok((value, kind))
    }

    async fn pending(&self, secret: &str, token: &str) -> Result<SecretString, RotateError> {
        self.store
            .value_of_version(secret, token, PENDING)
            .await?
            .ok_or_else(|| RotateError::MissingValue {
                secret: secret.into(),
                stage: PENDING.into(),
                hint: "run createSecret first".into(),
            })
    }

    async fn create(&self, secret: &str, event: &RotationEvent) -> Result<&'static str, RotateError> {
        let (_, kind) = self.current(secret).await?;
        if self
            .store
            .value_of_version(secret, &event.token, PENDING)
            .await?
            .is_some()
        {
            return Ok("pending value already created");
        }
        let password = self.store.random_password(&self.config.password_policy).await?;
        let new_value = match &kind {
            SecretKind::Postgres(current) if current.masterarn.is_some() => {
                let user = secret_value::alternate_user(&current.username);
                if user.len() > MAX_IDENTIFIER_BYTES {
                    return Err(RotateError::NameTooLong {
                        secret: secret.into(),
                        len: user.len(),
                        name: user,
                    });
                }
                current.with(&user, &password)
            }
            SecretKind::Postgres(current) => current.with(&current.username, &password),
            SecretKind::Json { fields, field } => secret_value::with_field(fields, field, &password),
            SecretKind::Plain => password,
        };
        ops_shared::redact::register(new_value.expose_secret());
        self.store
            .put_pending(secret, &event.token, &new_value, event.rotation_token.as_ref())
            .await?;
        Ok("pending value created")
    }

    async fn set(&self, secret: &str, token: &str, deadline: Instant) -> Result<&'static str, RotateError> {
        let (_, kind) = self.current(secret).await?;
        let pending_value = self.pending(secret, token).await?;
        let SecretKind::Postgres(current) = kind else {
            classify(&pending_value).map_err(|p| problem(secret, PENDING, p))?;
            return Ok("nothing to set for a generic secret");
        };
        let pending = PgCredentials::parse(&pending_value).map_err(|p| bad(secret, PENDING, p))?;
        // Before any connection: a pending value pointing elsewhere, or weakening TLS, would carry
        // a password to a server (or over a channel) the current value never uses.
        let same = [
            ("host", pending.host == current.host),
            ("port", pending.port == current.port),
            ("dbname", pending.dbname == current.dbname),
            ("sslmode", pending.sslmode == current.sslmode),
            ("masterarn", pending.masterarn == current.masterarn),
            // A single user keeps its name: only the password changes.
            (
                "username",
                current.masterarn.is_some() || pending.username == current.username,
            ),
        ];
        if let Some((field, _)) = same.iter().find(|(_, same)| !same) {
            return Err(RotateError::Mismatch {
                secret: secret.into(),
                field,
            });
        }
        if current.masterarn.is_some() {
            let expected = secret_value::alternate_user(&current.username);
            if pending.username != expected {
                // A pending copy of AWSCURRENT (a hand-fixed stuck rotation) would change the live
                // user's password under the running application.
                return Err(RotateError::WrongAlternate {
                    secret: secret.into(),
                    current: current.username.clone(),
                    found: pending.username.clone(),
                    problem: if pending.username == current.username {
                        AlternateProblem::CurrentUser
                    } else {
                        AlternateProblem::NotTheAlternate
                    },
                });
            }
        }
        // Also before any connection: the pending login below would otherwise accept a pending
        // value holding the master's own credentials, and finishSecret would hand them to the
        // application.
        let master = match &current.masterarn {
            Some(arn) => Some((arn.as_str(), self.master(secret, arn, &current, &pending).await?)),
            None => None,
        };
        if self
            .login(secret, Credential::Pending, &pending, deadline)
            .await
            .is_ok()
        {
            return Ok("the database already accepts the pending value");
        }
        match master {
            None => self.set_single_user(secret, &current, &pending, deadline).await,
            Some((arn, master)) => {
                self.set_alternating(secret, arn, &master, &current, &pending, deadline)
                    .await
            }
        }
    }

    /// The master credentials to log in with: the master secret's user and password, over
    /// AWSCURRENT's host, port and TLS settings, so the strongest credential never travels over a
    /// channel weaker than the application's, or to another server.
    async fn master(
        &self,
        secret: &str,
        master_arn: &str,
        current: &PgCredentials,
        pending: &PgCredentials,
    ) -> Result<PgCredentials, RotateError> {
        let master_value = self
            .store
            .value_at_stage(master_arn, CURRENT)
            .await?
            .ok_or_else(|| RotateError::MissingValue {
                secret: master_arn.into(),
                stage: CURRENT.into(),
                hint: format!("masterarn of {secret} must name a secret with a value"),
            })?;
        let master = PgCredentials::parse(&master_value).map_err(|p| bad(master_arn, CURRENT, p))?;
        // The confused deputy: the master's own password must never be what a rotation changes.
        if pending.username == master.username {
            return Err(RotateError::WrongAlternate {
                secret: secret.into(),
                current: current.username.clone(),
                found: pending.username.clone(),
                problem: AlternateProblem::MasterUser,
            });
        }
        if master.host != current.host {
            return Err(RotateError::MasterHostMismatch {
                secret: secret.into(),
                master: master_arn.into(),
                master_host: master.host,
                host: current.host.clone(),
            });
        }
        let mut login = current.as_user(&master.username, master.password.clone(), &master.dbname);
        // The stronger of the two: the master's password never travels over less than either asks.
        login.sslmode = current.sslmode.max(master.sslmode);
        Ok(login)
    }

    async fn set_single_user(
        &self,
        secret: &str,
        current: &PgCredentials,
        pending: &PgCredentials,
        deadline: Instant,
    ) -> Result<&'static str, RotateError> {
        let mut session = match self.login(secret, Credential::Current, current, deadline).await {
            Ok(session) => session,
            // The database restored from a backup holds AWSPREVIOUS's password: only a refused
            // password sends us there, never a network, TLS or pg_hba failure.
            Err(
                current_error @ RotateError::Login {
                    wrong_password: true, ..
                },
            ) => {
                tracing::warn!(error = %current_error, "the current password is refused; trying the previous one");
                let previous = match self.store.value_at_stage(secret, PREVIOUS).await? {
                    Some(value) => PgCredentials::parse(&value).map_err(|p| bad(secret, PREVIOUS, p))?,
                    None => return Err(current_error),
                };
                if previous.username != current.username {
                    return Err(current_error);
                }
                // Only the password comes from AWSPREVIOUS: its host, port and TLS settings may be
                // older and weaker than today's.
                let fallback = current.with_password(previous.password.clone());
                match self
                    .login(secret, Credential::Previous, &fallback, deadline)
                    .await
                {
                    Ok(session) => session,
                    Err(RotateError::Login {
                        wrong_password: true, ..
                    }) => {
                        return Err(RotateError::NoWorkingCredential {
                            secret: secret.into(),
                            host: current.host.clone(),
                            port: current.port,
                            user: current.username.clone(),
                        })
                    }
                    Err(previous_error) => {
                        let reason = |e: &RotateError| match e {
                            RotateError::Login { reason, .. } => reason.clone(),
                            other => other.to_string(),
                        };
                        return Err(RotateError::FallbackFailed {
                            secret: secret.into(),
                            host: current.host.clone(),
                            port: current.port,
                            current: reason(&current_error),
                            previous: reason(&previous_error),
                            retryable: previous_error.retryable(),
                        });
                    }
                }
            }
            Err(current_error) => return Err(current_error),
        };
        let change = RoleChange::SetPassword {
            role: pending.username.clone(),
            password: pending.password.clone(),
        };
        session
            .apply(&[change])
            .await
            .map_err(|e| RotateError::Database {
                credential: Credential::Current,
                role: pending.username.clone(),
                host: current.host.clone(),
                port: current.port,
                reason: e.reason,
                retryable: e.retryable,
            })?;
        Ok("password set in the database")
    }

    async fn set_alternating(
        &self,
        secret: &str,
        master_arn: &str,
        master: &PgCredentials,
        current: &PgCredentials,
        pending: &PgCredentials,
        deadline: Instant,
    ) -> Result<&'static str, RotateError> {
        // The application keeps using AWSCURRENT throughout: it must work before anything changes.
        self.login(secret, Credential::Current, current, deadline)
            .await?
            .check()
            .await
            .map_err(|e| login_error(secret, Credential::Current, current, e))?;
        let mut session = self
            .login(master_arn, Credential::Master, master, deadline)
            .await?;
        let db_error = |e: crate::database::DbError| RotateError::Database {
            credential: Credential::Master,
            role: pending.username.clone(),
            host: master.host.clone(),
            port: master.port,
            reason: e.reason,
            retryable: e.retryable,
        };
        let exists = session.role_exists(&pending.username).await.map_err(db_error)?;
        // A role of that name that is not the other half of this pair belongs to someone else
        // (a primary user named `reporting_clone` alternates to an unrelated `reporting`).
        if exists
            && !session
                .paired(&pending.username, &current.username)
                .await
                .map_err(db_error)?
        {
            return Err(RotateError::WrongAlternate {
                secret: secret.into(),
                current: current.username.clone(),
                found: pending.username.clone(),
                problem: AlternateProblem::Stranger,
            });
        }
        let changes = if exists {
            vec![RoleChange::SetPassword {
                role: pending.username.clone(),
                password: pending.password.clone(),
            }]
        } else {
            vec![
                RoleChange::CreateLoginRole {
                    role: pending.username.clone(),
                    password: pending.password.clone(),
                },
                RoleChange::Grant {
                    role: current.username.clone(),
                    member: pending.username.clone(),
                },
            ]
        };
        session.apply(&changes).await.map_err(db_error)?;
        Ok(if exists {
            "alternate user's password set"
        } else {
            "alternate user created with the current user's grants"
        })
    }

    async fn test(&self, secret: &str, token: &str, deadline: Instant) -> Result<&'static str, RotateError> {
        let (_, kind) = self.current(secret).await?;
        let pending_value = self.pending(secret, token).await?;
        if !matches!(kind, SecretKind::Postgres(_)) {
            classify(&pending_value).map_err(|p| problem(secret, PENDING, p))?;
            return Ok("generic secret validated");
        }
        let pending = PgCredentials::parse(&pending_value).map_err(|p| bad(secret, PENDING, p))?;
        let mut session = self
            .login(secret, Credential::Pending, &pending, deadline)
            .await?;
        session
            .check()
            .await
            .map_err(|e| login_error(secret, Credential::Pending, &pending, e))?;
        Ok("the pending value logs in")
    }

    async fn finish(
        &self,
        secret: &str,
        token: &str,
        description: &Description,
    ) -> Result<&'static str, RotateError> {
        let Some(current) = description.version_with(CURRENT) else {
            return Err(RotateError::MissingValue {
                secret: secret.into(),
                stage: CURRENT.into(),
                hint: "no version is labelled AWSCURRENT".into(),
            });
        };
        self.store.move_current(secret, token, current).await?;
        Ok("AWSCURRENT moved to the new version")
    }

    async fn login(
        &self,
        secret: &str,
        credential: Credential,
        creds: &PgCredentials,
        deadline: Instant,
    ) -> Result<Box<dyn Session>, RotateError> {
        let target = Target {
            host: creds.host.clone(),
            port: creds.port,
            dbname: creds.dbname.clone(),
            sslmode: creds.sslmode,
        };
        self.db
            .connect(&target, &creds.username, &creds.password, deadline)
            .await
            .map_err(|e| login_error(secret, credential, creds, e))
    }
}

fn login_error(
    secret: &str,
    credential: Credential,
    creds: &PgCredentials,
    e: crate::database::DbError,
) -> RotateError {
    RotateError::Login {
        credential,
        secret: secret.into(),
        host: creds.host.clone(),
        port: creds.port,
        user: creds.username.clone(),
        reason: e.reason,
        retryable: e.retryable,
        wrong_password: e.wrong_password,
    }
}

fn problem(secret: &str, stage: &str, problem: Problem) -> RotateError {
    match problem {
        Problem::UnsupportedEngine(engine) => RotateError::UnsupportedEngine {
            secret: secret.into(),
            engine,
        },
        Problem::Invalid(p) => bad(secret, stage, p),
    }
}

fn bad(secret: &str, stage: &str, problem: String) -> RotateError {
    RotateError::BadSecretValue {
        secret: secret.into(),
        stage: stage.into(),
        problem,
    }
}
