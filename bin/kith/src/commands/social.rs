//! `kith react`, `repost`, `quote`, `edit`, `delete`, `history`, `block`, `unblock`,
//! `blocked`, `mute`, `unmute`, `muted`, `profile set` and `profile get`.

use anyhow::{Result, anyhow};
use kith_api::model::{
    AuthorList, AuthorRef, BlobObject, EntryObject, History, NewEdit, NewProfile, NewReaction,
    NewRepost, ProfileObject,
};
use kith_proto::ContentId;

use super::{Context, connect, parse_did};
use crate::cli::ClientArgs;
use crate::model::PostReceipt;
use crate::output::Output;

/// What to do to an entry.
pub(crate) enum Action<'a> {
    /// React with an emoji or word.
    React(&'a str),
    /// Repost, with a comment for a quote post.
    Repost(Option<&'a str>),
    /// Replace the text of one's own entry.
    Edit(&'a str),
    /// Delete one's own entry.
    Delete,
}

fn parse_id(id: &str) -> Result<()> {
    ContentId::parse(id).map_err(|error| {
        anyhow!("`{id}` is not a content id: {error}; expected a CIDv1 such as bafirei…")
    })?;
    Ok(())
}

/// Reacts to, reposts, quotes, edits or deletes entry `id`; prints the new entry.
pub(super) fn act(
    context: &Context,
    args: &ClientArgs,
    id: &str,
    action: Action<'_>,
) -> Result<()> {
    parse_id(id)?;
    let client = connect(context, args)?;
    let (entry, done): (EntryObject, String) = match action {
        Action::React(reaction) => (
            client.post(
                &format!("/api/v1/entries/{id}/reactions"),
                &NewReaction {
                    reaction: reaction.to_owned(),
                },
            )?,
            format!("reacted {reaction} to {id}"),
        ),
        Action::Repost(text) => (
            client.post(
                &format!("/api/v1/entries/{id}/reposts"),
                &NewRepost {
                    text: text.map(str::to_owned),
                },
            )?,
            format!(
                "{} {id}",
                if text.is_some() { "quoted" } else { "reposted" }
            ),
        ),
        Action::Edit(text) => (
            client.post(
                &format!("/api/v1/entries/{id}/edits"),
                &NewEdit {
                    text: text.to_owned(),
                },
            )?,
            format!("edited {id}"),
        ),
        Action::Delete => (
            client.delete(&format!("/api/v1/entries/{id}"))?,
            format!("deleted {id}; peers that hold it drop it as the tombstone reaches them"),
        ),
    };
    let receipt = PostReceipt {
        id: entry.id,
        seq: entry.seq,
        author: entry.author,
        ts: entry.ts,
        slug: entry.slug,
        global_slug: entry.global_slug,
    };
    match context.output {
        Output::Json => Output::json(&receipt),
        Output::Quiet => Output::text(&format!("{}\n", receipt.id)),
        Output::Human => Output::text(&format!(
            "{done} (entry {}, seq {})\n",
            receipt.id, receipt.seq
        )),
    }
}

/// Shows entry `id` as first written, then each edit, oldest first.
pub(super) fn history(context: &Context, args: &ClientArgs, id: &str) -> Result<()> {
    parse_id(id)?;
    let client = connect(context, args)?;
    let history: History = client.get(&format!("/api/v1/entries/{id}/history"), &[])?;
    match context.output {
        Output::Json => Output::json(&history.entries),
        Output::Quiet => Output::text(&history.entries.iter().fold(String::new(), |mut t, e| {
            t.push_str(&e.id);
            t.push('\n');
            t
        })),
        Output::Human => Output::text(&super::entries::human(&history.entries, false)),
    }
}

/// Which per-author list.
#[derive(Clone, Copy)]
pub(crate) enum List {
    /// Blocked authors.
    Blocks,
    /// Muted authors.
    Mutes,
}

impl List {
    fn path(self) -> &'static str {
        match self {
            List::Blocks => "/api/v1/blocks",
            List::Mutes => "/api/v1/mutes",
        }
    }
}

/// Adds `did` to (`on`) or removes it from a list, or (`did` `None`) prints the list.
pub(super) fn flag(
    context: &Context,
    args: &ClientArgs,
    list: List,
    did: Option<&str>,
    on: bool,
) -> Result<()> {
    let author = did.map(parse_did).transpose()?.map(|a| a.to_did());
    let client = connect(context, args)?;
    let authors: AuthorList = match &author {
        None => client.get(list.path(), &[])?,
        Some(author) if on => client.post(
            list.path(),
            &AuthorRef {
                author: author.clone(),
            },
        )?,
        Some(author) => client.delete(&format!("{}/{author}", list.path()))?,
    };
    match context.output {
        Output::Json => Output::json(&authors.authors),
        Output::Quiet => Output::text(&authors.authors.iter().fold(String::new(), |mut t, a| {
            t.push_str(a);
            t.push('\n');
            t
        })),
        Output::Human => {
            let (verb, name) = match list {
                List::Blocks => (if on { "blocked" } else { "unblocked" }, "blocked"),
                List::Mutes => (if on { "muted" } else { "unmuted" }, "muted"),
            };
            let mut text = match &author {
                Some(author) => format!("{verb} {author}\n"),
                None => String::new(),
            };
            if author.is_none() {
                if authors.authors.is_empty() {
                    text.push_str(&format!("nobody is {name}\n"));
                }
                for a in &authors.authors {
                    text.push_str(a);
                    text.push('\n');
                }
            }
            Output::text(&text)
        }
    }
}

/// Publishes a profile: uploads the avatar first if one is given.
pub(super) fn set_profile(
    context: &Context,
    args: &ClientArgs,
    name: Option<String>,
    bio: Option<String>,
    avatar: Option<&std::path::Path>,
) -> Result<()> {
    if name.is_none() && bio.is_none() && avatar.is_none() {
        anyhow::bail!("nothing to change: give --name, --bio or --avatar FILE");
    }
    let image = avatar.map(read_image).transpose()?;
    let client = connect(context, args)?;
    let avatar = match image {
        Some(image) => {
            let blob: BlobObject = client.post_bytes("/api/v1/blobs", image)?;
            Some(blob.id)
        }
        None => None,
    };
    let profile: ProfileObject =
        client.post("/api/v1/profile", &NewProfile { name, bio, avatar })?;
    print_profile(context, &profile)
}

/// Reads an avatar file, refusing one that is too large before reading it.
fn read_image(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow!("cannot open the avatar {}: {e}", path.display()))?;
    let limit = kith_proto::blob::MAX_BLOB_BYTES;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow!("cannot read the avatar {}: {e}", path.display()))?;
    if bytes.len() > limit {
        anyhow::bail!(
            "the avatar {} is larger than {limit} bytes; scale it down",
            path.display()
        );
    }
    if kith_proto::blob::ImageType::sniff(&bytes).is_none() {
        anyhow::bail!(
            "the avatar {} is not a PNG, JPEG, GIF or WebP image",
            path.display()
        );
    }
    Ok(bytes)
}

/// Shows the profile of `did` (default: the daemon's identity).
pub(super) fn get_profile(context: &Context, args: &ClientArgs, did: Option<&str>) -> Result<()> {
    let named = did.map(parse_did).transpose()?;
    let client = connect(context, args)?;
    let author = match named {
        Some(author) => author.to_did(),
        None => {
            client
                .get::<kith_api::model::Identity>("/api/v1/identity", &[])?
                .author
        }
    };
    let profile: ProfileObject = client.get(&format!("/api/v1/profiles/{author}"), &[])?;
    print_profile(context, &profile)
}

fn print_profile(context: &Context, profile: &ProfileObject) -> Result<()> {
    match context.output {
        Output::Json => Output::json(profile),
        Output::Quiet => Output::text(&format!("{}\n", profile.name.as_deref().unwrap_or(""))),
        Output::Human => {
            let mut text = format!("{}\n", profile.author);
            if let Some(name) = &profile.name {
                text.push_str(&format!("name:   {name}\n"));
            }
            if let Some(bio) = &profile.bio {
                text.push_str(&format!("bio:    {bio}\n"));
            }
            if let Some(avatar) = &profile.avatar {
                let cached = if profile.avatar_cached {
                    "stored here"
                } else {
                    "not fetched yet"
                };
                text.push_str(&format!("avatar: {avatar} ({cached})\n"));
            }
            Output::text(&text)
        }
    }
}
