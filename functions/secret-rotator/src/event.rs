//! The event Secrets Manager sends for each rotation step. An own type: the one in
//! `aws_lambda_events` has no `RotationToken`, which must be passed on to PutSecretValue.

use secrecy::SecretString;
use serde_json::Value;

use crate::error::RotateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        }
    }
}

#[derive(Debug)]
pub struct RotationEvent {
    pub step: Step,
    pub secret_id: String,
    pub token: String,
    /// Sensitive: passed on to PutSecretValue, never logged (its `Debug` prints nothing of it).
    pub rotation_token: Option<SecretString>,
}

impl RotationEvent {
    /// Reads the event; an unknown step or a missing field fails here, before any side effect.
    pub fn parse(value: &Value) -> Result<Self, RotateError> {
        let field = |name: &str| -> Result<String, RotateError> {
            match value.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(RotateError::BadEvent {
                    problem: format!("\"{name}\" is missing or not a string"),
                }),
            }
        };
        let step = match field("Step")?.as_str() {
            "createSecret" => Step::Create,
            "setSecret" => Step::Set,
            "testSecret" => Step::Test,
            "finishSecret" => Step::Finish,
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(RotateError::BadEvent {
                    problem: format!("unknown step \"{shown}\" (expected createSecret, setSecret, testSecret or finishSecret)"),
                });
            }
        };
        let rotation_token = match value.get("RotationToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => Some(ops_shared::redact::secret(t.clone())),
            Some(_) => {
                return Err(RotateError::BadEvent {
                    problem: "\"RotationToken\" is not a string".into(),
                })
            }
        };
        Ok(Self {
            step,
            secret_id: field("SecretId")?,
            token: field("ClientRequestToken")?,
            rotation_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    #[test]
    fn every_documented_step_parses() {
        for (wire, step) in [
            ("createSecret", Step::Create),
            ("setSecret", Step::Set),
            ("testSecret", Step::Test),
            ("finishSecret", Step::Finish),
        ] {
            let e =
                RotationEvent::parse(&json!({"Step": wire, "SecretId": "arn:s", "ClientRequestToken": "t"}))
                    .unwrap();
            assert_eq!(e.step, step);
            assert_eq!(e.step.as_str(), wire);
            assert!(e.rotation_token.is_none());
        }
    }

    #[test]
    fn the_rotation_token_is_kept_and_never_printed() {
        let e = RotationEvent::parse(&json!({"Step": "createSecret", "SecretId": "s", "ClientRequestToken": "t", "RotationToken": "rot-token-123456"})).unwrap();
        assert_eq!(
            e.rotation_token.as_ref().unwrap().expose_secret(),
            "rot-token-123456"
        );
        assert!(!format!("{e:?}").contains("rot-token-123456"));
        assert_eq!(
            ops_shared::redact::redact("x rot-token-123456"),
            format!("x {}", ops_shared::redact::MASK)
        );
    }

    #[test]
    fn unknown_steps_and_missing_fields_are_refused() {
        let err = RotationEvent::parse(
            &json!({"Step": "CreateSecret", "SecretId": "s", "ClientRequestToken": "t"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown step \"CreateSecret\""), "{err}");
        let err = RotationEvent::parse(&json!({"Step": "setSecret", "ClientRequestToken": "t"})).unwrap_err();
        assert!(err.to_string().contains("\"SecretId\" is missing"), "{err}");
        assert!(RotationEvent::parse(
            &json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": 5})
        )
        .is_err());
    }

    #[test]
    fn the_sample_events_parse() {
        for (file, step) in [
            ("createSecret", Step::Create),
            ("setSecret", Step::Set),
            ("testSecret", Step::Test),
            ("finishSecret", Step::Finish),
        ] {
            let path = ops_shared::sample_event_path("secret-rotator", &format!("{file}.json"));
            let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(
                RotationEvent::parse(&value).unwrap().step,
                step,
                "{}",
                path.display()
            );
        }
    }
}
