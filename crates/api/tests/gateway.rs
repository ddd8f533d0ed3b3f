//! The public gateway (`kith_api::serve_gateway`) on a node that holds nothing of the
//! author it is asked about: it fetches from the network, keeps what it fetched, and shows
//! it as read-only pages over plain HTTP, without any token.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kith_proto::{AuthorId, ContentId};
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::oneshot;

mod support;

use support::{DEADLINE, Server, TOKEN, wait_for};

/// A gateway served over a node, and a client without any token or cookie.
struct Gateway {
    base: String,
    http: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Gateway {
    async fn start(node: kith_node::Node) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kith_api::serve_gateway(listener, node, async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            base,
            http,
            stop,
            task,
        }
    }

    /// GETs `path`; returns the status, the headers and the body.
    async fn get(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    async fn status_of(&self, request: reqwest::RequestBuilder) -> StatusCode {
        request.send().await.unwrap().status()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the gateway did not stop")
            .unwrap()
            .unwrap();
    }
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_fetches_keeps_and_shows_what_it_lacks_read_only() {
    // Three peers: a name's replica set and quorum. Alice writes, Bob replies, Carol's node
    // serves the gateway and holds nothing of Alice's at first.
    let alice = Server::start().await;
    let addr = alice.node.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr.clone()]).await;
    let carol = Server::start_with(vec![addr]).await;
    alice.claim_name("alice").await;
    alice
        .expect(
            alice
                .post("/api/v1/profile")
                .json(&json!({ "name": "Alice <A>", "bio": "Counts & things" })),
            StatusCode::CREATED,
        )
        .await;
    let post = alice.publish("Hello <gateway> & all").await;
    let id = post["id"].as_str().unwrap().to_owned();
    let post_id = ContentId::parse(&id).unwrap();
    let did = alice.did();
    let author = AuthorId::parse_did(&did).unwrap();

    // Bob follows Alice and replies; Alice's peer gets the reply.
    bob.expect(
        bob.post("/api/v1/follows").json(&json!({ "author": did })),
        StatusCode::CREATED,
    )
    .await;
    wait_for("Alice's post on Bob's peer", || async {
        bob.node.store().entry(&post_id).unwrap().is_some()
    })
    .await;
    let reply = bob
        .expect(
            bob.post("/api/v1/posts")
                .json(&json!({ "text": "A reply from <bob>", "reply_to": id })),
            StatusCode::CREATED,
        )
        .await;
    let reply_id = ContentId::parse(reply["id"].as_str().unwrap()).unwrap();
    wait_for("Bob's reply on Alice's peer", || async {
        alice.node.store().entry(&reply_id).unwrap().is_some()
    })
    .await;

    // Carol's node holds nothing of Alice's feed, nor the post, nor the reply.
    let store = carol.node.store().clone();
    assert!(store.head(&author).unwrap().is_none());
    assert!(store.entry(&post_id).unwrap().is_none());
    assert!(store.entry(&reply_id).unwrap().is_none());
    assert!(store.profile(&author).unwrap().is_none());

    let gateway = Gateway::start(carol.node.clone()).await;

    // The author page by did: fetched from the network, then shown.
    let (status, headers, page) = gateway.get(&format!("/u/{did}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Hello &lt;gateway&gt; &amp; all"), "{page}");
    assert!(!page.contains("<gateway>"), "{page}");
    assert!(page.contains(&format!("href=\"/p/{id}\"")), "{page}");
    assert!(page.contains("Alice &lt;A&gt;"), "{page}");
    assert!(page.contains("Counts &amp; things"), "{page}");
    assert!(
        page.contains(&format!(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Alice &lt;A&gt;\" \
             href=\"/feeds/{did}.atom\">"
        )),
        "{page}"
    );
    assert!(page.contains("name=\"viewport\""), "{page}");
    assert!(!page.contains("<script"), "{page}");
    assert_eq!(
        header(&headers, "content-security-policy"),
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    );
    assert_eq!(
        kith_api::GATEWAY_CSP,
        header(&headers, "content-security-policy")
    );
    assert_eq!(header(&headers, "cache-control"), "public, max-age=60");
    assert!(header(&headers, "content-type").starts_with("text/html"));
    // Fetched and kept: Carol's store now holds Alice's feed (the cache).
    let head = store.head(&author).unwrap().expect("the feed is kept");
    assert!(head.seq >= 3, "claim, profile and post: {}", head.seq);
    assert!(store.entry(&post_id).unwrap().is_some());

    // By username, looked up in the registry.
    let (status, _, page) = gateway.get("/u/Alice").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("href=\"/p/{id}\"")), "{page}");
    assert!(page.contains("@alice"), "{page}");
    let (status, _, page) = gateway.get("/u/nobody-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");

    // The permalink page.
    let (status, headers, page) = gateway.get(&format!("/p/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Hello &lt;gateway&gt; &amp; all"), "{page}");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=60");
    assert_eq!(
        kith_api::GATEWAY_CSP,
        header(&headers, "content-security-policy")
    );
    let (status, headers, _) = gateway
        .get("/p/bafireiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(header(&headers, "cache-control"), "no-store");

    // The thread page: the post and Bob's reply (fetched from the holders of the feed).
    let reply_text = "A reply from &lt;bob&gt;";
    let started = Instant::now();
    loop {
        let (status, _, page) = gateway.get(&format!("/t/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        if page.contains(reply_text) {
            assert!(page.contains("Hello &lt;gateway&gt; &amp; all"), "{page}");
            assert!(page.contains(&format!("href=\"/p/{reply_id}\"")), "{page}");
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the reply never showed: {page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(store.entry(&reply_id).unwrap().is_some());

    // The Atom feed.
    let (status, headers, feed) = gateway.get(&format!("/feeds/{did}.atom")).await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    assert!(header(&headers, "content-type").starts_with("application/atom+xml"));
    assert!(feed.contains("<feed"), "{feed}");
    assert!(feed.contains("Hello &lt;gateway&gt; &amp; all"), "{feed}");

    // The landing page.
    let (status, _, page) = gateway.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("kith gateway"), "{page}");
    assert!(page.contains("/u/&lt;did or username&gt;"), "{page}");
    assert!(!page.contains("<script"), "{page}");

    // No API, with or without a token; nothing but GET.
    for path in ["/api/v1/identity", "/api/v1/timelines/home", "/health"] {
        let status = gateway
            .status_of(gateway.http.get(gateway.url(path)).bearer_auth(TOKEN))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _, _) = gateway.get("/favicon.ico").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let status = gateway
        .status_of(
            gateway
                .http
                .post(gateway.url(&format!("/p/{id}")))
                .body("x"),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let status = gateway
        .status_of(
            gateway
                .http
                .post(gateway.url("/api/v1/posts"))
                .bearer_auth(TOKEN)
                .json(&json!({ "text": "no" })),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    for request in [
        gateway.http.delete(gateway.url(&format!("/u/{did}"))),
        gateway.http.put(gateway.url("/")),
    ] {
        assert_eq!(
            gateway.status_of(request).await,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    // Every answer is counted, under the gateway's own route labels.
    let metrics = carol.node.metrics_text();
    for series in [
        "kith_api_requests_total{method=\"GET\",route=\"gateway:/u/{who}\",status=\"200\"}",
        "kith_api_requests_total{method=\"DELETE\",route=\"gateway:/u/{who}\",status=\"405\"}",
    ] {
        assert!(metrics.contains(series), "no {series} in:\n{metrics}");
    }

    gateway.stop().await;
    // The store closes only once every handle on it is gone.
    drop(store);
    carol.stop().await;
    bob.stop().await;
    alice.stop().await;
}
