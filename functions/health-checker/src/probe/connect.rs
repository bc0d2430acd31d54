//! A fresh connection per check, each phase timed.
//!
//! Nothing is pooled or cached between runs: a warm container that reused a keep-alive connection
//! would skip the DNS lookup, the TCP handshake and the TLS handshake, so a broken resolver, a
//! full listen queue or an expired certificate would pass until the connection dropped.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// How long each phase of the check's connection took, in milliseconds. A phase that did not
/// happen (no DNS for an address, no TLS for plain HTTP) is left out. Over redirects, each phase
/// is the sum over every hop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Phases {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ms")]
    pub dns_ms: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ms")]
    pub connect_ms: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ms")]
    pub tls_ms: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ms")]
    pub first_byte_ms: Option<Duration>,
}

/// Milliseconds to a hundredth: local targets answer in well under one.
fn ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    let v = d.unwrap_or_default().as_secs_f64() * 1000.0;
    s.serialize_f64((v * 100.0).round() / 100.0)
}

fn add(slot: &mut Option<Duration>, d: Duration) {
    *slot = Some(slot.unwrap_or_default() + d);
}

impl Phases {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn add_first_byte(&mut self, d: Duration) {
        add(&mut self.first_byte_ms, d);
    }
}

/// How long one of several addresses may take to accept before the next is tried.
pub const ADDRESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Looks the host up (unless it is an address) and opens a TCP connection to the first address
/// that answers.
pub async fn tcp(host: &str, port: u16, phases: &mut Phases) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let started = Instant::now();
            let found = tokio::net::lookup_host((host, port)).await;
            add(&mut phases.dns_ms, started.elapsed());
            match found {
                Ok(found) => found.collect(),
                Err(e) => return Err(format!("could not resolve {host}: {e}")),
            }
        }
    };
    let started = Instant::now();
    let mut last = None;
    for (i, addr) in addrs.iter().enumerate() {
        // A dual-stack name whose first address silently drops packets must not eat the whole
        // timeout: every address but the last gets a short one of its own.
        let attempt = TcpStream::connect(addr);
        let attempt = if i + 1 < addrs.len() {
            match tokio::time::timeout(ADDRESS_TIMEOUT, attempt).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{addr} did not answer within {} ms", ADDRESS_TIMEOUT.as_millis()),
                )),
            }
        } else {
            attempt.await
        };
        match attempt {
            Ok(stream) => {
                add(&mut phases.connect_ms, started.elapsed());
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    add(&mut phases.connect_ms, started.elapsed());
    Err(match last {
        Some(e) => format!("could not connect to {host}:{port}: {e}"),
        None => format!("could not connect to {host}:{port}: the name has no address"),
    })
}

/// The TLS handshake over an open connection.
pub async fn tls(
    stream: TcpStream,
    host: &str,
    port: u16,
    config: Arc<ClientConfig>,
    phases: &mut Phases,
) -> Result<TlsStream<TcpStream>, String> {
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|_| format!("{host} is not a valid server name"))?;
    let started = Instant::now();
    let done = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await;
    add(&mut phases.tls_ms, started.elapsed());
    done.map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_needs_no_lookup_and_a_name_is_looked_up_each_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut by_address = Phases::default();
        tcp("127.0.0.1", port, &mut by_address).await.unwrap();
        assert!(by_address.dns_ms.is_none() && by_address.connect_ms.is_some());
        for _ in 0..2 {
            let mut by_name = Phases::default();
            tcp("localhost", port, &mut by_name).await.unwrap();
            assert!(by_name.dns_ms.is_some(), "looked up on every connection");
        }
    }

    #[tokio::test]
    async fn failures_say_which_phase_failed() {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut p = Phases::default();
        let err = tcp("127.0.0.1", closed, &mut p).await.unwrap_err();
        assert!(err.starts_with("could not connect to 127.0.0.1:"), "{err}");
        let err = tcp("no-such-host.invalid", 80, &mut p).await.unwrap_err();
        assert!(err.starts_with("could not resolve no-such-host.invalid"), "{err}");
    }

    #[test]
    fn phases_serialise_as_milliseconds_and_leave_out_what_did_not_happen() {
        let p = Phases {
            connect_ms: Some(Duration::from_micros(1234)),
            ..Phases::default()
        };
        assert_eq!(
            serde_json::to_value(p).unwrap(),
            serde_json::json!({"connect_ms": 1.23})
        );
    }
}
