//! The data directory: one directory is one peer.
//!
//! ```text
//! DIR/                 mode 0700
//!   identity.key       mode 0600, the author's secret key (kith_proto's key-file format)
//!   node.key           mode 0600, the node's libp2p secret key (64 hex digits)
//!   api.token          mode 0600, the secret of the daemon's HTTP API (64 hex digits)
//!   config.toml        the configuration (see config.rs and default-config.toml)
//!   kith.redb          the store
//!   repo.lock          held (flock) by the running daemon; holds its PID
//!   api                the base URL of the running daemon's API; removed when it stops
//!   bridges/           mode 0700, bridge feeds: per bridge a secret key (0600) and its
//!                      polling state (see kith_node's `bridge` module)
//! ```
//!
//! A directory is *initialised* when `identity.key` exists; `kith init` writes it last but
//! one (after the store is known to be usable, before registering the identity in it).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use kith_proto::Keypair;
use kith_store::{Store, StoreError};

use crate::config::{Config, Profile};

/// File name of the secret key.
pub(crate) const KEY_FILE: &str = "identity.key";
/// File name of the configuration.
pub(crate) const CONFIG_FILE: &str = "config.toml";
/// File name of the store.
pub(crate) const STORE_FILE: &str = "kith.redb";
/// File name of the node's network key.
pub(crate) const NODE_KEY_FILE: &str = "node.key";
/// File name of the API token.
pub(crate) const TOKEN_FILE: &str = "api.token";
/// File name of the daemon's lock.
pub(crate) const LOCK_FILE: &str = "repo.lock";
/// File name of the running daemon's API URL.
pub(crate) const API_FILE: &str = "api";
/// Directory of the bridge feeds' keys and state.
pub(crate) const BRIDGE_DIR: &str = "bridges";

/// Files `kith init` or `kith daemon` may have left in a directory before `identity.key`
/// was written (an interrupted init); `init` accepts a directory that holds only these.
const INIT_LEFTOVERS: [&str; 6] = [
    CONFIG_FILE,
    STORE_FILE,
    NODE_KEY_FILE,
    TOKEN_FILE,
    LOCK_FILE,
    API_FILE,
];

/// A data directory, initialised or not.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    dir: PathBuf,
}

impl Repo {
    /// The data directory at `dir` (made absolute, so messages and JSON name it fully).
    pub(crate) fn new(dir: &Path) -> Result<Self> {
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot resolve the data directory {}", dir.display()))?;
        Ok(Self { dir })
    }

    /// The platform's data directory for kith (`~/.local/share/kith` on Linux).
    pub(crate) fn default_dir() -> Result<PathBuf> {
        directories::ProjectDirs::from("", "", "kith")
            .map(|dirs| dirs.data_dir().to_owned())
            .ok_or_else(|| {
                anyhow!(
                    "cannot find a default data directory (no home directory is known); \
                     pass --data-dir DIR or set KITH_PATH"
                )
            })
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the secret-key file.
    pub(crate) fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    /// Path of the configuration file.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// Path of the store file.
    pub(crate) fn store_path(&self) -> PathBuf {
        self.dir.join(STORE_FILE)
    }

    /// Path of the node's network key.
    pub(crate) fn node_key_path(&self) -> PathBuf {
        self.dir.join(NODE_KEY_FILE)
    }

    /// Path of the API token.
    pub(crate) fn token_path(&self) -> PathBuf {
        self.dir.join(TOKEN_FILE)
    }

    /// Path of the daemon's lock file.
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Directory of the bridge feeds' keys and state (made by the node when first needed).
    pub(crate) fn bridge_dir(&self) -> PathBuf {
        self.dir.join(BRIDGE_DIR)
    }

    /// Path of the file holding the running daemon's API URL.
    pub(crate) fn api_path(&self) -> PathBuf {
        self.dir.join(API_FILE)
    }

    /// Whether the directory holds an identity.
    pub(crate) fn is_initialised(&self) -> bool {
        std::fs::symlink_metadata(self.key_path()).is_ok()
    }

    /// Fails, naming `kith init`, unless the directory holds an identity.
    pub(crate) fn require_initialised(&self) -> Result<()> {
        match std::fs::symlink_metadata(self.key_path()) {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => bail!(
                "no kith identity at {}; run `kith init` first (or pass --data-dir)",
                self.dir.display()
            ),
            Err(error) => Err(error).with_context(|| {
                format!(
                    "cannot read the identity file {}; check the permissions of the data \
                     directory",
                    self.key_path().display()
                )
            }),
        }
    }

    /// Creates a new peer here: the directory, the configuration (recording `profile`), the
    /// store, the node key, the API token, a fresh identity, and registers the identity as
    /// local in the store.
    pub(crate) fn init(&self, profile: Profile) -> Result<Keypair> {
        self.refuse_if_initialised()?;
        self.prepare_dir()?;
        let config = self.write_default_config(profile)?;
        // Open the store before writing the key, so a store in use by a running daemon
        // leaves no half-made identity behind.
        let store = open_store(&self.store_path(), &config)?;
        self.ensure_secrets()?;
        let keypair = Keypair::generate();
        self.write_key_file(&keypair)?;
        sync_dir(&self.dir)?;
        store
            .add_local_identity(keypair.author())
            .with_context(|| {
                format!(
                    "cannot register the new identity in the store {}",
                    self.store_path().display()
                )
            })?;
        close_store(store, &self.store_path())?;
        Ok(keypair)
    }

    fn refuse_if_initialised(&self) -> Result<()> {
        let path = self.key_path();
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(());
        }
        let identity = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| Keypair::from_key_file(&text).ok())
            .map(|keypair| format!(" (identity {})", keypair.author()))
            .unwrap_or_default();
        bail!(
            "already initialised at {}{identity}; use another --data-dir or remove it",
            self.dir.display()
        )
    }

    /// Creates the directory with mode 0700, or checks that an existing one is empty (but
    /// for files a previous, interrupted `kith init` may have left) and makes it 0700.
    fn prepare_dir(&self) -> Result<()> {
        let dir = &self.dir;
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry
                        .with_context(|| format!("cannot list the directory {}", dir.display()))?;
                    let name = entry.file_name();
                    if !INIT_LEFTOVERS.iter().any(|leftover| name == *leftover) {
                        bail!(
                            "{} exists and is not empty (it holds {}); `kith init` needs a new \
                             or empty directory: pass another --data-dir",
                            dir.display(),
                            Path::new(&name).display()
                        );
                    }
                }
                restrict_dir(dir)
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                if let Some(parent) = dir.parent() {
                    std::fs::create_dir_all(parent).with_context(|| {
                        format!("cannot create the directory {}", parent.display())
                    })?;
                }
                let mut builder = std::fs::DirBuilder::new();
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                match builder.create(dir) {
                    Ok(()) => Ok(()),
                    // Made by someone else meanwhile: check it like an existing one.
                    Err(error) if error.kind() == ErrorKind::AlreadyExists => self.prepare_dir(),
                    Err(error) => Err(error).with_context(|| {
                        format!("cannot create the data directory {}", dir.display())
                    }),
                }
            }
            Err(error) => Err(error).with_context(|| {
                format!(
                    "cannot use {} as the data directory; pass another --data-dir",
                    dir.display()
                )
            }),
        }
    }

    /// Writes the documented default configuration unless a configuration is already there
    /// (then it is checked instead); returns the configuration in force.
    fn write_default_config(&self, profile: Profile) -> Result<Config> {
        let path = self.config_path();
        let created = OpenOptions::new().write(true).create_new(true).open(&path);
        match created {
            Ok(mut file) => {
                let text = Config::default_file_for(profile);
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot write the config file {}", path.display()))?;
                Config::parse(&text).context("the built-in default config is invalid")
            }
            Err(error) if error.kind() == ErrorKind::AlreadyExists => Config::load(&path),
            Err(error) => Err(error)
                .with_context(|| format!("cannot create the config file {}", path.display())),
        }
    }

    /// Writes the key file: created with mode 0600 (never readable by others, not even
    /// briefly), refusing to replace an existing one, and flushed to disk.
    fn write_key_file(&self, keypair: &Keypair) -> Result<()> {
        let path = self.key_path();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                // Another `kith init` won the race.
                return self.refuse_if_initialised();
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("cannot create the identity file {}", path.display())
                });
            }
        };
        let text = keypair.to_key_file();
        if let Err(error) = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
        {
            drop(file);
            // Leave no truncated key behind; the next `kith init` starts afresh.
            let _ = std::fs::remove_file(&path);
            return Err(error)
                .with_context(|| format!("cannot write the identity file {}", path.display()));
        }
        Ok(())
    }

    /// Reads the identity, refusing a key file that other users can read.
    pub(crate) fn load_keypair(&self) -> Result<Keypair> {
        self.require_initialised()?;
        let path = self.key_path();
        check_private(&path, "identity file")?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the identity file {}", path.display()))?;
        Keypair::from_key_file(&text).with_context(|| {
            format!(
                "the identity file {} is damaged; restore it from a backup",
                path.display()
            )
        })
    }

    /// Reads the configuration (defaults when there is no file).
    pub(crate) fn load_config(&self) -> Result<Config> {
        Config::load(&self.config_path())
    }

    /// Creates `node.key` and `api.token` (32 random bytes each, hex, mode 0600) where they
    /// are missing; existing ones are kept. Directories made before these files existed get
    /// them on the daemon's first start.
    pub(crate) fn ensure_secrets(&self) -> Result<()> {
        write_secret_hex(&self.node_key_path(), "node key file")?;
        write_secret_hex(&self.token_path(), "API token file")?;
        Ok(())
    }

    /// Reads the node's libp2p secret key (an ed25519 seed).
    pub(crate) fn load_node_key(&self) -> Result<[u8; 32]> {
        read_secret_hex(&self.node_key_path(), "node key file")
    }

    /// Reads the API token, as sent in `Authorization: Bearer TOKEN`.
    pub(crate) fn load_token(&self) -> Result<String> {
        let bytes = read_secret_hex(&self.token_path(), "API token file")?;
        Ok(hex::encode(bytes))
    }

    /// Takes the daemon's lock, so two daemons never share this directory; the lock file
    /// then holds this process's id. Released when the returned guard is dropped (or the
    /// process ends, however it ends).
    pub(crate) fn lock(&self) -> Result<RepoLock> {
        let path = self.lock_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&path).unwrap_or_default();
                let pid = pid.trim();
                let who = if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (PID {pid})")
                };
                bail!(
                    "a kith daemon{who} is already running on {}; stop it first, or use \
                     another --data-dir",
                    self.dir.display()
                );
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(RepoLock { _file: file })
    }

    /// Writes the API's base URL to `api`, atomically: a reader sees the old file, no file,
    /// or the whole new one.
    pub(crate) fn write_api_file(&self, url: &str) -> Result<()> {
        let path = self.api_path();
        let temporary = self.dir.join(format!("{API_FILE}.tmp"));
        let written = File::create(&temporary)
            .and_then(|mut file| {
                file.write_all(format!("{url}\n").as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(error) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(error)
                .with_context(|| format!("cannot write the API address file {}", path.display()));
        }
        sync_dir(&self.dir)
    }

    /// Removes the `api` file (the daemon is stopping).
    pub(crate) fn remove_api_file(&self) -> Result<()> {
        let path = self.api_path();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error)
                .with_context(|| format!("cannot remove the API address file {}", path.display())),
        }
    }

    /// The running daemon's API URL from the `api` file, if there is one.
    pub(crate) fn read_api_file(&self) -> Result<Option<String>> {
        let path = self.api_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_owned()).filter(|url| !url.is_empty())),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error)
                .with_context(|| format!("cannot read the API address file {}", path.display())),
        }
    }
}

/// The daemon's hold on `repo.lock`; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct RepoLock {
    _file: File,
}

/// Creates `path` with 32 random bytes as hex, mode 0600 from the start, unless it exists.
fn write_secret_hex(path: &Path, what: &str) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot create the {what} {}", path.display()));
        }
    };
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(secret.as_mut())
        .map_err(|error| anyhow!("the operating system's random source failed: {error}"))?;
    let text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(secret.as_ref())));
    if let Err(error) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(error).with_context(|| format!("cannot write the {what} {}", path.display()));
    }
    Ok(())
}

/// Reads a file written by [`write_secret_hex`], refusing one that others can read.
fn read_secret_hex(path: &Path, what: &str) -> Result<[u8; 32]> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => bail!(
            "there is no {what} {}; start `kith daemon` once to create it",
            path.display()
        ),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot read the {what} {}", path.display()));
        }
    }
    check_private(path, what)?;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the {what} {}", path.display()))?,
    );
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| {
        anyhow!(
            "the {what} {} is damaged (it must hold 64 hex digits); remove it and start \
             `kith daemon` to make a new one",
            path.display()
        )
    })?;
    Ok(bytes)
}

/// Refuses a secret file (`what`: "identity file", …) whose mode lets the group or others
/// read or write it.
#[cfg(unix)]
fn check_private(path: &Path, what: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "the {what} {path} is accessible to other users (mode {mode:04o}); run \
             `chmod 600 {path}` (and if others may have read it, treat the secret in it as \
             compromised)",
            path = path.display(),
            mode = mode & 0o7777,
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _what: &str) -> Result<()> {
    Ok(())
}

/// Tightens an existing data directory to mode 0700.
#[cfg(unix)]
fn restrict_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot set the mode of {} to 0700", dir.display()))
}

#[cfg(not(unix))]
fn restrict_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// Flushes a directory's entries (new file names) to disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("cannot flush the directory {} to disk", dir.display()))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// Opens the store at `path`, turning "locked by another process" into advice.
pub(crate) fn open_store(path: &Path, config: &Config) -> Result<Store> {
    Store::open(path, config.store_config()).map_err(|error| {
        let in_use = matches!(&error, StoreError::Locked { .. });
        let dir = path.parent().unwrap_or(path).display().to_string();
        let message = if in_use {
            format!(
                "the store at {dir} is in use by another kith process (a running daemon?); \
                 stop it or use its API"
            )
        } else {
            format!("cannot open the store {}", path.display())
        };
        anyhow::Error::new(error).context(message)
    })
}

/// Closes the store, waiting for its writer to finish.
pub(crate) fn close_store(store: Store, path: &Path) -> Result<()> {
    store
        .close()
        .with_context(|| format!("cannot close the store {} cleanly", path.display()))
}
