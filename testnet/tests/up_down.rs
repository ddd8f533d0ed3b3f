//! `kith-testnet up`, `status`, `down` and `run` against the real `kith` binary.
//!
//! The tests use `target/debug/kith`. `cargo test --workspace` builds it (bin/kith is a
//! workspace member with tests of its own); with `cargo test -p kith-testnet` alone, build
//! it first: `cargo build -p kith`. A missing binary fails the tests with that message.
//! `KITH_BIN=PATH` runs them against another `kith` binary.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `KITH_BIN`, else the debug `kith` binary of this workspace.
fn kith() -> PathBuf {
    let path = std::env::var_os("KITH_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/kith"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p kith` (cargo test --workspace does)",
        path.display()
    );
    path
}

fn testnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kith-testnet"))
        .args(args)
        .env("KITH_BIN", kith())
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let output = testnet(args);
    assert!(
        output.status.success(),
        "kith-testnet {args:?}: {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Whether `pid` is a live process (not a zombie).
fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next()),
            Some("Z" | "X")
        )
    })
}

#[test]
fn up_status_down_on_a_chain_of_three() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let dir_arg = dir.to_str().unwrap();
    ok(&[
        "up",
        "--peers",
        "3",
        "--dir",
        dir_arg,
        "--topology",
        "chain",
    ]);

    let peers: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("peers.json")).unwrap()).unwrap();
    assert_eq!(peers.len(), 3);
    let pids: Vec<u64> = peers.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    for (i, peer) in peers.iter().enumerate() {
        assert_eq!(peer["index"], i);
        assert!(peer["author"].as_str().unwrap().starts_with("did:key:z6Mk"));
        assert!(
            peer["api"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        assert!(!peer["listen_addrs"].as_array().unwrap().is_empty());
        assert!(dir.join(format!("peer-{i}/daemon.log")).is_file());
        assert!(alive(pids[i]), "peer {i} is not running");
    }

    // The chain links up: the middle peer sees both ends.
    let start = Instant::now();
    loop {
        let status: Vec<Value> =
            serde_json::from_str(&ok(&["status", "--dir", dir_arg, "--json"])).unwrap();
        assert_eq!(status.len(), 3);
        assert!(status.iter().all(|row| row["alive"] == true), "{status:?}");
        if status[1]["peers"].as_u64() >= Some(2) {
            assert_eq!(status[0]["following"], 0);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the chain did not connect: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let table = ok(&["status", "--dir", dir_arg]);
    assert!(table.contains("alive"), "{table}");

    let down: Vec<Value> =
        serde_json::from_str(&ok(&["down", "--dir", dir_arg, "--json"])).unwrap();
    assert_eq!(down.len(), 3);
    for row in &down {
        assert_eq!(row["how"], "stopped (SIGTERM)", "{down:?}");
    }
    for pid in pids {
        assert!(!alive(pid), "pid {pid} survived down");
    }
    // Nothing removed; a second down finds nothing running.
    assert!(dir.join("peer-0/identity.key").is_file());
    let again = ok(&["down", "--dir", dir_arg]);
    assert_eq!(again.matches("not running").count(), 3, "{again}");
}

#[test]
fn run_a_small_scenario_and_leave_no_process() {
    let report = run_scenario(
        "tiny",
        "peers = 3\ntopology = \"chain\"\n\n[posts]\nauthors = [2]\nposts_per_author = 5\n\
         rate_per_s = 50\n\n[follows]\nall = true\n\n[expect]\nsettle_s = 20\n",
    );
    assert_eq!(report["scenario"], "tiny");
    assert_eq!(report["expected"], 10);
    assert_eq!(report["delivered"], 10);
    assert_eq!(report["lost"], 0);
    assert_eq!(report["peer_usage"].as_array().unwrap().len(), 3);
}

#[test]
fn a_missing_kith_binary_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kith-testnet"))
        .args(["up", "--peers", "1", "--dir"])
        .arg(root.path().join("net"))
        .args(["--kith", "/nonexistent/kith"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no kith binary at /nonexistent/kith"),
        "{stderr}"
    );
}

#[test]
fn a_killed_follower_that_restarts_catches_up() {
    let report = run_scenario(
        "faults",
        "peers = 4\ntopology = \"star\"\n\n[posts]\nauthors = [1]\nposts_per_author = 20\n\
         rate_per_s = 20\n\n[follows]\nall = true\n\n[[faults]]\nat_s = 0.2\nkill = [2, 3]\n\n\
         [[faults]]\nat_s = 0.5\nrestart = [3]\n\n[expect]\nsettle_s = 30\n",
    );
    // Peer 2 stays down: only peers 0 and 3 count, and 3 caught up after its restart.
    assert_eq!(report["expected"], 40, "{report}");
    assert_eq!(report["delivered"], 40, "{report}");
    assert!(report["converged_s"].as_f64().is_some(), "{report}");
}

/// Runs `kith-testnet run --check` on a scenario written to a temporary file, checks that
/// no daemon of the run is left, and returns the report.
fn run_scenario(name: &str, text: &str) -> Value {
    let root = tempfile::tempdir().unwrap();
    let scenario = root.path().join(format!("{name}.toml"));
    std::fs::write(&scenario, text).unwrap();
    let dir = root.path().join("run");
    let out = root.path().join("report.json");
    ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--check",
        "--dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let peers: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("peers.json")).unwrap()).unwrap();
    for peer in peers {
        let pid = peer["pid"].as_u64().unwrap();
        assert!(!alive(pid), "pid {pid} survived the run");
    }
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

#[test]
fn a_fresh_follower_catches_up_a_preloaded_feed() {
    let report = run_scenario(
        "catchup",
        "peers = 2\n\n[catchup]\nauthor = 0\nfollower = 1\nentries = 3000\n\n\
         [expect]\nsettle_s = 60\n",
    );
    assert_eq!(report["expected"], 3000, "{report}");
    assert_eq!(report["delivered"], 3000, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert!(report["catchup_entries_per_s"].as_f64().unwrap() > 0.0);
    assert!(report["verify_single_per_s"].as_f64().unwrap() > 0.0);
    assert!(report["catchup_vs_single_verify"].as_f64().is_some());
    assert!(report["daemon"]["ready_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(report["daemon"]["idle_rss_mb"]["p50"].as_f64().unwrap() > 0.0);
}

#[test]
fn posts_made_during_a_partition_arrive_after_the_heal() {
    // Peers 0 and 1 on one side, 2 and 3 on the other; both sides post during the split.
    let report = run_scenario(
        "split",
        "peers = 4\ntopology = \"chain\"\n\n[posts]\nauthors = [0, 3]\nposts_per_author = 30\n\
         rate_per_s = 10\n\n[follows]\nall = true\n\n[[faults]]\nat_s = 0.5\n\
         partition = [[0, 1], [2, 3]]\n\n[[faults]]\nat_s = 2.0\nheal = true\n\n\
         [expect]\nsettle_s = 60\n",
    );
    assert_eq!(report["partition_mode"], "deny-list", "{report}");
    assert_eq!(report["expected"], 180, "{report}");
    assert_eq!(report["delivered"], 180, "{report}");
    assert_eq!(report["heads_agree"], true, "{report}");
    assert!(report["converged_s"].as_f64().is_some(), "{report}");
    // Some posts could only cross after the heal: the slowest delivery spans the split.
    assert!(
        report["delivery_ms"]["max"].as_f64().unwrap() > 500.0,
        "{report}"
    );
}

#[test]
fn head_lookups_from_every_peer_find_the_heads() {
    let report = run_scenario(
        "lookups",
        "peers = 5\ntopology = \"chain\"\n\n[lookups]\nauthors = 5\ncount = 12\n\n\
         [expect]\nmin_delivered_pct = 100\n",
    );
    assert_eq!(report["lookups"], 12, "{report}");
    assert_eq!(report["lookup_failures"], 0, "{report}");
    assert!(
        report["lookup_ms"]["p50"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert!(report["lookup_client_ms"]["p50"].as_f64().unwrap() > 0.0);
}

#[test]
fn names_claimed_on_a_small_network_resolve_to_their_claimants() {
    // Quick: 6 peers, a handful of claims and lookups, two race rounds, no latency bounds
    // (the benchmark is testnet/scenarios/names-20.toml).
    let report = run_scenario(
        "names",
        "peers = 6\ntopology = \"random\"\nseed = 6\n\n[names]\nclaims = 8\nlookups = 12\n\
         race_rounds = 2\nrace_claimants = 3\npow_samples = 5\nlive_names = 5\n",
    );
    let names = &report["names"];
    assert_eq!(names["claims"], 8, "{report}");
    assert_eq!(names["claim_failures"], 0, "{report}");
    assert_eq!(names["releases"], 3, "{report}");
    assert_eq!(names["release_failures"], 0, "{report}");
    assert_eq!(names["lookups"], 12, "{report}");
    assert_eq!(names["lookup_wrong_owner"], 0, "{report}");
    assert_eq!(names["lookup_failures"], 0, "{report}");
    assert_eq!(names["race_rounds"], 2, "{report}");
    assert_eq!(names["race_multiple_winners"], 0, "{report}");
    assert_eq!(names["race_no_winner"], 0, "{report}");
    assert_eq!(names["race_lookup_mismatch"], 0, "{report}");
    assert!(names["claim_ms"]["p50"].as_f64().unwrap() > 0.0, "{report}");
    assert!(
        names["lookup_ms"]["p50"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert_eq!(report["passed"], true, "{report}");
}
