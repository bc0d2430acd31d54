//! secret-rotator against moto and the stack's real PostgreSQL over verified TLS: full rotations for
//! each strategy, crash consistency at every step and every database write, the failure cases, and
//! a rotation through `cargo lambda invoke` whose every output is searched for the passwords.

use aws_sdk_secretsmanager::Client;
use ops_tests::faults::access_key;
use ops_tests::lambda::Function;
use ops_tests::{pg_name, unique, Stack};
use secret_rotator::postgres::{Interruption, Postgres};
use secret_rotator::{Config, RotateError, RotationEvent, Rotator};
use serde_json::{json, Value};

const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

struct Env {
    stack: Stack,
    sm: Client,
    store: secret_rotator::secretsmanager::SecretsManager,
    config: Config,
}

impl Env {
    async fn new() -> Self {
        let stack = Stack::get();
        let aws = stack.aws().await;
        let config = Config::from_vars(&ops_shared::Vars::from_pairs([(
            "PG_CA_BUNDLE",
            stack.pg_ca_bundle.as_str(),
        )]))
        .unwrap();
        Self {
            sm: Client::new(&aws),
            store: secret_rotator::secretsmanager::SecretsManager::new(Client::new(&aws)),
            stack,
            config,
        }
    }

    /// Runs one step with a Secrets Manager adapter that signs with `key`, so the proxy's faults
    /// and captures for that key reach this test's requests only.
    async fn run_signed_with(
        &self,
        key: &str,
        event: Value,
        budget: std::time::Duration,
    ) -> Result<secret_rotator::StepResult, RotateError> {
        let aws = ops_tests::faults::signed_with(&self.stack.aws().await, key);
        let store = secret_rotator::secretsmanager::SecretsManager::new(Client::new(&aws));
        let db = self.db();
        Rotator {
            store: &store,
            db: &db,
            config: &self.config,
        }
        .run(
            &RotationEvent::parse(&event)?,
            tokio::time::Instant::now() + budget,
        )
        .await
    }

    fn db(&self) -> Postgres {
        Postgres::new(&self.config).unwrap()
    }

    /// A login role with a password, made by the stack's superuser.
    async fn role(&self, name: &str, password: &str) {
        let admin = self
            .stack
            .pg_connect(&self.stack.pg_host, &self.stack.pg_user, &self.stack.pg_password)
            .await
            .unwrap();
        let sql: String = admin
            .query_one(
                "SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)",
                &[&name, &password],
            )
            .await
            .unwrap()
            .get(0);
        admin.batch_execute(&sql).await.unwrap();
    }

    fn pg_value(&self, user: &str, password: &str, extra: Value) -> String {
        let mut v = json!({
            "engine": "postgres", "host": self.stack.pg_host, "port": self.stack.pg_port,
            "username": user, "password": password, "dbname": "postgres", "sslmode": "verify-full"
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v.to_string()
    }

    async fn secret(&self, value: &str) -> String {
        let name = unique("rotate");
        self.sm
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .unwrap()
            .arn
            .unwrap()
    }

    /// Starts a rotation as Secrets Manager does before calling createSecret. moto cannot call an
    /// outside Lambda, so RotateSecret fails after labelling the new version AWSPENDING; moto also
    /// leaves AWSPENDING on the last finished version, which the service itself removes.
    async fn start(&self, arn: &str) -> String {
        let described = self.sm.describe_secret().secret_id(arn).send().await.unwrap();
        for (version, stages) in described.version_ids_to_stages.unwrap_or_default() {
            if stages.iter().any(|s| s == "AWSPENDING") {
                self.sm
                    .update_secret_version_stage()
                    .secret_id(arn)
                    .version_stage("AWSPENDING")
                    .remove_from_version_id(version)
                    .send()
                    .await
                    .unwrap();
            }
        }
        let (token, started) = ops_tests::start_rotation(&self.sm, arn).await;
        let stages = self
            .sm
            .describe_secret()
            .secret_id(arn)
            .send()
            .await
            .unwrap()
            .version_ids_to_stages
            .unwrap();
        assert_eq!(
            stages.get(&token).map(Vec::as_slice),
            Some(&["AWSPENDING".to_string()][..]),
            "{stages:?} after RotateSecret answered {started:?}"
        );
        token
    }

    async fn step_with(
        &self,
        db: &Postgres,
        step: &str,
        arn: &str,
        token: &str,
    ) -> Result<&'static str, RotateError> {
        let event =
            RotationEvent::parse(&json!({"Step": step, "SecretId": arn, "ClientRequestToken": token}))?;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        Rotator {
            store: &self.store,
            db,
            config: &self.config,
        }
        .run(&event, deadline)
        .await
        .map(|r| r.outcome)
    }

    async fn step(&self, step: &str, arn: &str, token: &str) -> Result<&'static str, RotateError> {
        self.step_with(&self.db(), step, arn, token).await
    }

    async fn rotate(&self, arn: &str) {
        let token = self.start(arn).await;
        for step in STEPS {
            self.step(step, arn, &token)
                .await
                .unwrap_or_else(|e| panic!("{step}: {e}"));
        }
    }

    async fn value(&self, arn: &str, stage: &str) -> Option<String> {
        self.sm
            .get_secret_value()
            .secret_id(arn)
            .version_stage(stage)
            .send()
            .await
            .ok()
            .and_then(|o| o.secret_string)
    }

    /// Whether the database accepts the credentials in a secret value.
    async fn logs_in(&self, value: &str) -> bool {
        let v: Value = serde_json::from_str(value).unwrap();
        let (user, password) = (v["username"].as_str().unwrap(), v["password"].as_str().unwrap());
        match self.stack.pg_connect(&self.stack.pg_host, user, password).await {
            Ok(client) => client.query_one("SELECT 1", &[]).await.is_ok(),
            Err(_) => false,
        }
    }

    async fn assert_current_or_pending_logs_in(&self, arn: &str, when: &str) {
        let current = self.value(arn, "AWSCURRENT").await.unwrap();
        let pending = self.value(arn, "AWSPENDING").await;
        let ok = self.logs_in(&current).await || matches!(&pending, Some(p) if self.logs_in(p).await);
        assert!(
            ok,
            "{when}: the database accepts neither AWSCURRENT nor AWSPENDING"
        );
    }
}

#[tokio::test]
async fn a_single_user_rotation_over_verified_tls_completes_and_keeps_the_old_value_as_previous() {
    let env = Env::new().await;
    let user = pg_name("single");
    env.role(&user, "first-password-1").await;
    let old = env.pg_value(&user, "first-password-1", json!({}));
    let arn = env.secret(&old).await;

    env.rotate(&arn).await;
    let current = env.value(&arn, "AWSCURRENT").await.unwrap();
    assert!(env.logs_in(&current).await, "AWSCURRENT logs in");
    assert!(!env.logs_in(&old).await, "the old password no longer does");
    assert_eq!(
        env.value(&arn, "AWSPREVIOUS").await.as_deref(),
        Some(old.as_str())
    );

    env.rotate(&arn).await;
    assert!(
        env.logs_in(&env.value(&arn, "AWSCURRENT").await.unwrap()).await,
        "a second rotation works too"
    );
}

#[tokio::test]
async fn every_step_re_invoked_after_it_succeeded_changes_nothing() {
    let env = Env::new().await;
    let user = pg_name("again");
    env.role(&user, "first-password-2").await;
    let arn = env
        .secret(&env.pg_value(&user, "first-password-2", json!({})))
        .await;
    let token = env.start(&arn).await;
    for step in STEPS {
        env.step(step, &arn, &token).await.unwrap();
        let before = (
            env.value(&arn, "AWSCURRENT").await,
            env.value(&arn, "AWSPENDING").await,
        );
        env.step(step, &arn, &token)
            .await
            .unwrap_or_else(|e| panic!("{step} again: {e}"));
        assert_eq!(
            before,
            (
                env.value(&arn, "AWSCURRENT").await,
                env.value(&arn, "AWSPENDING").await
            ),
            "{step}"
        );
        env.assert_current_or_pending_logs_in(&arn, step).await;
    }
}

#[tokio::test]
async fn single_user_crash_after_each_database_write_is_recovered_by_the_retry() {
    let env = Env::new().await;
    // setSecret writes twice: the ALTER ROLE statement, then the commit.
    for after in 1..=2 {
        let user = pg_name("crash");
        env.role(&user, "first-password-3").await;
        let old = env.pg_value(&user, "first-password-3", json!({}));
        let arn = env.secret(&old).await;
        let token = env.start(&arn).await;
        env.step("createSecret", &arn, &token).await.unwrap();

        let interruption = Interruption::after_writes(after);
        let crashing = env.db().interrupt(interruption.clone());
        let err = env
            .step_with(&crashing, "setSecret", &arn, &token)
            .await
            .unwrap_err();
        assert!(interruption.fired(), "write {after}: {err}");
        env.assert_current_or_pending_logs_in(&arn, &format!("after write {after}"))
            .await;

        for step in ["setSecret", "testSecret", "finishSecret"] {
            env.step(step, &arn, &token)
                .await
                .unwrap_or_else(|e| panic!("retry {step} after write {after}: {e}"));
            env.assert_current_or_pending_logs_in(&arn, step).await;
        }
        assert!(env.logs_in(&env.value(&arn, "AWSCURRENT").await.unwrap()).await);
        assert_eq!(
            env.value(&arn, "AWSPREVIOUS").await.as_deref(),
            Some(old.as_str())
        );
    }
}

#[tokio::test]
async fn alternating_users_rotate_through_the_clone_and_current_always_logs_in() {
    let env = Env::new().await;
    let master = env
        .secret(&env.pg_value(&env.stack.pg_user, &env.stack.pg_password, json!({})))
        .await;
    // CREATE ROLE, GRANT, commit: a crash after each, then a retry, before a clean rotation back.
    for after in 1..=3 {
        let user = pg_name("alt");
        env.role(&user, "first-password-4").await;
        let arn = env
            .secret(&env.pg_value(&user, "first-password-4", json!({"masterarn": master})))
            .await;
        let token = env.start(&arn).await;
        env.step("createSecret", &arn, &token).await.unwrap();
        let interruption = Interruption::after_writes(after);
        let crashing = env.db().interrupt(interruption.clone());
        env.step_with(&crashing, "setSecret", &arn, &token)
            .await
            .unwrap_err();
        assert!(interruption.fired());
        assert!(
            env.logs_in(&env.value(&arn, "AWSCURRENT").await.unwrap()).await,
            "AWSCURRENT works after write {after}"
        );

        for step in ["setSecret", "testSecret", "finishSecret"] {
            env.step(step, &arn, &token)
                .await
                .unwrap_or_else(|e| panic!("{step} after write {after}: {e}"));
            assert!(
                env.logs_in(&env.value(&arn, "AWSCURRENT").await.unwrap()).await,
                "{step}"
            );
        }
        let current: Value = serde_json::from_str(&env.value(&arn, "AWSCURRENT").await.unwrap()).unwrap();
        assert_eq!(current["username"], format!("{user}_clone"));

        // The clone has the original's grants: it can do what the original could.
        let admin = env
            .stack
            .pg_connect(&env.stack.pg_host, &env.stack.pg_user, &env.stack.pg_password)
            .await
            .unwrap();
        let member: bool = admin
            .query_one(
                "SELECT pg_has_role($1::text, $2::text, 'MEMBER')",
                &[&format!("{user}_clone"), &user],
            )
            .await
            .unwrap()
            .get(0);
        assert!(member);

        env.rotate(&arn).await;
        let back: Value = serde_json::from_str(&env.value(&arn, "AWSCURRENT").await.unwrap()).unwrap();
        assert_eq!(back["username"], user.as_str());
        assert!(env.logs_in(&back.to_string()).await);
        assert!(
            env.logs_in(&env.value(&arn, "AWSPREVIOUS").await.unwrap()).await,
            "the clone keeps working"
        );
    }
}

/// Three clean rotations: the clone is created, then the original is changed back, then the clone,
/// which now exists and is paired with the original, gets a new password.
#[tokio::test]
async fn alternating_users_rotate_cleanly_three_times_in_a_row() {
    let env = Env::new().await;
    let master = env
        .secret(&env.pg_value(&env.stack.pg_user, &env.stack.pg_password, json!({})))
        .await;
    let user = pg_name("alt3");
    env.role(&user, "first-password-3").await;
    let arn = env
        .secret(&env.pg_value(&user, "first-password-3", json!({"masterarn": master})))
        .await;
    let clone = format!("{user}_clone");
    for (n, expected) in [(1, &clone), (2, &user), (3, &clone)] {
        let before = env.value(&arn, "AWSCURRENT").await.unwrap();
        env.rotate(&arn).await;
        let current = env.value(&arn, "AWSCURRENT").await.unwrap();
        let v: Value = serde_json::from_str(&current).unwrap();
        assert_eq!(v["username"], expected.as_str(), "rotation {n}");
        assert!(env.logs_in(&current).await, "rotation {n}: AWSCURRENT logs in");
        assert_eq!(
            env.value(&arn, "AWSPREVIOUS").await.as_deref(),
            Some(before.as_str())
        );
        assert!(
            env.logs_in(&before).await,
            "rotation {n}: the previous user keeps working"
        );
    }
}

/// Stages `value` as AWSPENDING under a new token, as an operator fixing a stuck rotation by hand does.
async fn stage_pending(env: &Env, arn: &str, value: &str) -> String {
    let token = format!("{:a<40}", unique("staged"));
    env.sm
        .put_secret_value()
        .secret_id(arn)
        .client_request_token(&token)
        .secret_string(value)
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    token
}

/// The confused deputy: logged in as the master, setSecret could change any role the pending value
/// names. It changes only the current user's own alternate, never the live user, never the master,
/// and never a role of that name that is someone else's.
#[tokio::test]
async fn alternating_users_never_change_the_live_user_the_master_or_a_stranger() {
    let env = Env::new().await;
    let superuser = env
        .secret(&env.pg_value(&env.stack.pg_user, &env.stack.pg_password, json!({})))
        .await;
    let user = pg_name("deputy");
    let clone = format!("{user}_clone");
    env.role(&user, "live-password-1").await;
    let live = env.pg_value(&user, "live-password-1", json!({"masterarn": superuser}));
    let arn = env.secret(&live).await;
    env.start(&arn).await;

    // A copy of AWSCURRENT with a new password: the live user's password would change under its
    // applications' feet.
    let copy = env.pg_value(&user, "hand-staged-2", json!({"masterarn": superuser}));
    let token = stage_pending(&env, &arn, &copy).await;
    let err = env.step("setSecret", &arn, &token).await.unwrap_err().to_string();
    assert!(err.contains("pending user") && err.contains(&clone), "{err}");
    assert!(env.logs_in(&live).await, "the live user's password is unchanged");

    // A role named like the alternate that is not paired with the user belongs to someone else.
    env.role(&clone, "stranger-password-3").await;
    let stranger = env.pg_value(&clone, "hand-staged-4", json!({"masterarn": superuser}));
    let token = stage_pending(&env, &arn, &stranger).await;
    let err = env.step("setSecret", &arn, &token).await.unwrap_err().to_string();
    assert!(err.contains(&clone), "{err}");
    assert!(
        env.logs_in(&env.pg_value(&clone, "stranger-password-3", json!({})))
            .await,
        "the stranger's password is unchanged"
    );

    // A master whose own name is the alternate's: the pending value would change the master.
    let user = pg_name("deputy2");
    let master_user = format!("{user}_clone");
    env.role(&user, "live-password-5").await;
    env.role(&master_user, "master-password-6").await;
    let master = env
        .secret(&env.pg_value(&master_user, "master-password-6", json!({})))
        .await;
    let arn = env
        .secret(&env.pg_value(&user, "live-password-5", json!({"masterarn": master})))
        .await;
    env.start(&arn).await;
    let at_master = env.pg_value(&master_user, "hand-staged-7", json!({"masterarn": master}));
    let token = stage_pending(&env, &arn, &at_master).await;
    let err = env.step("setSecret", &arn, &token).await.unwrap_err().to_string();
    assert!(err.contains("master"), "{err}");
    assert!(
        env.logs_in(&env.pg_value(&master_user, "master-password-6", json!({})))
            .await,
        "the master's password is unchanged"
    );
}

#[tokio::test]
async fn a_generic_secret_rotates_its_field() {
    let env = Env::new().await;
    let arn = env
        .secret(r#"{"client_id":"svc","client_secret":"first-secret-5","rotate_field":"client_secret"}"#)
        .await;
    env.rotate(&arn).await;
    let v: Value = serde_json::from_str(&env.value(&arn, "AWSCURRENT").await.unwrap()).unwrap();
    assert_eq!(v["client_id"], "svc");
    let new = v["client_secret"].as_str().unwrap();
    assert_eq!(new.len(), 32);
    assert!(!new.chars().any(|c| ":/@\"'\\ ".contains(c)), "{new}");
}

#[tokio::test]
async fn database_credentials_without_an_engine_are_refused_before_anything_is_written() {
    let env = Env::new().await;
    let user = pg_name("no_engine");
    env.role(&user, "first-password-11").await;
    let mut value: Value =
        serde_json::from_str(&env.pg_value(&user, "first-password-11", json!({}))).unwrap();
    value.as_object_mut().unwrap().remove("engine");
    let value = value.to_string();
    let arn = env.secret(&value).await;
    let token = env.start(&arn).await;

    let err = env.step("createSecret", &arn, &token).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RotateError::BadSecretValue { .. }), "{text}");
    assert!(
        text.contains("\"engine\": \"postgres\"") && text.contains("rotate_field"),
        "{text}"
    );
    assert!(!text.contains("first-password-11"), "{text}");
    assert_eq!(
        env.value(&arn, "AWSPENDING").await.filter(|v| !v.is_empty()),
        None,
        "no new password was staged, so none can be promoted"
    );
    assert_eq!(
        env.value(&arn, "AWSCURRENT").await.as_deref(),
        Some(value.as_str())
    );
    assert!(env.logs_in(&value).await, "the database password is untouched");
}

#[tokio::test]
async fn set_secret_recovers_through_previous_after_the_database_was_restored() {
    let env = Env::new().await;
    let user = pg_name("restored");
    env.role(&user, "first-password-6").await;
    let arn = env
        .secret(&env.pg_value(&user, "first-password-6", json!({})))
        .await;
    env.rotate(&arn).await;
    // A restore from backup puts the old password back.
    let admin = env
        .stack
        .pg_connect(&env.stack.pg_host, &env.stack.pg_user, &env.stack.pg_password)
        .await
        .unwrap();
    let sql: String = admin
        .query_one(
            "SELECT format('ALTER ROLE %I WITH PASSWORD %L', $1::text, 'first-password-6')",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    admin.batch_execute(&sql).await.unwrap();

    env.rotate(&arn).await;
    assert!(env.logs_in(&env.value(&arn, "AWSCURRENT").await.unwrap()).await);
}

#[tokio::test]
async fn the_previous_password_is_tried_with_the_current_connection_settings_only() {
    let env = Env::new().await;
    let user = pg_name("fallback");
    env.role(&user, "first-password-12").await;
    // An old version that pointed elsewhere, in plaintext: a listener there counts who comes.
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_port = elsewhere.local_addr().unwrap().port();
    let visits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = visits.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = elsewhere.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    let old = env.pg_value(
        &user,
        "first-password-12",
        json!({"port": elsewhere_port, "sslmode": "disable"}),
    );
    let arn = env.secret(&old).await;
    // AWSCURRENT then changed by hand to a password the database never got: the old one moves to
    // AWSPREVIOUS, and the database (as after a restore) still holds it.
    env.sm
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(env.pg_value(&user, "changed-by-hand-12", json!({})))
        .send()
        .await
        .unwrap();
    let token = env.start(&arn).await;
    env.step("createSecret", &arn, &token).await.unwrap();

    let set = env.step("setSecret", &arn, &token).await;
    assert_eq!(
        visits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no login went to the old version's host and port, or without TLS"
    );
    set.expect("the previous password, over the current settings, sets the new one");
    for step in ["testSecret", "finishSecret"] {
        env.step(step, &arn, &token).await.unwrap();
    }
    assert!(env.logs_in(&env.value(&arn, "AWSCURRENT").await.unwrap()).await);
}

/// When the current password is refused and the previous one fails for another reason (here the
/// role may not log in at all), the error names both attempts; it does not send the operator to
/// reset a password that is fine.
#[tokio::test]
async fn a_fallback_that_fails_for_another_reason_than_the_password_says_so() {
    let env = Env::new().await;
    let user = pg_name("nologin");
    env.role(&user, "first-password-14").await;
    let arn = env
        .secret(&env.pg_value(&user, "first-password-14", json!({})))
        .await;
    env.sm
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(env.pg_value(&user, "changed-by-hand-14", json!({})))
        .send()
        .await
        .unwrap();
    let admin = env
        .stack
        .pg_connect(&env.stack.pg_host, &env.stack.pg_user, &env.stack.pg_password)
        .await
        .unwrap();
    as_admin(&admin, "ALTER ROLE %I NOLOGIN", &user).await;
    let token = env.start(&arn).await;
    env.step("createSecret", &arn, &token).await.unwrap();

    let err = env.step("setSecret", &arn, &token).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RotateError::FallbackFailed { .. }), "{text}");
    assert!(
        text.contains("28P01") && text.contains("not permitted to log in"),
        "both attempts are named: {text}"
    );
    assert!(!text.contains("no label"), "{text}");
    assert!(
        !text.contains("first-password-14") && !text.contains("changed-by-hand-14"),
        "{text}"
    );
}

/// A server storing md5 passwords is refused unless PG_ALLOW_MD5 says to accept that the md5
/// verifier logs in as well as the password does; nothing is changed.
#[tokio::test]
async fn an_md5_server_is_refused_without_pg_allow_md5_and_nothing_changes() {
    let env = Env::new().await;
    let user = pg_name("md5");
    env.role(&user, "first-password-15").await;
    let admin = env
        .stack
        .pg_connect(&env.stack.pg_host, &env.stack.pg_user, &env.stack.pg_password)
        .await
        .unwrap();
    as_admin(&admin, "ALTER ROLE %I SET password_encryption = ''md5''", &user).await;
    let value = env.pg_value(&user, "first-password-15", json!({}));
    let arn = env.secret(&value).await;
    let token = env.start(&arn).await;
    env.step("createSecret", &arn, &token).await.unwrap();
    let err = env.step("setSecret", &arn, &token).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("md5") && text.contains("PG_ALLOW_MD5=true"),
        "{text}"
    );
    assert!(!ops_shared::Retryable::retryable(&err), "{text}");
    assert!(env.logs_in(&value).await, "the password is unchanged");
}

/// Runs `format(template, name)` and executes the result on `client` (quotes in `template` doubled).
async fn as_admin(client: &tokio_postgres::Client, template: &str, name: &str) {
    let sql: String = client
        .query_one(&format!("SELECT format('{template}', $1::text)"), &[&name])
        .await
        .unwrap()
        .get(0);
    client.batch_execute(&sql).await.unwrap();
}

#[tokio::test]
async fn a_failed_alter_role_under_log_statement_all_logs_no_password() {
    let env = Env::new().await;
    let user = pg_name("logged");
    env.role(&user, "first-password-13").await;
    let (host, admin_user, admin_password) = (&env.stack.pg_host, &env.stack.pg_user, &env.stack.pg_password);
    let admin = env
        .stack
        .pg_connect(host, admin_user, admin_password)
        .await
        .unwrap();
    // Every statement of this user's sessions is logged, and a lock wait fails fast.
    as_admin(&admin, "ALTER ROLE %I SET log_statement = ''all''", &user).await;
    as_admin(&admin, "ALTER ROLE %I SET lock_timeout = ''300ms''", &user).await;
    let arn = env
        .secret(&env.pg_value(&user, "first-password-13", json!({})))
        .await;
    let token = env.start(&arn).await;
    env.step("createSecret", &arn, &token).await.unwrap();

    // Another transaction holds the role's row: the rotator's ALTER ROLE fails on the lock, and a
    // failed statement is logged whatever log_statement says.
    let blocker = env
        .stack
        .pg_connect(host, admin_user, admin_password)
        .await
        .unwrap();
    blocker.batch_execute("BEGIN").await.unwrap();
    as_admin(&blocker, "ALTER ROLE %I CONNECTION LIMIT 50", &user).await;
    let err = env.step("setSecret", &arn, &token).await.unwrap_err().to_string();
    assert!(err.contains("lock timeout"), "{err}");
    blocker.batch_execute("ROLLBACK").await.unwrap();
    for step in ["setSecret", "testSecret", "finishSecret"] {
        env.step(step, &arn, &token).await.unwrap();
    }

    let new: Value = serde_json::from_str(&env.value(&arn, "AWSCURRENT").await.unwrap()).unwrap();
    let new_password = new["password"].as_str().unwrap().to_string();
    assert!(env.logs_in(&new.to_string()).await);
    let log = std::fs::read_to_string(env.stack.pg_server_log()).unwrap();
    let ours: Vec<&str> = log.lines().filter(|l| l.contains(&user)).collect();
    assert!(
        ours.iter().any(|l| l.contains("ALTER ROLE")) && log.contains("due to lock timeout"),
        "the server logged the statements and the failure (or this test proves nothing):\n{}",
        ours.join("\n")
    );
    for (what, password) in [("new", new_password.as_str()), ("old", "first-password-13")] {
        assert!(
            !log.contains(password),
            "the {what} password is in the server log"
        );
    }
}

#[tokio::test]
async fn a_database_password_in_no_label_fails_clearly_and_changes_nothing() {
    let env = Env::new().await;
    let user = pg_name("unknownpw");
    env.role(&user, "set-by-hand-7").await;
    let arn = env
        .secret(&env.pg_value(&user, "not-what-the-db-has", json!({})))
        .await;
    let token = env.start(&arn).await;
    env.step("createSecret", &arn, &token).await.unwrap();
    let err = env.step("setSecret", &arn, &token).await.unwrap_err().to_string();
    assert!(
        err.contains("current (AWSCURRENT) credential") && err.contains("password authentication failed"),
        "{err}"
    );
    assert!(
        !err.contains("not-what-the-db-has") && !err.contains("set-by-hand-7"),
        "{err}"
    );
    let still = env
        .stack
        .pg_connect(&env.stack.pg_host, &user, "set-by-hand-7")
        .await;
    assert!(still.is_ok(), "the database was not changed");
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_name_and_changes_nothing() {
    let env = Env::new().await;
    let user = pg_name("wrongname");
    env.role(&user, "first-password-8").await;
    // The certificate names localhost; 127.0.0.1 is the same server under another name.
    let value = env.pg_value(&user, "first-password-8", json!({"host": "127.0.0.1"}));
    let arn = env.secret(&value).await;
    let token = env.start(&arn).await;
    env.step("createSecret", &arn, &token).await.unwrap();
    let err = env.step("setSecret", &arn, &token).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1") && text.to_lowercase().contains("certificate"),
        "{text}"
    );
    assert!(
        !ops_shared::Retryable::retryable(&err),
        "a certificate mismatch does not pass by itself"
    );
    assert_eq!(
        env.value(&arn, "AWSCURRENT").await.as_deref(),
        Some(value.as_str())
    );
    assert!(env
        .stack
        .pg_connect(&env.stack.pg_host, &user, "first-password-8")
        .await
        .is_ok());
}

#[tokio::test]
async fn stale_tokens_unknown_versions_and_disabled_rotation_are_refused() {
    let env = Env::new().await;
    let arn = env.secret("plain-secret-value-9").await;
    let err = env
        .step("createSecret", &arn, "no-such-version")
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::RotationDisabled { .. }), "{err}");

    let first = env.start(&arn).await;
    let err = env
        .step("createSecret", &arn, "no-such-version")
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::UnknownVersion { .. }), "{err}");
    for step in STEPS {
        env.step(step, &arn, &first).await.unwrap();
    }
    let _second = env.start(&arn).await;
    let old_version = env
        .sm
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap()
        .version_ids_to_stages
        .unwrap()
        .into_iter()
        .find(|(_, s)| s.iter().any(|s| s == "AWSPREVIOUS"))
        .unwrap()
        .0;
    let err = env.step("setSecret", &arn, &old_version).await.unwrap_err();
    assert!(
        matches!(err, RotateError::NotPending { .. }),
        "a stale retry: {err}"
    );
}

/// A rotation through `cargo lambda invoke` at trace level in `log_format`, with a failed step on
/// the way, and every byte the function and the emulator printed searched for the secrets.
async fn rotation_through_invoke_never_prints_a_secret(log_format: &str, n: u32) {
    let env = Env::new().await;
    let user = pg_name("invoked");
    let first = format!("first-password-{n}");
    env.role(&user, &first).await;
    let old = env.pg_value(&user, &first, json!({}));
    let arn = env.secret(&old).await;
    let token = env.start(&arn).await;
    let f = Function::start(
        "secret-rotator",
        &[
            ("PG_CA_BUNDLE", env.stack.pg_ca_bundle.as_str()),
            ("RUST_LOG", "trace"),
            ("AWS_LAMBDA_LOG_FORMAT", log_format),
        ],
    );
    let rotation_token = format!("rotation-token-secret-{n}");
    let invoke = |step: &str| {
        f.invoke_json(&json!({"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": rotation_token}))
    };

    let mut outputs = Vec::new();
    let created = invoke("createSecret");
    assert!(created.ok, "createSecret: {}", created.error);
    outputs.push(created.output);
    // The failure path: the pending password is tested before the database has it.
    let early = invoke("testSecret");
    assert!(
        !early.ok && early.error.contains("pending (AWSPENDING)"),
        "{}",
        early.error
    );
    outputs.push(early.error);
    for step in ["setSecret", "testSecret", "finishSecret"] {
        let inv = invoke(step);
        assert!(inv.ok, "{step}: {}", inv.error);
        assert_eq!(inv.json()["step"], step);
        outputs.push(inv.output);
    }
    let bad = f.invoke_json(&json!({"Step": "rotateSecret", "SecretId": arn, "ClientRequestToken": token}));
    assert!(!bad.ok && bad.error.contains("unknown step"), "{}", bad.error);
    outputs.push(bad.error);

    let current = env.value(&arn, "AWSCURRENT").await.unwrap();
    assert!(env.logs_in(&current).await, "the rotated password logs in");
    let new_password = serde_json::from_str::<Value>(&current).unwrap()["password"]
        .as_str()
        .unwrap()
        .to_string();
    let logs = f.logs();
    if log_format == "JSON" {
        let line = logs
            .lines()
            .find(|l| l.contains("rotation step done"))
            .unwrap_or_else(|| panic!("no step line:\n{logs}"));
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "one JSON object per line: {line}"
        );
    }
    let everything = format!("{logs}\n{}", outputs.join("\n"));
    assert!(everything.contains("rotation step done"), "{everything}");
    for secret in [first.as_str(), new_password.as_str(), rotation_token.as_str()] {
        assert!(
            !everything.contains(secret),
            "a secret reached the output:\n{everything}"
        );
    }
}

#[tokio::test]
async fn a_rotation_through_cargo_lambda_invoke_never_prints_a_password() {
    rotation_through_invoke_never_prints_a_secret("Text", 10).await;
}

#[tokio::test]
async fn a_rotation_logged_as_json_never_prints_a_password_even_when_a_step_fails() {
    rotation_through_invoke_never_prints_a_secret("JSON", 15).await;
}

#[tokio::test]
async fn an_unreadable_ca_bundle_fails_at_cold_start_naming_the_variable() {
    let config = Config::from_vars(&ops_shared::Vars::from_pairs([(
        "PG_CA_BUNDLE",
        "/nonexistent/ca.pem",
    )]))
    .unwrap();
    let err = secret_rotator::Deps::connect(&config)
        .await
        .err()
        .expect("a missing bundle is refused")
        .to_string();
    assert!(
        err.contains("PG_CA_BUNDLE") && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );
}

/// `PG_CA_BUNDLE=rds` trusts the compiled-in RDS authorities and the system's roots, not a private
/// CA: the stack's server, whose certificate the local test CA signed, is refused under verify-full
/// and left unchanged.
#[tokio::test]
async fn pg_ca_bundle_rds_trusts_the_rds_and_public_authorities_not_a_private_ca() {
    let env = Env::new().await;
    let config = Config::from_vars(&ops_shared::Vars::from_pairs([("PG_CA_BUNDLE", "rds")])).unwrap();
    let deps = secret_rotator::Deps::connect(&config)
        .await
        .unwrap_or_else(|e| panic!("PG_CA_BUNDLE=rds needs no file: {e}"));
    let user = pg_name("rdsca");
    env.role(&user, "first-password-8").await;
    let value = env.pg_value(&user, "first-password-8", json!({}));
    let arn = env.secret(&value).await;
    let token = env.start(&arn).await;
    env.step("createSecret", &arn, &token).await.unwrap();
    let event =
        RotationEvent::parse(&json!({"Step": "setSecret", "SecretId": arn, "ClientRequestToken": token}))
            .unwrap();
    let err = Rotator {
        store: &env.store,
        db: &deps.db,
        config: &config,
    }
    .run(
        &event,
        tokio::time::Instant::now() + std::time::Duration::from_secs(30),
    )
    .await
    .expect_err("the local CA is not an RDS authority");
    let text = err.to_string();
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(
        text.contains("PG_CA_BUNDLE") && text.contains("that region's bundle"),
        "{text}"
    );
    assert!(!ops_shared::Retryable::retryable(&err), "{text}");
    assert!(env
        .stack
        .pg_connect(&env.stack.pg_host, &user, "first-password-8")
        .await
        .is_ok());
}

#[tokio::test]
async fn a_throttled_secret_read_fails_the_step_retryably_and_changes_nothing() {
    let env = Env::new().await;
    let value = r#"{"client_id": "app", "client_secret": "generic-password-before", "rotate_field": "client_secret"}"#;
    let arn = env.secret(value).await;
    let token = env.start(&arn).await;
    let key = access_key();
    env.stack
        .faults()
        .throttle("secretsmanager:GetSecretValue", &key)
        .await;
    let f = Function::start(
        "secret-rotator",
        &[
            ("PG_CA_BUNDLE", env.stack.pg_ca_bundle.as_str()),
            ("AWS_ACCESS_KEY_ID", key.as_str()),
        ],
    );

    let inv = f.invoke_json(&json!({"Step": "createSecret", "SecretId": arn, "ClientRequestToken": token}));
    inv.assert_throttled("GetSecretValue", "ThrottlingException");
    let current = env
        .sm
        .get_secret_value()
        .secret_id(&arn)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap();
    assert_eq!(
        current.secret_string(),
        Some(value),
        "the current value is untouched"
    );
    let pending = env
        .sm
        .get_secret_value()
        .secret_id(&arn)
        .version_stage("AWSPENDING")
        .send()
        .await;
    assert!(
        pending
            .as_ref()
            .map(|p| p.secret_string().unwrap_or("").is_empty())
            .unwrap_or(true),
        "no new password was staged: {pending:?}"
    );
}

#[tokio::test]
async fn a_slow_secrets_manager_ends_the_step_at_the_deadline() {
    let env = Env::new().await;
    let arn = env.secret("plain-token-before-14").await;
    let token = env.start(&arn).await;
    let key = access_key();
    env.stack
        .faults()
        .inject(json!({"operation": "secretsmanager:DescribeSecret", "error": "latency", "latency_ms": 5000, "access_key": key}))
        .await;
    let event = json!({"Step": "createSecret", "SecretId": arn, "ClientRequestToken": token});

    let err = env
        .run_signed_with(&key, event, std::time::Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("createSecret"), "{err}");
    assert_eq!(
        env.value(&arn, "AWSPENDING").await.filter(|v| !v.is_empty()),
        None
    );
}

#[tokio::test]
async fn the_rotation_token_reaches_put_secret_value_on_the_wire() {
    let env = Env::new().await;
    let arn = env.secret("plain-token-before-16").await;
    let token = env.start(&arn).await;
    let key = access_key();
    env.stack
        .faults()
        .capture(json!({"operation": "secretsmanager:PutSecretValue", "access_key": key}))
        .await;
    let event = json!({
        "Step": "createSecret", "SecretId": arn, "ClientRequestToken": token,
        "RotationToken": "rotation-token-on-the-wire-16",
    });
    env.run_signed_with(&key, event, std::time::Duration::from_secs(30))
        .await
        .unwrap();

    let sent = env.stack.faults().captured(&key).await;
    assert_eq!(sent.len(), 1, "one PutSecretValue: {sent:?}");
    let body: Value = serde_json::from_str(sent[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["RotationToken"], "rotation-token-on-the-wire-16");
    assert_eq!(body["ClientRequestToken"], token.as_str());
    assert_eq!(body["VersionStages"], json!(["AWSPENDING"]));
}

#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_fails_and_never_speaks_plaintext() {
    use secret_rotator::database::{Database, Target};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // A server that declines TLS ('N' to the SSLRequest), then records anything sent after.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let after = tokio::spawn(async move {
        let (mut conn, _) = server.accept().await.unwrap();
        let mut request = [0u8; 8];
        conn.read_exact(&mut request).await.unwrap();
        conn.write_all(b"N").await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), conn.read_to_end(&mut rest)).await;
        (request, rest)
    });
    let env = Env::new().await;
    let target = Target {
        host: "127.0.0.1".into(),
        port,
        dbname: "postgres".into(),
        sslmode: secret_rotator::secret_value::SslMode::Require,
    };
    let password = secrecy::SecretString::from("never-in-plaintext-17");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);

    let err = match env.db().connect(&target, "app", &password, deadline).await {
        Ok(_) => panic!("a server without TLS was accepted under sslmode=require"),
        Err(e) => e,
    };
    assert!(
        err.reason.contains("TLS"),
        "the error says TLS is missing: {err:?}"
    );
    assert!(!err.reason.contains("never-in-plaintext-17"), "{err:?}");
    let (request, rest) = after.await.unwrap();
    assert_eq!(
        request[4..],
        [0x04, 0xd2, 0x16, 0x2f],
        "the client asked for TLS first (SSLRequest)"
    );
    assert!(
        rest.is_empty(),
        "nothing was sent in plaintext after the refusal: {rest:?}"
    );
}
