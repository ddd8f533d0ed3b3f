//! Sealed entries end to end over real peers: followers-only and list posts are readable by
//! their audience only (a peer that holds the same bytes shows them as unreadable, not as an
//! error), a removed list member cannot read later posts, replies inherit their thread's
//! audience, and a direct message reaches someone who follows nobody.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use kith_proto::{AuthorId, ContentId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{DEADLINE, Server, wait_for};

/// The entry `id` as `server` shows it (200), once it holds it.
async fn entry_on(server: &Server, id: &str) -> Value {
    let path = format!("/api/v1/entries/{id}");
    let started = Instant::now();
    loop {
        let response = server.get(&path).send().await.unwrap();
        if response.status() == StatusCode::OK {
            return response.json().await.unwrap();
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{id} never reached {}",
            server.base
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(server: &Server, body: Value) -> Value {
    server
        .expect(
            server.post("/api/v1/posts").json(&body),
            StatusCode::CREATED,
        )
        .await
}

async fn follow(follower: &Server, author: &Server) {
    follower
        .expect(
            follower
                .post("/api/v1/follows")
                .json(&json!({ "author": author.did() })),
            StatusCode::CREATED,
        )
        .await;
}

/// Waits until `author`'s peer counts `follower` among its followers (their follow entry
/// reached its inbox).
async fn wait_follower(author: &Server, follower: &Server) {
    let me = author.node.author();
    let them = AuthorId::parse_did(&follower.did()).unwrap();
    wait_for("the follow to reach the author", || async {
        author.node.store().followers(&me).unwrap().contains(&them)
    })
    .await;
}

/// Waits until `server` lists a `kind` notification of the entry `id`, revealed to `text`.
async fn wait_notification(server: &Server, kind: &str, id: &str, text: &str) {
    wait_for("the notification", || async {
        let page = server
            .expect(server.get("/api/v1/notifications"), StatusCode::OK)
            .await;
        page["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == kind && n["entry"]["id"] == id && n["entry"]["text"] == text)
    })
    .await;
}

/// Has `reader` fetch `author`'s feed (without following) until it holds the entry `id`.
async fn fetch_until_held(reader: &Server, author: &Server, id: &str) {
    let author = author.node.author();
    let id = ContentId::parse(id).unwrap();
    wait_for("the reader to fetch the author's feed", || async {
        reader.node.fetch_feed(author).await.unwrap();
        reader.node.store().entry(&id).unwrap().is_some()
    })
    .await;
}

fn assert_readable(entry: &Value, text: &str, audience: &str) {
    assert_eq!(entry["kind"], "sealed", "{entry}");
    assert_eq!(entry["sealed"]["readable"], true, "{entry}");
    assert_eq!(entry["sealed"]["audience"], audience, "{entry}");
    assert_eq!(entry["text"], text, "{entry}");
}

fn assert_unreadable(entry: &Value) {
    assert_eq!(entry["kind"], "sealed", "{entry}");
    assert_eq!(entry["sealed"]["readable"], false, "{entry}");
    assert_eq!(entry["sealed"]["error"], Value::Null, "{entry}");
    assert_eq!(entry["text"], Value::Null, "{entry}");
    assert!(entry["sealed"]["wrapped_keys"].as_u64().unwrap() >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followers_only_post_is_read_by_followers_and_held_sealed_elsewhere() {
    let alice = Server::start().await;
    let addr = alice.node.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr.clone()]).await;
    let carol = Server::start_with(vec![addr]).await;
    follow(&bob, &alice).await;
    wait_follower(&alice, &bob).await;

    let sealed = post(
        &alice,
        json!({ "text": "only for my followers", "audience": "followers" }),
    )
    .await;
    let id = sealed["id"].as_str().unwrap().to_owned();
    assert_readable(&sealed, "only for my followers", "followers");
    // Public surfaces never carry it: the Atom feed and the permalink page.
    let atom = alice
        .http
        .get(alice.url(&format!("/feeds/{}.atom", alice.did())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(atom.contains("<feed"), "{atom}");
    assert!(!atom.contains(&id), "{atom}");
    let page = alice
        .http
        .get(alice.url(&format!("/p/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html"), "{page}");
    assert!(!page.contains("only for my followers"), "{page}");
    assert_readable(
        &entry_on(&alice, &id).await,
        "only for my followers",
        "followers",
    );
    // Bob, a follower, reads it, in his home timeline too.
    assert_readable(
        &entry_on(&bob, &id).await,
        "only for my followers",
        "followers",
    );
    let home = bob
        .expect(bob.get("/api/v1/timelines/home"), StatusCode::OK)
        .await;
    assert!(
        home["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id.as_str() && e["text"] == "only for my followers"),
        "{home}"
    );

    // Carol fetches Alice's feed without following: she holds the same bytes and cannot
    // read them; the API says so without an error.
    fetch_until_held(&carol, &alice, &id).await;
    let on_carol = entry_on(&carol, &id).await;
    assert_unreadable(&on_carol);
    let held = carol
        .node
        .store()
        .entry(&ContentId::parse(&id).unwrap())
        .unwrap()
        .unwrap();
    let on_alice = alice
        .node
        .store()
        .entry(&ContentId::parse(&id).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(held.bytes(), on_alice.bytes(), "the same bytes");
    assert!(
        !String::from_utf8_lossy(held.bytes()).contains("only for my followers"),
        "the text is not in the clear"
    );

    // A reply in the thread is sealed for the thread's audience: Alice reads Bob's reply,
    // Carol (holding it too, once she fetches Bob's feed) cannot.
    let reply = post(
        &bob,
        json!({ "text": "a reply among followers", "reply_to": id }),
    )
    .await;
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    assert_readable(&reply, "a reply among followers", "thread");
    assert_eq!(reply["parent"], id.as_str());
    // Alice follows nobody: the reply reaches her live on her own topic, the thread root's
    // author's, like a public reply does.
    let held_reply = ContentId::parse(&reply_id).unwrap();
    wait_for(
        "Bob's sealed reply to reach Alice without fetching",
        || async { alice.node.store().entry(&held_reply).unwrap().is_some() },
    )
    .await;
    // A reply to her post, so a notification, readable like the reply itself.
    wait_notification(&alice, "reply", &reply_id, "a reply among followers").await;
    let bob_author = bob.node.author();
    wait_for("Carol to hold Bob's reply", || async {
        carol.node.fetch_feed(bob_author).await.unwrap();
        carol.node.store().entry(&held_reply).unwrap().is_some()
    })
    .await;
    assert_readable(
        &entry_on(&alice, &reply_id).await,
        "a reply among followers",
        "thread",
    );
    assert_unreadable_reply(&entry_on(&carol, &reply_id).await);
    // Alice's thread view lists the sealed reply, readable.
    wait_for("the sealed reply in Alice's thread", || async {
        let thread = alice
            .expect(
                alice.get(&format!("/api/v1/entries/{id}/thread")),
                StatusCode::OK,
            )
            .await;
        thread["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == reply_id.as_str() && e["text"] == "a reply among followers")
    })
    .await;

    for server in [alice, bob, carol] {
        server.stop().await;
    }
}

/// A reply in a sealed thread carries no wrapped keys of its own.
fn assert_unreadable_reply(entry: &Value) {
    assert_eq!(entry["sealed"]["readable"], false, "{entry}");
    assert_eq!(entry["sealed"]["wrapped_keys"], 0, "{entry}");
    assert_eq!(entry["text"], Value::Null, "{entry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_from_a_list_cannot_read_later_posts() {
    let alice = Server::start().await;
    let addr = alice.node.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr.clone()]).await;
    let carol = Server::start_with(vec![addr]).await;
    follow(&bob, &alice).await;
    follow(&carol, &alice).await;
    alice
        .expect(
            alice
                .post("/api/v1/lists")
                .json(&json!({ "name": "close" })),
            StatusCode::CREATED,
        )
        .await;
    for member in [&bob, &carol] {
        alice
            .expect(
                alice
                    .post("/api/v1/lists/close/members")
                    .json(&json!({ "author": member.did() })),
                StatusCode::OK,
            )
            .await;
    }
    let lists = alice
        .expect(alice.get("/api/v1/lists"), StatusCode::OK)
        .await;
    assert_eq!(lists["lists"][0]["name"], "close");
    assert_eq!(lists["lists"][0]["members"].as_array().unwrap().len(), 2);

    let first = post(
        &alice,
        json!({ "text": "to the list", "audience": "list:close" }),
    )
    .await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_readable(&entry_on(&bob, &first_id).await, "to the list", "list");
    assert_readable(&entry_on(&carol, &first_id).await, "to the list", "list");

    // Carol leaves the list: the next post is sealed without her.
    alice
        .expect(
            alice.delete(&format!("/api/v1/lists/close/members/{}", carol.did())),
            StatusCode::OK,
        )
        .await;
    let second = post(
        &alice,
        json!({ "text": "after Carol left", "audience": "list:close" }),
    )
    .await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert_readable(
        &entry_on(&bob, &second_id).await,
        "after Carol left",
        "list",
    );
    assert_unreadable(&entry_on(&carol, &second_id).await);
    // What she could read she still can: she holds its keys.
    assert_readable(&entry_on(&carol, &first_id).await, "to the list", "list");
    // An unknown list is refused before anything is signed.
    alice
        .expect_error(
            alice
                .post("/api/v1/posts")
                .json(&json!({ "text": "x", "audience": "list:nobody" })),
            StatusCode::NOT_FOUND,
            "entry_not_found",
        )
        .await;

    for server in [alice, bob, carol] {
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_reaches_someone_who_follows_nobody() {
    let alice = Server::start().await;
    let addr = alice.node.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr.clone()]).await;
    let carol = Server::start_with(vec![addr]).await;
    let sent = alice
        .expect(
            alice
                .post("/api/v1/dms")
                .json(&json!({ "to": [bob.did()], "text": "psst, Bob" })),
            StatusCode::CREATED,
        )
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_readable(&sent, "psst, Bob", "direct");
    let mut members = vec![alice.did(), bob.did()];
    members.sort();
    assert_eq!(sent["sealed"]["members"], json!(members));

    // Bob follows nobody: the message comes through his inbox.
    wait_for("the message in Bob's direct messages", || async {
        let dms = bob.expect(bob.get("/api/v1/dms"), StatusCode::OK).await;
        dms["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == id.as_str() && m["text"] == "psst, Bob")
    })
    .await;
    let on_bob = entry_on(&bob, &id).await;
    assert_readable(&on_bob, "psst, Bob", "direct");
    assert_eq!(on_bob["sealed"]["members"], json!(members));
    // Bob is notified of it, readable; the sender is not.
    wait_notification(&bob, "message", &id, "psst, Bob").await;
    let alice_notes = alice
        .expect(alice.get("/api/v1/notifications"), StatusCode::OK)
        .await;
    assert_eq!(alice_notes["notifications"], json!([]));
    // The sender sees it among hers.
    let dms = alice.expect(alice.get("/api/v1/dms"), StatusCode::OK).await;
    assert_eq!(dms["messages"][0]["id"], id.as_str());
    // A peer holding Alice's feed holds the message sealed.
    fetch_until_held(&carol, &alice, &id).await;
    assert_unreadable(&entry_on(&carol, &id).await);
    let carol_dms = carol.expect(carol.get("/api/v1/dms"), StatusCode::OK).await;
    assert_eq!(carol_dms["messages"], json!([]));

    for server in [alice, bob, carol] {
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_follow_works_like_a_follow_and_names_nobody() {
    let alice = Server::start().await;
    let addr = alice.node.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr.clone()]).await;
    let carol = Server::start_with(vec![addr]).await;
    let followed = alice
        .expect(
            alice
                .post("/api/v1/follows")
                .json(&json!({ "author": bob.did(), "private": true })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(followed["kind"], "sealed");
    assert_eq!(followed["sealed"]["audience"], "self");
    assert_eq!(followed["sealed"]["inner_kind"], "follow");
    let follows = alice
        .expect(alice.get("/api/v1/follows"), StatusCode::OK)
        .await;
    assert_eq!(follows["following"], json!([bob.did()]));
    assert_eq!(follows["private"], json!([bob.did()]));
    // Following privately again is refused.
    alice
        .expect_error(
            alice
                .post("/api/v1/follows")
                .json(&json!({ "author": bob.did(), "private": true })),
            StatusCode::CONFLICT,
            "already_following",
        )
        .await;

    // Bob's posts reach Alice's home timeline as with any follow.
    let posted = bob.publish("hello, whoever follows me").await;
    let id = posted["id"].as_str().unwrap().to_owned();
    wait_for("Bob's post in Alice's home timeline", || async {
        let home = alice
            .expect(alice.get("/api/v1/timelines/home"), StatusCode::OK)
            .await;
        home["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id.as_str())
    })
    .await;

    // A peer holding Alice's feed sees a sealed entry, and no follow naming Bob; Bob's peer
    // was not told.
    let follow_id = followed["id"].as_str().unwrap().to_owned();
    fetch_until_held(&carol, &alice, &follow_id).await;
    let feed = carol
        .expect(
            carol.get(&format!("/api/v1/feeds/{}?all=true", alice.did())),
            StatusCode::OK,
        )
        .await;
    for entry in feed["entries"].as_array().unwrap() {
        assert_ne!(entry["kind"], "follow", "{entry}");
    }
    assert_unreadable(&entry_on(&carol, &follow_id).await);
    let bob_followers = bob.node.store().followers(&bob.node.author()).unwrap();
    assert!(bob_followers.is_empty(), "{bob_followers:?}");

    // Unfollowing is private too: no public unfollow entry appears.
    let unfollowed = alice
        .expect(
            alice.delete(&format!("/api/v1/follows/{}", bob.did())),
            StatusCode::OK,
        )
        .await;
    assert_eq!(unfollowed["kind"], "sealed");
    let follows = alice
        .expect(alice.get("/api/v1/follows"), StatusCode::OK)
        .await;
    assert_eq!(follows["following"], json!([]));

    for server in [alice, bob, carol] {
        server.stop().await;
    }
}
