//! Bridge feeds: an external RSS or Atom feed, republished as a kith author.
//!
//! [`Node::follow_feed`] makes a *bridge*: a fresh ed25519 keypair (a new author hosted on
//! this node), whose entries are the items of the external feed. The node polls the URL
//! politely ([`kith_feeds::FeedPoller`]: conditional GETs, backoff, a minimum interval),
//! signs every new item as a `post` of the bridge author, stores it, gossips it on the
//! bridge author's topic and puts the bridge's signed head on the DHT, exactly as the node
//! does for its own author. To the network a bridge is an ordinary author: others follow
//! its did like anyone's. The node's own identity follows the bridge, so its items reach
//! the home timeline.
//!
//! Everything about a bridge lives in the bridge directory ([`NodeConfig::bridge_dir`]):
//!
//! ```text
//! DIR/                 mode 0700
//!   z6Mk….key          mode 0600, the bridge's secret key (kith_proto's key-file format)
//!   z6Mk….json         its state: url, ETag, Last-Modified, keys of the items seen
//! ```
//!
//! The state file is replaced atomically (temporary file, fsync, rename). At start the node
//! resumes every bridge it finds there ([`resume`]). One bridge publishes one entry at a
//! time; the poll loop of each bridge is one task, which ends when the node stops.
//!
//! [`NodeConfig::bridge_dir`]: crate::NodeConfig::bridge_dir

use std::collections::{BTreeMap, HashMap};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kith_feeds::{FeedItem, FeedPoller, ParsedFeed, PollConfig, PollError, PollOutcome};
use kith_proto::limits::{MAX_BIO_BYTES, MAX_NAME_BYTES, MAX_TEXT_BYTES};
use kith_proto::{AuthorId, Body, FeedHead, Keypair, VerifiedEntry};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::NodeError;
use crate::node::{Node, Profile, now_ms};

/// Most bridges one node runs.
pub const MAX_BRIDGES: usize = 64;
/// Most item keys remembered per bridge (the newest seen); a feed holds at most
/// [`kith_feeds::parse::MAX_ITEMS`] items, so this covers ten whole documents.
pub const MAX_REMEMBERED_ITEMS: usize = 5000;
/// Most items posted from the first fetch of a new bridge (the newest ones); the older ones
/// are remembered as seen and never posted.
pub const FIRST_POLL_ITEMS: usize = 20;
/// Most items posted from one later fetch (the newest ones): a feed that renames all its
/// item keys at once does not flood followers.
pub const MAX_ITEMS_PER_POLL: usize = 50;
/// Longest a DHT head announcement of a bridge may take before it is left for the next.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(30);
/// Version of the state file format.
const STATE_VERSION: u32 = 1;

/// The polling settings of a profile: real use polls every 30 minutes (at most once a
/// minute, backing off to 6 hours); the test profile every second.
pub(crate) fn default_poll_config(profile: Profile) -> PollConfig {
    match profile {
        Profile::Test => PollConfig {
            interval: Duration::from_secs(1),
            min_interval: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            proxy_from_env: false,
            ..PollConfig::default()
        },
        Profile::Home | Profile::Server => PollConfig::default(),
    }
}

/// A bridge as [`Node::bridges`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeInfo {
    /// The bridge's author (its entries are the feed's items).
    pub author: AuthorId,
    /// The feed's URL (normalised).
    pub url: String,
    /// The feed's title, as of the last fetch.
    pub title: Option<String>,
    /// When the feed was last polled (ms since the Unix epoch), successfully or not.
    pub last_poll_ms: Option<u64>,
    /// Why the last poll failed; `None` after a success.
    pub last_error: Option<String>,
}

/// The bridges of a node (one per node, in its `Inner`).
pub(crate) struct Bridges {
    dir: Option<PathBuf>,
    poll: PollConfig,
    list: std::sync::Mutex<Vec<Arc<Bridge>>>,
    /// One creation at a time: the duplicate and limit checks hold until it is registered.
    creating: tokio::sync::Mutex<()>,
}

impl Bridges {
    pub(crate) fn new(dir: Option<PathBuf>, poll: PollConfig) -> Self {
        Self {
            dir,
            poll,
            list: std::sync::Mutex::new(Vec::new()),
            creating: tokio::sync::Mutex::new(()),
        }
    }

    fn all(&self) -> Vec<Arc<Bridge>> {
        self.list.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn register(&self, bridge: Arc<Bridge>) {
        if let Ok(mut list) = self.list.lock() {
            list.push(bridge);
        }
    }
}

/// One running bridge.
struct Bridge {
    keypair: Keypair,
    author: AuthorId,
    url: String,
    /// The file names' stem: the did's multibase part (`z6Mk…`).
    stem: String,
    status: std::sync::Mutex<Status>,
    /// One entry at a time: seq = head + 1 must not be handed out twice.
    publish: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone, Default)]
struct Status {
    title: Option<String>,
    last_poll_ms: Option<u64>,
    last_error: Option<String>,
}

impl Bridge {
    fn info(&self) -> BridgeInfo {
        let status = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        BridgeInfo {
            author: self.author,
            url: self.url.clone(),
            title: status.title,
            last_poll_ms: status.last_poll_ms,
            last_error: status.last_error,
        }
    }

    fn set_status(&self, state: &State) {
        if let Ok(mut status) = self.status.lock() {
            status.title = state.title.clone();
            status.last_poll_ms = state.last_poll_ms;
            status.last_error = state.last_error.clone();
        }
    }
}

/// The state file of a bridge.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    version: u32,
    url: String,
    author: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    created_ms: u64,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(default)]
    last_poll_ms: Option<u64>,
    #[serde(default)]
    last_error: Option<String>,
    /// Keys of the items already posted or passed over, oldest first.
    #[serde(default)]
    seen: Vec<String>,
}

/// The item keys seen, with the most recently seen last; bounded.
#[derive(Debug, Default)]
struct Seen {
    order: BTreeMap<u64, String>,
    index: HashMap<String, u64>,
    next: u64,
}

impl Seen {
    fn from_keys(keys: &[String]) -> Self {
        let mut seen = Self::default();
        for key in keys {
            seen.touch(key);
        }
        seen
    }

    fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Marks `key` seen now (the newest), forgetting the oldest beyond the bound.
    fn touch(&mut self, key: &str) {
        if let Some(old) = self.index.get(key).copied() {
            self.order.remove(&old);
        }
        self.order.insert(self.next, key.to_owned());
        self.index.insert(key.to_owned(), self.next);
        self.next += 1;
        while self.order.len() > MAX_REMEMBERED_ITEMS {
            if let Some((_, oldest)) = self.order.pop_first() {
                self.index.remove(&oldest);
            }
        }
    }

    fn keys(&self) -> Vec<String> {
        self.order.values().cloned().collect()
    }
}

fn stem_of(author: &AuthorId) -> String {
    let did = author.to_did();
    did.strip_prefix("did:key:").unwrap_or(&did).to_owned()
}

fn key_path(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}.key"))
}

fn state_path(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}.json"))
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> NodeError {
    NodeError::Config(format!("{what} {}: {error}", path.display()))
}

/// Creates the bridge directory (mode 0700) if it is missing.
fn ensure_dir(dir: &Path) -> Result<(), NodeError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| io_error("cannot create the bridge directory", dir, e))
}

fn sync_dir(dir: &Path) {
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Writes a new key file: mode 0600 from the start, never replacing one, flushed.
fn write_key_file(dir: &Path, stem: &str, keypair: &Keypair) -> Result<(), NodeError> {
    let path = key_path(dir, stem);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| io_error("cannot create the bridge key file", &path, e))?;
    let text = keypair.to_key_file();
    if let Err(error) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        let _ = std::fs::remove_file(&path);
        return Err(io_error("cannot write the bridge key file", &path, error));
    }
    Ok(())
}

/// Reads a key file, refusing one that other users can read.
fn read_key_file(path: &Path) -> Result<Keypair, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "other users can read it (mode {:o}); run `chmod 600 {}`",
                meta.permissions().mode() & 0o777,
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    Keypair::from_key_file(&text).map_err(|e| e.to_string())
}

/// Replaces the state file atomically: temporary file (0600), fsync, rename, fsync dir.
fn write_state_file(dir: &Path, stem: &str, bytes: &[u8]) -> Result<(), NodeError> {
    let path = state_path(dir, stem);
    let temporary = dir.join(format!("{stem}.json.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(io_error("cannot write the bridge state file", &path, error));
    }
    sync_dir(dir);
    Ok(())
}

/// Saves `state` (with `seen`) off the async threads.
async fn save_state(dir: &Path, stem: &str, state: &State, seen: &Seen) -> Result<(), NodeError> {
    let mut state = state.clone();
    state.seen = seen.keys();
    let bytes = serde_json::to_vec_pretty(&state)
        .map_err(|e| NodeError::Config(format!("cannot encode the bridge state: {e}")))?;
    let (dir, stem) = (dir.to_owned(), stem.to_owned());
    tokio::task::spawn_blocking(move || write_state_file(&dir, &stem, &bytes))
        .await
        .map_err(|_| NodeError::Stopped)?
}

/// Cuts `text` to at most `max` bytes on a char boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The text of the post for an item: title, a blank line, the text, a blank line, the link
/// (empty parts left out), cut to [`MAX_TEXT_BYTES`] on a char boundary (the link is kept
/// whole when it fits). `None` when the item has nothing to show.
fn item_text(item: &FeedItem) -> Option<String> {
    let title = item.title.trim();
    let text = item.text.trim();
    let link = item.link.as_deref().map(str::trim).unwrap_or_default();
    let head: Vec<&str> = [title, text]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    let mut body = head.join("\n\n");
    let tail = if link.is_empty() {
        String::new()
    } else if body.is_empty() {
        link.to_owned()
    } else {
        format!("\n\n{link}")
    };
    if body.len() + tail.len() > MAX_TEXT_BYTES {
        const ELLIPSIS: &str = "…";
        let room = MAX_TEXT_BYTES.saturating_sub(tail.len() + ELLIPSIS.len());
        body = format!("{}{ELLIPSIS}", cut(&body, room).trim_end());
    }
    let mut whole = body + &tail;
    whole = cut(&whole, MAX_TEXT_BYTES).trim().to_owned();
    (!whole.is_empty()).then_some(whole)
}

/// The items of `feed` not seen yet (each key once): the newest `limit` to post, oldest
/// first, and the keys of the older ones, passed over. Items are ordered by their dates when
/// every new one has one, else by document order (newest first, as feeds customarily are).
fn select_new<'a>(
    feed: &'a ParsedFeed,
    seen: &Seen,
    limit: usize,
) -> (Vec<&'a FeedItem>, Vec<&'a str>) {
    let mut keys = std::collections::HashSet::new();
    let mut fresh: Vec<&FeedItem> = feed
        .items
        .iter()
        .filter(|item| !seen.contains(&item.key) && keys.insert(item.key.as_str()))
        .collect();
    if fresh.iter().all(|item| item.published_ms.is_some()) {
        // Stable: equal dates keep document order.
        fresh.sort_by_key(|item| std::cmp::Reverse(item.published_ms));
    }
    let passed = fresh
        .iter()
        .skip(limit)
        .map(|item| item.key.as_str())
        .collect();
    fresh.truncate(limit);
    fresh.reverse();
    (fresh, passed)
}

fn poll_error(url: &str, error: &PollError) -> NodeError {
    match error {
        PollError::InvalidUrl { .. } | PollError::UnsupportedScheme(_) => {
            NodeError::InvalidUrl(format!("{error}; give an http:// or https:// feed URL"))
        }
        other => NodeError::FeedUnavailable(format!("cannot fetch the feed at {url}: {other}")),
    }
}

/// A profile name for the bridge: the feed's title, else the URL's host, cut to the limit.
fn profile_name(title: &str, url: &str) -> String {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = if title.is_empty() {
        url.split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .filter(|host| !host.is_empty())
            .unwrap_or(url)
            .to_owned()
    } else {
        title
    };
    cut(&name, MAX_NAME_BYTES).to_owned()
}

impl Node {
    /// Bridges the RSS or Atom feed at `url`: fetches it once (it must parse as a feed),
    /// makes a new author for it (a fresh keypair kept in the bridge directory), publishes
    /// its profile (the feed's title as name, the URL as bio), follows it with the node's
    /// own identity, and starts polling it; the newest [`FIRST_POLL_ITEMS`] items are posted
    /// at once (in the background). Bridging a URL already bridged returns that bridge and
    /// `false`; a new bridge comes with `true`.
    pub async fn follow_feed(&self, url: &str) -> Result<(BridgeInfo, bool), NodeError> {
        let bridges = &self.inner.bridges;
        let Some(dir) = bridges.dir.clone() else {
            return Err(NodeError::BridgesDisabled);
        };
        let mut poller =
            FeedPoller::new(url, bridges.poll.clone()).map_err(|e| poll_error(url, &e))?;
        let url = poller.url().to_owned();
        let _creating = bridges.creating.lock().await;
        let existing = bridges.all();
        if let Some(bridge) = existing.iter().find(|b| b.url == url) {
            return Ok((bridge.info(), false));
        }
        if existing.len() >= MAX_BRIDGES {
            return Err(NodeError::TooManyBridges { limit: MAX_BRIDGES });
        }
        let feed = match poller.poll().await {
            Ok(PollOutcome::Fetched(feed)) => feed,
            Ok(PollOutcome::NotModified) => {
                return Err(NodeError::FeedUnavailable(format!(
                    "the server at {url} answered 304 Not Modified to a plain request"
                )));
            }
            Err(e) => return Err(poll_error(&url, &e)),
        };

        let keypair = Keypair::generate();
        let author = keypair.author();
        let stem = stem_of(&author);
        let now = now_ms();
        let title = feed.title.trim().to_owned();
        let state = State {
            version: STATE_VERSION,
            url: url.clone(),
            author: author.to_did(),
            title: (!title.is_empty()).then(|| title.clone()),
            created_ms: now,
            // Kept once the first items are posted: a bridge interrupted before fetches the
            // whole document again.
            etag: None,
            last_modified: None,
            last_poll_ms: Some(now),
            last_error: None,
            seen: Vec::new(),
        };
        {
            let (dir, stem, keypair) = (dir.clone(), stem.clone(), keypair.clone());
            tokio::task::spawn_blocking(move || {
                ensure_dir(&dir)?;
                write_key_file(&dir, &stem, &keypair)
            })
            .await
            .map_err(|_| NodeError::Stopped)??;
        }
        let bridge = Arc::new(Bridge {
            keypair,
            author,
            url: url.clone(),
            stem: stem.clone(),
            status: std::sync::Mutex::new(Status::default()),
            publish: tokio::sync::Mutex::new(()),
        });
        bridge.set_status(&state);
        let made = async {
            save_state(&dir, &stem, &state, &Seen::default()).await?;
            publish_as(
                self,
                &bridge,
                Body::Profile {
                    name: Some(profile_name(&title, &url)),
                    bio: Some(cut(&url, MAX_BIO_BYTES).to_owned()),
                    avatar: None,
                    username: None,
                },
            )
            .await
        }
        .await;
        if let Err(error) = made {
            // Leave nothing half made behind.
            let _ = std::fs::remove_file(state_path(&dir, &stem));
            let _ = std::fs::remove_file(key_path(&dir, &stem));
            return Err(error);
        }
        bridges.register(Arc::clone(&bridge));
        info!("bridging {url} as {author}");
        if let Err(e) = self.follow(author).await {
            warn!("cannot follow the new bridge {author}: {e}");
        }
        spawn_poll_loop(
            self,
            bridge.clone(),
            poller,
            state,
            Seen::default(),
            Some(feed),
        );
        Ok((bridge.info(), true))
    }

    /// The feeds this node bridges, oldest bridge first.
    pub fn bridges(&self) -> Vec<BridgeInfo> {
        self.inner
            .bridges
            .all()
            .iter()
            .map(|bridge| bridge.info())
            .collect()
    }
}

/// Resumes every bridge found in the bridge directory (called once, at start). Problems
/// with one bridge are logged and leave it out; they never stop the node.
pub(crate) fn resume(node: &Node) {
    let bridges = &node.inner.bridges;
    let Some(dir) = bridges.dir.clone() else {
        return;
    };
    let listing = match std::fs::read_dir(&dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == ErrorKind::NotFound => return,
        Err(e) => {
            warn!("cannot read the bridge directory {}: {e}", dir.display());
            return;
        }
    };
    let mut found: Vec<(u64, Arc<Bridge>, FeedPoller, State, Seen)> = Vec::new();
    for item in listing.flatten() {
        let path = item.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        match load_bridge(&dir, &path, &bridges.poll) {
            Ok(loaded) => found.push(loaded),
            Err(e) => warn!("bridge {} not resumed: {e}", path.display()),
        }
    }
    found.sort_by_key(|(created, ..)| *created);
    for (index, (_, bridge, poller, state, seen)) in found.into_iter().enumerate() {
        if index >= MAX_BRIDGES {
            warn!(
                "bridge {} of {} not resumed: at most {MAX_BRIDGES} bridges run on one node",
                bridge.author, bridge.url
            );
            continue;
        }
        debug!("resuming the bridge {} of {}", bridge.author, bridge.url);
        bridges.register(Arc::clone(&bridge));
        spawn_poll_loop(node, bridge, poller, state, seen, None);
    }
}

#[allow(clippy::type_complexity)]
fn load_bridge(
    dir: &Path,
    path: &Path,
    poll: &PollConfig,
) -> Result<(u64, Arc<Bridge>, FeedPoller, State, Seen), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let state: State = serde_json::from_str(&text).map_err(|e| format!("damaged state: {e}"))?;
    let author = AuthorId::parse_did(&state.author).map_err(|e| e.to_string())?;
    let stem = stem_of(&author);
    let key = key_path(dir, &stem);
    let keypair = read_key_file(&key).map_err(|e| format!("key file {}: {e}", key.display()))?;
    if keypair.author() != author {
        return Err(format!(
            "the key file {} is another author's",
            key.display()
        ));
    }
    let mut poller = FeedPoller::new(&state.url, poll.clone()).map_err(|e| e.to_string())?;
    poller.set_validators(state.etag.clone(), state.last_modified.clone());
    let seen = Seen::from_keys(&state.seen);
    let bridge = Arc::new(Bridge {
        keypair,
        author,
        url: poller.url().to_owned(),
        stem,
        status: std::sync::Mutex::new(Status::default()),
        publish: tokio::sync::Mutex::new(()),
    });
    bridge.set_status(&state);
    Ok((state.created_ms, bridge, poller, state, seen))
}

/// Signs `body` as the bridge's next entry (seq = head + 1, ts never behind the head),
/// stores it durably, tells API clients and gossips it on the bridge author's topic.
async fn publish_as(node: &Node, bridge: &Bridge, body: Body) -> Result<VerifiedEntry, NodeError> {
    let kind = body
        .kind()
        .ok_or_else(|| NodeError::Invalid("cannot publish an unknown kind".into()))?;
    node.append_signed(&bridge.keypair, &bridge.publish, &kind, &body.encode())
        .await
}

/// Puts the bridge's signed head on the DHT and announces this node as a provider of its
/// feed (once per run); gives up when the node stops.
async fn announce(
    node: &Node,
    bridge: &Bridge,
    provided: &mut bool,
    stop: &mut watch::Receiver<bool>,
) {
    let inner = &node.inner;
    let head = match inner.store.head(&bridge.author) {
        Ok(Some(head)) => head,
        Ok(None) => return,
        Err(e) => {
            debug!("cannot read the head of the bridge {}: {e}", bridge.author);
            return;
        }
    };
    let signed = FeedHead::sign(&bridge.keypair, head.seq, head.id, now_ms());
    let work = async {
        if let Err(e) = inner.net.put_head(signed).await {
            debug!(
                "head of the bridge {} not on the DHT yet: {e}",
                bridge.author
            );
        }
        if !*provided {
            match inner.net.provide(bridge.author).await {
                Ok(()) => *provided = true,
                Err(e) => debug!("cannot announce the bridge {} yet: {e}", bridge.author),
            }
        }
    };
    tokio::select! {
        done = tokio::time::timeout(ANNOUNCE_TIMEOUT, work) => {
            if done.is_err() {
                debug!("announcing the bridge {} timed out", bridge.author);
            }
        }
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
}

/// What a bridge's poll task owns.
struct Run {
    node: Node,
    bridge: Arc<Bridge>,
    dir: PathBuf,
    poller: FeedPoller,
    state: State,
    seen: Seen,
    provided: bool,
    failures: u32,
}

fn spawn_poll_loop(
    node: &Node,
    bridge: Arc<Bridge>,
    poller: FeedPoller,
    state: State,
    seen: Seen,
    first: Option<ParsedFeed>,
) {
    let Some(dir) = node.inner.bridges.dir.clone() else {
        return;
    };
    let run = Run {
        node: node.clone(),
        bridge,
        dir,
        poller,
        state,
        seen,
        provided: false,
        failures: 0,
    };
    // The task stops itself at its next wait once the node stops; an item being posted is
    // finished first (so the state file never lags behind the feed).
    tokio::spawn(run.run(first));
}

impl Run {
    async fn run(mut self, first: Option<ParsedFeed>) {
        let mut stop: watch::Receiver<bool> = self.node.inner.stop.subscribe();
        let mut initial_wait = Duration::ZERO;
        match first {
            Some(feed) => self.take(feed, FIRST_POLL_ITEMS, &mut stop).await,
            None => {
                // A resumed bridge waits out what is left of its interval since the last
                // poll of the previous run (the poller itself knows nothing of it).
                if let Some(last) = self.state.last_poll_ms {
                    let since = Duration::from_millis(now_ms().saturating_sub(last));
                    initial_wait = self.node.inner.bridges.poll.interval.saturating_sub(since);
                }
            }
        }
        announce(&self.node, &self.bridge, &mut self.provided, &mut stop).await;
        let mut wait = initial_wait;
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
            let result = tokio::select! {
                result = self.poller.poll() => result,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            match result {
                Ok(PollOutcome::NotModified) => {
                    debug!("{}: not modified", self.bridge.url);
                    self.succeeded().await;
                }
                Ok(PollOutcome::Fetched(feed)) => {
                    let limit = if self.seen.order.is_empty() {
                        FIRST_POLL_ITEMS
                    } else {
                        MAX_ITEMS_PER_POLL
                    };
                    self.take(feed, limit, &mut stop).await;
                }
                Err(PollError::TooSoon { .. }) => {}
                Err(error) => self.failed(error.to_string()).await,
            }
            wait = self.poller.next_poll_in();
        }
    }

    /// A poll succeeded: clear the error, keep the validators, save.
    async fn succeeded(&mut self) {
        self.failures = 0;
        self.state.last_poll_ms = Some(now_ms());
        self.state.last_error = None;
        self.state.etag = self.poller.etag().map(str::to_owned);
        self.state.last_modified = self.poller.last_modified().map(str::to_owned);
        self.save().await;
    }

    async fn failed(&mut self, error: String) {
        self.failures += 1;
        if self.failures == 1 {
            warn!(
                "bridge {}: {} failed: {error}",
                self.bridge.author, self.bridge.url
            );
        } else {
            debug!(
                "bridge {}: {} failed again ({} in a row): {error}",
                self.bridge.author, self.bridge.url, self.failures
            );
        }
        self.state.last_poll_ms = Some(now_ms());
        self.state.last_error = Some(error);
        self.save().await;
    }

    async fn save(&mut self) {
        self.bridge.set_status(&self.state);
        if let Err(e) = save_state(&self.dir, &self.bridge.stem, &self.state, &self.seen).await {
            warn!("bridge {}: {e}", self.bridge.author);
        }
    }

    /// Posts the new items of a fetched feed (the newest `limit`, oldest first), one at a
    /// time, saving the state after each.
    async fn take(&mut self, feed: ParsedFeed, limit: usize, stop: &mut watch::Receiver<bool>) {
        let title = feed.title.trim();
        if !title.is_empty() {
            self.state.title = Some(title.to_owned());
        }
        let (new, passed) = select_new(&feed, &self.seen, limit);
        for key in passed {
            self.seen.touch(key);
        }
        let mut posted = 0usize;
        for item in new {
            if *stop.borrow() {
                // The rest is posted after a restart: the validators saved are the old ones.
                self.save().await;
                return;
            }
            let Some(text) = item_text(item) else {
                self.seen.touch(&item.key);
                continue;
            };
            match publish_as(&self.node, &self.bridge, Body::Post { text }).await {
                Ok(_) => {
                    posted += 1;
                    self.seen.touch(&item.key);
                    self.save().await;
                }
                Err(error) => {
                    // Forget the validators, so the next poll fetches the document again and
                    // the items not posted are tried again.
                    self.poller
                        .set_validators(self.state.etag.clone(), self.state.last_modified.clone());
                    self.failed(format!("cannot post an item: {error}")).await;
                    if posted > 0 {
                        announce(&self.node, &self.bridge, &mut self.provided, stop).await;
                    }
                    return;
                }
            }
        }
        // Items still in the document stay remembered as the newest seen.
        for item in &feed.items {
            if self.seen.contains(&item.key) {
                self.seen.touch(&item.key);
            }
        }
        if posted > 0 {
            info!("bridge {}: {posted} new items", self.bridge.url);
        }
        self.succeeded().await;
        if posted > 0 {
            announce(&self.node, &self.bridge, &mut self.provided, stop).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kith_feeds::FeedFormat;

    fn item(key: &str, published_ms: Option<u64>) -> FeedItem {
        FeedItem {
            key: key.to_owned(),
            title: format!("title {key}"),
            link: Some(format!("http://example.invalid/{key}")),
            text: format!("text {key}"),
            published_ms,
        }
    }

    fn feed(items: Vec<FeedItem>) -> ParsedFeed {
        ParsedFeed {
            format: FeedFormat::Rss2,
            title: "T".into(),
            link: None,
            items,
            dropped_items: 0,
        }
    }

    #[test]
    fn an_item_becomes_title_text_and_link() {
        let text = item_text(&item("a", None));
        assert_eq!(
            text.as_deref(),
            Some("title a\n\ntext a\n\nhttp://example.invalid/a")
        );
        let bare = FeedItem {
            title: String::new(),
            text: String::new(),
            link: None,
            ..item("b", None)
        };
        assert_eq!(item_text(&bare), None);
        let long = FeedItem {
            text: "ä".repeat(MAX_TEXT_BYTES),
            ..item("c", None)
        };
        let text = item_text(&long).unwrap_or_default();
        assert!(text.len() <= MAX_TEXT_BYTES);
        assert!(
            text.ends_with("http://example.invalid/c"),
            "the link is kept"
        );
        assert!(text.contains('…'));
    }

    #[test]
    fn new_items_are_the_newest_unseen_oldest_first() {
        let doc = feed(vec![
            item("d", None),
            item("c", None),
            item("c", None),
            item("b", None),
            item("a", None),
        ]);
        let mut seen = Seen::default();
        seen.touch("d");
        let (new, passed) = select_new(&doc, &seen, 2);
        let keys: Vec<&str> = new.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["b", "c"]);
        assert_eq!(passed, ["a"]);
        // Dates win over document order when every new item has one.
        let dated = feed(vec![
            item("x", Some(1)),
            item("y", Some(3)),
            item("z", Some(2)),
        ]);
        let (new, _) = select_new(&dated, &Seen::default(), 10);
        let keys: Vec<&str> = new.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["x", "z", "y"]);
    }

    #[test]
    fn the_seen_set_is_bounded_and_keeps_the_most_recent() {
        let mut seen = Seen::default();
        seen.touch("pinned");
        for i in 0..MAX_REMEMBERED_ITEMS - 1 {
            seen.touch(&format!("k{i}"));
        }
        seen.touch("pinned");
        seen.touch("one more");
        assert_eq!(seen.keys().len(), MAX_REMEMBERED_ITEMS);
        assert!(seen.contains("pinned"));
        assert!(!seen.contains("k0"));
        let again = Seen::from_keys(&seen.keys());
        assert_eq!(again.keys(), seen.keys());
    }

    #[test]
    fn profile_names_fall_back_to_the_host() {
        assert_eq!(profile_name("  My\n feed ", "http://x/"), "My feed");
        assert_eq!(
            profile_name("", "https://blog.example/feed.xml"),
            "blog.example"
        );
        assert!(profile_name(&"n".repeat(500), "http://x/").len() <= MAX_NAME_BYTES);
    }
}
