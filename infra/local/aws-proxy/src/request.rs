//! What an AWS request is, read off the wire: its service and operation (`monitoring:PutMetricAlarm`),
//! its protocol (which decides the shape of an error answer), and the region and access key of its
//! SigV4 credential scope (which let a fault hit one region, or one test's requests only).

use std::io::Read;

use axum::http::{HeaderMap, Method, Uri};

/// The wire protocol of a request, as the service's API model names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0 / awsJson1_1: `X-Amz-Target`, errors as `{"__type": ...}`.
    Json,
    /// awsQuery: `Action=` in a form body, errors as `<ErrorResponse>` XML.
    Query,
    /// restXml (S3): the operation is the method and path, errors as `<Error>` XML.
    RestXml,
}

/// One request, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsRequest {
    /// The SigV4 signing name (`monitoring`, `secretsmanager`, `ce`, `logs`, `ecs`, `sns`, ...).
    pub service: String,
    /// The API's operation name (`DescribeAlarms`).
    pub operation: String,
    pub protocol: Protocol,
    pub region: Option<String>,
    pub access_key: Option<String>,
    /// The content type a JSON-protocol client sent, echoed in error answers.
    pub content_type: Option<String>,
}

impl AwsRequest {
    /// `service:Operation`, the name faults and counts use.
    pub fn name(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }
}

#[cfg(test)]
impl AwsRequest {
    /// A JSON-protocol request named `service:Operation`, signed for `region` with `access_key`.
    pub fn signed_json(name: &str, region: &str, access_key: &str) -> Self {
        let (service, operation) = name.split_once(':').expect("service:Operation");
        Self {
            service: service.into(),
            operation: operation.into(),
            protocol: Protocol::Json,
            region: Some(region.into()),
            access_key: Some(access_key.into()),
            content_type: None,
        }
    }
}

/// The credential scope of a SigV4 request (`AKID/date/region/service/aws4_request`), from the
/// Authorization header or a presigned URL's `X-Amz-Credential`.
struct Scope {
    access_key: String,
    region: String,
    service: String,
}

fn scope(headers: &HeaderMap, uri: &Uri) -> Option<Scope> {
    let from_header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split_once("Credential=").map(|(_, rest)| rest.to_string()));
    let from_query = || {
        uri.query()?
            .split('&')
            .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))
            .map(|v| v.replace("%2F", "/").replace("%2f", "/"))
    };
    let credential = from_header.or_else(from_query)?;
    let mut parts = credential.split(['/', ',', ' ']);
    let access_key = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    Some(Scope {
        access_key,
        region,
        service,
    })
}

/// The signing name for an `X-Amz-Target` prefix, for the rare unsigned JSON request.
fn service_of_target(prefix: &str) -> &str {
    match prefix {
        p if p.starts_with("AmazonEC2ContainerService") => "ecs",
        p if p.starts_with("Logs_") => "logs",
        "AWSInsightsIndexService" => "ce",
        "ResourceGroupsTaggingAPI_20170126" => "tagging",
        other => other,
    }
}

/// The body as sent, or inflated when the client gzipped it (the SDK gzips large PutMetricData).
fn inflated<'a>(headers: &HeaderMap, body: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        if flate2::read::GzDecoder::new(body).read_to_end(scratch).is_ok() {
            return scratch;
        }
        return &[];
    }
    body
}

/// The body as text, inflated when gzipped, for a capture to keep.
pub fn body_text(headers: &HeaderMap, body: &[u8]) -> String {
    let mut scratch = Vec::new();
    String::from_utf8_lossy(inflated(headers, body, &mut scratch)).into_owned()
}

/// Names an AWS request; `None` for what is not one (moto's own `/moto-api/`, unsigned calls).
pub fn identify(method: &Method, headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Option<AwsRequest> {
    let scope = scope(headers, uri);
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (region, access_key) = match &scope {
        Some(s) => (Some(s.region.clone()), Some(s.access_key.clone())),
        None => (None, None),
    };
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (prefix, operation) = target.split_once('.').unwrap_or(("", target));
        let service = match &scope {
            Some(s) => s.service.clone(),
            None => service_of_target(prefix).to_string(),
        };
        return Some(AwsRequest {
            service,
            operation: operation.to_string(),
            protocol: Protocol::Json,
            region,
            access_key,
            content_type,
        });
    }
    let scope = scope?;
    let mut scratch = Vec::new();
    let form = String::from_utf8_lossy(inflated(headers, body, &mut scratch)).into_owned();
    let action = form
        .split('&')
        .chain(uri.query().unwrap_or("").split('&'))
        .find_map(|pair| pair.strip_prefix("Action="));
    if let Some(action) = action {
        return Some(AwsRequest {
            service: scope.service,
            operation: action.to_string(),
            protocol: Protocol::Query,
            region,
            access_key,
            content_type,
        });
    }
    let operation = rest_operation(&scope.service, method, uri);
    Some(AwsRequest {
        service: scope.service,
        operation,
        protocol: Protocol::RestXml,
        region,
        access_key,
        content_type,
    })
}

/// The operation of a REST request. S3's common operations by name (path-style addressing, as the
/// SDK uses against a local endpoint); anything else as `METHOD /path`, which a fault can still name.
fn rest_operation(service: &str, method: &Method, uri: &Uri) -> String {
    let path = uri.path();
    if service != "s3" {
        return format!("{method} {path}");
    }
    let query = uri.query().unwrap_or("");
    let has = |param: &str| {
        query
            .split('&')
            .any(|p| p == param || p.starts_with(&format!("{param}=")))
    };
    let segments = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    let op = match (method.as_str(), segments) {
        ("GET", 0) => "ListBuckets",
        ("GET", 1) if has("list-type") => "ListObjectsV2",
        ("GET", 1) if has("versions") => "ListObjectVersions",
        ("GET", 1) if has("tagging") => "GetBucketTagging",
        ("GET", 1) => "ListObjects",
        ("HEAD", 1) => "HeadBucket",
        ("PUT", 1) => "CreateBucket",
        ("DELETE", 1) => "DeleteBucket",
        ("GET", _) if has("tagging") => "GetObjectTagging",
        ("PUT", _) if has("tagging") => "PutObjectTagging",
        ("GET", _) => "GetObject",
        ("HEAD", _) => "HeadObject",
        ("PUT", _) => "PutObject",
        ("DELETE", _) => "DeleteObject",
        ("POST", 1) if has("delete") => "DeleteObjects",
        _ => return format!("{method} {path}"),
    };
    op.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn signed(service: &str, region: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261202/{region}/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc"
        );
        h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        h
    }

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn json_requests_are_named_by_their_target_and_signing_name() {
        let mut h = signed("secretsmanager", "eu-west-1");
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("secretsmanager.GetSecretValue"),
        );
        let r = identify(&Method::POST, &h, &uri("/"), b"{}").unwrap();
        assert_eq!(r.name(), "secretsmanager:GetSecretValue");
        assert_eq!(r.protocol, Protocol::Json);
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.access_key.as_deref(), Some("AKIDTEST"));

        let mut h = signed("ce", "us-east-1");
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("AWSInsightsIndexService.GetCostAndUsage"),
        );
        assert_eq!(
            identify(&Method::POST, &h, &uri("/"), b"{}").unwrap().name(),
            "ce:GetCostAndUsage"
        );
    }

    #[test]
    fn query_requests_are_named_by_action_even_when_gzipped() {
        let h = signed("monitoring", "us-east-1");
        let body = b"Action=DescribeAlarms&Version=2010-08-01";
        let r = identify(&Method::POST, &h, &uri("/"), body).unwrap();
        assert_eq!(r.name(), "monitoring:DescribeAlarms");
        assert_eq!(r.protocol, Protocol::Query);

        let mut h = signed("monitoring", "us-east-1");
        h.insert("content-encoding", HeaderValue::from_static("gzip"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"Action=PutMetricData&Version=2010-08-01").unwrap();
        let r = identify(&Method::POST, &h, &uri("/"), &gz.finish().unwrap()).unwrap();
        assert_eq!(r.name(), "monitoring:PutMetricData");
    }

    #[test]
    fn rest_requests_are_named_by_method_and_path() {
        let h = signed("s3", "us-east-1");
        let name = |m: Method, u: &str| identify(&m, &h, &uri(u), b"").unwrap().name();
        assert_eq!(name(Method::GET, "/checks/list.json"), "s3:GetObject");
        assert_eq!(name(Method::GET, "/checks?list-type=2"), "s3:ListObjectsV2");
        assert_eq!(name(Method::PUT, "/checks"), "s3:CreateBucket");
        let h = signed("lambda", "us-east-1");
        let r = identify(&Method::GET, &h, &uri("/2015-03-31/functions"), b"").unwrap();
        assert_eq!(r.name(), "lambda:GET /2015-03-31/functions");
    }

    #[test]
    fn moto_api_and_unsigned_requests_are_not_aws_requests() {
        let h = HeaderMap::new();
        assert_eq!(identify(&Method::POST, &h, &uri("/moto-api/reset"), b""), None);
    }
}
