//! Printing results: human text, quiet bare values, or one JSON document.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

/// How results are printed on stdout. Errors always go to stderr (see `main`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Output {
    /// Text for people.
    Human,
    /// Only the essential value (an id, a did), for shell use.
    Quiet,
    /// One JSON document per command, on one line.
    Json,
}

impl Output {
    /// The mode chosen by the global flags; `--json` wins over `--quiet`.
    pub(crate) fn from_flags(json: bool, quiet: bool) -> Self {
        if json {
            Output::Json
        } else if quiet {
            Output::Quiet
        } else {
            Output::Human
        }
    }

    /// Prints `value` as one line of JSON.
    pub(crate) fn json<T: Serialize>(value: &T) -> Result<()> {
        let mut text = serde_json::to_string(value).context("cannot encode the result as JSON")?;
        text.push('\n');
        write_stdout(&text)
    }

    /// Prints `text` as is (callers end it with a newline).
    pub(crate) fn text(text: &str) -> Result<()> {
        write_stdout(text)
    }
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")
}
