//! `kith feed [DID]`: list a feed, newest first.

use std::fmt::Write as _;

use anyhow::{Result, anyhow};
use kith_proto::AuthorId;

use super::{Context, with_backend};
use crate::backend::FeedQuery;
use crate::model::FeedItem;
use crate::output::Output;
use crate::time::rfc3339_seconds;

/// Lists the feed of `did` (default: the local identity).
pub(super) fn run(context: &Context, did: Option<&str>, all: bool, limit: u32) -> Result<()> {
    let named = did.map(parse_did).transpose()?;
    context.repo.require_initialised()?;
    let items = with_backend(context, |backend| {
        let query = FeedQuery {
            author: named.unwrap_or_else(|| backend.author()),
            all_kinds: all,
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        };
        backend.feed(&query)
    })?;
    match context.output {
        Output::Json => Output::json(&items),
        Output::Quiet => Output::text(&items.iter().fold(String::new(), |mut text, item| {
            text.push_str(&item.id);
            text.push('\n');
            text
        })),
        Output::Human => Output::text(&human(&items)),
    }
}

/// Parses an author id, explaining what is wrong and what is expected.
fn parse_did(text: &str) -> Result<AuthorId> {
    AuthorId::parse_did(text).map_err(|error| {
        anyhow!(
            "`{text}` is not a kith author id: {error}; expected the form did:key:z6Mk… (as \
             printed by `kith id`)"
        )
    })
}

/// One header line per entry (`#seq  time  kind  id`), then its text indented.
fn human(items: &[FeedItem]) -> String {
    if items.is_empty() {
        return "no entries\n".to_owned();
    }
    let mut out = String::new();
    for item in items {
        let _ = writeln!(
            out,
            "#{}  {}  {}  {}",
            item.seq,
            rfc3339_seconds(item.ts),
            item.kind,
            item.id
        );
        if let Some(text) = &item.text {
            for line in text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_dids_name_the_expected_form() {
        for bad in ["alice", "did:web:example.com", "did:key:z0OIl", "did:key:z"] {
            let message = parse_did(bad).unwrap_err().to_string();
            assert!(message.contains("did:key:z6Mk"), "{message}");
            assert!(message.contains(bad), "{message}");
        }
    }

    #[test]
    fn human_output_lists_seq_time_kind_id_and_text() {
        let item = FeedItem {
            id: "bafyid".into(),
            author: "did:key:z6Mkx".into(),
            seq: 3,
            prev: None,
            ts: 1_700_000_000_000,
            kind: "post".into(),
            text: Some("two\nlines".into()),
        };
        assert_eq!(
            human(&[item]),
            "#3  2023-11-14T22:13:20Z  post  bafyid\n    two\n    lines\n"
        );
        assert_eq!(human(&[]), "no entries\n");
    }
}
