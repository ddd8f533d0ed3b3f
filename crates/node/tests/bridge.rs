//! Bridge feeds over real nodes on 127.0.0.1 against a local HTTP server serving RSS with an
//! ETag: items become posts of the bridge author on the bridging node and on a follower of
//! the bridge; polls are conditional; a restarted node resumes its bridge without posting
//! anything twice. Every wait is on a condition with a deadline.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use support::{loopback_config, wait_for};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kith_node::{Node, NodeConfig, NodeError, PollConfig};
use kith_proto::{AuthorId, Body, Keypair};
use kith_store::{Store, StoreConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Generous: CI machines are slow and shared.
const DEADLINE: Duration = Duration::from_secs(60);

/// What the feed server serves and what it saw.
#[derive(Default)]
struct Feed {
    /// (guid, title), newest first.
    items: Vec<(String, String)>,
    version: u64,
    /// Every request's `If-None-Match` (`None` when absent).
    requests: Vec<Option<String>>,
    not_modified: usize,
}

impl Feed {
    fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }

    fn document(&self) -> String {
        let mut xml = String::from(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Test Feed</title>\
             <link>http://example.invalid/</link>",
        );
        for (guid, title) in &self.items {
            xml.push_str(&format!(
                "<item><guid>{guid}</guid><title>{title}</title>\
                 <description>&lt;p&gt;Body of {title}&lt;/p&gt;</description>\
                 <link>http://example.invalid/{guid}</link></item>"
            ));
        }
        xml.push_str("</channel></rss>");
        xml
    }
}

/// A minimal HTTP/1.1 server: one request per connection, `Connection: close`.
struct FeedServer {
    addr: SocketAddr,
    feed: Arc<Mutex<Feed>>,
    task: tokio::task::JoinHandle<()>,
}

impl FeedServer {
    async fn start(items: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let feed = Arc::new(Mutex::new(Feed {
            items: items
                .iter()
                .map(|(g, t)| ((*g).to_owned(), (*t).to_owned()))
                .collect(),
            version: 1,
            ..Feed::default()
        }));
        let shared = Arc::clone(&feed);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let feed = Arc::clone(&shared);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                        if request.len() > 64 * 1024 {
                            return;
                        }
                    }
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let if_none_match = text.lines().find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.trim()
                            .eq_ignore_ascii_case("if-none-match")
                            .then(|| value.trim().to_owned())
                    });
                    let response = {
                        let mut feed = feed.lock().unwrap();
                        feed.requests.push(if_none_match.clone());
                        let etag = feed.etag();
                        if if_none_match.as_deref() == Some(etag.as_str()) {
                            feed.not_modified += 1;
                            format!(
                                "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\
                                 Connection: close\r\n\r\n"
                            )
                        } else {
                            let body = feed.document();
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                                 ETag: {etag}\r\nContent-Length: {}\r\n\
                                 Connection: close\r\n\r\n{body}",
                                body.len()
                            )
                        }
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { addr, feed, task }
    }

    fn url(&self) -> String {
        format!("http://{}/feed.xml", self.addr)
    }

    fn add_item(&self, guid: &str, title: &str) {
        let mut feed = self.feed.lock().unwrap();
        feed.items.insert(0, (guid.to_owned(), title.to_owned()));
        feed.version += 1;
    }

    fn requests(&self) -> Vec<Option<String>> {
        self.feed.lock().unwrap().requests.clone()
    }

    fn not_modified(&self) -> usize {
        self.feed.lock().unwrap().not_modified
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls every 200 ms, no minimum interval, no jitter, never through a proxy.
fn fast_polls() -> PollConfig {
    PollConfig {
        interval: Duration::from_millis(200),
        min_interval: Duration::ZERO,
        max_backoff: Duration::from_secs(1),
        jitter: 0.0,
        timeout: Duration::from_secs(5),
        proxy_from_env: false,
        ..PollConfig::default()
    }
}

fn config(bootstrap: Vec<String>, bridge_dir: Option<&Path>) -> NodeConfig {
    NodeConfig {
        bridge_dir: bridge_dir.map(Path::to_owned),
        bridge_poll: Some(fast_polls()),
        ..loopback_config(bootstrap, Some(Duration::from_secs(3600)))
    }
}

async fn start(seed: u8, store: Store, config: NodeConfig) -> Node {
    Node::start(
        config,
        store,
        Keypair::from_seed(&[seed; 32]),
        [seed.wrapping_add(100); 32],
    )
    .await
    .unwrap()
}

/// The first line (the item's title) of every post of `author` held, oldest first.
fn titles(store: &Store, author: &AuthorId) -> Vec<String> {
    let mut entries = store.author_timeline(author, u64::MAX, 10_000).unwrap();
    entries.reverse();
    entries
        .iter()
        .filter_map(|e| match e.body() {
            Body::Post { text } => Some(text.lines().next().unwrap_or_default().to_owned()),
            _ => None,
        })
        .collect()
}

/// Titles of the bridge's posts in `owner`'s home timeline, oldest first.
fn home_titles(store: &Store, owner: &AuthorId, bridge: &AuthorId) -> Vec<String> {
    let page = store.home(owner, None, 10_000).unwrap();
    page.entries
        .iter()
        .rev()
        .filter(|e| e.author() == *bridge)
        .filter_map(|e| {
            e.body()
                .text()
                .map(|t| t.lines().next().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_posts_feed_items_that_followers_receive_and_resumes_after_a_restart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = FeedServer::start(&[("g3", "Third"), ("g2", "Second"), ("g1", "First")]).await;
    let dir = tempfile::tempdir().unwrap();
    let bridge_dir = dir.path().join("bridges");
    let store_path = dir.path().join("a.redb");

    let b_store = Store::in_memory(StoreConfig::default()).unwrap();
    let b = start(2, b_store.clone(), config(vec![], None)).await;
    let b_addr = b.listen_addrs().await.unwrap().remove(0);
    let a_store = Store::open(&store_path, StoreConfig::default()).unwrap();
    let a = start(
        1,
        a_store.clone(),
        config(vec![b_addr.clone()], Some(&bridge_dir)),
    )
    .await;

    // A node without a bridge directory says so.
    assert!(matches!(
        b.follow_feed(&server.url()).await,
        Err(NodeError::BridgesDisabled)
    ));
    // Not an http(s) URL: refused before anything is made.
    assert!(matches!(
        a.follow_feed("ftp://example.invalid/feed").await,
        Err(NodeError::InvalidUrl(_))
    ));

    let (info, created) = a.follow_feed(&server.url()).await.unwrap();
    assert!(created);
    let bridge = info.author;
    assert_eq!(info.url, server.url());
    assert_eq!(info.title.as_deref(), Some("Test Feed"));
    assert!(a_store.following(&a.author()).unwrap().contains(&bridge));
    let profile = a_store.profile(&bridge).unwrap().unwrap();
    assert!(matches!(
        profile.body(),
        Body::Profile { name: Some(name), bio: Some(bio), .. }
            if name == "Test Feed" && *bio == server.url()
    ));
    wait_for("the three items in A's home timeline", DEADLINE, || async {
        home_titles(&a_store, &a.author(), &bridge).len() == 3
    })
    .await;
    assert_eq!(
        home_titles(&a_store, &a.author(), &bridge),
        ["First", "Second", "Third"],
        "oldest first"
    );
    let first = a_store.author_timeline(&bridge, u64::MAX, 1).unwrap();
    let text = first[0].body().text().unwrap().to_owned();
    assert_eq!(text, "Third\n\nBody of Third\n\nhttp://example.invalid/g3");

    // Bridging the same URL again answers with the same bridge.
    let (again, created) = a.follow_feed(&server.url()).await.unwrap();
    assert!(!created);
    assert_eq!(again.author, bridge);
    assert_eq!(a.bridges().len(), 1);

    // B follows the bridge like any author and gets its items from A.
    b.follow(bridge).await.unwrap();
    wait_for("the three items on B", DEADLINE, || async {
        titles(&b_store, &bridge).len() == 3
    })
    .await;
    assert_eq!(titles(&b_store, &bridge), ["First", "Second", "Third"]);

    // The bridge polls conditionally; an unchanged feed is answered 304.
    wait_for("a 304 answer to a conditional poll", DEADLINE, || async {
        server.not_modified() >= 1
    })
    .await;
    let requests = server.requests();
    assert_eq!(requests[0], None, "the first fetch is plain");
    assert!(requests[1..].iter().all(|r| r.as_deref() == Some("\"v1\"")));

    server.add_item("g4", "Fourth");
    wait_for("the new item on A and B", DEADLINE, || async {
        titles(&a_store, &bridge).len() == 4 && titles(&b_store, &bridge).len() == 4
    })
    .await;
    assert_eq!(
        titles(&b_store, &bridge),
        ["First", "Second", "Third", "Fourth"]
    );
    let info = a.bridges().remove(0);
    assert!(info.last_poll_ms.is_some());
    assert_eq!(info.last_error, None);

    // The key and state files are private. The bridge keeps polling, so a
    // save may be in flight: its temporary file (also 0600) can appear in
    // the listing and be renamed away before its mode is read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let files: Vec<_> = std::fs::read_dir(&bridge_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let mut kept: Vec<String> = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e != "tmp"))
            .map(|f| f.extension().unwrap().to_string_lossy().into_owned())
            .collect();
        kept.sort();
        assert_eq!(kept, ["json", "key"], "{files:?}");
        for file in files {
            match std::fs::metadata(&file) {
                Ok(meta) => {
                    let mode = meta.permissions().mode();
                    assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", file.display());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("{}: {e}", file.display()),
            }
        }
    }

    // Restart A on the same store and bridge directory.
    a.shutdown().await.unwrap();
    a_store.close().unwrap();
    let requests_before = server.requests().len();
    let a_store = Store::open(&store_path, StoreConfig::default()).unwrap();
    let a = start(1, a_store.clone(), config(vec![b_addr], Some(&bridge_dir))).await;
    let resumed = a.bridges();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].author, bridge);
    assert_eq!(resumed[0].url, server.url());
    wait_for("a poll by the resumed bridge", DEADLINE, || async {
        server.requests().len() > requests_before
    })
    .await;
    assert_eq!(
        server.requests()[requests_before].as_deref(),
        Some("\"v2\""),
        "the resumed bridge's first poll is conditional"
    );
    server.add_item("g5", "Fifth");
    wait_for(
        "the item added after the restart on A and B",
        DEADLINE,
        || async { titles(&a_store, &bridge).len() >= 5 && titles(&b_store, &bridge).len() >= 5 },
    )
    .await;
    assert_eq!(
        titles(&a_store, &bridge),
        ["First", "Second", "Third", "Fourth", "Fifth"],
        "nothing posted twice"
    );
    assert_eq!(
        titles(&b_store, &bridge),
        ["First", "Second", "Third", "Fourth", "Fifth"]
    );

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    a_store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_poll_posts_only_the_newest_twenty_items() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let items: Vec<(String, String)> = (1..=30)
        .rev()
        .map(|i| (format!("g{i}"), format!("Item {i}")))
        .collect();
    let borrowed: Vec<(&str, &str)> = items
        .iter()
        .map(|(g, t)| (g.as_str(), t.as_str()))
        .collect();
    let server = FeedServer::start(&borrowed).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::in_memory(StoreConfig::default()).unwrap();
    let a = start(3, store.clone(), config(vec![], Some(dir.path()))).await;
    let (info, _) = a.follow_feed(&server.url()).await.unwrap();
    wait_for("twenty items", DEADLINE, || async {
        titles(&store, &info.author).len() == 20
    })
    .await;
    // A few more polls: the ten older items are never posted.
    let seen = server.requests().len();
    wait_for("two more polls", DEADLINE, || async {
        server.requests().len() >= seen + 2
    })
    .await;
    let expected: Vec<String> = (11..=30).map(|i| format!("Item {i}")).collect();
    assert_eq!(titles(&store, &info.author), expected);

    // An unreachable feed is a clear error, and makes nothing.
    drop(server);
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed.xml", closed.local_addr().unwrap());
    drop(closed);
    assert!(matches!(
        a.follow_feed(&url).await,
        Err(NodeError::FeedUnavailable(_))
    ));
    assert_eq!(a.bridges().len(), 1);
    a.shutdown().await.unwrap();
}
