//! `kith post TEXT` and `kith reply ID TEXT`: the daemon signs a post (or a reply) and
//! appends it to the identity's feed.

use std::io::Read;

use anyhow::{Context as _, Result, bail};
use kith_proto::limits::MAX_TEXT_BYTES;

use kith_api::model::{EntryObject, NewPost};

use super::{Context, connect};
use crate::cli::ClientArgs;
use crate::model::PostReceipt;
use crate::output::Output;

/// How a post is signed and sealed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sealing<'a> {
    /// With a one-time key.
    pub(super) anonymous: bool,
    /// For an audience only (`followers`, `list:NAME`, dids).
    pub(super) audience: Option<&'a str>,
}

/// Posts `text` (or standard input when it is `-`), as a reply to `reply_to` if given, and
/// prints the new entry.
pub(super) fn run(
    context: &Context,
    args: &ClientArgs,
    text: &str,
    reply_to: Option<&str>,
    sealing: Sealing<'_>,
) -> Result<()> {
    if let Some(id) = reply_to {
        kith_proto::ContentId::parse(id).map_err(|error| {
            anyhow::anyhow!(
                "`{id}` is not a content id: {error}; expected a CIDv1 such as bafirei…"
            )
        })?;
    }
    // Say so before waiting on standard input if there is no daemon.
    let client = connect(context, args)?;
    let text = if text == "-" {
        read_stdin("post")?
    } else {
        text.to_owned()
    };
    check_text("post", &text)?;
    let request = NewPost {
        text,
        reply_to: reply_to.map(str::to_owned),
        anonymous: sealing.anonymous,
        audience: sealing.audience.map(str::to_owned),
    };
    let entry: EntryObject = client.post("/api/v1/posts", &request)?;
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
        Output::Human => {
            let mut text = format!("posted {} (seq {})\n", receipt.id, receipt.seq);
            if let Some(view) = &entry.sealed {
                text.push_str(&format!(
                    "sealed for {} ({} wrapped keys)\n",
                    view.audience.as_deref().unwrap_or("its audience"),
                    view.wrapped_keys
                ));
            }
            if let Some(slug) = &receipt.global_slug {
                text.push_str(&format!("at kith:/{slug} (web path /{slug})\n"));
            }
            Output::text(&text)
        }
    }
}

/// Reads the whole of standard input as the text of a `what` ("post", "message"); one final
/// line break (as `echo` adds) is dropped.
pub(super) fn read_stdin(what: &str) -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        // One byte past the limit is enough to know the text is too long.
        .take(
            u64::try_from(MAX_TEXT_BYTES)
                .unwrap_or(u64::MAX)
                .saturating_add(3),
        )
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the {what} from standard input"))?;
    let mut text = String::from_utf8(bytes)
        .with_context(|| format!("standard input is not UTF-8 text; a {what} must be UTF-8"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// Applies the protocol's text rules to the text of a `what` ("post", "message") before
/// anything is signed or stored.
pub(super) fn check_text(what: &str, text: &str) -> Result<()> {
    if text.is_empty() {
        bail!("the {what} is empty; give some text (or `-` to read it from standard input)");
    }
    if text.len() > MAX_TEXT_BYTES {
        bail!(
            "the {what} is too long: {} bytes of UTF-8, and the limit is {MAX_TEXT_BYTES} bytes; \
             shorten it",
            text.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits() {
        assert!(check_text("post", "hello").is_ok());
        assert!(check_text("post", &"é".repeat(MAX_TEXT_BYTES / 2)).is_ok());
        let error = check_text("post", "").unwrap_err().to_string();
        assert!(error.contains("empty"), "{error}");
        let error = check_text("post", &"x".repeat(MAX_TEXT_BYTES + 1))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("too long") && error.contains("16384"),
            "{error}"
        );
    }
}
