//! `kith-testnet`: a local network of real `kith daemon` processes on loopback. `up`,
//! `status` and `down` script a network by hand; `run` plays a scenario file and measures
//! delivery from each post's acknowledgement to each follower's SSE event. See
//! testnet/README.md.

/// `println!` that ignores a closed stdout (`kith-testnet status | head`) instead of
/// panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod catchup;
mod follow_many;
mod lookup;
mod names;
mod net;
mod scenario;
mod svg;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use net::{Network, Topology};

/// A local multi-peer kith network.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Init N data directories (DIR/peer-0, …) and start a daemon on each; writes DIR/peers.json.
    Up {
        /// How many peers.
        #[arg(long)]
        peers: usize,
        /// Where the data directories, logs and peers.json go.
        #[arg(long)]
        dir: PathBuf,
        /// Whom each peer bootstraps through.
        #[arg(long, value_enum, default_value = "chain")]
        topology: Topology,
        /// Seed of the random topology (default: from the clock; peers.json does not record it,
        /// the output does).
        #[arg(long)]
        seed: Option<u64>,
        /// The kith binary.
        #[arg(long, env = "KITH_BIN")]
        kith: Option<PathBuf>,
    },
    /// The state of each peer of the network in DIR (from GET /api/v1/status).
    Status {
        #[arg(long)]
        dir: PathBuf,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop every daemon of the network in DIR (SIGTERM, SIGKILL after 10 s); removes nothing.
    Down {
        #[arg(long)]
        dir: PathBuf,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario on a fresh network and report delivery.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Write the report as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit 1 when the scenario's [expect] is not met.
        #[arg(long)]
        check: bool,
        /// Also draw the latency CDF (delivery, or lookups) as an SVG here.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// The kith binary.
        #[arg(long, env = "KITH_BIN")]
        kith: Option<PathBuf>,
        /// Run in this directory (must not hold a network) and keep it, instead of a fresh
        /// temporary directory that is removed at the end.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // reqwest is built with rustls but no default crypto provider (kith-feeds needs TLS
    // without aws-lc's C build): every HTTP client in the process needs this, once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(interruptible(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command until it ends or SIGINT/SIGTERM arrives; either way the daemons of a
/// command that has not finished are stopped by `Network`'s drop.
async fn interruptible(command: Command) -> Result<ExitCode> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = execute(command) => result,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted; stopping the daemons");
            Ok(ExitCode::from(130))
        }
        _ = term.recv() => {
            eprintln!("terminated; stopping the daemons");
            Ok(ExitCode::from(143))
        }
    }
}

async fn execute(command: Command) -> Result<ExitCode> {
    let client = reqwest::Client::new();
    match command {
        Command::Up {
            peers,
            dir,
            topology,
            seed,
            kith,
        } => {
            let kith = net::find_kith(kith.as_deref())?;
            let network = Network::up(&kith, &dir, peers, topology, seed, &client).await?;
            out!(
                "{} peers up ({}{}) using {}",
                network.peers.len(),
                topology.name(),
                network
                    .seed
                    .filter(|_| topology == Topology::Random)
                    .map(|s| format!(", seed {s}"))
                    .unwrap_or_default(),
                kith.display()
            );
            for peer in &network.peers {
                out!(
                    "peer-{:<3} pid {:<7} {}  {}",
                    peer.index,
                    peer.pid,
                    peer.api,
                    peer.author
                );
            }
            out!(
                "wrote {}; stop with `kith-testnet down --dir {}`",
                network.dir.join("peers.json").display(),
                network.dir.display()
            );
            network.detach();
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { dir, json } => {
            let rows = net::status(&dir, &client).await?;
            if json {
                out!("{}", serde_json::to_string(&rows)?);
            } else {
                out!(
                    "{:>5} {:>8} {:>6} {:>6} {:>8} {:>10}  {:<24} author",
                    "peer",
                    "pid",
                    "alive",
                    "peers",
                    "entries",
                    "following",
                    "api"
                );
                let show = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
                for row in &rows {
                    out!(
                        "{:>5} {:>8} {:>6} {:>6} {:>8} {:>10}  {:<24} {}{}",
                        row.index,
                        row.pid,
                        if row.alive { "yes" } else { "no" },
                        show(row.peers),
                        show(row.entries),
                        show(row.following),
                        row.api,
                        row.author,
                        row.error
                            .as_ref()
                            .map(|e| format!("  ({e})"))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Down { dir, json } => {
            let outcomes = tokio::task::spawn_blocking(move || net::down(&dir)).await??;
            if json {
                out!("{}", serde_json::to_string(&outcomes)?);
            } else {
                for o in &outcomes {
                    out!("peer-{:<3} pid {:<7} {}", o.index, o.pid, o.how);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            scenario,
            out,
            check,
            svg,
            kith,
            dir,
        } => run(&scenario, out, svg, check, kith.as_deref(), dir).await,
    }
}

async fn run(
    path: &Path,
    out: Option<PathBuf>,
    svg: Option<PathBuf>,
    check: bool,
    kith: Option<&Path>,
    dir: Option<PathBuf>,
) -> Result<ExitCode> {
    let scenario = scenario::Scenario::load(path)?;
    let kith = net::find_kith(kith)?;
    let temp;
    let dir = match dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::Builder::new()
                .prefix("kith-testnet-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            temp.path().to_owned()
        }
    };
    let report = scenario::run(&scenario, &kith, &dir).await?;
    scenario::print(&report);
    if let Some(out) = &out {
        scenario::write(&report, out)?;
        out!("report written to {}", out.display());
    }
    if let Some(svg) = &svg {
        if report.samples_ms.is_empty() {
            out!("no latency samples in this scenario; no SVG written");
        } else {
            let what = if report.lookup_ms.is_some() {
                "head lookup latency"
            } else if report.names.is_some() {
                "name claim latency, request to answer"
            } else {
                "delivery latency, post ack to follower SSE event"
            };
            let title = format!("{}: {} peers", report.scenario, report.peers);
            svg::write_cdf(svg, &title, what, &report.samples_ms)?;
            out!("latency CDF written to {}", svg.display());
        }
    }
    Ok(if check && !report.passed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
