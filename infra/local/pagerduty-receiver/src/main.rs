//! A local PagerDuty Events API v2 receiver for tests and the demo.
//!
//! `POST /v2/enqueue` validates events exactly as PagerDuty documents them and answers 202, 400 or
//! 429 like the real service. Test-only routes under `/_test/` show what was accepted, rejected and
//! opened, and inject faults:
//!
//! - `GET  /_test/events`     accepted events, as received
//! - `GET  /_test/rejected`   rejected requests with their errors
//! - `GET  /_test/incidents`  incidents by routing key and dedup key, with their status
//! - `GET  /_test/stats`      request counters
//! - `POST /_test/faults`     `{"count": N, "status": 429, "delay_ms": 0, "routing_key": K,
//!   "retry_after": S}`: the next N requests (for routing key K, when given) fail with that status
//!   (with `Retry-After: S` when given) and/or wait that long
//!
//! Listings take `?routing_key=K` to show one integration's share only.
//! - `POST /_test/reset`      forget everything
//!
//! Usage: `pagerduty-receiver [--listen 127.0.0.1:0] [--port-file PATH]`

mod book;
mod contract;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use book::{Book, Fault};

type Shared = Arc<Mutex<Book>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, Book> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn enqueue(State(state): State<Shared>, body: Bytes) -> Response {
    let routing_key = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("routing_key").and_then(Value::as_str).map(str::to_string));
    let fault = {
        let mut book = lock(&state);
        book.stats.requests += 1;
        book.take_fault(routing_key.as_deref())
    };
    if let Some(fault) = fault {
        tokio::time::sleep(fault.delay()).await;
        if let Some(status) = fault.status {
            lock(&state).stats.faulted += 1;
            return fault_response(status, fault.retry_after);
        }
    }
    match contract::validate(&body) {
        Ok((event, raw)) => {
            let dedup_key = lock(&state).apply(&event, raw);
            let body = json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key});
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Err(errors) => {
            let mut book = lock(&state);
            book.stats.rejected += 1;
            let raw = String::from_utf8_lossy(&body)
                .chars()
                .take(4096)
                .collect::<String>();
            book.rejected
                .push(json!({"routing_key": routing_key, "errors": errors, "body": raw}));
            let body =
                json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors});
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

fn fault_response(status: u16, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if code == StatusCode::TOO_MANY_REQUESTS {
        json!({"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."})
    } else if code == StatusCode::BAD_REQUEST {
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": ["injected fault: event refused"]})
    } else {
        json!({"status": "error", "message": "injected fault"})
    };
    let mut response = (code, Json(body)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

#[derive(Deserialize)]
struct FaultRequest {
    #[serde(default = "one")]
    count: usize,
    #[serde(flatten)]
    fault: Fault,
}

fn one() -> usize {
    1
}

async fn add_faults(State(state): State<Shared>, Json(req): Json<FaultRequest>) -> StatusCode {
    let mut book = lock(&state);
    book.faults.extend(std::iter::repeat_n(req.fault, req.count));
    StatusCode::NO_CONTENT
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    *lock(&state) = Book::default();
    StatusCode::NO_CONTENT
}

/// `?routing_key=K` narrows a listing to one integration, so parallel tests see only their own.
#[derive(Deserialize)]
struct Filter {
    routing_key: Option<String>,
}

impl Filter {
    fn keeps(&self, routing_key: Option<&str>) -> bool {
        self.routing_key.is_none() || self.routing_key.as_deref() == routing_key
    }
}

async fn events(State(state): State<Shared>, Query(filter): Query<Filter>) -> Json<Value> {
    let book = lock(&state);
    let kept = book
        .accepted
        .iter()
        .filter(|e| filter.keeps(e.get("routing_key").and_then(Value::as_str)))
        .cloned()
        .collect();
    Json(Value::Array(kept))
}

async fn rejected(State(state): State<Shared>, Query(filter): Query<Filter>) -> Json<Value> {
    let book = lock(&state);
    let kept = book
        .rejected
        .iter()
        .filter(|e| filter.keeps(e.get("routing_key").and_then(Value::as_str)))
        .cloned()
        .collect();
    Json(Value::Array(kept))
}

async fn incidents(State(state): State<Shared>, Query(filter): Query<Filter>) -> Json<Value> {
    let book = lock(&state);
    let kept: Vec<_> = book
        .incidents
        .iter()
        .filter(|i| filter.keeps(Some(&i.routing_key)))
        .collect();
    Json(serde_json::to_value(kept).unwrap_or_default())
}

async fn stats(State(state): State<Shared>) -> Json<Value> {
    Json(serde_json::to_value(&lock(&state).stats).unwrap_or_default())
}

fn app() -> Router {
    Router::new()
        .route("/v2/enqueue", post(enqueue))
        .route("/_test/events", get(events))
        .route("/_test/rejected", get(rejected))
        .route("/_test/incidents", get(incidents))
        .route("/_test/stats", get(stats))
        .route("/_test/faults", post(add_faults))
        .route("/_test/reset", post(reset))
        .route("/_test/health", get(|| async { "ok" }))
        // Above PagerDuty's 512 KB so that an oversized event gets PagerDuty's 400, not axum's 413.
        .layer(DefaultBodyLimit::max(4 * contract::MAX_EVENT_BYTES))
        .with_state(Shared::default())
}

struct Args {
    listen: String,
    port_file: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:0".to_string(),
        port_file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--port-file" => args.port_file = Some(value()?),
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: pagerduty-receiver [--listen ADDR] [--port-file PATH]"
                ))
            }
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    if let Some(path) = &args.port_file {
        std::fs::write(path, addr.port().to_string())?;
    }
    println!("pagerduty-receiver listening on http://{addr}/v2/enqueue");
    axum::serve(listener, app())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
