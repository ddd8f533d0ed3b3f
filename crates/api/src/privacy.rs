//! Sealed entries over the API: what this identity can read of them (`reveal`), audience
//! lists (`/api/v1/lists`) and direct messages (`/api/v1/dms`).
//!
//! Only routes behind the token reveal anything: the open HTML pages, the Atom feeds and the
//! public gateway show a sealed entry as sealed, never its content.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kith_node::{AudienceSpec, Unsealed};
use kith_proto::sealed::DmBody;
use kith_proto::{Body, ContentId, Kind};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::model::{DirectMessages, EntryObject, ErrorBody, ListObject, Lists, NewDm, NewList};
use crate::openapi::{BODY_TOO_LARGE, NOT_JSON, SERVER_ERROR, UNAUTHORIZED, UNAVAILABLE};
use crate::routes::{AppState, author_by_did_or_name, check_text, parse_did, read_store};

/// Fills in what this peer's identity can read of the sealed entries among `objects`.
pub(crate) async fn reveal(state: &AppState, objects: &mut [EntryObject]) -> Result<(), ApiError> {
    let sealed: Vec<(usize, String)> = objects
        .iter()
        .enumerate()
        .filter(|(_, object)| object.sealed.is_some())
        .map(|(i, object)| (i, object.id.clone()))
        .collect();
    if sealed.is_empty() {
        return Ok(());
    }
    let node = state.node.clone();
    let views = tokio::task::spawn_blocking(move || {
        sealed
            .into_iter()
            .filter_map(|(i, id)| {
                let id = ContentId::parse(&id).ok()?;
                let entry = node.store().entry(&id).ok()??;
                Some((i, node.unseal(&entry)))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|error| ApiError::internal(format!("opening sealed entries failed: {error}")))?;
    for (i, unsealed) in views {
        apply(&mut objects[i], unsealed);
    }
    Ok(())
}

/// Writes what `unsealed` shows into `object`.
pub(crate) fn apply(object: &mut EntryObject, unsealed: Unsealed) {
    let Some(view) = object.sealed.as_mut() else {
        return;
    };
    match unsealed {
        Unsealed::Readable(inner) => {
            view.readable = true;
            view.audience = Some(inner.audience.as_str().to_owned());
            view.inner_kind = Some(inner.kind.clone());
            if inner.kind == "dm" {
                if let Ok(dm) = DmBody::decode(&inner.body) {
                    let mut members: Vec<String> = dm.to.iter().map(|a| a.to_did()).collect();
                    members.push(object.author.clone());
                    members.sort_unstable();
                    view.members = members;
                    object.text = Some(dm.text);
                }
                return;
            }
            let Some(kind) = Kind::parse(&inner.kind) else {
                return;
            };
            if let Ok(body) = Body::parse(&kind, &inner.body) {
                object.text = body.text().map(str::to_owned);
                if let Body::Reply { parent, root, .. } = body {
                    object.parent = Some(parent.to_string());
                    object.root = Some(root.to_string());
                }
            }
        }
        Unsealed::Tampered(error) => view.error = Some(error),
        Unsealed::NotForUs | Unsealed::RootUnknown(_) | Unsealed::NotSealed => {}
    }
}

/// Parses the `audience` of a new post: `followers`, `list:NAME`, or comma-separated dids.
pub(crate) fn parse_audience(text: &str) -> Result<AudienceSpec, ApiError> {
    let invalid = |why: String| {
        ApiError::bad_request(
            "invalid_audience",
            format!(
                "`{text}` is not an audience: {why}; use `followers`, `list:NAME` or \
                 comma-separated did:key:z6Mk… recipients"
            ),
        )
    };
    if text == "followers" {
        return Ok(AudienceSpec::Followers);
    }
    if let Some(name) = text.strip_prefix("list:") {
        kith_node::check_list_name(name).map_err(|e| invalid(e.to_string()))?;
        return Ok(AudienceSpec::List(name.to_owned()));
    }
    let recipients = text
        .split(',')
        .map(|did| parse_did(did.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.message().to_owned()))?;
    Ok(AudienceSpec::Direct(recipients))
}

/// Whether the entry `id` held here is sealed.
pub(crate) async fn is_sealed(state: &AppState, id: ContentId) -> Result<bool, ApiError> {
    Ok(read_store(state, move |store| store.entry(&id))
        .await?
        .is_some_and(|entry| matches!(entry.body(), Body::Sealed(_))))
}

/// Checks a list name for the API (`400 invalid_list`).
fn check_name(name: &str) -> Result<(), ApiError> {
    kith_node::check_list_name(name)
        .map_err(|error| ApiError::bad_request("invalid_list", error.to_string()))
}

/// Checks that the list `name` exists (`404 list_not_found`).
async fn existing(state: &AppState, name: &str) -> Result<(), ApiError> {
    check_name(name)?;
    if all_lists(state).await?.lists.iter().any(|l| l.name == name) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "list_not_found",
            format!("there is no list named `{name}`; create it with POST /api/v1/lists"),
        ))
    }
}

fn list_object(name: String, members: Vec<kith_proto::AuthorId>) -> ListObject {
    ListObject {
        name,
        members: members.iter().map(|m| m.to_did()).collect(),
    }
}

async fn all_lists(state: &AppState) -> Result<Lists, ApiError> {
    let node = state.node.clone();
    let lists = tokio::task::spawn_blocking(move || node.lists())
        .await
        .map_err(|error| ApiError::internal(format!("reading the lists failed: {error}")))??;
    Ok(Lists {
        lists: lists
            .into_iter()
            .map(|(name, members)| list_object(name, members))
            .collect(),
    })
}

/// Audience lists
///
/// The lists of this peer's identity and their members. Lists are private to this peer: posting
/// to a list seals the post for its members at that moment, and nobody learns the list.
#[utoipa::path(
    get,
    path = "/api/v1/lists",
    tag = "privacy",
    responses(
        (status = 200, body = Lists, description = "Every list"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn lists(State(state): State<AppState>) -> Result<Json<Lists>, ApiError> {
    Ok(Json(all_lists(&state).await?))
}

/// Create a list
///
/// Creating a list that exists changes nothing (200).
#[utoipa::path(
    post,
    path = "/api/v1/lists",
    tag = "privacy",
    request_body = NewList,
    responses(
        (status = 201, body = Lists, description = "Created; every list"),
        (status = 200, body = Lists, description = "It existed; every list"),
        (status = 400, body = ErrorBody, description = "`invalid_list`: not a list name (1 to 32 \
            of a-z 0-9 _ -, starting with a letter); `invalid_input`: already 256 lists; \
            `invalid_json`: malformed JSON"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn create_list(
    State(state): State<AppState>,
    body: Result<Json<NewList>, JsonRejection>,
) -> Result<(StatusCode, Json<Lists>), ApiError> {
    let Json(NewList { name }) = body?;
    check_name(&name)?;
    let existed = all_lists(&state)
        .await?
        .lists
        .iter()
        .any(|l| l.name == name);
    state.node.create_list(&name).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(all_lists(&state).await?)))
}

/// Delete a list
#[utoipa::path(
    delete,
    path = "/api/v1/lists/{name}",
    tag = "privacy",
    params(("name" = String, Path, description = "The list")),
    responses(
        (status = 200, body = Lists, description = "Every list left"),
        (status = 400, body = ErrorBody, description = "`invalid_list`: not a list name"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`list_not_found`: no such list"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn delete_list(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Lists>, ApiError> {
    let Path(name) = name?;
    existing(&state, &name).await?;
    state.node.delete_list(&name).await?;
    Ok(Json(all_lists(&state).await?))
}

/// `POST /api/v1/lists/{name}/members` request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMember {
    /// The author to add, `did:key:…` or a username.
    author: String,
}

/// Add a member to a list
///
/// From the next post to the list on, they can read it.
#[utoipa::path(
    post,
    path = "/api/v1/lists/{name}/members",
    tag = "privacy",
    params(("name" = String, Path, description = "The list")),
    request_body = NewMember,
    responses(
        (status = 200, body = ListObject, description = "The list"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: neither an author id nor a \
            username; `invalid_list`: not a list name; `invalid_input`: the list is full (1023 \
            members)"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`list_not_found`: no such list; \
            `name_not_found`: nobody holds that username"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn add_member(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<NewMember>, JsonRejection>,
) -> Result<Json<ListObject>, ApiError> {
    let Path(name) = name?;
    let Json(NewMember { author }) = body?;
    existing(&state, &name).await?;
    let author = author_by_did_or_name(&state, &author).await?;
    state.node.set_list_member(&name, author, true).await?;
    one_list(&state, name).await
}

/// Remove a member from a list
///
/// Posts to the list from now on are not sealed for them; what they could read before stays
/// readable to them (they hold its keys).
#[utoipa::path(
    delete,
    path = "/api/v1/lists/{name}/members/{did}",
    tag = "privacy",
    params(
        ("name" = String, Path, description = "The list"),
        ("did" = String, Path, description = "The member, `did:key:z6Mk…`"),
    ),
    responses(
        (status = 200, body = ListObject, description = "The list"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_list`: not a list name"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`list_not_found`: no such list"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ListObject>, ApiError> {
    let Path((name, did)) = path?;
    existing(&state, &name).await?;
    let author = parse_did(&did)?;
    state.node.set_list_member(&name, author, false).await?;
    one_list(&state, name).await
}

async fn one_list(state: &AppState, name: String) -> Result<Json<ListObject>, ApiError> {
    let lists = all_lists(state).await?;
    lists
        .lists
        .into_iter()
        .find(|list| list.name == name)
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found("list_not_found", format!("there is no list named `{name}`"))
        })
}

/// Send a direct message
///
/// Seals the text for the members of the conversation (and the sender) and sends it to each
/// member's inbox, so it arrives even when they do not follow the sender. Peers that hold the
/// sender's feed keep and serve it without being able to read it.
#[utoipa::path(
    post,
    path = "/api/v1/dms",
    tag = "privacy",
    request_body = NewDm,
    responses(
        (status = 201, body = EntryObject, description = "The sealed entry, as its sender reads it"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: a member that is neither \
            an author id nor a username; `invalid_text`: empty or too long; `invalid_input`: no \
            member, or more than 64; `invalid_json`: malformed JSON"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 404, body = ErrorBody, description = "`name_not_found`: nobody holds a username"),
        (status = 413, body = ErrorBody, description = BODY_TOO_LARGE),
        (status = 415, body = ErrorBody, description = NOT_JSON),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
        (status = 503, body = ErrorBody, description = UNAVAILABLE),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn send_dm(
    State(state): State<AppState>,
    body: Result<Json<NewDm>, JsonRejection>,
) -> Result<(StatusCode, Json<EntryObject>), ApiError> {
    let Json(NewDm { to, text }) = body?;
    check_text(&text)?;
    let mut members = Vec::with_capacity(to.len());
    for member in &to {
        members.push(author_by_did_or_name(&state, member).await?);
    }
    let entry = state.node.send_dm(members, &text).await?;
    let mut objects = vec![EntryObject::from(&*entry)];
    reveal(&state, &mut objects).await?;
    Ok((StatusCode::CREATED, Json(objects.remove(0))))
}

/// `GET /api/v1/dms` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DmQuery {
    /// Messages per page, 1 to 200 (default 20).
    limit: Option<String>,
    /// Only messages older than this time (ms since the epoch; the `next` of the previous
    /// page).
    before: Option<String>,
}

/// Direct messages
///
/// The direct messages this identity can read, sent and received, newest first; each entry's
/// `sealed.members` names its conversation.
#[utoipa::path(
    get,
    path = "/api/v1/dms",
    tag = "privacy",
    params(DmQuery),
    responses(
        (status = 200, body = DirectMessages, description = "One page"),
        (status = 400, body = ErrorBody, description = "`invalid_limit`, `invalid_before`, \
            `invalid_query`"),
        (status = 401, body = ErrorBody, description = UNAUTHORIZED),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn dms(
    State(state): State<AppState>,
    query: Result<Query<DmQuery>, QueryRejection>,
) -> Result<Json<DirectMessages>, ApiError> {
    let Query(query) = query?;
    let limit = crate::routes::parse_limit(query.limit.as_deref())?;
    let before = match query.before.as_deref() {
        None => u64::MAX,
        Some(text) => text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                "invalid_before",
                format!(
                    "before must be a time in ms (the `next` of the previous page), not `{text}`"
                ),
            )
        })?,
    };
    let node = state.node.clone();
    let found = tokio::task::spawn_blocking(move || node.dms(before, limit))
        .await
        .map_err(|error| ApiError::internal(format!("reading messages failed: {error}")))??;
    let next = (found.len() == limit)
        .then(|| found.last().map(|(entry, _)| entry.ts()))
        .flatten();
    let entries: Vec<kith_proto::Entry> = found.into_iter().map(|(entry, _)| entry).collect();
    let mut messages = read_store(&state, move |store| {
        crate::routes::decorate(store, &entries)
    })
    .await?;
    reveal(&state, &mut messages).await?;
    Ok(Json(DirectMessages { messages, next }))
}

/// Whether a sealed entry's view says it is unreadable here (timelines leave those out).
pub(crate) fn unreadable(object: &EntryObject) -> bool {
    object.sealed.as_ref().is_some_and(|view| !view.readable)
}
