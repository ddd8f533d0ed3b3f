//! `kith follow DID` and `kith unfollow DID`.

use anyhow::Result;
use kith_api::model::{EntryObject, NewFollow};

use super::{Context, connect, parse_did};
use crate::cli::ClientArgs;
use crate::output::Output;

/// Follows (`follow` true) or unfollows `did`; prints the follow or unfollow entry that the
/// daemon added to the local feed.
pub(super) fn run(context: &Context, args: &ClientArgs, did: &str, follow: bool) -> Result<()> {
    let author = parse_did(did)?.to_did();
    let client = connect(context, args)?;
    let entry: EntryObject = if follow {
        client.post(
            "/api/v1/follows",
            &NewFollow {
                author: author.clone(),
            },
        )?
    } else {
        client.delete(&format!("/api/v1/follows/{author}"))?
    };
    match context.output {
        Output::Json => Output::json(&entry),
        Output::Quiet => Output::text(&format!("{}\n", entry.id)),
        Output::Human => Output::text(&format!(
            "{} {author} (entry {}, seq {})\n",
            if follow {
                "following"
            } else {
                "no longer following"
            },
            entry.id,
            entry.seq
        )),
    }
}
