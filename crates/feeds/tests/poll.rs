//! The poller against a scripted HTTP/1.1 server on 127.0.0.1: conditional
//! requests, 304, Retry-After, backoff, body cap, redirects, timeouts.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kith_feeds::date::civil_from_days;
use kith_feeds::poll::{FeedPoller, PollConfig, PollError, PollOutcome, USER_AGENT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RSS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<link>http://example.invalid/</link>
<item><guid>one</guid><title>First</title><description>&lt;p&gt;Hello&lt;/p&gt;</description>
<pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate></item>
<item><guid>two</guid><title>Second</title><description>World</description></item>
</channel></rss>"#;

#[derive(Clone)]
enum Body {
    Bytes(Vec<u8>),
    /// This many bytes, streamed without a Content-Length.
    Stream(usize),
    /// Headers promise this many bytes; none are sent.
    Declared(usize),
    /// Never answer at all.
    Hang,
}

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

impl Reply {
    fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    fn feed(body: &str) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type", "application/rss+xml".into())],
            body: Body::Bytes(body.as_bytes().to_vec()),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }
}

#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Request>>,
    /// Bytes of streamed bodies the server managed to write.
    streamed: AtomicUsize,
    /// Set when a streamed body ended (completely or by a write error).
    stream_done: AtomicBool,
}

struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            replies: Mutex::new(replies.into()),
            ..Shared::default()
        });
        let server_shared = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, server_shared.clone()));
            }
        });
        Self { addr, shared }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().expect("lock").clone()
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if !head[0].is_ascii_uppercase() {
            // Not HTTP (a TLS ClientHello, say): hang up.
            return;
        }
        assert!(head.len() < 64 * 1024, "request head too large");
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let path = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    shared
        .requests
        .lock()
        .expect("lock")
        .push(Request { path, headers });
    let reply = shared
        .replies
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| Reply::new(500).body(Body::Bytes(b"no scripted reply".to_vec())));

    let mut out = format!(
        "HTTP/1.1 {} Scripted\r\nConnection: close\r\n",
        reply.status
    );
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    match &reply.body {
        Body::Bytes(bytes) => out.push_str(&format!("Content-Length: {}\r\n", bytes.len())),
        Body::Declared(len) => out.push_str(&format!("Content-Length: {len}\r\n")),
        Body::Stream(_) | Body::Hang => {}
    }
    out.push_str("\r\n");
    match reply.body {
        Body::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Body::Bytes(bytes) => {
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.write_all(&bytes).await;
        }
        Body::Declared(_) => {
            let _ = stream.write_all(out.as_bytes()).await;
            // Keep the connection open a moment; the client must not wait for it.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Body::Stream(total) => {
            let _ = stream.write_all(out.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                let n = chunk.len().min(total - sent);
                if stream.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                sent += n;
                shared.streamed.store(sent, Ordering::SeqCst);
            }
            shared.stream_done.store(true, Ordering::SeqCst);
        }
    }
    let _ = stream.shutdown().await;
}

/// A config for tests: no minimum interval, no jitter, no proxies.
fn test_config() -> PollConfig {
    PollConfig {
        interval: Duration::from_secs(600),
        min_interval: Duration::ZERO,
        max_backoff: Duration::from_secs(3600),
        jitter: 0.0,
        jitter_seed: Some(1),
        timeout: Duration::from_secs(10),
        proxy_from_env: false,
        ..PollConfig::default()
    }
}

/// An IMF-fixdate for `unix_secs`, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(unix_secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (unix_secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let s = unix_secs % 86_400;
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[m as usize - 1],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[test]
fn http_date_helper_matches_rfc_example() {
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
}

#[tokio::test]
async fn a_200_gives_the_parsed_items_and_identifies_the_bridge() {
    let server = Server::start(vec![Reply::feed(RSS)]).await;
    let mut poller = FeedPoller::new(&server.url("/feed.xml"), test_config()).expect("poller");
    assert_eq!(poller.next_poll_in(), Duration::ZERO);

    let outcome = poller.poll().await.expect("poll");
    let PollOutcome::Fetched(feed) = outcome else {
        panic!("expected a feed, got {outcome:?}")
    };
    assert_eq!(feed.title, "T");
    let keys: Vec<&str> = feed.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["one", "two"]);
    assert_eq!(feed.items[0].text, "Hello");
    assert_eq!(feed.items[0].published_ms, Some(1_055_217_600_000));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/feed.xml");
    assert_eq!(requests[0].header("user-agent"), Some(USER_AGENT));
    assert!(
        USER_AGENT.starts_with("kith-bridge/")
            && USER_AGENT.ends_with("(+https://example.invalid/kith)")
    );
    assert!(
        requests[0]
            .header("accept")
            .is_some_and(|a| a.contains("application/atom+xml"))
    );
    assert_eq!(requests[0].header("if-none-match"), None);
    assert_eq!(requests[0].header("if-modified-since"), None);

    assert_eq!(poller.consecutive_failures(), 0);
    assert_eq!(poller.current_delay(), Duration::from_secs(600));
    let next = poller.next_poll_in();
    assert!(
        next <= Duration::from_secs(600) && next > Duration::from_secs(590),
        "{next:?}"
    );
}

#[tokio::test]
async fn the_second_request_is_conditional_and_a_304_is_not_modified() {
    let last_modified = "Tue, 10 Jun 2003 04:00:00 GMT";
    let server = Server::start(vec![
        Reply::feed(RSS)
            .header("ETag", "\"v1\"")
            .header("Last-Modified", last_modified),
        Reply::new(304).header("ETag", "\"v1\""),
    ])
    .await;
    let mut poller = FeedPoller::new(&server.url("/feed.xml"), test_config()).expect("poller");
    assert!(matches!(poller.poll().await, Ok(PollOutcome::Fetched(_))));
    assert_eq!(poller.etag(), Some("\"v1\""));
    assert_eq!(poller.last_modified(), Some(last_modified));

    let outcome = poller.poll().await.expect("second poll");
    assert_eq!(outcome, PollOutcome::NotModified);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(requests[1].header("if-modified-since"), Some(last_modified));
    // A 304 is a success: the normal interval, no failure counted.
    assert_eq!(poller.consecutive_failures(), 0);
    assert_eq!(poller.current_delay(), Duration::from_secs(600));
}

#[tokio::test]
async fn validators_of_an_unparsable_feed_are_not_kept() {
    let server = Server::start(vec![
        Reply::feed("<html>not a feed</html>").header("ETag", "\"bad\""),
    ])
    .await;
    let mut poller = FeedPoller::new(&server.url("/"), test_config()).expect("poller");
    assert!(matches!(poller.poll().await, Err(PollError::Parse(_))));
    assert_eq!(poller.etag(), None);
}

#[tokio::test]
async fn a_503_with_retry_after_seconds_schedules_the_next_poll() {
    let server = Server::start(vec![Reply::new(503).header("Retry-After", "120")]).await;
    let mut poller = FeedPoller::new(&server.url("/"), test_config()).expect("poller");
    let err = poller.poll().await.expect_err("503 is an error");
    assert!(
        matches!(err, PollError::Status { status, retry_after: Some(d) } if status.as_u16() == 503 && d == Duration::from_secs(120)),
        "{err:?}"
    );
    assert_eq!(poller.current_delay(), Duration::from_secs(120));
    let next = poller.next_poll_in();
    assert!(
        next <= Duration::from_secs(120) && next > Duration::from_secs(110),
        "{next:?}"
    );
}

#[tokio::test]
async fn a_429_with_an_http_date_retry_after_schedules_the_next_poll() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let server = Server::start(vec![
        Reply::new(429).header("Retry-After", http_date(now + 300)),
    ])
    .await;
    let mut poller = FeedPoller::new(&server.url("/"), test_config()).expect("poller");
    assert!(matches!(poller.poll().await, Err(PollError::Status { .. })));
    let delay = poller.current_delay();
    // Whole-second dates and a moment of test time.
    assert!(
        delay > Duration::from_secs(290) && delay <= Duration::from_secs(300),
        "{delay:?}"
    );
}

#[tokio::test]
async fn retry_after_is_clamped_to_the_floor_and_ceiling() {
    let server = Server::start(vec![
        Reply::new(503).header("Retry-After", "1"),
        Reply::new(503).header("Retry-After", "99999999"),
    ])
    .await;
    let config = PollConfig {
        min_interval: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(7200),
        ..test_config()
    };
    let floor_config = PollConfig {
        min_interval: Duration::from_secs(30),
        ..config.clone()
    };
    let mut floor = FeedPoller::new(&server.url("/"), floor_config).expect("poller");
    assert!(floor.poll().await.is_err());
    assert_eq!(floor.current_delay(), Duration::from_secs(30));

    let mut ceiling = FeedPoller::new(&server.url("/"), config).expect("poller");
    assert!(ceiling.poll().await.is_err());
    assert_eq!(ceiling.current_delay(), Duration::from_secs(7200));
}

#[tokio::test]
async fn repeated_errors_back_off_exponentially_to_the_cap_and_success_resets() {
    let server = Server::start(vec![
        Reply::new(500),
        Reply::new(502),
        Reply::feed("<rss><channel><item>broken"),
        Reply::new(404),
        Reply::new(500),
        Reply::feed(RSS),
        Reply::new(500),
    ])
    .await;
    let mut poller = FeedPoller::new(&server.url("/"), test_config()).expect("poller");
    let mut delays = Vec::new();
    for _ in 0..7 {
        let _ = poller.poll().await;
        delays.push(poller.current_delay().as_secs());
    }
    // interval 600 s, cap 3600 s: ×2 per failure, reset to 600 on success.
    assert_eq!(delays, [1200, 2400, 3600, 3600, 3600, 600, 1200]);
    assert_eq!(poller.consecutive_failures(), 1);
}

#[tokio::test]
async fn network_errors_back_off_with_bounded_jitter() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let config = PollConfig {
        jitter: 0.5,
        jitter_seed: Some(42),
        ..test_config()
    };
    let mut poller = FeedPoller::new(&format!("http://{addr}/feed"), config).expect("poller");
    let mut saw_jitter = false;
    for n in 1..=4u32 {
        assert!(matches!(poller.poll().await, Err(PollError::Http(_))));
        let base = Duration::from_secs(600 * 2u64.pow(n)).min(Duration::from_secs(3600));
        let delay = poller.current_delay();
        assert!(
            delay <= base && delay >= base / 2,
            "failure {n}: {delay:?} vs {base:?}"
        );
        saw_jitter |= delay != base;
    }
    assert!(
        saw_jitter,
        "jitter 0.5 should move at least one of four delays"
    );
}

#[tokio::test]
async fn an_oversized_streamed_body_is_cut_off_while_streaming() {
    const TOTAL: usize = 64 * 1024 * 1024;
    let server = Server::start(vec![Reply::feed("").body(Body::Stream(TOTAL))]).await;
    let config = PollConfig {
        max_body_bytes: 64 * 1024,
        ..test_config()
    };
    let mut poller = FeedPoller::new(&server.url("/"), config).expect("poller");
    let err = poller.poll().await.expect_err("too large");
    assert!(
        matches!(err, PollError::TooLarge { max: 65_536 }),
        "{err:?}"
    );
    assert_eq!(poller.consecutive_failures(), 1);
    // The server's writes fail once the client hangs up: it never gets to send
    // the whole body.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !server.shared.stream_done.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server still streaming"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let streamed = server.shared.streamed.load(Ordering::SeqCst);
    assert!(streamed < TOTAL, "server wrote all {streamed} bytes");
}

#[tokio::test]
async fn an_oversized_content_length_is_refused_without_reading() {
    let server = Server::start(vec![Reply::feed("").body(Body::Declared(10 * 1024 * 1024))]).await;
    let config = PollConfig {
        max_body_bytes: 1024 * 1024,
        ..test_config()
    };
    let mut poller = FeedPoller::new(&server.url("/"), config).expect("poller");
    let started = std::time::Instant::now();
    let err = poller.poll().await.expect_err("too large");
    assert!(matches!(err, PollError::TooLarge { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn polling_again_within_the_minimum_interval_is_refused_without_a_request() {
    let server = Server::start(vec![Reply::feed(RSS), Reply::feed(RSS)]).await;
    let config = PollConfig {
        min_interval: Duration::from_secs(60),
        ..test_config()
    };
    let mut poller = FeedPoller::new(&server.url("/"), config).expect("poller");
    assert!(poller.poll().await.is_ok());
    let err = poller.poll().await.expect_err("too soon");
    assert!(
        matches!(err, PollError::TooSoon { wait } if wait > Duration::from_secs(50)),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
    // Refusing is not a failure.
    assert_eq!(poller.consecutive_failures(), 0);
}

#[tokio::test]
async fn redirects_are_followed_a_few_times_only() {
    let server = Server::start(vec![
        Reply::new(301).header("Location", "/moved"),
        Reply::feed(RSS),
    ])
    .await;
    let mut poller = FeedPoller::new(&server.url("/old"), test_config()).expect("poller");
    assert!(matches!(poller.poll().await, Ok(PollOutcome::Fetched(_))));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/old", "/moved"]);

    let redirects = (0..10)
        .map(|i| Reply::new(302).header("Location", format!("/hop{i}")))
        .collect();
    let server = Server::start(redirects).await;
    let config = PollConfig {
        max_redirects: 3,
        ..test_config()
    };
    let mut poller = FeedPoller::new(&server.url("/start"), config).expect("poller");
    assert!(matches!(poller.poll().await, Err(PollError::Http(_))));
    // The first request plus three redirects.
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn redirects_to_other_schemes_are_refused() {
    let server = Server::start(vec![
        Reply::new(302).header("Location", "file:///etc/passwd"),
    ])
    .await;
    let mut poller = FeedPoller::new(&server.url("/"), test_config()).expect("poller");
    let err = poller.poll().await.expect_err("not followed");
    // reqwest stops before a non-http(s) Location (the 302 itself comes back);
    // our policy would turn it into an error otherwise.
    assert!(
        matches!(&err, PollError::Status { status, .. } if status.as_u16() == 302)
            || matches!(err, PollError::Http(_)),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = Server::start(vec![Reply::new(200).body(Body::Hang)]).await;
    let config = PollConfig {
        timeout: Duration::from_millis(300),
        ..test_config()
    };
    let mut poller = FeedPoller::new(&server.url("/"), config).expect("poller");
    let started = std::time::Instant::now();
    let err = poller.poll().await.expect_err("timeout");
    assert!(
        matches!(&err, PollError::Http(e) if e.is_timeout()),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(poller.current_delay(), Duration::from_secs(1200));
}

#[tokio::test]
async fn https_uses_the_ring_backed_tls_client() {
    // The scripted server speaks plain HTTP, so the TLS handshake fails; what
    // matters is that an https poll is a clean error, not a panic about a
    // missing rustls crypto provider.
    let server = Server::start(vec![Reply::feed(RSS)]).await;
    let url = format!("https://{}/feed.xml", server.addr);
    let mut poller = FeedPoller::new(&url, test_config()).expect("poller");
    let err = poller.poll().await.expect_err("no TLS on the other end");
    assert!(matches!(err, PollError::Http(_)), "{err:?}");
}
