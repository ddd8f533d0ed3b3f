//! `kith daemon`: run the peer.
//!
//! 1. Create the data directory if it is missing (profile `home` unless `--profile`).
//! 2. Take `repo.lock`, so two daemons never share a directory.
//! 3. Create `node.key` and `api.token` if an older directory lacks them; read the keys,
//!    the token and `config.toml` (flags win over the file, the file over the profile).
//! 4. Open the store, start the node, bind the API listener (and the public gateway's, with
//!    `--gateway` or `[gateway] listen`).
//! 5. Only then write `api` (atomically), start the gateway, and log who and where we are.
//! 6. On SIGINT or SIGTERM: stop the API and the gateway (event streams end, requests in
//!    progress finish), shut the node down (the store is flushed and closed), remove `api`,
//!    release the lock, exit 0. If that takes longer than [`SHUTDOWN_DEADLINE`], or a
//!    second signal comes, exit 1 at once (the store is crash-safe; `api` is still removed).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use kith_node::{Node, NodeConfig};
use tokio::net::TcpListener;

/// A boxed future that can move between threads.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
use tracing::{error, info, warn};

use super::Context;
use crate::cli::{DaemonArgs, LogFormat};
use crate::repo::{self, Repo};

/// Longest time a clean shutdown may take before the daemon exits anyway.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(8);

/// Worker threads of the daemon's runtime (the store has its own writer thread).
const WORKER_THREADS: usize = 2;

/// Runs the daemon until a signal stops it.
pub(super) fn run(context: &Context, args: &DaemonArgs) -> Result<()> {
    init_logging(args.log_format)?;
    let repo = &context.repo;
    if !repo.is_initialised() {
        let profile = args.profile.unwrap_or_default();
        match repo.init(profile) {
            Ok(keypair) => info!(
                data_dir = %repo.dir().display(),
                author = %keypair.author(),
                profile = profile.as_str(),
                "created a new kith peer"
            ),
            // Another `kith init` or daemon made it meanwhile: use theirs.
            Err(_) if repo.is_initialised() => {}
            Err(error) => return Err(error),
        }
    }
    let lock = repo.lock()?;
    repo.ensure_secrets()?;
    let settings = Settings::load(repo, args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("kith-daemon")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(repo, settings));
    // Tasks that ignored the shutdown (none should) are not waited for long.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Err(error) = repo.remove_api_file() {
        warn!("{error:#}");
    }
    drop(lock);
    // A failure is printed by `main` (to stderr, like the log); success is logged here.
    if result.is_ok() {
        info!("stopped");
    }
    result
}

/// Everything the daemon needs, read before the runtime starts.
struct Settings {
    keypair: kith_proto::Keypair,
    node_key: [u8; 32],
    token: String,
    config: crate::config::Config,
    node: NodeConfig,
    api: SocketAddr,
    /// Where the public gateway listens, if it runs.
    gateway: Option<SocketAddr>,
    /// Where `GET /metrics` is served apart from the API, if it is.
    metrics: Option<SocketAddr>,
}

impl Settings {
    fn load(repo: &Repo, args: &DaemonArgs) -> Result<Self> {
        let keypair = repo.load_keypair()?;
        let node_key = repo.load_node_key()?;
        let token = repo.load_token()?;
        let config = repo.load_config()?;
        let listen = if args.listen.is_empty() {
            config.network_listen()
        } else {
            args.listen.clone()
        };
        let bootstrap = if !args.bootstrap.is_empty() {
            args.bootstrap.clone()
        } else if !config.network.bootstrap.is_empty() {
            config.network.bootstrap.clone()
        } else {
            crate::config::DEFAULT_BOOTSTRAP
                .iter()
                .map(|a| (*a).to_owned())
                .collect()
        };
        let node = NodeConfig {
            listen,
            bootstrap,
            profile: config.profile().node_profile(),
            bridge_dir: Some(repo.bridge_dir()),
            routing: config.routing_config(),
            external: config.network.external.clone(),
            relay_server: config.network.relay,
            ..NodeConfig::default()
        };
        let api = args.api.unwrap_or_else(|| config.api_listen());
        let gateway = args.gateway.or(config.gateway.listen);
        let metrics = args.metrics.or(config.metrics.listen);
        Ok(Self {
            keypair,
            node_key,
            token,
            config,
            node,
            api,
            gateway,
            metrics,
        })
    }
}

/// A listener besides the API's (the gateway, the metrics): its task and how to stop it.
struct Extra {
    what: &'static str,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Extra {
    /// Serves `serve(listener, stopped)` in a task; `stopped` completes when it is to stop.
    fn spawn<F>(
        what: &'static str,
        listener: TcpListener,
        serve: impl FnOnce(TcpListener, BoxFuture<'static, ()>) -> F,
    ) -> Self
    where
        F: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = Box::pin(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(serve(listener, stopped));
        Self { what, stop, task }
    }

    /// Asks it to stop (requests in progress finish).
    fn stop(self) -> (&'static str, tokio::task::JoinHandle<std::io::Result<()>>) {
        let _ = self.stop.send(());
        (self.what, self.task)
    }
}

/// Binds the listener of `what` at `address`, if set; on failure the message names the flag
/// and the config key that choose another address.
async fn bind_extra(
    address: Option<SocketAddr>,
    what: &str,
    flag: &str,
    key: &str,
) -> Result<Option<TcpListener>> {
    let Some(address) = address else {
        return Ok(None);
    };
    TcpListener::bind(address).await.map(Some).with_context(|| {
        format!(
            "cannot listen for {what} on {address}; is another program using the port? \
             Choose another with {flag} IP:PORT or {key} in config.toml"
        )
    })
}

/// Starts the node and the API, waits for a signal, and stops both.
async fn serve(repo: &Repo, settings: Settings) -> Result<()> {
    let Settings {
        keypair,
        node_key,
        token,
        config,
        node: node_config,
        api,
        gateway,
        metrics,
    } = settings;
    // Handle signals from the start: a SIGTERM during startup then stops the daemon cleanly
    // once it is up, instead of killing it between writing `api` and removing it.
    let mut signals = Signals::new()?;
    check_ports_free(&node_config.listen)?;
    let no_bootstrap = node_config.bootstrap.is_empty();
    let store = repo::open_store(&repo.store_path(), &config)?;
    // The node registers the identity as hosted here if an interrupted `kith init` did not.
    let node = Node::start(node_config, store, keypair, node_key)
        .await
        .context("cannot start the node")?;
    let listener = match TcpListener::bind(api).await {
        Ok(listener) => listener,
        Err(error) => {
            stop_node(node).await;
            return Err(error).with_context(|| {
                format!(
                    "cannot listen for the API on {api}; is another program using the port? \
                     Choose another with --api IP:PORT (port 0: any free port) or [api] listen \
                     in config.toml"
                )
            });
        }
    };
    let url = match listener.local_addr() {
        Ok(address) => format!("http://{address}"),
        Err(error) => {
            stop_node(node).await;
            return Err(error).context("cannot read the API's bound address");
        }
    };
    let gateway_listener =
        match bind_extra(gateway, "the gateway", "--gateway", "[gateway] listen").await {
            Ok(listener) => listener,
            Err(error) => {
                stop_node(node).await;
                return Err(error);
            }
        };
    let metrics_listener =
        match bind_extra(metrics, "the metrics", "--metrics", "[metrics] listen").await {
            Ok(listener) => listener,
            Err(error) => {
                stop_node(node).await;
                return Err(error);
            }
        };
    let metrics_token = token.clone();
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(kith_api::serve(listener, node.clone(), token, async move {
        let _ = api_stopped.await;
    }));
    if let Err(error) = repo.write_api_file(&url) {
        let _ = stop_api.send(());
        let _ = server.await;
        stop_node(node).await;
        return Err(error);
    }
    let listen_addrs = node.listen_addrs().await.unwrap_or_default();
    info!(
        author = %node.author(),
        peer_id = %node.peer_id(),
        listen_addrs = ?listen_addrs,
        api = %url,
        data_dir = %repo.dir().display(),
        "kith daemon running"
    );
    info!("web UI at {url}/ : run `kith ui` for a one-time sign-in link");
    if no_bootstrap {
        info!(
            "no bootstrap peers: this peer meets others only on the local network or when \
             they dial it; join a network with `kith bootstrap add /ip4/…/tcp/4001/p2p/…`"
        );
    }
    info!(
        "reachability is unknown until a peer dials this one back; `kith status` says \
         whether others reach it directly or through a relay"
    );
    // Under systemd (`Type=notify`): ready now that every listener is bound and `api` is
    // written.
    if let Err(error) = crate::notify::notify(&format!("READY=1\nSTATUS=serving the API at {url}"))
    {
        warn!("cannot tell systemd the daemon is ready: {error}");
    }
    // The public gateway: read-only pages, stopped with the API.
    let mut extras = Vec::new();
    if let Some(listener) = gateway_listener {
        match listener.local_addr() {
            Ok(address) => info!("gateway at http://{address}/ : public and read-only"),
            Err(error) => warn!("the gateway's bound address is unknown: {error}"),
        }
        let node = node.clone();
        extras.push(Extra::spawn(
            "gateway",
            listener,
            move |listener, stopped| kith_api::serve_gateway(listener, node, stopped),
        ));
    }
    if let Some(listener) = metrics_listener {
        match listener.local_addr() {
            Ok(address) => info!("metrics at http://{address}/metrics : with the API token"),
            Err(error) => warn!("the metrics' bound address is unknown: {error}"),
        }
        let node = node.clone();
        extras.push(Extra::spawn(
            "metrics",
            listener,
            move |listener, stopped| {
                kith_api::serve_metrics(listener, node, metrics_token, stopped)
            },
        ));
    }

    let served_early = tokio::select! {
        name = signals.next() => {
            info!(signal = name, "stopping (a second signal exits at once)");
            None
        }
        served = &mut server => Some(served),
    };
    // A second signal, or the deadline, ends the process without waiting further.
    let api_path = repo.api_path();
    tokio::spawn(async move {
        let name = tokio::select! {
            name = signals.next() => name,
            () = tokio::time::sleep(SHUTDOWN_DEADLINE) => "the shutdown deadline",
        };
        error!("{name}: exiting without a clean shutdown");
        let _ = std::fs::remove_file(&api_path);
        std::process::exit(1);
    });

    let _ = crate::notify::notify("STOPPING=1\nSTATUS=stopping");
    let _ = stop_api.send(());
    let extras: Vec<_> = extras.into_iter().map(Extra::stop).collect();
    let served = match served_early {
        Some(served) => served,
        None => server.await,
    };
    for (what, task) in extras {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => error!("the {what} server failed: {error}"),
            Err(error) => error!("the {what} task failed: {error}"),
        }
    }
    stop_node(node).await;
    match served {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(anyhow!(error).context("the API server failed")),
        Err(error) => Err(anyhow!(error).context("the API server task failed")),
    }
}

/// Shuts the node down, then closes the store (waiting for its writer), logging (not
/// returning) a failure: the process is ending anyway, and the store is crash-safe.
async fn stop_node(node: Node) {
    let store = node.store().clone();
    if let Err(error) = node.shutdown().await {
        error!("the node did not shut down cleanly: {error}");
    }
    match tokio::task::spawn_blocking(move || store.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => error!("the store did not close cleanly: {error}"),
        Err(error) => error!("closing the store failed: {error}"),
    }
}

/// SIGINT and SIGTERM.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for the next signal; returns its name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// The log filter when `KITH_LOG` is not set.
const DEFAULT_LOG_FILTER: &str = "info,libp2p_kad=error,libp2p_swarm=warn";

/// Logs to stderr, filtered by `KITH_LOG` (default [`DEFAULT_LOG_FILTER`]).
fn init_logging(format: LogFormat) -> Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("KITH_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|error| anyhow!("KITH_LOG=`{directives}` is not a log filter: {error}"))?,
        // libp2p's own info lines and its "no known peers" bootstrap warning (normal for a
        // first peer) are noise for a person running a daemon; kith's own lines are not.
        _ => EnvFilter::new(DEFAULT_LOG_FILTER),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|error| anyhow!("cannot set up logging: {error}"))
}

/// libp2p listens with `SO_REUSEPORT`, so a second daemon on the same fixed port would bind
/// it too and the kernel would share incoming connections between the two. Refuse instead:
/// probe every fixed `/ip4|ip6/…/tcp/PORT` with a plain bind first.
fn check_ports_free(listen: &[String]) -> Result<()> {
    for addr in listen {
        let parts: Vec<&str> = addr.split('/').collect();
        let (ip, port) = match parts.as_slice() {
            ["", "ip4" | "ip6", ip, "tcp", port, ..] => (*ip, *port),
            _ => continue,
        };
        let (Ok(ip), Ok(port)) = (ip.parse::<std::net::IpAddr>(), port.parse::<u16>()) else {
            continue;
        };
        if port == 0 {
            continue;
        }
        if let Err(error) = std::net::TcpListener::bind((ip, port)) {
            anyhow::bail!(
                "cannot listen for peers on {addr}: {error}; is another kith daemon using port \
                 {port}? Stop it, or choose another port with --listen /ip4/0.0.0.0/tcp/PORT \
                 (or [network] listen in config.toml)"
            );
        }
    }
    Ok(())
}
