//! End-to-end tests of the `kith` binary: each runs the real program on a temporary data
//! directory (and, for client commands, a real `kith daemon` in the test profile) and checks
//! its output, exit code and files.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use support::{DAEMON_DEADLINE, Sandbox, failed, succeeded, wait_for};

const MAX_TEXT_BYTES: usize = kith_proto::limits::MAX_TEXT_BYTES;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The `did` line of a key file.
fn did_in_key_file(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("did "))
        .unwrap()
        .trim()
        .to_owned()
}

// ---- init and id: no daemon needed ----

#[test]
fn init_creates_a_private_directory_keys_token_config_and_store() {
    let sandbox = Sandbox::new();
    let report = sandbox.json(&["init"]);
    let did = report["did"].as_str().unwrap();
    assert!(did.starts_with("did:key:z6Mk"), "{report}");
    assert_eq!(
        Path::new(report["data_dir"].as_str().unwrap()),
        sandbox.data.as_path()
    );
    assert_eq!(report["profile"], "home");
    assert!(
        report["peer_id"].as_str().unwrap().starts_with("12D3KooW"),
        "{report}"
    );
    assert_eq!(mode(&sandbox.data), 0o700);
    assert_eq!(mode(&sandbox.key_path()), 0o600);
    assert_eq!(did_in_key_file(&sandbox.key_path()), did);
    for secret in ["node.key", "api.token"] {
        let path = sandbox.data.join(secret);
        assert_eq!(mode(&path), 0o600, "{secret}");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.trim_end();
        assert_eq!(text.len(), 64, "{secret}: {text}");
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
    }
    assert_ne!(
        std::fs::read_to_string(sandbox.data.join("node.key")).unwrap(),
        std::fs::read_to_string(sandbox.data.join("api.token")).unwrap()
    );
    let config = std::fs::read_to_string(sandbox.data.join("config.toml")).unwrap();
    assert!(
        config.contains("[api]") && config.contains("# listen"),
        "{config}"
    );
    assert!(config.contains("\nprofile = \"home\"\n"), "{config}");
    assert!(sandbox.data.join("kith.redb").is_file());
    assert!(!sandbox.data.join("api").exists());
}

#[test]
fn init_records_the_profile() {
    let sandbox = Sandbox::new();
    let report = sandbox.json(&["init", "--profile", "test"]);
    assert_eq!(report["profile"], "test");
    let config = std::fs::read_to_string(sandbox.data.join("config.toml")).unwrap();
    assert!(config.contains("\nprofile = \"test\"\n"), "{config}");
    assert_eq!(
        sandbox.kith(&["init", "--profile", "cloud"]).status.code(),
        Some(2)
    );
}

#[test]
fn init_twice_fails_and_keeps_the_identity() {
    let sandbox = Sandbox::new();
    let did = sandbox.init();
    let error = sandbox.fails(&["init"]);
    assert!(error.contains("already initialised"), "{error}");
    assert!(error.contains(&did), "{error}");
    assert!(error.contains("--data-dir"), "{error}");
    assert_eq!(did_in_key_file(&sandbox.key_path()), did);
}

#[test]
fn init_refuses_a_directory_that_holds_other_files() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(&sandbox.data).unwrap();
    std::fs::write(sandbox.data.join("notes.txt"), "mine").unwrap();
    let error = sandbox.fails(&["init"]);
    assert!(error.contains("not empty"), "{error}");
    assert!(!sandbox.key_path().exists());
}

#[test]
fn id_works_without_a_daemon() {
    let sandbox = Sandbox::new();
    let init = sandbox.json(&["init", "--profile", "test"]);
    let did = did_in_key_file(&sandbox.key_path());
    let report = sandbox.json(&["id"]);
    assert_eq!(report["did"], did.as_str());
    assert_eq!(report["author"], did.as_str());
    let public_key = report["public_key_hex"].as_str().unwrap();
    assert_eq!(public_key.len(), 64);
    assert!(public_key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        Path::new(report["data_dir"].as_str().unwrap()),
        sandbox.data.as_path()
    );
    assert_eq!(report["peer_id"], init["peer_id"]);
    assert_eq!(report["listen_addrs"], Value::Array(Vec::new()));
    assert_eq!(report["api"], Value::Null);
    assert_eq!(sandbox.ok(&["id", "-q"]), format!("{did}\n"));
    let human = sandbox.ok(&["id"]);
    assert_eq!(human.lines().next(), Some(did.as_str()), "{human}");
    assert!(human.contains("not running"), "{human}");
}

#[test]
fn kith_path_and_data_dir_both_choose_the_directory() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .bare()
        .env("KITH_PATH", &sandbox.data)
        .args(["init", "--json"])
        .output()
        .unwrap();
    let did = serde_json::from_str::<Value>(&succeeded(output)).unwrap()["did"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sandbox.key_path().exists());
    // --data-dir reaches the same peer.
    assert_eq!(sandbox.json(&["id"])["did"], did.as_str());
    // KITH_PATH alone does too, and --data-dir wins over it.
    let by_env = sandbox
        .bare()
        .env("KITH_PATH", &sandbox.data)
        .args(["id", "-q"])
        .output()
        .unwrap();
    assert_eq!(succeeded(by_env).trim(), did);
    let other = Sandbox::new();
    let overridden = other
        .bare()
        .env("KITH_PATH", &sandbox.data)
        .arg("--data-dir")
        .arg(&other.data)
        .arg("id")
        .output()
        .unwrap();
    assert!(failed(overridden).contains("kith init"));
}

#[test]
#[cfg(target_os = "linux")]
fn the_default_directory_is_the_platform_data_directory() {
    let sandbox = Sandbox::new();
    let output = sandbox.bare().args(["init", "--json"]).output().unwrap();
    let report: Value = serde_json::from_str(&succeeded(output)).unwrap();
    let expected = sandbox.home.join(".local/share/kith");
    assert_eq!(Path::new(report["data_dir"].as_str().unwrap()), expected);
    assert!(expected.join("identity.key").exists());
}

#[test]
fn usage_errors_exit_with_2() {
    let sandbox = Sandbox::new();
    for args in [
        &["feed", "--limit", "x"][..],
        &["feed", "--limit", "0"],
        &["timeline", "--limit", "201"],
        &["post"],
        &["follow"],
        &["daemon", "--api", "localhost"],
        &["frobnicate"],
    ] {
        assert_eq!(sandbox.kith(args).status.code(), Some(2), "{args:?}");
    }
}

// ---- client commands without a daemon ----

#[test]
fn client_commands_without_a_daemon_say_how_to_start_one() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let dir = sandbox.data.display().to_string();
    for args in [
        &["post", "hi"][..],
        &["post", "-"],
        &["feed"],
        &["timeline"],
        &[
            "follow",
            "did:key:z6MkrwuKQuaF9wDp9WP9XNWccJ7Yynm8Wz4cdNb4eF85dKYi",
        ],
        &[
            "get",
            "bafireihi3njnyeewrzxska74pokqv7nxpggg23gv5wy5zmaodnyfrizcva",
        ],
        &["peers"],
        &["status"],
    ] {
        let error = sandbox.fails(args);
        assert!(
            error.starts_with(&format!(
                "error: no daemon running at {dir}; start one with `kith daemon`"
            )),
            "{args:?}: {error}"
        );
    }

    // A stale `api` file (a daemon that died) and an explicit address that nobody serves.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    std::fs::write(
        sandbox.data.join("api"),
        format!("http://127.0.0.1:{port}\n"),
    )
    .unwrap();
    let error = sandbox.fails(&["post", "hi"]);
    assert!(
        error.starts_with(&format!("error: no daemon running at {dir}")),
        "{error}"
    );
    assert!(error.contains(&port.to_string()), "{error}");
    assert!(error.contains("kith daemon"), "{error}");
    // `id` still works from the files.
    assert_eq!(sandbox.json(&["id"])["api"], Value::Null);
    std::fs::remove_file(sandbox.data.join("api")).unwrap();
    let output = sandbox
        .command(&["status"])
        .env("KITH_API", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    let error = failed(output);
    assert!(
        error.starts_with(&format!(
            "error: no daemon running at http://127.0.0.1:{port}; start one with `kith daemon`"
        )),
        "{error}"
    );
}

#[test]
fn commands_before_init_say_what_to_run() {
    let sandbox = Sandbox::new();
    let dir = sandbox.data.display().to_string();
    for args in [
        &["id"][..],
        &["post", "hi"],
        &["post", "-"],
        &["feed"],
        &["feed", "--all"],
        &["timeline"],
        &["status"],
    ] {
        let error = sandbox.fails(args);
        assert!(error.contains("kith init"), "{args:?}: {error}");
        assert!(error.contains(&dir), "{error}");
    }
    let error = sandbox.fails(&["post", "hi"]);
    assert!(error.contains("no daemon running"), "{error}");
    assert!(error.contains("kith daemon"), "{error}");
    assert!(
        !sandbox.data.exists(),
        "a failed command created the data directory"
    );
}

#[test]
fn a_malformed_did_or_id_is_explained_before_anything_else() {
    let sandbox = Sandbox::new();
    let did = sandbox.init();
    for bad in ["alice", "did:web:example.com", &did[..did.len() - 2]] {
        for command in ["feed", "follow", "unfollow"] {
            // `follow alice` names a username, which only the daemon can look up.
            if bad == "alice" && command != "feed" {
                continue;
            }
            let error = sandbox.fails(&[command, bad]);
            assert!(error.contains("did:key:z6Mk"), "{error}");
            assert!(error.contains(bad), "{error}");
        }
    }
    let error = sandbox.fails(&["follow", "alice"]);
    assert!(error.contains("no daemon running"), "{error}");
    let error = sandbox.fails(&["follow", "x!"]);
    assert!(error.contains("`x!`"), "{error}");
    let error = sandbox.fails(&["get", "bogus"]);
    assert!(error.contains("not a content id"), "{error}");
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let key = sandbox.key_path();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [&["id"][..], &["daemon"]] {
        let error = sandbox.fails(args);
        assert!(error.contains("chmod 600"), "{error}");
        assert!(error.contains(&key.display().to_string()), "{error}");
    }
    assert!(!sandbox.data.join("api").exists());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    sandbox.ok(&["id"]);
}

// ---- the daemon ----

#[test]
fn the_daemon_creates_a_missing_directory_and_cleans_up_on_sigterm() {
    let sandbox = Sandbox::new();
    assert!(!sandbox.data.exists());
    let daemon = sandbox.daemon(&["--profile", "test"]);
    assert_eq!(mode(&sandbox.data), 0o700);
    assert_eq!(mode(&sandbox.key_path()), 0o600);
    let url = std::fs::read_to_string(sandbox.data.join("api")).unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let pid = std::fs::read_to_string(sandbox.data.join("repo.lock")).unwrap();
    assert_eq!(pid.trim(), daemon.pid().to_string());
    let config = std::fs::read_to_string(sandbox.data.join("config.toml")).unwrap();
    assert!(config.contains("\nprofile = \"test\"\n"), "{config}");

    // A second daemon on the same directory is refused, naming the first.
    let error = sandbox.fails(&["daemon"]);
    assert!(error.contains("already running"), "{error}");
    assert!(error.contains(&daemon.pid().to_string()), "{error}");

    let status = daemon.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(!sandbox.data.join("api").exists());
    // The lock is free again, and the data survived: SIGINT stops it cleanly too.
    let daemon = sandbox.daemon(&[]);
    sandbox.ok(&["post", "after a restart"]);
    let status = daemon.stop_with("INT");
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(!sandbox.data.join("api").exists());
}

#[test]
fn the_daemon_reports_a_store_in_use_and_a_bad_config() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let store = kith_store::Store::open(
        &sandbox.data.join("kith.redb"),
        kith_store::StoreConfig::default(),
    )
    .unwrap();
    let error = sandbox.fails(&["daemon"]);
    assert!(error.contains("in use by another kith process"), "{error}");
    assert!(!sandbox.data.join("api").exists());
    store.close().unwrap();

    let config = sandbox.data.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("batch_windw_ms = 5\n");
    std::fs::write(&config, text).unwrap();
    let error = sandbox.fails(&["daemon"]);
    assert!(error.contains("config.toml"), "{error}");
    assert!(error.contains("batch_windw_ms"), "{error}");
}

#[test]
fn id_asks_the_running_daemon() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let offline = sandbox.json(&["id"]);
    let _daemon = sandbox.daemon(&[]);
    let online = sandbox.json(&["id"]);
    assert_eq!(online["did"], offline["did"]);
    assert_eq!(online["peer_id"], offline["peer_id"]);
    let url = std::fs::read_to_string(sandbox.data.join("api")).unwrap();
    assert_eq!(online["api"], url.trim());
    let peer_id = online["peer_id"].as_str().unwrap();
    let addrs = online["listen_addrs"].as_array().unwrap();
    assert!(!addrs.is_empty(), "{online}");
    for addr in addrs {
        let addr = addr.as_str().unwrap();
        assert!(addr.starts_with("/ip4/127.0.0.1/tcp/"), "{addr}");
        assert!(addr.ends_with(&format!("/p2p/{peer_id}")), "{addr}");
    }
    // `--api` reaches the same daemon.
    let by_flag = sandbox.json(&["id", "--api", url.trim()]);
    assert_eq!(by_flag["listen_addrs"], online["listen_addrs"]);
}

#[test]
fn posts_are_chained_and_listed_newest_first() {
    let sandbox = Sandbox::new();
    let did = sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    assert!(sandbox.feed(&[]).is_empty());

    let first = sandbox.json(&["post", "hello, world"]);
    assert_eq!(first["seq"], 1);
    assert_eq!(first["author"], did.as_str());
    assert!(first["ts"].as_u64().unwrap() > 1_600_000_000_000);
    let feed = sandbox.feed(&[]);
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0]["id"], first["id"]);
    assert_eq!(feed[0]["seq"], 1);
    assert_eq!(feed[0]["prev"], Value::Null);
    assert_eq!(feed[0]["text"], "hello, world");
    assert_eq!(feed[0]["kind"], "post");
    assert_eq!(feed[0]["author"], did.as_str());
    assert_eq!(feed[0]["ts"], first["ts"]);

    let second = sandbox.json(&["post", "second"]);
    assert_eq!(second["seq"], 2);
    let feed = sandbox.feed(&[]);
    assert_eq!(feed.len(), 2);
    assert_eq!(feed[0]["id"], second["id"]);
    assert_eq!(feed[0]["seq"], 2);
    assert_eq!(feed[0]["prev"], first["id"]);
    assert_eq!(feed[1]["id"], first["id"]);

    // The same feed named by its did, with every kind, and limited.
    assert_eq!(sandbox.feed(&[&did]), feed);
    assert_eq!(sandbox.feed(&["--all"]), feed);
    let newest = sandbox.feed(&["--limit", "1"]);
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0]["id"], second["id"]);
    let newest = sandbox.feed(&["--all", "--limit", "1"]);
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0]["id"], second["id"]);
    let older = sandbox.feed(&["--before", "2"]);
    assert_eq!(older.len(), 1);
    assert_eq!(older[0]["id"], first["id"]);

    // The home timeline holds the same, and `get` finds each entry.
    assert_eq!(sandbox.list(&["timeline"]), feed);
    let id = first["id"].as_str().unwrap();
    assert_eq!(sandbox.json(&["get", id]), feed[1]);
}

#[test]
fn human_and_quiet_output() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let posted = sandbox.ok(&["post", "line one\nline two"]);
    assert!(
        posted.starts_with("posted b") && posted.contains("(seq 1)"),
        "{posted}"
    );
    let id = sandbox.ok(&["-q", "post", "quiet"]);
    assert!(id.starts_with('b') && id.lines().count() == 1, "{id}");

    let feed = sandbox.ok(&["feed"]);
    let lines: Vec<&str> = feed.lines().collect();
    assert!(lines[0].starts_with("#2  20"), "{feed}");
    assert!(
        lines[0].contains("Z  post  ") && lines[0].ends_with(id.trim()),
        "{feed}"
    );
    assert_eq!(lines[1], "    quiet");
    assert_eq!(&lines[3..], ["    line one", "    line two"]);

    let ids = sandbox.ok(&["feed", "--quiet"]);
    assert_eq!(ids.lines().next(), Some(id.trim()));
    assert_eq!(ids.lines().count(), 2);
    let ids = sandbox.ok(&["timeline", "-q"]);
    assert_eq!(ids.lines().next(), Some(id.trim()));

    let timeline = sandbox.ok(&["timeline", "--limit", "1"]);
    assert!(timeline.contains("    quiet"), "{timeline}");
    assert!(
        timeline.contains("older: kith timeline --cursor "),
        "{timeline}"
    );
    assert_eq!(sandbox.ok(&["get", "-q", id.trim()]), "quiet\n");
    let status = sandbox.ok(&["status"]);
    assert!(status.contains("entries:   2"), "{status}");
    assert_eq!(sandbox.ok(&["status", "-q"]), "");
    assert_eq!(sandbox.ok(&["peers"]), "no peers\n");
    assert_eq!(sandbox.list(&["peers"]), Vec::<Value>::new());
}

#[test]
fn post_reads_standard_input_for_a_dash() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let mut child = sandbox
        .command(&["post", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from a pipe\nsecond line\n")
        .unwrap();
    let receipt: Value =
        serde_json::from_str(&succeeded(child.wait_with_output().unwrap())).unwrap();
    assert_eq!(receipt["seq"], 1);
    assert_eq!(sandbox.feed(&[])[0]["text"], "from a pipe\nsecond line");
}

#[test]
fn an_over_long_or_empty_post_is_refused_and_nothing_is_stored() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let long = "x".repeat(MAX_TEXT_BYTES + 1);
    let error = sandbox.fails(&["post", &long]);
    assert!(error.contains("too long"), "{error}");
    assert!(error.contains(&MAX_TEXT_BYTES.to_string()), "{error}");
    let error = sandbox.fails(&["post", ""]);
    assert!(error.contains("empty"), "{error}");
    assert!(sandbox.feed(&["--all"]).is_empty());

    // Exactly at the limit is fine.
    let longest = "é".repeat(MAX_TEXT_BYTES / 2);
    sandbox.ok(&["post", &longest]);
    assert_eq!(sandbox.feed(&[])[0]["text"], longest.as_str());
}

#[test]
fn follow_unfollow_and_the_feed_of_an_unknown_author() {
    let sandbox = Sandbox::new();
    let did = sandbox.init();
    let other = Sandbox::new();
    let stranger = other.init();
    let _daemon = sandbox.daemon(&[]);
    assert!(sandbox.feed(&[&stranger]).is_empty());
    assert_eq!(sandbox.ok(&["feed", &stranger]), "no entries\n");

    let follow = sandbox.json(&["follow", &stranger]);
    assert_eq!(follow["kind"], "follow");
    assert_eq!(follow["author"], did.as_str());
    assert_eq!(follow["seq"], 1);
    let human = sandbox.ok(&["unfollow", &stranger]);
    assert!(
        human.starts_with(&format!("no longer following {stranger}")),
        "{human}"
    );
    let kinds: Vec<Value> = sandbox
        .feed(&["--all"])
        .iter()
        .map(|entry| entry["kind"].clone())
        .collect();
    assert_eq!(kinds, ["unfollow", "follow"]);
    // The daemon's refusals reach the person: message, then status and code.
    let error = sandbox.fails(&["unfollow", &stranger]);
    assert!(error.contains("you do not follow"), "{error}");
    assert!(error.contains("not_following"), "{error}");
    let error = sandbox.fails(&["follow", &did]);
    assert!(error.contains("own identity"), "{error}");
    let unknown = sandbox.fails(&[
        "get",
        "bafireihi3njnyeewrzxska74pokqv7nxpggg23gv5wy5zmaodnyfrizcva",
    ]);
    assert!(unknown.contains("no entry"), "{unknown}");
    assert!(unknown.contains("404"), "{unknown}");
}

#[test]
fn a_wrong_or_unreadable_token_is_reported() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let token = sandbox.data.join("api.token");
    let real = std::fs::read_to_string(&token).unwrap();
    std::fs::write(&token, format!("{}\n", "0".repeat(64))).unwrap();
    let error = sandbox.fails(&["status"]);
    assert!(error.contains("api.token"), "{error}");
    assert!(error.contains("unauthorized"), "{error}");
    std::fs::write(&token, &real).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = sandbox.fails(&["status"]);
    assert!(error.contains("chmod 600"), "{error}");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    sandbox.ok(&["status"]);
}

#[test]
fn peers_deny_allow_and_denied_manage_the_deny_list() {
    let sandbox = Sandbox::new();
    sandbox.init();
    // Peer ids of two other (never started) peers, as `kith id` prints them offline.
    let mut others: Vec<String> = (0..2)
        .map(|_| {
            let other = Sandbox::new();
            other.init();
            other.json(&["id"])["peer_id"].as_str().unwrap().to_owned()
        })
        .collect();
    others.sort();
    // A malformed id is explained before anything else, daemon or not.
    let error = sandbox.fails(&["peers", "deny", "12D3KooWbogus"]);
    assert!(error.contains("12D3KooWbogus"), "{error}");
    assert!(error.contains("not a peer id"), "{error}");
    for args in [
        &["peers", "deny"][..],
        &["peers", "allow"],
        &["peers", "allow", "--all", &others[0]],
    ] {
        assert_eq!(sandbox.kith(args).status.code(), Some(2), "{args:?}");
    }

    let _daemon = sandbox.daemon(&[]);
    // `kith peers` alone still lists the connected peers.
    assert_eq!(sandbox.ok(&["peers"]), "no peers\n");
    assert_eq!(sandbox.list(&["peers"]), Vec::<Value>::new());
    assert_eq!(sandbox.ok(&["peers", "denied"]), "no denied peers\n");
    assert_eq!(sandbox.list(&["peers", "denied"]), Vec::<Value>::new());

    let denied = sandbox.list(&["peers", "deny", &others[1], &others[0]]);
    assert_eq!(denied, [others[0].as_str(), others[1].as_str()]);
    assert_eq!(
        sandbox.ok(&["peers", "denied", "-q"]),
        format!("{}\n{}\n", others[0], others[1])
    );
    assert_eq!(
        sandbox.ok(&["peers", "denied"]),
        format!("{}\n{}\n", others[0], others[1])
    );
    let own = sandbox.json(&["id"])["peer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let error = sandbox.fails(&["peers", "deny", &own]);
    assert!(error.contains("own peer id"), "{error}");
    assert!(error.contains("cannot_deny_self"), "{error}");

    // `--api` before or after the subcommand reaches the same daemon.
    let url = std::fs::read_to_string(sandbox.data.join("api")).unwrap();
    let human = sandbox.ok(&["peers", "--api", url.trim(), "allow", &others[0]]);
    assert_eq!(
        human,
        format!("allowed {}\n1 peer denied in all\n", others[0])
    );
    assert_eq!(
        sandbox.list(&["peers", "denied", "--api", url.trim()]),
        [others[1].as_str()]
    );
    assert_eq!(sandbox.ok(&["peers", "deny", "-q", &others[0]]), "");
    assert_eq!(
        sandbox.list(&["peers", "allow", "--all"]),
        Vec::<Value>::new()
    );
    assert_eq!(sandbox.ok(&["peers", "denied"]), "no denied peers\n");
    assert_eq!(sandbox.json(&["status"])["denied_peers"], 0);
}

#[test]
fn head_looks_an_author_up_on_the_dht() {
    let sandbox = Sandbox::new();
    let did = sandbox.init();
    let error = sandbox.fails(&["head", "alice"]);
    assert!(error.contains("did:key:z6Mk"), "{error}");
    let _daemon = sandbox.daemon(&[]);
    // Nothing posted yet: no head anywhere.
    let error = sandbox.fails(&["head", &did]);
    assert!(error.contains("no head"), "{error}");
    assert!(error.contains("not_found"), "{error}");

    let post = sandbox.json(&["post", "hello"]);
    // The daemon puts its head on the DHT (its own store first) in the background.
    wait_for("the head of the first post", DAEMON_DEADLINE, || {
        sandbox.kith(&["head", &did]).status.success()
    });
    let head = sandbox.json(&["head", &did]);
    assert_eq!(head["author"], did.as_str());
    assert_eq!(head["seq"], 1);
    assert_eq!(head["id"], post["id"]);
    assert!(head["lookup_ms"].as_f64().unwrap() >= 0.0, "{head}");
    assert_eq!(
        sandbox.ok(&["head", "-q", &did]),
        format!("{}\n", post["id"].as_str().unwrap())
    );
    let human = sandbox.ok(&["head", &did]);
    assert!(
        human.starts_with(&format!(
            "{did}  seq 1  {}  (found in ",
            post["id"].as_str().unwrap()
        )),
        "{human}"
    );
}

#[test]
fn a_reply_and_its_thread() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let post = sandbox.json(&["post", "a post"]);
    let post_id = post["id"].as_str().unwrap();
    let reply = sandbox.json(&["reply", post_id, "a reply"]);
    assert_eq!(reply["seq"], 2);
    let reply_id = reply["id"].as_str().unwrap();

    let thread = sandbox.list(&["thread", post_id]);
    assert_eq!(thread.len(), 2, "{thread:?}");
    assert_eq!(thread[0]["id"], post_id);
    assert_eq!(thread[0]["parent"], Value::Null);
    assert_eq!(thread[1]["id"], reply_id);
    assert_eq!(thread[1]["kind"], "reply");
    assert_eq!(thread[1]["text"], "a reply");
    assert_eq!(thread[1]["parent"], post_id);
    assert_eq!(thread[1]["root"], post_id);

    // A malformed id is explained before anything is sent; an unknown one by the daemon.
    let error = sandbox.fails(&["reply", "bogus", "text"]);
    assert!(error.contains("not a content id"), "{error}");
    let error = sandbox.fails(&["thread", "bogus"]);
    assert!(error.contains("not a content id"), "{error}");
    let unknown = "bafireibmi6g7egvevqpgymuwlmfjltpnahj6xs7o4a2vlqxwvyrtysvvoa";
    let error = sandbox.fails(&["reply", unknown, "text"]);
    assert!(error.contains("no entry"), "{error}");
}

#[test]
fn react_repost_quote_edit_history_and_delete() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let post = sandbox.json(&["post", "teh post"]);
    let id = post["id"].as_str().unwrap();

    let reaction = sandbox.json(&["react", id, "❤"]);
    assert_eq!(reaction["seq"], 2);
    assert!(reaction["id"].is_string() && reaction["author"].is_string());
    sandbox.json(&["repost", id]);
    sandbox.json(&["quote", id, "look"]);
    sandbox.json(&["edit", id, "the post"]);
    let shown = sandbox.json(&["get", id]);
    assert_eq!(shown["text"], "the post");
    assert_eq!(shown["edited"], true);
    assert_eq!(shown["reposts"], 2);
    assert_eq!(shown["reactions"][0]["reaction"], "❤");
    let history = sandbox.list(&["history", id]);
    let texts: Vec<&str> = history
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["teh post", "the post"]);

    let tombstone = sandbox.json(&["delete", id]);
    assert_eq!(tombstone["seq"], 6);
    let error = sandbox.fails(&["get", id]);
    assert!(error.contains("deleted"), "{error}");
    let error = sandbox.fails(&["edit", id, "again"]);
    assert!(error.contains("deleted"), "{error}");
    let error = sandbox.fails(&["react", "bogus", "❤"]);
    assert!(error.contains("not a content id"), "{error}");
}

#[test]
fn block_and_mute_lists() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let other = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    assert_eq!(sandbox.list(&["blocked"]).len(), 0);
    let blocked = sandbox.list(&["block", other]);
    assert_eq!(blocked, [Value::from(other)]);
    assert_eq!(sandbox.list(&["blocked"]), [Value::from(other)]);
    assert_eq!(sandbox.list(&["unblock", other]).len(), 0);
    let muted = sandbox.list(&["mute", other]);
    assert_eq!(muted, [Value::from(other)]);
    assert_eq!(sandbox.list(&["unmute", other]).len(), 0);
    let error = sandbox.fails(&["block", "nobody"]);
    assert!(error.contains("did:key"), "{error}");
}

#[test]
fn profile_set_and_get() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let avatar = tempfile::NamedTempFile::new().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend([7u8; 1000]);
    std::fs::write(avatar.path(), &png).unwrap();
    let avatar_path = avatar.path().to_str().unwrap();
    let set = sandbox.json(&[
        "profile",
        "set",
        "--name",
        "Ada",
        "--bio",
        "counts",
        "--avatar",
        avatar_path,
    ]);
    assert_eq!(set["name"], "Ada");
    assert_eq!(set["avatar_cached"], true);
    let avatar_id = set["avatar"].as_str().unwrap().to_owned();
    // Only the bio changes; name and avatar stay.
    sandbox.json(&["profile", "set", "--bio", "counts more"]);
    let shown = sandbox.json(&["profile", "get"]);
    assert_eq!(shown["name"], "Ada");
    assert_eq!(shown["bio"], "counts more");
    assert_eq!(shown["avatar"], avatar_id.as_str());

    let error = sandbox.fails(&["profile", "set"]);
    assert!(error.contains("nothing to change"), "{error}");
    let text = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(text.path(), "not an image").unwrap();
    let error = sandbox.fails(&["profile", "set", "--avatar", text.path().to_str().unwrap()]);
    assert!(error.contains("not a PNG"), "{error}");
    let stranger = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    let error = sandbox.fails(&["profile", "get", stranger]);
    assert!(error.contains("no profile"), "{error}");
}

#[test]
fn notifications_tags_and_the_public_timeline() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let post = sandbox.json(&["post", "learning #Rust today"]);
    let tagged = sandbox.list(&["tag", "#rust"]);
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["id"], post["id"]);
    assert_eq!(sandbox.list(&["tag", "python"]).len(), 0);

    let followed = sandbox.json(&["follow", "#Rust"]);
    assert_eq!(followed["tags"], serde_json::json!(["rust"]));
    assert_eq!(sandbox.list(&["tags"]), [Value::from("rust")]);
    let error = sandbox.fails(&["follow", "#not-a-tag"]);
    assert!(error.contains("not a hashtag"), "{error}");

    // Own entries are never notifications.
    assert_eq!(sandbox.list(&["notifications"]).len(), 0);

    let error = sandbox.fails(&["public"]);
    assert!(error.contains("--enable"), "{error}");
    let public = sandbox.list(&["public", "--enable"]);
    assert_eq!(public.len(), 1);
    assert_eq!(public[0]["id"], post["id"]);
    assert_eq!(sandbox.list(&["public", "--disable"]).len(), 0);
}

/// Serves one RSS document to every request (on a thread; `Connection: close`); returns
/// its URL.
fn serve_rss() -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let body = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>\
                <title>Bridged News</title><item><guid>n1</guid><title>Hello</title>\
                <description>from the bridge</description></item></channel></rss>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn follow_feed_bridges_a_feed_and_explains_a_bad_url() {
    let sandbox = Sandbox::new();
    sandbox.init();
    // Refused before the daemon is even asked.
    let error = sandbox.fails(&["follow-feed", "ftp://example.invalid/feed.xml"]);
    assert!(error.contains("not a feed URL"), "{error}");
    assert!(error.contains("http://"), "{error}");
    let _daemon = sandbox.daemon(&[]);
    let error = sandbox.fails(&["follow-feed", "example.invalid/feed.xml"]);
    assert!(error.contains("not a feed URL"), "{error}");
    // Nothing listens there: the daemon cannot fetch it, and says so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}/feed.xml", closed.local_addr().unwrap());
    drop(closed);
    let error = sandbox.fails(&["follow-feed", &nowhere]);
    assert!(error.contains("cannot fetch the feed"), "{error}");

    let url = serve_rss();
    let made = sandbox.json(&["follow-feed", &url]);
    assert_eq!(made["url"], url.as_str());
    let author = made["author"].as_str().unwrap().to_owned();
    assert!(author.starts_with("did:key:z6Mk"), "{made}");
    let quiet = sandbox.ok(&["follow-feed", "-q", &url]);
    assert_eq!(quiet.trim(), author, "the same bridge again");
    let bridges = sandbox.list(&["bridges"]);
    assert_eq!(bridges.len(), 1);
    assert_eq!(bridges[0]["author"], author.as_str());
    assert_eq!(bridges[0]["url"], url.as_str());
    let human = sandbox.ok(&["bridges"]);
    assert!(
        human.contains(&author) && human.contains("Bridged News"),
        "{human}"
    );
    wait_for("the bridged item in the timeline", DAEMON_DEADLINE, || {
        sandbox.list(&["timeline"]).iter().any(|e| {
            e["author"] == author.as_str()
                && e["text"].as_str().is_some_and(|t| t.starts_with("Hello"))
        })
    });
    let dir = sandbox.data.join("bridges");
    let stem = author.strip_prefix("did:key:").unwrap();
    assert_eq!(mode(&dir.join(format!("{stem}.key"))) & 0o777, 0o600);
    assert!(dir.join(format!("{stem}.json")).is_file());
}

#[test]
fn get_takes_permalinks_in_both_forms() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let _daemon = sandbox.daemon(&[]);
    let post = sandbox.json(&["post", "find me"]);
    let id = post["id"].as_str().unwrap();
    let did = post["author"].as_str().unwrap();
    let by_id = sandbox.json(&["get", &format!("kith:{id}")]);
    assert_eq!(by_id["text"], "find me");
    assert_eq!(by_id["permalink"], format!("kith:{id}"));
    let by_seq = sandbox.json(&["get", &format!("kith:{did}/1")]);
    assert_eq!(by_seq["id"], id);
    let error = sandbox.fails(&["get", "kith:nonsense"]);
    assert!(error.contains("permalink"), "{error}");
}

#[test]
fn completions_are_printed_for_each_shell_without_a_data_directory() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = succeeded(
            sandbox
                .bare()
                .args(["completions", shell])
                .output()
                .unwrap(),
        );
        assert!(script.contains("kith"), "{shell}: {script}");
        assert!(
            script.contains("follow"),
            "{shell}: subcommands are completed"
        );
    }
    assert!(!sandbox.data.exists(), "no data directory was made");
    let output = sandbox
        .bare()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("tcsh") && error.contains("bash"), "{error}");
}

#[test]
fn bootstrap_peers_are_added_and_removed_in_config_toml_keeping_its_comments() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let config = sandbox.data.join("config.toml");
    let before = std::fs::read_to_string(&config).unwrap();
    let peer = "/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    let listed = sandbox.json(&["bootstrap", "add", peer]);
    assert_eq!(listed["bootstrap"], serde_json::json!([peer]));
    // Again: no duplicate.
    sandbox.ok(&["bootstrap", "add", peer]);
    assert_eq!(
        sandbox.json(&["bootstrap", "list"])["bootstrap"],
        serde_json::json!([peer])
    );
    let after = std::fs::read_to_string(&config).unwrap();
    // The comments of the file are kept, and the daemon's own parser reads the list.
    for line in before.lines().filter(|l| l.starts_with('#')) {
        assert!(after.contains(line), "lost: {line}");
    }
    let parsed: toml::Value = toml::from_str(&after).unwrap();
    assert_eq!(parsed["network"]["bootstrap"][0].as_str(), Some(peer));
    // A malformed address is refused before anything is written.
    let error = sandbox.fails(&["bootstrap", "add", "/ip4/203.0.113.7/tcp/4001"]);
    assert!(error.contains("/p2p/"), "{error}");
    sandbox.ok(&["bootstrap", "rm", peer]);
    assert_eq!(
        sandbox.json(&["bootstrap", "list"])["bootstrap"],
        serde_json::json!([])
    );
    let error = sandbox.fails(&["bootstrap", "rm", peer]);
    assert!(error.contains("not in the bootstrap list"), "{error}");
}
