//! The public gateway (`kith daemon --gateway IP:PORT`): read-only HTML pages of what
//! authors published, for people without a peer of their own, on a listener of its own.
//!
//! | route | what it shows |
//! |---|---|
//! | `GET /` | what this is and how to read through it |
//! | `GET /p/{link}` | an entry by permalink (the API's page, [`crate::routes`]) |
//! | `GET /{user}/{slug}`, `GET /{slug}` | a post by username and slug, by global slug (same page) |
//! | `GET /u/{who}` | an author (a did, or a username looked up in the name registry): profile and newest posts |
//! | `GET /t/{id}` | an entry and its replies |
//! | `GET /feeds/{did}.atom` | the author's Atom feed (the API's, [`crate::atom`]) |
//! | `GET /blobs/{id}` | an image blob held here (avatars) |
//!
//! What the node lacks it fetches from the best-scored hosts (`Node::resolve_link`,
//! [`Node::fetch_feed`], [`Node::refresh_thread_wait`]) and keeps in its store, which is the
//! cache: the next request is answered from the store. An author's feed is fetched again at
//! most once a minute (in the background once some of it is held).
//!
//! Nothing else: no `/api/v1`, no token, no cookie, no web UI. Every other method is 405,
//! request bodies are never read, and at most [`GATEWAY_CONCURRENCY`] requests that may
//! ask the network run at once (more get a 503 page saying to retry). Every page is
//! HTML-escaped, without scripts, under the Content-Security-Policy [`GATEWAY_CSP`]; pages
//! found are `Cache-Control: public, max-age=60`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRef, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::{BoxFuture, FutureExt as _, Shared};
use kith_node::Node;
use kith_proto::{AuthorId, Body, ContentId, Entry};
use kith_store::{EntryState, Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::error::ApiError;
use crate::model::EntryObject;
use crate::routes::{AppState, decorate, escape_html, hide_muted};

/// Requests that may ask the network (every page but `/` and `/blobs/…`) served at once;
/// more are answered 503 at once.
pub const GATEWAY_CONCURRENCY: usize = 16;

/// The Content-Security-Policy of every gateway answer: no scripts, nothing loaded from
/// elsewhere, images (avatars) from the gateway only, inline styles.
pub const GATEWAY_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'";

/// `Cache-Control` of pages found (author pages change; a minute is fresh enough).
const PAGE_CACHE: &str = "public, max-age=60";
/// `Cache-Control` of blobs: content-addressed, so they never change.
const BLOB_CACHE: &str = "public, max-age=31536000, immutable";
/// Seconds a client is told to wait when the gateway is busy.
const RETRY_AFTER_S: &str = "5";
/// Posts on an author page.
const AUTHOR_ENTRIES: usize = 50;
/// Entries on a thread page.
const MAX_THREAD: usize = 500;
/// An author's feed is fetched again at most this often.
const FEED_REFRESH_EVERY: Duration = Duration::from_secs(60);
/// Feed fetches remembered (and so started) per [`FEED_REFRESH_EVERY`].
const MAX_FEED_FETCHES: usize = 1024;
/// Longest a thread page waits for its replies to be refreshed from peers.
const THREAD_WAIT: Duration = Duration::from_secs(5);

/// Serves the public gateway on `listener` until `shutdown` completes, then stops accepting,
/// waits for requests in progress, and returns. The node is not shut down: that is the
/// caller's next step. Put it behind a reverse proxy with TLS to publish it (docs/OPERATIONS.md,
/// "Gateway").
pub async fn serve_gateway(
    listener: TcpListener,
    node: Node,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let state = Gateway::new(node)?;
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A fetch of one author's feed, shared by every request that waits for it.
type FeedFetch = Shared<BoxFuture<'static, ()>>;

/// What the gateway's handlers share.
#[derive(Clone)]
struct Gateway {
    /// For the API's page handlers. Its token is random and never told to anyone: the
    /// gateway has no route that checks one.
    app: AppState,
    /// Turns of requests that may ask the network.
    turns: Arc<Semaphore>,
    /// Feed fetches started in the last [`FEED_REFRESH_EVERY`], by author.
    feeds: Arc<Mutex<HashMap<AuthorId, (Instant, FeedFetch)>>>,
}

impl FromRef<Gateway> for AppState {
    fn from_ref(gateway: &Gateway) -> Self {
        gateway.app.clone()
    }
}

impl Gateway {
    fn new(node: Node) -> io::Result<Self> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(io::Error::other)?;
        let token = secret.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        // No event stream here: the hub is never fed, the stop signal never sent.
        let (_, stop) = watch::channel(false);
        let app = AppState::new(node, token, Arc::new(crate::events::Hub::new()), stop);
        Ok(Self {
            app,
            turns: Arc::new(Semaphore::new(GATEWAY_CONCURRENCY)),
            feeds: Arc::default(),
        })
    }

    fn node(&self) -> &Node {
        &self.app.node
    }

    /// The fetch of `author`'s feed started less than [`FEED_REFRESH_EVERY`] ago, else a
    /// new one. It runs in the background whether or not anyone waits for it. `None` when
    /// [`MAX_FEED_FETCHES`] were started in the last [`FEED_REFRESH_EVERY`].
    fn feed_fetch(&self, author: AuthorId) -> Option<FeedFetch> {
        let now = Instant::now();
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((started, fetch)) = feeds.get(&author)
            && now.duration_since(*started) < FEED_REFRESH_EVERY
        {
            return Some(fetch.clone());
        }
        if feeds.len() >= MAX_FEED_FETCHES {
            feeds.retain(|_, (started, _)| now.duration_since(*started) < FEED_REFRESH_EVERY);
            if feeds.len() >= MAX_FEED_FETCHES {
                return None;
            }
        }
        let node = self.node().clone();
        let task = tokio::spawn(async move {
            if let Err(error) = node.fetch_feed(author).await {
                tracing::debug!(%error, "gateway: fetch of {author} failed");
            }
        });
        let fetch = async move {
            let _ = task.await;
        }
        .boxed()
        .shared();
        feeds.insert(author, (now, fetch.clone()));
        Some(fetch)
    }

    /// Forgets the fetch of `author`'s feed if it is over, so that the next request asks
    /// the network again: for a fetch that brought nothing (the author's peers may have
    /// been away).
    fn forget_fetch(&self, author: &AuthorId) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if feeds
            .get(author)
            .is_some_and(|(_, fetch)| fetch.peek().is_some())
        {
            feeds.remove(author);
        }
    }

    /// Runs a store read off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.node().store().clone();
        tokio::task::spawn_blocking(move || read(&store))
            .await
            .map_err(|error| ApiError::internal(format!("a store read failed: {error}")))?
            .map_err(ApiError::from)
    }
}

/// The gateway's routes: pages only.
fn router(state: Gateway) -> Router {
    // Pages that may ask the network take a turn.
    let fetching = Router::new()
        .route("/p/{*link}", get(crate::routes::permalink_page))
        .route("/{user}/{slug}", get(crate::routes::slug_page))
        .route("/{slug}", get(global_slug_page))
        .route("/u/{who}", get(author_page))
        .route("/t/{id}", get(thread_page))
        .route("/feeds/{file}", get(atom_feed))
        .route_layer(middleware::from_fn_with_state(state.clone(), take_turn));
    Router::new()
        .route("/", get(landing))
        .route("/blobs/{id}", get(blob))
        .merge(fetching)
        .fallback(no_page)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::map_response(public_headers))
        // Nothing here reads a body.
        .layer(DefaultBodyLimit::max(0))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .with_state(state)
}

/// The headers of every answer: the CSP (replacing the API page's), no sniffing, and
/// `Cache-Control` (public for what was found, `no-store` for the rest).
async fn public_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(GATEWAY_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let cache = if response.status().is_success() {
        PAGE_CACHE
    } else {
        "no-store"
    };
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(cache));
    response
}

/// Counts every answer in `kith_api_requests_total`, like the API's, with the route template
/// prefixed `gateway:` (the API serves some of the same paths; `gateway:unmatched` for a path
/// no route knows).
async fn record_request(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    crate::routes::record_answer(gateway.node(), "gateway:", request, next).await
}

/// Lets a request on if one of the [`GATEWAY_CONCURRENCY`] turns is free; else 503.
async fn take_turn(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    let Ok(_turn) = Arc::clone(&gateway.turns).try_acquire_owned() else {
        let mut busy = page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "",
            "<h1>Busy</h1><p>This gateway is answering as many requests as it may. Retry in a \
             few seconds.</p>",
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_S));
        return busy;
    };
    next.run(request).await
}

/// An HTML page: `head` and `body` are HTML already (escaped by the caller), `title` is
/// text.
fn page(status: StatusCode, title: &str, head: &str, body: &str) -> Response {
    // Readable on a phone: long dids and ids wrap instead of widening the page.
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>{head}<style>body{{font-family:system-ui,sans-serif;line-height:1.5;\
         margin:0 auto;max-width:40rem;padding:1rem;overflow-wrap:anywhere}}\
         code{{word-break:break-all}}article{{border-top:1px solid #ccc;padding:.5rem 0}}\
         .meta{{color:#555;font-size:.9rem;margin:0}}.text{{white-space:pre-wrap}}\
         .reply{{margin-left:1rem}}img{{max-width:6rem;max-height:6rem;border-radius:50%}}\
         </style></head><body><header><a href=\"/\">kith gateway</a></header>\
         <main>{body}</main></body></html>",
        escape_html(title)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// The page of an error: its status, its message.
fn error_page(error: &ApiError) -> Response {
    page(
        error.status(),
        "Not available",
        "",
        &format!(
            "<h1>Not available</h1><p>{}</p>",
            escape_html(error.message())
        ),
    )
}

async fn landing() -> Response {
    page(
        StatusCode::OK,
        "kith gateway",
        "",
        "<h1>kith gateway</h1>\
         <p>A read-only window on <b>kith</b>, a peer-to-peer social network: it shows what \
         authors published, signed by them, fetched from the peers that hold it, for people \
         without a peer of their own. Nothing here can post, follow or sign in.</p>\
         <h2>How to read</h2><ul>\
         <li><code>/p/&lt;content id&gt;</code>: an entry (also <code>/p/&lt;did&gt;/&lt;seq&gt;\
         </code>)</li>\
         <li><code>/u/&lt;did or username&gt;</code>: an author, their profile and newest posts\
         </li>\
         <li><code>/t/&lt;content id&gt;</code>: an entry and its replies</li>\
         <li><code>/&lt;username&gt;/&lt;slug&gt;</code>: a post by its author's username and \
         slug</li>\
         <li><code>/&lt;slug&gt;</code>: a post by its global slug</li>\
         <li><code>/feeds/&lt;did&gt;.atom</code>: an author's posts as an Atom feed</li></ul>\
         <p>To post, follow and reply, run a peer of your own: <code>kith daemon</code>.</p>",
    )
}

async fn no_page(method: axum::http::Method) -> Response {
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return wrong_method().await;
    }
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        "",
        "<h1>Not found</h1><p>No such page. <a href=\"/\">How to read through this \
         gateway</a>.</p>",
    )
}

async fn wrong_method() -> Response {
    let mut response = page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Read-only",
        "",
        "<h1>Read-only</h1><p>This gateway only shows pages (<code>GET</code>).</p>",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// `/<slug>`: the API's page for `kith:/<slug>`; a segment that is not a slug
/// (`/favicon.ico`) is the gateway's 404 page.
async fn global_slug_page(state: State<AppState>, Path(slug): Path<String>) -> Response {
    if kith_proto::names::global_slug_name(&slug).is_err() {
        return no_page(axum::http::Method::GET).await;
    }
    crate::routes::permalink_page(state, Path(format!("/{slug}"))).await
}

/// `/blobs/<id>`: an image held here (the avatars of the author pages). The network serves
/// any held blob piece to any peer, so this shows nothing it would not.
async fn blob(State(gateway): State<Gateway>, Path(text): Path<String>) -> Response {
    let Ok(id) = ContentId::parse(&text) else {
        return no_page(axum::http::Method::GET).await;
    };
    match gateway.read(move |store| store.blob(&id)).await {
        Ok(Some((image, content))) => (
            [
                (header::CONTENT_TYPE, image.mime()),
                (header::CACHE_CONTROL, BLOB_CACHE),
            ],
            content,
        )
            .into_response(),
        Ok(None) => no_page(axum::http::Method::GET).await,
        Err(error) => error_page(&error),
    }
}

/// `/feeds/<did>.atom`: the API's Atom feed, after fetching the feed if nothing of it is
/// held (and refreshing it in the background at most once a minute).
async fn atom_feed(
    State(gateway): State<Gateway>,
    file: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let author = file
        .as_ref()
        .ok()
        .and_then(|Path(file)| file.strip_suffix(".atom"))
        .and_then(|did| AuthorId::parse_did(did).ok());
    if let Some(author) = author {
        let held = gateway
            .read(move |store| Ok(store.head(&author)?.is_some()))
            .await;
        if let Some(fetch) = gateway.feed_fetch(author)
            && matches!(held, Ok(false))
        {
            fetch.await;
            if matches!(
                gateway
                    .read(move |store| Ok(store.head(&author)?.is_none()))
                    .await,
                Ok(true)
            ) {
                gateway.forget_fetch(&author);
            }
        }
    }
    match crate::atom::feed(State(gateway.app.clone()), file, headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// What an author page shows, read in one go.
struct AuthorHeld {
    /// Display name, bio, avatar (if held) and the username the profile states.
    name: Option<String>,
    bio: Option<String>,
    avatar: Option<ContentId>,
    username: Option<String>,
    /// Some of the feed is held.
    feed: bool,
    entries: Vec<EntryObject>,
}

impl AuthorHeld {
    fn known(&self) -> bool {
        self.feed || self.name.is_some() || !self.entries.is_empty()
    }
}

fn read_author(store: &Store, author: &AuthorId) -> Result<AuthorHeld, StoreError> {
    let (mut name, mut bio, mut avatar, mut username) = (None, None, None, None);
    if let Some(profile) = store.profile(author)?
        && let Body::Profile {
            name: n,
            bio: b,
            avatar: a,
            username: u,
        } = profile.body()
    {
        (name, bio, username) = (n.clone(), b.clone(), u.clone());
        if let Some(id) = a
            && store.blob(id)?.is_some()
        {
            avatar = Some(*id);
        }
    }
    let feed = store.head(author)?.is_some();
    let mut entries = store.author_timeline(author, u64::MAX, AUTHOR_ENTRIES)?;
    hide_muted(store, &mut entries)?;
    // Public pages show public entries: sealed ones are for their audience.
    entries.retain(|entry| !matches!(entry.body(), kith_proto::Body::Sealed(_)));
    Ok(AuthorHeld {
        name: name.filter(|n| !n.trim().is_empty()),
        bio: bio.filter(|b| !b.trim().is_empty()),
        avatar,
        username,
        feed,
        entries: decorate(store, &entries)?,
    })
}

/// The author a `/u/` segment names: a did, or a username looked up in the registry (then
/// also the normalized name).
async fn find_author(node: &Node, who: &str) -> Result<(AuthorId, Option<String>), ApiError> {
    if who.starts_with("did:") {
        let author = AuthorId::parse_did(who).map_err(|error| {
            ApiError::bad_request(
                "invalid_did",
                format!("`{who}` is not a kith author id: {error}; expected did:key:z6Mk…"),
            )
        })?;
        return Ok((author, None));
    }
    let name = kith_proto::names::normalize_name(who).map_err(|error| {
        ApiError::bad_request(
            "invalid_name",
            format!("`{who}` is neither an author id (did:key:z6Mk…) nor a username: {error}"),
        )
    })?;
    match node.lookup_name(&name).await? {
        Some(claim) => Ok((claim.owner(), Some(name))),
        None => Err(ApiError::not_found(
            "name_not_found",
            format!("nobody holds the username `{name}`"),
        )),
    }
}

/// `/u/<did or username>`: the author's profile and newest posts.
async fn author_page(State(gateway): State<Gateway>, Path(who): Path<String>) -> Response {
    let (author, registered) = match find_author(gateway.node(), &who).await {
        Ok(found) => found,
        Err(error) => return error_page(&error),
    };
    let fetch = gateway.feed_fetch(author);
    let mut held = match gateway.read(move |store| read_author(store, &author)).await {
        Ok(held) => held,
        Err(error) => return error_page(&error),
    };
    if !held.feed
        && let Some(fetch) = fetch
    {
        fetch.await;
        held = match gateway.read(move |store| read_author(store, &author)).await {
            Ok(held) => held,
            Err(error) => return error_page(&error),
        };
        if !held.feed {
            gateway.forget_fetch(&author);
        }
    }
    let did = author.to_did();
    if !held.known() {
        return error_page(&ApiError::not_found(
            "author_not_found",
            format!("nothing of {did} is held here, and no peer asked has their feed"),
        ));
    }
    let atom = crate::atom::feed_path(&author);
    let shown = held.name.clone().unwrap_or_else(|| did.clone());
    let head = format!(
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{}\" href=\"{}\">",
        escape_html(&shown),
        escape_html(&atom)
    );
    let mut body = String::from("<section>");
    if let Some(avatar) = held.avatar {
        let _ = write!(body, "<img src=\"/blobs/{avatar}\" alt=\"\">");
    }
    let _ = write!(body, "<h1>{}</h1>", escape_html(&shown));
    match (&registered, &held.username) {
        (Some(name), _) => {
            let _ = write!(body, "<p>@{}</p>", escape_html(name));
        }
        // Only what the profile says: the link asks the registry.
        (None, Some(name)) => {
            let _ = write!(
                body,
                "<p class=\"meta\">username (as their profile states): \
                 <a href=\"/u/{}\">@{}</a></p>",
                escape_html(name),
                escape_html(name)
            );
        }
        (None, None) => {}
    }
    if let Some(bio) = &held.bio {
        let _ = write!(body, "<p class=\"text\">{}</p>", escape_html(bio));
    }
    let _ = write!(
        body,
        "<p class=\"meta\"><code>{}</code> · <a href=\"{}\">Atom feed</a></p></section>",
        escape_html(&did),
        escape_html(&atom)
    );
    if held.entries.is_empty() {
        body.push_str("<p>No posts of this author are held here yet.</p>");
    }
    for entry in &held.entries {
        body.push_str(&entry_html(entry, None, false));
    }
    page(StatusCode::OK, &shown, &head, &body)
}

/// One entry as an `<article>`: when and what, its text, links to its page and thread;
/// with `author` (a display name), the author too.
fn entry_html(entry: &EntryObject, author: Option<&str>, reply: bool) -> String {
    let id = escape_html(&entry.id);
    let when = kith_feeds::date::format_rfc3339(entry.ts);
    let mut html = format!(
        "<article{}><p class=\"meta\">",
        if reply { " class=\"reply\"" } else { "" }
    );
    if let Some(author) = author {
        let _ = write!(
            html,
            "<a href=\"/u/{}\"><b>{}</b></a> · ",
            escape_html(&entry.author),
            escape_html(author)
        );
    }
    let _ = write!(
        html,
        "<a href=\"/p/{id}\"><time datetime=\"{when}\">{}</time></a> · {}",
        escape_html(&when.replace('T', " ")),
        escape_html(&entry.kind)
    );
    if let Some(parent) = &entry.parent {
        let parent = escape_html(parent);
        let _ = write!(html, " to <a href=\"/p/{parent}\">{parent}</a>");
    }
    if entry.edited {
        html.push_str(" · edited");
    }
    html.push_str("</p>");
    match (&entry.text, &entry.target) {
        (Some(text), _) => {
            let _ = write!(html, "<p class=\"text\">{}</p>", escape_html(text));
        }
        (None, Some(target)) => {
            let target = escape_html(target);
            let _ = write!(html, "<p>Of <a href=\"/p/{target}\">{target}</a></p>");
        }
        (None, None) => {}
    }
    let _ = write!(
        html,
        "<p class=\"meta\"><a href=\"/t/{id}\">replies</a></p></article>"
    );
    html
}

/// `/t/<id>`: the entry and the replies to it held here (after asking the holders of its
/// author's feed for more, for at most [`THREAD_WAIT`]).
async fn thread_page(State(gateway): State<Gateway>, Path(text): Path<String>) -> Response {
    let id = match crate::routes::parse_id(&text) {
        Ok(id) => id,
        Err(error) => return error_page(&error),
    };
    let node = gateway.node();
    match node.resolve(id, None).await {
        Ok(EntryState::Held(_)) => {}
        Ok(EntryState::Deleted { tombstone }) => {
            return error_page(&ApiError::new(
                StatusCode::GONE,
                "entry_deleted",
                format!("entry {text} was deleted by its author (tombstone {tombstone})"),
            ));
        }
        Ok(EntryState::Unknown) => {
            return error_page(&ApiError::not_found(
                "entry_not_found",
                format!("no entry {text} is held here, and no peer asked has it"),
            ));
        }
        Err(error) => return error_page(&ApiError::from(error)),
    }
    node.refresh_thread_wait(id, THREAD_WAIT).await;
    let read = gateway
        .read(move |store| {
            let mut entries = store.thread(&id, MAX_THREAD)?;
            hide_muted(store, &mut entries)?;
            let names = display_names(store, &entries)?;
            Ok((decorate(store, &entries)?, names))
        })
        .await;
    let (entries, names) = match read {
        Ok(read) => read,
        Err(error) => return error_page(&error),
    };
    let Some(first) = entries.first().filter(|first| first.id == id.to_string()) else {
        // Muted, or deleted meanwhile.
        return error_page(&ApiError::not_found(
            "entry_not_found",
            format!("entry {text} is not shown here"),
        ));
    };
    let name_of = |entry: &EntryObject| {
        names
            .get(&entry.author)
            .cloned()
            .unwrap_or_else(|| entry.author.clone())
    };
    let mut body = String::new();
    if let Some(root) = first.root.as_ref().filter(|root| **root != first.id) {
        let _ = write!(
            body,
            "<p class=\"meta\">A reply in <a href=\"/t/{0}\">the thread of {0}</a></p>",
            escape_html(root)
        );
    }
    body.push_str(&entry_html(first, Some(&name_of(first)), false));
    let replies = entries.len() - 1;
    let _ = write!(
        body,
        "<h2>{replies} {}</h2>",
        if replies == 1 { "reply" } else { "replies" }
    );
    for entry in &entries[1..] {
        body.push_str(&entry_html(entry, Some(&name_of(entry)), true));
    }
    let title = format!("{} · thread", name_of(first));
    page(StatusCode::OK, &title, "", &body)
}

/// The display name of each author of `entries` whose profile is held, by did.
fn display_names(store: &Store, entries: &[Entry]) -> Result<HashMap<String, String>, StoreError> {
    let mut names = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for entry in entries {
        if !seen.insert(entry.author()) {
            continue;
        }
        let did = entry.author().to_did();
        if let Some(profile) = store.profile(&entry.author())?
            && let Body::Profile {
                name: Some(name), ..
            } = profile.body()
            && !name.trim().is_empty()
        {
            names.insert(did, name.clone());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn entries_are_escaped_and_linked() {
        let entry = EntryObject {
            id: "bafy<1>".to_owned(),
            author: "did:key:z6Mk\"x".to_owned(),
            seq: 2,
            prev: None,
            ts: 1_764_000_000_000,
            kind: "reply".to_owned(),
            text: Some("<script>alert(1)</script> & more".to_owned()),
            parent: Some("bafy'p".to_owned()),
            root: None,
            target: None,
            reaction: None,
            reactions: Vec::new(),
            reposts: 0,
            edited: true,
            permalink: "kith:bafy<1>".to_owned(),
            slug: None,
            global_slug: None,
            sealed: None,
        };
        let html = entry_html(&entry, Some("Ada <A>"), true);
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"),
            "{html}"
        );
        assert!(html.contains("href=\"/p/bafy&lt;1&gt;\""), "{html}");
        assert!(html.contains("href=\"/t/bafy&lt;1&gt;\""), "{html}");
        assert!(html.contains("href=\"/p/bafy&#39;p\""), "{html}");
        assert!(html.contains("href=\"/u/did:key:z6Mk&quot;x\""), "{html}");
        assert!(html.contains("Ada &lt;A&gt;"), "{html}");
        assert!(html.contains("2025-11-24 16:00:00Z"), "{html}");
        assert!(html.contains(" · edited"), "{html}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_gateway_says_so_and_the_landing_page_still_answers() {
        let dir = tempfile::tempdir().unwrap();
        let store = kith_store::Store::open(
            &dir.path().join("kith.redb"),
            kith_store::StoreConfig::default(),
        )
        .unwrap();
        let config = kith_node::NodeConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
            profile: kith_node::Profile::Test,
            ..kith_node::NodeConfig::default()
        };
        let node = Node::start(
            config,
            store.clone(),
            kith_proto::Keypair::generate(),
            *kith_proto::Keypair::generate().seed(),
        )
        .await
        .unwrap();
        let state = Gateway::new(node.clone()).unwrap();
        // Every turn taken, as by 16 slow requests.
        let turns = Arc::clone(&state.turns)
            .acquire_many_owned(GATEWAY_CONCURRENCY as u32)
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        // reqwest has rustls without a default crypto provider (see bin/kith's main).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let did = node.author().to_did();
        for path in [
            format!("/u/{did}"),
            "/p/bogus".to_owned(),
            "/t/bogus".to_owned(),
        ] {
            let response = http.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert_eq!(response.headers()["retry-after"], "5");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert!(response.text().await.unwrap().contains("Retry"));
        }
        let landing = http.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(landing.status(), StatusCode::OK);
        assert_eq!(landing.headers()["content-security-policy"], GATEWAY_CSP);
        // A turn free again: the request is served (a bad permalink is a 400 page).
        drop(turns);
        let page = http.get(format!("{base}/p/bogus")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);

        let _ = stop.send(());
        server.await.unwrap().unwrap();
        node.shutdown().await.unwrap();
        store.close().unwrap();
    }
}
