//! `make demo`, run whole inside `make test`: it starts a stack of its own next to the test stack,
//! seeds it, drives every function through the Runtime API and checks each step itself. This test
//! holds it to its word: exit status 0, every step in the summary, nothing left running.

use std::process::Command;

use ops_tests::repo_path;

#[test]
fn the_demo_runs_every_step_and_leaves_nothing_running() {
    // The demo starts these from the build directory: they must be this clone's current code.
    for package in [
        "alarm-forwarder",
        "secret-rotator",
        "health-checker",
        "cost-reporter",
        "cleanup-scanner",
        "pagerduty-receiver",
        "aws-proxy",
    ] {
        ops_tests::fresh::binary(package);
    }
    ops_tests::fresh::ops_cli();
    let out = Command::new(repo_path("infra/local/demo.sh"))
        .env("DEMO_QUIET", "1")
        .output()
        .expect("infra/local/demo.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "make demo failed:\n{stdout}\n{stderr}");
    for step in [
        "seed", "watch", "health", "page", "cost", "cleanup", "rotate", "status",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with("ok") && l.contains(&format!(" {step} "))),
            "the summary has no passing step {step}:\n{stdout}"
        );
    }
    assert!(stdout.contains("demo passed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let pids: Vec<String> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("processes started: "))
        .expect("the demo lists the processes it started")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(pids.len(), 6, "watch and five functions: {pids:?}");
    let alive: Vec<&String> = pids
        .iter()
        .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    assert!(alive.is_empty(), "the demo left processes running: {alive:?}");
    let watch_port = stdout
        .lines()
        .find_map(|l| l.split("cargo lambda watch on 127.0.0.1:").nth(1))
        .and_then(|rest| rest.split(',').next())
        .expect("the demo names the watch port");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", watch_port.parse::<u16>().unwrap())).is_err(),
        "cargo lambda watch still listens on {watch_port}"
    );
}
