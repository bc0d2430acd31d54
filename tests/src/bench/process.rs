//! A function process under measurement: started against a [`RuntimeApi`], timed from spawn to its
//! first response, then asked for its peak RSS and CPU time from `/proc`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use super::cgroup::CpuLimit;
use super::runtime::RuntimeApi;

pub struct Running {
    pub child: Child,
    pub cold_start: Duration,
    /// Process start to its first poll of `invocation/next`: configuration and client setup alone.
    pub init: Option<Duration>,
    pub first: Result<Value, String>,
}

/// The variables Lambda gives every function; lambda_runtime refuses to start without them.
fn lambda_env(cmd: &mut Command, api: &RuntimeApi, name: &str) {
    cmd.env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8");
}

/// Queues `event`, starts `program args` with `env` and Lambda's variables alone, and waits for
/// the first response: the cold start.
pub async fn start(
    api: &RuntimeApi,
    name: &str,
    program: &Path,
    args: &[&str],
    env: &[(String, String)],
    event: &Value,
) -> Running {
    start_in(None, api, name, program, args, env, event).await
}

/// [`start`], the process limited to `limit`'s CPU share from right after it is spawned.
pub async fn start_in(
    limit: Option<&CpuLimit>,
    api: &RuntimeApi,
    name: &str,
    program: &Path,
    args: &[&str],
    env: &[(String, String)],
    event: &Value,
) -> Running {
    let pending = api.queue(event);
    let mut cmd = Command::new(program);
    // Only what Lambda would give it: the machine's own variables (SSL_CERT_FILE, SSL_CERT_DIR,
    // AWS_CA_BUNDLE on this one) would make either language read files Lambda never has it read.
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    lambda_env(&mut cmd, api, name);
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    if let (Some(limit), Some(pid)) = (limit, child.id()) {
        if let Err(e) = limit.enter(pid) {
            panic!("{e}");
        }
    }
    let first = pending.reply(Duration::from_secs(120)).await;
    let cold_start = started.elapsed();
    Running {
        child,
        cold_start,
        init: api.first_poll().map(|t| t.saturating_duration_since(started)),
        first,
    }
}

impl Running {
    fn proc_file(&self, file: &str) -> String {
        let pid = self.child.id().expect("the function is running");
        std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default()
    }

    /// Peak resident memory so far, in bytes (VmHWM).
    pub fn peak_rss(&self) -> u64 {
        self.proc_file("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    }

    /// User plus system CPU time so far.
    pub fn cpu(&self) -> Duration {
        let stat = self.proc_file("stat");
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of /proc/PID/stat, i.e. 11 and 12 after the name.
        let hz = 100; // USER_HZ on Linux
        Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
