//! `http`: status, latency, body text and JSONPath conditions, over a fresh connection per check
//! (HTTP/1.1; each redirect hop its own connection), with the phases timed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, HOST, LOCATION, USER_AGENT,
};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use ops_shared::tls::SignaturesOnly;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use serde_json::Value;

use crate::checks::{HttpCheck, JsonCondition, JsonExpect};
use crate::outcome::Outcome;
use crate::probe::connect::{self, Phases};

/// Bodies are read up to this many bytes; a longer one fails body checks instead of filling memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Redirects followed before the check fails.
pub const MAX_REDIRECTS: usize = 10;

/// The two TLS set-ups an http check may use (verify the certificate or not), built once.
pub struct HttpClients {
    verified: Result<Arc<ClientConfig>, String>,
    unverified: Result<Arc<ClientConfig>, String>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl HttpClients {
    /// `roots`: the system's roots and `HEALTH_CA_BUNDLE`'s.
    pub fn new(roots: RootCertStore) -> Self {
        let alpn = |mut c: ClientConfig| {
            c.alpn_protocols = vec![b"http/1.1".to_vec()];
            // A resumed session skips the certificate: every run must see the one served now.
            c.resumption = rustls::client::Resumption::disabled();
            Arc::new(c)
        };
        let verified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map(|b| alpn(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string());
        let unverified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map(|b| {
                alpn(
                    b.dangerous()
                        .with_custom_certificate_verifier(Arc::new(SignaturesOnly(provider())))
                        .with_no_client_auth(),
                )
            })
            .map_err(|e| e.to_string());
        Self { verified, unverified }
    }

    fn tls(&self, verify: bool) -> Result<Arc<ClientConfig>, String> {
        if verify { &self.verified } else { &self.unverified }
            .clone()
            .map_err(|e| format!("TLS setup failed: {e}"))
    }
}

/// One request over its own connection: the response's head, with the body still to read.
async fn exchange(
    clients: &HttpClients,
    check: &HttpCheck,
    url: &reqwest::Url,
    method: &Method,
    hop: Hop,
    phases: &mut Phases,
) -> Result<Response<Incoming>, String> {
    let host = url
        .host_str()
        .ok_or_else(|| format!("{} has no host", shown(url)))?
        .to_string();
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(format!("{}: scheme {other} is not http or https", shown(url))),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{} has no port", shown(url)))?;
    let stream = connect::tcp(&host, port, phases).await?;
    let mut request = Request::builder().method(method.clone()).uri(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    });
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let headers = request
        .headers_mut()
        .ok_or_else(|| format!("{} does not make a valid request", shown(url)))?;
    headers.insert(HOST, header_value(&authority)?);
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("ops-lambdas-health-checker/", env!("CARGO_PKG_VERSION"))),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    // The check's own headers, credentials and body go only to the origin it names: a redirect to
    // another host (or from https to http) must not carry an Authorization header or a cookie.
    let own = hop.same_origin;
    if let (true, Some(auth)) = (own, basic_auth(&check.url)) {
        headers.insert(AUTHORIZATION, auth);
    }
    for (k, v) in check.headers.iter().filter(|_| own) {
        let name =
            HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("header {k:?} is not a valid name"))?;
        headers.insert(
            name,
            header_value(v).map_err(|_| format!("header {k} has a value that cannot be sent"))?,
        );
    }
    let body = match (&check.body, hop.with_body && own) {
        (Some(b), true) => Bytes::from(b.clone()),
        _ => Bytes::new(),
    };
    if !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    let request = request
        .body(Full::new(body))
        .map_err(|e| format!("{} does not make a valid request: {e}", shown(url)))?;
    let (response, waited) = if https {
        let tls = connect::tls(stream, &host, port, clients.tls(check.verify_tls)?, phases).await?;
        send(TokioIo::new(tls), request).await
    } else {
        send(TokioIo::new(stream), request).await
    };
    phases.add_first_byte(waited);
    response.map_err(|e| format!("request failed: {}", ops_shared::error::chain(&e)))
}

/// What one hop of a check's request may carry.
#[derive(Debug, Clone, Copy)]
struct Hop {
    /// Same scheme, host and port as the check's URL.
    same_origin: bool,
    /// Not turned into a body-less GET by a redirect.
    with_body: bool,
}

/// `https://user:pass@host/` as reqwest sent it: a Basic Authorization header.
fn basic_auth(url: &reqwest::Url) -> Option<HeaderValue> {
    use base64::Engine;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    let mut value = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
    .ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// A URL as it may be shown: no credentials, no query (a redirect's query is often a signed token).
pub fn shown(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn origin(url: &reqwest::Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_string(),
        url.host_str().map(str::to_string),
        url.port_or_known_default(),
    )
}

/// The HTTP/1.1 handshake over a connection and one request on it; how long the answer's head took.
async fn send<T>(io: T, request: Request<Full<Bytes>>) -> (Result<Response<Incoming>, hyper::Error>, Duration)
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let started = Instant::now();
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(io).await {
        Ok(pair) => pair,
        Err(e) => return (Err(e), started.elapsed()),
    };
    // Driven in the background; it ends with the response, since nothing is pooled.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender.send_request(request).await;
    (response, started.elapsed())
}

fn header_value(v: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(v).map_err(|_| format!("{v:?} is not a valid header value"))
}

pub async fn probe(clients: &HttpClients, check: &HttpCheck) -> Outcome {
    let started = Instant::now();
    let mut phases = Phases::default();
    let mut url = check.url.clone();
    let mut method = check.method.clone();
    let mut hop = Hop {
        same_origin: true,
        with_body: true,
    };
    let start = origin(&check.url);
    let mut hops = 0;
    let mut response = loop {
        let response = match exchange(clients, check, &url, &method, hop, &mut phases).await {
            Ok(r) => r,
            Err(reason) => return Outcome::unhealthy(started.elapsed(), reason).with_phases(phases),
        };
        let status = response.status().as_u16();
        let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok());
        let next = match (check.follow_redirects, status, location) {
            (true, 301 | 302 | 303 | 307 | 308, Some(to)) => to.to_string(),
            _ => break response,
        };
        hops += 1;
        if hops > MAX_REDIRECTS {
            return Outcome::unhealthy(
                started.elapsed(),
                format!(
                    "too many redirects (more than {MAX_REDIRECTS}), the last to {}",
                    next.split('?').next().unwrap_or_default()
                ),
            )
            .with_phases(phases);
        }
        url = match url.join(&next) {
            Ok(u) => u,
            Err(e) => {
                return Outcome::unhealthy(
                    started.elapsed(),
                    format!(
                        "HTTP {status} redirects to {:?}, which is not a URL: {e}",
                        next.split('?').next().unwrap_or_default()
                    ),
                )
                .with_phases(phases)
            }
        };
        hop.same_origin = hop.same_origin && origin(&url) == start;
        // As browsers and reqwest do: 303, and 301/302 after anything but GET or HEAD, turn into a
        // GET without a body (a HEAD stays a HEAD).
        let keeps_method = matches!(method, Method::GET | Method::HEAD);
        if (status == 303 && method != Method::HEAD) || (matches!(status, 301 | 302) && !keeps_method) {
            method = Method::GET;
            hop.with_body = false;
        }
    };
    let status = response.status().as_u16();
    let latency = started.elapsed();
    let judged = |outcome: Outcome| outcome.with_phases(phases);
    if !check.expect_status.contains(status) {
        return judged(Outcome::unhealthy(
            latency,
            format!("HTTP {status}, expected {}", check.expect_status.describe()),
        ));
    }
    if let Some(max) = check.max_latency {
        if latency > max {
            return judged(Outcome::unhealthy(
                latency,
                format!(
                    "answered in {} ms, over max_latency {} ms",
                    latency.as_millis(),
                    max.as_millis()
                ),
            ));
        }
    }
    if check.body_contains.is_none() && check.json.is_empty() {
        return judged(Outcome::healthy(latency, format!("HTTP {status}")));
    }
    let mut body = Vec::new();
    loop {
        match response.body_mut().frame().await {
            Some(Ok(frame)) => {
                if let Ok(chunk) = frame.into_data() {
                    body.extend_from_slice(&chunk);
                }
                if body.len() > MAX_BODY_BYTES {
                    return judged(Outcome::unhealthy(
                        latency,
                        "the body is larger than 1 MB; body checks need a smaller response".to_string(),
                    ));
                }
            }
            None => break,
            Some(Err(e)) => {
                return judged(Outcome::unhealthy(
                    started.elapsed(),
                    format!("reading the body: {}", ops_shared::error::chain(&e)),
                ))
            }
        }
    }
    let text = String::from_utf8_lossy(&body);
    if let Some(needle) = &check.body_contains {
        if !text.contains(needle.as_str()) {
            return judged(Outcome::unhealthy(
                latency,
                format!("the body does not contain {needle:?}"),
            ));
        }
    }
    if !check.json.is_empty() {
        let Ok(value) = serde_json::from_slice::<Value>(&body) else {
            return judged(Outcome::unhealthy(latency, "the body is not JSON".to_string()));
        };
        for condition in &check.json {
            if let Err(reason) = evaluate(condition, &value) {
                return judged(Outcome::unhealthy(latency, reason));
            }
        }
    }
    judged(Outcome::healthy(latency, format!("HTTP {status}")))
}

/// Checks one JSONPath condition against a document.
pub fn evaluate(condition: &JsonCondition, value: &Value) -> Result<(), String> {
    let nodes = condition.path.query(value).all();
    let path = &condition.path_text;
    match &condition.expect {
        JsonExpect::Exists(true) if nodes.is_empty() => Err(format!("{path} does not exist")),
        JsonExpect::Exists(false) if !nodes.is_empty() => Err(format!("{path} exists")),
        JsonExpect::Exists(_) => Ok(()),
        JsonExpect::Equals(expected) => match nodes.first() {
            None => Err(format!("{path} does not exist, expected {expected}")),
            Some(found) if *found == expected => Ok(()),
            Some(found) => {
                let shown: String = found.to_string().chars().take(100).collect();
                Err(format!("{path} is {shown}, expected {expected}"))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serde_json_path::JsonPath;

    use super::*;

    fn cond(path: &str, expect: JsonExpect) -> JsonCondition {
        JsonCondition {
            path: JsonPath::parse(path).unwrap(),
            path_text: path.into(),
            expect,
        }
    }

    #[test]
    fn credentials_in_the_url_are_sent_as_basic_auth_and_never_shown() {
        let url = reqwest::Url::parse("https://ops%40x:p%2Fss@api.example.com/h?token=abc").unwrap();
        let auth = basic_auth(&url).unwrap();
        assert!(auth.is_sensitive());
        use base64::Engine;
        let sent = base64::engine::general_purpose::STANDARD
            .decode(auth.to_str().unwrap().trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(sent, b"ops@x:p/ss");
        assert_eq!(shown(&url), "https://api.example.com/h");
        assert!(basic_auth(&reqwest::Url::parse("https://api.example.com/").unwrap()).is_none());
    }

    #[test]
    fn json_conditions_check_values_and_presence() {
        let doc = json!({"status": "ok", "db": {"up": true, "lag": 3}, "items": [1, 2]});
        assert!(evaluate(&cond("$.status", JsonExpect::Equals(json!("ok"))), &doc).is_ok());
        assert!(evaluate(&cond("$.db.up", JsonExpect::Exists(true)), &doc).is_ok());
        assert!(evaluate(&cond("$.db.error", JsonExpect::Exists(false)), &doc).is_ok());
        assert!(evaluate(&cond("$.items[1]", JsonExpect::Equals(json!(2))), &doc).is_ok());
        assert_eq!(
            evaluate(&cond("$.db.lag", JsonExpect::Equals(json!(0))), &doc).unwrap_err(),
            "$.db.lag is 3, expected 0"
        );
        assert_eq!(
            evaluate(&cond("$.missing", JsonExpect::Exists(true)), &doc).unwrap_err(),
            "$.missing does not exist"
        );
        assert!(evaluate(&cond("$.status", JsonExpect::Exists(false)), &doc).is_err());
    }
}
