//! `tls`: the certificate chain is valid for the host, and far enough from expiry. Expiry is that of
//! the earliest certificate the server sends (an intermediate that expires first breaks the chain
//! as surely as the leaf), and the report names it. The days left are reported even when the chain
//! is not valid, so a dashboard still shows them.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::outcome::Outcome;
use crate::probe::connect::{self, Phases};

/// The certificate verification every TLS check shares.
pub struct TlsProbe {
    verifier: Arc<WebPkiServerVerifier>,
}

impl TlsProbe {
    pub fn new(roots: RootCertStore) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("no usable root certificates: {e}"))?;
        Ok(Self { verifier })
    }

    pub async fn probe(&self, host: &str, port: u16, min_days_left: i64) -> Outcome {
        let started = Instant::now();
        let recorder = Arc::new(Recorder {
            inner: self.verifier.clone(),
            verdict: Mutex::new(None),
        });
        let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(recorder.clone())
                    .with_no_client_auth()
            });
        let config = match config {
            Ok(c) => c,
            Err(e) => return Outcome::unhealthy(started.elapsed(), format!("TLS setup failed: {e}")),
        };
        // Refused before any connection is made.
        if ServerName::try_from(host.to_string()).is_err() {
            return Outcome::unhealthy(started.elapsed(), format!("{host} is not a valid server name"));
        }
        let mut phases = Phases::default();
        let stream = match connect::tcp(host, port, &mut phases).await {
            Ok(s) => s,
            Err(reason) => return Outcome::unhealthy(started.elapsed(), reason).with_phases(phases),
        };
        let tls = match connect::tls(stream, host, port, Arc::new(config), &mut phases).await {
            Ok(t) => t,
            Err(reason) => return Outcome::unhealthy(started.elapsed(), reason).with_phases(phases),
        };
        let latency = started.elapsed();
        let earliest = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| earliest_expiry(certs, chrono::Utc::now().timestamp()));
        let days_left = earliest.as_ref().map(|(days, _)| *days);
        let which = earliest.map(|(_, which)| which).unwrap_or_default();
        let verdict = recorder.verdict.lock().map(|v| v.clone()).unwrap_or(None);
        let mut outcome = match (verdict, days_left) {
            (Some(Err(e)), _) => Outcome::unhealthy(
                latency,
                format!("the certificate chain is not valid for {host}: {e}"),
            ),
            (_, None) => Outcome::unhealthy(latency, "the server sent no readable certificate".to_string()),
            (_, Some(days)) if days < min_days_left => Outcome::unhealthy(
                latency,
                format!("the {which} expires in {days} days, under min_days_left {min_days_left}"),
            ),
            (_, Some(days)) => {
                Outcome::healthy(latency, format!("certificate valid, {days} days left ({which})"))
            }
        };
        outcome.days_left = days_left;
        outcome.with_phases(phases)
    }
}

/// The fewest days left of any certificate in the served chain (leaf first), and which one it is:
/// "certificate" for the leaf, "intermediate CN=..." for another.
pub fn earliest_expiry(chain: &[CertificateDer<'_>], now: i64) -> Option<(i64, String)> {
    chain
        .iter()
        .enumerate()
        .filter_map(|(i, cert)| {
            let days = days_until_expiry(cert, now)?;
            let which = if i == 0 {
                "certificate".to_string()
            } else {
                let name = x509_parser::parse_x509_certificate(cert.as_ref())
                    .ok()
                    .and_then(|(_, c)| {
                        c.subject()
                            .iter_common_name()
                            .next()
                            .and_then(|cn| cn.as_str().ok())
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| format!("#{i}"));
                format!("intermediate certificate {name}")
            };
            Some((days, which))
        })
        .min_by_key(|(days, _)| *days)
}

/// Whole days from `now` (Unix seconds) until the certificate's notAfter; negative once expired.
pub fn days_until_expiry(cert: &CertificateDer<'_>, now: i64) -> Option<i64> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let not_after = parsed.validity().not_after.timestamp();
    Some((not_after - now).div_euclid(86_400))
}

/// Verifies like WebPKI, records the verdict, and lets the handshake finish so the certificate can
/// still be read. Handshake signatures are always checked.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Result<(), rustls::Error>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(|_| ());
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
