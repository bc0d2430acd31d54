//! Every request that is not for the control API: named, counted, then faulted, answered, or passed
//! on to moto as it came.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use tokio::sync::Notify;

use crate::control::{lock, Shared};
use crate::faults::Decision;
use crate::request::{body_text, identify, AwsRequest, Protocol};
use crate::shapes::error_response;

/// Drops the client's connection without an answer when notified (the `reset` fault).
#[derive(Clone)]
pub struct Hangup(pub Arc<Notify>);

#[derive(Clone)]
pub struct Upstream {
    pub url: String,
    pub client: reqwest::Client,
}

/// One request at moto, for the proxy's busy time: finished when dropped, however the wait ends.
struct AtMoto(Shared);

impl Drop for AtMoto {
    fn drop(&mut self) {
        lock(&self.0).busy.finished(Instant::now());
    }
}

pub async fn forward(
    State(state): State<Shared>,
    Extension(upstream): Extension<Upstream>,
    Extension(hangup): Extension<Hangup>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = identify(&method, &headers, &uri, &body);
    if let Some(request) = &request {
        let (delay, decision) = {
            let mut book = lock(&state);
            if book.captures.wants(request) {
                book.captures.keep(request, body_text(&headers, &body));
            }
            book.decide(request, Instant::now())
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match decision {
            Decision::Forward => {}
            Decision::Fail(failure) => {
                eprintln!("aws-proxy: {} answered {failure:?} (injected)", request.name());
                return error_response(request, failure);
            }
            Decision::Reset => {
                eprintln!(
                    "aws-proxy: {} connection closed without an answer (injected)",
                    request.name()
                );
                hangup.0.notify_one();
                return std::future::pending().await;
            }
            Decision::Answer { status, body } => return answer(request, status, body),
        }
    }
    let started = Instant::now();
    lock(&state).busy.started(started);
    // A client that hangs up drops this future at the await: the guard still closes the stretch.
    let at_moto = AtMoto(state.clone());
    let answer = pass_on(&upstream, method, &uri, &headers, body).await;
    drop(at_moto);
    if let Some(request) = &request {
        lock(&state).add_upstream(request, started.elapsed());
    }
    answer
}

/// A canned answer in the request's protocol: JSON as is, a string (Query XML) as text.
fn answer(request: &AwsRequest, status: u16, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    match body {
        serde_json::Value::String(text) => {
            (status, [("content-type", "text/xml".to_string())], text).into_response()
        }
        json => {
            let content_type = match request.protocol {
                Protocol::Json => request
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/x-amz-json-1.1".into()),
                Protocol::Query | Protocol::RestXml => "application/json".into(),
            };
            (status, [("content-type", content_type)], json.to_string()).into_response()
        }
    }
}

/// Headers of one hop only (RFC 9110 §7.6.1), never passed on; `host` and `content-length` are
/// the new hop's to set.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "host",
    "content-length",
];

fn end_to_end(headers: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
}

fn bad_gateway(problem: String) -> Response {
    (StatusCode::BAD_GATEWAY, format!("aws-proxy: {problem}")).into_response()
}

async fn pass_on(
    upstream: &Upstream,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let head = method == Method::HEAD;
    let mut request = upstream
        .client
        .request(method, format!("{}{}", upstream.url, path));
    for (name, value) in end_to_end(headers) {
        request = request.header(name, value);
    }
    let response = match request.body(body).send().await {
        Ok(response) => response,
        Err(e) => return bad_gateway(format!("moto did not answer: {e}")),
    };
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return bad_gateway(format!("moto's answer broke off: {e}")),
    };
    let mut out = Response::builder().status(status);
    for (name, value) in end_to_end(&headers) {
        out = out.header(name, value);
    }
    // A HEAD answer has no body, so its length is the one moto stated for the resource.
    if head {
        if let Some(length) = headers.get(CONTENT_LENGTH) {
            out = out.header(CONTENT_LENGTH, length);
        }
    }
    out.body(Body::from(bytes))
        .unwrap_or_else(|e| bad_gateway(format!("moto's answer could not be passed on: {e}")))
}
