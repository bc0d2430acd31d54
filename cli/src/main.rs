//! `ops`: wiring only. Argument parsing, then one of the commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ops_cli::{cleanup, cost, health, health_exit, remote, render, rotate, run_status, save, save_pair};

#[derive(Parser)]
#[command(
    name = "ops",
    version,
    about = "The state of the account from a terminal: status, on-demand health checks, the cost digest"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole picture: verdict, health matrix, alarms in ALARM, secrets. Exit code 0 healthy,
    /// 1 degraded, 2 down, 3 could not tell.
    Status {
        /// Print one JSON document instead of tables.
        #[arg(long)]
        json: bool,
        /// Also write status-<UTC timestamp>.txt and .json into this directory.
        #[arg(long, value_name = "DIR")]
        save: Option<PathBuf>,
        /// The health-checker's alarm prefix.
        #[arg(long, env = "ALARM_PREFIX", default_value = "ops-lambdas-health-")]
        prefix: String,
        /// Cost from Cost Explorer now (at most 3 requests, $0.01 each) instead of the
        /// cost-reporter's last published figures.
        #[arg(long)]
        live: bool,
    },
    /// Start a secret's rotation; with --wait, follow its version stages until AWSCURRENT moves
    /// (exit 0) or the time is up (exit 1, saying where it stopped). Prints no secret value.
    Rotate {
        /// The secret's name or ARN.
        secret: String,
        /// Follow the rotation until AWSCURRENT moves to the new version.
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this many seconds.
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        timeout: u64,
        /// With --wait: seconds between looks at the version stages.
        #[arg(long, default_value_t = 5, value_name = "SECONDS")]
        interval: u64,
    },
    /// The cleanup-scanner's rules, in report mode only.
    Cleanup {
        #[command(subcommand)]
        action: CleanupAction,
    },
    /// Print the cost digest the cost-reporter would send, from Cost Explorer now, sending
    /// nothing (its footer gives the requests made, $0.01 each). Reads the COST_* variables.
    Cost {
        /// daily, weekly or monthly; default: COST_PERIOD, else daily.
        #[arg(long, value_parser = ["daily", "weekly", "monthly"])]
        period: Option<String>,
        /// Print the report's JSON instead of the text.
        #[arg(long)]
        json: bool,
    },
    /// Run checks now from this machine with the health-checker's probes (publishes nothing,
    /// touches no alarm), or with --remote in the deployed function. Exit code 1 when a check fails.
    Health {
        /// Only checks of this kind (http, tcp, dns, tls, ecs); repeatable.
        #[arg(long = "only", value_name = "KIND")]
        kinds: Vec<String>,
        /// Only checks of this group; repeatable.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Only checks whose name matches this glob; repeatable.
        #[arg(long = "name", value_name = "GLOB")]
        names: Vec<String>,
        /// The check list (JSON or YAML); default: HEALTH_CHECKS from the environment.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Print the health-checker's JSON result instead of a table.
        #[arg(long)]
        json: bool,
        /// Invoke the deployed health-checker with a component run of these filters instead
        /// (it creates and deletes no alarm, but publishes its checks' metrics as any run does) and
        /// print its answer.
        #[arg(long, conflicts_with = "file")]
        remote: bool,
        /// With --remote: the function's name or ARN; default HEALTH_CHECKER_FUNCTION, else
        /// ops-lambdas-health-checker.
        #[arg(long, requires = "remote", value_name = "NAME")]
        function: Option<String>,
    },
}

#[derive(Subcommand)]
enum CleanupAction {
    /// Run every rule in report mode from this machine and print the report; never marks,
    /// deletes or publishes anything. Reads the CLEANUP_* variables.
    Scan {
        /// A region to scan; repeatable. Default: CLEANUP_REGIONS, else the profile's region.
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// The rules' settings as the scanner's event takes them, a JSON file such as
        /// {"secret-unused": {"days": 30}}.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Print the report's JSON instead of the text.
        #[arg(long)]
        json: bool,
        /// Also write cleanup-<UTC timestamp>.txt and .json into this directory.
        #[arg(long, value_name = "DIR")]
        save: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // A mistyped flag must not read as "down" (clap's own exit code for usage errors is 2).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    match cli.command {
        Command::Status {
            json,
            save: dir,
            prefix,
            live,
        } => {
            let status = run_status(&prefix, live).await;
            let text = render::status(&status);
            let doc = serde_json::to_string_pretty(&status).unwrap_or_default();
            print!("{}", if json { format!("{doc}\n") } else { text.clone() });
            // A failed save is said, but the verdict's exit code stands.
            if let Some(dir) = dir {
                if let Err(e) = save(&dir, &status, &text, &doc) {
                    eprintln!("ops: {e}");
                }
            }
            ExitCode::from(status.overall.exit_code() as u8)
        }
        Command::Cleanup {
            action:
                CleanupAction::Scan {
                    regions,
                    rules,
                    json,
                    save: dir,
                },
        } => {
            let rules = match rules.map(|path| {
                std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
                    .map_err(|e| format!("the rules file {} cannot be read: {e}", path.display()))
            }) {
                Some(Err(e)) => {
                    eprintln!("ops: {e}");
                    return ExitCode::from(3);
                }
                Some(Ok(v)) => Some(v),
                None => None,
            };
            let aws = ops_shared::aws::load_for_people().await;
            match cleanup::scan(&aws, &cleanup::Selection { regions, rules }).await {
                Ok(report) => {
                    let doc = serde_json::to_string_pretty(&report).unwrap_or_default();
                    print!(
                        "{}",
                        if json {
                            format!("{doc}\n")
                        } else {
                            report.text.clone()
                        }
                    );
                    if let Some(dir) = dir {
                        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
                        if let Err(e) = save_pair(&dir, &format!("cleanup-{stamp}"), &report.text, &doc) {
                            eprintln!("ops: {e}");
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ops: {e}");
                    ExitCode::from(3)
                }
            }
        }
        Command::Rotate {
            secret,
            wait,
            timeout,
            interval,
        } => {
            let aws = ops_shared::aws::load_for_people().await;
            let sm = aws_sdk_secretsmanager::Client::new(&aws);
            let follow = wait.then(|| {
                (
                    std::time::Duration::from_secs(interval.max(1)),
                    std::time::Duration::from_secs(timeout),
                )
            });
            let mut say = |line: &str| println!("{} {line}", chrono::Utc::now().format("%H:%M:%S"));
            match rotate::rotate(&sm, &secret, follow, &mut say).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(e @ ops_cli::OpsError::Rotate(_)) => {
                    eprintln!("ops: {e}");
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("ops: {e}");
                    ExitCode::from(3)
                }
            }
        }
        Command::Cost { period, json } => {
            let aws = ops_shared::aws::load_for_people().await;
            match cost::report(&aws, period.as_deref()).await {
                Ok(out) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&out.report).unwrap_or_default()
                        );
                    } else {
                        print!("Subject: {}\n\n{}", out.subject, out.text);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ops: {e}");
                    ExitCode::from(3)
                }
            }
        }
        Command::Health {
            kinds,
            groups,
            names,
            json,
            remote: true,
            function,
            ..
        } => {
            let aws = ops_shared::aws::load_for_people().await;
            let function = remote::function_name(function);
            match remote::invoke(&aws, &function, &remote::event(&kinds, &groups, &names)).await {
                Ok(answer) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
                    } else {
                        print!("{}", remote::render(&answer));
                    }
                    let count = |k: &str| answer[k].as_u64().unwrap_or(0) as usize;
                    let checked = answer["checks"].as_array().map_or(0, Vec::len);
                    ExitCode::from(health_exit(count("unhealthy"), count("healthy"), checked))
                }
                Err(e) => {
                    eprintln!("ops: {e}");
                    ExitCode::from(3)
                }
            }
        }
        Command::Health {
            kinds,
            groups,
            names,
            file,
            json,
            ..
        } => {
            let selection = health::Selection {
                kinds,
                groups,
                names,
                file,
            };
            match health::run(&selection).await {
                Ok(report) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
                    } else {
                        print!("{}", render::health(&report));
                    }
                    ExitCode::from(health_exit(report.unhealthy, report.healthy, report.checks.len()))
                }
                Err(e) => {
                    eprintln!("ops: {e}");
                    ExitCode::from(3)
                }
            }
        }
    }
}
