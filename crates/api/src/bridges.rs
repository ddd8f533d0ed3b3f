//! `/api/v1/bridges`: RSS and Atom feeds this daemon republishes as kith authors
//! (`kith_node::Node::follow_feed`).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use kith_node::BridgeInfo;

use crate::error::ApiError;
use crate::model::{BridgeList, BridgeObject, NewBridge};
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

/// `POST /api/v1/bridges`: 201 with the new bridge, or 200 with the existing one when the
/// URL is bridged already.
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

/// `GET /api/v1/bridges`.
pub(crate) async fn list(State(state): State<AppState>) -> Json<BridgeList> {
    Json(BridgeList {
        bridges: state.node.bridges().into_iter().map(object).collect(),
    })
}
