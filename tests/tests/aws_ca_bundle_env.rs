//! `AWS_CA_BUNDLE` read from the environment, as a deployed function reads it, reaching the AWS
//! client (`ops_shared::aws::https_client`) and the PagerDuty client the alarm-forwarder builds
//! (`PagerDutyHttp::new`). Its own test binary: the variable is set for the whole process before
//! any client is built, and once read it stays read.

use std::time::Duration;

use alarm_forwarder::event::{Action, PagerEvent};
use alarm_forwarder::pagerduty::{Pager, PagerDutyHttp};
use ops_tests::targets;
use secrecy::SecretString;

#[tokio::test]
async fn aws_ca_bundle_from_the_environment_reaches_the_aws_and_pagerduty_clients() {
    let (server, root_pem) = targets::tls_chain(300, 600).await;
    let port = server.addr.port();
    let path = std::env::temp_dir().join(format!("ops-tests-ca-env-{}.pem", std::process::id()));
    std::fs::write(&path, &root_pem).unwrap();
    // One test in this binary and no other thread yet: nothing reads the environment meanwhile.
    std::env::set_var("AWS_CA_BUNDLE", &path);
    assert_eq!(ops_shared::aws::extra_cas().len(), 1, "the bundle's root is read");
    std::fs::remove_file(&path).unwrap();

    let aws = ops_tests::aws_tls::sts_error(port, ops_shared::aws::https_client()).await;
    ops_tests::aws_tls::assert_hung_up(&aws);

    let pager = PagerDutyHttp::new(
        format!("https://localhost:{port}/v2/enqueue"),
        Duration::from_secs(5),
        1,
    );
    let event = PagerEvent {
        event_action: Action::Trigger,
        dedup_key: "ops-tests-ca-env".into(),
        payload: None,
        links: Vec::new(),
        client: "ops-tests",
        client_url: None,
        target: "the TLS test server".into(),
    };
    let key = SecretString::from("k".repeat(32));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let err = pager
        .send(&key, &event, deadline)
        .await
        .expect_err("the server hangs up");
    ops_tests::aws_tls::assert_hung_up(&err.to_string());
}
