//! secret-rotator's configuration, read once at cold start. The function's README table follows this file.

use std::time::Duration;

use ops_shared::Vars;

use crate::error::RotateError;
use crate::store::PasswordPolicy;
use crate::trust::CaBundle;

/// Characters that break connection strings and shell quoting: `:/@"'\` and space.
pub const DEFAULT_EXCLUDE_CHARACTERS: &str = ":/@\"'\\ ";

#[derive(Debug, Clone)]
pub struct Config {
    pub password_policy: PasswordPolicy,
    /// `PG_CA_BUNDLE`: a PEM file of the CAs that sign database certificates, or `rds`; unset, the
    /// system's roots (and the RDS authorities for hosts under `.rds.amazonaws.com`).
    pub ca_bundle: CaBundle,
    /// `PG_ALLOW_MD5` (false): rotate on servers whose password_encryption is md5.
    pub allow_md5: bool,
    /// `PG_CONNECT_TIMEOUT` (5s).
    pub connect_timeout: Duration,
    /// `ALLOWED_SECRET_ARNS`: when set, the only secrets this rotator accepts.
    pub allowed_secret_arns: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, RotateError> {
        Self::from_vars(&Vars::from_env())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, RotateError> {
        let length = vars.parse("PASSWORD_LENGTH", 32i64, "a password length from 8 to 4096")?;
        if !(8..=4096).contains(&length) {
            return Err(RotateError::Config(ops_shared::SharedError::Config {
                var: "PASSWORD_LENGTH".into(),
                problem: "is out of range".into(),
                expected: "a password length from 8 to 4096".into(),
            }));
        }
        Ok(Self {
            password_policy: PasswordPolicy {
                length,
                exclude_characters: vars
                    .optional("EXCLUDE_CHARACTERS")
                    .unwrap_or_else(|| DEFAULT_EXCLUDE_CHARACTERS.to_string()),
                exclude_punctuation: vars.bool("EXCLUDE_PUNCTUATION", false)?,
                exclude_numbers: vars.bool("EXCLUDE_NUMBERS", false)?,
                exclude_uppercase: vars.bool("EXCLUDE_UPPERCASE", false)?,
                exclude_lowercase: vars.bool("EXCLUDE_LOWERCASE", false)?,
                require_each_included_type: vars.bool("REQUIRE_EACH_INCLUDED_TYPE", true)?,
            },
            ca_bundle: CaBundle::parse(vars.optional("PG_CA_BUNDLE").as_deref()),
            allow_md5: vars.bool("PG_ALLOW_MD5", false)?,
            connect_timeout: vars.duration("PG_CONNECT_TIMEOUT", "5s")?,
            allowed_secret_arns: vars.list("ALLOWED_SECRET_ARNS"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, RotateError> {
        Config::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_make_strong_connection_string_safe_passwords() {
        let c = config(&[]).unwrap();
        assert_eq!(c.password_policy.length, 32);
        assert_eq!(c.password_policy.exclude_characters, ":/@\"'\\ ");
        assert!(c.password_policy.require_each_included_type);
        assert!(!c.password_policy.exclude_punctuation);
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert!(c.allowed_secret_arns.is_empty() && c.ca_bundle == CaBundle::Default);
        assert!(!c.allow_md5, "md5 servers are refused unless asked");
        assert!(config(&[("PG_ALLOW_MD5", "true")]).unwrap().allow_md5);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("PASSWORD_LENGTH", "4"),
            ("PASSWORD_LENGTH", "long"),
            ("EXCLUDE_NUMBERS", "maybe"),
            ("PG_CONNECT_TIMEOUT", "5"),
        ] {
            let err = config(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{var}: {err}");
        }
    }

    #[test]
    fn the_allow_list_is_read() {
        let c = config(&[("ALLOWED_SECRET_ARNS", "arn:a, arn:b")]).unwrap();
        assert_eq!(c.allowed_secret_arns, vec!["arn:a", "arn:b"]);
    }
}
