//! End-to-end tests of the `kith` binary: each runs the real program on a temporary data
//! directory and checks its output, exit code and files.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const MAX_TEXT_BYTES: usize = kith_proto::limits::MAX_TEXT_BYTES;

/// A temporary place for data directories; `data` does not exist until `kith init`.
struct Sandbox {
    _root: tempfile::TempDir,
    data: PathBuf,
    home: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("peer");
        let home = root.path().join("home");
        std::fs::create_dir(&home).unwrap();
        Self {
            _root: root,
            data,
            home,
        }
    }

    /// `kith` with a clean environment: no KITH_PATH, HOME inside the sandbox.
    fn bare(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kith"));
        command
            .env_remove("KITH_PATH")
            .env_remove("XDG_DATA_HOME")
            .env("HOME", &self.home)
            .stdin(Stdio::null());
        command
    }

    /// `kith --data-dir DATA ARGS…`.
    fn kith(&self, args: &[&str]) -> Output {
        self.bare()
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        succeeded(self.kith(args))
    }

    /// Runs with `--json`, expects success; returns the parsed document.
    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args)).unwrap()
    }

    /// Runs and expects exit code 1; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        failed(self.kith(args))
    }

    fn init(&self) -> String {
        self.json(&["init"])["did"].as_str().unwrap().to_owned()
    }

    fn key_path(&self) -> PathBuf {
        self.data.join("identity.key")
    }

    fn feed(&self, args: &[&str]) -> Vec<Value> {
        let args = [&["feed"][..], args].concat();
        match self.json(&args) {
            Value::Array(items) => items,
            other => panic!("feed --json is not an array: {other}"),
        }
    }
}

fn succeeded(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn failed(output: Output) -> String {
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    stderr
}

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

#[test]
fn init_creates_a_private_directory_key_config_and_store() {
    let sandbox = Sandbox::new();
    let report = sandbox.json(&["init"]);
    let did = report["did"].as_str().unwrap();
    assert!(did.starts_with("did:key:z6Mk"), "{report}");
    assert_eq!(
        Path::new(report["data_dir"].as_str().unwrap()),
        sandbox.data.as_path()
    );
    assert_eq!(mode(&sandbox.data), 0o700);
    assert_eq!(mode(&sandbox.key_path()), 0o600);
    assert_eq!(did_in_key_file(&sandbox.key_path()), did);
    let config = std::fs::read_to_string(sandbox.data.join("config.toml")).unwrap();
    assert!(
        config.contains("[api]") && config.contains("# listen"),
        "{config}"
    );
    assert!(sandbox.data.join("kith.redb").is_file());
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
fn id_prints_the_identity_of_the_key_file() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let did = did_in_key_file(&sandbox.key_path());
    let report = sandbox.json(&["id"]);
    assert_eq!(report["did"], did.as_str());
    let public_key = report["public_key_hex"].as_str().unwrap();
    assert_eq!(public_key.len(), 64);
    assert!(public_key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        Path::new(report["data_dir"].as_str().unwrap()),
        sandbox.data.as_path()
    );
    assert_eq!(sandbox.ok(&["id"]), format!("{did}\n"));
}

#[test]
fn posts_are_chained_and_listed_newest_first() {
    let sandbox = Sandbox::new();
    let did = sandbox.init();
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
}

#[test]
fn human_and_quiet_output() {
    let sandbox = Sandbox::new();
    sandbox.init();
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
}

#[test]
fn post_reads_standard_input_for_a_dash() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let mut child = sandbox
        .bare()
        .arg("--data-dir")
        .arg(&sandbox.data)
        .args(["post", "-", "--json"])
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
fn a_malformed_did_is_explained() {
    let sandbox = Sandbox::new();
    let did = sandbox.init();
    for bad in ["alice", "did:web:example.com", &did[..did.len() - 2]] {
        let error = sandbox.fails(&["feed", bad]);
        assert!(error.contains("did:key:z6Mk"), "{error}");
        assert!(error.contains(bad), "{error}");
    }
}

#[test]
fn the_feed_of_an_unknown_author_is_empty() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let other = Sandbox::new();
    let stranger = other.init();
    assert!(sandbox.feed(&[&stranger]).is_empty());
    assert_eq!(sandbox.ok(&["feed", &stranger]), "no entries\n");
}

#[test]
fn commands_before_init_say_to_run_init() {
    let sandbox = Sandbox::new();
    for args in [
        &["id"][..],
        &["post", "hi"],
        &["post", "-"],
        &["feed"],
        &["feed", "--all"],
    ] {
        let error = sandbox.fails(args);
        assert!(error.contains("kith init"), "{args:?}: {error}");
        assert!(
            error.contains(&sandbox.data.display().to_string()),
            "{error}"
        );
    }
    assert!(
        !sandbox.data.exists(),
        "a failed command created the data directory"
    );
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let key = sandbox.key_path();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [&["id"][..], &["post", "hi"], &["feed"]] {
        let error = sandbox.fails(args);
        assert!(error.contains("chmod 600"), "{error}");
        assert!(error.contains(&key.display().to_string()), "{error}");
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    sandbox.ok(&["id"]);
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
        .arg("id")
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
fn a_store_held_by_another_process_is_reported_as_in_use() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let store = kith_store::Store::open(
        &sandbox.data.join("kith.redb"),
        kith_store::StoreConfig::default(),
    )
    .unwrap();
    let error = sandbox.fails(&["post", "blocked"]);
    assert!(error.contains("in use by another kith process"), "{error}");
    store.close().unwrap();
    sandbox.ok(&["post", "free again"]);
    assert_eq!(sandbox.feed(&[]).len(), 1);
}

#[test]
fn an_unknown_config_key_is_named() {
    let sandbox = Sandbox::new();
    sandbox.init();
    let config = sandbox.data.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("batch_windw_ms = 5\n");
    std::fs::write(&config, text).unwrap();
    let error = sandbox.fails(&["feed"]);
    assert!(error.contains("config.toml"), "{error}");
    assert!(error.contains("batch_windw_ms"), "{error}");
}

#[test]
fn usage_errors_exit_with_2() {
    let sandbox = Sandbox::new();
    for args in [&["feed", "--limit", "x"][..], &["post"], &["frobnicate"]] {
        assert_eq!(sandbox.kith(args).status.code(), Some(2), "{args:?}");
    }
}
