//! Shared helpers of the `kith` process tests: sandboxes, running commands, daemons that are
//! stopped when the test ends (also when it fails).

// Each test file uses a different subset.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a daemon may take to start or to stop.
pub(crate) const DAEMON_DEADLINE: Duration = Duration::from_secs(20);
/// Between two looks at a condition that is being waited for.
pub(crate) const POLL: Duration = Duration::from_millis(25);

/// A temporary place for a data directory; `data` does not exist until `kith init`.
pub(crate) struct Sandbox {
    root: tempfile::TempDir,
    pub(crate) data: PathBuf,
    pub(crate) home: PathBuf,
    /// The network namespace every `kith` command of this sandbox runs in (`None`: the
    /// test's own).
    netns: Option<String>,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("peer");
        let home = root.path().join("home");
        std::fs::create_dir(&home).unwrap();
        Self {
            root,
            data,
            home,
            netns: None,
        }
    }

    /// A sandbox whose commands (and daemon) run in the network namespace `netns`, through
    /// `ip netns exec` (which execs `kith`, so signals reach it).
    pub(crate) fn in_netns(netns: &str) -> Self {
        Self {
            netns: Some(netns.to_owned()),
            ..Self::new()
        }
    }

    /// A directory of the sandbox outside the data directory.
    pub(crate) fn root(&self) -> &Path {
        self.root.path()
    }

    /// `kith` with a clean environment: no KITH_PATH or KITH_API, HOME inside the sandbox.
    pub(crate) fn bare(&self) -> Command {
        let mut command = match &self.netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command
                    .args(["netns", "exec", netns])
                    .arg(env!("CARGO_BIN_EXE_kith"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_kith")),
        };
        command
            .env_remove("KITH_PATH")
            .env_remove("KITH_API")
            .env_remove("KITH_LOG")
            .env_remove("XDG_DATA_HOME")
            .env("HOME", &self.home)
            .stdin(Stdio::null());
        // To debug a test, `KITH_TEST_LOG=kith_net=debug cargo test …` sets the daemons'
        // KITH_LOG (their logs are in the panic messages).
        if let Ok(filter) = std::env::var("KITH_TEST_LOG") {
            command.env("KITH_LOG", filter);
        }
        command
    }

    /// `kith --data-dir DATA ARGS…`.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = self.bare();
        command.arg("--data-dir").arg(&self.data).args(args);
        command
    }

    /// Runs `kith --data-dir DATA ARGS…` to completion.
    pub(crate) fn kith(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        succeeded(self.kith(args))
    }

    /// Runs with `--json`, expects success; returns the parsed document.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args)).unwrap()
    }

    /// Runs and expects exit code 1; returns stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        failed(self.kith(args))
    }

    /// `kith init --profile test`; returns the did.
    pub(crate) fn init(&self) -> String {
        self.json(&["init", "--profile", "test"])["did"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) fn key_path(&self) -> PathBuf {
        self.data.join("identity.key")
    }

    /// `ARGS… --json`, which must print an array.
    pub(crate) fn list(&self, args: &[&str]) -> Vec<Value> {
        match self.json(args) {
            Value::Array(items) => items,
            other => panic!("{args:?} --json is not an array: {other}"),
        }
    }

    /// `kith feed ARGS… --json`.
    pub(crate) fn feed(&self, args: &[&str]) -> Vec<Value> {
        self.list(&[&["feed"][..], args].concat())
    }

    /// Starts `kith daemon ARGS…` on this sandbox and waits until its API answers.
    pub(crate) fn daemon(&self, args: &[&str]) -> Daemon {
        Daemon::start(self, args)
    }
}

/// Asserts success; returns stdout.
pub(crate) fn succeeded(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Asserts exit code 1 and an `error:` line; returns stderr.
pub(crate) fn failed(output: Output) -> String {
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    stderr
}

/// Waits until `condition` holds, looking every [`POLL`]; panics with `what` after
/// `deadline`.
pub(crate) fn wait_for(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?}: {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// A running `kith daemon`. Dropping it sends SIGTERM, and SIGKILL if it has not exited
/// within the deadline, so no daemon outlives its test.
pub(crate) struct Daemon {
    child: Option<Child>,
    data: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(sandbox: &Sandbox, args: &[&str]) -> Self {
        let log = unique(sandbox.root().join("daemon.log"));
        let child = sandbox
            .command(&[&["daemon"][..], args].concat())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut daemon = Self {
            child: Some(child),
            data: sandbox.data.clone(),
            log,
        };
        daemon.wait_until_ready();
        daemon
    }

    fn wait_until_ready(&mut self) {
        let api = self.data.join("api");
        let start = Instant::now();
        loop {
            if api.exists() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the daemon exited with {status} before its API was up:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < DAEMON_DEADLINE,
                "the daemon did not write {} in time:\n{}",
                api.display(),
                self.log()
            );
            std::thread::sleep(POLL);
        }
    }

    /// What the daemon logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends `signal` (`TERM`, `INT`, …) to the daemon.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the daemon to exit, up to `deadline`; `None` if it is still running.
    fn wait(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            if start.elapsed() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stops the daemon with `signal` and returns how it exited (it must exit in time).
    pub(crate) fn stop_with(mut self, signal: &str) -> ExitStatus {
        self.signal(signal);
        let status = self.wait(DAEMON_DEADLINE);
        status.unwrap_or_else(|| panic!("the daemon did not stop in time:\n{}", self.log()))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        if self.wait(Duration::from_secs(10)).is_none()
            && let Some(mut child) = self.child.take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `path`, or `path` with a counter added if it exists.
fn unique(path: PathBuf) -> PathBuf {
    if !path.exists() {
        return path;
    }
    (1..)
        .map(|n| path.with_extension(format!("{n}.log")))
        .find(|candidate| !candidate.exists())
        .unwrap()
}

/// A peer: its directory, its running daemon, its identity.
pub(crate) struct Peer {
    pub(crate) sandbox: Sandbox,
    pub(crate) daemon: Daemon,
    pub(crate) did: String,
    pub(crate) listen_addrs: Vec<String>,
}

impl Peer {
    /// A new identity and its daemon, joining the network through `bootstrap` if given.
    pub(crate) fn start(bootstrap: Option<&Peer>) -> Self {
        let sandbox = Sandbox::new();
        let did = sandbox.init();
        let mut args = Vec::new();
        if let Some(first) = bootstrap {
            for addr in &first.listen_addrs {
                args.push("--bootstrap".to_owned());
                args.push(addr.clone());
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let daemon = sandbox.daemon(&args);
        let id = sandbox.json(&["id"]);
        assert_eq!(id["did"], did.as_str());
        let listen_addrs: Vec<String> = id["listen_addrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|addr| addr.as_str().unwrap().to_owned())
            .collect();
        assert!(!listen_addrs.is_empty(), "{id}");
        Self {
            sandbox,
            daemon,
            did,
            listen_addrs,
        }
    }

    /// Whether the peer's home timeline (newest 50) has the entry `id`.
    pub(crate) fn timeline_has(&self, id: &str) -> bool {
        self.sandbox
            .list(&["timeline", "--limit", "50"])
            .iter()
            .any(|entry| entry["id"] == id)
    }
}
