//! One AWS configuration for every SDK client a function builds.
//!
//! The SDK reads region, credentials and `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>`) from the environment by itself, so the same code talks to AWS in the
//! cloud and to the local emulator in tests: there is deliberately no "local mode" here.

use std::sync::OnceLock;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::Engine as _;

/// Loads the shared SDK configuration once, at cold start.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// [`load`] for a person's machine (`ops`): the SDK's own client, which trusts the system store
/// (a laptop behind a TLS-inspecting proxy trusts its CA there), where a start's milliseconds do
/// not matter.
pub async fn load_for_people() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The SDK's default HTTPS client (rustls with aws-lc, proxies from the environment), trusting the
/// Mozilla roots compiled in rather than the system store. AWS endpoints chain to Amazon Trust
/// Services, which Mozilla's store holds; the system store's reading (its bundle file and then every
/// file of its certificate directory) was most of a cold start's own time (`make bench`, #22).
/// Health checks and PostgreSQL keep the system store (`tls::system_roots`). `AWS_CA_BUNDLE`, as
/// the AWS CLI reads it, adds a CA (a proxy that re-signs TLS); one that cannot be used is logged
/// at cold start, naming the variable, and the compiled-in roots are used alone.
pub fn https_client() -> SharedHttpClient {
    let mut store = TrustStore::empty().with_pem_certificate(mozilla_pem().as_bytes());
    if let Some(path) = std::env::var_os(CA_BUNDLE_VAR).filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(path);
        match std::fs::read(&path)
            .map_err(|e| format!("cannot be read ({e})"))
            .and_then(|bytes| usable_pem(&bytes))
        {
            Ok(pem) => store = store.with_pem_certificate(pem.into_bytes()),
            Err(problem) => tracing::error!(
                var = CA_BUNDLE_VAR,
                path = %path.display(),
                problem = %problem,
                "{CA_BUNDLE_VAR} is not used: set it to a PEM file of the CA certificates to trust for AWS, or unset it"
            ),
        }
    }
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .expect("a TLS context over a trust store never fails to build");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

const CA_BUNDLE_VAR: &str = "AWS_CA_BUNDLE";

/// The certificates of a PEM file that a trust store can use, as PEM again: the SDK's trust store
/// panics on one it cannot parse, so only checked ones reach it.
fn usable_pem(bytes: &[u8]) -> Result<String, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut usable = Vec::new();
    for cert in CertificateDer::pem_slice_iter(bytes) {
        let cert = cert.map_err(|e| format!("is not PEM ({e})"))?;
        rustls::RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| format!("holds a certificate that cannot be a CA ({e})"))?;
        usable.push(cert);
    }
    if usable.is_empty() {
        return Err("holds no certificate".into());
    }
    Ok(pem_of(usable.iter().map(|c| c.as_ref())))
}

fn pem_of<'a>(ders: impl Iterator<Item = &'a [u8]>) -> String {
    let mut pem = String::new();
    for der in ders {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

/// The compiled-in roots as PEM, the only form the SDK's trust store takes.
fn mozilla_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        pem_of(
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| c.as_ref()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_is_usable_pem() {
        let pem = mozilla_pem();
        let mut roots = rustls::RootCertStore::empty();
        let mut count = 0;
        for cert in rustls_pemfile_certs(pem) {
            roots.add(cert).expect("a Mozilla root parses as a trust anchor");
            count += 1;
        }
        assert_eq!(count, webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(
            count > 100,
            "the Mozilla store holds well over a hundred roots, got {count}"
        );
    }

    #[test]
    fn the_amazon_roots_aws_endpoints_chain_to_are_trusted() {
        let subjects: Vec<String> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| String::from_utf8_lossy(c.as_ref()).into_owned())
            .collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(name)),
                "{name} is missing from the compiled-in roots"
            );
        }
    }

    #[test]
    fn an_extra_bundle_is_checked_before_the_sdk_sees_it() {
        let one = pem_of(
            webpki_root_certs::TLS_SERVER_ROOT_CERTS[..1]
                .iter()
                .map(|c| c.as_ref()),
        );
        assert_eq!(usable_pem(one.as_bytes()).unwrap(), one);
        assert_eq!(usable_pem(b"").unwrap_err(), "holds no certificate");
        assert_eq!(
            usable_pem(b"not a certificate at all").unwrap_err(),
            "holds no certificate"
        );
        let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(usable_pem(broken.as_bytes())
            .unwrap_err()
            .starts_with("holds a certificate that cannot be a CA"));
    }

    fn rustls_pemfile_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the compiled-in roots are valid PEM")
    }
}
