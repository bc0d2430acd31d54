//! `ops rotate SECRET [--wait]`: starts a rotation and, with `--wait`, follows the version stages
//! until AWSCURRENT moves to a new version, or says where the rotation stopped. It never prints a
//! secret value: only version IDs and stage labels.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::error::OpsError;

/// What happened, step by step, for the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// AWSCURRENT moved from `from` to `to`.
    Rotated { from: Option<String>, to: String },
    /// Started; not followed (no `--wait`).
    Started { version: Option<String> },
}

fn stages_of(
    described: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
) -> HashMap<String, Vec<String>> {
    described.version_ids_to_stages().cloned().unwrap_or_default()
}

fn holding(stages: &HashMap<String, Vec<String>>, label: &str) -> Option<String> {
    stages
        .iter()
        .find(|(_, labels)| labels.iter().any(|l| l == label))
        .map(|(v, _)| v.clone())
}

/// A pending version that is not also the current one (Secrets Manager's state mid-rotation).
fn pending(stages: &HashMap<String, Vec<String>>) -> Option<String> {
    stages
        .iter()
        .find(|(_, labels)| {
            labels.iter().any(|l| l == "AWSPENDING") && !labels.iter().any(|l| l == "AWSCURRENT")
        })
        .map(|(v, _)| v.clone())
}

fn aws(what: &'static str) -> impl Fn(String) -> OpsError {
    move |reason| OpsError::Aws { what, reason }
}

/// Starts the rotation; with `wait`, polls DescribeSecret every `every` until AWSCURRENT moves,
/// or fails after `timeout` naming the version left pending and where to look.
pub async fn rotate(
    sm: &aws_sdk_secretsmanager::Client,
    secret: &str,
    wait: Option<(Duration, Duration)>,
    say: &mut dyn FnMut(&str),
) -> Result<Outcome, OpsError> {
    let message = |e: &dyn std::error::Error| ops_shared::error::chain(e);
    let before = sm
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| aws("the secret")(message(&e)))?;
    if !before.rotation_enabled().unwrap_or(false) && before.rotation_lambda_arn().is_none() {
        return Err(OpsError::RotateRefused(format!(
            "{secret} has no rotation configured: give it the secret-rotator (RotateSecret with RotationLambdaARN) first"
        )));
    }
    let from = holding(&stages_of(&before), "AWSCURRENT");
    say(&format!(
        "AWSCURRENT is version {}",
        from.as_deref().unwrap_or("(none)")
    ));
    let started = sm.rotate_secret().secret_id(secret).send().await.map_err(|e| {
        OpsError::RotateRefused(format!(
            "RotateSecret refused: {}",
            ops_shared::error::sdk_message(&e)
        ))
    })?;
    let version = started.version_id().map(str::to_string);
    say(&format!(
        "rotation started: new version {}",
        version.as_deref().unwrap_or("(not said)")
    ));
    let Some((every, timeout)) = wait else {
        return Ok(Outcome::Started { version });
    };
    let deadline = Instant::now() + timeout;
    let mut seen_pending = None;
    loop {
        let now = sm
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| aws("the secret")(message(&e)))?;
        let stages = stages_of(&now);
        let current = holding(&stages, "AWSCURRENT");
        if let Some(p) = pending(&stages) {
            if seen_pending.as_deref() != Some(p.as_str()) {
                say(&format!(
                    "version {p} is AWSPENDING: the rotator is creating, setting and testing it"
                ));
                seen_pending = Some(p);
            }
        }
        if let Some(to) = current.clone().filter(|c| Some(c) != from.as_ref()) {
            say(&format!("AWSCURRENT moved to version {to}: rotated"));
            return Ok(Outcome::Rotated { from, to });
        }
        if Instant::now() >= deadline {
            let left = match &seen_pending {
                Some(p) => format!("version {p} is still AWSPENDING"),
                None => "no version became AWSPENDING".into(),
            };
            return Err(OpsError::Rotate(format!(
                "{secret} did not rotate within {}s: AWSCURRENT is still {}, {left}. Read the \
                 secret-rotator's log group for the failed step; the old credentials still work",
                timeout.as_secs(),
                current.as_deref().unwrap_or("(none)")
            )));
        }
        tokio::time::sleep(every).await;
    }
}
