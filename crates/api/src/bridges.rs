//! `/api/v1/bridges`: RSS and Atom feeds this daemon republishes as kith authors
//! (`kith_node::Node::follow_feed`).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use kith_node::BridgeInfo;

use crate::error::ApiError;
use crate::model::{BridgeList, BridgeObject, ErrorBody, NewBridge};
use crate::openapi::{BODY_TOO_LARGE, NOT_JSON, SERVER_ERROR, UNAUTHORIZED};
use crate::routes::AppState;

fn object(info: BridgeInfo) -> BridgeObject {
    BridgeObject {
        author: info.author.to_did(),
        url: info.url,
        title: info.title,
        last_poll_ms: info.last_poll_ms,
        last_error: info.last_error,
    }
}

/// Bridge an RSS or Atom feed
///
/// Fetches the feed once, makes a new author for it (its profile: the feed's title as name, the URL
/// as bio) and follows it; the newest 20 items are posted right after, in the background, and the
/// feed is polled from then on. A URL bridged already (after normalisation) is answered `200` with
/// the existing bridge.
#[utoipa::path(
    post,
    path = "/api/v1/bridges",
    tag = "bridges",
    operation_id = "create_bridge",
    request_body = NewBridge,
    responses(
        (status = 201, body = BridgeObject, description = "The new bridge"),
        (status = 200, body = BridgeObject, description = "The URL is bridged already: the \
            existing bridge; nothing new was made"),
        (status = 400, body = ErrorBody, description = "`invalid_url`: not an `http://` or \
            `https://` URL; `invalid_json`, `invalid_body`: not the expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 409, body = ErrorBody, description = "`too_many_bridges`: the daemon already \
            bridges 64 feeds; none was added; `feed_refused`: the local feed refused the new \
            entry"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 502, body = ErrorBody, description = "`feed_unavailable`: the feed could not be \
            fetched, or is not RSS or Atom; nothing was made"),
        (status = 503, body = ErrorBody, description = "`bridges_disabled`: the daemon runs no \
            bridge feeds; `store_busy`: the store's queue is full, try again shortly; \
            `store_stopped`: the store's writer stopped, restart the daemon; \
            `network_unavailable`: the network layer failed or stopped; `shutting_down`: the \
            daemon is stopping"),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewBridge>, JsonRejection>,
) -> Result<(StatusCode, Json<BridgeObject>), ApiError> {
    let Json(NewBridge { url }) = body?;
    let (info, created) = state.node.follow_feed(&url).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(object(info))))
}

/// The bridge feeds
///
/// Every external feed this daemon bridges, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/bridges",
    tag = "bridges",
    operation_id = "list_bridges",
    responses(
        (status = 200, body = BridgeList, description = "The bridges"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list(State(state): State<AppState>) -> Json<BridgeList> {
    Json(BridgeList {
        bridges: state.node.bridges().into_iter().map(object).collect(),
    })
}
