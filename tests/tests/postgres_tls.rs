//! The stack's PostgreSQL: logins over TLS with the certificate verified against the stack's own CA
//! and host name, as the secret-rotator's `sslmode=verify-full` does.

use ops_tests::{unique, Stack};

#[tokio::test]
async fn login_over_verified_tls_runs_queries_on_an_encrypted_connection() {
    let stack = Stack::get();
    let client = stack
        .pg_connect(&stack.pg_host, &stack.pg_user, &stack.pg_password)
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the session is encrypted");
    assert!(row
        .get::<_, Option<String>>(1)
        .unwrap_or_default()
        .starts_with("TLS"));
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    let stack = Stack::get();
    // The server certificate names "localhost" only; 127.0.0.1 is the same server under a name the
    // certificate does not vouch for.
    let err = stack
        .pg_connect("127.0.0.1", &stack.pg_user, &stack.pg_password)
        .await
        .unwrap_err();
    let chain = format!("{err:?}");
    assert!(
        chain.contains("NotValidForName") || chain.contains("certificate"),
        "{chain}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_server() {
    let stack = Stack::get();
    let err = stack
        .pg_connect(&stack.pg_host, &stack.pg_user, &unique("wrong"))
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("password authentication failed"),
        "{err:?}"
    );
}
