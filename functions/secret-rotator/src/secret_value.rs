//! What a secret's value says about how to rotate it.
//!
//! - JSON with `engine` = `postgres`, `postgresql` or `aurora-postgresql`: PostgreSQL credentials,
//!   rotated for a single user, or for alternating users when `masterarn` is present.
//! - JSON with another `engine`: refused (another rotator's job).
//! - JSON that looks like database credentials (`username` and `password`) but names neither an
//!   engine nor a `rotate_field`: refused. Rotated as a generic secret, its new password would
//!   reach only the secret, never the database, and lock the application out.
//! - Any other JSON: a generic secret whose `rotate_field` (default `password`) is regenerated.
//! - Plain text: a generic secret regenerated whole.
//!
//! Errors describe fields, never values.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

pub const DEFAULT_ROTATE_FIELD: &str = "password";
const POSTGRES_ENGINES: &[&str] = &["postgres", "postgresql", "aurora-postgresql"];
/// PostgreSQL truncates identifiers longer than this many bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 63;
pub const CLONE_SUFFIX: &str = "_clone";

/// Ordered weakest first, so the stronger of two settings is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    Disable,
    Require,
    VerifyFull,
}

/// PostgreSQL credentials as the secret holds them, with every other field kept as it was.
#[derive(Debug, Clone)]
pub struct PgCredentials {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: SecretString,
    pub dbname: String,
    pub sslmode: SslMode,
    pub masterarn: Option<String>,
    fields: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub enum SecretKind {
    Postgres(PgCredentials),
    /// A JSON object whose `field` is regenerated.
    Json {
        fields: Map<String, Value>,
        field: String,
    },
    Plain,
}

/// Why a value cannot be rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnsupportedEngine(String),
    Invalid(String),
}

pub fn classify(value: &SecretString) -> Result<SecretKind, Problem> {
    let text = value.expose_secret();
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
        return Ok(SecretKind::Plain);
    };
    match fields.get("engine") {
        Some(Value::String(engine)) if POSTGRES_ENGINES.contains(&engine.as_str()) => {
            PgCredentials::from_fields(fields)
                .map(SecretKind::Postgres)
                .map_err(Problem::Invalid)
        }
        Some(Value::String(engine)) => Err(Problem::UnsupportedEngine(engine.chars().take(40).collect())),
        Some(_) => Err(Problem::Invalid("\"engine\" is not a string".into())),
        None if ["username", "password"].iter().all(|f| fields.contains_key(*f))
            && !fields.contains_key("rotate_field") =>
        {
            Err(Problem::Invalid(
                "it holds a username and a password but no \"engine\", so the rotator cannot tell a \
                 database login from a generic secret. Add \"engine\": \"postgres\" to rotate the \
                 database user's password, or \"rotate_field\": \"password\" to rotate the field in the \
                 secret alone"
                    .into(),
            ))
        }
        None => {
            let field = match fields.get("rotate_field") {
                None => DEFAULT_ROTATE_FIELD.to_string(),
                Some(Value::String(f)) if !f.is_empty() => f.clone(),
                Some(_) => return Err(Problem::Invalid("\"rotate_field\" is not a field name".into())),
            };
            match fields.get(&field) {
                Some(Value::String(_)) => Ok(SecretKind::Json { fields, field }),
                Some(_) => Err(Problem::Invalid(format!("the field to rotate, \"{field}\", is not a string"))),
                None => Err(Problem::Invalid(format!(
                    "it has no \"{field}\" field to rotate (set \"rotate_field\" in the secret to the field that holds the credential)"
                ))),
            }
        }
    }
}

impl PgCredentials {
    pub fn parse(value: &SecretString) -> Result<Self, String> {
        match serde_json::from_str::<Value>(value.expose_secret()) {
            Ok(Value::Object(fields)) => Self::from_fields(fields),
            _ => Err("it is not a JSON object".into()),
        }
    }

    fn from_fields(fields: Map<String, Value>) -> Result<Self, String> {
        let text = |name: &str| match fields.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(format!("\"{name}\" is not a string")),
        };
        let required = |name: &str| text(name)?.ok_or_else(|| format!("\"{name}\" is missing"));
        let port = match fields.get("port") {
            None | Some(Value::Null) => 5432,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or("\"port\" is not a port number")?,
            Some(Value::String(s)) => s.parse().map_err(|_| "\"port\" is not a port number")?,
            Some(_) => return Err("\"port\" is not a port number".into()),
        };
        let sslmode = match text("sslmode")?.as_deref() {
            None | Some("verify-full") => SslMode::VerifyFull,
            Some("require") => SslMode::Require,
            Some("disable") => SslMode::Disable,
            Some(other) => {
                return Err(format!(
                    "\"sslmode\" is \"{}\"; use disable, require or verify-full",
                    other.chars().take(20).collect::<String>()
                ))
            }
        };
        let password = required("password")?;
        Ok(Self {
            host: required("host")?,
            port,
            username: required("username")?,
            password: ops_shared::redact::secret(password),
            dbname: text("dbname")?.unwrap_or_else(|| "postgres".to_string()),
            sslmode,
            masterarn: text("masterarn")?,
            fields,
        })
    }

    /// These connection settings and user with another password (to log in, not to store).
    pub fn with_password(&self, password: SecretString) -> Self {
        Self {
            password,
            ..self.clone()
        }
    }

    /// Another login over the same host, port and TLS settings (the master's, for alternating users).
    pub fn as_user(&self, username: &str, password: SecretString, dbname: &str) -> Self {
        Self {
            username: username.to_string(),
            password,
            dbname: dbname.to_string(),
            ..self.clone()
        }
    }

    /// The same secret with a new password (and, for alternating users, a new user name).
    pub fn with(&self, username: &str, password: &SecretString) -> SecretString {
        let mut fields = self.fields.clone();
        fields.insert("username".into(), Value::String(username.to_string()));
        fields.insert(
            "password".into(),
            Value::String(password.expose_secret().to_string()),
        );
        SecretString::from(Value::Object(fields).to_string())
    }
}

/// The other user of an alternating pair: `name` ↔ `name_clone`.
pub fn alternate_user(username: &str) -> String {
    match username.strip_suffix(CLONE_SUFFIX) {
        Some(original) if !original.is_empty() => original.to_string(),
        _ => format!("{username}{CLONE_SUFFIX}"),
    }
}

/// A JSON object with `field` replaced.
pub fn with_field(fields: &Map<String, Value>, field: &str, value: &SecretString) -> SecretString {
    let mut fields = fields.clone();
    fields.insert(
        field.to_string(),
        Value::String(value.expose_secret().to_string()),
    );
    SecretString::from(Value::Object(fields).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    #[test]
    fn postgres_secrets_are_recognised_with_defaults() {
        let SecretKind::Postgres(c) = classify(&s(
            r#"{"engine":"postgres","host":"db","username":"app","password":"pw-123456"}"#,
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.port, c.dbname.as_str(), c.sslmode),
            (5432, "postgres", SslMode::VerifyFull)
        );
        assert!(c.masterarn.is_none());
        let SecretKind::Postgres(c) = classify(&s(r#"{"engine":"aurora-postgresql","host":"db","port":"6432","username":"app","password":"x","sslmode":"require","masterarn":"arn:m","extra":1}"#)).unwrap() else {
            panic!()
        };
        assert_eq!((c.port, c.sslmode), (6432, SslMode::Require));
        assert_eq!(c.masterarn.as_deref(), Some("arn:m"));
    }

    #[test]
    fn rewriting_keeps_every_other_field() {
        let SecretKind::Postgres(c) = classify(&s(
            r#"{"engine":"postgres","host":"db","username":"app","password":"old","proxy":"p"}"#,
        ))
        .unwrap() else {
            panic!()
        };
        let new: Value = serde_json::from_str(c.with("app_clone", &s("new")).expose_secret()).unwrap();
        assert_eq!(new["username"], "app_clone");
        assert_eq!(new["password"], "new");
        assert_eq!(new["proxy"], "p");
        assert_eq!(new["engine"], "postgres");
    }

    #[test]
    fn other_engines_are_refused_and_bad_fields_named_without_values() {
        assert_eq!(
            classify(&s(r#"{"engine":"mysql","password":"x"}"#)).unwrap_err(),
            Problem::UnsupportedEngine("mysql".into())
        );
        let Problem::Invalid(p) =
            classify(&s(r#"{"engine":"postgres","host":"db","username":"app"}"#)).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(p, "\"password\" is missing");
        let Problem::Invalid(p) = classify(&s(r#"{"engine":"postgres","host":"db","username":"app","password":"hunter2hunter2","sslmode":"prefer"}"#)).unwrap_err() else {
            panic!()
        };
        assert!(
            p.contains("disable, require or verify-full") && !p.contains("hunter2"),
            "{p}"
        );
    }

    #[test]
    fn generic_secrets_rotate_a_named_field_or_the_whole_string() {
        assert!(matches!(
            classify(&s("plain-token-value")).unwrap(),
            SecretKind::Plain
        ));
        assert!(matches!(classify(&s("[1,2]")).unwrap(), SecretKind::Plain));
        let SecretKind::Json { field, .. } =
            classify(&s(r#"{"api_key":"k","rotate_field":"api_key"}"#)).unwrap()
        else {
            panic!()
        };
        assert_eq!(field, "api_key");
        let SecretKind::Json { field, .. } = classify(&s(r#"{"password":"k","user":"u"}"#)).unwrap() else {
            panic!()
        };
        assert_eq!(field, "password");
        let Problem::Invalid(p) = classify(&s(r#"{"token":"k"}"#)).unwrap_err() else {
            panic!()
        };
        assert!(p.contains("no \"password\" field"), "{p}");
    }

    #[test]
    fn database_credentials_without_an_engine_are_refused_saying_how_to_mark_them() {
        let Problem::Invalid(p) = classify(&s(
            r#"{"host":"db","username":"app","password":"hunter2hunter2"}"#,
        ))
        .unwrap_err() else {
            panic!()
        };
        assert!(
            p.contains("\"engine\": \"postgres\"") && p.contains("rotate_field") && !p.contains("hunter2"),
            "{p}"
        );
        assert!(matches!(
            classify(&s(
                r#"{"host":"db","username":"app","password":"x","rotate_field":"password"}"#
            ))
            .unwrap(),
            SecretKind::Json { .. }
        ));
        assert!(matches!(
            classify(&s(
                r#"{"engine":"postgresql","host":"db","username":"app","password":"x"}"#
            ))
            .unwrap(),
            SecretKind::Postgres(_)
        ));
    }

    #[test]
    fn alternating_users_swap_between_name_and_clone() {
        assert_eq!(alternate_user("app"), "app_clone");
        assert_eq!(alternate_user("app_clone"), "app");
        assert_eq!(alternate_user("_clone"), "_clone_clone");
    }
}
