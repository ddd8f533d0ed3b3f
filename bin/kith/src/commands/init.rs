//! `kith init`: create a data directory.

use anyhow::Result;

use super::Context;
use crate::model::InitReport;
use crate::output::Output;

/// Creates the peer and prints its identity.
pub(super) fn run(context: &Context) -> Result<()> {
    let keypair = context.repo.init()?;
    let report = InitReport {
        did: keypair.author().to_did(),
        data_dir: context.repo.dir().display().to_string(),
    };
    match context.output {
        Output::Json => Output::json(&report),
        Output::Quiet => Ok(()),
        Output::Human => Output::text(&format!(
            "initialised a kith peer at {}\nidentity: {}\nthe secret key is in {} (mode 0600): \
             back it up, and never share it\n",
            report.data_dir,
            report.did,
            context.repo.key_path().display()
        )),
    }
}
