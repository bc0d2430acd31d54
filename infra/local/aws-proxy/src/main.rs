//! A local AWS proxy in front of moto, so tests and the bench see AWS as it behaves in the cloud:
//! it names and counts every request by operation, injects each service's own throttling, 5xx,
//! access-denied, latency and dropped-connection faults on command, and answers operations moto
//! does not implement with what a test sets. See `control.rs` for its API.
//!
//! Usage: `aws-proxy --upstream http://127.0.0.1:MOTO_PORT [--listen 127.0.0.1:0] [--port-file PATH]`

mod busy;
mod capture;
mod control;
mod faults;
mod forward;
mod request;
mod shapes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::any;
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Notify;

use control::Shared;
use forward::{forward, Hangup, Upstream};

struct Args {
    listen: String,
    upstream: String,
    port_file: Option<String>,
}

const USAGE: &str = "usage: aws-proxy --upstream URL [--listen ADDR] [--port-file PATH]";

fn args() -> Result<Args, String> {
    let mut listen = "127.0.0.1:0".to_string();
    let mut upstream = None;
    let mut port_file = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value; {USAGE}"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--upstream" => upstream = Some(value()?),
            "--port-file" => port_file = Some(value()?),
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    let upstream = upstream.ok_or_else(|| format!("--upstream (moto's URL) is required; {USAGE}"))?;
    Ok(Args {
        listen,
        upstream: upstream.trim_end_matches('/').to_string(),
        port_file,
    })
}

fn app(state: Shared) -> Router {
    Router::new()
        .nest("/_proxy", control::routes())
        .fallback(any(forward))
        // The SDK's batches (PutMetricData, seeded cost data) may exceed axum's 2 MB default.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let upstream = Upstream {
        url: args.upstream,
        client: reqwest::Client::builder().pool_max_idle_per_host(64).build()?,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    if let Some(path) = &args.port_file {
        std::fs::write(path, addr.port().to_string())?;
    }
    println!(
        "aws-proxy listening on http://{addr} (control API: http://{addr}/_proxy), forwarding to {}",
        upstream.url
    );
    let router = app(Shared::default()).layer(Extension(upstream));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        // Out of file descriptors, or a client gone before accept: the stack's AWS stays up.
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("aws-proxy: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let hangup = Arc::new(Notify::new());
        let service = TowerToHyperService::new(router.clone().layer(Extension(Hangup(hangup.clone()))));
        tokio::spawn(async move {
            let mut connection =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = &mut connection => {}
                _ = hangup.notified() => {
                    // SO_LINGER 0, then drop: the close is a TCP reset, as a connection AWS's side
                    // drops looks to a client, and no answer is ever written.
                    let _ = connection.into_parts().io.inner().set_zero_linger();
                }
            }
        });
    }
}
