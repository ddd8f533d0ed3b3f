//! `GET /feeds/{did}.atom`: an author's public timeline as an Atom 1.0 feed, served without
//! the API token (feed readers cannot send one; it holds only what the author published).
//!
//! The feed shows the author's newest [`ATOM_ENTRIES`] posts, replies and reposts held on
//! this peer (deleted ones are gone), each with its current text (the author's latest
//! edit). Links are made absolute with the request's `Host` header: entries link to the
//! permalink page `/p/<cid>`, the feed to itself.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use kith_feeds::atom::ATOM_CONTENT_TYPE;
use kith_feeds::{AtomEntry, AtomFeed, InReplyTo, render_atom};
use kith_proto::{AuthorId, Body, Entry};
use kith_store::{Store, StoreError};

use crate::error::ApiError;
use crate::model::ErrorBody;
use crate::openapi::SERVER_ERROR;
use crate::routes::AppState;

/// Most entries in a feed.
pub(crate) const ATOM_ENTRIES: usize = 50;

/// The path of `author`'s Atom feed.
pub(crate) fn feed_path(author: &AuthorId) -> String {
    format!("/feeds/{}.atom", author.to_did())
}

/// `http://HOST` from the request (`https` behind a proxy that says so); a missing or odd
/// `Host` falls back to `localhost`.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// What the feed is made of, read in one go off the async threads.
struct Held {
    profile: Option<Entry>,
    head_ts: Option<u64>,
    /// Each entry with its current text and when it last changed.
    entries: Vec<(Entry, Option<String>, u64)>,
}

fn read(store: &Store, author: &AuthorId) -> Result<Held, StoreError> {
    let profile = store.profile(author)?;
    let head_ts = store.head(author)?.map(|head| head.ts);
    let mut entries = Vec::new();
    for entry in store.author_timeline(author, u64::MAX, ATOM_ENTRIES)? {
        // Sealed entries are for their audience, not for a public feed.
        if matches!(entry.body(), Body::Sealed(_)) {
            continue;
        }
        let (text, updated) = match store.edits(&entry.id())?.last() {
            Some(edit) if entry.body().text().is_some() => (
                edit.body().text().map(str::to_owned),
                edit.ts().max(entry.ts()),
            ),
            _ => (entry.body().text().map(str::to_owned), entry.ts()),
        };
        entries.push((entry, text, updated));
    }
    Ok(Held {
        profile,
        head_ts,
        entries,
    })
}

/// An author's Atom feed
///
/// The author's newest 50 posts, replies and reposts held here, as an Atom 1.0 document, for feed
/// readers. No token: it holds only what the author published and signed.
#[utoipa::path(
    get,
    path = "/feeds/{file}",
    tag = "pages",
    operation_id = "atom_feed",
    params(
        ("file" = String, Path, description = "The author's did followed by `.atom`: \
            `did:key:z6Mk….atom`"),
    ),
    responses(
        (status = 200, body = String, content_type = "application/atom+xml", description = "\
            The Atom 1.0 document (`application/atom+xml; charset=utf-8`)"),
        (status = 400, body = ErrorBody, description = "`invalid_did`: not an author id; \
            `invalid_path`: a path segment that is not valid"),
        (status = 404, body = ErrorBody, description = "`no_route`: the file does not end in \
            `.atom`; `author_not_found`: nothing of that author is stored here"),
        (status = 500, body = ErrorBody, description = SERVER_ERROR),
    ),
)]
pub(crate) async fn feed(
    State(state): State<AppState>,
    file: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(file) = file?;
    let Some(did) = file.strip_suffix(".atom") else {
        return Err(ApiError::not_found(
            "no_route",
            "no such route: Atom feeds are at /feeds/<did>.atom; see docs/API.md",
        ));
    };
    let author = AuthorId::parse_did(did).map_err(|error| {
        ApiError::bad_request(
            "invalid_did",
            format!("`{did}` is not a kith author id: {error}; expected did:key:z6Mk…"),
        )
    })?;
    let store = state.node.store().clone();
    let held = tokio::task::spawn_blocking(move || read(&store, &author))
        .await
        .map_err(|error| ApiError::internal(format!("a store read failed: {error}")))??;
    if held.profile.is_none() && held.head_ts.is_none() && held.entries.is_empty() {
        return Err(ApiError::not_found(
            "author_not_found",
            format!("nothing of {did} is stored on this peer; follow them to get their feed"),
        ));
    }
    let base = base_url(&headers);
    let did = author.to_did();
    let (name, bio) = match held.profile.as_ref().map(Entry::body) {
        Some(Body::Profile { name, bio, .. }) => (name.clone(), bio.clone()),
        _ => (None, None),
    };
    let name = name.filter(|n| !n.trim().is_empty()).unwrap_or(did.clone());
    let permalink = |id: &kith_proto::ContentId| format!("{base}/p/{id}");
    let entries: Vec<AtomEntry> = held
        .entries
        .iter()
        .map(|(entry, text, updated)| {
            let content_text = match (text, entry.body()) {
                (Some(text), _) => text.clone(),
                (None, Body::Repost { target, .. }) => format!("Repost of kith:{target}"),
                (None, _) => String::new(),
            };
            let in_reply_to = match entry.body() {
                Body::Reply { parent, .. } => Some(InReplyTo {
                    ref_uri: format!("kith:{parent}"),
                    href: Some(permalink(parent)),
                }),
                _ => None,
            };
            AtomEntry {
                id: format!("kith:{}", entry.id()),
                title: None,
                content_text,
                published_ms: entry.ts(),
                updated_ms: *updated,
                link: permalink(&entry.id()),
                in_reply_to,
                author_name: None,
                author_uri: None,
            }
        })
        .collect();
    let updated_ms = entries
        .iter()
        .map(|e| e.updated_ms)
        .chain(held.profile.as_ref().map(Entry::ts))
        .chain(held.head_ts)
        .max()
        .unwrap_or(0);
    let document = render_atom(&AtomFeed {
        id: format!("kith:{did}"),
        title: name.clone(),
        subtitle: bio,
        author_name: name,
        author_uri: Some(did.clone()),
        self_url: format!("{base}{}", feed_path(&author)),
        alternate_url: None,
        updated_ms,
        entries,
    });
    Ok((
        [
            (header::CONTENT_TYPE, ATOM_CONTENT_TYPE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        document,
    )
        .into_response())
}
