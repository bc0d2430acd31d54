//! Tracing set up the way Lambda's logging controls say, with every registered secret masked.
//!
//! - `AWS_LAMBDA_LOG_FORMAT=JSON` (set by the function's `LoggingConfig`) gives one JSON object per
//!   line for CloudWatch Logs Insights; anything else gives plain text.
//! - `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) sets the level; when it is unset,
//!   `RUST_LOG` (with its per-module directives) does; the default is INFO.
//! - Lines carry no timestamp of our own in text form: CloudWatch stamps every line already.

use std::io::{self, Write};

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::Vars;
use crate::redact;

/// Line format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What [`init`] reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `warn,health_checker=debug`.
    pub filter: String,
}

/// Noisy dependencies held to WARN unless a directive names them; their INFO lines are about
/// connection pools and credential caches, not about what the function did.
const QUIET: &str = "aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_smithy_http=warn,aws_smithy_http_client=warn,aws_smithy_types=warn,aws_sdk_secretsmanager=warn,tokio_postgres=warn,hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,rustls=warn";
/// Appended to a `RUST_LOG` that can turn TRACE on: at TRACE the SDK's HTTP layers print whole
/// response bodies (a GetSecretValue body holds the secret before any code of ours can register it),
/// the Lambda runtime prints each raw event (a rotation event holds its RotationToken), and
/// tokio-postgres prints statement parameters at DEBUG.
const NEVER_TRACE: &str = "lambda_runtime=debug,aws_smithy_runtime=debug,aws_smithy_runtime_api=debug,aws_smithy_http=debug,aws_smithy_http_client=debug,aws_smithy_types=debug,aws_sdk_secretsmanager=debug,tokio_postgres=info,hyper=debug,hyper_util=debug,h2=debug,reqwest=debug";

impl LogSettings {
    pub fn from_vars(vars: &Vars) -> Self {
        let format = match vars.optional("AWS_LAMBDA_LOG_FORMAT") {
            Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let filter = match (vars.optional("AWS_LAMBDA_LOG_LEVEL"), vars.optional("RUST_LOG")) {
            (Some(level), _) => match lambda_level(&level) {
                "trace" => format!("trace,{NEVER_TRACE}"),
                level => format!("{level},{QUIET}"),
            },
            // Appended only where TRACE could be on: these directives would raise, not cap, a
            // quieter setting.
            (None, Some(directives)) if directives.to_ascii_lowercase().contains("trace") => {
                format!("{directives},{NEVER_TRACE}")
            }
            (None, Some(directives)) => directives,
            (None, None) => format!("info,{QUIET}"),
        };
        Self { format, filter }
    }
}

fn lambda_level(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        // Rust has no FATAL: ERROR is the closest that still shows the fatal lines.
        "ERROR" | "FATAL" => "error",
        _ => "info",
    }
}

/// Installs the global subscriber from the process environment. Safe to call twice (the second
/// call does nothing), so tests and `main` can both call it.
pub fn init() {
    let settings = LogSettings::from_vars(&Vars::from_env());
    let _ = tracing::subscriber::set_global_default(subscriber(&settings, io::stdout));
}

/// Builds a subscriber for `settings` that writes through `writer`, masking registered secrets.
pub fn subscriber<W>(settings: &LogSettings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = Redacting(writer);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer);
    match settings.format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Text => Box::new(builder.without_time().finish()),
    }
}

/// A `MakeWriter` whose writers hold each formatted line and mask secrets before passing it on.
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            line: Vec::new(),
        }
    }
}

/// The fmt layer writes one event per writer; the event is complete when the writer is dropped.
struct RedactingWriter<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let clean = redact::redact(&text);
        // A log line that cannot be written has nowhere better to go.
        let _ = self.inner.write_all(clean.as_bytes());
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> LogSettings {
        LogSettings::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn capture(settings: &LogSettings, f: impl FnOnce()) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let sub = subscriber(settings, move || writer.clone());
        tracing::subscriber::with_default(sub, f);
        out.text()
    }

    #[test]
    fn defaults_are_text_at_info() {
        let s = settings(&[]);
        assert_eq!(s.format, LogFormat::Text);
        assert!(s.filter.starts_with("info,"));
    }

    #[test]
    fn trace_never_reaches_the_layers_that_print_raw_bodies_and_events() {
        let filter = settings(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")]).filter;
        assert!(
            filter.starts_with("trace,") && filter.contains("lambda_runtime=debug"),
            "{filter}"
        );
        let filter = settings(&[("RUST_LOG", "info,secret_rotator=trace")]).filter;
        assert!(
            filter.contains("lambda_runtime=debug") && filter.contains("tokio_postgres=info"),
            "{filter}"
        );
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "trace")]);
        assert!(s.filter.starts_with("debug,"), "{}", s.filter);
        assert!(settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")])
            .filter
            .starts_with("error,"));
    }

    #[test]
    fn rust_log_directives_are_used_when_lambda_sets_no_level_but_never_trace_sdk_bodies() {
        let quiet = settings(&[("RUST_LOG", "warn,alarm_forwarder=debug")]).filter;
        assert_eq!(
            quiet, "warn,alarm_forwarder=debug",
            "nothing is raised above what was asked"
        );
        let loud = settings(&[("RUST_LOG", "trace")]).filter;
        assert!(
            loud.starts_with("trace,") && loud.contains("aws_smithy_runtime=debug"),
            "{loud}"
        );
    }

    #[test]
    fn json_format_writes_one_json_object_per_line() {
        let s = settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
        assert_eq!(s.format, LogFormat::Json);
        let out = capture(&s, || tracing::info!(alarm = "db-cpu", "forwarded"));
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "forwarded");
        assert_eq!(line["alarm"], "db-cpu");
    }

    #[test]
    fn level_filter_drops_lines_below_it() {
        let out = capture(&settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]), || {
            tracing::info!("chatty");
            tracing::warn!("important");
        });
        assert!(!out.contains("chatty"));
        assert!(out.contains("important"));
    }

    #[test]
    fn registered_secrets_never_reach_a_log_line() {
        let key = "0123456789abcdef0123456789abcdef";
        redact::register(key);
        for format in ["JSON", "TEXT"] {
            let out = capture(&settings(&[("AWS_LAMBDA_LOG_FORMAT", format)]), || {
                tracing::error!(routing_key = key, "sending with {key} and {:?}", key);
            });
            assert!(!out.contains(key), "{format}: {out}");
            assert!(out.contains(redact::MASK), "{format}: {out}");
        }
    }
}
