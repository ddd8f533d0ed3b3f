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

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// `[api]`: the daemon's local HTTP API.
    pub(crate) api: ApiConfig,
    /// `[network]`: the peer-to-peer side of the daemon.
    pub(crate) network: NetworkConfig,
    /// `[store]`: the redb store.
    pub(crate) store: StoreSection,
}

/// `[api]`. Read by the future `kith daemon`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ApiConfig {
    /// Address the HTTP API listens on; port 0 picks a free port.
    pub(crate) listen: SocketAddr,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)),
        }
    }
}

/// `[network]`. Read by the future `kith daemon`; multiaddrs are checked there.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NetworkConfig {
    /// Multiaddrs to listen on.
    pub(crate) listen: Vec<String>,
    /// Peers to contact first.
    pub(crate) bootstrap: Vec<String>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                "/ip4/0.0.0.0/tcp/0".to_owned(),
                "/ip4/0.0.0.0/udp/0/quic-v1".to_owned(),
            ],
            bootstrap: Vec::new(),
        }
    }
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
        let defaults = Config::default();
        assert_eq!(parsed.api.listen, defaults.api.listen);
        assert_eq!(parsed.network.listen, defaults.network.listen);
        assert_eq!(parsed.network.bootstrap, defaults.network.bootstrap);
        assert_eq!(parsed.store.batch_window_ms, 2);
        assert_eq!(parsed.store.batch_max, kith_store::DEFAULT_BATCH_MAX);
        assert_eq!(parsed.store.cache_mb, 64);
    }

    #[test]
    fn uncommenting_every_default_line_gives_the_same_config() {
        // Each commented `key = value` line in the default file must be a valid setting
        // whose value is the built-in default.
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
        assert_eq!(parsed.api.listen, defaults.api.listen);
        assert_eq!(parsed.network.listen, defaults.network.listen);
        assert_eq!(parsed.store.batch_window_ms, defaults.store.batch_window_ms);
        assert_eq!(parsed.store.batch_max, defaults.store.batch_max);
        assert_eq!(parsed.store.cache_mb, defaults.store.cache_mb);
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
    fn store_section_maps_onto_the_store_config() {
        let config = Config::parse("[store]\nbatch_window_ms = 7\ncache_mb = 3\n").unwrap();
        let store = config.store_config();
        assert_eq!(store.batch_window, Duration::from_millis(7));
        assert_eq!(store.cache_bytes, 3 * 1024 * 1024);
    }
}
