//! Trust over real TLS: a server whose CA is only in an `AWS_CA_BUNDLE` file (a proxy that
//! re-signs TLS) is refused by the AWS SDK's client and by the PagerDuty client without it, with
//! an error that says what to set, and trusted by both with it. No AWS emulator is involved: the
//! server is a local TLS listener that completes the handshake and hangs up.

use std::time::Duration;

use ops_tests::aws_tls::{assert_hung_up, sts_error};
use ops_tests::targets;
use rustls::pki_types::CertificateDer;

/// The bundle file as `AWS_CA_BUNDLE` would name it, read the way the functions read it: the
/// server's root after one entry that cannot be used, as in a distribution bundle with an addition.
fn bundle(root_pem: &str, port: u16) -> Vec<CertificateDer<'static>> {
    let path = std::env::temp_dir().join(format!("ops-tests-ca-{}-{port}.pem", std::process::id()));
    let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    std::fs::write(&path, format!("{broken}{root_pem}")).unwrap();
    let certs = ops_shared::aws::read_ca_bundle(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(certs.len(), 1, "the usable root is kept");
    certs
}

#[tokio::test]
async fn the_aws_client_trusts_aws_ca_bundle_and_says_to_set_it_when_a_certificate_is_not_trusted() {
    let (server, root_pem) = targets::tls_chain(300, 600).await;
    let port = server.addr.port();

    let refused = sts_error(port, ops_shared::aws::https_client_trusting(&[])).await;
    assert!(refused.contains("invalid peer certificate"), "{refused}");
    assert!(refused.contains("set AWS_CA_BUNDLE"), "{refused}");

    let trusted = sts_error(
        port,
        ops_shared::aws::https_client_trusting(&bundle(&root_pem, port)),
    )
    .await;
    assert_hung_up(&trusted);
}

#[tokio::test]
async fn the_pagerduty_client_trusts_aws_ca_bundle_too() {
    let (server, root_pem) = targets::tls_chain(300, 600).await;
    let port = server.addr.port();
    let url = format!("https://localhost:{port}/v2/enqueue");
    let error = |extra: Vec<CertificateDer<'static>>| {
        let url = url.clone();
        async move {
            let client =
                alarm_forwarder::pagerduty::client(Duration::from_secs(5), extra.iter().map(|c| c.as_ref()));
            let err = client
                .post(&url)
                .body("{}")
                .send()
                .await
                .expect_err("the server hangs up");
            ops_shared::error::chain(&err)
        }
    };
    let refused = error(Vec::new()).await;
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    assert_hung_up(&error(bundle(&root_pem, port)).await);
}
