//! Rendering an author's public feed as an Atom 1.0 document (RFC 4287), with
//! replies marked by the threading extension (RFC 4685, `thr:in-reply-to`).
//!
//! The input is plain data; the caller maps kith entries onto [`AtomFeed`] and
//! [`AtomEntry`] and serves the result of [`render_atom`] with
//! [`ATOM_CONTENT_TYPE`]. All text is escaped and stripped of characters XML 1.0
//! does not allow, so any string is safe to pass in.

use crate::date::format_rfc3339;
use crate::text::{collapse_whitespace, escape_xml_into, is_xml_char, truncate_with_ellipsis};

/// The `Content-Type` to serve Atom documents with.
pub const ATOM_CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

/// The Atom 1.0 namespace.
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// The Atom threading extension namespace (RFC 4685).
pub const THREAD_NS: &str = "http://purl.org/syndication/thread/1.0";

/// Titles derived from an entry's text are cut to this many characters (plus `…`).
pub const DERIVED_TITLE_CHARS: usize = 80;

/// The title used for an entry with neither a title nor any text.
pub const UNTITLED: &str = "Untitled";

/// One author's feed, ready to render.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AtomFeed {
    /// Permanent, unique IRI of the feed (`atom:id`), e.g. `kith:did:key:z6Mk…`.
    pub id: String,
    /// Human-readable feed title.
    pub title: String,
    /// Optional `atom:subtitle` (the author's bio, say).
    pub subtitle: Option<String>,
    /// The feed author's display name (`atom:author/atom:name`).
    pub author_name: String,
    /// An IRI for the author (`atom:author/atom:uri`), e.g. their `did:key:…`.
    pub author_uri: Option<String>,
    /// The URL this document is served at (`link rel="self"`).
    pub self_url: String,
    /// A web page showing the same feed (`link rel="alternate"`), if any.
    pub alternate_url: Option<String>,
    /// When the feed last changed, in unix milliseconds (`atom:updated`).
    pub updated_ms: u64,
    /// The entries, in the order to render them (newest first is customary).
    pub entries: Vec<AtomEntry>,
}

/// The parent of a reply (RFC 4685 `thr:in-reply-to`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InReplyTo {
    /// The `atom:id` of the parent entry (`ref`, required), e.g. `kith:<cid>`.
    pub ref_uri: String,
    /// Where the parent can be read (`href`), if known.
    pub href: Option<String>,
}

/// One entry of an [`AtomFeed`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AtomEntry {
    /// Permanent, unique IRI of the entry (`atom:id`), e.g. `kith:<cid>`.
    pub id: String,
    /// The entry's title; when `None` or blank, one is derived from the text
    /// with [`title_from_text`].
    pub title: Option<String>,
    /// The entry's plain text, rendered as `<content type="text">`.
    pub content_text: String,
    /// When the entry was first published, in unix milliseconds.
    pub published_ms: u64,
    /// When the entry last changed, in unix milliseconds.
    pub updated_ms: u64,
    /// A URL where the entry can be read (`link rel="alternate"`).
    pub link: String,
    /// The entry this one replies to, if it is a reply.
    pub in_reply_to: Option<InReplyTo>,
    /// The entry's author name, when it differs from the feed's.
    pub author_name: Option<String>,
    /// The entry's author IRI, when it differs from the feed's.
    pub author_uri: Option<String>,
}

/// A one-line title for an untitled text: (ignoring characters XML cannot
/// carry) its first non-blank line with
/// whitespace collapsed, cut on a char boundary to [`DERIVED_TITLE_CHARS`]
/// characters followed by `…`. Returns [`UNTITLED`] for blank text.
pub fn title_from_text(text: &str) -> String {
    let clean: String = text.chars().filter(|c| is_xml_char(*c)).collect();
    let first_line = clean
        .lines()
        .map(collapse_whitespace)
        .find(|l| !l.is_empty());
    let Some(line) = first_line else {
        return UNTITLED.to_owned();
    };
    match line.char_indices().nth(DERIVED_TITLE_CHARS) {
        None => line,
        Some((cut, _)) => {
            let mut title = line[..cut].trim_end().to_owned();
            title.push('…');
            title
        }
    }
}

fn push_element(out: &mut String, indent: &str, name: &str, text: &str) {
    out.push_str(indent);
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_xml_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn push_link(out: &mut String, indent: &str, rel: &str, media_type: &str, href: &str) {
    out.push_str(indent);
    out.push_str("<link rel=\"");
    out.push_str(rel);
    out.push_str("\" type=\"");
    out.push_str(media_type);
    out.push_str("\" href=\"");
    escape_xml_into(out, href);
    out.push_str("\"/>\n");
}

fn push_author(out: &mut String, indent: &str, name: &str, uri: Option<&str>) {
    out.push_str(indent);
    out.push_str("<author>\n");
    let inner = format!("{indent}  ");
    push_element(out, &inner, "name", name);
    if let Some(uri) = uri.filter(|u| !u.is_empty()) {
        push_element(out, &inner, "uri", uri);
    }
    out.push_str(indent);
    out.push_str("</author>\n");
}

/// Renders `feed` as a complete Atom 1.0 document (UTF-8, with XML declaration).
///
/// The document has every element RFC 4287 requires (`id`, `title`, `updated`,
/// an `author`, a `rel="self"` link; per entry `id`, `title`, `updated`, and
/// content), dates in RFC 3339 UTC, text content as `type="text"`, and replies
/// as `thr:in-reply-to`.
pub fn render_atom(feed: &AtomFeed) -> String {
    let mut out = String::with_capacity(1024 + feed.entries.len() * 768);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"");
    out.push_str(ATOM_NS);
    out.push_str("\" xmlns:thr=\"");
    out.push_str(THREAD_NS);
    out.push_str("\">\n");
    push_element(&mut out, "  ", "id", &feed.id);
    out.push_str("  <title type=\"text\">");
    escape_xml_into(&mut out, &feed.title);
    out.push_str("</title>\n");
    if let Some(subtitle) = feed.subtitle.as_deref().filter(|s| !s.is_empty()) {
        out.push_str("  <subtitle type=\"text\">");
        escape_xml_into(&mut out, subtitle);
        out.push_str("</subtitle>\n");
    }
    push_element(&mut out, "  ", "updated", &format_rfc3339(feed.updated_ms));
    push_author(
        &mut out,
        "  ",
        &feed.author_name,
        feed.author_uri.as_deref(),
    );
    push_link(
        &mut out,
        "  ",
        "self",
        "application/atom+xml",
        &feed.self_url,
    );
    if let Some(alternate) = feed.alternate_url.as_deref().filter(|s| !s.is_empty()) {
        push_link(&mut out, "  ", "alternate", "text/html", alternate);
    }
    out.push_str("  <generator version=\"");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str("\">kith</generator>\n");
    for entry in &feed.entries {
        render_entry(&mut out, entry);
    }
    out.push_str("</feed>\n");
    out
}

fn render_entry(out: &mut String, entry: &AtomEntry) {
    out.push_str("  <entry>\n");
    push_element(out, "    ", "id", &entry.id);
    let title = match entry.title.as_deref().map(collapse_whitespace) {
        Some(t) if !t.is_empty() => truncate_with_ellipsis(&t, 1024),
        _ => title_from_text(&entry.content_text),
    };
    out.push_str("    <title type=\"text\">");
    escape_xml_into(out, &title);
    out.push_str("</title>\n");
    push_element(
        out,
        "    ",
        "published",
        &format_rfc3339(entry.published_ms),
    );
    push_element(out, "    ", "updated", &format_rfc3339(entry.updated_ms));
    if entry.author_name.is_some() || entry.author_uri.is_some() {
        let name = entry.author_name.as_deref().unwrap_or_default();
        push_author(out, "    ", name, entry.author_uri.as_deref());
    }
    if !entry.link.is_empty() {
        push_link(out, "    ", "alternate", "text/html", &entry.link);
    }
    if let Some(parent) = &entry.in_reply_to {
        out.push_str("    <thr:in-reply-to ref=\"");
        escape_xml_into(out, &parent.ref_uri);
        out.push('"');
        if let Some(href) = parent.href.as_deref().filter(|h| !h.is_empty()) {
            out.push_str(" href=\"");
            escape_xml_into(out, href);
            out.push_str("\" type=\"text/html\"");
        }
        out.push_str("/>\n");
    }
    out.push_str("    <content type=\"text\">");
    escape_xml_into(out, &entry.content_text);
    out.push_str("</content>\n");
    out.push_str("  </entry>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_titles_use_the_first_line_and_cut_on_char_boundaries() {
        assert_eq!(
            title_from_text("\n\n  Hello   there \nsecond line"),
            "Hello there"
        );
        assert_eq!(title_from_text("   \n "), UNTITLED);
        let long = "ä".repeat(100);
        let title = title_from_text(&long);
        assert_eq!(title, format!("{}…", "ä".repeat(DERIVED_TITLE_CHARS)));
        let exact = "b".repeat(DERIVED_TITLE_CHARS);
        assert_eq!(title_from_text(&exact), exact);
        let words = format!("{} tail", "word ".repeat(20));
        assert!(title_from_text(&words).ends_with("word…"));
    }

    #[test]
    fn untitled_entries_get_a_derived_title() {
        let feed = AtomFeed {
            entries: vec![AtomEntry {
                content_text: "First line\nrest".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(render_atom(&feed).contains("<title type=\"text\">First line</title>"));
    }
}
