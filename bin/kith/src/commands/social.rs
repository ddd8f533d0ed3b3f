//! `kith react`, `repost`, `quote`, `edit`, `delete`, `history`, `block`, `unblock`,
//! `blocked`, `mute`, `unmute` and `muted`.

use anyhow::{Result, anyhow};
use kith_api::model::{
    AuthorList, AuthorRef, EntryObject, History, NewEdit, NewReaction, NewRepost,
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
