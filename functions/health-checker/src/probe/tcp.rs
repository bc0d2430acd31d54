//! `tcp`: healthy when a connection opens within the timeout.

use std::time::Instant;

use crate::outcome::Outcome;

pub async fn probe(host: &str, port: u16) -> Outcome {
    let started = Instant::now();
    match tokio::net::TcpStream::connect((host, port)).await {
        Ok(_) => Outcome::healthy(started.elapsed(), format!("connected to {host}:{port}")),
        Err(e) => Outcome::unhealthy(
            started.elapsed(),
            format!("could not connect to {host}:{port}: {e}"),
        ),
    }
}
