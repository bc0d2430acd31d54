//! Error answers in each protocol's own shape, with the codes each service really returns, so the
//! AWS SDKs parse and classify them exactly as they would AWS's (a throttle is retried as a
//! throttle, an access denial is not retried at all).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::request::{AwsRequest, Protocol};

/// What a fault answers instead of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Throttle,
    Internal,
    Unavailable,
    Deny,
}

/// The code, HTTP status and message AWS answers with, per service and failure.
fn code_of(request: &AwsRequest, failure: Failure) -> (&'static str, StatusCode, String) {
    let service = request.service.as_str();
    match failure {
        // Every one of these is in the SDKs' list of throttling codes (aws-smithy-runtime's
        // THROTTLING_ERRORS, botocore's _THROTTLED_ERROR_CODES).
        Failure::Throttle => match (service, request.protocol) {
            ("s3", _) => (
                "SlowDown",
                StatusCode::SERVICE_UNAVAILABLE,
                "Please reduce your request rate.".into(),
            ),
            ("ce", _) => (
                "LimitExceededException",
                StatusCode::BAD_REQUEST,
                "You made too many calls in a short period of time. Try again later.".into(),
            ),
            ("tagging", _) => (
                "ThrottledException",
                StatusCode::BAD_REQUEST,
                "Rate exceeded".into(),
            ),
            (_, Protocol::Query) => ("Throttling", StatusCode::BAD_REQUEST, "Rate exceeded".into()),
            _ => (
                "ThrottlingException",
                StatusCode::BAD_REQUEST,
                "Rate exceeded".into(),
            ),
        },
        Failure::Internal => (
            if service == "s3" {
                "InternalError"
            } else {
                "InternalFailure"
            },
            StatusCode::INTERNAL_SERVER_ERROR,
            "The request processing has failed because of an unknown error, exception or failure.".into(),
        ),
        Failure::Unavailable => (
            "ServiceUnavailable",
            StatusCode::SERVICE_UNAVAILABLE,
            "The request has failed due to a temporary failure of the server.".into(),
        ),
        Failure::Deny => {
            let action = format!("{}:{}", iam_prefix(service), request.operation);
            let message = format!(
                "User: arn:aws:sts::123456789012:assumed-role/ops-lambdas-local/proxy is not authorized to \
                 perform: {action} because no identity-based policy allows the {action} action"
            );
            match (service, request.protocol) {
                ("sns", _) => ("AuthorizationError", StatusCode::FORBIDDEN, message),
                (_, Protocol::Json) => ("AccessDeniedException", StatusCode::BAD_REQUEST, message),
                _ => ("AccessDenied", StatusCode::FORBIDDEN, message),
            }
        }
    }
}

/// Signing names of the services whose JSON protocol is `awsQueryCompatible`.
const QUERY_COMPATIBLE: &[&str] = &["monitoring", "sns", "sqs"];

/// IAM's action prefix for a signing name (the two differ for CloudWatch).
fn iam_prefix(service: &str) -> &str {
    match service {
        "monitoring" => "cloudwatch",
        other => other,
    }
}

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// The answer AWS gives `request` when `failure` happens.
pub fn error_response(request: &AwsRequest, failure: Failure) -> Response {
    let (code, status, message) = code_of(request, failure);
    let id = request_id();
    match request.protocol {
        Protocol::Json => {
            let body = serde_json::json!({"__type": code, "message": message}).to_string();
            let content_type = request
                .content_type
                .clone()
                .unwrap_or_else(|| "application/x-amz-json-1.1".into());
            let mut response = (
                status,
                [
                    ("content-type", content_type),
                    ("x-amzn-errortype", code.to_string()),
                    ("x-amzn-requestid", id),
                ],
                body,
            )
                .into_response();
            // Services that moved from Query to JSON (CloudWatch, SNS, SQS: boto3 speaks JSON to
            // them now) keep their Query error codes in this header, and clients report that code.
            if QUERY_COMPATIBLE.contains(&request.service.as_str()) {
                let query = AwsRequest {
                    protocol: Protocol::Query,
                    ..request.clone()
                };
                let (query_code, query_status, _) = code_of(&query, failure);
                if let Ok(value) = format!("{query_code};{}", fault_of(query_status)).parse() {
                    response.headers_mut().insert("x-amzn-query-error", value);
                }
            }
            response
        }
        Protocol::Query => {
            let kind = fault_of(status);
            let body = format!(
                "<ErrorResponse xmlns=\"http://{service}.amazonaws.com/doc/\"><Error><Type>{kind}</Type>\
                 <Code>{code}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>",
                service = request.service,
                message = xml_escape(&message),
            );
            (
                status,
                [("content-type", "text/xml".to_string()), ("x-amzn-requestid", id)],
                body,
            )
                .into_response()
        }
        Protocol::RestXml => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
                 <RequestId>{id}</RequestId></Error>",
                message = xml_escape(&message),
            );
            (
                status,
                [
                    ("content-type", "application/xml".to_string()),
                    ("x-amz-request-id", id),
                ],
                body,
            )
                .into_response()
        }
    }
}

/// Whose fault a Query-protocol error is: the service's (5xx) or the caller's.
fn fault_of(status: StatusCode) -> &'static str {
    if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(service: &str, protocol: Protocol) -> AwsRequest {
        AwsRequest {
            service: service.into(),
            operation: "DoThing".into(),
            protocol,
            region: None,
            access_key: None,
            content_type: None,
        }
    }

    async fn body(r: Response) -> (StatusCode, String) {
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn throttles_use_each_services_own_code() {
        let (status, text) = body(error_response(
            &request("monitoring", Protocol::Query),
            Failure::Throttle,
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text.contains("<Code>Throttling</Code>"), "{text}");
        let (_, text) = body(error_response(
            &request("secretsmanager", Protocol::Json),
            Failure::Throttle,
        ))
        .await;
        assert!(text.contains("\"__type\":\"ThrottlingException\""), "{text}");
        let (_, text) = body(error_response(&request("ce", Protocol::Json), Failure::Throttle)).await;
        assert!(text.contains("LimitExceededException"), "{text}");
        let (status, text) = body(error_response(
            &request("s3", Protocol::RestXml),
            Failure::Throttle,
        ))
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(text.contains("<Code>SlowDown</Code>"), "{text}");
    }

    #[tokio::test]
    async fn cloudwatch_over_json_carries_its_query_code_as_boto3_expects() {
        let r = error_response(&request("monitoring", Protocol::Json), Failure::Throttle);
        assert_eq!(r.headers()["x-amzn-query-error"], "Throttling;Sender");
        let r = error_response(&request("secretsmanager", Protocol::Json), Failure::Throttle);
        assert!(r.headers().get("x-amzn-query-error").is_none());
    }

    #[tokio::test]
    async fn denials_name_the_iam_action() {
        let (status, text) = body(error_response(
            &request("monitoring", Protocol::Query),
            Failure::Deny,
        ))
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            text.contains("<Code>AccessDenied</Code>") && text.contains("cloudwatch:DoThing"),
            "{text}"
        );
        let (status, text) = body(error_response(&request("logs", Protocol::Json), Failure::Deny)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            text.contains("AccessDeniedException") && text.contains("logs:DoThing"),
            "{text}"
        );
    }
}
