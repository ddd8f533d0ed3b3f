//! The local HTTP API of the kith daemon: JSON under `/api/v1`, a Server-Sent Events stream
//! of new entries, and an open `GET /health`. `docs/API.md` is the contract: every route,
//! body, status code and error code.
//!
//! The caller binds the listener (so port 0 works and the caller learns the real port) and
//! passes a [`kith_node::Node`], the API token and a shutdown future to [`serve`]:
//!
//! ```no_run
//! # async fn run(node: kith_node::Node) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("API at http://{}", listener.local_addr()?);
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let token = "0123456789abcdef0123456789abcdef".to_owned();
//! let server = tokio::spawn(kith_api::serve(listener, node.clone(), token, async move {
//!     let _ = stopped.await;
//! }));
//! // … later: stop the API, then the node.
//! let _ = stop.send(());
//! server.await??;
//! node.shutdown().await.ok();
//! # Ok(())
//! # }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | the JSON bodies, shared with clients (the `kith` command line) |
//! | `routes` | the router, authentication and the handlers |
//! | `atom` | `GET /feeds/{did}.atom`: an author's public posts as an Atom feed (no token) |
//! | `gateway` | [`serve_gateway`]: the public, read-only HTML gateway on a listener of its own (`kith daemon --gateway`): permalink, author and thread pages and Atom feeds, fetched from the network when not held, no token and no `/api/v1` |
//! | `bridges` | `/api/v1/bridges`: RSS/Atom feeds republished as kith authors |
//! | `events` | the event hub behind `GET /api/v1/events`: numbering, resume ring, bounded fan-out |
//! | [`ui`] | the web UI (files compiled in by `build.rs`) and its sign-in: one-time links, the session cookie, the same-origin check |
//! | `error` | error responses `{"error", "code"}` and the mapping of library errors |
//! | `openapi` | the OpenAPI 3.1 document of every route, `GET /api/openapi.json` (no token), generated with utoipa |
//!
//! Every queue is bounded: request bodies are limited to [`MAX_BODY_BYTES`], each event
//! stream client may fall at most a fixed number of events behind before it is told to
//! reset, and the resume ring holds a fixed number of events.

mod atom;
mod bridges;
mod error;
mod events;
mod gateway;
pub mod model;
mod openapi;
mod privacy;
mod routes;
pub mod ui;

use std::future::Future;
use std::io;
use std::sync::Arc;

use kith_node::Node;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use gateway::{GATEWAY_CONCURRENCY, GATEWAY_CSP, serve_gateway};

/// Largest request body accepted; a larger one is answered with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Events kept for clients that resume the event stream with `Last-Event-ID`.
pub const EVENT_RING_CAPACITY: usize = events::RING_CAPACITY;

/// Events an event-stream client may fall behind before it gets a `reset` event.
pub const EVENT_CLIENT_QUEUE: usize = events::CLIENT_QUEUE;

/// Interval of keep-alive comments on the event stream.
pub const EVENT_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

/// The version string the API reports (`identity`, `status`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Shortest API token accepted by [`serve`], in bytes.
pub const MIN_TOKEN_BYTES: usize = 16;

/// The `Content-Type` of `GET /metrics`: the OpenMetrics text format, which Prometheus reads.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Refuses a token shorter than [`MIN_TOKEN_BYTES`].
fn check_token(token: &str) -> io::Result<()> {
    if token.len() < MIN_TOKEN_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the API token must be at least {MIN_TOKEN_BYTES} bytes long"),
        ));
    }
    Ok(())
}

/// Serves the API on `listener` until `shutdown` completes, then stops accepting, ends the
/// event streams, waits for requests in progress, and returns. The node is not shut down:
/// that is the caller's next step.
///
/// `token` is the secret every `/api/v1` request must carry (`Authorization: Bearer TOKEN`);
/// it must be at least [`MIN_TOKEN_BYTES`] long.
pub async fn serve(
    listener: TcpListener,
    node: Node,
    token: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    check_token(&token)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let hub = Arc::new(events::Hub::new());
    let hub_task = tokio::spawn(events::run_hub(
        Arc::clone(&hub),
        node.clone(),
        node.subscribe(),
        stop_rx.clone(),
    ));
    let app = routes::router(routes::AppState::new(node, token, hub, stop_rx));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Ends the event streams (they never end on their own) so the server can drain.
            let _ = stop_tx.send(true);
        })
        .await;
    // The hub stops on the same signal; wait so nothing of the node outlives `serve`.
    if let Err(error) = hub_task.await {
        tracing::error!(%error, "the event hub task failed");
    }
    served
}

/// Serves `GET /metrics` alone on `listener` (`kith daemon --metrics ADDR`: a scrape address
/// apart from the API), with the same token as the API, until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    node: Node,
    token: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    check_token(&token)?;
    let (_stop_tx, stop_rx) = watch::channel(false);
    let state = routes::AppState::new(node, token, Arc::new(events::Hub::new()), stop_rx);
    axum::serve(listener, routes::metrics_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
