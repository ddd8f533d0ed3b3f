//! Three `kith daemon` processes on loopback: a post travels from its author to the peers
//! that follow it, through the real binary, the HTTP API and the network.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{Peer, Sandbox, failed, wait_for};

/// How long a post may take to reach a follower.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn a_post_reaches_the_followers_through_three_daemons() {
    let a = Peer::start(None);
    let b = Peer::start(Some(&a));
    let c = Peer::start(Some(&a));

    // B and C joined through A, so A sees both.
    wait_for("A to be connected to B and C", DELIVERY_DEADLINE, || {
        a.sandbox.list(&["peers"]).len() >= 2
    });

    a.sandbox.ok(&["follow", &b.did]);
    c.sandbox.ok(&["follow", &b.did]);
    let post = b.sandbox.json(&["post", "hello from B"]);
    let id = post["id"].as_str().unwrap().to_owned();
    assert!(b.timeline_has(&id));

    for (name, peer) in [("A", &a), ("C", &c)] {
        wait_for(
            &format!("B's post to reach {name}'s timeline"),
            DELIVERY_DEADLINE,
            || peer.timeline_has(&id),
        );
        let entry = peer.sandbox.json(&["get", &id]);
        assert_eq!(entry["author"], b.did.as_str());
        assert_eq!(entry["text"], "hello from B");
        let status = peer.sandbox.json(&["status"]);
        assert_eq!(status["following"], 1, "{name}: {status}");
    }
    for peer in [a, b, c] {
        let status = peer.daemon.stop_with("TERM");
        assert_eq!(status.code(), Some(0), "{status}");
        assert!(!peer.sandbox.data.join("api").exists());
    }
}

#[test]
fn post_without_a_daemon_says_there_is_none() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let error = sandbox.fails(&["post", "into the void"]);
    assert!(
        error.starts_with(&format!(
            "error: no daemon running at {}; start one with `kith daemon`",
            sandbox.data.display()
        )),
        "{error}"
    );
}

#[test]
fn a_second_daemon_on_the_same_fixed_port_is_refused() {
    // A free port, released again for the first daemon to take.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let first = Sandbox::new();
    first.init();
    let _daemon = first.daemon(&["--listen", &listen]);
    let second = Sandbox::new();
    second.init();
    let stderr = failed(
        second
            .command(&["daemon", "--listen", &listen])
            .output()
            .unwrap(),
    );
    assert!(stderr.contains(&format!("port {port}")), "{stderr}");
}

/// The thread of `root` as `peer`'s CLI shows it.
fn thread(peer: &Peer, root: &str) -> Vec<serde_json::Value> {
    peer.sandbox.list(&["thread", root])
}

#[test]
fn a_conversation_among_three_peers_looks_right_from_every_cli() {
    // A posts with a profile and an avatar; B follows A; C is a stranger to both.
    let a = Peer::start(None);
    let b = Peer::start(Some(&a));
    let c = Peer::start(Some(&a));
    let avatar = a.sandbox.root().join("me.png");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend([42u8; 5000]);
    std::fs::write(&avatar, &png).unwrap();
    let profile = a.sandbox.json(&[
        "profile",
        "set",
        "--name",
        "Ada",
        "--avatar",
        avatar.to_str().unwrap(),
    ]);
    b.sandbox.ok(&["follow", &a.did]);
    let post = a.sandbox.json(&["post", "what should I read next?"]);
    let post_id = post["id"].as_str().unwrap().to_owned();
    wait_for("A's post on B", DELIVERY_DEADLINE, || {
        b.timeline_has(&post_id)
    });
    // B has A's profile, with the avatar already fetched.
    wait_for("A's avatar on B", DELIVERY_DEADLINE, || {
        let shown = b.sandbox.kith(&["--json", "profile", "get", &a.did]);
        shown.status.success()
            && serde_json::from_slice::<serde_json::Value>(&shown.stdout)
                .is_ok_and(|p| p["avatar_cached"] == true && p["name"] == "Ada")
    });
    assert!(profile["avatar"].is_string());

    // C opens the permalink, replies; B reacts; A edits.
    let link = format!("kith:{}/{}", a.did, post["seq"]);
    let seen = c.sandbox.json(&["get", &link]);
    assert_eq!(seen["id"], post_id.as_str());
    let reply = c.sandbox.json(&["reply", &post_id, "try the Dynamo paper"]);
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    b.sandbox.json(&["react", &post_id, "👍"]);
    a.sandbox.json(&[
        "edit",
        &post_id,
        "what should I read next? (distributed systems)",
    ]);

    // Every peer shows the edited post with its reaction, and C's reply.
    for (name, peer) in [("A", &a), ("B", &b), ("C", &c)] {
        wait_for(
            &format!("the whole conversation on {name}"),
            DELIVERY_DEADLINE,
            || {
                let shown = thread(peer, &post_id);
                shown.len() == 2
                    && shown[0]["text"] == "what should I read next? (distributed systems)"
                    && shown[0]["edited"] == true
                    && shown[0]["reactions"][0]["reaction"] == "👍"
                    && shown[1]["id"] == reply_id.as_str()
                    && shown[1]["text"] == "try the Dynamo paper"
            },
        );
    }
    // A was told about the reply and the reaction.
    let kinds: Vec<String> = a
        .sandbox
        .list(&["notifications"])
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"reply".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"reaction".to_owned()), "{kinds:?}");

    // C deletes the reply: it disappears everywhere.
    c.sandbox.json(&["delete", &reply_id]);
    for (name, peer) in [("A", &a), ("B", &b), ("C", &c)] {
        wait_for(
            &format!("the reply gone on {name}"),
            DELIVERY_DEADLINE,
            || thread(peer, &post_id).len() == 1,
        );
    }
    let error = b.sandbox.fails(&["get", &reply_id]);
    assert!(error.contains("deleted"), "{error}");
}

#[test]
fn a_name_claimed_on_one_peer_can_be_followed_from_another() {
    let a = Peer::start(None);
    let b = Peer::start(Some(&a));
    let c = Peer::start(Some(&a));
    // Three peers: a name's replica set is all of them, and a claim needs three.
    wait_for("A to be connected to B and C", DELIVERY_DEADLINE, || {
        a.sandbox.list(&["peers"]).len() >= 2
    });
    let claimed = a.sandbox.json(&["name", "claim", "Alice"]);
    assert_eq!(claimed["name"], "alice");
    assert_eq!(claimed["owner"], a.did.as_str());
    for (name, peer) in [("B", &b), ("C", &c)] {
        let found = peer.sandbox.json(&["name", "lookup", "ALICE"]);
        assert_eq!(found["owner"], a.did.as_str(), "lookup from {name}");
    }
    // Taken for anyone else.
    let error = b.sandbox.fails(&["name", "claim", "alice"]);
    assert!(error.contains("taken"), "{error}");
    // Following by name follows the did behind it.
    let follow = b.sandbox.json(&["follow", "alice"]);
    assert_eq!(follow["kind"], "follow");
    let post = a.sandbox.json(&["post", "hello from alice"]);
    let id = post["id"].as_str().unwrap().to_owned();
    wait_for("alice's post on B", DELIVERY_DEADLINE, || {
        b.timeline_has(&id)
    });
    // The profile shows the name, on A and on B.
    assert_eq!(a.sandbox.json(&["profile", "get"])["username"], "alice");
    wait_for("alice's profile on B", DELIVERY_DEADLINE, || {
        let shown = b.sandbox.kith(&["--json", "profile", "get", &a.did]);
        shown.status.success()
            && serde_json::from_slice::<serde_json::Value>(&shown.stdout)
                .is_ok_and(|p| p["username"] == "alice")
    });
    // Posts get slugs unique per author; `kith:alice/<slug>` resolves on a stranger's peer.
    assert_eq!(
        post["id"],
        a.sandbox.json(&["get", "kith:alice/hello-from-alice"])["id"]
    );
    let again = a.sandbox.json(&["post", "Hello, from Alice!"]);
    let shown = a.sandbox.json(&["get", again["id"].as_str().unwrap()]);
    assert_eq!(shown["slug"], "hello-from-alice-2");
    let far = c.sandbox.json(&["get", "kith:alice/hello-from-alice-2"]);
    assert_eq!(far["id"], again["id"]);
    // Each also holds its global slug: `kith:/<slug>` resolves on any peer.
    assert_eq!(post["global_slug"], "hello-from-alice");
    assert_eq!(again["global_slug"], "hello-from-alice-2");
    let global = c.sandbox.json(&["get", "kith:/hello-from-alice"]);
    assert_eq!(global["id"], post["id"]);
    // Bad names are explained before anything is sent.
    let error = b.sandbox.fails(&["name", "claim", "x"]);
    assert!(error.contains("`x`"), "{error}");
    let error = c.sandbox.fails(&["name", "lookup", "nobody-here"]);
    assert!(error.contains("nobody holds"), "{error}");
    // Released, it can be claimed again.
    a.sandbox.json(&["name", "release", "alice"]);
    assert_eq!(
        a.sandbox.json(&["profile", "get"])["username"],
        serde_json::Value::Null
    );
    let reclaimed = c.sandbox.json(&["name", "claim", "alice"]);
    assert_eq!(reclaimed["owner"], c.did.as_str());
}
