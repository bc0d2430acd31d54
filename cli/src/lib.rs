//! `ops`: one command for the state of the account. Reads what the functions leave in AWS (alarms,
//! their tags and descriptions, metrics, secret rotation dates) and runs the health-checker's
//! probes on demand; the functions know nothing of it.

pub mod cleanup;
pub mod cost;
pub mod error;
pub mod health;
pub mod read;
pub mod remote;
pub mod render;
pub mod rotate;
pub mod status;

use std::path::Path;

pub use error::OpsError;
use status::{Readings, Status};

/// Reads every section (each on its own: one failing is reported, not fatal) and judges. The cost
/// section comes from the cost-reporter's metrics, or with `live` from Cost Explorer (at most
/// three requests, $0.01 each, said in the section).
pub async fn run_status(prefix: &str, live: bool) -> Status {
    let aws = ops_shared::aws::load_for_people().await;
    let cw = aws_sdk_cloudwatch::Client::new(&aws);
    let sm = aws_sdk_secretsmanager::Client::new(&aws);
    let now = chrono::Utc::now();
    let cost = async {
        let source = if live { "live" } else { "metrics" };
        let read = if live {
            cost::live(&aws).await
        } else {
            cost::from_metrics(&cw).await
        };
        // A section that could not be read still says where it looked.
        read.map_err(|e| format!("{e} (from {source})"))
    };
    let (checks, alarms, secrets, cleanup, cost) = tokio::join!(
        read::checks(&cw, prefix),
        read::alarms(&cw),
        read::secrets(&sm, now),
        read::cleanup(&cw),
        cost
    );
    status::judge(
        Readings {
            checks,
            alarms,
            secrets,
            cleanup,
            cost,
        },
        prefix,
        now,
    )
}

/// A function's variables from this environment (those named `prefix*`, and `also`), for running
/// its code here, with `REPORT_TOPIC_ARN` set to a topic nothing is ever sent to (the functions
/// require it; `ops` mails nothing). A variable that is not UTF-8 is not one of ours: skipped.
pub fn function_vars(prefix: &str, also: &[&str]) -> std::collections::BTreeMap<String, String> {
    let mut vars: std::collections::BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(prefix) || also.contains(&k.as_str()))
        .collect();
    vars.insert(
        "REPORT_TOPIC_ARN".into(),
        "arn:aws:sns:us-east-1:000000000000:not-sent".into(),
    );
    vars
}

/// The exit code of a health run, here or remote: 0 only when something was checked and all of
/// it is healthy, 1 when a check is unhealthy, 3 otherwise (nothing matched, a check not judged).
pub fn health_exit(unhealthy: usize, healthy: usize, checked: usize) -> u8 {
    if unhealthy > 0 {
        1
    } else if checked == 0 || healthy < checked {
        3
    } else {
        0
    }
}

/// `--save DIR`: the text and the JSON, side by side, named by the UTC time.
pub fn save(dir: &Path, status: &Status, text: &str, json: &str) -> Result<(), OpsError> {
    let stamp = status.generated_at.format("%Y%m%dT%H%M%SZ");
    save_pair(dir, &format!("status-{stamp}"), text, json)
}

/// `<stem>.txt` and `<stem>.json` in `dir`, made if need be.
pub fn save_pair(dir: &Path, stem: &str, text: &str, json: &str) -> Result<(), OpsError> {
    std::fs::create_dir_all(dir).map_err(|e| OpsError::Save {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    for (ext, body) in [("txt", text), ("json", json)] {
        let path = dir.join(format!("{stem}.{ext}"));
        std::fs::write(&path, body).map_err(|e| OpsError::Save {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}
