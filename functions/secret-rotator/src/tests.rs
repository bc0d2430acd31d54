//! The rotation protocol over in-memory adapters: a Secrets Manager that behaves like the service
//! (stages move, AWSPREVIOUS follows) and a database that checks passwords and applies role changes
//! all-or-nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::config::Config;
use crate::database::{Database, DbError, RoleChange, Session, Target};
use crate::error::RotateError;
use crate::event::RotationEvent;
use crate::rotation::Rotator;
use crate::secret_value::SslMode;
use crate::store::{Description, PasswordPolicy, SecretStore, CURRENT, PENDING, PREVIOUS};
use ops_shared::Vars;

struct Version {
    id: String,
    value: Option<String>,
    stages: Vec<String>,
}

#[derive(Default)]
struct MemStore {
    secrets: Mutex<HashMap<String, (bool, Vec<Version>)>>,
    counter: Mutex<u32>,
}

impl MemStore {
    fn add(&self, name: &str, value: &str) {
        let v = Version {
            id: "v0".into(),
            value: Some(value.into()),
            stages: vec![CURRENT.into()],
        };
        self.secrets.lock().unwrap().insert(name.into(), (true, vec![v]));
    }

    /// What Secrets Manager does before it calls createSecret: an empty AWSPENDING version.
    fn start(&self, name: &str, token: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        let (_, versions) = secrets.get_mut(name).unwrap();
        for v in versions.iter_mut() {
            v.stages.retain(|s| s != PENDING);
        }
        versions.push(Version {
            id: token.into(),
            value: None,
            stages: vec![PENDING.into()],
        });
    }

    fn value(&self, name: &str, stage: &str) -> Option<String> {
        let secrets = self.secrets.lock().unwrap();
        secrets[name]
            .1
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
            .and_then(|v| v.value.clone())
    }

    fn stages(&self, name: &str, version: &str) -> Vec<String> {
        let secrets = self.secrets.lock().unwrap();
        secrets[name]
            .1
            .iter()
            .find(|v| v.id == version)
            .map(|v| v.stages.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl SecretStore for MemStore {
    async fn describe(&self, secret: &str) -> Result<Description, RotateError> {
        let secrets = self.secrets.lock().unwrap();
        let (enabled, versions) = &secrets[secret];
        Ok(Description {
            arn: secret.into(),
            rotation_enabled: *enabled,
            versions: versions
                .iter()
                .map(|v| (v.id.clone(), v.stages.clone()))
                .collect(),
        })
    }

    async fn value_at_stage(&self, secret: &str, stage: &str) -> Result<Option<SecretString>, RotateError> {
        Ok(self.value(secret, stage).map(SecretString::from))
    }

    async fn value_of_version(
        &self,
        secret: &str,
        version: &str,
        stage: &str,
    ) -> Result<Option<SecretString>, RotateError> {
        let secrets = self.secrets.lock().unwrap();
        Ok(secrets[secret]
            .1
            .iter()
            .find(|v| v.id == version && v.stages.iter().any(|s| s == stage))
            .and_then(|v| v.value.clone())
            .map(SecretString::from))
    }

    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretString, RotateError> {
        let mut n = self.counter.lock().unwrap();
        *n += 1;
        Ok(SecretString::from(format!(
            "{:0>width$}",
            format!("pw{n}"),
            width = policy.length as usize
        )))
    }

    async fn put_pending(
        &self,
        secret: &str,
        version: &str,
        value: &SecretString,
        _: Option<&SecretString>,
    ) -> Result<(), RotateError> {
        let mut secrets = self.secrets.lock().unwrap();
        let (_, versions) = secrets.get_mut(secret).unwrap();
        match versions.iter_mut().find(|v| v.id == version) {
            Some(v) => v.value = Some(value.expose_secret().to_string()),
            None => versions.push(Version {
                id: version.into(),
                value: Some(value.expose_secret().into()),
                stages: vec![PENDING.into()],
            }),
        }
        Ok(())
    }

    async fn move_current(&self, secret: &str, to: &str, from: &str) -> Result<(), RotateError> {
        let mut secrets = self.secrets.lock().unwrap();
        let (_, versions) = secrets.get_mut(secret).unwrap();
        for v in versions.iter_mut() {
            v.stages.retain(|s| s != PREVIOUS);
            if v.id == from {
                v.stages.retain(|s| s != CURRENT);
                v.stages.push(PREVIOUS.into());
            }
            if v.id == to {
                v.stages.retain(|s| s != PENDING);
                v.stages.push(CURRENT.into());
            }
        }
        Ok(())
    }
}

/// role → (password, roles it is a member of)
type Roles = Arc<Mutex<HashMap<String, (String, Vec<String>)>>>;

#[derive(Default)]
struct FakeDb {
    roles: Roles,
    /// Logins attempted, to prove a refusal came before any connection.
    connects: Mutex<usize>,
    /// Where each login went, and as whom.
    targets: Mutex<Vec<(Target, String)>>,
    /// Refuse every login for a reason other than the password (pg_hba, TLS), when set.
    refuse_all: Mutex<Option<String>>,
}

impl FakeDb {
    fn with(roles: &[(&str, &str)]) -> Self {
        let db = Self::default();
        for (r, p) in roles {
            db.roles
                .lock()
                .unwrap()
                .insert((*r).into(), ((*p).into(), vec![]));
        }
        db
    }

    fn password(&self, role: &str) -> Option<String> {
        self.roles.lock().unwrap().get(role).map(|(p, _)| p.clone())
    }

    fn members(&self, role: &str) -> Vec<String> {
        self.roles
            .lock()
            .unwrap()
            .get(role)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn accepts(&self, value: &str) -> bool {
        let v: Value = serde_json::from_str(value).unwrap();
        self.password(v["username"].as_str().unwrap()).as_deref() == v["password"].as_str()
    }
}

struct FakeSession(Roles);

#[async_trait]
impl Database for FakeDb {
    async fn connect(
        &self,
        target: &Target,
        user: &str,
        password: &SecretString,
        _: Instant,
    ) -> Result<Box<dyn Session>, DbError> {
        *self.connects.lock().unwrap() += 1;
        self.targets
            .lock()
            .unwrap()
            .push((target.clone(), user.to_string()));
        if let Some(reason) = self.refuse_all.lock().unwrap().clone() {
            return Err(DbError::other(reason, false));
        }
        if self.password(user).as_deref() == Some(password.expose_secret()) {
            Ok(Box::new(FakeSession(self.roles.clone())))
        } else {
            Err(DbError {
                reason: format!("password authentication failed for user \"{user}\" (28P01)"),
                retryable: false,
                wrong_password: true,
            })
        }
    }
}

#[async_trait]
impl Session for FakeSession {
    async fn check(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    async fn role_exists(&mut self, role: &str) -> Result<bool, DbError> {
        Ok(self.0.lock().unwrap().contains_key(role))
    }

    async fn paired(&mut self, a: &str, b: &str) -> Result<bool, DbError> {
        let roles = self.0.lock().unwrap();
        let granted = |member: &str, role: &str| {
            roles
                .get(member)
                .is_some_and(|(_, of)| of.iter().any(|r| r == role))
        };
        Ok(granted(a, b) || granted(b, a))
    }

    async fn apply(&mut self, changes: &[RoleChange]) -> Result<(), DbError> {
        let mut roles = self.0.lock().unwrap();
        let mut next = roles.clone();
        for change in changes {
            match change {
                RoleChange::SetPassword { role, password } => {
                    next.get_mut(role).ok_or(DbError::other("no role", false))?.0 =
                        password.expose_secret().into();
                }
                RoleChange::CreateLoginRole { role, password } => {
                    next.insert(role.clone(), (password.expose_secret().into(), vec![]));
                }
                RoleChange::Grant { role, member } => next.get_mut(member).unwrap().1.push(role.clone()),
            }
        }
        *roles = next;
        Ok(())
    }
}

fn config() -> Config {
    Config::from_vars(&Vars::from_pairs([("PASSWORD_LENGTH", "16")])).unwrap()
}

fn pg(user: &str, password: &str, extra: Value) -> String {
    let mut v = json!({"engine": "postgres", "host": "db.internal", "port": 5432, "username": user, "password": password, "dbname": "app"});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v.to_string()
}

fn event(step: &str, secret: &str, token: &str) -> RotationEvent {
    RotationEvent::parse(&json!({"Step": step, "SecretId": secret, "ClientRequestToken": token})).unwrap()
}

fn soon() -> Instant {
    Instant::now() + std::time::Duration::from_secs(5)
}

async fn step(
    store: &MemStore,
    db: &FakeDb,
    cfg: &Config,
    name: &str,
    secret: &str,
    token: &str,
) -> Result<&'static str, RotateError> {
    Rotator {
        store,
        db,
        config: cfg,
    }
    .run(&event(name, secret, token), soon())
    .await
    .map(|r| r.outcome)
}

async fn rotate(store: &MemStore, db: &FakeDb, cfg: &Config, secret: &str, token: &str) {
    store.start(secret, token);
    for name in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        step(store, db, cfg, name, secret, token)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test]
async fn a_single_user_rotation_changes_the_password_and_keeps_the_old_as_previous() {
    let (store, db, cfg) = (
        MemStore::default(),
        FakeDb::with(&[("app", "old-password")]),
        config(),
    );
    let old = pg("app", "old-password", json!({}));
    store.add("s", &old);
    rotate(&store, &db, &cfg, "s", "t1").await;

    let current = store.value("s", CURRENT).unwrap();
    assert!(db.accepts(&current));
    assert!(!db.accepts(&old));
    assert_eq!(store.value("s", PREVIOUS).unwrap(), old);
    assert_eq!(store.stages("s", "t1"), vec![CURRENT]);
}

#[tokio::test]
async fn every_step_re_invoked_after_success_changes_nothing() {
    let (store, db, cfg) = (MemStore::default(), FakeDb::with(&[("app", "p0")]), config());
    store.add("s", &pg("app", "p0", json!({})));
    store.start("s", "t1");
    for name in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        step(&store, &db, &cfg, name, "s", "t1").await.unwrap();
        let (pending, password) = (store.value("s", PENDING), db.password("app"));
        let again = step(&store, &db, &cfg, name, "s", "t1").await.unwrap();
        assert_eq!(
            (store.value("s", PENDING), db.password("app")),
            (pending, password),
            "{name} again: {again}"
        );
    }
    for name in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        assert_eq!(
            step(&store, &db, &cfg, name, "s", "t1").await.unwrap(),
            "already current"
        );
    }
}

#[tokio::test]
async fn set_secret_recovers_through_previous_when_the_database_was_restored() {
    let (store, db, cfg) = (MemStore::default(), FakeDb::with(&[("app", "p0")]), config());
    let first = pg("app", "p0", json!({}));
    store.add("s", &first);
    rotate(&store, &db, &cfg, "s", "t1").await;
    db.roles.lock().unwrap().get_mut("app").unwrap().0 = "p0".into(); // restored from a backup

    rotate(&store, &db, &cfg, "s", "t2").await;
    assert!(db.accepts(&store.value("s", CURRENT).unwrap()));
}

#[tokio::test]
async fn a_password_in_no_label_fails_set_secret_and_changes_nothing() {
    let (store, db, cfg) = (MemStore::default(), FakeDb::with(&[("app", "p0")]), config());
    store.add("s", &pg("app", "p0", json!({})));
    rotate(&store, &db, &cfg, "s", "t1").await;
    db.roles.lock().unwrap().get_mut("app").unwrap().0 = "set-by-hand".into();

    store.start("s", "t2");
    step(&store, &db, &cfg, "createSecret", "s", "t2").await.unwrap();
    let err = step(&store, &db, &cfg, "setSecret", "s", "t2").await.unwrap_err();
    assert!(matches!(err, RotateError::NoWorkingCredential { .. }), "{err}");
    assert!(err.to_string().contains("reset the user's password"), "{err}");
    assert_eq!(db.password("app").as_deref(), Some("set-by-hand"));
}

#[tokio::test]
async fn alternating_users_create_the_clone_with_grants_then_swap_back() {
    let db = FakeDb::with(&[("app", "p0"), ("master", "m0")]);
    let (store, cfg) = (MemStore::default(), config());
    store.add("master", &pg("master", "m0", json!({})));
    store.add("s", &pg("app", "p0", json!({"masterarn": "master"})));

    rotate(&store, &db, &cfg, "s", "t1").await;
    let current: Value = serde_json::from_str(&store.value("s", CURRENT).unwrap()).unwrap();
    assert_eq!(current["username"], "app_clone");
    assert!(db.accepts(&current.to_string()));
    assert_eq!(db.members("app_clone"), vec!["app"]);
    assert_eq!(
        db.password("app").as_deref(),
        Some("p0"),
        "the old user keeps working until the next rotation"
    );

    rotate(&store, &db, &cfg, "s", "t2").await;
    let current: Value = serde_json::from_str(&store.value("s", CURRENT).unwrap()).unwrap();
    assert_eq!(current["username"], "app");
    assert!(db.accepts(&current.to_string()));
    assert!(db.accepts(&store.value("s", PREVIOUS).unwrap()));
}

#[tokio::test]
async fn alternating_users_refuse_a_master_for_another_host_and_a_too_long_name() {
    let db = FakeDb::with(&[("app", "p0"), ("master", "m0")]);
    let (store, cfg) = (MemStore::default(), config());
    store.add("master", &pg("master", "m0", json!({"host": "other.internal"})));
    store.add("s", &pg("app", "p0", json!({"masterarn": "master"})));
    store.start("s", "t1");
    step(&store, &db, &cfg, "createSecret", "s", "t1").await.unwrap();
    let err = step(&store, &db, &cfg, "setSecret", "s", "t1").await.unwrap_err();
    assert!(matches!(err, RotateError::MasterHostMismatch { .. }), "{err}");

    let long = "u".repeat(60);
    store.add("long", &pg(&long, "p0", json!({"masterarn": "master"})));
    store.start("long", "t1");
    let err = step(&store, &db, &cfg, "createSecret", "long", "t1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("63-byte"), "{err}");
    assert!(store.value("long", PENDING).is_none());
}

#[tokio::test]
async fn alternating_users_never_change_the_current_or_the_master_user() {
    let db = FakeDb::with(&[("app", "p0"), ("master", "m0")]);
    let (store, cfg) = (MemStore::default(), config());
    store.add("master", &pg("master", "m0", json!({})));
    store.add("s", &pg("app", "p0", json!({"masterarn": "master"})));
    // A stuck rotation "fixed" by hand: AWSPENDING staged as a copy of AWSCURRENT, new password.
    for (token, user) in [("t1", "app"), ("t2", "master")] {
        store.start("s", token);
        let staged = pg(user, "new-password-1", json!({"masterarn": "master"}));
        store
            .put_pending("s", token, &SecretString::from(staged), None)
            .await
            .unwrap();
        let err = step(&store, &db, &cfg, "setSecret", "s", token)
            .await
            .unwrap_err();
        assert!(matches!(err, RotateError::WrongAlternate { .. }), "{err}");
        assert!(err.to_string().contains("may only change app_clone"), "{err}");
    }
    assert_eq!(db.password("app").as_deref(), Some("p0"));
    assert_eq!(db.password("master").as_deref(), Some("m0"));
    assert_eq!(*db.connects.lock().unwrap(), 0, "refused before connecting");

    // A master whose user happens to be the alternate's name is refused too.
    let db = FakeDb::with(&[("svc", "p0"), ("svc_clone", "m0")]);
    store.add("m2", &pg("svc_clone", "m0", json!({})));
    store.add("s2", &pg("svc", "p0", json!({"masterarn": "m2"})));
    store.start("s2", "t1");
    step(&store, &db, &cfg, "createSecret", "s2", "t1").await.unwrap();
    let err = step(&store, &db, &cfg, "setSecret", "s2", "t1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("never the master user"), "{err}");
    assert!(err.to_string().contains("point masterarn at"), "{err}");
    assert_eq!(db.password("svc_clone").as_deref(), Some("m0"));
    assert_eq!(
        *db.connects.lock().unwrap(),
        0,
        "refused before the pending login could accept the master's credentials"
    );
}

#[tokio::test]
async fn the_master_logs_in_over_the_current_values_port_and_tls_never_its_own() {
    let db = FakeDb::with(&[("app", "p0"), ("master", "m0")]);
    let (store, cfg) = (MemStore::default(), config());
    store.add(
        "master",
        &pg(
            "master",
            "m0",
            json!({"port": 6543, "sslmode": "disable", "dbname": "postgres"}),
        ),
    );
    store.add("s", &pg("app", "p0", json!({"masterarn": "master"})));
    rotate(&store, &db, &cfg, "s", "t1").await;
    let targets = db.targets.lock().unwrap().clone();
    let (target, _) = targets
        .iter()
        .find(|(_, user)| user == "master")
        .expect("the master logged in");
    assert_eq!(target.port, 5432);
    assert_eq!(target.sslmode, SslMode::VerifyFull);
    assert_eq!(target.host, "db.internal");
    assert_eq!(target.dbname, "postgres", "the master's own database");

    // An application secret on weaker TLS than its master's: the master keeps its own.
    let db = FakeDb::with(&[("app2", "p0"), ("master2", "m0")]);
    store.add("master2", &pg("master2", "m0", json!({})));
    store.add(
        "s2",
        &pg(
            "app2",
            "p0",
            json!({"masterarn": "master2", "sslmode": "require"}),
        ),
    );
    rotate(&store, &db, &cfg, "s2", "t1").await;
    let targets = db.targets.lock().unwrap().clone();
    let (target, _) = targets.iter().find(|(_, user)| user == "master2").unwrap();
    assert_eq!(target.sslmode, SslMode::VerifyFull);
}

#[tokio::test]
async fn an_existing_role_that_is_not_the_other_half_of_the_pair_is_never_changed() {
    // The primary user is `reporting_clone`; an unrelated `reporting` exists for another team.
    let db = FakeDb::with(&[
        ("reporting_clone", "p0"),
        ("reporting", "theirs"),
        ("master", "m0"),
    ]);
    let (store, cfg) = (MemStore::default(), config());
    store.add("master", &pg("master", "m0", json!({})));
    store.add("s", &pg("reporting_clone", "p0", json!({"masterarn": "master"})));
    store.start("s", "t1");
    step(&store, &db, &cfg, "createSecret", "s", "t1").await.unwrap();
    let err = step(&store, &db, &cfg, "setSecret", "s", "t1").await.unwrap_err();
    assert!(matches!(err, RotateError::WrongAlternate { .. }), "{err}");
    assert!(err.to_string().contains("not this pair's"), "{err}");
    assert_eq!(db.password("reporting").as_deref(), Some("theirs"));
}

#[tokio::test]
async fn a_login_refused_for_another_reason_than_the_password_is_not_retried_with_previous() {
    let db = FakeDb::with(&[("app", "p0")]);
    let (store, cfg) = (MemStore::default(), config());
    store.add("s", &pg("app", "p0", json!({})));
    rotate(&store, &db, &cfg, "s", "t1").await;
    *db.refuse_all.lock().unwrap() = Some("no pg_hba.conf entry for host (28000)".into());
    *db.connects.lock().unwrap() = 0;
    store.start("s", "t2");
    step(&store, &db, &cfg, "createSecret", "s", "t2").await.unwrap();
    let err = step(&store, &db, &cfg, "setSecret", "s", "t2").await.unwrap_err();
    assert!(
        matches!(
            err,
            RotateError::Login {
                credential: crate::error::Credential::Current,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("pg_hba"), "{err}");
    // The pending login (does the database already have it?) and the current one; never previous.
    assert_eq!(*db.connects.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_pending_value_for_another_port_database_or_weaker_tls_is_refused_before_connecting() {
    for (field, extra) in [
        ("port", json!({"port": 6432})),
        ("dbname", json!({"dbname": "other"})),
        ("sslmode", json!({"sslmode": "disable"})),
    ] {
        let db = FakeDb::with(&[("app", "p0")]);
        let (store, cfg) = (MemStore::default(), config());
        store.add("s", &pg("app", "p0", json!({})));
        store.start("s", "t1");
        let staged = SecretString::from(pg("app", "p1", extra));
        store.put_pending("s", "t1", &staged, None).await.unwrap();
        let err = step(&store, &db, &cfg, "setSecret", "s", "t1").await.unwrap_err();
        assert!(
            matches!(err, RotateError::Mismatch { field: f, .. } if f == field),
            "{field}: {err}"
        );
        assert_eq!(
            *db.connects.lock().unwrap(),
            0,
            "{field}: refused before connecting"
        );
        assert_eq!(db.password("app").as_deref(), Some("p0"));
    }
    // A default spelled out is the same setting: no port in AWSCURRENT, 5432 in AWSPENDING.
    let db = FakeDb::with(&[("app", "p0")]);
    let (store, cfg) = (MemStore::default(), config());
    let mut current: Value = serde_json::from_str(&pg("app", "p0", json!({}))).unwrap();
    current.as_object_mut().unwrap().remove("port");
    store.add("s", &current.to_string());
    store.start("s", "t1");
    let staged = SecretString::from(pg("app", "p1", json!({"port": 5432, "sslmode": "verify-full"})));
    store.put_pending("s", "t1", &staged, None).await.unwrap();
    step(&store, &db, &cfg, "setSecret", "s", "t1").await.unwrap();
    assert_eq!(db.password("app").as_deref(), Some("p1"));
}

#[tokio::test]
async fn generic_secrets_regenerate_their_field_or_the_whole_string() {
    let (store, db, cfg) = (MemStore::default(), FakeDb::default(), config());
    store.add(
        "json",
        r#"{"api_key":"old-key","user":"svc","rotate_field":"api_key"}"#,
    );
    rotate(&store, &db, &cfg, "json", "t1").await;
    let v: Value = serde_json::from_str(&store.value("json", CURRENT).unwrap()).unwrap();
    assert_ne!(v["api_key"], "old-key");
    assert_eq!(v["user"], "svc");

    store.add("plain", "shared-hmac-key-0001");
    rotate(&store, &db, &cfg, "plain", "t1").await;
    assert_ne!(store.value("plain", CURRENT).unwrap(), "shared-hmac-key-0001");
    assert_eq!(store.value("plain", PREVIOUS).unwrap(), "shared-hmac-key-0001");
}

#[tokio::test]
async fn protocol_violations_fail_before_any_change() {
    let (store, db, cfg) = (MemStore::default(), FakeDb::with(&[("app", "p0")]), config());
    store.add("s", &pg("app", "p0", json!({})));

    let err = step(&store, &db, &cfg, "createSecret", "s", "not-a-version")
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::UnknownVersion { .. }), "{err}");

    rotate(&store, &db, &cfg, "s", "t1").await;
    store.start("s", "t2");
    let err = step(&store, &db, &cfg, "setSecret", "s", "v0").await.unwrap_err();
    assert!(
        matches!(err, RotateError::NotPending { .. }),
        "a stale retry: {err}"
    );

    store.secrets.lock().unwrap().get_mut("s").unwrap().0 = false;
    let err = step(&store, &db, &cfg, "createSecret", "s", "t2")
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::RotationDisabled { .. }), "{err}");
    assert!(store.value("s", PENDING).is_none());
}

#[tokio::test]
async fn wrong_engines_and_missing_fields_are_refused_with_the_field_named() {
    let (store, db, cfg) = (MemStore::default(), FakeDb::default(), config());
    store.add(
        "mysql",
        r#"{"engine":"mysql","host":"h","username":"u","password":"secret-value-1"}"#,
    );
    store.start("mysql", "t1");
    let err = step(&store, &db, &cfg, "createSecret", "mysql", "t1")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("engine \"mysql\""), "{err}");

    store.add(
        "nohost",
        r#"{"engine":"postgres","username":"u","password":"secret-value-2"}"#,
    );
    store.start("nohost", "t1");
    let err = step(&store, &db, &cfg, "createSecret", "nohost", "t1")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"host\" is missing") && !err.contains("secret-value-2"),
        "{err}"
    );
}

#[tokio::test]
async fn secrets_outside_the_allow_list_are_refused() {
    let (store, db) = (MemStore::default(), FakeDb::default());
    let cfg = Config::from_vars(&Vars::from_pairs([("ALLOWED_SECRET_ARNS", "other")])).unwrap();
    store.add("s", "value-123456");
    store.start("s", "t1");
    let err = step(&store, &db, &cfg, "createSecret", "s", "t1")
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::NotAllowed { .. }), "{err}");
    assert!(store.value("s", PENDING).is_none());
}
