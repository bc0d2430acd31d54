//! The crate's error enum, the Retryable/NonRetryable classification, and the Lambda `Diagnostic`
//! every function returns.

use std::fmt::Display;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

use crate::redact;

#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("configuration variable {var} {problem}: set it to {expected}")]
    Config {
        var: String,
        problem: String,
        expected: String,
    },

    #[error("could not publish to SNS topic {topic}: {reason} (check the topic exists and the function may sns:Publish to it)")]
    Publish {
        topic: String,
        reason: String,
        retryable: bool,
    },

    #[error("could not put {count} metric datapoints to CloudWatch namespace {namespace}: {reason} (check cloudwatch:PutMetricData permission)")]
    PutMetrics {
        namespace: String,
        count: usize,
        reason: String,
        retryable: bool,
    },
}

impl SharedError {
    pub(crate) fn config(var: &str, problem: impl Into<String>, expected: impl Into<String>) -> Self {
        Self::Config {
            var: var.to_string(),
            problem: problem.into(),
            expected: expected.into(),
        }
    }
}

/// Whether trying the same thing again later can succeed.
pub trait Retryable {
    fn retryable(&self) -> bool;
}

impl Retryable for SharedError {
    fn retryable(&self) -> bool {
        match self {
            Self::Config { .. } => false,
            Self::Publish { retryable, .. } | Self::PutMetrics { retryable, .. } => *retryable,
        }
    }
}

/// `error_type` of a Lambda error that a retry may fix (throttling, timeouts, 5xx, network).
pub const RETRYABLE: &str = "Retryable";
/// `error_type` of a Lambda error that needs a person (bad config, bad input, missing permission).
pub const NON_RETRYABLE: &str = "NonRetryable";

/// Turns any error of ours into the `Diagnostic` Lambda reports, with secrets redacted.
pub fn diagnostic<E: Display + Retryable>(error: &E) -> Diagnostic {
    Diagnostic {
        error_type: if error.retryable() {
            RETRYABLE
        } else {
            NON_RETRYABLE
        }
        .to_string(),
        error_message: redact::redact(&error.to_string()).into_owned(),
    }
}

impl From<SharedError> for Diagnostic {
    fn from(error: SharedError) -> Self {
        diagnostic(&error)
    }
}

/// Error codes AWS services use when they throttle a caller.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
];

/// Error codes of transient faults other than throttling. `LimitExceededException` is Cost
/// Explorer's throttle but other services' quota error; the SDK retries it either way.
const TRANSIENT_CODES: &[&str] = &[
    "LimitExceededException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServiceError",
    "InternalServiceErrorException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Whether an AWS SDK error is worth retrying: network failures, timeouts, throttling and 5xx are;
/// validation, not-found and access-denied are not.
pub fn sdk_retryable<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ConstructionFailure(_) => false,
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code)),
        _ => false,
    }
}

/// A one-line description of an AWS SDK error: the service's code and message where there is one,
/// the whole cause chain otherwise (the SDK's own `Display` says only "service error"). A throttle
/// says so in words, since the SDK has already retried it: the operator should not go looking for
/// a permission or a missing resource.
pub fn sdk_message<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    sdk_message_with(error, &[])
}

/// [`sdk_message`] for a service that throttles with a code of its own as well (Cost Explorer's
/// `LimitExceededException`).
pub fn sdk_message_with<E, R>(error: &SdkError<E, R>, throttling: &[&str]) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = error {
        let err = service.err();
        let text = match (err.code(), err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_string(),
            // An answer that is not AWS's (an HTML error page from a proxy or an emulator): its
            // causes on one line, without the raw response the full context would print.
            _ => return chain(error),
        };
        if err
            .code()
            .is_some_and(|code| THROTTLING_CODES.contains(&code) || throttling.contains(&code))
        {
            return format!(
                "AWS throttled the request ({text}) and the SDK's retries did not get through; \
                 a later invocation tries again"
            );
        }
        return text;
    }
    with_tls_hint(aws_smithy_types::error::display::DisplayErrorContext(error).to_string())
}

/// A certificate signed by a CA the client does not know (rustls' `UnknownIssuer`: a proxy that
/// re-signs TLS) is a deployment's fix, not AWS's: say which one. Other certificate errors (a name
/// that does not match, an expired certificate) have other causes and get no hint.
fn with_tls_hint(text: String) -> String {
    if !text.contains("UnknownIssuer") {
        return text;
    }
    format!(
        "{text} (the AWS endpoint's certificate is not trusted: the functions trust the Mozilla roots \
         compiled in and AWS_CA_BUNDLE, not the system store or SSL_CERT_FILE; behind a proxy that \
         re-signs TLS, set AWS_CA_BUNDLE to a PEM file of its CA: docs/deploy.md, \"TLS to AWS\")"
    )
}

/// An error and every cause under it on one line (`a: b: c`): client errors often say only
/// "error sending request" at the top and keep the reason in their sources.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn an_untrusted_certificate_says_where_trust_comes_from() {
        let hinted =
            with_tls_hint("dispatch failure: io error: invalid peer certificate: UnknownIssuer".into());
        assert!(hinted.contains("set AWS_CA_BUNDLE"), "{hinted}");
        for other in [
            "dispatch failure: io error: Connection refused (os error 111)",
            "dispatch failure: io error: invalid peer certificate: certificate not valid for name \"a.b.s3.amazonaws.com\"",
            "dispatch failure: io error: invalid peer certificate: certificate expired",
        ] {
            assert_eq!(with_tls_hint(other.into()), other);
        }
    }

    #[test]
    fn chains_put_every_cause_on_one_line() {
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(chain(&e), "outer: connection refused");
    }

    #[test]
    fn config_errors_are_not_retryable_and_say_what_to_set() {
        let err = SharedError::config("ALARM_TOPIC_ARN", "is not set", "the ARN of the alarms topic");
        let d = diagnostic(&err);
        assert_eq!(d.error_type, NON_RETRYABLE);
        assert_eq!(
            d.error_message,
            "configuration variable ALARM_TOPIC_ARN is not set: set it to the ARN of the alarms topic"
        );
    }

    #[test]
    fn transient_failures_map_to_retryable() {
        let err = SharedError::Publish {
            topic: "arn:aws:sns:us-east-1:1:reports".into(),
            reason: "Throttling".into(),
            retryable: true,
        };
        assert_eq!(diagnostic(&err).error_type, RETRYABLE);
        let d: Diagnostic = err.into();
        assert_eq!(d.error_type, RETRYABLE);
    }

    fn service_error(
        code: &str,
    ) -> SdkError<aws_sdk_sns::operation::publish::PublishError, aws_smithy_runtime_api::http::Response> {
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message("Rate exceeded")
            .build();
        let raw = aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(aws_sdk_sns::operation::publish::PublishError::generic(meta), raw)
    }

    #[test]
    fn a_throttle_says_aws_throttled_and_is_retryable() {
        for code in ["Throttling", "ThrottlingException", "TooManyRequestsException"] {
            let err = service_error(code);
            let text = sdk_message(&err);
            assert!(text.starts_with("AWS throttled the request"), "{text}");
            assert!(text.contains(&format!("{code}: Rate exceeded")), "{text}");
            assert!(sdk_retryable(&err), "{code}");
        }
        // A quota in most services, a throttle in Cost Explorer: said so only where it is one.
        let limit = service_error("LimitExceededException");
        assert_eq!(sdk_message(&limit), "LimitExceededException: Rate exceeded");
        assert!(sdk_message_with(&limit, &["LimitExceededException"]).starts_with("AWS throttled"));
        assert!(sdk_retryable(&limit));
        let other = service_error("ValidationError");
        assert_eq!(sdk_message(&other), "ValidationError: Rate exceeded");
        assert!(!sdk_retryable(&other));
    }

    #[test]
    fn diagnostics_never_carry_a_registered_secret() {
        redact::register("diag-secret-value-42");
        let err = SharedError::Publish {
            topic: "t".into(),
            reason: "server said diag-secret-value-42 was wrong".into(),
            retryable: false,
        };
        let d = diagnostic(&err);
        assert!(
            !d.error_message.contains("diag-secret-value-42"),
            "{}",
            d.error_message
        );
        assert!(d.error_message.contains(redact::MASK));
    }
}
