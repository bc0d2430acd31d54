//! Real local targets for the health-checker's tests: an HTTP server with healthy and broken routes,
//! TLS servers with short- and long-lived self-signed certificates, and a tiny DNS server. Each
//! listens on a free loopback port and stops when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use chrono::Datelike;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{rdata, Name, RData, Record, RecordType};
use tokio::task::JoinHandle;

/// Aborts the server task when the target is dropped.
pub struct Running {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// `/ok` (JSON), `/latency50` (the same after 50 ms), `/slow` (after 1.5 s), `/status/{code}`,
/// `/bad-json`, `/huge` (2 MB), `/redirect` (to `/ok`), `/redirect-to?to=` and `/authorization`.
pub async fn http() -> Running {
    async fn ok() -> impl IntoResponse {
        (
            [("content-type", "application/json")],
            r#"{"status":"ok","db":{"up":true,"lag":0}}"#,
        )
    }
    let app =
        Router::new()
            .route("/ok", get(ok))
            .route(
                "/latency50",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    ok().await
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    ok().await
                }),
            )
            .route(
                "/status/{code}",
                get(|axum::extract::Path(code): axum::extract::Path<u16>| async move {
                    StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT)
                }),
            )
            .route(
                "/bad-json",
                get(|| async { ([("content-type", "application/json")], "{\"status\": ok") }),
            )
            .route("/huge", get(|| async { "x".repeat(2 * 1024 * 1024) }))
            .route("/redirect", get(|| async { Redirect::temporary("/ok") }))
            // `?to=<url>`: a redirect anywhere, to another origin included.
            .route(
                "/redirect-to",
                get(
                    |axum::extract::Query(q): axum::extract::Query<
                        std::collections::HashMap<String, String>,
                    >| async move {
                        Redirect::temporary(q.get("to").map(String::as_str).unwrap_or("/ok"))
                    },
                ),
            )
            // The Authorization header the request carried, or "none".
            .route(
                "/authorization",
                get(|headers: axum::http::HeaderMap| async move {
                    headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_string()
                }),
            );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Running { addr, task }
}

/// An HTTP/1.1 server that keeps every connection open for more requests (as most servers do) and
/// counts the connections it accepted: a client that pools would open one for many requests.
pub async fn keep_alive_http() -> (Running, Arc<AtomicUsize>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    // Read one request head, answer it, and wait for the next on the same connection.
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match stream.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok";
                    if stream.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (Running { addr, task }, accepted)
}

/// Serves `chain` (leaf first) with `key` on a free loopback port; every handshake is accepted.
async fn serve_tls(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Running {
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a server configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    Running { addr, task }
}

/// A TLS server for `localhost` that serves a leaf expiring in `leaf_days` and the intermediate
/// that signed it, expiring in `intermediate_days`, under a root of its own. Returns the server and
/// the root (PEM) to trust it with.
pub async fn tls_chain(leaf_days: i64, intermediate_days: i64) -> (Running, String) {
    let date = |days: i64| {
        let at = chrono::Utc::now() + chrono::Duration::days(days);
        rcgen::date_time_ymd(at.year(), at.month() as u8, at.day() as u8)
    };
    let ca = |name: &str, days: i64| {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("no names");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = date(days);
        p
    };
    let root_key = rcgen::KeyPair::generate().expect("a key");
    let root_params = ca("ops-tests root", 3650);
    let root = root_params.self_signed(&root_key).expect("a root");
    let root_issuer = rcgen::Issuer::from_params(&root_params, &root_key);
    let mid_key = rcgen::KeyPair::generate().expect("a key");
    let mid_params = ca("ops-tests intermediate", intermediate_days);
    let mid = mid_params
        .signed_by(&mid_key, &root_issuer)
        .expect("an intermediate");
    let mid_issuer = rcgen::Issuer::from_params(&mid_params, &mid_key);
    let leaf_key = rcgen::KeyPair::generate().expect("a key");
    let mut leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("valid names");
    leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf_params.not_after = date(leaf_days);
    let leaf = leaf_params.signed_by(&leaf_key, &mid_issuer).expect("a leaf");
    let chain = vec![
        rustls::pki_types::CertificateDer::from(leaf.der().to_vec()),
        rustls::pki_types::CertificateDer::from(mid.der().to_vec()),
    ];
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("a private key");
    (serve_tls(chain, key_der).await, root.pem())
}

/// A TLS server for `localhost` whose self-signed certificate expires `days` days from today.
/// Returns the server and the certificate (PEM) to trust it with.
pub async fn tls(days: i64) -> (Running, String) {
    let until = chrono::Utc::now() + chrono::Duration::days(days);
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("valid names");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(until.year(), until.month() as u8, until.day() as u8);
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = params.self_signed(&key).expect("a certificate");
    let pem = cert.pem();
    let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("a private key");
    (serve_tls(vec![der], key_der).await, pem)
}

/// A DNS server that knows one name: `svc.ops.test` → A 10.1.2.3; `servfail.ops.test` answers
/// SERVFAIL and `refused.ops.test` REFUSED; every other name is NXDOMAIN.
pub async fn dns() -> Running {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = socket.local_addr().expect("an address");
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((len, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.message_type = MessageType::Response;
            answer.metadata.recursion_desired = query.metadata.recursion_desired;
            answer.metadata.recursion_available = true;
            let known = Name::from_ascii("svc.ops.test.").expect("a name");
            for q in &query.queries {
                answer.add_query(q.clone());
                let asked = q.name().to_ascii().to_ascii_lowercase();
                if asked == "servfail.ops.test." {
                    answer.metadata.response_code = ResponseCode::ServFail;
                } else if asked == "refused.ops.test." {
                    answer.metadata.response_code = ResponseCode::Refused;
                } else if q.name().to_ascii().eq_ignore_ascii_case(&known.to_ascii()) {
                    if q.query_type() == RecordType::A {
                        answer.add_answer(Record::from_rdata(
                            known.clone(),
                            60,
                            RData::A(rdata::A::new(10, 1, 2, 3)),
                        ));
                    }
                } else {
                    answer.metadata.response_code = ResponseCode::NXDomain;
                }
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    Running { addr, task }
}
