//! `config.toml`: the file format, its defaults and how it maps onto the libraries' settings.
//!
//! Every section and key has a built-in default, so an empty file (or no file at all) is a
//! valid configuration. Unknown keys are refused, so a typo is reported with its line
//! instead of being ignored.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The documented default `config.toml` that `kith init` writes. Every key in it is
/// commented out and shows its default.
pub(crate) const DEFAULT_CONFIG_TOML: &str = include_str!("default-config.toml");

/// The line of [`DEFAULT_CONFIG_TOML`] that `kith init --profile P` replaces.
const PROFILE_LINE: &str = "# profile = \"home\"";

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// `[node]`: which preset of defaults this peer uses.
    pub(crate) node: NodeSection,
    /// `[api]`: the daemon's local HTTP API.
    pub(crate) api: ApiConfig,
    /// `[network]`: the peer-to-peer side of the daemon.
    pub(crate) network: NetworkConfig,
    /// `[store]`: the redb store.
    pub(crate) store: StoreSection,
    /// `[routing]`: how fetch hosts are scored, and the status beacon.
    pub(crate) routing: RoutingSection,
    /// `[gateway]`: the public, read-only web gateway (off unless set).
    pub(crate) gateway: GatewaySection,
    /// `[metrics]`: a listener of its own for `GET /metrics` (off unless set).
    pub(crate) metrics: MetricsSection,
}

/// `[metrics]`. Read by `kith daemon`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct MetricsSection {
    /// Address `GET /metrics` is served on apart from the API; unset (the default): only the
    /// API serves it.
    pub(crate) listen: Option<SocketAddr>,
}

/// Bootstrap peers built into this version, used when `[network] bootstrap` is empty and no
/// `--bootstrap` is given. Empty until public kith nodes exist: add peers with
/// `kith bootstrap add` (docs/OPERATIONS.md, "Joining a network").
pub(crate) const DEFAULT_BOOTSTRAP: &[&str] = &[];

/// `[gateway]`. Read by `kith daemon`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct GatewaySection {
    /// Address the public gateway listens on; unset (the default): no gateway.
    pub(crate) listen: Option<SocketAddr>,
}

/// `[routing]`: [`kith_node::RoutingConfig`] in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RoutingSection {
    /// Weight of a host's replication lag, per second.
    pub(crate) i: f64,
    /// Weight of its mean response time, per millisecond.
    pub(crate) j: f64,
    /// Weight of its distance (round trip), per millisecond.
    pub(crate) k: f64,
    /// Weight of its error rate (0 to 1).
    pub(crate) l: f64,
    /// This peer's coarse location, published in its beacon.
    pub(crate) geohash: Option<String>,
    /// Seconds between two beacons. Default: the profile's.
    pub(crate) beacon_interval_s: Option<u64>,
}

impl Default for RoutingSection {
    fn default() -> Self {
        let w = kith_node::Weights::default();
        Self {
            i: w.i,
            j: w.j,
            k: w.k,
            l: w.l,
            geohash: None,
            beacon_interval_s: None,
        }
    }
}

/// A preset of defaults, chosen by `kith init --profile P` and recorded in `[node]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Profile {
    /// A person's machine: listens on all interfaces, fixed ports.
    #[default]
    Home,
    /// An always-on peer with a public address: like `home`, and answers DHT queries.
    Server,
    /// Local test networks: loopback only, any free ports, no discovery.
    Test,
}

impl Profile {
    /// The name written in `config.toml`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Profile::Home => "home",
            Profile::Server => "server",
            Profile::Test => "test",
        }
    }

    /// The node's preset of the same name.
    pub(crate) fn node_profile(self) -> kith_node::Profile {
        match self {
            Profile::Home => kith_node::Profile::Home,
            Profile::Server => kith_node::Profile::Server,
            Profile::Test => kith_node::Profile::Test,
        }
    }

    /// Where the API listens unless configured.
    pub(crate) fn default_api_listen(self) -> SocketAddr {
        let port = match self {
            Profile::Home | Profile::Server => DEFAULT_API_PORT,
            Profile::Test => 0,
        };
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
    }

    /// Where the node listens for peers unless configured.
    pub(crate) fn default_network_listen(self) -> Vec<String> {
        match self {
            Profile::Home | Profile::Server => {
                vec![format!("/ip4/0.0.0.0/tcp/{DEFAULT_NETWORK_PORT}")]
            }
            Profile::Test => vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
        }
    }
}

/// The API port of the `home` and `server` profiles.
pub(crate) const DEFAULT_API_PORT: u16 = 5050;
/// The peer-to-peer TCP port of the `home` and `server` profiles.
pub(crate) const DEFAULT_NETWORK_PORT: u16 = 4001;

/// `[node]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NodeSection {
    /// The preset of defaults.
    pub(crate) profile: Profile,
}

/// `[api]`. Read by `kith daemon`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ApiConfig {
    /// Address the HTTP API listens on; port 0 picks a free port. Default: the profile's.
    pub(crate) listen: Option<SocketAddr>,
}

/// `[network]`. Read by `kith daemon`; multiaddrs are checked by the node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NetworkConfig {
    /// Multiaddrs to listen on. Default: the profile's.
    pub(crate) listen: Option<Vec<String>>,
    /// Peers to contact first.
    pub(crate) bootstrap: Vec<String>,
    /// Addresses others reach this peer at that it cannot see itself (a forwarded port).
    pub(crate) external: Vec<String>,
    /// Relay for peers behind NATs. Default: the profile's (on for `server` only).
    pub(crate) relay: Option<bool>,
}

/// `[store]`: the subset of [`kith_store::StoreConfig`] a person may want to tune.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StoreSection {
    /// [`kith_store::StoreConfig::batch_window`], in milliseconds.
    pub(crate) batch_window_ms: u64,
    /// [`kith_store::StoreConfig::batch_max`].
    pub(crate) batch_max: usize,
    /// [`kith_store::StoreConfig::cache_bytes`], in MiB.
    pub(crate) cache_mb: usize,
}

impl Default for StoreSection {
    fn default() -> Self {
        let defaults = kith_store::StoreConfig::default();
        Self {
            batch_window_ms: u64::try_from(defaults.batch_window.as_millis()).unwrap_or(2),
            batch_max: defaults.batch_max,
            cache_mb: defaults.cache_bytes / (1024 * 1024),
        }
    }
}

impl Config {
    /// Parses the text of a configuration file and checks the values serde cannot.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let config: Config = toml::from_str(text)?;
        if config.store.batch_max == 0 {
            bail!("[store] batch_max must be at least 1");
        }
        if config.store.cache_mb == 0 {
            bail!("[store] cache_mb must be at least 1");
        }
        let routing = config.routing_config();
        if let Err(why) = routing.weights.check() {
            bail!("[routing] {why}");
        }
        if let Some(geohash) = &routing.geohash
            && let Err(why) = kith_proto::beacon::check_geohash(geohash)
        {
            bail!("[routing] geohash: {why}");
        }
        if config.routing.beacon_interval_s == Some(0) {
            bail!("[routing] beacon_interval_s must be at least 1");
        }
        Ok(config)
    }

    /// Reads `path`; a missing file means all defaults.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot read the config file {}", path.display()));
            }
        };
        Self::parse(&text).with_context(|| {
            format!(
                "invalid config file {}; fix the key named below (every key is documented in \
                 the file `kith init` writes, and in docs/CLI.md)",
                path.display()
            )
        })
    }

    /// The profile in force.
    pub(crate) fn profile(&self) -> Profile {
        self.node.profile
    }

    /// Where the API listens: this file's `[api] listen`, else the profile's default.
    pub(crate) fn api_listen(&self) -> SocketAddr {
        self.api
            .listen
            .unwrap_or_else(|| self.profile().default_api_listen())
    }

    /// Where the node listens: this file's `[network] listen`, else the profile's default.
    pub(crate) fn network_listen(&self) -> Vec<String> {
        self.network
            .listen
            .clone()
            .unwrap_or_else(|| self.profile().default_network_listen())
    }

    /// The default configuration file for `profile`: [`DEFAULT_CONFIG_TOML`] with the
    /// profile line set.
    pub(crate) fn default_file_for(profile: Profile) -> String {
        DEFAULT_CONFIG_TOML.replacen(
            PROFILE_LINE,
            &format!("profile = \"{}\"", profile.as_str()),
            1,
        )
    }

    /// The routing settings of `[routing]`.
    pub(crate) fn routing_config(&self) -> kith_node::RoutingConfig {
        let r = &self.routing;
        kith_node::RoutingConfig {
            weights: kith_node::Weights {
                i: r.i,
                j: r.j,
                k: r.k,
                l: r.l,
            },
            geohash: r.geohash.clone(),
            beacon_interval: r.beacon_interval_s.map(Duration::from_secs),
            ..kith_node::RoutingConfig::default()
        }
    }

    /// The store settings: the library defaults with this file's `[store]` applied.
    pub(crate) fn store_config(&self) -> kith_store::StoreConfig {
        kith_store::StoreConfig {
            batch_window: Duration::from_millis(self.store.batch_window_ms),
            batch_max: self.store.batch_max,
            cache_bytes: self.store.cache_mb.saturating_mul(1024 * 1024),
            ..kith_store::StoreConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_built_in_defaults() {
        let parsed = Config::parse(DEFAULT_CONFIG_TOML).unwrap();
        assert_eq!(parsed.profile(), Profile::Home);
        assert_eq!(parsed.api_listen(), "127.0.0.1:5050".parse().unwrap());
        assert_eq!(parsed.network_listen(), ["/ip4/0.0.0.0/tcp/4001"]);
        assert!(parsed.network.bootstrap.is_empty());
        assert_eq!(parsed.store.batch_window_ms, 2);
        assert_eq!(parsed.store.batch_max, kith_store::DEFAULT_BATCH_MAX);
        assert_eq!(parsed.store.cache_mb, 64);
    }

    #[test]
    fn uncommenting_every_default_line_gives_the_same_config() {
        // Each commented `key = value` line in the default file must be a valid setting
        // whose value is the built-in default (of the home profile).
        let uncommented: String = DEFAULT_CONFIG_TOML
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") => rest,
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed = Config::parse(&uncommented).unwrap();
        let defaults = Config::default();
        assert_eq!(parsed.profile(), defaults.profile());
        assert_eq!(parsed.api_listen(), defaults.api_listen());
        assert_eq!(parsed.network_listen(), defaults.network_listen());
        assert_eq!(parsed.network.bootstrap, defaults.network.bootstrap);
        assert_eq!(parsed.store.batch_window_ms, defaults.store.batch_window_ms);
        assert_eq!(parsed.store.batch_max, defaults.store.batch_max);
        assert_eq!(parsed.store.cache_mb, defaults.store.cache_mb);
        assert_eq!(
            parsed.routing_config().weights,
            defaults.routing_config().weights
        );
        // The home profile's beacon interval.
        assert_eq!(parsed.routing.beacon_interval_s, Some(60));
        assert_eq!(parsed.routing.geohash, None);
    }

    #[test]
    fn routing_settings_are_checked() {
        let set = Config::parse(
            "[routing]
j = 2.5
geohash = \"u09\"
",
        )
        .unwrap();
        let routing = set.routing_config();
        assert_eq!(routing.weights.j, 2.5);
        assert_eq!(routing.geohash.as_deref(), Some("u09"));
        for bad in [
            "[routing]
i = -1.0
",
            "[routing]
geohash = \"Paris\"
",
            "[routing]
beacon_interval_s = 0
",
        ] {
            let error = Config::parse(bad).unwrap_err();
            assert!(format!("{error:#}").contains("routing"), "{bad}: {error:#}");
        }
    }

    #[test]
    fn the_profile_is_recorded_and_sets_the_defaults() {
        for profile in [Profile::Home, Profile::Server, Profile::Test] {
            let text = Config::default_file_for(profile);
            assert!(
                text.contains(&format!("\nprofile = \"{}\"\n", profile.as_str())),
                "{text}"
            );
            assert_eq!(Config::parse(&text).unwrap().profile(), profile);
        }
        let test = Config::parse(&Config::default_file_for(Profile::Test)).unwrap();
        assert_eq!(test.api_listen(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(test.network_listen(), ["/ip4/127.0.0.1/tcp/0"]);
        // An explicit setting wins over the profile.
        let set =
            Config::parse("[node]\nprofile = \"test\"\n[api]\nlisten = \"127.0.0.1:7\"\n").unwrap();
        assert_eq!(set.api_listen(), "127.0.0.1:7".parse().unwrap());
        assert!(Config::parse("[node]\nprofile = \"cloud\"\n").is_err());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let error = Config::parse("[store]\nbatch_windw_ms = 5\n").unwrap_err();
        assert!(format!("{error:#}").contains("batch_windw_ms"), "{error:#}");
        let error = Config::parse("[api]\nlisten = \"localhost\"\n").unwrap_err();
        assert!(format!("{error:#}").contains("listen"), "{error:#}");
        let error = Config::parse("[store]\nbatch_max = 0\n").unwrap_err();
        assert!(error.to_string().contains("batch_max"), "{error}");
    }

    #[test]
    fn the_metrics_listener_is_off_unless_set() {
        assert_eq!(
            Config::parse(DEFAULT_CONFIG_TOML).unwrap().metrics.listen,
            None
        );
        let set = Config::parse("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap();
        assert_eq!(set.metrics.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert!(Config::parse("[metrics]\nlisten = \"anywhere\"\n").is_err());
    }

    #[test]
    fn the_gateway_is_off_unless_set() {
        assert_eq!(
            Config::parse(DEFAULT_CONFIG_TOML).unwrap().gateway.listen,
            None
        );
        let set = Config::parse("[gateway]\nlisten = \"127.0.0.1:8080\"\n").unwrap();
        assert_eq!(set.gateway.listen, Some("127.0.0.1:8080".parse().unwrap()));
        let error = Config::parse("[gateway]\nlisten = \"example.org\"\n").unwrap_err();
        assert!(format!("{error:#}").contains("listen"), "{error:#}");
    }

    #[test]
    fn store_section_maps_onto_the_store_config() {
        let config = Config::parse("[store]\nbatch_window_ms = 7\ncache_mb = 3\n").unwrap();
        let store = config.store_config();
        assert_eq!(store.batch_window, Duration::from_millis(7));
        assert_eq!(store.cache_bytes, 3 * 1024 * 1024);
    }
}
