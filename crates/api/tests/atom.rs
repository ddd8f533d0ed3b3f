//! `GET /feeds/{did}.atom` and `/api/v1/bridges` against a real node over real HTTP.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use kith_node::PollConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use xml::reader::{EventReader, XmlEvent};

mod support;

use support::{DEADLINE, Server};

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const THREAD_NS: &str = "http://purl.org/syndication/thread/1.0";
/// A server, with bridges enabled (polling fast) or not.
async fn start(bridges: bool) -> Server {
    Server::start_configured(Vec::new(), |config, dir| {
        config.bridge_dir = bridges.then(|| dir.join("bridges"));
        config.bridge_poll = Some(PollConfig {
            interval: Duration::from_millis(200),
            min_interval: Duration::ZERO,
            jitter: 0.0,
            proxy_from_env: false,
            ..PollConfig::default()
        });
    })
    .await
}

/// Posts `body` (a `POST /api/v1/posts` body); the new entry's id.
async fn post_id(server: &Server, body: Value) -> String {
    let entry = server
        .expect(
            server.post("/api/v1/posts").json(&body),
            StatusCode::CREATED,
        )
        .await;
    entry["id"].as_str().unwrap().to_owned()
}

/// An XML element: namespace, local name, attributes (local name → value), children, text.
#[derive(Debug, Default)]
struct Element {
    namespace: Option<String>,
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn atom(&self, name: &str) -> Vec<&Element> {
        self.children
            .iter()
            .filter(|c| c.name == name && c.namespace.as_deref() == Some(ATOM_NS))
            .collect()
    }

    fn one(&self, name: &str) -> &Element {
        let found = self.atom(name);
        assert_eq!(found.len(), 1, "exactly one <{name}> in <{}>", self.name);
        found[0]
    }
}

fn parse_xml(document: &str) -> Element {
    let mut stack: Vec<Element> = vec![Element::default()];
    for event in EventReader::new(document.as_bytes()) {
        match event.unwrap() {
            XmlEvent::StartElement {
                name, attributes, ..
            } => stack.push(Element {
                namespace: name.namespace.clone(),
                name: name.local_name.clone(),
                attributes: attributes
                    .into_iter()
                    .map(|a| (a.name.local_name, a.value))
                    .collect(),
                ..Element::default()
            }),
            XmlEvent::EndElement { .. } => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            XmlEvent::Characters(text) | XmlEvent::CData(text) => {
                stack.last_mut().unwrap().text.push_str(&text);
            }
            _ => {}
        }
    }
    let mut document = stack.pop().unwrap();
    assert_eq!(document.children.len(), 1);
    document.children.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_feed_is_atom_without_a_token() {
    let server = start(false).await;
    server
        .expect(
            server
                .post("/api/v1/profile")
                .json(&json!({"name": "Ada", "bio": "Counts things"})),
            StatusCode::CREATED,
        )
        .await;
    let first = post_id(&server, json!({"text": "first post"})).await;
    let second = post_id(&server, json!({"text": "second post"})).await;
    let reply = post_id(&server, json!({"text": "a reply", "reply_to": first})).await;
    server
        .expect(
            server
                .post(&format!("/api/v1/entries/{second}/edits"))
                .json(&json!({"text": "second post, edited"})),
            StatusCode::CREATED,
        )
        .await;

    // The profile links the feed.
    let profile = server
        .expect(
            server.get(&format!("/api/v1/profiles/{}", server.did())),
            StatusCode::OK,
        )
        .await;
    let path = format!("/feeds/{}.atom", server.did());
    assert_eq!(profile["atom"], path.as_str());

    // No token.
    let response = server.http.get(server.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let document = response.text().await.unwrap();
    let feed = parse_xml(&document);
    assert_eq!(feed.name, "feed");
    assert_eq!(feed.namespace.as_deref(), Some(ATOM_NS));
    assert_eq!(feed.one("id").text, format!("kith:{}", server.did()));
    assert_eq!(feed.one("title").text, "Ada");
    assert!(feed.one("updated").text.ends_with('Z'));
    assert_eq!(feed.one("author").one("name").text, "Ada");
    assert_eq!(feed.one("author").one("uri").text, server.did());
    let self_link = feed
        .atom("link")
        .into_iter()
        .find(|l| l.attribute("rel") == Some("self"))
        .expect("a rel=self link");
    assert_eq!(
        self_link.attribute("href"),
        Some(server.url(&path).as_str())
    );

    let entries = feed.atom("entry");
    assert_eq!(entries.len(), 3, "{document}");
    for entry in &entries {
        for field in ["id", "title", "updated", "content"] {
            entry.one(field);
        }
    }
    let by_id = |id: &str| {
        *entries
            .iter()
            .find(|e| e.one("id").text == format!("kith:{id}"))
            .unwrap_or_else(|| panic!("no entry kith:{id} in {document}"))
    };
    assert_eq!(by_id(&second).one("content").text, "second post, edited");
    assert_eq!(by_id(&first).one("content").text, "first post");
    let alternate = by_id(&first)
        .one("link")
        .attribute("href")
        .unwrap()
        .to_owned();
    assert_eq!(alternate, server.url(&format!("/p/{first}")));
    let replied = by_id(&reply);
    let in_reply_to: Vec<&Element> = replied
        .children
        .iter()
        .filter(|c| c.name == "in-reply-to" && c.namespace.as_deref() == Some(THREAD_NS))
        .collect();
    assert_eq!(in_reply_to.len(), 1);
    assert_eq!(
        in_reply_to[0].attribute("ref"),
        Some(format!("kith:{first}").as_str())
    );
    assert!(by_id(&first).atom("link").len() == 1);

    // The bridge's own parser reads it too.
    let parsed = kith_feeds::parse_feed(document.as_bytes()).unwrap();
    assert_eq!(parsed.items.len(), 3);
    assert!(parsed.items.iter().any(|i| i.text == "second post, edited"));

    // Someone unknown: 404; a path without `.atom`: 404.
    let stranger = kith_proto::Keypair::generate().author().to_did();
    server
        .expect_error(
            server
                .http
                .get(server.url(&format!("/feeds/{stranger}.atom"))),
            StatusCode::NOT_FOUND,
            "author_not_found",
        )
        .await;
    server
        .expect_error(
            server
                .http
                .get(server.url(&format!("/feeds/{}", server.did()))),
            StatusCode::NOT_FOUND,
            "no_route",
        )
        .await;
    server
        .expect_error(
            server.http.get(server.url("/feeds/nobody.atom")),
            StatusCode::BAD_REQUEST,
            "invalid_did",
        )
        .await;
    server.stop().await;
}

/// Serves one RSS document to every request, over `Connection: close`.
async fn serve_rss() -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>\
                    <title>News</title><item><guid>n1</guid><title>Hello</title>\
                    <description>World</description></item></channel></rss>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridges_are_made_and_listed_through_the_api() {
    let (url, feed_task) = serve_rss().await;
    let disabled = start(false).await;
    disabled
        .expect_error(
            disabled.post("/api/v1/bridges").json(&json!({"url": url})),
            StatusCode::SERVICE_UNAVAILABLE,
            "bridges_disabled",
        )
        .await;
    disabled.stop().await;

    let server = start(true).await;
    server
        .expect_error(
            server
                .post("/api/v1/bridges")
                .json(&json!({"url": "ftp://example.invalid/feed"})),
            StatusCode::BAD_REQUEST,
            "invalid_url",
        )
        .await;
    server
        .expect_error(
            server
                .http
                .post(server.url("/api/v1/bridges"))
                .json(&json!({"url": url})),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    let made = server
        .expect(
            server.post("/api/v1/bridges").json(&json!({"url": url})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(made["url"], url.as_str());
    let author = made["author"].as_str().unwrap().to_owned();
    assert!(author.starts_with("did:key:z6Mk"));
    let again = server
        .expect(
            server.post("/api/v1/bridges").json(&json!({"url": url})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(again["author"], author.as_str());
    let list = server
        .expect(server.get("/api/v1/bridges"), StatusCode::OK)
        .await;
    assert_eq!(list["bridges"].as_array().unwrap().len(), 1);
    assert_eq!(list["bridges"][0]["author"], author.as_str());
    assert_eq!(list["bridges"][0]["title"], "News");

    // The item reaches the home timeline, and the bridge has an Atom feed like anyone.
    let started = std::time::Instant::now();
    loop {
        let home = server
            .expect(server.get("/api/v1/timelines/home"), StatusCode::OK)
            .await;
        let found = home["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["author"] == author.as_str() && e["text"] == "Hello\n\nWorld");
        if found {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "no bridged item: {home}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let atom = server
        .http
        .get(server.url(&format!("/feeds/{author}.atom")))
        .send()
        .await
        .unwrap();
    assert_eq!(atom.status(), StatusCode::OK);
    let feed = parse_xml(&atom.text().await.unwrap());
    assert_eq!(feed.one("title").text, "News");
    assert!(Path::new(&server.dir.path().join("bridges")).is_dir());
    server.stop().await;
    feed_task.abort();
}
