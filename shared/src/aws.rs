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
use rustls::pki_types::CertificateDer;

mod ca_bundle;
mod proxy;

pub use ca_bundle::{extra_cas, read_ca_bundle};

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

/// The SDK's default HTTPS client (rustls with aws-lc), trusting the Mozilla roots compiled in
/// rather than the system store, and the CAs of `AWS_CA_BUNDLE` (read once; see [`extra_cas`]).
/// AWS endpoints chain to Amazon Trust Services, which Mozilla's store holds; the system store's
/// reading (its bundle file and then every file of its certificate directory) was most of a cold
/// start's own time (`make bench`, #22). Health checks and PostgreSQL keep the system store
/// (`tls::system_roots`). Proxies come from the environment, as for the AWS CLI; the one in use is
/// logged at cold start.
pub fn https_client() -> SharedHttpClient {
    proxy::log(&|name| std::env::var(name).ok());
    https_client_trusting(extra_cas())
}

/// [`https_client`] with `extra` trusted as well as the compiled-in roots.
pub fn https_client_trusting(extra: &[CertificateDer<'static>]) -> SharedHttpClient {
    let mut store = TrustStore::empty().with_pem_certificate(mozilla_pem().as_bytes());
    if !extra.is_empty() {
        store = store.with_pem_certificate(pem_of(extra.iter().map(|c| c.as_ref())).into_bytes());
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

pub(crate) fn pem_of<'a>(ders: impl Iterator<Item = &'a [u8]>) -> String {
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

    fn rustls_pemfile_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the compiled-in roots are valid PEM")
    }
}
