//! TLS pieces two functions share.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Encrypt, and check the handshake's signatures (the server holds the key of the certificate it
/// sent), but not who signed the certificate: the rotator's `sslmode=require`, an http check's
/// `verify_tls: false`.
#[derive(Debug)]
pub struct SignaturesOnly(pub Arc<CryptoProvider>);

impl ServerCertVerifier for SignaturesOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The system's roots, for what must trust what the machine trusts (health checks of private
/// services, PostgreSQL): `SSL_CERT_FILE`/`SSL_CERT_DIR` when set; otherwise the distribution's
/// bundle file alone, or its certificate directory where there is no bundle. The directory holds
/// the bundle's roots again, one file each, and reading both cost ~4 ms of every cold start
/// (`make bench`, #22). A CA copied into the directory without `update-ca-certificates` is not in
/// the bundle: name it in `HEALTH_CA_BUNDLE` (added to these) or `PG_CA_BUNDLE` (then the only CAs
/// trusted); Lambda's own store is read-only.
/// A certificate the store cannot use is left out, not fatal to the others.
pub fn system_roots() -> Vec<CertificateDer<'static>> {
    let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if !set("SSL_CERT_FILE") && !set("SSL_CERT_DIR") {
        if let Some(file) = openssl_probe::probe().cert_file {
            let bundle = rustls_native_certs::load_certs_from_paths(Some(&file), None);
            // A bundle read in part falls back to the whole store, as before.
            if !bundle.certs.is_empty() && bundle.errors.is_empty() {
                return bundle.certs;
            }
        }
    }
    rustls_native_certs::load_native_certs().certs
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_system_store_is_read_from_one_place() {
        // On the machines this runs on (Debian, Amazon Linux) the bundle file holds every root.
        let roots = super::system_roots();
        assert!(
            !roots.is_empty(),
            "no system roots: is ca-certificates installed?"
        );
    }
}
