//! `kith bootstrap list|add|rm`: the peers a daemon joins the network through, kept in
//! `config.toml` (`[network] bootstrap`), edited in place so its comments stay. The daemon
//! reads the list when it starts; `kith daemon --bootstrap` overrides it for one run.

use std::io::Write as _;

use anyhow::{Context as _, Result, bail};

use super::Context;
use crate::cli::BootstrapCommand;
use crate::config::DEFAULT_BOOTSTRAP;
use crate::output::Output;

/// Checks a bootstrap address: a multiaddr ending in `/p2p/<peer id>`.
fn check_address(address: &str) -> Result<()> {
    let Some((_, peer)) = address.rsplit_once("/p2p/") else {
        bail!(
            "`{address}` does not end in /p2p/<peer id>; a bootstrap address names the peer, \
             e.g. /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW… (`kith id` on that peer prints it)"
        );
    };
    crate::peer_id::check(peer).with_context(|| format!("in the address `{address}`"))?;
    if !address.starts_with('/') {
        bail!("`{address}` is not a multiaddr (it starts with /ip4/, /ip6/ or /dns/)");
    }
    Ok(())
}

pub(super) fn run(context: &Context, command: BootstrapCommand) -> Result<()> {
    let path = context.repo.config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML; fix it first", path.display()))?;
    let current: Vec<String> = document
        .get("network")
        .and_then(|network| network.get("bootstrap"))
        .and_then(|list| list.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let (list, changed) = match &command {
        BootstrapCommand::List => (current, false),
        BootstrapCommand::Add { address } => {
            check_address(address)?;
            let mut list = current;
            let added = !list.contains(address);
            if added {
                list.push(address.clone());
            }
            (list, added)
        }
        BootstrapCommand::Rm { address } => {
            let mut list = current;
            let before = list.len();
            list.retain(|a| a != address);
            if list.len() == before {
                bail!(
                    "`{address}` is not in the bootstrap list of {}; `kith bootstrap list` shows it",
                    path.display()
                );
            }
            (list, true)
        }
    };
    if changed {
        let mut array = toml_edit::Array::new();
        for address in &list {
            array.push(address.as_str());
        }
        let network = document
            .entry("network")
            .or_insert(toml_edit::Item::Table(toml_edit::Table::new()));
        let Some(network) = network.as_table_like_mut() else {
            bail!("[network] in {} is not a table", path.display());
        };
        network.insert("bootstrap", toml_edit::value(array));
        write_config(&path, &document.to_string())?;
    }
    match context.output {
        Output::Json => Output::json(&serde_json::json!({
            "bootstrap": list,
            "built_in": DEFAULT_BOOTSTRAP,
        })),
        Output::Quiet => Output::text(&list.iter().fold(String::new(), |mut t, a| {
            t.push_str(a);
            t.push('\n');
            t
        })),
        Output::Human => {
            let mut text = if list.is_empty() {
                "no bootstrap peers in config.toml\n".to_owned()
            } else {
                list.iter().fold(String::new(), |mut t, a| {
                    t.push_str(a);
                    t.push('\n');
                    t
                })
            };
            if changed {
                text.push_str("the daemon uses the new list when it next starts\n");
            }
            Output::text(&text)
        }
    }
}

/// Replaces `config.toml` atomically (written beside it, then renamed).
fn write_config(path: &std::path::Path, text: &str) -> Result<()> {
    let temporary = path.with_extension("toml.tmp");
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
