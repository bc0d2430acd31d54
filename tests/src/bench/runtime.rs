//! A Lambda Runtime API emulator small enough to time things with: it hands out queued events on
//! `invocation/next` and reports when the response (or error) for each comes back. Unlike
//! `cargo lambda watch` it starts nothing itself, so "process start to first response" is ours to
//! measure.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Mutex};

type Reply = Result<Value, String>;

struct Shared {
    queue: Mutex<mpsc::UnboundedReceiver<(String, Bytes)>>,
    waiting: std::sync::Mutex<HashMap<String, oneshot::Sender<Reply>>>,
    init_error: std::sync::Mutex<Option<String>>,
    /// When the function first asked for an event: the end of its initialisation.
    first_next: std::sync::Mutex<Option<Instant>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    sender: mpsc::UnboundedSender<(String, Bytes)>,
    shared: Arc<Shared>,
    ids: AtomicU64,
}

/// A queued invocation: await [`Pending::reply`] for its answer.
pub struct Pending {
    rx: oneshot::Receiver<Reply>,
    shared: Arc<Shared>,
}

impl Pending {
    pub async fn reply(self, limit: Duration) -> Reply {
        match tokio::time::timeout(limit, self.rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err("the runtime API dropped the invocation".into()),
            Err(_) => Err(match self.shared.init_error.lock().unwrap().clone() {
                Some(e) => format!("the function failed to start: {e}"),
                None => format!("no response within {limit:?}"),
            }),
        }
    }
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(receiver),
            waiting: Default::default(),
            init_error: Default::default(),
            first_next: Default::default(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            sender,
            shared,
            ids: AtomicU64::new(0),
        }
    }

    /// Queues an event; the function picks it up on its next `invocation/next`.
    pub fn queue(&self, event: &Value) -> Pending {
        let id = format!("bench-{}", self.ids.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.sender
            .send((id, Bytes::from(serde_json::to_vec(event).unwrap())))
            .unwrap();
        Pending {
            rx,
            shared: self.shared.clone(),
        }
    }

    /// When a function first polled `invocation/next`, if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_next.lock().unwrap()
    }

    /// One invocation of a running function: its latency and answer.
    pub async fn invoke(&self, event: &Value) -> (Duration, Reply) {
        let started = Instant::now();
        let reply = self.queue(event).reply(Duration::from_secs(300)).await;
        (started.elapsed(), reply)
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> (HeaderMap, Bytes) {
    shared.first_next.lock().unwrap().get_or_insert_with(Instant::now);
    let (id, body) = {
        let mut queue = shared.queue.lock().await;
        queue.recv().await.expect("the bench keeps the queue open")
    };
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(300);
    let mut headers = HeaderMap::new();
    let set = |headers: &mut HeaderMap, k: &'static str, v: String| {
        headers.insert(k, HeaderValue::from_str(&v).unwrap());
    };
    set(&mut headers, "lambda-runtime-aws-request-id", id);
    set(
        &mut headers,
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string(),
    );
    set(
        &mut headers,
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
    );
    set(
        &mut headers,
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".into(),
    );
    (headers, body)
}

fn finish(shared: &Shared, id: &str, reply: Reply) -> StatusCode {
    match shared.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(reply);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&shared, &id, Ok(value))
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, Err(String::from_utf8_lossy(&body).into_owned()))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}
