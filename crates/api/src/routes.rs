//! The router: authentication, input validation and the handlers of docs/API.md.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use kith_node::Node;
use kith_proto::blob::MAX_BLOB_BYTES;
use kith_proto::limits::MAX_TEXT_BYTES;
use kith_proto::{AuthorId, ContentId};
use kith_store::{HomeCursor, Store};
use serde::Deserialize;
use tokio::sync::watch;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::events::Hub;
use crate::model::ErrorBody;
use crate::model::{
    AuthorList, AuthorRef, BlobObject, DeniedPeers, DenyPeers, EntryObject, FeedPage, Following,
    ForkObject, HeadObject, Health, History, HomePage, Identity, NameObject, NameReleased, NewEdit,
    NewFollow, NewName, NewPost, NewProfile, NewReaction, NewRepost, NewTag, NotificationObject,
    Notifications, Peer, Peers, ProfileObject, PublicSettings, Reachability, ReactionObject,
    Status, Tags, Thread, TimelinePage,
};
use crate::openapi::{BODY_TOO_LARGE, NOT_JSON, SERVER_ERROR, UNAUTHORIZED, UNAVAILABLE};
use crate::{EVENT_KEEP_ALIVE, MAX_BODY_BYTES, VERSION};

/// Entries per page when the request does not say.
pub(crate) const DEFAULT_LIMIT: usize = 20;
/// Most entries per page.
pub(crate) const MAX_LIMIT: usize = 200;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) node: Node,
    token: Arc<str>,
    hub: Arc<Hub>,
    stop: watch::Receiver<bool>,
    pub(crate) logins: Arc<crate::ui::LoginCodes>,
}

impl AppState {
    pub(crate) fn new(
        node: Node,
        token: String,
        hub: Arc<Hub>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            node,
            token: token.into(),
            hub,
            stop,
            logins: Arc::default(),
        }
    }

    /// The API token (also the key of the web UI's session cookies).
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

/// Every route of the API.
pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/identity", get(identity))
        .route("/api/v1/posts", post(create_post))
        .route("/api/v1/entries/{id}", get(entry).delete(delete_entry))
        .route("/api/v1/entries/{id}/thread", get(thread))
        .route("/api/v1/entries/{id}/reactions", post(react))
        .route("/api/v1/entries/{id}/reposts", post(repost))
        .route("/api/v1/entries/{id}/edits", post(edit))
        .route("/api/v1/entries/{id}/history", get(history))
        .route(
            "/api/v1/blobs",
            post(upload_blob).layer(DefaultBodyLimit::max(MAX_BLOB_BYTES)),
        )
        .route("/api/v1/blobs/{id}", get(blob))
        .route("/api/v1/profile", post(set_profile))
        .route("/api/v1/profiles/{did}", get(profile))
        .route("/api/v1/notifications", get(notifications))
        .route("/api/v1/names", post(claim_name))
        .route(
            "/api/v1/names/{name}",
            get(lookup_name).delete(release_name),
        )
        .route("/api/v1/resolve", get(resolve))
        .route("/api/v1/tags", get(followed_tags).post(follow_tag))
        .route("/api/v1/tags/{tag}", get(tag_timeline).delete(unfollow_tag))
        .route("/api/v1/public", get(public_timeline))
        .route(
            "/api/v1/public/settings",
            get(public_settings).put(set_public_settings),
        )
        .route("/api/v1/blocks", get(blocks).post(block))
        .route("/api/v1/blocks/{did}", delete(unblock))
        .route("/api/v1/mutes", get(mutes).post(mute))
        .route("/api/v1/mutes/{did}", delete(unmute))
        .route("/api/v1/timelines/home", get(home))
        .route("/api/v1/feeds/{did}", get(feed))
        .route("/api/v1/forks/{did}", get(fork))
        .route("/api/v1/follows", get(following).post(follow))
        .route("/api/v1/follows/{did}", delete(unfollow))
        .route("/api/v1/peers", get(peers))
        .route(
            "/api/v1/denied-peers",
            get(denied_peers).post(deny_peers).delete(allow_all_peers),
        )
        .route("/api/v1/denied-peers/{peer_id}", delete(allow_peer))
        .route("/api/v1/heads/{did}", get(head))
        .route("/api/v1/status", get(status))
        .route("/metrics", get(metrics))
        .route("/api/v1/ui/login", post(crate::ui::login_link))
        .route(
            "/api/v1/lists",
            get(crate::privacy::lists).post(crate::privacy::create_list),
        )
        .route("/api/v1/lists/{name}", delete(crate::privacy::delete_list))
        .route(
            "/api/v1/lists/{name}/members",
            post(crate::privacy::add_member),
        )
        .route(
            "/api/v1/lists/{name}/members/{did}",
            delete(crate::privacy::remove_member),
        )
        .route(
            "/api/v1/dms",
            get(crate::privacy::dms).post(crate::privacy::send_dm),
        )
        .route(
            "/api/v1/bridges",
            get(crate::bridges::list).post(crate::bridges::create),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    // EventSource cannot set headers, so the stream also takes `?access_token=`.
    let stream = Router::new()
        .route("/api/v1/events", get(events))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_token_or_query,
        ));
    Router::new()
        .route("/health", get(health))
        // The OpenAPI document of every route (see `openapi`): no token, it holds no data.
        .route("/api/openapi.json", get(crate::openapi::document))
        // The web UI: its page and files, and its sign-in (see `ui`). No token: the page
        // holds no data, and signing in is what the one-time code is for.
        .route("/", get(crate::ui::index))
        .route("/assets/{file}", get(crate::ui::asset))
        .route("/login", get(crate::ui::login))
        .route("/logout", post(crate::ui::logout))
        // Permalink pages are for browsers and show only what authors published: no token.
        .route("/p/{*link}", get(permalink_page))
        // `/<username>/<slug>`: a post by its slug (usernames never collide with the
        // routes above: `p`, `api`, `feeds`, `health` are reserved names).
        .route("/{user}/{slug}", get(slug_page))
        // `/<slug>`: a post by its global slug (reserved names are not slugs either).
        .route("/{slug}", get(global_slug_page))
        // Open: feed readers cannot send a token, and it shows only what the author published.
        .route("/feeds/{file}", get(crate::atom::feed))
        .merge(api)
        .merge(stream)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .with_state(state)
}

/// The router of `kith daemon --metrics ADDR`: `GET /metrics` alone, with the API token.
pub(crate) fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(metrics).route_layer(middleware::from_fn_with_state(state.clone(), require_token)),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

/// Counts every answer in `kith_api_requests_total` by method, route template (never the
/// raw path, so the series stay few) and status.
async fn record_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    record_answer(&state.node, "", request, next).await
}

/// Runs `request` and counts its answer under the route template (`unmatched` for a path no
/// route knows), with `prefix` in front (the gateway's `gateway:`).
pub(crate) async fn record_answer(
    node: &kith_node::Node,
    prefix: &str,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(
            || format!("{prefix}unmatched"),
            |path| format!("{prefix}{}", path.as_str()),
        );
    let response = next.run(request).await;
    node.record_api_request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

// ---- authentication ----

/// Compares in time that depends only on the lengths (the token's length is not secret).
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let difference = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Lets a request on with the bearer token, or with the web UI's session cookie (and, for a
/// change, from the daemon's own origin: see `ui`).
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = bearer(request.headers()) {
        return if same_secret(token.as_bytes(), state.token.as_bytes()) {
            next.run(request).await
        } else {
            ApiError::unauthorized().into_response()
        };
    }
    match crate::ui::cookie_auth(&state.token, request.method(), request.headers()) {
        crate::ui::CookieAuth::Accepted => next.run(request).await,
        crate::ui::CookieAuth::CrossOrigin(why) => ApiError::cross_origin(why).into_response(),
        crate::ui::CookieAuth::Absent => ApiError::unauthorized().into_response(),
    }
}

async fn require_token_or_query(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let from_query = Query::<HashMap<String, String>>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(mut query)| query.remove("access_token"));
    let given = bearer(request.headers()).map(str::to_owned).or(from_query);
    match given {
        Some(token) if same_secret(token.as_bytes(), state.token.as_bytes()) => {
            next.run(request).await
        }
        Some(_) => ApiError::unauthorized().into_response(),
        // The web UI's EventSource sends the session cookie (a GET: no origin check).
        None => match crate::ui::cookie_auth(&state.token, request.method(), request.headers()) {
            crate::ui::CookieAuth::Accepted => next.run(request).await,
            crate::ui::CookieAuth::CrossOrigin(why) => ApiError::cross_origin(why).into_response(),
            crate::ui::CookieAuth::Absent => ApiError::unauthorized().into_response(),
        },
    }
}

// ---- validation ----

pub(crate) fn parse_did(text: &str) -> Result<AuthorId, ApiError> {
    AuthorId::parse_did(text).map_err(|error| {
        ApiError::bad_request(
            "invalid_did",
            format!("`{text}` is not a kith author id: {error}; expected did:key:z6Mk…"),
        )
    })
}

pub(crate) fn parse_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = limit else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<usize>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}, not `{text}`"),
        )),
    }
}

pub(crate) fn check_text(text: &str) -> Result<(), ApiError> {
    if text.is_empty() {
        return Err(ApiError::bad_request(
            "empty_text",
            "the text is empty; a post needs at least one character",
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(ApiError::bad_request(
            "text_too_long",
            format!(
                "the text is {} bytes of UTF-8, and the limit is {MAX_TEXT_BYTES}; shorten it",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// Runs a store read off the async threads (redb reads are blocking calls).
pub(crate) async fn read_store<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&Store) -> Result<T, kith_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.node.store().clone();
    tokio::task::spawn_blocking(move || read(&store))
        .await
        .map_err(|error| ApiError::internal(format!("a store read failed: {error}")))?
        .map_err(ApiError::from)
}

// ---- handlers ----

/// Is the API up?
///
/// Answers `{"status": "ok"}` while the API answers. No token: for supervisors and scripts that
/// wait for the daemon.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses(
        (status = 200, body = Health, description = "The API answers"),
    ),
)]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

async fn no_route() -> ApiError {
    ApiError::not_found(
        "no_route",
        "no such route; the routes are listed in docs/API.md",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; see docs/API.md",
    )
}

/// Who this peer is
///
/// The identity this daemon hosts, the node's libp2p peer id, the full multiaddrs it listens on and
/// the daemon's version.
#[utoipa::path(
    get,
    path = "/api/v1/identity",
    tag = "node",
    responses(
        (status = 200, body = Identity, description = "This peer's identity"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn identity(State(state): State<AppState>) -> Result<Json<Identity>, ApiError> {
    let listen_addrs = state.node.listen_addrs().await?;
    Ok(Json(Identity {
        author: state.node.author().to_did(),
        peer_id: state.node.peer_id(),
        listen_addrs,
        version: VERSION.to_owned(),
    }))
}

/// Post (or reply)
///
/// Signs a `post` entry as the next entry of the daemon's author's feed (a `reply` with `reply_to`;
/// with `anonymous`, signed by a fresh one-time key), stores it durably, then publishes it. A post
/// with a slug also claims its global slug (waiting up to 3 s; see `global_slug`).
#[utoipa::path(
    post,
    path = "/api/v1/posts",
    tag = "entries",
    request_body = NewPost,
    responses(
        (status = 201, body = EntryObject, description = "The new entry, once stored"),
        (status = 400, body = ErrorBody, description = "`empty_text`: the text is empty; \
            `text_too_long`: over 16384 bytes of UTF-8; `invalid_id`: `reply_to` is not a content \
            id; `invalid_input`: the node refused the input; `invalid_json`, `invalid_body`: not \
            the expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: the entry `reply_to` \
            names is not held here (or was deleted)"),
        (status = 409, body = ErrorBody, description = "`already_following`: `private` for an \
            author followed already; `feed_refused`: the local feed refused \
            the new entry (it is frozen after a fork)"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn create_post(
    State(state): State<AppState>,
    body: Result<Json<NewPost>, JsonRejection>,
) -> Result<(StatusCode, Json<EntryObject>), ApiError> {
    let Json(NewPost {
        text,
        reply_to,
        anonymous,
        audience,
    }) = body?;
    check_text(&text)?;
    let audience = audience
        .as_deref()
        .map(crate::privacy::parse_audience)
        .transpose()?;
    if anonymous && audience.is_some() {
        return Err(ApiError::bad_request(
            "invalid_audience",
            "an anonymous post is public; leave out `audience` or `anonymous`",
        ));
    }
    // Sealed: for an audience, or a reply in a sealed thread (which inherits its audience).
    let parent = reply_to.as_deref().map(parse_id).transpose()?;
    let sealed_parent = match parent {
        Some(parent) => crate::privacy::is_sealed(&state, parent).await?,
        None => false,
    };
    if !anonymous && (audience.is_some() || sealed_parent) {
        if sealed_parent && audience.is_some() {
            return Err(ApiError::bad_request(
                "invalid_audience",
                "a reply in a sealed thread is sealed for the thread's audience; leave out \
                 `audience`",
            ));
        }
        let entry = state.node.post_to(audience, &text, parent).await?;
        let mut objects = vec![EntryObject::from(&*entry)];
        crate::privacy::reveal(&state, &mut objects).await?;
        return Ok((StatusCode::CREATED, Json(objects.remove(0))));
    }
    if anonymous {
        let parent = reply_to.as_deref().map(parse_id).transpose()?;
        let entry = state.node.post_anonymous(&text, parent).await?;
        return Ok((StatusCode::CREATED, Json(EntryObject::from(&*entry))));
    }
    let entry = match reply_to {
        None => state.node.post(&text).await?,
        Some(parent) => {
            let parent = parse_id(&parent)?;
            if read_store(&state, move |store| store.entry(&parent))
                .await?
                .is_none()
            {
                return Err(ApiError::not_found(
                    "entry_not_found",
                    format!(
                        "no entry {parent} is stored on this peer to reply to; follow its author first"
                    ),
                ));
            }
            state.node.reply(parent, &text).await?
        }
    };
    let mut object = EntryObject::from(&*entry);
    if object.slug.is_some() {
        // The global slug is claimed by quorum after the post is stored and sent: the
        // answer waits for it a little, and the claim goes on in the background if the
        // registry is slow (the entry object shows it from then on).
        let node = state.node.clone();
        let claim = tokio::spawn(async move { node.claim_post_slug(&entry).await });
        object.global_slug = match tokio::time::timeout(GLOBAL_SLUG_WAIT, claim).await {
            Ok(Ok(Ok(slug))) => slug,
            Ok(Ok(Err(e))) => {
                tracing::debug!("no global slug for the post: {e}");
                None
            }
            Ok(Err(_)) | Err(_) => None,
        };
    }
    Ok((StatusCode::CREATED, Json(object)))
}

/// How long `POST /api/v1/posts` waits for the global slug's quorum claim.
const GLOBAL_SLUG_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Parses a content id of a path or body.
pub(crate) fn parse_id(text: &str) -> Result<ContentId, ApiError> {
    ContentId::parse(text).map_err(|error| {
        ApiError::bad_request(
            "invalid_id",
            format!("`{text}` is not a content id: {error}; expected a CIDv1 such as bafirei…"),
        )
    })
}

/// Most entries of a thread answered.
const MAX_THREAD: usize = 1000;

/// A thread
///
/// The entry (if held) first, then every reply to it this peer holds, breadth first, at most 1000,
/// decorated; muted authors are left out. Also refreshes the thread from up to 2 peers in the
/// background.
#[utoipa::path(
    get,
    path = "/api/v1/entries/{id}/thread",
    tag = "entries",
    params(
        ("id" = String, Path, description = "The content id of the entry (CIDv1 text, `bafirei…`)"),
    ),
    responses(
        (status = 200, body = Thread, description = "The entry and its replies"),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: neither the entry nor \
            any reply to it is held (or all are by muted authors)"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn thread(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Thread>, ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    // Replies made while this peer was away, or by authors nobody here follows, arrive in
    // the background (at most once per thread every 10 s).
    state.node.refresh_thread(id);
    let mut entries = read_store(&state, move |store| {
        let mut entries = store.thread(&id, MAX_THREAD)?;
        hide_muted(store, &mut entries)?;
        decorate(store, &entries)
    })
    .await?;
    crate::privacy::reveal(&state, &mut entries).await?;
    if entries.is_empty() {
        return Err(ApiError::not_found(
            "entry_not_found",
            format!("no entry {text} nor any reply to it is stored on this peer"),
        ));
    }
    Ok(Json(Thread { entries }))
}

/// Drops the entries of muted authors.
pub(crate) fn hide_muted(
    store: &Store,
    entries: &mut Vec<kith_proto::Entry>,
) -> Result<(), kith_store::StoreError> {
    let muted = store.muted()?;
    if !muted.is_empty() {
        entries.retain(|entry| !muted.contains(&entry.author()));
    }
    Ok(())
}

/// Entry objects with what this store knows about each entry: current text (after edits),
/// reactions and reposts.
pub(crate) fn decorate(
    store: &Store,
    entries: &[kith_proto::Entry],
) -> Result<Vec<EntryObject>, kith_store::StoreError> {
    entries
        .iter()
        .map(|entry| {
            let mut object = EntryObject::from(entry);
            let id = entry.id();
            object.reactions = store
                .reactions(&id)?
                .into_iter()
                .map(|r| ReactionObject {
                    reaction: r.reaction,
                    count: r.count,
                })
                .collect();
            object.reposts = store.repost_count(&id)?;
            if object.text.is_some()
                && let Some(latest) = store.edits(&id)?.last()
            {
                object.text = latest.body().text().map(str::to_owned);
                object.edited = true;
            }
            if object.slug.is_some() {
                object.global_slug = store.global_slug(&id)?;
            }
            Ok(object)
        })
        .collect()
}

/// An entry this peer holds
///
/// The entry, with `reactions`, `reposts` and the latest edit filled in. Only this peer's store is
/// read; peers are not asked (for that, see `GET /api/v1/resolve`).
#[utoipa::path(
    get,
    path = "/api/v1/entries/{id}",
    tag = "entries",
    params(
        ("id" = String, Path, description = "The content id of the entry (CIDv1 text, `bafirei…`)"),
    ),
    responses(
        (status = 200, body = EntryObject, description = "The entry, decorated"),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: no entry with that id \
            is stored on this peer"),
        (status = 410, body = ErrorBody, description = "`entry_deleted`: its author deleted it; \
            this peer holds the tombstone"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn entry(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<EntryObject>, ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    let found = read_store(&state, move |store| {
        Ok(match store.entry_state(&id)? {
            kith_store::EntryState::Held(entry) => Ok(decorate(store, &[*entry])?.remove(0)),
            kith_store::EntryState::Deleted { tombstone } => Err(Some(tombstone)),
            kith_store::EntryState::Unknown => Err(None),
        })
    })
    .await?;
    match found {
        Ok(entry) => {
            let mut objects = vec![entry];
            crate::privacy::reveal(&state, &mut objects).await?;
            Ok(Json(objects.remove(0)))
        }
        Err(Some(tombstone)) => Err(deleted(&text, &tombstone)),
        Err(None) => Err(ApiError::not_found(
            "entry_not_found",
            format!("no entry {text} is stored on this peer"),
        )),
    }
}

fn deleted(text: &str, tombstone: &ContentId) -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "entry_deleted",
        format!("entry {text} was deleted by its author (tombstone {tombstone})"),
    )
}

/// Delete one of the daemon's author's own entries
///
/// Signs a `delete` entry (the tombstone) as the next entry of the feed, drops the target's body
/// here and publishes the tombstone.
#[utoipa::path(
    delete,
    path = "/api/v1/entries/{id}",
    tag = "entries",
    params(
        ("id" = String, Path, description = "The content id of the entry (CIDv1 text, `bafirei…`)"),
    ),
    responses(
        (status = 200, body = EntryObject, description = "The tombstone (`kind` `delete`, \
            `target` the deleted entry)"),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `invalid_input`: a delete cannot be deleted; `invalid_path`: a path segment that is \
            not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 403, body = ErrorBody, description = "`not_your_entry`: the entry is another \
            author's"),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: not held here, or \
            already deleted"),
        (status = 409, body = ErrorBody, description = "`feed_refused`: the local feed refused \
            the new entry"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn delete_entry(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<EntryObject>, ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    let tombstone = state.node.delete(id).await?;
    Ok(Json(EntryObject::from(&*tombstone)))
}

/// React to an entry
///
/// Signs a `react` entry for the entry, which this peer must hold; it replaces the author's earlier
/// reaction to it.
#[utoipa::path(
    post,
    path = "/api/v1/entries/{id}/reactions",
    tag = "entries",
    params(
        ("id" = String, Path, description = "The content id of the entry (CIDv1 text, `bafirei…`)"),
    ),
    request_body = NewReaction,
    responses(
        (status = 201, body = EntryObject, description = "The `react` entry"),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `invalid_input`: a reaction empty or over 64 bytes; `invalid_json`, `invalid_body`: \
            not the expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: the target is not \
            held, or was deleted"),
        (status = 409, body = ErrorBody, description = "`feed_refused`: the local feed refused \
            the new entry"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn react(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<NewReaction>, JsonRejection>,
) -> Result<(StatusCode, Json<EntryObject>), ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    let Json(NewReaction { reaction }) = body?;
    let entry = state.node.react(id, &reaction).await?;
    Ok((StatusCode::CREATED, Json(EntryObject::from(&*entry))))
}

/// Repost an entry (or quote it)
///
/// Body `{}` for a plain repost, `{"text": …}` for a quote post. The entry must be held here.
#[utoipa::path(
    post,
    path = "/api/v1/entries/{id}/reposts",
    tag = "entries",
    params(
        ("id" = String, Path, description = "The content id of the entry (CIDv1 text, `bafirei…`)"),
    ),
    request_body = NewRepost,
    responses(
        (status = 201, body = EntryObject, description = "The `repost` entry (`text` `null` for a \
            plain repost)"),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `empty_text`: `\"text\": \"\"`; `text_too_long`: over 16384 bytes; `invalid_json`, \
            `invalid_body`: not the expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: the target is not \
            held, or was deleted"),
        (status = 409, body = ErrorBody, description = "`feed_refused`: the local feed refused \
            the new entry"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn repost(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<NewRepost>, JsonRejection>,
) -> Result<(StatusCode, Json<EntryObject>), ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    let Json(NewRepost { text: comment }) = body?;
    if let Some(comment) = &comment {
        check_text(comment)?;
    }
    let entry = state.node.repost(id, comment.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(EntryObject::from(&*entry))))
}

/// Edit one of the daemon's author's own entries
///
/// Signs an `edit` entry giving a new text to a post, reply or quote post. The original and every
/// edit are kept; entry objects show the latest edit with `"edited": true`.
#[utoipa::path(
    post,
    path = "/api/v1/entries/{id}/edits",
    tag = "entries",
    params(
        ("id" = String, Path, description = "The content id of the entry (CIDv1 text, `bafirei…`)"),
    ),
    request_body = NewEdit,
    responses(
        (status = 201, body = EntryObject, description = "The `edit` entry"),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `empty_text`; `text_too_long`; `invalid_input`: the entry has no text or is itself an \
            edit; `invalid_json`, `invalid_body`: not the expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 403, body = ErrorBody, description = "`not_your_entry`: the entry is another \
            author's"),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: not held, or deleted"),
        (status = 409, body = ErrorBody, description = "`feed_refused`: the local feed refused \
            the new entry"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn edit(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<NewEdit>, JsonRejection>,
) -> Result<(StatusCode, Json<EntryObject>), ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    let Json(NewEdit { text: new_text }) = body?;
    check_text(&new_text)?;
    let entry = state.node.edit(id, &new_text).await?;
    Ok((StatusCode::CREATED, Json(EntryObject::from(&*entry))))
}

/// An entry's edit history
///
/// The entry as first written, then every edit of it by its own author held here, oldest first (not
/// decorated).
#[utoipa::path(
    get,
    path = "/api/v1/entries/{id}/history",
    tag = "entries",
    params(
        ("id" = String, Path, description = "The content id of the entry (CIDv1 text, `bafirei…`)"),
    ),
    responses(
        (status = 200, body = History, description = "The original and its edits"),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: no entry with that id \
            is stored here"),
        (status = 410, body = ErrorBody, description = "`entry_deleted`: its author deleted it"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn history(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<History>, ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    let found = read_store(&state, move |store| {
        Ok(match store.entry_state(&id)? {
            kith_store::EntryState::Held(entry) => {
                let mut entries = vec![*entry];
                entries.extend(store.edits(&id)?);
                Ok(entries)
            }
            kith_store::EntryState::Deleted { tombstone } => Err(Some(tombstone)),
            kith_store::EntryState::Unknown => Err(None),
        })
    })
    .await?;
    match found {
        Ok(entries) => Ok(Json(History {
            entries: entries.iter().map(EntryObject::from).collect(),
        })),
        Err(Some(tombstone)) => Err(deleted(&text, &tombstone)),
        Err(None) => Err(ApiError::not_found(
            "entry_not_found",
            format!("no entry {text} is stored on this peer"),
        )),
    }
}

/// Upload an image
///
/// The body is the raw bytes of a PNG, JPEG, GIF or WebP image (not JSON; any `Content-Type`), at
/// most 4 MiB; its type is found from its first bytes. The same image uploaded twice has the same
/// id.
#[utoipa::path(
    post,
    path = "/api/v1/blobs",
    tag = "profiles",
    request_body(
        description = "The raw bytes of the image (any `Content-Type`), at most 4 MiB",
        content(
            ("application/octet-stream"),
            ("image/png"),
            ("image/jpeg"),
            ("image/gif"),
            ("image/webp"),
        ),
    ),
    responses(
        (status = 201, body = BlobObject, description = "The stored blob"),
        (status = 400, body = ErrorBody, description = "`invalid_input`: empty, over 4 MiB, or \
            not a PNG, JPEG, GIF or WebP image; `invalid_body`: the body could not be read"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 413, body = ErrorBody, description = "`blob_too_large`: a body of more than \
            4194305 bytes"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn upload_blob(
    State(state): State<AppState>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<BlobObject>), ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "blob_too_large",
                format!("an image is at most {MAX_BLOB_BYTES} bytes; scale it down"),
            )
        } else {
            ApiError::bad_request("invalid_body", rejection.body_text())
        }
    })?;
    let blob = state.node.add_blob(body.to_vec()).await?;
    let manifest = kith_proto::blob::Manifest::decode(&blob.id, &blob.manifest)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(BlobObject {
            id: blob.id.to_string(),
            mime: manifest.image.mime().to_owned(),
            size: manifest.size,
        }),
    ))
}

/// An image
///
/// The whole blob if this peer holds it, with `Content-Type` its type, `X-Content-Type-Options:
/// nosniff` and `Cache-Control: private, max-age=31536000, immutable`.
#[utoipa::path(
    get,
    path = "/api/v1/blobs/{id}",
    tag = "profiles",
    params(
        ("id" = String, Path, description = "The blob's content id (its manifest's)"),
    ),
    responses(
        (status = 200, description = "The image, with its type as `Content-Type`",
            content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
        (status = 400, body = ErrorBody, description = "`invalid_id`: not a content id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`blob_not_found`: the manifest or a chunk \
            is not held here"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn blob(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(text) = id?;
    let id = parse_id(&text)?;
    match read_store(&state, move |store| store.blob(&id)).await? {
        Some((image, content)) => Ok((
            [
                (header::CONTENT_TYPE, image.mime()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                // Content-addressed: the bytes behind an id never change.
                (
                    header::CACHE_CONTROL,
                    "private, max-age=31536000, immutable",
                ),
            ],
            content,
        )
            .into_response()),
        None => Err(ApiError::not_found(
            "blob_not_found",
            format!("no blob {text} (or not all of it) is stored on this peer"),
        )),
    }
}

/// Set the daemon's author's profile
///
/// The fields given replace the current ones, the others are kept. Signs a `profile` entry with the
/// result and publishes it.
#[utoipa::path(
    post,
    path = "/api/v1/profile",
    tag = "profiles",
    request_body = NewProfile,
    responses(
        (status = 201, body = ProfileObject, description = "The new profile"),
        (status = 400, body = ErrorBody, description = "`invalid_input`: a field empty or too \
            long, or no field given; `invalid_id`: a malformed `avatar`; `invalid_json`, \
            `invalid_body`: not the expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`blob_not_found`: the avatar is not \
            stored here (upload it first)"),
        (status = 409, body = ErrorBody, description = "`feed_refused`: the local feed refused \
            the new entry"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn set_profile(
    State(state): State<AppState>,
    body: Result<Json<NewProfile>, JsonRejection>,
) -> Result<(StatusCode, Json<ProfileObject>), ApiError> {
    let Json(NewProfile { name, bio, avatar }) = body?;
    let avatar = avatar.as_deref().map(parse_id).transpose()?;
    state
        .node
        .set_profile(kith_node::ProfileUpdate {
            name,
            bio,
            avatar,
            username: None,
        })
        .await?;
    let author = state.node.author();
    let shown = read_store(&state, move |store| profile_object(store, &author)).await?;
    let shown = shown.ok_or_else(|| ApiError::internal("the new profile is not stored"))?;
    Ok((StatusCode::CREATED, Json(shown)))
}

/// An author's profile
///
/// The author's newest `profile` entry held here, as a profile object. Only the store is read.
#[utoipa::path(
    get,
    path = "/api/v1/profiles/{did}",
    tag = "profiles",
    params(
        ("did" = String, Path, description = "The author, `did:key:z6Mk…` (as it is, no escaping \
            needed)"),
    ),
    responses(
        (status = 200, body = ProfileObject, description = "The profile"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`profile_not_found`: no profile entry of \
            the author is held here"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn profile(
    State(state): State<AppState>,
    did: Result<Path<String>, PathRejection>,
) -> Result<Json<ProfileObject>, ApiError> {
    let Path(did) = did?;
    let author = parse_did(&did)?;
    match read_store(&state, move |store| profile_object(store, &author)).await? {
        Some(profile) => Ok(Json(profile)),
        None => Err(ApiError::not_found(
            "profile_not_found",
            format!("no profile of {did} is stored on this peer; follow them to get it"),
        )),
    }
}

fn profile_object(
    store: &Store,
    author: &AuthorId,
) -> Result<Option<ProfileObject>, kith_store::StoreError> {
    let Some(entry) = store.profile(author)? else {
        return Ok(None);
    };
    let kith_proto::Body::Profile {
        name,
        bio,
        avatar,
        username,
    } = entry.body()
    else {
        return Ok(None);
    };
    let avatar_cached = match avatar {
        Some(id) => store.blob(id)?.is_some(),
        None => false,
    };
    Ok(Some(ProfileObject {
        author: author.to_did(),
        name: name.clone(),
        bio: bio.clone(),
        avatar: avatar.map(|id| id.to_string()),
        avatar_cached,
        entry: entry.id().to_string(),
        ts: entry.ts(),
        atom: crate::atom::feed_path(author),
        username: username.clone(),
    }))
}

/// Claim a username
///
/// Claims the (normalized) name for this peer's identity by quorum in the name registry; the
/// profile then shows it.
#[utoipa::path(
    post,
    path = "/api/v1/names",
    tag = "names",
    request_body = NewName,
    responses(
        (status = 201, body = NameObject, description = "The claim, with the quorum figures"),
        (status = 400, body = ErrorBody, description = "`invalid_input`: the name breaks the \
            rules (the message says which); `invalid_json`, `invalid_body`: not the expected JSON \
            body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 409, body = ErrorBody, description = "`name_taken`: someone else holds it"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = "`name_quorum_unreachable`: fewer than W \
            replicas accepted, nothing is left claimed; `store_busy`: the store's queue is full, \
            try again shortly; `store_stopped`: the store's writer stopped, restart the daemon; \
            `network_unavailable`: the network layer failed or stopped; `shutting_down`: the \
            daemon is stopping"),
    ),
    security(("bearer" = [])),
)]
async fn claim_name(
    State(state): State<AppState>,
    body: Result<Json<NewName>, JsonRejection>,
) -> Result<(StatusCode, Json<NameObject>), ApiError> {
    let Json(NewName { name }) = body?;
    let claimed = state.node.claim_name(&name).await?;
    Ok((
        StatusCode::CREATED,
        Json(NameObject {
            name: claimed.claim.name().to_owned(),
            owner: claimed.claim.owner().to_did(),
            ts: claimed.claim.ts(),
            accepted: Some(claimed.accepted),
            replicas: Some(claimed.replicas),
        }),
    ))
}

/// Look a username up
///
/// The claim a majority of the replicas that answered hold.
#[utoipa::path(
    get,
    path = "/api/v1/names/{name}",
    tag = "names",
    params(
        ("name" = String, Path, description = "The username"),
    ),
    responses(
        (status = 200, body = NameObject, description = "The name and its owner"),
        (status = 400, body = ErrorBody, description = "`invalid_input`: not a valid name; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`name_not_found`: nobody holds the name"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = "`name_quorum_unreachable`: fewer than R \
            replicas answered; `store_busy`: the store's queue is full, try again shortly; \
            `store_stopped`: the store's writer stopped, restart the daemon; \
            `network_unavailable`: the network layer failed or stopped; `shutting_down`: the \
            daemon is stopping"),
    ),
    security(("bearer" = [])),
)]
async fn lookup_name(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<NameObject>, ApiError> {
    let Path(name) = name?;
    match state.node.lookup_name(&name).await? {
        Some(claim) => Ok(Json(NameObject {
            name: claim.name().to_owned(),
            owner: claim.owner().to_did(),
            ts: claim.ts(),
            accepted: None,
            replicas: None,
        })),
        None => Err(ApiError::not_found(
            "name_not_found",
            format!("nobody holds the name `{name}`; claim it with kith name claim"),
        )),
    }
}

/// Release a username this identity holds
///
/// The profile stops showing it.
#[utoipa::path(
    delete,
    path = "/api/v1/names/{name}",
    tag = "names",
    params(
        ("name" = String, Path, description = "The username"),
    ),
    responses(
        (status = 200, body = NameReleased, description = "The name and how many replicas removed \
            it"),
        (status = 400, body = ErrorBody, description = "`invalid_input`: not a valid name; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn release_name(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<NameReleased>, ApiError> {
    let Path(name) = name?;
    let normalized = kith_proto::names::normalize_name(&name)
        .map_err(|e| ApiError::bad_request("invalid_input", e.to_string()))?;
    let released = state.node.release_name(&normalized).await?;
    Ok(Json(NameReleased {
        name: normalized,
        released,
    }))
}

/// Query of `GET /api/v1/resolve`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ResolveQuery {
    /// The permalink: `kith:<content id>`, `kith:<did>/<seq>`, `kith:<username>/<slug>` or
    /// `kith:/<slug>` (each also without `kith:`).
    link: String,
}

fn parse_link(text: &str) -> Result<kith_proto::permalink::Permalink, ApiError> {
    text.parse()
        .map_err(|e: kith_proto::permalink::PermalinkError| {
            ApiError::bad_request("invalid_link", e.to_string())
        })
}

/// What a permalink resolved to: the entry (decorated), or why not.
async fn resolve_entry(
    state: &AppState,
    link: kith_proto::permalink::Permalink,
) -> Result<Result<EntryObject, ApiError>, ApiError> {
    Ok(match state.node.resolve_link(link.clone()).await? {
        kith_store::EntryState::Held(entry) => {
            let entry = *entry;
            Ok(read_store(state, move |store| decorate(store, &[entry]))
                .await?
                .remove(0))
        }
        kith_store::EntryState::Deleted { tombstone } => {
            Err(deleted(&link.to_string(), &tombstone))
        }
        kith_store::EntryState::Unknown => Err(ApiError::not_found(
            "entry_not_found",
            format!("no entry {link} is held here, and no peer asked has it"),
        )),
    })
}

/// Resolve a permalink
///
/// The entry a permalink names (`kith:<content id>`, `kith:<did>/<seq>`, `kith:<username>/<slug>`,
/// `kith:/<slug>`, each also without `kith:`), decorated. If this peer does not hold it, peers are
/// asked (3 s each, one after another), and what they send is verified and kept.
#[utoipa::path(
    get,
    path = "/api/v1/resolve",
    tag = "entries",
    params(
        ResolveQuery,
    ),
    responses(
        (status = 200, body = EntryObject, description = "The entry, decorated"),
        (status = 400, body = ErrorBody, description = "`invalid_link`: not a permalink; \
            `invalid_query`: an unknown or malformed query parameter"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`entry_not_found`: not held here, and no \
            peer asked has it"),
        (status = 410, body = ErrorBody, description = "`entry_deleted`: its author deleted it"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn resolve(
    State(state): State<AppState>,
    query: Result<Query<ResolveQuery>, QueryRejection>,
) -> Result<Json<EntryObject>, ApiError> {
    let Query(ResolveQuery { link }) = query?;
    let link = parse_link(&link)?;
    let mut objects = vec![resolve_entry(&state, link).await??];
    crate::privacy::reveal(&state, &mut objects).await?;
    Ok(Json(objects.remove(0)))
}

/// Escapes text for HTML.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML page of a post by username and slug
///
/// Like `/p/…` for `kith:<username>/<slug>`: resolved here, fetched from the author's holders if
/// not held. No token.
#[utoipa::path(
    get,
    path = "/{user}/{slug}",
    tag = "pages",
    params(
        ("user" = String, Path, description = "The author's username"),
        ("slug" = String, Path, description = "The post's slug, unique among its author's posts"),
    ),
    responses(
        (status = 200, body = String, content_type = "text/html", description = "\
            The page of the entry (`text/html; charset=utf-8`)"),
        (status = 400, body = String, content_type = "text/html", description = "\
            A page saying why: `invalid_link`, not a permalink"),
        (status = 404, body = String, content_type = "text/html", description = "\
            A page saying why: `entry_not_found`, not held here and no peer asked has it"),
        (status = 410, body = String, content_type = "text/html", description = "\
            A page saying why: `entry_deleted`, its author deleted it"),
        (status = "5XX", body = String, content_type = "text/html", description = "\
            A page saying why: the store, the node or the network failed"),
    ),
)]
pub(crate) async fn slug_page(
    State(state): State<AppState>,
    Path((user, slug)): Path<(String, String)>,
) -> Response {
    permalink_page(State(state), Path(format!("{user}/{slug}"))).await
}

/// The HTML page of a post by its global slug
///
/// Like `/p/…` for `kith:/<slug>`: a lookup in the name registry, then the holder's post with that
/// slug, fetched if not held. No token. A path segment that is not a slug (`/favicon.ico`) is the
/// usual JSON `404 no_route`.
#[utoipa::path(
    get,
    path = "/{slug}",
    tag = "pages",
    params(
        ("slug" = String, Path, description = "The post's global slug"),
    ),
    responses(
        (status = 200, body = String, content_type = "text/html", description = "\
            The page of the entry (`text/html; charset=utf-8`)"),
        (status = 400, body = String, content_type = "text/html", description = "\
            A page saying why: `invalid_link`, not a permalink"),
        (status = 404, description = "A page saying the post is not available \
            (`entry_not_found`), or, for a path segment that is not a slug, the JSON error \
            `no_route`",
            content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 410, body = String, content_type = "text/html", description = "\
            A page saying why: `entry_deleted`, its author deleted it"),
        (status = "5XX", body = String, content_type = "text/html", description = "\
            A page saying why: the store, the node or the network failed"),
    ),
)]
async fn global_slug_page(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    // `/favicon.ico` and the like are not slugs: the usual 404, not a page about permalinks.
    if kith_proto::names::global_slug_name(&slug).is_err() {
        return no_route().await.into_response();
    }
    permalink_page(State(state), Path(format!("/{slug}"))).await
}

/// The HTML page of an entry
///
/// The same resolution as `GET /api/v1/resolve` (peers are asked when this peer does not hold the
/// entry), shown as a small HTML page without scripts (`Content-Security-Policy: default-src
/// 'none'; style-src 'unsafe-inline'`). No token. On failure the page says why, with the status the
/// API route would give.
#[utoipa::path(
    get,
    path = "/p/{link}",
    tag = "pages",
    params(
        ("link" = String, Path, description = "A permalink without `kith:` (or with it): \
            `<content id>` or `<did>/<seq>` (it may hold a `/`)"),
    ),
    responses(
        (status = 200, body = String, content_type = "text/html", description = "\
            The page of the entry (`text/html; charset=utf-8`)"),
        (status = 400, body = String, content_type = "text/html", description = "\
            A page saying why: `invalid_link`, not a permalink"),
        (status = 404, body = String, content_type = "text/html", description = "\
            A page saying why: `entry_not_found`, not held here and no peer asked has it"),
        (status = 410, body = String, content_type = "text/html", description = "\
            A page saying why: `entry_deleted`, its author deleted it"),
        (status = "5XX", body = String, content_type = "text/html", description = "\
            A page saying why: the store, the node or the network failed"),
    ),
)]
pub(crate) async fn permalink_page(
    State(state): State<AppState>,
    Path(link): Path<String>,
) -> Response {
    let page = |status: StatusCode, title: &str, body: String| {
        // Readable on a phone: long dids and ids wrap instead of widening the page.
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title><style>body{{font-family:system-ui,sans-serif;line-height:1.5;\
             margin:0 auto;max-width:40rem;padding:1rem;overflow-wrap:anywhere}}\
             code{{word-break:break-all}}</style></head><body><main>{body}</main></body></html>",
            escape_html(title)
        );
        (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            html,
        )
            .into_response()
    };
    let parsed = match parse_link(&link) {
        Ok(parsed) => parsed,
        Err(error) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Not a permalink",
                escape_html(error.message()),
            );
        }
    };
    match resolve_entry(&state, parsed).await {
        Ok(Ok(entry)) => {
            let text = entry.text.as_deref().unwrap_or("");
            let body = format!(
                "<article><p><b>{}</b> · {} · #{}{}</p><p style=\"white-space:pre-wrap\">{}</p>\
                 <p><code>{}</code></p></article>",
                escape_html(&entry.author),
                escape_html(&entry.kind),
                entry.seq,
                if entry.edited { " · edited" } else { "" },
                escape_html(text),
                escape_html(&entry.permalink),
            );
            page(StatusCode::OK, &format!("kith {}", entry.id), body)
        }
        Ok(Err(error)) | Err(error) => {
            let status = error.status();
            page(
                status,
                "Not available",
                format!("<p>{}</p>", escape_html(error.message())),
            )
        }
    }
}

/// Query of the paged timelines (notifications, tags, public).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    /// Items per page, 1 to 200 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Continue after the page whose `next` this is (`<ts>.<content id>`).
    cursor: Option<String>,
}

/// A page cursor: `<ts>.<cid>` of the last item of the previous page.
fn parse_cursor(cursor: Option<&str>) -> Result<Option<(u64, ContentId)>, ApiError> {
    let Some(text) = cursor else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            format!("`{text}` is not a cursor; use the `next` value of the previous page"),
        )
    };
    let (ts, id) = text.split_once('.').ok_or_else(bad)?;
    let ts = ts.parse::<u64>().map_err(|_| bad())?;
    let id = ContentId::parse(id).map_err(|_| bad())?;
    Ok(Some((ts, id)))
}

fn cursor_after(entries: &[kith_proto::Entry], limit: usize) -> Option<String> {
    (entries.len() == limit)
        .then(|| entries.last())
        .flatten()
        .map(|last| format!("{}.{}", last.ts(), last.id()))
}

/// Notifications
///
/// Entries of other authors that concern the daemon's author (replies, reactions, reposts, follows,
/// mentions), newest first, decorated; deleted ones and those of muted or blocked authors are left
/// out.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "timelines",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, body = Notifications, description = "One page"),
        (status = 400, body = ErrorBody, description = "`invalid_limit`: `limit` not a whole \
            number from 1 to 200; `invalid_cursor`: `cursor` not a `next` this server handed out; \
            `invalid_query`: an unknown or malformed query parameter"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn notifications(
    State(state): State<AppState>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Notifications>, ApiError> {
    let Query(query) = query?;
    let limit = parse_limit(query.limit.as_deref())?;
    let before = parse_cursor(query.cursor.as_deref())?;
    let owner = state.node.author();
    let found = read_store(&state, move |store| {
        let found = store.notifications(&owner, before, limit)?;
        let entries: Vec<kith_proto::Entry> = found.iter().map(|(_, e)| e.clone()).collect();
        let objects = decorate(store, &entries)?;
        Ok((found, objects))
    })
    .await?;
    let (found, mut objects) = found;
    crate::privacy::reveal(&state, &mut objects).await?;
    let entries: Vec<kith_proto::Entry> = found.iter().map(|(_, e)| e.clone()).collect();
    Ok(Json(Notifications {
        next: cursor_after(&entries, limit),
        notifications: found
            .iter()
            .zip(objects)
            .map(|((kind, _), entry)| NotificationObject {
                kind: kind.as_str().to_owned(),
                entry,
            })
            .collect(),
    }))
}

fn parse_tag(text: &str) -> Result<String, ApiError> {
    kith_proto::text::normalize_tag(text).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_tag",
            format!(
                "`{text}` is not a hashtag: letters, digits and _ only, at most 64 bytes                  (e.g. rust or #rust)"
            ),
        )
    })
}

/// The hashtags followed
///
/// Normalized (lower case, without `#`), sorted.
#[utoipa::path(
    get,
    path = "/api/v1/tags",
    tag = "follows",
    responses(
        (status = 200, body = Tags, description = "The tags followed"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn followed_tags(State(state): State<AppState>) -> Result<Json<Tags>, ApiError> {
    let tags = read_store(&state, |store| store.followed_tags()).await?;
    Ok(Json(Tags { tags }))
}

/// Follow a hashtag
///
/// Its posts, replies and quote posts then reach this peer from anyone. Also `201` when it was
/// followed already.
#[utoipa::path(
    post,
    path = "/api/v1/tags",
    tag = "follows",
    request_body = NewTag,
    responses(
        (status = 201, body = Tags, description = "The tags followed after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_tag`: not a hashtag; \
            `invalid_input`: a 257th tag; `invalid_json`, `invalid_body`: not the expected JSON \
            body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn follow_tag(
    State(state): State<AppState>,
    body: Result<Json<NewTag>, JsonRejection>,
) -> Result<(StatusCode, Json<Tags>), ApiError> {
    let Json(NewTag { tag }) = body?;
    let tag = parse_tag(&tag)?;
    state.node.follow_tag(&tag).await?;
    let Json(tags) = followed_tags(State(state)).await?;
    Ok((StatusCode::CREATED, Json(tags)))
}

/// Stop following a hashtag
///
/// A tag not followed is no error.
#[utoipa::path(
    delete,
    path = "/api/v1/tags/{tag}",
    tag = "follows",
    params(
        ("tag" = String, Path, description = "The hashtag, without `#` (or as `%23rust`)"),
    ),
    responses(
        (status = 200, body = Tags, description = "The tags followed after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_tag`: not a hashtag; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn unfollow_tag(
    State(state): State<AppState>,
    tag: Result<Path<String>, PathRejection>,
) -> Result<Json<Tags>, ApiError> {
    let Path(tag) = tag?;
    let tag = parse_tag(&tag)?;
    state.node.unfollow_tag(&tag).await?;
    followed_tags(State(state)).await
}

/// A hashtag's timeline
///
/// The posts, replies and quote posts held here whose text has the tag, from any source, newest
/// first by `ts`, decorated. Works for tags not followed too.
#[utoipa::path(
    get,
    path = "/api/v1/tags/{tag}",
    tag = "timelines",
    params(
        ("tag" = String, Path, description = "The hashtag, without `#` (or as `%23rust`)"),
        PageQuery,
    ),
    responses(
        (status = 200, body = TimelinePage, description = "One page"),
        (status = 400, body = ErrorBody, description = "`invalid_tag`: not a hashtag; \
            `invalid_limit`: `limit` not a whole number from 1 to 200; `invalid_cursor`: `cursor` \
            not a `next` this server handed out; `invalid_query`: an unknown or malformed query \
            parameter"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn tag_timeline(
    State(state): State<AppState>,
    tag: Result<Path<String>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<TimelinePage>, ApiError> {
    let Path(tag) = tag?;
    let tag = parse_tag(&tag)?;
    let Query(query) = query?;
    let limit = parse_limit(query.limit.as_deref())?;
    let before = parse_cursor(query.cursor.as_deref())?;
    let (entries, next) = read_store(&state, move |store| {
        let entries = store.tag_timeline(&tag, before, limit)?;
        Ok((decorate(store, &entries)?, cursor_after(&entries, limit)))
    })
    .await?;
    Ok(Json(TimelinePage { entries, next }))
}

/// The public timeline
///
/// Every top-level post this peer holds, from wherever it came, newest first by `ts`, decorated,
/// without deleted entries and those of muted or blocked authors.
#[utoipa::path(
    get,
    path = "/api/v1/public",
    tag = "timelines",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, body = TimelinePage, description = "One page"),
        (status = 400, body = ErrorBody, description = "`invalid_limit`: `limit` not a whole \
            number from 1 to 200; `invalid_cursor`: `cursor` not a `next` this server handed out; \
            `invalid_query`: an unknown or malformed query parameter"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 409, body = ErrorBody, description = "`public_timeline_off`: the public \
            timeline is off; turn it on with `PUT /api/v1/public/settings`"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn public_timeline(
    State(state): State<AppState>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<TimelinePage>, ApiError> {
    let Query(query) = query?;
    let limit = parse_limit(query.limit.as_deref())?;
    let before = parse_cursor(query.cursor.as_deref())?;
    let page = read_store(&state, move |store| {
        if !store.public_timeline_enabled()? {
            return Ok(None);
        }
        let entries = store.public_timeline(before, limit)?;
        Ok(Some((
            decorate(store, &entries)?,
            cursor_after(&entries, limit),
        )))
    })
    .await?;
    match page {
        Some((entries, next)) => Ok(Json(TimelinePage { entries, next })),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "public_timeline_off",
            "the public timeline is off on this peer; turn it on with              PUT /api/v1/public/settings {\"enabled\": true} (kith public --enable)",
        )),
    }
}

/// Whether this peer listens to the public stream
#[utoipa::path(
    get,
    path = "/api/v1/public/settings",
    tag = "timelines",
    responses(
        (status = 200, body = PublicSettings, description = "The setting"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn public_settings(State(state): State<AppState>) -> Result<Json<PublicSettings>, ApiError> {
    let enabled = read_store(&state, |store| store.public_timeline_enabled()).await?;
    Ok(Json(PublicSettings { enabled }))
}

/// Turn the public timeline on or off
///
/// Kept across restarts. When on, the daemon subscribes to the public stream and keeps the posts it
/// carries.
#[utoipa::path(
    put,
    path = "/api/v1/public/settings",
    tag = "timelines",
    request_body = PublicSettings,
    responses(
        (status = 200, body = PublicSettings, description = "The new setting"),
        (status = 400, body = ErrorBody, description = "`invalid_json`, `invalid_body`: not the \
            expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn set_public_settings(
    State(state): State<AppState>,
    body: Result<Json<PublicSettings>, JsonRejection>,
) -> Result<Json<PublicSettings>, ApiError> {
    let Json(PublicSettings { enabled }) = body?;
    state.node.set_public_timeline(enabled).await?;
    Ok(Json(PublicSettings { enabled }))
}

/// The blocked authors
#[utoipa::path(
    get,
    path = "/api/v1/blocks",
    tag = "follows",
    responses(
        (status = 200, body = AuthorList, description = "Every blocked author"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn blocks(State(state): State<AppState>) -> Result<Json<AuthorList>, ApiError> {
    let authors = read_store(&state, |store| store.blocked()).await?;
    Ok(Json(AuthorList {
        authors: authors.iter().map(AuthorId::to_did).collect(),
    }))
}

/// The muted authors
#[utoipa::path(
    get,
    path = "/api/v1/mutes",
    tag = "follows",
    responses(
        (status = 200, body = AuthorList, description = "Every muted author"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn mutes(State(state): State<AppState>) -> Result<Json<AuthorList>, ApiError> {
    let authors = read_store(&state, |store| store.muted()).await?;
    Ok(Json(AuthorList {
        authors: authors.iter().map(AuthorId::to_did).collect(),
    }))
}

/// Block an author
///
/// Drops everything this peer holds of the author and refuses their later entries; unfollows them
/// if followed. Applied by this peer only: nothing is published.
#[utoipa::path(
    post,
    path = "/api/v1/blocks",
    tag = "follows",
    request_body = AuthorRef,
    responses(
        (status = 200, body = AuthorList, description = "Every blocked author after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_input`: the daemon's own identity; `invalid_json`, `invalid_body`: not the \
            expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn block(
    State(state): State<AppState>,
    body: Result<Json<AuthorRef>, JsonRejection>,
) -> Result<Json<AuthorList>, ApiError> {
    let Json(AuthorRef { author }) = body?;
    let author = parse_did(&author)?;
    state.node.block(author).await?;
    blocks(State(state)).await
}

/// Unblock an author
///
/// One that is not blocked is no error. Nothing is brought back: follow the author again to fetch
/// their feed.
#[utoipa::path(
    delete,
    path = "/api/v1/blocks/{did}",
    tag = "follows",
    params(
        ("did" = String, Path, description = "The author, `did:key:z6Mk…` (as it is, no escaping \
            needed)"),
    ),
    responses(
        (status = 200, body = AuthorList, description = "Every blocked author after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn unblock(
    State(state): State<AppState>,
    did: Result<Path<String>, PathRejection>,
) -> Result<Json<AuthorList>, ApiError> {
    let Path(did) = did?;
    let author = parse_did(&did)?;
    state.node.unblock(author).await?;
    blocks(State(state)).await
}

/// Mute an author
///
/// Still followed, stored and relayed; only hidden from the home timeline, threads and
/// notifications.
#[utoipa::path(
    post,
    path = "/api/v1/mutes",
    tag = "follows",
    request_body = AuthorRef,
    responses(
        (status = 200, body = AuthorList, description = "Every muted author after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_input`: the daemon's own identity; `invalid_json`, `invalid_body`: not the \
            expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn mute(
    State(state): State<AppState>,
    body: Result<Json<AuthorRef>, JsonRejection>,
) -> Result<Json<AuthorList>, ApiError> {
    let Json(AuthorRef { author }) = body?;
    let author = parse_did(&author)?;
    state.node.set_muted(author, true).await?;
    mutes(State(state)).await
}

/// Unmute an author
///
/// One that is not muted is no error.
#[utoipa::path(
    delete,
    path = "/api/v1/mutes/{did}",
    tag = "follows",
    params(
        ("did" = String, Path, description = "The author, `did:key:z6Mk…` (as it is, no escaping \
            needed)"),
    ),
    responses(
        (status = 200, body = AuthorList, description = "Every muted author after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn unmute(
    State(state): State<AppState>,
    did: Result<Path<String>, PathRejection>,
) -> Result<Json<AuthorList>, ApiError> {
    let Path(did) = did?;
    let author = parse_did(&did)?;
    state.node.set_muted(author, false).await?;
    mutes(State(state)).await
}

/// Query of `GET /api/v1/timelines/home`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HomeQuery {
    /// Entries per page, 1 to 200 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Continue after the page whose `next` this is (an opaque string).
    cursor: Option<String>,
}

/// The home timeline
///
/// The daemon's author's own posts, replies and reposts and those of the authors it follows, newest
/// first, decorated. Muted authors are left out after the page is read, so a page may be short
/// (even empty) while `next` leads on: page until `next` is `null`.
#[utoipa::path(
    get,
    path = "/api/v1/timelines/home",
    tag = "timelines",
    params(
        HomeQuery,
    ),
    responses(
        (status = 200, body = HomePage, description = "One page"),
        (status = 400, body = ErrorBody, description = "`invalid_limit`: `limit` not a whole \
            number from 1 to 200; `invalid_cursor`: `cursor` not a `next` this server handed out; \
            `invalid_query`: an unknown or malformed query parameter"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn home(
    State(state): State<AppState>,
    query: Result<Query<HomeQuery>, QueryRejection>,
) -> Result<Json<HomePage>, ApiError> {
    let Query(query) = query?;
    let limit = parse_limit(query.limit.as_deref())?;
    let cursor = query
        .cursor
        .as_deref()
        .map(|text| {
            text.parse::<HomeCursor>().map_err(|error| {
                ApiError::bad_request("invalid_cursor", format!("`{text}`: {error}"))
            })
        })
        .transpose()?;
    let owner = state.node.author();
    let (entries, next) = read_store(&state, move |store| {
        let mut page = store.home(&owner, cursor, limit)?;
        // Muted authors are hidden; a page may then be shorter than `limit` (its `next`
        // still leads on).
        hide_muted(store, &mut page.entries)?;
        Ok((decorate(store, &page.entries)?, page.next))
    })
    .await?;
    // Sealed entries for others (followers-only posts of authors who do not count us as
    // followers, others' direct messages) are left out of the timeline; the feed shows them.
    let mut entries = entries;
    crate::privacy::reveal(&state, &mut entries).await?;
    entries.retain(|entry| !crate::privacy::unreadable(entry));
    Ok(Json(HomePage {
        entries,
        next: next.map(|cursor| cursor.to_string()),
    }))
}

/// Query of `GET /api/v1/feeds/{did}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    /// Entries per page, 1 to 200 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Only entries with a seq below this one (the `next` of the previous page).
    #[param(value_type = Option<u64>, minimum = 1)]
    before: Option<String>,
    /// `true`: every kind of entry, not only posts, replies and reposts (default `false`).
    all: Option<bool>,
}

/// An author's feed
///
/// The author's feed as stored here, highest seq first, decorated: timeline items (`post`, `reply`,
/// `repost`), or every kind with `all=true`. An author this peer knows nothing of has an empty
/// page.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/{did}",
    tag = "timelines",
    params(
        ("did" = String, Path, description = "The author, `did:key:z6Mk…` (as it is, no escaping \
            needed)"),
        FeedQuery,
    ),
    responses(
        (status = 200, body = FeedPage, description = "One page"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_limit`: `limit` not a whole number from 1 to 200; `invalid_before`: `before` \
            not a whole number ≥ 1; `invalid_query`: an unknown or malformed query parameter"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn feed(
    State(state): State<AppState>,
    did: Result<Path<String>, PathRejection>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<FeedPage>, ApiError> {
    let Path(did) = did?;
    let author = parse_did(&did)?;
    let Query(query) = query?;
    let limit = parse_limit(query.limit.as_deref())?;
    let before = match query.before.as_deref() {
        None => u64::MAX,
        Some(text) => match text.parse::<u64>() {
            Ok(before) if before >= 1 => before,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_before",
                    format!(
                        "before must be a seq (a whole number ≥ 1, the `next` of the previous \
                         page), not `{text}`"
                    ),
                ));
            }
        },
    };
    let all = query.all.unwrap_or(false);
    let page = read_store(&state, move |store| {
        if all {
            every_kind(store, &author, before, limit)
        } else {
            let entries = store.author_timeline(&author, before, limit)?;
            let next = if entries.len() == limit {
                entries.last().map(|entry| entry.seq())
            } else {
                None
            };
            Ok((entries, next))
        }
        .and_then(|(entries, next)| Ok((decorate(store, &entries)?, next)))
    })
    .await?;
    let (mut entries, next) = page;
    crate::privacy::reveal(&state, &mut entries).await?;
    let fork_seq = read_store(&state, move |store| store.fork_seq(&author)).await?;
    Ok(Json(FeedPage {
        entries,
        next,
        fork_seq,
    }))
}

/// The proof that an author forked their feed
///
/// Two entries validly signed by the author that cannot both be in one feed. This peer keeps the
/// proof and freezes the feed at the fork: nothing after it is accepted, and the feed is not
/// fetched again.
#[utoipa::path(
    get,
    path = "/api/v1/forks/{did}",
    tag = "timelines",
    params(
        ("did" = String, Path, description = "The author, `did:key:z6Mk…` (as it is, no escaping \
            needed)"),
    ),
    responses(
        (status = 200, body = ForkObject, description = "The proof"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`not_forked`: this peer holds no fork \
            proof of that author"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn fork(
    State(state): State<AppState>,
    did: Result<Path<String>, PathRejection>,
) -> Result<Json<ForkObject>, ApiError> {
    let Path(did) = did?;
    let author = parse_did(&did)?;
    let found = read_store(&state, move |store| {
        let Some(proof) = store.fork_proof(&author)? else {
            return Ok(None);
        };
        let (first, second) = proof.entries();
        let entries = decorate(
            store,
            &[first.clone().into_entry(), second.clone().into_entry()],
        )?;
        Ok(Some((proof.seq(), entries, proof.encode())))
    })
    .await?;
    let Some((seq, entries, proof)) = found else {
        return Err(ApiError::not_found(
            "not_forked",
            format!("this peer holds no fork proof of {did}: its feed did not fork here"),
        ));
    };
    Ok(Json(ForkObject {
        author: author.to_did(),
        seq,
        entries,
        proof: proof.iter().map(|byte| format!("{byte:02x}")).collect(),
    }))
}

/// Up to `limit` entries of every kind with seq < `before`, newest first, and the `before`
/// of the next page. The stored part of a feed is seq 1 to its head without holes.
fn every_kind(
    store: &Store,
    author: &AuthorId,
    before: u64,
    limit: usize,
) -> Result<(Vec<kith_proto::Entry>, Option<u64>), kith_store::StoreError> {
    let Some(head) = store.head(author)? else {
        return Ok((Vec::new(), None));
    };
    let newest = head.seq.min(before.saturating_sub(1));
    if newest == 0 {
        return Ok((Vec::new(), None));
    }
    let span = u64::try_from(limit).unwrap_or(u64::MAX);
    let oldest = newest.saturating_sub(span.saturating_sub(1)).max(1);
    let mut entries = store.feed(author, oldest, limit)?;
    entries.retain(|entry| entry.seq() <= newest);
    entries.reverse();
    let next = (oldest > 1).then_some(oldest);
    Ok((entries, next))
}

/// An author named by `did:key:…`, or by a username looked up in the name registry (by read
/// quorum).
pub(crate) async fn author_by_did_or_name(
    state: &AppState,
    author: &str,
) -> Result<AuthorId, ApiError> {
    if author.starts_with("did:") {
        return parse_did(author);
    }
    if let Err(e) = kith_proto::names::normalize_name(author) {
        return Err(ApiError::bad_request(
            "invalid_did",
            format!("`{author}` is neither an author id (did:key:z6Mk…) nor a username: {e}"),
        ));
    }
    match state.node.lookup_name(author).await? {
        Some(claim) => Ok(claim.owner()),
        None => Err(ApiError::not_found(
            "name_not_found",
            format!("nobody holds the name `{author}`; check the spelling, or use did:key:z6Mk…"),
        )),
    }
}

/// Follow an author
///
/// Adds a `follow` entry to the feed, subscribes to the author's topic and fetches their feed in
/// the background.
#[utoipa::path(
    post,
    path = "/api/v1/follows",
    tag = "follows",
    request_body = NewFollow,
    responses(
        (status = 201, body = EntryObject, description = "The new follow entry (with `private`: \
            a sealed entry only this identity reads)"),
        (status = 200, body = EntryObject, description = "Already followed: the existing follow \
            entry; nothing changed"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: neither an author id \
            nor a possible username; `cannot_follow_self`: the daemon's own identity; `invalid_json`, `invalid_body`: not the expected JSON body"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`name_not_found`: nobody holds the \
            username given"),
        (status = 409, body = ErrorBody, description = "`feed_refused`: the local feed refused \
            the new entry"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn follow(
    State(state): State<AppState>,
    body: Result<Json<NewFollow>, JsonRejection>,
) -> Result<(StatusCode, Json<EntryObject>), ApiError> {
    let Json(NewFollow { author, private }) = body?;
    let author = author_by_did_or_name(&state, &author).await?;
    if author == state.node.author() {
        return Err(ApiError::bad_request(
            "cannot_follow_self",
            "that is this peer's own identity; your own posts are always in your timeline",
        ));
    }
    let owner = state.node.author();
    let followed = read_store(&state, move |store| store.following(&owner)).await?;
    if private {
        if followed.contains(&author) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_following",
                format!(
                    "{} is followed already; unfollow first to follow privately",
                    author.to_did()
                ),
            ));
        }
        let entry = state.node.follow_private(author).await?;
        let mut objects = vec![EntryObject::from(&*entry)];
        crate::privacy::reveal(&state, &mut objects).await?;
        return Ok((StatusCode::CREATED, Json(objects.remove(0))));
    }
    // Following again is harmless: the node answers with the existing follow entry.
    let status = if followed.contains(&author) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let entry = state.node.follow(author).await?;
    Ok((status, Json(EntryObject::from(&*entry))))
}

/// Unfollow an author
///
/// Adds an `unfollow` entry and unsubscribes; the author's entries leave the home timeline.
#[utoipa::path(
    delete,
    path = "/api/v1/follows/{did}",
    tag = "follows",
    params(
        ("did" = String, Path, description = "The author, `did:key:z6Mk…` (as it is, no escaping \
            needed)"),
    ),
    responses(
        (status = 200, body = EntryObject, description = "The unfollow entry"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 409, body = ErrorBody, description = "`not_following`: the author is not \
            followed; `feed_refused`: the local feed refused the new entry"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn unfollow(
    State(state): State<AppState>,
    did: Result<Path<String>, PathRejection>,
) -> Result<Json<EntryObject>, ApiError> {
    let Path(did) = did?;
    let author = parse_did(&did)?;
    let owner = state.node.author();
    let followed = read_store(&state, move |store| store.following(&owner)).await?;
    if !followed.contains(&author) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_following",
            format!("you do not follow {did}, so there is nothing to unfollow"),
        ));
    }
    let entry = state.node.unfollow(author).await?;
    Ok(Json(EntryObject::from(&*entry)))
}

/// The authors followed
#[utoipa::path(
    get,
    path = "/api/v1/follows",
    tag = "follows",
    responses(
        (status = 200, body = Following, description = "The authors the daemon's author follows"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn following(State(state): State<AppState>) -> Result<Json<Following>, ApiError> {
    let owner = state.node.author();
    let (authors, private) = read_store(&state, move |store| {
        Ok((store.following(&owner)?, store.private_following(&owner)?))
    })
    .await?;
    Ok(Json(Following {
        following: authors.iter().map(AuthorId::to_did).collect(),
        private: private.iter().map(AuthorId::to_did).collect(),
    }))
}

/// The connected peers
///
/// The peers the node is connected to, with the addresses of the connections.
#[utoipa::path(
    get,
    path = "/api/v1/peers",
    tag = "node",
    responses(
        (status = 200, body = Peers, description = "The connected peers"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn peers(State(state): State<AppState>) -> Result<Json<Peers>, ApiError> {
    let peers = state.node.peers().await?;
    let hosts = state.node.hosts().await?;
    Ok(Json(Peers {
        peers: peers
            .into_iter()
            .map(|peer| {
                let host = hosts.iter().find(|h| h.peer.to_string() == peer.peer_id);
                let figures = host
                    .and_then(|h| h.beacon.as_ref())
                    .map(|b| (b.ts(), b.figures()));
                Peer {
                    peer_id: peer.peer_id,
                    addrs: peer.addrs,
                    revision: figures.map(|(_, f)| f.revision),
                    // 0 in a beacon: the peer has answered no fetch yet.
                    mean_response_ms: figures
                        .filter(|(_, f)| f.response_us > 0)
                        .map(|(_, f)| f.response_us as f64 / 1000.0),
                    error_rate: figures.map(|(_, f)| f.error_ppm as f64 / 1e6),
                    lag_s: figures.map(|(_, f)| f.lag_s),
                    last_heartbeat: figures.map(|(ts, _)| ts),
                    geohash: figures.and_then(|(_, f)| f.geohash.clone()),
                    rtt_ms: host
                        .and_then(|h| h.rtt)
                        .map(|rtt| rtt.as_secs_f64() * 1000.0),
                    measured_response_ms: host.filter(|h| h.measured).map(|h| h.response_ms),
                    measured_error_rate: host.filter(|h| h.measured).map(|h| h.error_rate),
                    score: host.map(|h| h.score),
                    relayed: peer.relayed,
                }
            })
            .collect(),
    }))
}

/// The deny list
///
/// Every denied peer id, sorted. The list is kept in memory only: a restarted daemon denies no one.
#[utoipa::path(
    get,
    path = "/api/v1/denied-peers",
    tag = "node",
    responses(
        (status = 200, body = DeniedPeers, description = "The deny list"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn denied_peers(State(state): State<AppState>) -> Result<Json<DeniedPeers>, ApiError> {
    Ok(Json(DeniedPeers {
        peers: state.node.denied_peers().await?,
    }))
}

/// Deny peers
///
/// Cuts these peers off: their connections are closed at once and every new connection with them is
/// refused. Every id is checked before anything changes. Answers the whole deny list after the
/// request.
#[utoipa::path(
    post,
    path = "/api/v1/denied-peers",
    tag = "node",
    request_body = DenyPeers,
    responses(
        (status = 200, body = DeniedPeers, description = "The deny list after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_peer_id`: not a libp2p peer id; \
            `cannot_deny_self`: the daemon's own peer id; `invalid_json`, `invalid_body`: not the \
            expected JSON body. Nothing was changed"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 409, body = ErrorBody, description = "`deny_list_full`: the deny list would \
            hold more than 10000 peers; nothing was changed"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn deny_peers(
    State(state): State<AppState>,
    body: Result<Json<DenyPeers>, JsonRejection>,
) -> Result<Json<DeniedPeers>, ApiError> {
    let Json(DenyPeers { peers }) = body?;
    let own = state.node.peer_id();
    if peers.contains(&own) {
        return Err(ApiError::bad_request(
            "cannot_deny_self",
            format!("`{own}` is this daemon's own peer id; it cannot be denied"),
        ));
    }
    // The node checks every id before it changes anything.
    Ok(Json(DeniedPeers {
        peers: state.node.deny_peers(&peers).await?,
    }))
}

/// Allow a peer again
///
/// Takes the peer off the deny list and redials it if its addresses are known. A peer that is not
/// denied is no error.
#[utoipa::path(
    delete,
    path = "/api/v1/denied-peers/{peer_id}",
    tag = "node",
    params(
        ("peer_id" = String, Path, description = "The peer to allow again, a libp2p peer id \
            (`12D3KooW…`)"),
    ),
    responses(
        (status = 200, body = DeniedPeers, description = "The deny list after the request"),
        (status = 400, body = ErrorBody, description = "`invalid_peer_id`: not a libp2p peer id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn allow_peer(
    State(state): State<AppState>,
    peer: Result<Path<String>, PathRejection>,
) -> Result<Json<DeniedPeers>, ApiError> {
    let Path(peer) = peer?;
    Ok(Json(DeniedPeers {
        peers: state.node.allow_peers(&[peer]).await?,
    }))
}

/// Allow every peer again
///
/// Empties the deny list and redials the peers whose addresses are known.
#[utoipa::path(
    delete,
    path = "/api/v1/denied-peers",
    tag = "node",
    responses(
        (status = 200, body = DeniedPeers, description = "The deny list after the request \
            (`{\"peers\": []}` unless another request denied a peer meanwhile)"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn allow_all_peers(State(state): State<AppState>) -> Result<Json<DeniedPeers>, ApiError> {
    state.node.allow_all_peers().await?;
    // Read back rather than assumed empty: a deny racing this one is reported truthfully.
    Ok(Json(DeniedPeers {
        peers: state.node.denied_peers().await?,
    }))
}

/// Look an author's feed head up on the DHT
///
/// Asks the DHT now; every answer is validated and the answer is sent as soon as one other peer has
/// answered with a valid head (the higher of that head and this peer's own copy). The entries
/// themselves are not fetched.
#[utoipa::path(
    get,
    path = "/api/v1/heads/{did}",
    tag = "node",
    params(
        ("did" = String, Path, description = "The author, `did:key:z6Mk…` (as it is, no escaping \
            needed)"),
    ),
    responses(
        (status = 200, body = HeadObject, description = "The newest head found"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id of the \
            form `did:key:z6Mk…`; `invalid_path`: a path segment that is not valid"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`not_found`: no head of that author was \
            found on the DHT"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn head(
    State(state): State<AppState>,
    did: Result<Path<String>, PathRejection>,
) -> Result<Json<HeadObject>, ApiError> {
    let Path(did) = did?;
    let author = parse_did(&did)?;
    let lookup = state.node.lookup_head(author).await?;
    let lookup_ms = milliseconds(lookup.elapsed);
    match lookup.head {
        Some(head) => Ok(Json(HeadObject {
            author: head.author().to_did(),
            seq: head.seq(),
            id: head.id().to_string(),
            ts: head.ts(),
            lookup_ms,
        })),
        None => Err(ApiError::not_found(
            "not_found",
            format!(
                "no head of {did} was found on the DHT (the lookup took {lookup_ms} ms): the \
                 author has not posted yet, or no peer that holds their head is reachable"
            ),
        )),
    }
}

/// A duration in milliseconds, to the microsecond.
fn milliseconds(duration: std::time::Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

/// Prometheus metrics
///
/// Every metric of this peer in the OpenMetrics text format (Prometheus reads it): libp2p's
/// families (`libp2p_…`: connections, dials, kad queries, gossipsub messages, identify, ping
/// round trips) and the node's (`kith_…`: entries stored and rejected, delivery latency,
/// replication lag per followed author, fetches served and sent, API requests, store size).
/// docs/OPERATIONS.md describes each family. Takes the API token: the lag series name the
/// authors this peer follows.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "node",
    responses(
        (status = 200, description = "The metrics",
            content(("application/openmetrics-text; version=1.0.0; charset=utf-8"))),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
    security(("bearer" = [])),
)]
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let text = tokio::task::spawn_blocking(move || node.metrics_text())
        .await
        .map_err(|error| ApiError::internal(format!("encoding the metrics failed: {error}")))?;
    Ok(([(header::CONTENT_TYPE, crate::METRICS_CONTENT_TYPE)], text).into_response())
}

/// The node's counters
///
/// Peers, entries, follows, pending entries, the store's revision, uptime, and the gossip, fetch
/// and deny-list counters since start.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "node",
    responses(
        (status = 200, body = Status, description = "The status"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
async fn status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let status = state.node.status().await?;
    Ok(Json(Status {
        author: status.author.to_did(),
        peer_id: status.peer_id,
        peers: count(status.peers),
        entries: status.entries,
        following: count(status.following),
        pending: status.pending,
        revision: status.revision,
        uptime_s: status.uptime_s,
        fetch_requests: status.fetch_requests,
        gossip_rejected: status.gossip_rejected,
        gossip_ignored: status.gossip_ignored,
        fetch_rejected: status.fetch_rejected,
        syncing: status.syncing as u64,
        denied_peers: count(status.denied_peers),
        denied_connections: status.denied_connections,
        reachability: reachability(&status.reachability),
        version: VERSION.to_owned(),
    }))
}

fn reachability(r: &kith_node::Reachability) -> Reachability {
    Reachability {
        status: r.status.as_str().to_owned(),
        external_addrs: r.external_addrs.iter().map(ToString::to_string).collect(),
        relay_addrs: r.relay_addrs.iter().map(ToString::to_string).collect(),
        dht_server: r.dht_server,
        relay_server: r.relay_server,
        probes_ok: r.probes_ok,
        probes_failed: r.probes_failed,
        hole_punches: r.hole_punches,
        hole_punch_failures: r.hole_punch_failures,
    }
}

/// A count as a JSON integer, whatever integer type the node reports it in.
fn count(n: impl TryInto<u64>) -> u64 {
    n.try_into().unwrap_or(u64::MAX)
}

/// Query of `GET /api/v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    /// The API token, for clients that cannot set headers (a browser's `EventSource`); see
    /// the security scheme `access_token`.
    // Checked by `require_token_or_query`.
    #[serde(rename = "access_token")]
    _access_token: Option<String>,
    /// Resume after this event id (the `Last-Event-ID` header wins).
    #[param(value_type = Option<u64>)]
    last_event_id: Option<String>,
}

/// The event stream
///
/// A Server-Sent Events stream of every entry the node stores from now on, and of the notifications
/// among them. Events are named `entry` (`data`: `EntryEvent`), `notification` (`data`:
/// `NotificationObject`, sent right before the `entry` event of the same entry) and `reset`
/// (`data`: `ResetEvent`: reload what you show; it has no `id`). A comment `: keep-alive` is sent
/// every 15 s. The token may also be given as the query parameter `access_token`, because a
/// browser's `EventSource` cannot set headers. A client that resumes with the id of the last event
/// it saw gets every later event the daemon still keeps (the last 1024) first.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id \
            (wins over `last_event_id`); an empty value starts afresh"),
    ),
    responses(
        (status = 200, body = String, content_type = "text/event-stream", description = "\
            The stream: `event: entry|notification|reset`, `id: N`, `data: <JSON>`; it ends when \
            the daemon stops"),
        (status = 400, body = ErrorBody, description = "`invalid_last_event_id`: `Last-Event-ID` \
            / `last_event_id` not an event id; `invalid_query`: an unknown or malformed query \
            parameter"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
    ),
    security(("bearer" = []), ("access_token" = [])),
)]
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(query) = query?;
    let from_header = headers
        .get("last-event-id")
        .map(|value| value.to_str().unwrap_or("?").to_owned());
    let last_seen = match from_header.or(query.last_event_id) {
        None => None,
        // An empty id is what EventSource sends after an event without one: start afresh.
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                "invalid_last_event_id",
                format!("Last-Event-ID must be the id of an event of this stream, not `{text}`"),
            )
        })?),
    };
    let stream = state
        .hub
        .subscribe(last_seen)
        .into_stream(state.stop.clone());
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(EVENT_KEEP_ALIVE)
            .text("keep-alive"),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(same_secret(b"abcdef", b"abcdef"));
        assert!(!same_secret(b"abcdeg", b"abcdef"));
        assert!(!same_secret(b"abcde", b"abcdef"));
        assert!(!same_secret(b"", b"abcdef"));
    }

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("1")).unwrap(), 1);
        assert_eq!(parse_limit(Some("200")).unwrap(), 200);
        for bad in ["0", "201", "-1", "x", ""] {
            let error = parse_limit(Some(bad)).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST);
            assert_eq!(error.code(), "invalid_limit");
        }
    }

    #[test]
    fn texts_are_checked() {
        assert!(check_text("x").is_ok());
        assert!(check_text(&"x".repeat(MAX_TEXT_BYTES)).is_ok());
        assert_eq!(check_text("").unwrap_err().code(), "empty_text");
        assert_eq!(
            check_text(&"x".repeat(MAX_TEXT_BYTES + 1))
                .unwrap_err()
                .code(),
            "text_too_long"
        );
    }
}
