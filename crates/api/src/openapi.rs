//! The OpenAPI 3.1 document of the whole HTTP API, served without the token at
//! `GET /api/openapi.json`.
//!
//! It is generated from the code: every handler carries a `#[utoipa::path(...)]` attribute
//! (method, path, parameters, body, responses with their error codes, security), and every
//! body type of [`crate::model`] derives `utoipa::ToSchema`, so the schemas' descriptions are
//! the types' doc comments. [`ApiDoc`] lists the handlers; a route added to the router without
//! being listed here fails the test `tests/openapi.rs`, which compares the document with the
//! router's routes (and with the calls of the web UI). docs/API.md stays the contract: it has
//! the details (every field, status and error code) that the document only summarizes.

use std::sync::LazyLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;
use crate::model;

/// The description of every `401` answer.
pub(crate) const UNAUTHORIZED: &str = "`unauthorized`: no token (`Authorization: Bearer TOKEN`) \
    nor a valid web UI session cookie, or a wrong token";

/// Added to the `403` answer of every `/api/v1` route that changes something.
const CROSS_ORIGIN: &str = "`cross_origin`: signed in by the web UI's session cookie, but sent \
    by a page of another origin (or without an `Origin` header)";

/// The description of every `500` answer.
pub(crate) const SERVER_ERROR: &str = "`store_error`: the store failed, nothing was changed; \
    `node_error`: the node failed otherwise; `internal`: a failure inside the server \
    (see the daemon's log)";

/// The description of the `503` answer of routes that read or write through the node.
pub(crate) const UNAVAILABLE: &str = "`store_busy`: the store's queue is full, try again \
    shortly; `store_stopped`: the store's writer stopped, restart the daemon; \
    `network_unavailable`: the network layer failed or stopped; `shutting_down`: the daemon \
    is stopping";

/// The description of the `413` answer of routes with a JSON body.
pub(crate) const BODY_TOO_LARGE: &str = "`body_too_large`: a body over 64 KiB";

/// The description of the `415` answer of routes with a JSON body.
pub(crate) const NOT_JSON: &str =
    "`unsupported_media_type`: a body without `Content-Type: application/json`";

/// Name of the security scheme of `/api/v1`: `Authorization: Bearer TOKEN`.
pub(crate) const BEARER: &str = "bearer";

/// Name of the security scheme of the query token of `GET /api/v1/events`.
pub(crate) const QUERY_TOKEN: &str = "access_token";

const DESCRIPTION: &str = "The local HTTP API of the kith daemon: JSON under `/api/v1`, a \
Server-Sent Events stream of new entries and notifications (`GET /api/v1/events`), and, \
without the token, a health check, Atom feeds and permalink pages.\n\n\
This document is generated from the daemon's code (its handlers and the types of \
`kith_api::model`). The contract, with every field, status code and error code in detail, \
is docs/API.md in the kith repository.\n\n\
Every `/api/v1` request carries `Authorization: Bearer TOKEN`, the token being the file \
`api.token` in the daemon's data directory (security scheme `bearer`); the web UI uses a \
session cookie, `kith_session`, instead (set by `GET /login`; a request signed in by it that \
changes something must come from the daemon's own page, else `403 cross_origin`). A missing \
or wrong token is `401 unauthorized`. \
Every error answer has the JSON body `{\"error\", \"code\"}` (`ErrorBody`): `error` is for \
people, `code` is stable, for programs.";

/// The OpenAPI document: every route of `routes::router`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kith daemon API",
        version = crate::VERSION,
        description = DESCRIPTION,
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        crate::routes::health,
        document,
        crate::routes::identity,
        crate::routes::status,
        crate::routes::metrics,
        crate::routes::peers,
        crate::routes::denied_peers,
        crate::routes::deny_peers,
        crate::routes::allow_all_peers,
        crate::routes::allow_peer,
        crate::routes::head,
        crate::routes::create_post,
        crate::routes::entry,
        crate::routes::delete_entry,
        crate::routes::thread,
        crate::routes::react,
        crate::routes::repost,
        crate::routes::edit,
        crate::routes::history,
        crate::routes::resolve,
        crate::routes::home,
        crate::routes::feed,
        crate::routes::fork,
        crate::routes::public_timeline,
        crate::routes::public_settings,
        crate::routes::set_public_settings,
        crate::routes::notifications,
        crate::routes::following,
        crate::routes::follow,
        crate::routes::unfollow,
        crate::routes::followed_tags,
        crate::routes::follow_tag,
        crate::routes::tag_timeline,
        crate::routes::unfollow_tag,
        crate::routes::blocks,
        crate::routes::block,
        crate::routes::unblock,
        crate::routes::mutes,
        crate::routes::mute,
        crate::routes::unmute,
        crate::routes::upload_blob,
        crate::routes::blob,
        crate::routes::set_profile,
        crate::routes::profile,
        crate::routes::claim_name,
        crate::routes::lookup_name,
        crate::routes::release_name,
        crate::privacy::lists,
        crate::privacy::create_list,
        crate::privacy::delete_list,
        crate::privacy::add_member,
        crate::privacy::remove_member,
        crate::privacy::send_dm,
        crate::privacy::dms,
        crate::bridges::list,
        crate::bridges::create,
        crate::routes::events,
        crate::atom::feed,
        crate::routes::permalink_page,
        crate::routes::slug_page,
        crate::routes::global_slug_page,
        ui_page,
        ui_asset,
        ui_login,
        ui_logout,
        ui_login_link,
    ),
    components(schemas(
        // Not the body of a route, but the `data` of the events of `GET /api/v1/events`.
        model::EntryEvent,
        model::NotificationObject,
        model::ResetEvent,
    )),
    modifiers(&Authentication),
    tags(
        (name = "meta", description = "The health check and this document (no token)."),
        (name = "node", description = "This peer: its identity, status, peers, deny list, \
            and DHT lookups of feed heads."),
        (name = "entries", description = "Posting, and the entries this peer holds: threads, \
            reactions, reposts, edits, deletes, permalinks."),
        (name = "timelines", description = "Pages of entries, newest first: the home \
            timeline, an author's feed, the public timeline, notifications."),
        (name = "follows", description = "Follows, hashtags, blocks and mutes."),
        (name = "profiles", description = "Profiles and avatars (blobs)."),
        (name = "names", description = "The registry of unique usernames."),
        (name = "bridges", description = "RSS and Atom feeds republished as kith authors."),
        (name = "events", description = "The Server-Sent Events stream."),
        (name = "pages", description = "Atom feeds and HTML permalink pages, for feed readers \
            and browsers (no token)."),
        (name = "ui", description = "The web UI: its page and files, and its sign-in (a \
            one-time link that sets the session cookie `kith_session`)."),
    ),
)]
pub(crate) struct ApiDoc;

/// Adds the security schemes the operations refer to, and the web UI cookie's `403` to every
/// `/api/v1` operation that changes something.
struct Authentication;

impl Modify for Authentication {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let changing = [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in changing.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                match responses.get_mut("403") {
                    Some(RefOr::T(forbidden)) => {
                        forbidden.description =
                            format!("{}; {CROSS_ORIGIN}", forbidden.description);
                    }
                    _ => {
                        let body = ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build();
                        let forbidden = ResponseBuilder::new()
                            .description(CROSS_ORIGIN)
                            .content("application/json", body)
                            .build();
                        responses.insert("403".to_owned(), RefOr::T(forbidden));
                    }
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The API token: the 64 hex digits of the file `api.token` in the \
                         daemon's data directory, sent as `Authorization: Bearer TOKEN` (the \
                         scheme name is not case sensitive). Every `/api/v1` route needs it. \
                         The web UI authenticates with a session cookie, `kith_session`, \
                         instead: it is accepted wherever the token is, and a request signed \
                         in by it that changes something (any method but `GET` and `HEAD`) \
                         must come from the daemon's own page (`403 cross_origin`).",
                    ))
                    .build(),
            ),
        );
        let mut query = ApiKeyValue::new(QUERY_TOKEN);
        query.description = Some(
            "The API token as the query parameter `access_token`, for `GET /api/v1/events` \
             only (a browser's `EventSource` cannot set headers)."
                .to_owned(),
        );
        components.add_security_scheme(QUERY_TOKEN, SecurityScheme::ApiKey(ApiKey::Query(query)));
    }
}

/// The document as JSON, made once.
static DOCUMENT: LazyLock<Result<String, String>> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .map_err(|error| error.to_string())
});

/// This OpenAPI document.
///
/// Generated from the daemon's code; no token is needed.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of the whole HTTP API",
            content_type = "application/json"),
        (status = 500, description = "`internal`: the document could not be serialized",
            body = model::ErrorBody),
    ),
)]
pub(crate) async fn document() -> Response {
    match &*DOCUMENT {
        Ok(json) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json.as_str(),
        )
            .into_response(),
        Err(error) => ApiError::internal(format!("the OpenAPI document: {error}")).into_response(),
    }
}

// ---- the web UI's routes ----
//
// Their handlers are in `ui`; these stand-ins carry the routes' documentation only (they are
// never called).

/// The web UI's page
///
/// `index.html` of the web UI, compiled into the daemon. No token: it holds no data. Served
/// with a strict `Content-Security-Policy` (the page loads nothing from any other host), an
/// `ETag` and `Cache-Control: no-cache`.
#[utoipa::path(
    get,
    path = "/",
    tag = "ui",
    operation_id = "ui_page",
    responses(
        (status = 200, body = String, content_type = "text/html", description = "The page"),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
    ),
)]
#[allow(dead_code)]
fn ui_page() {}

/// A file of the web UI
///
/// The web UI's scripts, styles and icon, compiled into the daemon. No token: they hold no
/// data. Served like the page (`ETag`, `Cache-Control: no-cache`, the same
/// `Content-Security-Policy`).
#[utoipa::path(
    get,
    path = "/assets/{file}",
    tag = "ui",
    operation_id = "ui_asset",
    params(("file" = String, Path, description = "The file's name, e.g. `app.js`")),
    responses(
        (status = 200, description = "The file",
            content(("text/javascript"), ("text/css"), ("image/svg+xml"))),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
        (status = 404, body = model::ErrorBody,
            description = "`no_route`: no such file of the web UI"),
    ),
)]
#[allow(dead_code)]
fn ui_asset() {}

/// Sign a browser in to the web UI
///
/// Spends a one-time code made by `POST /api/v1/ui/login` and sets the session cookie
/// `kith_session` (`HttpOnly; SameSite=Strict; Path=/`), which the API then accepts wherever it
/// accepts the token. No token.
#[utoipa::path(
    get,
    path = "/login",
    tag = "ui",
    operation_id = "ui_login",
    params(("code" = String, Query, description = "The one-time code of the sign-in link")),
    responses(
        (status = 303, description = "Signed in: to the page `/`",
            headers(
                ("Location" = String, description = "`/`"),
                ("Set-Cookie" = String, description = "The session cookie `kith_session`"),
            )),
        (status = 401, body = String, content_type = "text/html", description = "A page saying \
            the link was already used, has expired (links last 10 minutes), or was never made \
            by this daemon"),
        (status = 500, body = model::ErrorBody,
            description = "`internal`: the system's random generator failed"),
    ),
)]
#[allow(dead_code)]
fn ui_login() {}

/// Sign the browser out of the web UI
///
/// The browser drops the session cookie. No token.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "ui",
    operation_id = "ui_logout",
    responses(
        (status = 204, description = "Signed out",
            headers(("Set-Cookie" = String, description = "`kith_session` with `Max-Age=0`"))),
    ),
)]
#[allow(dead_code)]
fn ui_logout() {}

/// Make a one-time sign-in link for the web UI
///
/// A link `http://HOST/login?code=…` on the host the request was sent to, valid for 10 minutes
/// and once (`kith ui` prints it). At most 16 unused links exist at once: making another
/// forgets the oldest. No body is read.
#[utoipa::path(
    post,
    path = "/api/v1/ui/login",
    tag = "ui",
    operation_id = "ui_login_link",
    responses(
        (status = 201, body = model::LoginLink, description = "The link"),
        (status = 400, body = model::ErrorBody,
            description = "`missing_host`: the request has no usable `Host` header"),
        (status = 401, body = model::ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = model::ErrorBody,
            description = "`internal`: the system's random generator failed"),
    ),
    security(("bearer" = [])),
)]
#[allow(dead_code)]
fn ui_login_link() {}
