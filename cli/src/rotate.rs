//! `ops rotate SECRET [--wait]`: starts a rotation and, with `--wait`, follows the version stages
//! until this rotation's version becomes AWSCURRENT, or says where it stopped. It never prints a
//! secret value: only version IDs and stage labels.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::OpsError;

/// How long one look at the stages may take before it counts as a failed look.
const LOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This rotation's version became AWSCURRENT.
    Rotated { from: Option<String>, to: String },
    /// Started (or, a rotation being pending already, left to Secrets Manager's retry); not followed.
    Started { version: Option<String> },
}

type Stages = HashMap<String, Vec<String>>;

fn holding(stages: &Stages, label: &str) -> Option<String> {
    stages
        .iter()
        .find(|(_, labels)| labels.iter().any(|l| l == label))
        .map(|(v, _)| v.clone())
}

/// A pending version that is not also the current one (Secrets Manager's state mid-rotation).
fn pending(stages: &Stages) -> Option<String> {
    stages
        .iter()
        .find(|(_, labels)| {
            labels.iter().any(|l| l == "AWSPENDING") && !labels.iter().any(|l| l == "AWSCURRENT")
        })
        .map(|(v, _)| v.clone())
}

fn has(stages: &Stages, version: &str, label: &str) -> bool {
    stages.get(version).is_some_and(|l| l.iter().any(|x| x == label))
}

/// Whether the rotation of `version` has finished: it is AWSCURRENT, or it was and a later one
/// took over (AWSPREVIOUS). Without a version, AWSCURRENT moving away from `from` is all there is.
fn finished(stages: &Stages, version: Option<&str>, from: Option<&str>) -> Option<String> {
    match version {
        Some(v) if has(stages, v, "AWSCURRENT") || has(stages, v, "AWSPREVIOUS") => Some(v.to_string()),
        Some(_) => None,
        None => holding(stages, "AWSCURRENT").filter(|c| Some(c.as_str()) != from),
    }
}

async fn describe(sm: &aws_sdk_secretsmanager::Client, secret: &str) -> Result<(Stages, bool, bool), String> {
    let look = sm.describe_secret().secret_id(secret).send();
    let out = tokio::time::timeout(LOOK_TIMEOUT, look)
        .await
        .map_err(|_| format!("DescribeSecret did not answer within {}s", LOOK_TIMEOUT.as_secs()))?
        .map_err(|e| ops_shared::error::chain(&e))?;
    Ok((
        out.version_ids_to_stages().cloned().unwrap_or_default(),
        out.rotation_enabled().unwrap_or(false),
        out.rotation_lambda_arn().is_some(),
    ))
}

/// Starts the rotation; with `wait` = (every, timeout), looks at the stages every `every` until
/// this rotation's version is AWSCURRENT, or fails at `timeout` saying what is left.
pub async fn rotate(
    sm: &aws_sdk_secretsmanager::Client,
    secret: &str,
    wait: Option<(Duration, Duration)>,
    say: &mut dyn FnMut(&str),
) -> Result<Outcome, OpsError> {
    let (before, enabled, has_rotator) = describe(sm, secret).await.map_err(|reason| OpsError::Aws {
        what: "the secret",
        reason,
    })?;
    if !has_rotator {
        return Err(OpsError::RotateRefused(format!(
            "{secret} has no rotation configured: give it the secret-rotator (RotateSecret with RotationLambdaARN) first"
        )));
    }
    // RotateSecret would turn automatic rotation back on, which somebody turned off.
    if !enabled {
        return Err(OpsError::RotateRefused(format!(
            "automatic rotation of {secret} is turned off; rotating now would turn it back on. If that is \
             intended, turn it on first (console, or aws secretsmanager rotate-secret)"
        )));
    }
    let from = holding(&before, "AWSCURRENT");
    say(&format!(
        "AWSCURRENT is version {}",
        from.as_deref().unwrap_or("(none)")
    ));
    let version = match pending(&before) {
        // Secrets Manager refuses a new rotation while one is pending and retries that one itself.
        Some(p) => {
            say(&format!(
                "version {p} is already AWSPENDING: a rotation is unfinished and Secrets Manager retries it; \
                 following that one"
            ));
            Some(p)
        }
        None => {
            let started = sm.rotate_secret().secret_id(secret).send().await.map_err(|e| {
                OpsError::RotateRefused(format!(
                    "RotateSecret refused: {}",
                    ops_shared::error::sdk_message(&e)
                ))
            })?;
            let v = started.version_id().map(str::to_string);
            say(&format!(
                "rotation started: new version {}",
                v.as_deref().unwrap_or("(not said)")
            ));
            v
        }
    };
    let Some((every, timeout)) = wait else {
        return Ok(Outcome::Started { version });
    };
    // Past this point the rotation runs: a failed look is said and the looking goes on.
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    let (mut seen_pending, mut said_elsewhere, mut last) = (None::<String>, None::<String>, None);
    loop {
        match describe(sm, secret).await {
            Ok((stages, _, _)) => {
                if let Some(to) = finished(&stages, version.as_deref(), from.as_deref()) {
                    say(&format!("AWSCURRENT moved to version {to}: rotated"));
                    return Ok(Outcome::Rotated { from, to });
                }
                if let Some(p) = pending(&stages).filter(|p| seen_pending.as_ref() != Some(p)) {
                    say(&format!(
                        "version {p} is AWSPENDING: the rotator is creating, setting and testing it"
                    ));
                    seen_pending = Some(p);
                }
                let current = holding(&stages, "AWSCURRENT");
                if current != from && current != said_elsewhere {
                    say(&format!(
                        "AWSCURRENT moved to version {}, not to this rotation's {}: somebody else changed the secret",
                        current.as_deref().unwrap_or("(none)"),
                        version.as_deref().unwrap_or("(unknown)")
                    ));
                    said_elsewhere = current.clone();
                }
                last = Some((current, pending(&stages)));
            }
            Err(e) => say(&format!("could not look at the stages ({e}); looking again")),
        }
        let now = Instant::now();
        if now >= deadline {
            let (current, left) = last.unwrap_or((from.clone(), None));
            let left = match left {
                Some(p) => format!("version {p} is still AWSPENDING"),
                None => "no version is AWSPENDING".into(),
            };
            return Err(OpsError::Rotate(format!(
                "{secret} did not rotate within {}s: AWSCURRENT is still {}, {left}. AWSCURRENT's value is \
                 unchanged, but a single-user database may already hold the AWSPENDING password (after \
                 setSecret): read the secret-rotator's log group for the failed step; Secrets Manager \
                 retries the rotation",
                timeout.as_secs(),
                current.as_deref().unwrap_or("(none)")
            )));
        }
        tokio::time::sleep(every.min(deadline - now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(pairs: &[(&str, &[&str])]) -> Stages {
        pairs
            .iter()
            .map(|(v, l)| (v.to_string(), l.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn only_this_rotations_version_becoming_current_is_rotated() {
        let mid = stages(&[("v1", &["AWSCURRENT"]), ("v2", &["AWSPENDING"])]);
        assert_eq!(pending(&mid), Some("v2".into()));
        assert_eq!(finished(&mid, Some("v2"), Some("v1")), None);
        let done = stages(&[("v1", &["AWSPREVIOUS"]), ("v2", &["AWSCURRENT", "AWSPENDING"])]);
        assert_eq!(
            pending(&done),
            None,
            "moto leaves AWSPENDING on the finished version"
        );
        assert_eq!(finished(&done, Some("v2"), Some("v1")), Some("v2".into()));
        // Somebody's PutSecretValue moved AWSCURRENT to v3 while v2 is pending: not rotated.
        let other = stages(&[
            ("v1", &["AWSPREVIOUS"]),
            ("v2", &["AWSPENDING"]),
            ("v3", &["AWSCURRENT"]),
        ]);
        assert_eq!(finished(&other, Some("v2"), Some("v1")), None);
        // Finished, then superseded by a later change: it did finish.
        let later = stages(&[("v2", &["AWSPREVIOUS"]), ("v3", &["AWSCURRENT"])]);
        assert_eq!(finished(&later, Some("v2"), Some("v1")), Some("v2".into()));
        assert_eq!(
            finished(&later, None, Some("v1")),
            Some("v3".into()),
            "no version said: any move"
        );
    }
}
