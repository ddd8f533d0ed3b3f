//! `kith list …`, `kith lists`, `kith dm`, `kith dms`: audience lists and direct messages
//! (sealed entries; docs/CLI.md).

use std::fmt::Write as _;

use anyhow::Result;
use kith_api::model::{DirectMessages, EntryObject, ListObject, Lists};

use super::{Context, connect, parse_did};
use crate::cli::{ClientArgs, ListCommand};
use crate::output::Output;

/// `kith list create|add|rm|delete`.
pub(super) fn list(context: &Context, command: ListCommand) -> Result<()> {
    match command {
        ListCommand::Create { name, client } => {
            let client_ = connect(context, &client)?;
            let lists: Lists =
                client_.post("/api/v1/lists", &serde_json::json!({ "name": name }))?;
            show_lists(context, &lists)
        }
        ListCommand::Delete { name, client } => {
            let client_ = connect(context, &client)?;
            let lists: Lists = client_.delete(&format!("/api/v1/lists/{name}"))?;
            show_lists(context, &lists)
        }
        ListCommand::Add { name, did, client } => {
            if did.starts_with("did:") {
                parse_did(&did)?;
            }
            let client_ = connect(context, &client)?;
            let list: ListObject = client_.post(
                &format!("/api/v1/lists/{name}/members"),
                &serde_json::json!({ "author": did }),
            )?;
            show_list(context, &list)
        }
        ListCommand::Rm { name, did, client } => {
            let author = parse_did(&did)?;
            let client_ = connect(context, &client)?;
            let list: ListObject =
                client_.delete(&format!("/api/v1/lists/{name}/members/{}", author.to_did()))?;
            show_list(context, &list)
        }
    }
}

/// `kith lists`.
pub(super) fn lists(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let lists: Lists = client.get("/api/v1/lists", &[])?;
    show_lists(context, &lists)
}

fn show_lists(context: &Context, lists: &Lists) -> Result<()> {
    match context.output {
        Output::Json => Output::json(&lists.lists),
        Output::Quiet => Output::text(&lists.lists.iter().fold(String::new(), |mut t, l| {
            let _ = writeln!(t, "{}", l.name);
            t
        })),
        Output::Human => {
            if lists.lists.is_empty() {
                return Output::text("no lists\n");
            }
            let mut text = String::new();
            for list in &lists.lists {
                text.push_str(&list_text(list));
            }
            Output::text(&text)
        }
    }
}

fn show_list(context: &Context, list: &ListObject) -> Result<()> {
    match context.output {
        Output::Json => Output::json(list),
        Output::Quiet => Output::text(&list.members.iter().fold(String::new(), |mut t, m| {
            let _ = writeln!(t, "{m}");
            t
        })),
        Output::Human => Output::text(&list_text(list)),
    }
}

fn list_text(list: &ListObject) -> String {
    let mut text = format!("{} ({} members)\n", list.name, list.members.len());
    for member in &list.members {
        let _ = writeln!(text, "    {member}");
    }
    text
}

/// `kith dm DID[,DID…] TEXT`.
pub(super) fn dm(context: &Context, args: &ClientArgs, to: &[String], text: &str) -> Result<()> {
    for member in to {
        if member.starts_with("did:") {
            parse_did(member)?;
        }
    }
    // Say so before waiting on standard input if there is no daemon.
    let client = connect(context, args)?;
    let text = if text == "-" {
        super::post::read_stdin("message")?
    } else {
        text.to_owned()
    };
    super::post::check_text("message", &text)?;
    let entry: EntryObject = client.post(
        "/api/v1/dms",
        &serde_json::json!({ "to": to, "text": text }),
    )?;
    match context.output {
        Output::Json => Output::json(&entry),
        Output::Quiet => Output::text(&format!("{}\n", entry.id)),
        Output::Human => Output::text(&format!("sent {} (seq {})\n", entry.id, entry.seq)),
    }
}

/// `kith dms`.
pub(super) fn dms(context: &Context, args: &ClientArgs, limit: u32) -> Result<()> {
    let client = connect(context, args)?;
    let page: DirectMessages = client.get("/api/v1/dms", &[("limit", limit.to_string())])?;
    match context.output {
        Output::Json => Output::json(&page.messages),
        Output::Quiet => Output::text(&page.messages.iter().fold(String::new(), |mut t, m| {
            let _ = writeln!(t, "{}", m.id);
            t
        })),
        Output::Human => {
            if page.messages.is_empty() {
                return Output::text("no direct messages\n");
            }
            let mut text = String::new();
            for message in &page.messages {
                let members = message
                    .sealed
                    .as_ref()
                    .map(|view| view.members.join(", "))
                    .unwrap_or_default();
                let _ = writeln!(
                    text,
                    "{}  from {}  (conversation: {members})",
                    crate::time::rfc3339_seconds(message.ts),
                    message.author
                );
                for line in message.text.as_deref().unwrap_or("").lines() {
                    let _ = writeln!(text, "    {line}");
                }
            }
            Output::text(&text)
        }
    }
}
