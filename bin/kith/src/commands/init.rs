//! `kith init`: create a data directory.

use anyhow::Result;

use super::Context;
use crate::config::Profile;
use crate::model::InitReport;
use crate::output::Output;
use crate::peer_id;

/// Creates the peer and prints its identity.
pub(super) fn run(context: &Context, profile: Profile) -> Result<()> {
    let keypair = context.repo.init(profile)?;
    let report = InitReport {
        did: keypair.author().to_did(),
        data_dir: context.repo.dir().display().to_string(),
        profile: profile.as_str().to_owned(),
        peer_id: peer_id::of_node_key(&context.repo.load_node_key()?),
    };
    match context.output {
        Output::Json => Output::json(&report),
        Output::Quiet => Ok(()),
        Output::Human => Output::text(&format!(
            "initialised a kith peer at {} (profile {})\nidentity: {}\npeer id: {}\nthe secret \
             key is in {} (mode 0600): back it up, and never share it\nstart the peer with \
             `kith daemon`\n",
            report.data_dir,
            report.profile,
            report.did,
            report.peer_id,
            context.repo.key_path().display()
        )),
    }
}
