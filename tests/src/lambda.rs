//! A function running behind the real Lambda Runtime API of `cargo lambda watch`, driven with
//! `cargo lambda invoke` exactly as Lambda would drive it.
//!
//! `cargo lambda watch --only-lambda-apis` serves the Runtime API; the function's own binary, built
//! by `make test` before the tests run and proved fresh by [`crate::fresh`], polls it, as it would
//! in Lambda. Starting the binary
//! ourselves (rather than letting watch compile it) keeps a second cargo build from waiting on the
//! lock of the one running the tests.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One function behind its own Runtime API emulator.
pub struct Function {
    name: String,
    port: u16,
    watch: Child,
    function: Child,
    dir: PathBuf,
}

/// The result of one `cargo lambda invoke`.
#[derive(Debug)]
pub struct Invocation {
    pub ok: bool,
    /// The function's response (JSON) when it succeeded.
    pub output: String,
    /// What `cargo lambda invoke` printed on failure: the error type and message, on one line.
    pub error: String,
}

/// `cargo lambda invoke` prints an error as a box wrapped at 80 columns (`× first line`, `│ more`),
/// which would split any phrase a test looks for. Puts it back on one line: a break after a hyphen
/// joins as is (the wrapper breaks words there), any other break is the one space it replaced.
fn unwrap_box(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line
            .trim_start()
            .trim_start_matches(['×', '│', '╰', '─', '▶'])
            .trim();
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() && !out.ends_with('-') {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

impl Invocation {
    /// The invocation failed as a call AWS kept throttling should fail it: retryably, naming the
    /// operation, saying that AWS throttled it, with the service's own error code.
    pub fn assert_throttled(&self, operation: &str, code: &str) {
        assert!(!self.ok, "a throttled invocation must fail: {}", self.output);
        assert!(
            self.error.contains("Retryable") && !self.error.contains("NonRetryable"),
            "a throttle is retryable: {}",
            self.error
        );
        for part in [operation, "AWS throttled the request", code] {
            assert!(
                self.error.contains(part),
                "the error names {part}: {}",
                self.error
            );
        }
    }

    pub fn json(&self) -> serde_json::Value {
        assert!(self.ok, "the invocation failed: {}", self.error);
        serde_json::from_str(&self.output).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.output))
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a local address").port()
}

fn wait_for_port(port: u16, what: &str, log: &PathBuf) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} did not listen on port {port} within 30 s:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Function {
    /// Starts `package`'s binary behind a fresh `cargo lambda watch`, with the stack's environment
    /// plus `env`.
    pub fn start(package: &str, env: &[(&str, &str)]) -> Self {
        let binary = crate::fresh::binary(package);
        let dir = std::env::temp_dir().join(crate::unique(&format!("lambda-{package}")));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let port = free_port();
        let watch_log = dir.join("watch.log");
        let watch = Command::new("cargo")
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(crate::repo_path("tests"))
            .stdin(Stdio::null())
            .stdout(File::create(&watch_log).expect("watch log"))
            .stderr(File::create(dir.join("watch.err")).expect("watch log"))
            .spawn()
            .expect("`cargo lambda` runs: it is installed by `make setup` into .venv/bin, which make puts on PATH");
        wait_for_port(port, "cargo lambda watch", &dir.join("watch.err"));

        let log = dir.join("function.log");
        let function = Command::new(&binary)
            .env("AWS_LAMBDA_FUNCTION_NAME", package)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{package}"),
            )
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("function log"))
            .stderr(File::create(dir.join("function.err")).expect("function log"))
            .spawn()
            .expect("the function binary starts");
        Self {
            name: package.to_string(),
            port,
            watch,
            function,
            dir,
        }
    }

    /// The Lambda Invoke API `cargo lambda watch` serves for this function (an SDK's endpoint).
    pub fn invoke_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `cargo lambda invoke NAME --data-file FILE`, FILE relative to the repository root.
    pub fn invoke_file(&self, file: &str) -> Invocation {
        let path = crate::repo_path(file);
        self.invoke(&["--data-file", path.to_str().expect("a UTF-8 path")])
    }

    /// `cargo lambda invoke NAME --data-ascii JSON`.
    pub fn invoke_json(&self, payload: &serde_json::Value) -> Invocation {
        self.invoke(&["--data-ascii", &payload.to_string()])
    }

    fn invoke(&self, data: &[&str]) -> Invocation {
        let out = Command::new("cargo")
            .args(["lambda", "invoke", &self.name, "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string(), "--output-format", "json"])
            .args(data)
            .current_dir(crate::repo_path("tests"))
            .stdin(Stdio::null())
            .output()
            .expect("`cargo lambda invoke` runs");
        Invocation {
            ok: out.status.success(),
            output: String::from_utf8_lossy(&out.stdout).into_owned(),
            error: unwrap_box(&String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// Everything the function and the emulator printed so far.
    pub fn logs(&self) -> String {
        ["function.log", "function.err", "watch.log", "watch.err"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.watch.kill();
        let _ = self.function.wait();
        let _ = self.watch.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::unwrap_box;

    #[test]
    fn a_wrapped_error_box_reads_as_one_line() {
        let printed = "Error: Retryable\n\n  × Secrets Manager GetSecretValue on arn:aws:secretsmanager:us-east-\n  │ 1:123:secret:x failed: AWS throttled\n  │ the request\n";
        assert_eq!(
            unwrap_box(printed),
            "Error: Retryable Secrets Manager GetSecretValue on arn:aws:secretsmanager:us-east-1:123:secret:x failed: AWS throttled the request"
        );
    }
}
