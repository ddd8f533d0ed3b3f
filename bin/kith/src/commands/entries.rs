//! Commands that list entries: `kith timeline`, `kith feed [DID]`, `kith get ID`,
//! `kith thread ID`, `kith notifications`, `kith tag TAG`, `kith tags`, `kith public`.

use std::fmt::Write as _;

use anyhow::{Result, anyhow};
use kith_api::model::{
    EntryObject, FeedPage, HomePage, Identity, Notifications, PublicSettings, Tags, Thread,
    TimelinePage,
};
use kith_proto::ContentId;

use super::{Context, connect, parse_did};
use crate::cli::ClientArgs;
use crate::output::Output;
use crate::time::rfc3339_seconds;

/// Lists the home timeline, newest first.
pub(super) fn timeline(
    context: &Context,
    args: &ClientArgs,
    limit: u32,
    cursor: Option<&str>,
) -> Result<()> {
    let client = connect(context, args)?;
    let mut query = vec![("limit", limit.to_string())];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    let page: HomePage = client.get("/api/v1/timelines/home", &query)?;
    match context.output {
        Output::Json => Output::json(&page.entries),
        Output::Quiet => Output::text(&ids(&page.entries)),
        Output::Human => {
            let mut text = human(&page.entries, true);
            if let Some(next) = &page.next {
                let _ = writeln!(text, "older: kith timeline --cursor {next}");
            }
            Output::text(&text)
        }
    }
}

/// What `kith feed` lists.
pub(super) struct FeedArgs<'a> {
    /// Whose feed; default: the daemon's identity.
    pub(super) did: Option<&'a str>,
    /// Every kind, not only timeline items.
    pub(super) all: bool,
    /// Most entries.
    pub(super) limit: u32,
    /// Only seqs below this.
    pub(super) before: Option<u64>,
}

/// Lists the feed of `did` (default: the local identity), newest first.
pub(super) fn feed(context: &Context, args: &ClientArgs, feed: &FeedArgs<'_>) -> Result<()> {
    let named = feed.did.map(parse_did).transpose()?;
    let client = connect(context, args)?;
    let author = match named {
        Some(author) => author.to_did(),
        None => client.get::<Identity>("/api/v1/identity", &[])?.author,
    };
    let mut query = vec![("limit", feed.limit.to_string())];
    if feed.all {
        query.push(("all", "true".to_owned()));
    }
    if let Some(before) = feed.before {
        query.push(("before", before.to_string()));
    }
    let page: FeedPage = client.get(&format!("/api/v1/feeds/{author}"), &query)?;
    match context.output {
        Output::Json => Output::json(&page.entries),
        Output::Quiet => Output::text(&ids(&page.entries)),
        Output::Human => {
            let mut text = String::new();
            if let Some(seq) = page.fork_seq {
                let _ = writeln!(
                    text,
                    "warning: this author signed two conflicting entries at seq {seq}; the feed \
                     is frozen there (`kith fork {author}` shows the proof)\n"
                );
            }
            text.push_str(&human(&page.entries, false));
            if let Some(next) = page.next {
                let _ = writeln!(text, "older: --before {next}");
            }
            Output::text(&text)
        }
    }
}

/// Shows the proof that `did` forked their feed.
pub(super) fn fork(context: &Context, args: &ClientArgs, did: &str) -> Result<()> {
    let author = parse_did(did)?;
    let client = connect(context, args)?;
    let fork: kith_api::model::ForkObject =
        client.get(&format!("/api/v1/forks/{}", author.to_did()), &[])?;
    match context.output {
        Output::Json => Output::json(&fork),
        Output::Quiet => Output::text(&format!("{}\n", fork.seq)),
        Output::Human => Output::text(&format!(
            "{} forked the feed at seq {}: two entries signed by the author conflict, and the \
             feed is frozen there.\n\n{}\nproof: {}\n",
            fork.author,
            fork.seq,
            human(&fork.entries, false),
            fork.proof
        )),
    }
}

/// Shows the entry named by `id`: a content id or a permalink (`kith:<cid>`,
/// `kith:<did>/<seq>`, `kith:<username>/<slug>`, `kith:/<slug>`), fetched from peers if this
/// one does not hold it.
pub(super) fn get(context: &Context, args: &ClientArgs, id: &str) -> Result<()> {
    id.parse::<kith_proto::permalink::Permalink>()
        .map_err(|_| {
            anyhow!(
                "`{id}` is not a content id (bafirei…) nor a permalink (kith:<cid>, \
             kith:<did>/<seq>, kith:<username>/<slug>, kith:/<slug>)"
            )
        })?;
    let client = connect(context, args)?;
    let entry: EntryObject = client.get("/api/v1/resolve", &[("link", id.to_owned())])?;
    match context.output {
        Output::Json => Output::json(&entry),
        Output::Quiet => Output::text(&format!("{}\n", entry.text.as_deref().unwrap_or(""))),
        Output::Human => Output::text(&human(std::slice::from_ref(&entry), true)),
    }
}

/// Shows the entry `id` and the replies to it this peer holds, root first.
pub(super) fn thread(context: &Context, args: &ClientArgs, id: &str) -> Result<()> {
    ContentId::parse(id).map_err(|error| {
        anyhow!("`{id}` is not a content id: {error}; expected a CIDv1 such as bafirei…")
    })?;
    let client = connect(context, args)?;
    let thread: Thread = client.get(&format!("/api/v1/entries/{id}/thread"), &[])?;
    match context.output {
        Output::Json => Output::json(&thread.entries),
        Output::Quiet => Output::text(&ids(&thread.entries)),
        Output::Human => Output::text(&human(&thread.entries, true)),
    }
}

/// The content ids, one per line.
fn ids(entries: &[EntryObject]) -> String {
    entries.iter().fold(String::new(), |mut text, entry| {
        text.push_str(&entry.id);
        text.push('\n');
        text
    })
}

/// One header line per entry (`#seq  time  kind  id`, with the author when entries may be
/// by several), then its text indented.
pub(super) fn human(entries: &[EntryObject], with_author: bool) -> String {
    if entries.is_empty() {
        return "no entries\n".to_owned();
    }
    let mut out = String::new();
    for entry in entries {
        let _ = write!(
            out,
            "#{}  {}  {}  {}",
            entry.seq,
            rfc3339_seconds(entry.ts),
            entry.kind,
            entry.id
        );
        if with_author {
            let _ = write!(out, "  by {}", entry.author);
        }
        if let Some(view) = &entry.sealed {
            match (&view.error, &view.audience) {
                (Some(error), _) => {
                    let _ = write!(out, "  [sealed: {error}]");
                }
                (None, Some(audience)) => {
                    let _ = write!(out, "  [sealed for {audience}]");
                }
                (None, None) => {
                    let _ = write!(out, "  [sealed for others: not readable here]");
                }
            }
        }
        out.push('\n');
        if let Some(text) = &entry.text {
            for line in text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// Lists the notifications, newest first.
pub(super) fn notifications(
    context: &Context,
    args: &ClientArgs,
    limit: u32,
    cursor: Option<&str>,
) -> Result<()> {
    let client = connect(context, args)?;
    let page: Notifications = client.get("/api/v1/notifications", &page_query(limit, cursor))?;
    match context.output {
        Output::Json => Output::json(&page.notifications),
        Output::Quiet => {
            Output::text(&page.notifications.iter().fold(String::new(), |mut t, n| {
                t.push_str(&n.entry.id);
                t.push('\n');
                t
            }))
        }
        Output::Human => {
            let mut text = String::new();
            if page.notifications.is_empty() {
                text.push_str("no notifications\n");
            }
            for item in &page.notifications {
                let _ = writeln!(text, "{}:", item.kind);
                text.push_str(&human(std::slice::from_ref(&item.entry), true));
            }
            if let Some(next) = &page.next {
                let _ = writeln!(text, "older: kith notifications --cursor {next}");
            }
            Output::text(&text)
        }
    }
}

fn page_query(limit: u32, cursor: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = vec![("limit", limit.to_string())];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    query
}

fn print_page(context: &Context, page: &TimelinePage, again: &str) -> Result<()> {
    match context.output {
        Output::Json => Output::json(&page.entries),
        Output::Quiet => Output::text(&ids(&page.entries)),
        Output::Human => {
            let mut text = human(&page.entries, true);
            if let Some(next) = &page.next {
                let _ = writeln!(text, "older: {again} --cursor {next}");
            }
            Output::text(&text)
        }
    }
}

/// Lists the posts with hashtag `tag` held here, newest first.
pub(super) fn tag(
    context: &Context,
    args: &ClientArgs,
    tag: &str,
    limit: u32,
    cursor: Option<&str>,
) -> Result<()> {
    let normalized = kith_proto::text::normalize_tag(tag).ok_or_else(|| {
        anyhow!("`{tag}` is not a hashtag: letters, digits and _ only, at most 64 bytes")
    })?;
    let client = connect(context, args)?;
    let page: TimelinePage = client.get(
        &format!("/api/v1/tags/{normalized}"),
        &page_query(limit, cursor),
    )?;
    print_page(context, &page, &format!("kith tag {normalized}"))
}

/// Lists the hashtags followed here.
pub(super) fn tags(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let tags: Tags = client.get("/api/v1/tags", &[])?;
    match context.output {
        Output::Json => Output::json(&tags.tags),
        Output::Quiet | Output::Human => {
            if tags.tags.is_empty() && matches!(context.output, Output::Human) {
                return Output::text("no hashtags followed; follow one with kith follow '#rust'\n");
            }
            Output::text(&tags.tags.iter().fold(String::new(), |mut t, tag| {
                let _ = writeln!(t, "#{tag}");
                t
            }))
        }
    }
}

/// Turns the public timeline on or off if asked, then lists it.
pub(super) fn public(
    context: &Context,
    args: &ClientArgs,
    enable: Option<bool>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<()> {
    let client = connect(context, args)?;
    if let Some(enabled) = enable {
        let _: PublicSettings =
            client.put("/api/v1/public/settings", &PublicSettings { enabled })?;
        if !enabled {
            return match context.output {
                Output::Json => Output::json(&Vec::<EntryObject>::new()),
                _ => Output::text("the public timeline is off\n"),
            };
        }
    }
    let page: TimelinePage = client.get("/api/v1/public", &page_query(limit, cursor))?;
    print_page(context, &page, "kith public")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_output_lists_seq_time_kind_id_and_text() {
        let entry = EntryObject {
            id: "bafyid".into(),
            author: "did:key:z6Mkx".into(),
            seq: 3,
            prev: None,
            ts: 1_700_000_000_000,
            kind: "post".into(),
            text: Some("two\nlines".into()),
            parent: None,
            root: None,
            target: None,
            reaction: None,
            reactions: Vec::new(),
            reposts: 0,
            edited: false,
            permalink: String::new(),
            slug: None,
            global_slug: None,
            sealed: None,
        };
        assert_eq!(
            human(std::slice::from_ref(&entry), false),
            "#3  2023-11-14T22:13:20Z  post  bafyid\n    two\n    lines\n"
        );
        assert_eq!(
            human(&[entry], true),
            "#3  2023-11-14T22:13:20Z  post  bafyid  by did:key:z6Mkx\n    two\n    lines\n"
        );
        assert_eq!(human(&[], false), "no entries\n");
    }
}
