//! `kith follow-feed URL` and `kith bridges`: RSS and Atom feeds republished by the daemon
//! as kith authors (bridge feeds).

use anyhow::{Result, bail};
use kith_api::model::{BridgeList, BridgeObject, NewBridge};
use serde::Serialize;

use super::{Context, connect};
use crate::cli::ClientArgs;
use crate::output::Output;

/// What `kith --json follow-feed` prints.
#[derive(Debug, Serialize)]
struct Bridged {
    author: String,
    url: String,
}

/// Refuses, before asking the daemon, what cannot be a feed URL.
fn check_url(url: &str) -> Result<()> {
    let url = url.trim();
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some(scheme)
            if (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
                && url.len() > scheme.len() + 3 =>
        {
            Ok(())
        }
        _ => bail!(
            "`{url}` is not a feed URL: give the http:// or https:// address of an RSS or Atom \
             feed, e.g. https://blog.example/feed.xml"
        ),
    }
}

/// Bridges the feed at `url` (or finds the existing bridge) and prints its did.
pub(super) fn follow_feed(context: &Context, args: &ClientArgs, url: &str) -> Result<()> {
    check_url(url)?;
    let client = connect(context, args)?;
    let bridge: BridgeObject = client.post(
        "/api/v1/bridges",
        &NewBridge {
            url: url.trim().to_owned(),
        },
    )?;
    match context.output {
        Output::Json => Output::json(&Bridged {
            author: bridge.author,
            url: bridge.url,
        }),
        Output::Quiet => Output::text(&format!("{}\n", bridge.author)),
        Output::Human => Output::text(&format!(
            "{}\nfollowing the feed {}{} through this bridge author; its items reach your \
             timeline, and others can follow the did above\n",
            bridge.author,
            bridge.url,
            bridge
                .title
                .map(|title| format!(" ({title})"))
                .unwrap_or_default()
        )),
    }
}

/// Lists the daemon's bridges.
pub(super) fn list(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let list: BridgeList = client.get("/api/v1/bridges", &[])?;
    match context.output {
        Output::Json => Output::json(&list.bridges),
        Output::Quiet => Output::text(&list.bridges.iter().fold(String::new(), |mut t, b| {
            t.push_str(&b.author);
            t.push('\n');
            t
        })),
        Output::Human if list.bridges.is_empty() => {
            Output::text("no bridged feeds; add one with `kith follow-feed URL`\n")
        }
        Output::Human => {
            let mut text = String::new();
            for bridge in &list.bridges {
                text.push_str(&format!("{}  {}\n", bridge.author, bridge.url));
                if let Some(title) = &bridge.title {
                    text.push_str(&format!("  title: {title}\n"));
                }
                match (bridge.last_poll_ms, &bridge.last_error) {
                    (_, Some(error)) => text.push_str(&format!("  last poll failed: {error}\n")),
                    (Some(ms), None) => text.push_str(&format!(
                        "  last polled: {}\n",
                        crate::time::rfc3339_seconds(ms)
                    )),
                    (None, None) => text.push_str("  not polled yet\n"),
                }
            }
            Output::text(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_pass() {
        for good in [
            "http://x/feed",
            "HTTPS://blog.example/rss",
            " https://a.b/ ",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://x/feed",
            "blog.example/rss",
            "https://",
            "file:///etc/passwd",
        ] {
            let message = check_url(bad).unwrap_err().to_string();
            assert!(message.contains("http://"), "{message}");
        }
    }
}
