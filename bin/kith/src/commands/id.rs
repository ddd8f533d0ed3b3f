//! `kith id`: print the identity.

use anyhow::Result;

use super::Context;
use crate::model::IdentityReport;
use crate::output::Output;

/// Prints the identity of the data directory.
pub(super) fn run(context: &Context) -> Result<()> {
    let keypair = context.repo.load_keypair()?;
    let report = IdentityReport::new(keypair.author(), context.repo.dir().display().to_string());
    match context.output {
        Output::Json => Output::json(&report),
        Output::Quiet | Output::Human => Output::text(&format!("{}\n", report.did)),
    }
}
