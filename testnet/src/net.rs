//! Starting, describing and stopping a network of `kith daemon` processes.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long one daemon may take from spawn to an answering API.
pub(crate) const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long daemons get to exit after SIGTERM before they are killed.
pub(crate) const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// Between two looks at a condition that is being waited for.
pub(crate) const POLL: Duration = Duration::from_millis(20);
/// Timeout of one ordinary API request.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the peers join: whom each daemon gets as `--bootstrap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Topology {
    /// Peer i joins through peer i − 1.
    Chain,
    /// Every peer joins through peer 0.
    Star,
    /// Peer i joins through one or two random earlier peers (`--seed`).
    Random,
}

impl Topology {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Topology::Chain => "chain",
            Topology::Star => "star",
            Topology::Random => "random",
        }
    }

    /// The earlier peers peer `index` bootstraps through.
    fn bootstrap_of(self, index: usize, rng: &mut SplitMix64) -> Vec<usize> {
        if index == 0 {
            return Vec::new();
        }
        match self {
            Topology::Chain => vec![index - 1],
            Topology::Star => vec![0],
            Topology::Random => {
                let first = rng.below(index);
                let mut picks = vec![first];
                if index >= 2 && rng.below(2) == 1 {
                    let second = (first + 1 + rng.below(index - 1)) % index;
                    picks.push(second);
                }
                picks
            }
        }
    }
}

/// A small seedable generator (SplitMix64): enough for picking bootstrap peers.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A seed from the clock, for `--topology random` without `--seed`.
pub(crate) fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}

/// One peer as written to `DIR/peers.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PeerInfo {
    pub(crate) index: usize,
    pub(crate) data_dir: PathBuf,
    pub(crate) api: String,
    pub(crate) peer_id: String,
    pub(crate) author: String,
    pub(crate) pid: u32,
    pub(crate) listen_addrs: Vec<String>,
    /// Milliseconds from spawning the daemon to its first successful `GET /health`.
    #[serde(default)]
    pub(crate) ready_ms: f64,
}

impl PeerInfo {
    /// The API token of the peer, from `DATA/api.token`.
    pub(crate) fn token(&self) -> Result<String> {
        let path = self.data_dir.join("api.token");
        Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_owned())
    }
}

/// The `kith` binary to run: `--kith`/`KITH_BIN`, else `kith` in the directory of this
/// executable or in `target/release` or `target/debug` beside it, else `kith` on `PATH`.
pub(crate) fn find_kith(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(std::path::absolute(path)?);
        }
        bail!(
            "no kith binary at {} (given by --kith or KITH_BIN); build it with `cargo build -p kith`",
            path.display()
        );
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("kith"));
        if let Some(target) = dir.parent() {
            candidates.push(target.join("release").join("kith"));
            candidates.push(target.join("debug").join("kith"));
        }
        // An integration test runs from target/debug/deps.
        if let Some(target) = dir.parent().and_then(Path::parent) {
            candidates.push(target.join("release").join("kith"));
            candidates.push(target.join("debug").join("kith"));
        }
    }
    if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
        return Ok(found);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("kith");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "cannot find the kith binary: pass --kith PATH or set KITH_BIN, or build it \
         (`cargo build --release -p kith`) so that target/release/kith sits next to kith-testnet"
    )
}

/// `kith` with the environment that could point it elsewhere removed.
fn kith_command(kith: &Path, data_dir: &Path) -> Command {
    let mut command = Command::new(kith);
    command
        .env_remove("KITH_PATH")
        .env_remove("KITH_API")
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null());
    command
}

/// A running network whose daemons are children of this process. Dropping it stops them
/// (SIGTERM, then SIGKILL after [`STOP_DEADLINE`]) unless it was [`detach`](Self::detach)ed.
pub(crate) struct Network {
    pub(crate) dir: PathBuf,
    pub(crate) seed: Option<u64>,
    pub(crate) kith: PathBuf,
    pub(crate) peers: Vec<PeerInfo>,
    children: Vec<Option<Child>>,
    /// The earlier peers each peer bootstrapped through (for restarts).
    bootstraps: Vec<Vec<usize>>,
}

/// How one daemon ended.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StopOutcome {
    pub(crate) index: usize,
    pub(crate) pid: u32,
    /// `exited 0`, `exited N`, `killed`, `signal N`, `not running`.
    pub(crate) how: String,
}

impl Network {
    /// Inits `n` data directories under `dir` and starts a daemon on each, joined per
    /// `topology`; returns once every API answers.
    pub(crate) async fn up(
        kith: &Path,
        dir: &Path,
        n: usize,
        topology: Topology,
        seed: Option<u64>,
        client: &reqwest::Client,
    ) -> Result<Network> {
        Self::up_prepared(kith, dir, n, topology, seed, client, |_| Ok(())).await
    }

    /// [`up`](Self::up), with `prepare` run on the initialised data directories before any
    /// daemon starts (to preload stores).
    pub(crate) async fn up_prepared(
        kith: &Path,
        dir: &Path,
        n: usize,
        topology: Topology,
        seed: Option<u64>,
        client: &reqwest::Client,
        prepare: impl FnOnce(&[PathBuf]) -> Result<()>,
    ) -> Result<Network> {
        if n == 0 {
            bail!("a network needs at least one peer");
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = std::path::absolute(dir)?;
        if dir.join("peers.json").exists() || dir.join("peer-0").exists() {
            bail!(
                "{} already holds a network; run `kith-testnet down --dir {}` and remove it, or use another --dir",
                dir.display(),
                dir.display()
            );
        }
        let data_dirs: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("peer-{i}"))).collect();
        init_all(kith, &data_dirs)?;
        prepare(&data_dirs)?;

        let seed = match topology {
            Topology::Random => Some(seed.unwrap_or_else(clock_seed)),
            _ => seed,
        };
        let mut rng = SplitMix64::new(seed.unwrap_or(0));
        let mut network = Network {
            dir: dir.clone(),
            seed,
            kith: kith.to_owned(),
            peers: Vec::with_capacity(n),
            children: Vec::with_capacity(n),
            bootstraps: Vec::with_capacity(n),
        };
        for (index, data_dir) in data_dirs.iter().enumerate() {
            let via = topology.bootstrap_of(index, &mut rng);
            network.bootstraps.push(via);
            network.children.push(None);
            let info = network.start_peer(index, data_dir, client).await?;
            network.peers.push(info);
        }
        network.write_peers_json()?;
        Ok(network)
    }

    /// Spawns the daemon of peer `index` and waits for its API; fills in its identity.
    async fn start_peer(
        &mut self,
        index: usize,
        data_dir: &Path,
        client: &reqwest::Client,
    ) -> Result<PeerInfo> {
        let mut command = kith_command(&self.kith, data_dir);
        command.arg("daemon");
        for &earlier in &self.bootstraps[index] {
            for addr in &self.peers[earlier].listen_addrs {
                command.arg("--bootstrap").arg(addr);
            }
        }
        let log_path = data_dir.join("daemon.log");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let api_file = data_dir.join("api");
        // A daemon killed earlier leaves its `api` file behind.
        let _ = std::fs::remove_file(&api_file);
        // Its own process group: a Ctrl-C in the terminal reaches kith-testnet, which stops
        // the daemons in order, and the daemons of `up` outlive the terminal's job.
        let child = command
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot run {}", self.kith.display()))?;
        let pid = child.id();
        self.children[index] = Some(child);

        let start = Instant::now();
        let (api, ready_ms) = loop {
            if let Some(status) = self.children[index]
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.children[index] = None;
                bail!(
                    "peer {index}: the daemon exited with {status} before its API was up; its log ({}):\n{}",
                    log_path.display(),
                    tail(&log_path, 20)
                );
            }
            if let Ok(url) = std::fs::read_to_string(&api_file) {
                let url = url.trim().to_owned();
                if !url.is_empty()
                    && client
                        .get(format!("{url}/health"))
                        .timeout(Duration::from_secs(2))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                {
                    break (url, start.elapsed().as_secs_f64() * 1000.0);
                }
            }
            if start.elapsed() > START_DEADLINE {
                bail!(
                    "peer {index}: the daemon's API did not answer within {START_DEADLINE:?}; its log ({}):\n{}",
                    log_path.display(),
                    tail(&log_path, 20)
                );
            }
            // Poll finely at first: a daemon is ready within milliseconds, and that is measured.
            let pause = if start.elapsed() < Duration::from_millis(500) {
                Duration::from_millis(1)
            } else {
                POLL
            };
            tokio::time::sleep(pause).await;
        };
        let token = std::fs::read_to_string(data_dir.join("api.token"))?
            .trim()
            .to_owned();
        let identity: Value = get_json(client, &api, &token, "/api/v1/identity").await?;
        let text = |key: &str| -> Result<String> {
            identity[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("peer {index}: identity without `{key}`: {identity}"))
        };
        let listen_addrs: Vec<String> = identity["listen_addrs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if listen_addrs.is_empty() {
            bail!("peer {index}: the daemon has no listen address: {identity}");
        }
        Ok(PeerInfo {
            index,
            data_dir: data_dir.to_owned(),
            api,
            peer_id: text("peer_id")?,
            author: text("author")?,
            pid,
            listen_addrs,
            ready_ms,
        })
    }

    /// Writes `DIR/peers.json`.
    pub(crate) fn write_peers_json(&self) -> Result<()> {
        let path = self.dir.join("peers.json");
        let temp = self.dir.join("peers.json.tmp");
        let mut file = File::create(&temp)?;
        serde_json::to_writer_pretty(&mut file, &self.peers)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        Ok(())
    }

    /// Whether peer `index` is running (a child not yet exited).
    pub(crate) fn is_running(&mut self, index: usize) -> bool {
        match self.children[index].as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILLs peer `index` and reaps it.
    pub(crate) fn kill(&mut self, index: usize) -> Result<()> {
        if let Some(mut child) = self.children[index].take() {
            child.kill().ok();
            child.wait()?;
        }
        Ok(())
    }

    /// Starts peer `index` again (after [`kill`](Self::kill)); updates its entry and
    /// `peers.json`. It bootstraps through its original peers where they run, else through up
    /// to two of the peers in `running` (a daemon keeps no address book across restarts).
    pub(crate) async fn restart(
        &mut self,
        index: usize,
        running: &[usize],
        client: &reqwest::Client,
    ) -> Result<()> {
        if self.is_running(index) {
            return Ok(());
        }
        let original = self.bootstraps[index].clone();
        let mut via: Vec<usize> = original
            .iter()
            .copied()
            .filter(|p| running.contains(p))
            .collect();
        if via.is_empty() {
            via = running
                .iter()
                .copied()
                .filter(|&p| p != index)
                .take(2)
                .collect();
        }
        self.bootstraps[index] = via;
        let data_dir = self.peers[index].data_dir.clone();
        let started = self.start_peer(index, &data_dir, client).await;
        self.bootstraps[index] = original;
        self.peers[index] = started?;
        self.write_peers_json()
    }

    /// Stops every daemon: SIGTERM to all, up to [`STOP_DEADLINE`] for them to exit, then
    /// SIGKILL. Returns how each ended.
    pub(crate) fn stop(&mut self) -> Vec<StopOutcome> {
        for child in self.children.iter().flatten() {
            signal(child.id(), "TERM");
        }
        let start = Instant::now();
        let mut outcomes: Vec<Option<StopOutcome>> = vec![None; self.children.len()];
        loop {
            let mut waiting = false;
            for (index, slot) in self.children.iter_mut().enumerate() {
                let Some(child) = slot.as_mut() else {
                    if outcomes[index].is_none() {
                        outcomes[index] = Some(StopOutcome {
                            index,
                            pid: self.peers.get(index).map_or(0, |p| p.pid),
                            how: "not running".into(),
                        });
                    }
                    continue;
                };
                match child.try_wait() {
                    Ok(Some(status)) => {
                        outcomes[index] = Some(StopOutcome {
                            index,
                            pid: child.id(),
                            how: describe(status),
                        });
                        *slot = None;
                    }
                    _ => waiting = true,
                }
            }
            if !waiting || start.elapsed() > STOP_DEADLINE {
                break;
            }
            std::thread::sleep(POLL);
        }
        for (index, slot) in self.children.iter_mut().enumerate() {
            if let Some(mut child) = slot.take() {
                child.kill().ok();
                child.wait().ok();
                outcomes[index] = Some(StopOutcome {
                    index,
                    pid: child.id(),
                    how: "killed".into(),
                });
            }
        }
        outcomes.into_iter().flatten().collect()
    }

    /// Lets the daemons run on after this value is dropped (for `up`).
    pub(crate) fn detach(mut self) {
        self.children.iter_mut().for_each(|c| drop(c.take()));
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if self.children.iter().any(Option::is_some) {
            self.stop();
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited {code}"),
        (None, Some(9)) => "killed".into(),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "ended".into(),
    }
}

/// Inits every data directory with `--profile test`, in parallel.
fn init_all(kith: &Path, data_dirs: &[PathBuf]) -> Result<()> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = data_dirs
            .iter()
            .map(|data_dir| {
                scope.spawn(move || -> Result<()> {
                    let output = kith_command(kith, data_dir)
                        .args(["init", "--profile", "test"])
                        .output()
                        .with_context(|| format!("cannot run {}", kith.display()))?;
                    if !output.status.success() {
                        bail!(
                            "`kith --data-dir {} init --profile test` failed: {}",
                            data_dir.display(),
                            String::from_utf8_lossy(&output.stderr).trim()
                        );
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow!("init thread panicked"))?)
    })
}

/// The last `lines` lines of a file.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Sends `kill -SIGNAL PID`; true if it was delivered.
pub(crate) fn signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `pid` is a live (not zombie) process; with `data_dir`, also that its command
/// line names that directory (so a reused pid is not mistaken for the daemon).
pub(crate) fn alive(pid: u32, data_dir: Option<&Path>) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if Path::new("/proc/self/stat").exists() {
        let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) else {
            return false;
        };
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if matches!(state, Some("Z" | "X") | None) {
            return false;
        }
        if let Some(data_dir) = data_dir {
            let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            return cmdline.contains(&*data_dir.to_string_lossy());
        }
        return true;
    }
    signal(pid, "0")
}

/// One reading of a process's memory and CPU time from `/proc`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcSample {
    pub(crate) rss_kb: u64,
    pub(crate) hwm_kb: u64,
    /// utime + stime, in clock ticks.
    pub(crate) cpu_ticks: u64,
    pub(crate) at: Instant,
}

/// Reads `/proc/PID/status` and `/proc/PID/stat`; `None` if the process is gone or this is
/// not Linux.
pub(crate) fn proc_sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields after the command name start at field 3 (state); utime is 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ProcSample {
        rss_kb: kb("VmRSS:").unwrap_or(0),
        hwm_kb: kb("VmHWM:").unwrap_or(0),
        cpu_ticks: utime + stime,
        at: Instant::now(),
    })
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if that fails).
pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// `GET API PATH` with the token; the JSON body of a success.
pub(crate) async fn get_json(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    path: &str,
) -> Result<Value> {
    send_json(client.get(format!("{api}{path}")), "GET", api, token, path).await
}

/// `POST API PATH` with a JSON body and the token; the JSON body of a success.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    path: &str,
    body: &Value,
) -> Result<Value> {
    let request = client.post(format!("{api}{path}")).json(body);
    send_json(request, "POST", api, token, path).await
}

/// `DELETE API PATH` with the token; the JSON body of a success.
pub(crate) async fn delete_json(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    path: &str,
) -> Result<Value> {
    send_json(
        client.delete(format!("{api}{path}")),
        "DELETE",
        api,
        token,
        path,
    )
    .await
}

/// Sends `request` with the token and [`REQUEST_TIMEOUT`]; the JSON body of a success, else
/// an error naming the request, the status and the API's answer.
async fn send_json(
    request: reqwest::RequestBuilder,
    method: &str,
    api: &str,
    token: &str,
    path: &str,
) -> Result<Value> {
    let response = request
        .bearer_auth(token)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .with_context(|| format!("{method} {api}{path}"))?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .with_context(|| format!("{method} {api}{path}: not JSON"))?;
    if !status.is_success() {
        bail!("{method} {api}{path}: {status}: {answer}");
    }
    Ok(answer)
}

/// Reads `DIR/peers.json`.
pub(crate) fn read_peers_json(dir: &Path) -> Result<Vec<PeerInfo>> {
    let path = dir.join("peers.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}; is there a network (`kith-testnet up --dir {}`)?",
            path.display(),
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// One row of `status`.
#[derive(Debug, Serialize)]
pub(crate) struct PeerStatus {
    pub(crate) index: usize,
    pub(crate) pid: u32,
    pub(crate) alive: bool,
    pub(crate) api: String,
    pub(crate) author: String,
    /// From `GET /api/v1/status`; `None` when the API does not answer.
    pub(crate) peers: Option<u64>,
    pub(crate) entries: Option<u64>,
    pub(crate) following: Option<u64>,
    pub(crate) error: Option<String>,
}

/// The state of every peer of the network in `dir`.
pub(crate) async fn status(dir: &Path, client: &reqwest::Client) -> Result<Vec<PeerStatus>> {
    let peers = read_peers_json(dir)?;
    let rows = futures::future::join_all(peers.iter().map(|peer| async move {
        let alive = alive(peer.pid, Some(&peer.data_dir));
        let mut row = PeerStatus {
            index: peer.index,
            pid: peer.pid,
            alive,
            api: peer.api.clone(),
            author: peer.author.clone(),
            peers: None,
            entries: None,
            following: None,
            error: None,
        };
        if !alive {
            return row;
        }
        let answer = match peer.token() {
            Ok(token) => get_json(client, &peer.api, &token, "/api/v1/status").await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(value) => {
                row.peers = value["peers"].as_u64();
                row.entries = value["entries"].as_u64();
                row.following = value["following"].as_u64();
            }
            Err(e) => row.error = Some(format!("{e:#}")),
        }
        row
    }))
    .await;
    Ok(rows)
}

/// Stops the daemons listed in `DIR/peers.json` that still run: SIGTERM, up to
/// [`STOP_DEADLINE`], then SIGKILL. Removes nothing.
pub(crate) fn down(dir: &Path) -> Result<Vec<StopOutcome>> {
    let peers = read_peers_json(dir)?;
    let mut outcomes: Vec<StopOutcome> = Vec::new();
    let mut running = Vec::new();
    for peer in &peers {
        if alive(peer.pid, Some(&peer.data_dir)) {
            signal(peer.pid, "TERM");
            running.push(peer);
        } else {
            outcomes.push(StopOutcome {
                index: peer.index,
                pid: peer.pid,
                how: "not running".into(),
            });
        }
    }
    let start = Instant::now();
    while start.elapsed() < STOP_DEADLINE && running.iter().any(|p| alive(p.pid, Some(&p.data_dir)))
    {
        std::thread::sleep(POLL);
    }
    for peer in running {
        let how = if alive(peer.pid, Some(&peer.data_dir)) {
            signal(peer.pid, "KILL");
            let killed_at = Instant::now();
            while alive(peer.pid, Some(&peer.data_dir)) && killed_at.elapsed() < STOP_DEADLINE {
                std::thread::sleep(POLL);
            }
            "killed (SIGKILL after 10 s)"
        } else {
            "stopped (SIGTERM)"
        };
        outcomes.push(StopOutcome {
            index: peer.index,
            pid: peer.pid,
            how: how.into(),
        });
    }
    outcomes.sort_by_key(|o| o.index);
    Ok(outcomes)
}
