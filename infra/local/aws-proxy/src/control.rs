//! The control API, under `/_proxy/` on the proxy's own port (`AWS_FAULTS_URL`):
//!
//! - `POST   /faults`  `{"operation", "error", "times"?, "after"?, "region"?, "access_key"?, "latency_ms"?}`
//! - `GET    /faults`  the faults and rate limits in force, with how often each matched and fired
//! - `DELETE /faults`  clears every fault and rate limit
//! - `POST   /rate`    `{"operation", "per_second", "burst"?, "region"?, "access_key"?}`
//! - `POST   /answers` `{"operation", "body", "status"?, "region"?, "access_key"?}`: answer that
//!   operation without asking moto; `GET` lists them, `DELETE` clears them
//! - `GET    /calls`   `{"service:Operation": count}`; `GET /calls/upstream` adds the time spent waiting
//!   on moto; both take `?region=` and `?access_key=`; `GET /calls/busy` `{"busy_ms"}` is the wall
//!   time during which a request was at moto (overlaps counted once); `DELETE /calls` zeroes them
//! - `POST   /capture` `{"operation", "region"?, "access_key"?}`: keep matching requests' bodies;
//!   `GET /captured?access_key=K` lists them, `DELETE /captured` drops rules and bodies
//! - `POST   /reset`   all of the above at once

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::capture::CaptureSpec;
use crate::faults::{AnswerSpec, Book, FaultSpec, RateSpec};

pub type Shared = Arc<Mutex<Book>>;

pub fn lock(state: &Shared) -> MutexGuard<'_, Book> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn refuse(problem: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": problem}))).into_response()
}

/// Parses and checks a rule from a JSON body (the reason names the bad field), then files it with
/// `file`, which gives the answer.
fn file<T: serde::de::DeserializeOwned>(
    state: &Shared,
    body: &[u8],
    check: impl Fn(&T) -> Result<(), String>,
    file: impl FnOnce(&mut Book, T) -> Response,
) -> Response {
    let spec: T = match serde_json::from_slice(body) {
        Ok(spec) => spec,
        Err(e) => return refuse(format!("the body is not a valid rule: {e}")),
    };
    match check(&spec) {
        Ok(()) => file(&mut lock(state), spec),
        Err(problem) => refuse(problem),
    }
}

async fn add_fault(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    file(&state, &body, FaultSpec::validate, |book, spec| {
        let id = book.add_fault(spec);
        (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
    })
}

async fn add_rate(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    file(&state, &body, RateSpec::validate, |book, spec| {
        book.add_rate(spec);
        StatusCode::CREATED.into_response()
    })
}

async fn add_answer(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    file(&state, &body, AnswerSpec::validate, |book, spec| {
        book.add_answer(spec);
        StatusCode::CREATED.into_response()
    })
}

async fn add_capture(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    file(&state, &body, CaptureSpec::validate, |book, spec| {
        book.captures.add(spec);
        StatusCode::CREATED.into_response()
    })
}

async fn captured(State(state): State<Shared>, Query(n): Query<Narrow>) -> Json<Value> {
    Json(json!(lock(&state).captures.kept(n.access_key.as_deref())))
}

async fn clear_captured(State(state): State<Shared>) -> StatusCode {
    lock(&state).captures.clear();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(state): State<Shared>) -> Json<Value> {
    let book = lock(&state);
    Json(json!({"faults": book.faults, "rates": book.rates}))
}

async fn clear_faults(State(state): State<Shared>) -> StatusCode {
    let mut book = lock(&state);
    book.faults.clear();
    book.rates.clear();
    StatusCode::NO_CONTENT
}

async fn list_answers(State(state): State<Shared>) -> Json<Value> {
    Json(json!(lock(&state).answers))
}

async fn clear_answers(State(state): State<Shared>) -> StatusCode {
    lock(&state).answers.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Narrow {
    region: Option<String>,
    access_key: Option<String>,
}

async fn calls(State(state): State<Shared>, Query(n): Query<Narrow>) -> Json<Value> {
    let tallies = lock(&state).tallies(n.region.as_deref(), n.access_key.as_deref());
    Json(json!(tallies
        .into_iter()
        .map(|(op, t)| (op, t.requests))
        .collect::<std::collections::BTreeMap<_, _>>()))
}

async fn calls_upstream(State(state): State<Shared>, Query(n): Query<Narrow>) -> Json<Value> {
    Json(json!(
        lock(&state).tallies(n.region.as_deref(), n.access_key.as_deref())
    ))
}

async fn calls_busy(State(state): State<Shared>) -> Json<Value> {
    let busy = lock(&state).busy.total(std::time::Instant::now());
    Json(json!({"busy_ms": busy.as_secs_f64() * 1000.0}))
}

async fn clear_calls(State(state): State<Shared>) -> StatusCode {
    lock(&state).clear_calls();
    StatusCode::NO_CONTENT
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    lock(&state).reset(std::time::Instant::now());
    StatusCode::NO_CONTENT
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/faults", post(add_fault).get(list_faults).delete(clear_faults))
        .route("/rate", post(add_rate))
        .route(
            "/answers",
            post(add_answer).get(list_answers).delete(clear_answers),
        )
        .route("/calls", get(calls).delete(clear_calls))
        .route("/calls/upstream", get(calls_upstream))
        .route("/calls/busy", get(calls_busy))
        .route("/capture", post(add_capture))
        .route("/captured", get(captured).delete(clear_captured))
        .route("/reset", post(reset))
        .route("/health", get(|| async { "ok" }))
}
