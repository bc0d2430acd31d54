//! What the TLS trust tests share: an STS request through a given HTTP client to the local TLS
//! server of `targets::tls_chain`, and what its answer looks like once the handshake succeeded.

use aws_sdk_sts::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The error of a GetCallerIdentity sent to `https://localhost:{port}` through `http`, as the
/// functions word it (`ops_shared::error::sdk_message`).
pub async fn sts_error(port: u16, http: SharedHttpClient) -> String {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "not-a-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(format!("https://localhost:{port}"))
        .http_client(http)
        .retry_config(RetryConfig::disabled())
        .build();
    let err = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("the server hangs up after the handshake");
    ops_shared::error::sdk_message(&err)
}

/// The handshake succeeded and the server then closed the connection, as `tls_chain`'s does:
/// not a certificate error, and not a failure before TLS (a refused connection, a proxy).
pub fn assert_hung_up(error: &str) {
    assert!(
        !error.contains("certificate") && !error.contains("UnknownIssuer"),
        "the handshake succeeds with the bundle's CA: {error}"
    );
    assert!(
        HUNG_UP.iter().any(|mark| error.contains(mark)),
        "the server's hang-up after the handshake, got: {error}"
    );
}

/// rustls' words for a connection closed after the handshake (never said before one).
const HUNG_UP: &[&str] = &["peer closed connection without sending TLS close_notify"];
