//! Error responses: a status code and `{"error": "...", "code": "..."}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_node::NodeError;
use kith_store::StoreError;

use crate::model::ErrorBody;

/// An error answer of the API. `code` is stable (docs/API.md); `message` is for people.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with `code`.
    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 401: no or a wrong token.
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong API token: send `Authorization: Bearer TOKEN` with the token \
             from the file `api.token` in the daemon's data directory",
        )
    }

    /// 500 for a failure inside the server (a task that panicked, …).
    /// A request signed in by the web UI's cookie that changes something, sent by a page of
    /// another origin (cross-site request forgery, or a misconfigured proxy).
    pub(crate) fn cross_origin(why: String) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            format!(
                "refused: a request signed in by the web UI's cookie must come from the daemon's own page ({why}); scripts use the API token instead"
            ),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The status code.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The message for people.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The stable code.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(code = self.code, status = %self.status, "API error: {}", self.message);
        }
        let body = ErrorBody {
            error: self.message,
            code: self.code.to_owned(),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_busy",
                "the store is busy; try again shortly",
            ),
            StoreError::WriterStopped => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_stopped",
                error.to_string(),
            ),
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store_error",
                format!("{other}; see the daemon's log"),
            ),
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> Self {
        match error {
            NodeError::Invalid(message) => Self::bad_request("invalid_input", message),
            NodeError::NotFound(message) => Self::not_found("entry_not_found", message),
            NodeError::NameTaken { .. } => {
                Self::new(StatusCode::CONFLICT, "name_taken", error.to_string())
            }
            NodeError::NameQuorum { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "name_quorum_unreachable",
                error.to_string(),
            ),
            NodeError::BlobNotFound(message) => Self::not_found("blob_not_found", message),
            NodeError::Forbidden(message) => {
                Self::new(StatusCode::FORBIDDEN, "not_your_entry", message)
            }
            NodeError::InvalidPeerId { .. } => {
                Self::bad_request("invalid_peer_id", error.to_string())
            }
            NodeError::DenyListFull { .. } => {
                Self::new(StatusCode::CONFLICT, "deny_list_full", error.to_string())
            }
            NodeError::Refused(_) => {
                Self::new(StatusCode::CONFLICT, "feed_refused", error.to_string())
            }
            NodeError::InvalidUrl(message) => Self::bad_request("invalid_url", message),
            NodeError::FeedUnavailable(message) => {
                Self::new(StatusCode::BAD_GATEWAY, "feed_unavailable", message)
            }
            NodeError::BridgesDisabled => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "bridges_disabled",
                error.to_string(),
            ),
            NodeError::TooManyBridges { .. } => {
                Self::new(StatusCode::CONFLICT, "too_many_bridges", error.to_string())
            }
            NodeError::Store(store) => Self::from(store),
            NodeError::Net(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "network_unavailable",
                format!("{error}; see the daemon's log"),
            ),
            NodeError::Stopped => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the daemon is shutting down; try again once it has restarted",
            ),
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "node_error",
                format!("{other}; see the daemon's log"),
            ),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON: send `Content-Type: application/json`",
            ),
            JsonRejection::JsonDataError(error) => Self::bad_request(
                "invalid_body",
                format!(
                    "the JSON body does not have the expected fields: {}",
                    error.body_text()
                ),
            ),
            JsonRejection::JsonSyntaxError(error) => Self::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {}", error.body_text()),
            ),
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the request body is larger than {} bytes",
                        crate::MAX_BODY_BYTES
                    ),
                )
            }
            other => Self::bad_request(
                "invalid_body",
                format!("cannot read the request body: {}", other.body_text()),
            ),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(
            "invalid_query",
            format!(
                "invalid query parameters: {}; see docs/API.md for the parameters of this route",
                rejection.body_text()
            ),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(
            "invalid_path",
            format!("invalid path: {}", rejection.body_text()),
        )
    }
}
