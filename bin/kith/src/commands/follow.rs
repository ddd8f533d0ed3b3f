//! `kith follow DID` and `kith unfollow DID`.

use anyhow::Result;
use kith_api::model::{EntryObject, NewFollow, NewTag, Tags};

use super::{Context, connect, parse_did};
use crate::cli::ClientArgs;
use crate::output::Output;

/// Follows (`follow` true) or unfollows `did`; prints the follow or unfollow entry that the
/// daemon added to the local feed.
pub(super) fn run(
    context: &Context,
    args: &ClientArgs,
    did: &str,
    follow: bool,
    private: bool,
) -> Result<()> {
    if did.starts_with('#') {
        if private {
            anyhow::bail!("hashtags are followed on this peer only; --private is for authors");
        }
        return tag(context, args, did, follow);
    }
    // A username stands for the did the registry gives.
    let author = if did.starts_with("did:") {
        parse_did(did)?.to_did()
    } else {
        super::names::owner_of(context, args, did)?
    };
    let client = connect(context, args)?;
    let entry: EntryObject = if follow {
        client.post(
            "/api/v1/follows",
            &NewFollow {
                author: author.clone(),
                private,
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

/// Follows or unfollows a hashtag (`#rust`): its posts reach this peer from anyone.
fn tag(context: &Context, args: &ClientArgs, tag: &str, follow: bool) -> Result<()> {
    let normalized = kith_proto::text::normalize_tag(tag).ok_or_else(|| {
        anyhow::anyhow!(
            "`{tag}` is not a hashtag: letters, digits and _ only, at most 64 bytes (e.g. '#rust')"
        )
    })?;
    let client = connect(context, args)?;
    let tags: Tags = if follow {
        client.post(
            "/api/v1/tags",
            &NewTag {
                tag: normalized.clone(),
            },
        )?
    } else {
        client.delete(&format!("/api/v1/tags/{normalized}"))?
    };
    match context.output {
        Output::Json => Output::json(&tags),
        Output::Quiet => Output::text(&format!("#{normalized}\n")),
        Output::Human => Output::text(&format!(
            "{} #{normalized}; see it with `kith tag {normalized}`\n",
            if follow {
                "following"
            } else {
                "no longer following"
            }
        )),
    }
}
