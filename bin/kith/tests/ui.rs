//! The web UI end to end, in a real headless Chromium: three `kith daemon` processes on
//! loopback (three, so that a name has a write quorum), two browser pages signed in with
//! `kith ui` links, driven by `crates/api/ui-tests/e2e.test.mjs` under Node's test runner
//! (playwright-core, Debian's `/usr/bin/chromium`; never a downloaded browser).
//!
//! Needs Node.js ≥ 20, Chromium and the test's npm packages:
//! `apt-get install chromium nodejs npm` and `npm ci --prefix crates/api/ui-tests`. Where one is
//! missing the test says what and passes without running, unless `KITH_REQUIRE_BROWSER_TESTS=1`
//! (set by `.ci/run`), which makes a missing piece a failure.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Peer, wait_for};

/// Where Debian installs Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the whole browser run may take (CI machines are slow and shared).
const BROWSER_DEADLINE: Duration = Duration::from_secs(300);
/// How long the daemons may take to find each other.
const NETWORK_DEADLINE: Duration = Duration::from_secs(30);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// What is missing to run the browser tests, if anything.
fn missing_pieces(tests: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("Chromium at {CHROMIUM} (apt-get install chromium)"));
    }
    let node = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    match node {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout);
            let major: u32 = version
                .trim()
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if major < 20 {
                missing.push(format!("Node.js 20 or newer (found {})", version.trim()));
            }
        }
        _ => missing.push("Node.js (apt-get install nodejs npm)".to_owned()),
    }
    if !tests.join("node_modules/playwright-core").is_dir() {
        missing.push("the test's npm packages (npm ci --prefix crates/api/ui-tests)".to_owned());
    }
    missing
}

/// One signed-in peer for the browser test, as `e2e.test.mjs` reads it.
fn describe(name: &str, peer: &Peer) -> serde_json::Value {
    let api = std::fs::read_to_string(peer.sandbox.data.join("api"))
        .unwrap()
        .trim()
        .to_owned();
    let link = peer.sandbox.json(&["ui"]);
    serde_json::json!({
        "name": name,
        "did": peer.did,
        "api": api,
        "login_url": link["url"],
        "data_dir": peer.sandbox.data,
    })
}

#[test]
fn the_web_ui_works_end_to_end_in_a_real_browser() {
    let root = repo_root();
    let tests = root.join("crates/api/ui-tests");
    let missing = missing_pieces(&tests);
    if !missing.is_empty() {
        let required = std::env::var("KITH_REQUIRE_BROWSER_TESTS").is_ok_and(|v| v == "1");
        let message = format!("the browser tests need: {}", missing.join("; "));
        assert!(!required, "{message} (KITH_REQUIRE_BROWSER_TESTS=1)");
        eprintln!("SKIPPED the_web_ui_works_end_to_end_in_a_real_browser: {message}");
        return;
    }

    let alice = Peer::start(None);
    let bob = Peer::start(Some(&alice));
    let carol = Peer::start(Some(&alice));
    wait_for("the three daemons to connect", NETWORK_DEADLINE, || {
        alice.sandbox.list(&["peers"]).len() >= 2
    });
    let peers = serde_json::json!([describe("alice", &alice), describe("bob", &bob)]);
    let screenshots = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("ui-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();

    let mut node = Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg("e2e.test.mjs")
        .current_dir(&tests)
        .env("KITH_UI_PEERS", peers.to_string())
        .env("KITH_BIN", env!("CARGO_BIN_EXE_kith"))
        .env("KITH_CHROMIUM", CHROMIUM)
        .env("KITH_SCREENSHOTS", &screenshots)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = node.kill();
            let _ = node.wait();
            panic!(
                "the browser tests did not finish within {BROWSER_DEADLINE:?}\nalice's log:\n{}",
                alice.daemon.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "the browser tests failed ({status}); their output is above. Screenshots: {}\n\
         alice's log:\n{}\nbob's log:\n{}",
        screenshots.display(),
        alice.daemon.log(),
        bob.daemon.log()
    );
    drop(carol);
}
