//! `kith name claim NAME`, `kith name lookup NAME`, `kith name release NAME`: the network's
//! registry of unique usernames (quorum reads and writes at the name's replicas).

use anyhow::Result;
use kith_api::model::{NameObject, NameReleased, NewName};

use super::{Context, connect};
use crate::cli::ClientArgs;
use crate::output::Output;

/// What to do with a name.
pub(crate) enum NameAction {
    /// Claim it for the daemon's identity.
    Claim,
    /// Find its owner.
    Lookup,
    /// Give it up.
    Release,
}

/// Checks a name locally first (so a typo is explained before the daemon is asked).
fn normalized(name: &str) -> Result<String> {
    kith_proto::names::normalize_name(name).map_err(|e| anyhow::anyhow!("`{name}`: {e}"))
}

/// Runs `kith name …`.
pub(super) fn run(
    context: &Context,
    args: &ClientArgs,
    action: NameAction,
    name: &str,
) -> Result<()> {
    let name = normalized(name)?;
    let client = connect(context, args)?;
    match action {
        NameAction::Claim => {
            let claimed: NameObject = client.post("/api/v1/names", &NewName { name })?;
            print_name(context, &claimed, "claimed")
        }
        NameAction::Lookup => {
            let found: NameObject = client.get(&format!("/api/v1/names/{name}"), &[])?;
            print_name(context, &found, "")
        }
        NameAction::Release => {
            let released: NameReleased = client.delete(&format!("/api/v1/names/{name}"))?;
            match context.output {
                Output::Json => Output::json(&released),
                Output::Quiet => Output::text(&format!("{}\n", released.name)),
                Output::Human => Output::text(&format!(
                    "released {} ({} replicas removed it)\n",
                    released.name, released.released
                )),
            }
        }
    }
}

fn print_name(context: &Context, name: &NameObject, verb: &str) -> Result<()> {
    match context.output {
        Output::Json => Output::json(name),
        Output::Quiet => Output::text(&format!("{}\n", name.owner)),
        Output::Human => {
            let mut text = if verb.is_empty() {
                format!("{} is {}\n", name.name, name.owner)
            } else {
                format!("{verb} {} for {}\n", name.name, name.owner)
            };
            if let (Some(accepted), Some(replicas)) = (name.accepted, name.replicas) {
                text.push_str(&format!("accepted by {accepted} of {replicas} replicas\n"));
            }
            Output::text(&text)
        }
    }
}

/// The did a name stands for (asks the daemon, which asks the name's replicas).
pub(super) fn owner_of(context: &Context, args: &ClientArgs, name: &str) -> Result<String> {
    let name = normalized(name)?;
    let client = connect(context, args)?;
    let found: NameObject = client.get(&format!("/api/v1/names/{name}"), &[])?;
    Ok(found.owner)
}
