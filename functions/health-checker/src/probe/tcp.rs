//! `tcp`: healthy when a connection opens within the timeout (the name looked up afresh each run).

use std::time::Instant;

use crate::outcome::Outcome;
use crate::probe::connect::{self, Phases};

pub async fn probe(host: &str, port: u16) -> Outcome {
    let started = Instant::now();
    let mut phases = Phases::default();
    match connect::tcp(host, port, &mut phases).await {
        Ok(_) => Outcome::healthy(started.elapsed(), format!("connected to {host}:{port}")),
        Err(reason) => Outcome::unhealthy(started.elapsed(), reason),
    }
    .with_phases(phases)
}
