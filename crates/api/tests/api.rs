//! The API against a real node (test profile, loopback, a temporary store) over real HTTP.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::StreamExt;
use kith_proto::Keypair;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;

use support::{DEADLINE, Server, TOKEN};

const MAX_TEXT_BYTES: usize = kith_proto::limits::MAX_TEXT_BYTES;

fn entries(page: &Value) -> Vec<Value> {
    page["entries"].as_array().unwrap().clone()
}

fn texts(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| entry["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_open_and_everything_else_needs_the_token() {
    let server = Server::start().await;
    let health = server
        .expect(server.http.get(server.url("/health")), StatusCode::OK)
        .await;
    assert_eq!(health, json!({"status": "ok"}));

    for path in [
        "/api/v1/identity",
        "/api/v1/timelines/home",
        "/api/v1/events",
    ] {
        let bare = server.http.get(server.url(path));
        let message = server
            .expect_error(bare, StatusCode::UNAUTHORIZED, "unauthorized")
            .await;
        assert!(message.contains("api.token"), "{message}");
        let wrong = server.http.get(server.url(path)).bearer_auth("nope");
        server
            .expect_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized")
            .await;
        let almost = server
            .http
            .get(server.url(path))
            .bearer_auth(&TOKEN[..TOKEN.len() - 1]);
        server
            .expect_error(almost, StatusCode::UNAUTHORIZED, "unauthorized")
            .await;
    }
    // The query token is for the event stream only.
    let by_query = server
        .http
        .get(server.url(&format!("/api/v1/identity?access_token={TOKEN}")));
    server
        .expect_error(by_query, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
    let posted = server
        .http
        .post(server.url("/api/v1/posts"))
        .json(&json!({"text": "sneaky"}));
    server
        .expect_error(posted, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;

    let identity = server
        .expect(server.get("/api/v1/identity"), StatusCode::OK)
        .await;
    assert_eq!(identity["author"], server.did());
    assert_eq!(identity["peer_id"], server.node.peer_id());
    assert_eq!(identity["version"], kith_api::VERSION);
    let addrs = identity["listen_addrs"].as_array().unwrap();
    assert!(!addrs.is_empty(), "{identity}");
    for addr in addrs {
        let addr = addr.as_str().unwrap();
        assert!(
            addr.ends_with(&format!("/p2p/{}", server.node.peer_id())),
            "{addr}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_is_stored_and_read_back_everywhere() {
    let server = Server::start().await;
    let did = server.did();
    let first = server.publish("hello, world").await;
    assert_eq!(first["author"], did.as_str());
    assert_eq!(first["seq"], 1);
    assert_eq!(first["prev"], Value::Null);
    assert_eq!(first["kind"], "post");
    assert_eq!(first["text"], "hello, world");
    assert!(first["ts"].as_u64().unwrap() > 1_600_000_000_000);
    let id = first["id"].as_str().unwrap();
    assert!(id.starts_with('b'), "{first}");

    let second = server.publish("second").await;
    assert_eq!(second["seq"], 2);
    assert_eq!(second["prev"], first["id"]);

    let got = server
        .expect(server.get(&format!("/api/v1/entries/{id}")), StatusCode::OK)
        .await;
    assert_eq!(got, first);

    let home = server
        .expect(server.get("/api/v1/timelines/home"), StatusCode::OK)
        .await;
    assert_eq!(entries(&home), [second.clone(), first.clone()]);
    let feed = server
        .expect(server.get(&format!("/api/v1/feeds/{did}")), StatusCode::OK)
        .await;
    assert_eq!(entries(&feed), [second.clone(), first.clone()]);
    assert_eq!(feed["next"], Value::Null);

    // Exactly at the limit is fine.
    let longest = "é".repeat(MAX_TEXT_BYTES / 2);
    let posted = server.publish(&longest).await;
    assert_eq!(posted["text"], longest.as_str());

    let status = server
        .expect(server.get("/api/v1/status"), StatusCode::OK)
        .await;
    assert_eq!(status["author"], did.as_str());
    assert_eq!(status["peer_id"], server.node.peer_id());
    assert_eq!(status["entries"], 3);
    assert_eq!(status["following"], 0);
    assert_eq!(status["pending"], 0);
    assert!(status["revision"].as_u64().unwrap() >= 3);
    assert!(status["uptime_s"].is_u64());
    // A lone test peer: no one has dialled it back, it relays for no one, and its DHT mode is
    // fixed to server by the test profile.
    assert_eq!(
        status["reachability"],
        json!({
            "status": "unknown", "external_addrs": [], "relay_addrs": [], "dht_server": true,
            "relay_server": false, "probes_ok": 0, "probes_failed": 0, "hole_punches": 0,
            "hole_punch_failures": 0
        })
    );
    let peers = server
        .expect(server.get("/api/v1/peers"), StatusCode::OK)
        .await;
    assert_eq!(peers, json!({"peers": []}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_code() {
    let server = Server::start().await;
    let posts = || server.post("/api/v1/posts");
    let bad = StatusCode::BAD_REQUEST;

    server
        .expect_error(posts().json(&json!({"text": ""})), bad, "empty_text")
        .await;
    let message = server
        .expect_error(
            posts().json(&json!({"text": "x".repeat(MAX_TEXT_BYTES + 1)})),
            bad,
            "text_too_long",
        )
        .await;
    assert!(message.contains(&MAX_TEXT_BYTES.to_string()), "{message}");
    server
        .expect_error(
            posts().json(&json!({"text": "x".repeat(70_000)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        )
        .await;
    let message = server
        .expect_error(
            posts().json(&json!({"text": "hi", "txet": "typo"})),
            bad,
            "invalid_body",
        )
        .await;
    assert!(message.contains("txet"), "{message}");
    server
        .expect_error(posts().json(&json!({"txt": "hi"})), bad, "invalid_body")
        .await;
    server
        .expect_error(posts().json(&json!({"text": 5})), bad, "invalid_body")
        .await;
    server
        .expect_error(
            posts()
                .header("content-type", "application/json")
                .body("{\"text\": "),
            bad,
            "invalid_json",
        )
        .await;
    server
        .expect_error(
            posts().body("{\"text\": \"hi\"}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    // Nothing of that was stored.
    let home = server
        .expect(server.get("/api/v1/timelines/home"), StatusCode::OK)
        .await;
    assert!(entries(&home).is_empty());

    // Neither an author id nor a possible username ("alice" would be looked up by name).
    for did in ["not an author!", "did:web:example.com", "did:key:z6Mk"] {
        let message = server
            .expect_error(
                server.post("/api/v1/follows").json(&json!({"author": did})),
                bad,
                "invalid_did",
            )
            .await;
        assert!(message.contains("did:key:z6Mk"), "{message}");
        server
            .expect_error(
                server.get(&format!("/api/v1/feeds/{did}")),
                bad,
                "invalid_did",
            )
            .await;
    }
    server
        .expect_error(server.get("/api/v1/entries/bogus"), bad, "invalid_id")
        .await;
    let unknown = kith_proto::ContentId::of(b"never stored").to_string();
    server
        .expect_error(
            server.get(&format!("/api/v1/entries/{unknown}")),
            StatusCode::NOT_FOUND,
            "entry_not_found",
        )
        .await;
    for limit in ["0", "201", "-1", "ten"] {
        server
            .expect_error(
                server.get(&format!("/api/v1/timelines/home?limit={limit}")),
                bad,
                "invalid_limit",
            )
            .await;
    }
    server
        .expect_error(
            server.get("/api/v1/timelines/home?cursor=zz"),
            bad,
            "invalid_cursor",
        )
        .await;
    server
        .expect_error(
            server.get("/api/v1/timelines/home?limt=5"),
            bad,
            "invalid_query",
        )
        .await;
    let did = server.did();
    for before in ["0", "x"] {
        server
            .expect_error(
                server.get(&format!("/api/v1/feeds/{did}?before={before}")),
                bad,
                "invalid_before",
            )
            .await;
    }
    server
        .expect_error(
            server.get("/api/v1/nothing"),
            StatusCode::NOT_FOUND,
            "no_route",
        )
        .await;
    server
        .expect_error(
            server
                .http
                .delete(server.url("/api/v1/posts"))
                .bearer_auth(TOKEN),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_their_cursors_newest_first() {
    let server = Server::start().await;
    let did = server.did();
    for n in 1..=5 {
        server.publish(&format!("post {n}")).await;
    }
    // Home timeline: pages of 2 until `next` is null.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/timelines/home?limit=2&cursor={cursor}"),
            None => "/api/v1/timelines/home?limit=2".to_owned(),
        };
        let page = server.expect(server.get(&path), StatusCode::OK).await;
        let got = entries(&page);
        assert!(got.len() <= 2, "{page}");
        seen.extend(texts(&got));
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["post 5", "post 4", "post 3", "post 2", "post 1"]);

    // A feed: `next` is the `before` of the next page.
    let page = server
        .expect(
            server.get(&format!("/api/v1/feeds/{did}?limit=2")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(texts(&entries(&page)), ["post 5", "post 4"]);
    let before = page["next"].as_u64().unwrap();
    assert_eq!(before, 4);
    let page = server
        .expect(
            server.get(&format!("/api/v1/feeds/{did}?limit=3&before={before}")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(texts(&entries(&page)), ["post 3", "post 2", "post 1"]);

    // Every kind: follow entries show up too, and paging is by seq.
    let other = Keypair::generate().author().to_did();
    let follow = server
        .expect(
            server
                .post("/api/v1/follows")
                .json(&json!({"author": other})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(follow["kind"], "follow");
    assert_eq!(follow["seq"], 6);
    let page = server
        .expect(
            server.get(&format!("/api/v1/feeds/{did}?all=true&limit=2")),
            StatusCode::OK,
        )
        .await;
    let kinds: Vec<_> = entries(&page)
        .iter()
        .map(|entry| entry["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(kinds, [6, 5]);
    assert_eq!(page["next"], 5);
    let page = server
        .expect(
            server.get(&format!("/api/v1/feeds/{did}?all=true&limit=10&before=5")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(entries(&page).len(), 4);
    assert_eq!(page["next"], Value::Null);
    // Without `all`, the follow entry is not a timeline item.
    let page = server
        .expect(
            server.get(&format!("/api/v1/feeds/{did}?limit=1")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(texts(&entries(&page)), ["post 5"]);
    // An author this peer knows nothing of has an empty feed.
    let page = server
        .expect(
            server.get(&format!("/api/v1/feeds/{other}?all=true")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(page, json!({"entries": [], "next": null, "fork_seq": null}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_list_and_unfollow() {
    let server = Server::start().await;
    let other = Keypair::generate().author().to_did();
    let follows = server
        .expect(server.get("/api/v1/follows"), StatusCode::OK)
        .await;
    assert_eq!(follows, json!({"following": [], "private": []}));
    let follow = server
        .expect(
            server
                .post("/api/v1/follows")
                .json(&json!({"author": other})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(follow["kind"], "follow");
    assert_eq!(follow["author"], server.did());
    let follows = server
        .expect(server.get("/api/v1/follows"), StatusCode::OK)
        .await;
    assert_eq!(follows, json!({"following": [other], "private": []}));
    // Following again changes nothing and answers with the same entry.
    let again = server
        .expect(
            server
                .post("/api/v1/follows")
                .json(&json!({"author": other})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(again, follow);
    server
        .expect_error(
            server
                .post("/api/v1/follows")
                .json(&json!({"author": server.did()})),
            StatusCode::BAD_REQUEST,
            "cannot_follow_self",
        )
        .await;

    let unfollow = server
        .expect(
            server
                .http
                .delete(server.url(&format!("/api/v1/follows/{other}")))
                .bearer_auth(TOKEN),
            StatusCode::OK,
        )
        .await;
    assert_eq!(unfollow["kind"], "unfollow");
    assert_eq!(unfollow["seq"], 2);
    let follows = server
        .expect(server.get("/api/v1/follows"), StatusCode::OK)
        .await;
    assert_eq!(follows, json!({"following": [], "private": []}));
    server
        .expect_error(
            server
                .http
                .delete(server.url(&format!("/api/v1/follows/{other}")))
                .bearer_auth(TOKEN),
            StatusCode::CONFLICT,
            "not_following",
        )
        .await;
    server.stop().await;
}

/// One parsed Server-Sent Event.
#[derive(Debug, Clone, Default)]
struct SseEvent {
    event: String,
    id: Option<String>,
    data: String,
}

/// Reads events off an SSE response body.
struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl SseReader {
    async fn open(request: reqwest::RequestBuilder) -> Self {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            body: response
                .bytes_stream()
                .map(|chunk| chunk.map(|bytes| bytes.to_vec()))
                .boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), within the deadline.
    async fn next(&mut self) -> SseEvent {
        tokio::time::timeout(DEADLINE, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut event = SseEvent::default();
                    let mut data = Vec::new();
                    for line in block.lines() {
                        if let Some(value) = line.strip_prefix("event:") {
                            event.event = value.trim().to_owned();
                        } else if let Some(value) = line.strip_prefix("id:") {
                            event.id = Some(value.trim().to_owned());
                        } else if let Some(value) = line.strip_prefix("data:") {
                            data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                        }
                    }
                    if event.event.is_empty() && data.is_empty() {
                        continue; // a keep-alive comment
                    }
                    event.data = data.join("\n");
                    return event;
                }
                let chunk = self.body.next().await.expect("the stream ended").unwrap();
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("no event within the deadline")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_entries_stream_as_events_and_resume_after_the_last_id() {
    let server = Server::start().await;
    let mut stream = SseReader::open(server.get("/api/v1/events")).await;
    let posted = server.publish("live").await;
    let event = stream.next().await;
    assert_eq!(event.event, "entry", "{event:?}");
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["id"], posted["id"]);
    assert_eq!(data["text"], "live");
    assert_eq!(data["local"], true);
    let first_id: u64 = event.id.unwrap().parse().unwrap();
    drop(stream);

    // Posted while no client listens; a client resuming after `first_id` gets exactly those.
    let second = server.publish("while away 1").await;
    let third = server.publish("while away 2").await;
    let mut resumed = SseReader::open(
        server
            .get("/api/v1/events")
            .header("Last-Event-ID", first_id.to_string()),
    )
    .await;
    let event = resumed.next().await;
    assert_eq!(event.event, "entry");
    assert_eq!(event.id, Some((first_id + 1).to_string()));
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["id"], second["id"]);
    let event = resumed.next().await;
    assert_eq!(event.id, Some((first_id + 2).to_string()));
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["id"], third["id"]);
    // …then live ones.
    let fourth = server.publish("back").await;
    let event = resumed.next().await;
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["id"], fourth["id"]);

    // EventSource style: token and last id in the query.
    let mut by_query = SseReader::open(server.http.get(server.url(&format!(
        "/api/v1/events?access_token={TOKEN}&last_event_id={}",
        first_id + 2
    ))))
    .await;
    let event = by_query.next().await;
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["id"], fourth["id"]);

    // An id this server never issued: `reset` first.
    let mut stale = SseReader::open(
        server
            .get("/api/v1/events")
            .header("Last-Event-ID", "999999"),
    )
    .await;
    let event = stale.next().await;
    assert_eq!(event.event, "reset");
    assert!(serde_json::from_str::<Value>(&event.data).unwrap()["reason"].is_string());
    server
        .expect_error(
            server
                .get("/api/v1/events")
                .header("Last-Event-ID", "yesterday"),
            StatusCode::BAD_REQUEST,
            "invalid_last_event_id",
        )
        .await;

    // Open streams do not keep the server from stopping.
    drop((resumed, by_query));
    let _open = stale;
    server.stop().await;
}

/// A fresh, valid peer id that no node here uses.
fn some_peer_id() -> String {
    kith_net::libp2p::identity::Keypair::generate_ed25519()
        .public()
        .to_peer_id()
        .to_string()
}

fn peer_list(body: &Value) -> Vec<String> {
    body["peers"]
        .as_array()
        .unwrap_or_else(|| panic!("no peers array: {body}"))
        .iter()
        .map(|peer| peer.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deny_list_is_listed_added_to_and_emptied() {
    let server = Server::start().await;
    let denied = || server.get("/api/v1/denied-peers");
    let deny = |peers: Value| {
        server
            .post("/api/v1/denied-peers")
            .json(&json!({ "peers": peers }))
    };
    assert_eq!(
        server.expect(denied(), StatusCode::OK).await,
        json!({"peers": []})
    );

    let mut two = vec![some_peer_id(), some_peer_id()];
    // Given unsorted and with a repeat; answered sorted and once each.
    let body = server
        .expect(deny(json!([two[1], two[0], two[1]])), StatusCode::OK)
        .await;
    two.sort();
    assert_eq!(peer_list(&body), two);
    assert_eq!(
        peer_list(&server.expect(denied(), StatusCode::OK).await),
        two
    );
    // Denying again changes nothing.
    let body = server.expect(deny(json!([two[0]])), StatusCode::OK).await;
    assert_eq!(peer_list(&body), two);

    // One bad id refuses the whole request: nothing is added.
    let third = some_peer_id();
    let message = server
        .expect_error(
            deny(json!([third, "12D3KooWnotapeerid"])),
            StatusCode::BAD_REQUEST,
            "invalid_peer_id",
        )
        .await;
    assert!(message.contains("12D3KooWnotapeerid"), "{message}");
    server
        .expect_error(
            deny(json!([third, server.node.peer_id()])),
            StatusCode::BAD_REQUEST,
            "cannot_deny_self",
        )
        .await;
    server
        .expect_error(
            server
                .post("/api/v1/denied-peers")
                .json(&json!({"peers": [third], "peer": third})),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        )
        .await;
    server
        .expect_error(
            server
                .post("/api/v1/denied-peers")
                .json(&json!({"peers": third})),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        )
        .await;
    assert_eq!(
        peer_list(&server.expect(denied(), StatusCode::OK).await),
        two
    );
    let status = server
        .expect(server.get("/api/v1/status"), StatusCode::OK)
        .await;
    assert_eq!(status["denied_peers"], 2, "{status}");
    assert!(status["denied_connections"].is_u64(), "{status}");

    // Removing one; removing one that is not denied is harmless; a bad id is refused.
    let body = server
        .expect(
            server.delete(&format!("/api/v1/denied-peers/{}", two[0])),
            StatusCode::OK,
        )
        .await;
    assert_eq!(peer_list(&body), [two[1].clone()]);
    let body = server
        .expect(
            server.delete(&format!("/api/v1/denied-peers/{third}")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(peer_list(&body), [two[1].clone()]);
    server
        .expect_error(
            server.delete("/api/v1/denied-peers/bogus"),
            StatusCode::BAD_REQUEST,
            "invalid_peer_id",
        )
        .await;

    // Clearing.
    server.expect(deny(json!([third])), StatusCode::OK).await;
    let body = server
        .expect(server.delete("/api/v1/denied-peers"), StatusCode::OK)
        .await;
    assert_eq!(body, json!({"peers": []}));
    assert_eq!(
        server.expect(denied(), StatusCode::OK).await,
        json!({"peers": []})
    );

    // Behind the token like everything else.
    for request in [
        server.http.get(server.url("/api/v1/denied-peers")),
        server
            .http
            .post(server.url("/api/v1/denied-peers"))
            .json(&json!({"peers": [third]})),
        server.http.delete(server.url("/api/v1/denied-peers")),
        server
            .http
            .delete(server.url(&format!("/api/v1/denied-peers/{third}"))),
        server
            .http
            .get(server.url(&format!("/api/v1/heads/{}", server.did()))),
    ] {
        server
            .expect_error(request, StatusCode::UNAUTHORIZED, "unauthorized")
            .await;
    }
    assert_eq!(
        server.expect(denied(), StatusCode::OK).await,
        json!({"peers": []})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_posted_on_another_node_is_found_on_the_dht() {
    let author = Server::start().await;
    let addr = author.node.listen_addrs().await.unwrap().remove(0);
    let reader = Server::start_with(vec![addr]).await;
    let path = format!("/api/v1/heads/{}", author.did());

    // Nobody has posted: no head anywhere.
    let message = reader
        .expect_error(reader.get(&path), StatusCode::NOT_FOUND, "not_found")
        .await;
    assert!(message.contains(&author.did()), "{message}");

    let first = author.publish("first").await;
    let second = author.publish("second").await;
    // The head goes on the DHT in the background, the newest of a burst last.
    let started = std::time::Instant::now();
    let head = loop {
        let response = reader.get(&path).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if status == StatusCode::OK && body["seq"] == 2 {
            break body;
        }
        assert!(
            status == StatusCode::OK || body["code"] == "not_found",
            "{status}: {body}"
        );
        assert!(
            started.elapsed() < DEADLINE,
            "the reader never found head 2: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(head["author"], author.did());
    assert_eq!(head["id"], second["id"]);
    assert_ne!(head["id"], first["id"]);
    assert!(head["ts"].as_u64().unwrap() >= second["ts"].as_u64().unwrap());
    let lookup_ms = head["lookup_ms"].as_f64().unwrap();
    assert!(
        lookup_ms > 0.0 && lookup_ms < DEADLINE.as_secs_f64() * 1000.0,
        "{head}"
    );

    // The reader never stored the author's feed: the answer came from the DHT.
    let feed = reader
        .expect(
            reader.get(&format!("/api/v1/feeds/{}", author.did())),
            StatusCode::OK,
        )
        .await;
    assert_eq!(entries(&feed), Vec::<Value>::new());

    // Malformed and unknown authors.
    reader
        .expect_error(
            reader.get("/api/v1/heads/did:key:z6Mkbogus"),
            StatusCode::BAD_REQUEST,
            "invalid_did",
        )
        .await;
    let stranger = Keypair::generate().author().to_did();
    reader
        .expect_error(
            reader.get(&format!("/api/v1/heads/{stranger}")),
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    reader.stop().await;
    author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_name_their_parent_and_root_and_a_thread_lists_them() {
    let server = Server::start().await;
    let post = server.publish("a post").await;
    let post_id = post["id"].as_str().unwrap().to_owned();
    assert_eq!(post["parent"], Value::Null);
    assert_eq!(post["root"], Value::Null);
    let reply = |text: &str, to: &str| {
        server
            .post("/api/v1/posts")
            .json(&json!({ "text": text, "reply_to": to }))
    };
    let first = server
        .expect(reply("first reply", &post_id), StatusCode::CREATED)
        .await;
    assert_eq!(first["kind"], "reply");
    assert_eq!(first["parent"], post_id.as_str());
    assert_eq!(first["root"], post_id.as_str());
    let first_id = first["id"].as_str().unwrap().to_owned();
    // A reply to a reply keeps the thread's root.
    let nested = server
        .expect(reply("reply to the reply", &first_id), StatusCode::CREATED)
        .await;
    assert_eq!(nested["parent"], first_id.as_str());
    assert_eq!(nested["root"], post_id.as_str());
    let second = server
        .expect(reply("second reply", &post_id), StatusCode::CREATED)
        .await;

    let thread = server
        .expect(
            server.get(&format!("/api/v1/entries/{post_id}/thread")),
            StatusCode::OK,
        )
        .await;
    // The post, its replies oldest first, then the replies to those.
    assert_eq!(
        thread["entries"].as_array().unwrap(),
        &[post.clone(), first.clone(), second, nested.clone()]
    );
    // From a reply: that reply and what answers it.
    let sub = server
        .expect(
            server.get(&format!("/api/v1/entries/{first_id}/thread")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(sub["entries"].as_array().unwrap(), &[first, nested]);

    // Replying to an entry this peer does not hold, or to something that is no id.
    let unknown = "bafireibmi6g7egvevqpgymuwlmfjltpnahj6xs7o4a2vlqxwvyrtysvvoa";
    server
        .expect_error(
            reply("to nothing", unknown),
            StatusCode::NOT_FOUND,
            "entry_not_found",
        )
        .await;
    server
        .expect_error(
            reply("to garbage", "xyz"),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        )
        .await;
    server
        .expect_error(
            server.get(&format!("/api/v1/entries/{unknown}/thread")),
            StatusCode::NOT_FOUND,
            "entry_not_found",
        )
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_reposts_edits_history_and_deletes() {
    let server = Server::start().await;
    let post = server.publish("teh post").await;
    let id = post["id"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("/api/v1/entries/{id}{tail}");

    let react = |reaction: &str| {
        server
            .post(&path("/reactions"))
            .json(&json!({ "reaction": reaction }))
    };
    let heart = server.expect(react("❤"), StatusCode::CREATED).await;
    assert_eq!(heart["kind"], "react");
    assert_eq!(heart["target"], id.as_str());
    assert_eq!(heart["reaction"], "❤");
    // A second reaction replaces the first: one per author.
    server.expect(react("🔥"), StatusCode::CREATED).await;
    server
        .expect_error(react(""), StatusCode::BAD_REQUEST, "invalid_input")
        .await;

    let quote = server
        .expect(
            server
                .post(&path("/reposts"))
                .json(&json!({ "text": "look at this" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(quote["kind"], "repost");
    assert_eq!(quote["text"], "look at this");
    let repost = server
        .expect(
            server.post(&path("/reposts")).json(&json!({})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(repost["text"], Value::Null);

    let edit = server
        .expect(
            server
                .post(&path("/edits"))
                .json(&json!({ "text": "the post" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(edit["kind"], "edit");

    // The entry shows the latest text, one current reaction and both reposts.
    let shown = server.expect(server.get(&path("")), StatusCode::OK).await;
    assert_eq!(shown["text"], "the post");
    assert_eq!(shown["edited"], true);
    assert_eq!(
        shown["reactions"],
        json!([{ "reaction": "🔥", "count": 1 }])
    );
    assert_eq!(shown["reposts"], 2);
    let history = server
        .expect(server.get(&path("/history")), StatusCode::OK)
        .await;
    assert_eq!(
        texts(history["entries"].as_array().unwrap()),
        ["teh post", "the post"]
    );
    // The home timeline shows the same.
    let home = server
        .expect(server.get("/api/v1/timelines/home"), StatusCode::OK)
        .await;
    let listed = entries(&home)
        .into_iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap();
    assert_eq!(listed["text"], "the post");
    assert_eq!(listed["reposts"], 2);

    // Edits of an edit, and of something that is no entry, are refused.
    let edit_id = edit["id"].as_str().unwrap();
    server
        .expect_error(
            server
                .post(&format!("/api/v1/entries/{edit_id}/edits"))
                .json(&json!({ "text": "x" })),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
    let unknown = "bafireibmi6g7egvevqpgymuwlmfjltpnahj6xs7o4a2vlqxwvyrtysvvoa";
    server
        .expect_error(
            server
                .post(&format!("/api/v1/entries/{unknown}/reactions"))
                .json(&json!({ "reaction": "❤" })),
            StatusCode::NOT_FOUND,
            "entry_not_found",
        )
        .await;

    // Delete: the tombstone comes back; the entry is gone (410) and out of the timeline.
    let tombstone = server
        .expect(server.delete(&path("")), StatusCode::OK)
        .await;
    assert_eq!(tombstone["kind"], "delete");
    assert_eq!(tombstone["target"], id.as_str());
    server
        .expect_error(server.get(&path("")), StatusCode::GONE, "entry_deleted")
        .await;
    server
        .expect_error(
            server.get(&path("/history")),
            StatusCode::GONE,
            "entry_deleted",
        )
        .await;
    server
        .expect_error(
            server.delete(&path("")),
            StatusCode::NOT_FOUND,
            "entry_not_found",
        )
        .await;
    let home = server
        .expect(server.get("/api/v1/timelines/home"), StatusCode::OK)
        .await;
    assert!(entries(&home).iter().all(|e| e["id"] != id.as_str()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_and_mutes_are_listed_added_and_removed() {
    let server = Server::start().await;
    let other = Keypair::generate().author().to_did();
    for list in ["blocks", "mutes"] {
        let path = format!("/api/v1/{list}");
        let empty = server.expect(server.get(&path), StatusCode::OK).await;
        assert_eq!(empty, json!({ "authors": [] }));
        let added = server
            .expect(
                server.post(&path).json(&json!({ "author": other })),
                StatusCode::OK,
            )
            .await;
        assert_eq!(added, json!({ "authors": [other] }));
        let listed = server.expect(server.get(&path), StatusCode::OK).await;
        assert_eq!(listed, added);
        let removed = server
            .expect(server.delete(&format!("{path}/{other}")), StatusCode::OK)
            .await;
        assert_eq!(removed, json!({ "authors": [] }));
        server
            .expect_error(
                server.post(&path).json(&json!({ "author": server.did() })),
                StatusCode::BAD_REQUEST,
                "invalid_input",
            )
            .await;
        server
            .expect_error(
                server.post(&path).json(&json!({ "author": "nobody" })),
                StatusCode::BAD_REQUEST,
                "invalid_did",
            )
            .await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_author_is_hidden_from_the_home_timeline_but_still_followed() {
    let loud = Server::start().await;
    let addr = loud.node.listen_addrs().await.unwrap().remove(0);
    let reader = Server::start_with(vec![addr]).await;
    reader
        .expect(
            reader
                .post("/api/v1/follows")
                .json(&json!({ "author": loud.did() })),
            StatusCode::CREATED,
        )
        .await;
    loud.publish("very loud").await;
    let home_texts = || async {
        let home = reader
            .expect(reader.get("/api/v1/timelines/home"), StatusCode::OK)
            .await;
        texts(&entries(&home))
    };
    let started = std::time::Instant::now();
    while !home_texts().await.contains(&"very loud".to_owned()) {
        assert!(started.elapsed() < DEADLINE, "the post never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reader
        .expect(
            reader
                .post("/api/v1/mutes")
                .json(&json!({ "author": loud.did() })),
            StatusCode::OK,
        )
        .await;
    assert!(home_texts().await.is_empty());
    let following = reader
        .expect(reader.get("/api/v1/follows"), StatusCode::OK)
        .await;
    assert_eq!(following["following"], json!([loud.did()]));
    reader
        .expect(
            reader.delete(&format!("/api/v1/mutes/{}", loud.did())),
            StatusCode::OK,
        )
        .await;
    assert_eq!(home_texts().await, ["very loud"]);
    reader.stop().await;
    loud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_avatar_is_uploaded_set_and_served_and_a_follower_caches_it() {
    let author = Server::start().await;
    let addr = author.node.listen_addrs().await.unwrap().remove(0);
    let reader = Server::start_with(vec![addr]).await;
    reader
        .expect(
            reader
                .post("/api/v1/follows")
                .json(&json!({ "author": author.did() })),
            StatusCode::CREATED,
        )
        .await;
    let mut image = b"GIF89a".to_vec();
    image.extend((0..300_000u32).map(|i| (i % 241) as u8));
    let blob = author
        .expect(
            author.post("/api/v1/blobs").body(image.clone()),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(blob["mime"], "image/gif");
    assert_eq!(blob["size"], image.len());
    let blob_id = blob["id"].as_str().unwrap().to_owned();
    let profile = author
        .expect(
            author.post("/api/v1/profile").json(&json!({
                "name": "Ada", "bio": "counts things", "avatar": blob_id
            })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(profile["name"], "Ada");
    assert_eq!(profile["avatar"], blob_id.as_str());
    assert_eq!(profile["avatar_cached"], true);

    // The follower gets the profile and the avatar with it, before anyone looks.
    let path = format!("/api/v1/profiles/{}", author.did());
    let started = std::time::Instant::now();
    loop {
        let response = reader.get(&path).send().await.unwrap();
        if response.status() == StatusCode::OK {
            let shown: Value = response.json().await.unwrap();
            if shown["avatar_cached"] == true {
                assert_eq!(shown["name"], "Ada");
                assert_eq!(shown["bio"], "counts things");
                break;
            }
        }
        assert!(started.elapsed() < DEADLINE, "the profile never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response = reader
        .get(&format!("/api/v1/blobs/{blob_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/gif");
    assert_eq!(response.bytes().await.unwrap().as_ref(), image.as_slice());

    // Not an image, too large, unknown: refused with a code.
    author
        .expect_error(
            author.post("/api/v1/blobs").body("plain text"),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
    author
        .expect_error(
            author
                .post("/api/v1/blobs")
                .body(vec![0u8; kith_proto::blob::MAX_BLOB_BYTES + 2]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "blob_too_large",
        )
        .await;
    let unknown = "bafireibmi6g7egvevqpgymuwlmfjltpnahj6xs7o4a2vlqxwvyrtysvvoa";
    author
        .expect_error(
            author.get(&format!("/api/v1/blobs/{unknown}")),
            StatusCode::NOT_FOUND,
            "blob_not_found",
        )
        .await;
    author
        .expect_error(
            author
                .post("/api/v1/profile")
                .json(&json!({ "avatar": unknown })),
            StatusCode::NOT_FOUND,
            "blob_not_found",
        )
        .await;
    reader
        .expect_error(
            reader.get(&format!("/api/v1/profiles/{}", reader.did())),
            StatusCode::NOT_FOUND,
            "profile_not_found",
        )
        .await;
    reader.stop().await;
    author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_from_a_stranger_is_a_notification_and_tags_and_public_are_routes() {
    let me = Server::start().await;
    let addr = me.node.listen_addrs().await.unwrap().remove(0);
    let stranger = Server::start_with(vec![addr]).await;
    let mention = stranger.publish(&format!("hi @{} #kith", me.did())).await;
    let started = std::time::Instant::now();
    let found = loop {
        let page = me
            .expect(me.get("/api/v1/notifications"), StatusCode::OK)
            .await;
        let items = page["notifications"].as_array().unwrap().clone();
        if !items.is_empty() {
            break items;
        }
        assert!(started.elapsed() < DEADLINE, "the mention never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(found[0]["kind"], "mention");
    assert_eq!(found[0]["entry"]["id"], mention["id"]);

    let tags = me
        .expect(
            me.post("/api/v1/tags").json(&json!({ "tag": "#Kith" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(tags, json!({ "tags": ["kith"] }));
    // The mention was kept, and it carries #kith.
    let tagged = me.expect(me.get("/api/v1/tags/kith"), StatusCode::OK).await;
    assert_eq!(tagged["entries"][0]["id"], mention["id"]);
    me.expect_error(
        me.get("/api/v1/tags/not-a-tag"),
        StatusCode::BAD_REQUEST,
        "invalid_tag",
    )
    .await;
    me.expect_error(
        me.get("/api/v1/public"),
        StatusCode::CONFLICT,
        "public_timeline_off",
    )
    .await;
    let on = me
        .expect(
            me.http
                .put(me.url("/api/v1/public/settings"))
                .bearer_auth(TOKEN)
                .json(&json!({ "enabled": true })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(on, json!({ "enabled": true }));
    me.expect(me.get("/api/v1/public"), StatusCode::OK).await;
    me.expect_error(
        me.get("/api/v1/notifications?cursor=bogus"),
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    stranger.stop().await;
    me.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permalink_resolves_on_a_peer_that_never_held_the_entry() {
    let author = Server::start().await;
    let addr = author.node.listen_addrs().await.unwrap().remove(0);
    let stranger = Server::start_with(vec![addr]).await;
    let post = author.publish("a <b>bold</b> claim & more").await;
    let id = post["id"].as_str().unwrap().to_owned();
    // The web page needs no token, fetches the entry, and escapes its text.
    let page = stranger
        .http
        .get(stranger.url(&format!("/p/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("a &lt;b&gt;bold&lt;/b&gt; claim &amp; more"),
        "{html}"
    );
    // The other form, through the API.
    let by_seq = stranger
        .expect(
            stranger.get(&format!("/api/v1/resolve?link=kith:{}/1", author.did())),
            StatusCode::OK,
        )
        .await;
    assert_eq!(by_seq["id"], id.as_str());
    let missing = stranger
        .http
        .get(stranger.url(&format!("/p/{}/9", author.did())))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    stranger
        .expect_error(
            stranger.get("/api/v1/resolve?link=kith:zzz"),
            StatusCode::BAD_REQUEST,
            "invalid_link",
        )
        .await;
    stranger.stop().await;
    author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_has_a_web_path_under_its_authors_username() {
    let alice = Server::start().await;
    let addr = alice.node.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr.clone()]).await;
    let carol = Server::start_with(vec![addr]).await;
    // Three peers: every name's replica set, and its write quorum.
    alice.claim_name("alice").await;
    let post = alice.publish("My first <post>").await;
    assert_eq!(post["slug"], "my-first-post");
    let page = carol
        .http
        .get(carol.url("/alice/my-first-post"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("My first &lt;post&gt;"));
    let missing = carol
        .http
        .get(carol.url("/alice/no-such-post"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let found = bob
        .expect(bob.get("/api/v1/names/alice"), StatusCode::OK)
        .await;
    assert_eq!(found["owner"], alice.did());
    // Following by username follows the did behind it.
    let follow = bob
        .expect(
            bob.post("/api/v1/follows")
                .json(&json!({ "author": "Alice" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(follow["kind"], "follow");
    let following = bob.expect(bob.get("/api/v1/follows"), StatusCode::OK).await;
    assert!(following.to_string().contains(&alice.did()), "{following}");
    bob.expect_error(
        bob.post("/api/v1/follows")
            .json(&json!({ "author": "nobody-here" })),
        StatusCode::NOT_FOUND,
        "name_not_found",
    )
    .await;

    // The first author to post a slug holds it globally: `/my-first-post` on any peer.
    assert_eq!(post["global_slug"], "my-first-post");
    let page = carol
        .http
        .get(carol.url("/my-first-post"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("My first &lt;post&gt;"));
    // Bob's post with the same slug keeps it among his posts, but not globally: it is
    // named by its content id, and `kith:/my-first-post` is still Alice's.
    let bobs = bob.publish("My first post").await;
    assert_eq!(bobs["slug"], "my-first-post");
    assert_eq!(bobs["global_slug"], Value::Null);
    let resolved = bob
        .expect(
            bob.get("/api/v1/resolve?link=kith:/my-first-post"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(resolved["id"], post["id"]);
    // The entry object on Alice's peer says which global slug her post holds.
    let shown = alice
        .expect(
            alice.get(&format!("/api/v1/entries/{}", post["id"].as_str().unwrap())),
            StatusCode::OK,
        )
        .await;
    assert_eq!(shown["global_slug"], "my-first-post");
    // Not slugs: the usual 404.
    let icon = carol
        .http
        .get(carol.url("/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), StatusCode::NOT_FOUND);
    // Deleting the post gives the global slug back: nobody holds it any more.
    alice
        .expect(
            alice.delete(&format!("/api/v1/entries/{}", post["id"].as_str().unwrap())),
            StatusCode::OK,
        )
        .await;
    let started = std::time::Instant::now();
    loop {
        let response = carol
            .get("/api/v1/resolve?link=kith:/my-first-post")
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::NOT_FOUND {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the global slug is still held: {}",
            response.text().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    carol.stop().await;
    bob.stop().await;
    alice.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_show_their_beacons_and_scores() {
    let first = Server::start().await;
    let addr = first.node.listen_addrs().await.unwrap().remove(0);
    let second = Server::start_with(vec![addr]).await;
    second.publish("a change, so the revision is not 0").await;
    let peer_id = second.node.peer_id();
    // The test profile publishes a beacon every second.
    let started = std::time::Instant::now();
    let shown = loop {
        let peers = first
            .expect(first.get("/api/v1/peers"), StatusCode::OK)
            .await;
        let found = peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["peer_id"] == peer_id.as_str())
            .cloned();
        if let Some(peer) = found
            && peer["revision"].as_u64().is_some_and(|r| r > 0)
        {
            break peer;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no beacon from the second peer: {peers}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let heartbeat = shown["last_heartbeat"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(now.abs_diff(heartbeat) < 60_000, "{shown}");
    assert!(shown["score"].as_f64().unwrap() > 0.0, "{shown}");
    assert_eq!(shown["relayed"], false, "a direct connection: {shown}");
    for field in ["error_rate", "lag_s"] {
        assert!(shown[field].is_number(), "{field}: {shown}");
    }
    // Present; `null` while the peer has answered no fetch.
    assert!(shown.get("mean_response_ms").is_some(), "{shown}");
    second.stop().await;
    first.stop().await;
}
