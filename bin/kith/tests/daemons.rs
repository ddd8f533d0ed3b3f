//! Three `kith daemon` processes on loopback: a post travels from its author to the peers
//! that follow it, through the real binary, the HTTP API and the network.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{DAEMON_DEADLINE, Peer, Sandbox, failed, wait_for};

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

/// `GET path` over plain HTTP/1.1 with an optional bearer token: the status and the body.
fn http_get(address: &str, path: &str, token: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let authorization = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[test]
fn metrics_are_served_by_the_api_the_cli_and_their_own_listener() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let daemon = sandbox.daemon(&["--metrics", "127.0.0.1:0"]);
    sandbox.ok(&["post", "counted"]);

    // `kith metrics` prints the OpenMetrics text, with the token from the data directory.
    let text = sandbox.ok(&["metrics"]);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("kith_entries_stored_total{source=\"local\"} 1\n"),
        "{text}"
    );
    let json = sandbox.json(&["metrics"]);
    assert!(json["text"].as_str().unwrap().contains("libp2p_"), "{json}");

    // The listener of its own: /metrics with the token, and nothing else.
    let mut address = None;
    wait_for("the metrics address in the log", DAEMON_DEADLINE, || {
        let log = daemon.log();
        address = log.split("metrics at http://").nth(1).and_then(|rest| {
            rest.split_once("/metrics")
                .map(|(address, _)| address.to_owned())
        });
        address.is_some()
    });
    let address = address.unwrap();
    let token = std::fs::read_to_string(sandbox.data.join("api.token")).unwrap();
    let token = token.trim();
    let (status, body) = http_get(&address, "/metrics", None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
    let (status, body) = http_get(&address, "/metrics", Some(token));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("kith_store_bytes "), "{body}");
    let (status, _) = http_get(&address, "/api/v1/status", Some(token));
    assert_eq!(status, 404, "the metrics listener serves only /metrics");
}

#[test]
fn sealed_posts_lists_and_direct_messages_from_the_command_line() {
    let a = Peer::start(None);
    let b = Peer::start(Some(&a));
    wait_for("A and B connected", DELIVERY_DEADLINE, || {
        !a.sandbox.list(&["peers"]).is_empty()
    });
    // A direct message to B, who follows nobody.
    let sent = a.sandbox.json(&["dm", &b.did, "hello B, only you"]);
    assert_eq!(sent["kind"], "sealed");
    assert_eq!(sent["sealed"]["audience"], "direct");
    let id = sent["id"].as_str().unwrap().to_owned();
    wait_for("the message among B's dms", DELIVERY_DEADLINE, || {
        b.sandbox
            .list(&["dms"])
            .iter()
            .any(|m| m["id"] == id.as_str() && m["text"] == "hello B, only you")
    });
    let human = b.sandbox.ok(&["dms"]);
    assert!(human.contains("hello B, only you"), "{human}");
    assert!(human.contains(&a.did), "{human}");
    // `-` reads the message from standard input, as `kith post -` does.
    let mut child = a
        .sandbox
        .command(&["dm", &b.did, "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"piped\nto B\n").unwrap();
    let piped: serde_json::Value =
        serde_json::from_slice(&child.wait_with_output().unwrap().stdout).unwrap();
    let piped_id = piped["id"].as_str().unwrap().to_owned();
    wait_for("the piped message among B's dms", DELIVERY_DEADLINE, || {
        b.sandbox
            .list(&["dms"])
            .iter()
            .any(|m| m["id"] == piped_id.as_str() && m["text"] == "piped\nto B")
    });
    let empty = a.sandbox.fails(&["dm", &b.did, ""]);
    assert!(empty.contains("the message is empty"), "{empty}");

    // A list with B on it, and a post sealed for it.
    a.sandbox.ok(&["list", "create", "friends"]);
    let list = a.sandbox.json(&["list", "add", "friends", &b.did]);
    assert_eq!(list["members"], serde_json::json!([b.did]));
    assert_eq!(a.sandbox.list(&["lists"])[0]["name"], "friends");
    b.sandbox.json(&["follow", &a.did]);
    let posted = a
        .sandbox
        .json(&["post", "--audience", "list:friends", "for friends"]);
    let post_id = posted["id"].as_str().unwrap().to_owned();
    wait_for("the list post on B, readable", DELIVERY_DEADLINE, || {
        let shown = b.sandbox.kith(&["--json", "get", &post_id]);
        shown.status.success()
            && serde_json::from_slice::<serde_json::Value>(&shown.stdout)
                .is_ok_and(|e| e["text"] == "for friends" && e["sealed"]["readable"] == true)
    });
    // A bad audience is refused with a clear message.
    let error = a.sandbox.fails(&["post", "--audience", "everyone", "x"]);
    assert!(error.contains("invalid_audience"), "{error}");
}

#[cfg(unix)]
#[test]
fn under_systemd_the_daemon_says_when_it_is_ready_and_when_it_stops() {
    use std::os::unix::net::UnixDatagram;
    let sandbox = Sandbox::new();
    sandbox.init();
    let socket_path = sandbox.root().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(DAEMON_DEADLINE)).unwrap();
    let mut command = sandbox.command(&["daemon"]);
    command
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut buffer = [0u8; 512];
    let read = socket.recv(&mut buffer).unwrap();
    let ready = String::from_utf8_lossy(&buffer[..read]).into_owned();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    // Ready means the API answers and `api` is written.
    assert!(sandbox.data.join("api").exists());
    sandbox.ok(&["status"]);
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let read = socket.recv(&mut buffer).unwrap();
    let stopping = String::from_utf8_lossy(&buffer[..read]).into_owned();
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
    assert!(child.wait().unwrap().success());
}
