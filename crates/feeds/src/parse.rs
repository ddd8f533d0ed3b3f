//! Parsing RSS 2.0, RSS 1.0 (RDF) and Atom 1.0 documents into plain items.
//!
//! The parser streams the document through `xml-rs` and keeps only what the
//! bridge needs: the feed's title and link and, per item, a stable key, a title,
//! a link, plain text (HTML converted) and a publication time. Elements are
//! matched by namespace, not by prefix, so `content:encoded`, `dc:date` and
//! `atom:link` work whatever prefix a feed binds them to.
//!
//! Untrusted input is bounded: documents over [`MAX_DOCUMENT_BYTES`] are refused,
//! nesting deeper than [`MAX_DEPTH`] is an error, at most [`MAX_ITEMS`] items are
//! kept, and texts are cut to [`MAX_TEXT_BYTES`]. External entities are never
//! loaded (the XML reader has no such capability; `SYSTEM` entities expand to
//! nothing), and internal entity expansion is bounded in depth and size, so a
//! "billion laughs" document fails fast with an error. Malformed XML is a
//! [`ParseError`], never a panic.

use xml::name::OwnedName;
use xml::reader::{EventReader, ParserConfig, ParserConfig2, XmlEvent};

use crate::date::{parse_any, parse_rfc2822, parse_rfc3339};
use crate::text::{
    HTML_ENTITIES, collapse_whitespace, decode_entities, escape_xml_into, html_to_text,
    truncate_to_boundary, truncate_with_ellipsis,
};

/// Documents larger than this many bytes are refused.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// At most this many items are kept per document (the first ones, which feeds
/// customarily order newest first).
pub const MAX_ITEMS: usize = 500;

/// An item's text is cut to at most this many bytes (on a char boundary, ending
/// in `…`).
pub const MAX_TEXT_BYTES: usize = 4000;

/// Titles are cut to at most this many bytes.
pub const MAX_TITLE_BYTES: usize = 512;

/// Links longer than this many bytes are dropped.
pub const MAX_LINK_BYTES: usize = 2048;

/// Keys longer than this many bytes are replaced by a hash of themselves.
pub const MAX_KEY_BYTES: usize = 512;

/// Elements nested deeper than this are an error.
pub const MAX_DEPTH: usize = 64;

/// Raw text (or HTML) collected for one field before conversion; the rest is
/// ignored. Larger than [`MAX_TEXT_BYTES`] because markup shrinks to text.
const MAX_CAPTURE_BYTES: usize = 256 * 1024;

/// Internal entities may expand into other entities at most this deep ...
const MAX_ENTITY_DEPTH: u8 = 4;
/// ... and an expansion may queue at most this many characters.
const MAX_ENTITY_EXPANSION: usize = 64 * 1024;

const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
const NS_RSS1: &str = "http://purl.org/rss/1.0/";
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const NS_CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";

/// Why a document could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// The document is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("document is {size} bytes, over the limit of {max}")]
    TooLarge {
        /// The document's size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The document is not well-formed XML (this includes entity expansion
    /// beyond the limits).
    #[error("malformed XML at line {line}, column {column}: {message}")]
    Xml {
        /// 1-based line of the error.
        line: u64,
        /// 1-based column of the error.
        column: u64,
        /// What the XML reader reported.
        message: String,
    },
    /// Elements are nested deeper than [`MAX_DEPTH`].
    #[error("elements nested deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The root element is not `rss`, `rdf:RDF` or an Atom `feed`.
    #[error("not an RSS or Atom feed (root element <{root}>)")]
    UnknownFormat {
        /// The root element's local name.
        root: String,
    },
}

/// Which syndication format a document was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    /// RSS 2.0 (and the 0.9x versions it grew from): root `<rss>`.
    Rss2,
    /// RSS 1.0: root `<rdf:RDF>` with items in the RSS 1.0 namespace.
    Rss1,
    /// Atom 1.0: root `<feed xmlns="http://www.w3.org/2005/Atom">`.
    Atom,
}

/// A parsed feed document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFeed {
    /// The document's format.
    pub format: FeedFormat,
    /// The feed's title (plain text, possibly empty).
    pub title: String,
    /// The feed's web page, if it names one.
    pub link: Option<String>,
    /// The items, in document order, at most [`MAX_ITEMS`].
    pub items: Vec<FeedItem>,
    /// How many items beyond [`MAX_ITEMS`] were dropped.
    pub dropped_items: usize,
}

/// One item (RSS) or entry (Atom) of a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedItem {
    /// Stable identity of the item within its feed: the RSS `guid`, Atom `id` or
    /// RSS 1.0 `rdf:about`; else the link; else `fnv1a:<hex>` of title and link
    /// (of the text when both are empty). Never empty, at most
    /// [`MAX_KEY_BYTES`] bytes.
    pub key: String,
    /// The item's title as plain text (possibly empty).
    pub title: String,
    /// Where the item can be read.
    pub link: Option<String>,
    /// The item's body as plain text: HTML converted, paragraphs separated by
    /// blank lines, at most [`MAX_TEXT_BYTES`] bytes.
    pub text: String,
    /// When the item was published (or, failing that, updated), in unix
    /// milliseconds, if the feed says and the date parses.
    pub published_ms: Option<u64>,
}

/// How a captured field's text is to be interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Plain text (Atom `type="text"`).
    Text,
    /// RSS title: plain text that may carry stray HTML entities.
    RssTitle,
    /// Escaped HTML (RSS descriptions, Atom `type="html"`).
    Html,
    /// Inline XHTML markup (Atom `type="xhtml"`).
    Xhtml,
}

/// Which field a captured element fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    FeedTitle,
    FeedLink,
    Title,
    Link,
    Guid,
    Id,
    Description,
    Summary,
    Content,
    Encoded,
    PubDate,
    Published,
    Updated,
    DcDate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ns {
    None,
    Atom,
    Rss1,
    Rdf,
    Content,
    Dc,
    Other,
}

fn ns_of(name: &OwnedName) -> Ns {
    match name.namespace.as_deref() {
        None | Some("") => Ns::None,
        Some(NS_ATOM) => Ns::Atom,
        Some(NS_RSS1) => Ns::Rss1,
        Some(NS_RDF) => Ns::Rdf,
        Some(NS_CONTENT) => Ns::Content,
        Some(NS_DC) => Ns::Dc,
        Some(_) => Ns::Other,
    }
}

struct Capture {
    field: Field,
    mode: Mode,
    /// Stack depth of the captured element.
    depth: usize,
    buf: String,
}

#[derive(Default)]
struct ItemBuilder {
    title: Option<String>,
    link: Option<String>,
    /// `true` once a `rel="alternate"` link of an HTML type was seen.
    link_is_html: bool,
    guid: Option<String>,
    guid_is_permalink: bool,
    id: Option<String>,
    about: Option<String>,
    description: Option<String>,
    summary: Option<String>,
    content: Option<String>,
    encoded: Option<String>,
    pub_date: Option<String>,
    published: Option<String>,
    updated: Option<String>,
    dc_date: Option<String>,
}

struct Parser {
    format: Option<FeedFormat>,
    stack: Vec<(Ns, String)>,
    capture: Option<Capture>,
    /// The item being read and the stack depth of its element.
    item: Option<(ItemBuilder, usize)>,
    title: String,
    link: Option<String>,
    link_is_html: bool,
    items: Vec<FeedItem>,
    dropped_items: usize,
}

fn attr<'a>(attributes: &'a [xml::attribute::OwnedAttribute], local: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.name.local_name == local && a.name.namespace.is_none())
        .map(|a| a.value.as_str())
}

fn rdf_about(attributes: &[xml::attribute::OwnedAttribute]) -> Option<&str> {
    attributes
        .iter()
        .find(|a| a.name.local_name == "about" && a.name.namespace.as_deref() == Some(NS_RDF))
        .map(|a| a.value.as_str())
}

/// The capture mode of an Atom text construct from its `type` attribute.
fn atom_mode(attributes: &[xml::attribute::OwnedAttribute]) -> Mode {
    match attr(attributes, "type").map(str::trim) {
        Some("html" | "text/html") => Mode::Html,
        Some("xhtml" | "application/xhtml+xml") => Mode::Xhtml,
        _ => Mode::Text,
    }
}

/// Converts a captured value to plain text according to its mode.
fn to_text(raw: &str, mode: Mode) -> String {
    match mode {
        Mode::Text => raw.trim().to_owned(),
        Mode::RssTitle => collapse_whitespace(&decode_entities(raw)),
        Mode::Html | Mode::Xhtml => html_to_text(raw),
    }
}

/// A link worth keeping: trimmed, non-empty, not too long.
fn clean_link(raw: &str) -> Option<String> {
    let link = raw.trim();
    (!link.is_empty() && link.len() <= MAX_LINK_BYTES).then(|| link.to_owned())
}

fn looks_like_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// 64-bit FNV-1a: a small, stable hash for fallback keys.
fn fnv1a(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn hash_key(data: &str) -> String {
    format!("fnv1a:{:016x}", fnv1a(data.as_bytes()))
}

impl Parser {
    fn new() -> Self {
        Self {
            format: None,
            stack: Vec::new(),
            capture: None,
            item: None,
            title: String::new(),
            link: None,
            link_is_html: false,
            items: Vec::new(),
            dropped_items: 0,
        }
    }

    /// The namespace of the format's own elements.
    fn native(&self) -> Ns {
        match self.format {
            Some(FeedFormat::Rss2) | None => Ns::None,
            Some(FeedFormat::Rss1) => Ns::Rss1,
            Some(FeedFormat::Atom) => Ns::Atom,
        }
    }

    fn is_item_element(&self, ns: Ns, local: &str) -> bool {
        match self.format {
            Some(FeedFormat::Rss2) => ns == Ns::None && local == "item",
            Some(FeedFormat::Rss1) => ns == Ns::Rss1 && local == "item",
            Some(FeedFormat::Atom) => ns == Ns::Atom && local == "entry",
            None => false,
        }
    }

    fn is_channel_element(&self, ns: Ns, local: &str) -> bool {
        match self.format {
            Some(FeedFormat::Rss2) => ns == Ns::None && local == "channel",
            Some(FeedFormat::Rss1) => ns == Ns::Rss1 && local == "channel",
            Some(FeedFormat::Atom) => ns == Ns::Atom && local == "feed",
            None => false,
        }
    }

    fn start(
        &mut self,
        name: &OwnedName,
        attributes: &[xml::attribute::OwnedAttribute],
    ) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(ParseError::TooDeep { max: MAX_DEPTH });
        }
        let ns = ns_of(name);
        let local = name.local_name.as_str();
        if self.stack.is_empty() {
            self.format = Some(match (ns, local) {
                (Ns::None, "rss") => FeedFormat::Rss2,
                (Ns::Rdf, "RDF") => FeedFormat::Rss1,
                (Ns::Atom, "feed") => FeedFormat::Atom,
                _ => {
                    return Err(ParseError::UnknownFormat {
                        root: local.to_owned(),
                    });
                }
            });
        }
        self.stack.push((ns, local.to_owned()));
        let depth = self.stack.len();

        if let Some(capture) = &mut self.capture {
            // Markup inside a captured field: keep tag names so that block
            // elements still become breaks.
            if matches!(capture.mode, Mode::Html | Mode::Xhtml)
                && capture.buf.len() < MAX_CAPTURE_BYTES
            {
                capture.buf.push('<');
                capture.buf.push_str(local);
                capture.buf.push('>');
            }
            return Ok(());
        }

        let parent = depth.checked_sub(2).and_then(|i| self.stack.get(i));
        let parent_is_channel = parent.is_some_and(|(pns, pl)| self.is_channel_element(*pns, pl));
        let native = self.native();
        let is_atom = self.format == Some(FeedFormat::Atom);
        let is_item = self.is_item_element(ns, local);

        match &mut self.item {
            None if is_item => {
                let builder = ItemBuilder {
                    about: rdf_about(attributes).map(str::to_owned),
                    ..ItemBuilder::default()
                };
                self.item = Some((builder, depth));
            }
            None if parent_is_channel => {
                let target = match (ns, local) {
                    (n, "title") if n == native => Some((
                        Field::FeedTitle,
                        if is_atom {
                            atom_mode(attributes)
                        } else {
                            Mode::RssTitle
                        },
                    )),
                    (n, "link") if n == native && !is_atom => Some((Field::FeedLink, Mode::Text)),
                    (Ns::Atom, "link") => {
                        if let Some(href) =
                            alternate_href(attributes, self.link.is_some(), self.link_is_html)
                        {
                            self.link_is_html |= href.1;
                            self.link = Some(href.0);
                        }
                        None
                    }
                    _ => None,
                };
                if let Some((field, mode)) = target {
                    self.capture = Some(Capture {
                        field,
                        mode,
                        depth,
                        buf: String::new(),
                    });
                }
            }
            None => {}
            Some((builder, item_depth)) => {
                if depth != *item_depth + 1 {
                    return Ok(());
                }
                let target = match (ns, local) {
                    (n, "title") if n == native => Some((
                        Field::Title,
                        if is_atom {
                            atom_mode(attributes)
                        } else {
                            Mode::RssTitle
                        },
                    )),
                    (n, "link") if n == native && !is_atom => Some((Field::Link, Mode::Text)),
                    (Ns::Atom, "link") => {
                        if let Some(href) =
                            alternate_href(attributes, builder.link.is_some(), builder.link_is_html)
                        {
                            builder.link_is_html |= href.1;
                            builder.link = Some(href.0);
                        }
                        None
                    }
                    (Ns::None, "guid") if !is_atom => {
                        builder.guid_is_permalink = attr(attributes, "isPermaLink")
                            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
                        Some((Field::Guid, Mode::Text))
                    }
                    (Ns::Atom, "id") if is_atom => Some((Field::Id, Mode::Text)),
                    (n, "description") if n == native && !is_atom => {
                        Some((Field::Description, Mode::Html))
                    }
                    (Ns::Atom, "summary") if is_atom => {
                        Some((Field::Summary, atom_mode(attributes)))
                    }
                    (Ns::Atom, "content") if is_atom && attr(attributes, "src").is_none() => {
                        Some((Field::Content, atom_mode(attributes)))
                    }
                    (Ns::None, "pubDate") if !is_atom => Some((Field::PubDate, Mode::Text)),
                    (Ns::Atom, "published") if is_atom => Some((Field::Published, Mode::Text)),
                    (Ns::Atom, "updated") if is_atom => Some((Field::Updated, Mode::Text)),
                    (Ns::Content, "encoded") => Some((Field::Encoded, Mode::Html)),
                    (Ns::Dc, "date") => Some((Field::DcDate, Mode::Text)),
                    _ => None,
                };
                if let Some((field, mode)) = target {
                    self.capture = Some(Capture {
                        field,
                        mode,
                        depth,
                        buf: String::new(),
                    });
                }
            }
        }
        Ok(())
    }

    fn characters(&mut self, text: &str) {
        let Some(capture) = &mut self.capture else {
            return;
        };
        let room = MAX_CAPTURE_BYTES.saturating_sub(capture.buf.len());
        if room == 0 {
            return;
        }
        let text = truncate_to_boundary(text, room);
        if capture.mode == Mode::Xhtml {
            // The buffer holds markup for `html_to_text`: re-escape the text.
            escape_xml_into(&mut capture.buf, text);
        } else {
            capture.buf.push_str(text);
        }
    }

    fn end(&mut self) {
        let depth = self.stack.len();
        let local = self.stack.pop().map(|(_, l)| l).unwrap_or_default();
        if let Some(capture) = &mut self.capture {
            if capture.depth != depth {
                if matches!(capture.mode, Mode::Html | Mode::Xhtml)
                    && capture.buf.len() < MAX_CAPTURE_BYTES
                {
                    capture.buf.push_str("</");
                    capture.buf.push_str(&local);
                    capture.buf.push('>');
                }
                return;
            }
            if let Some(capture) = self.capture.take() {
                self.store(capture);
            }
            return;
        }
        if self
            .item
            .as_ref()
            .is_some_and(|(_, item_depth)| *item_depth == depth)
            && let Some((builder, _)) = self.item.take()
        {
            if self.items.len() >= MAX_ITEMS {
                self.dropped_items += 1;
            } else if let Some(item) = self.finish_item(builder) {
                self.items.push(item);
            }
        }
    }

    fn store(&mut self, capture: Capture) {
        let value = to_text(&capture.buf, capture.mode);
        match capture.field {
            Field::FeedTitle => self.title = value,
            Field::FeedLink => {
                if self.link.is_none() {
                    self.link = clean_link(&value);
                }
            }
            field => {
                let Some((item, _)) = &mut self.item else {
                    return;
                };
                let slot = match field {
                    Field::Title => &mut item.title,
                    Field::Link => {
                        if item.link.is_none() {
                            item.link = clean_link(&value);
                        }
                        return;
                    }
                    Field::Guid => &mut item.guid,
                    Field::Id => &mut item.id,
                    Field::Description => &mut item.description,
                    Field::Summary => &mut item.summary,
                    Field::Content => &mut item.content,
                    Field::Encoded => &mut item.encoded,
                    Field::PubDate => &mut item.pub_date,
                    Field::Published => &mut item.published,
                    Field::Updated => &mut item.updated,
                    Field::DcDate => &mut item.dc_date,
                    Field::FeedTitle | Field::FeedLink => return,
                };
                if slot.is_none() {
                    *slot = Some(value);
                }
            }
        }
    }

    fn finish_item(&self, b: ItemBuilder) -> Option<FeedItem> {
        let non_empty =
            |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        let title = truncate_with_ellipsis(
            &collapse_whitespace(&b.title.unwrap_or_default()),
            MAX_TITLE_BYTES,
        );
        let permalink_guid = b
            .guid
            .as_deref()
            .filter(|g| b.guid_is_permalink && looks_like_url(g))
            .and_then(clean_link);
        let link = b.link.or(permalink_guid);
        let text = non_empty(&b.encoded)
            .or_else(|| non_empty(&b.content))
            .or_else(|| non_empty(&b.description))
            .or_else(|| non_empty(&b.summary))
            .unwrap_or_default();
        let text = truncate_with_ellipsis(&text, MAX_TEXT_BYTES);
        if title.is_empty() && text.is_empty() && link.is_none() {
            return None;
        }
        let published_ms = b
            .pub_date
            .as_deref()
            .and_then(|d| parse_rfc2822(d).or_else(|| parse_rfc3339(d)))
            .or_else(|| b.published.as_deref().and_then(parse_any))
            .or_else(|| b.updated.as_deref().and_then(parse_any))
            .or_else(|| b.dc_date.as_deref().and_then(parse_any));
        let key = non_empty(&b.guid)
            .or_else(|| non_empty(&b.id))
            .or_else(|| {
                b.about
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| a.trim().to_owned())
            })
            .or_else(|| link.clone())
            .unwrap_or_else(|| {
                if title.is_empty() {
                    hash_key(&text)
                } else {
                    hash_key(&format!("{title}\n{}", link.as_deref().unwrap_or_default()))
                }
            });
        let key = if key.len() > MAX_KEY_BYTES {
            hash_key(&key)
        } else {
            key
        };
        Some(FeedItem {
            key,
            title,
            link,
            text,
            published_ms,
        })
    }
}

/// For an Atom `<link>`: its `href` and whether it is of an HTML type, if it is
/// an alternate link (no `rel`, or `rel="alternate"`) that should replace what we
/// have: the first alternate link, or the first HTML one after non-HTML ones.
fn alternate_href(
    attributes: &[xml::attribute::OwnedAttribute],
    have_any: bool,
    have_html: bool,
) -> Option<(String, bool)> {
    let rel = attr(attributes, "rel")
        .map(str::trim)
        .unwrap_or("alternate");
    if rel != "alternate" && rel != "http://www.iana.org/assignments/relation/alternate" {
        return None;
    }
    let href = clean_link(attr(attributes, "href")?)?;
    let is_html = attr(attributes, "type").is_none_or(|t| t.contains("html"));
    (!have_any || (!have_html && is_html)).then_some((href, is_html))
}

fn reader_config() -> ParserConfig2 {
    let mut config = ParserConfig::new()
        .trim_whitespace(false)
        .whitespace_to_characters(true)
        .cdata_to_characters(true)
        .ignore_comments(true)
        .coalesce_characters(true)
        .ignore_root_level_whitespace(true);
    for (name, c) in HTML_ENTITIES.iter().skip(5) {
        config = config.add_entity(*name, c.to_string());
    }
    ParserConfig2::from(config)
        .max_entity_expansion_depth(MAX_ENTITY_DEPTH)
        .max_entity_expansion_length(MAX_ENTITY_EXPANSION)
        .max_data_length(MAX_DOCUMENT_BYTES)
        .max_attribute_length(MAX_CAPTURE_BYTES)
        .max_attributes(256)
        .allow_multiple_root_elements(false)
        .ignore_invalid_encoding_declarations(true)
}

fn xml_error(error: &xml::reader::Error) -> ParseError {
    use xml::common::Position;
    let pos = error.position();
    ParseError::Xml {
        line: pos.row + 1,
        column: pos.column + 1,
        message: error.msg().to_owned(),
    }
}

/// Parses an RSS 2.0, RSS 1.0 or Atom 1.0 document.
///
/// # Errors
///
/// [`ParseError::TooLarge`] over [`MAX_DOCUMENT_BYTES`], [`ParseError::Xml`] for
/// malformed XML (including unknown entities and excessive entity expansion),
/// [`ParseError::TooDeep`] past [`MAX_DEPTH`], and [`ParseError::UnknownFormat`]
/// when the root element is not a feed.
pub fn parse_feed(document: &[u8]) -> Result<ParsedFeed, ParseError> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(ParseError::TooLarge {
            size: document.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    let mut parser = Parser::new();
    let reader = EventReader::new_with_config(document, reader_config());
    for event in reader {
        match event.map_err(|e| xml_error(&e))? {
            XmlEvent::StartElement {
                name, attributes, ..
            } => parser.start(&name, &attributes)?,
            XmlEvent::EndElement { .. } => parser.end(),
            XmlEvent::Characters(text) | XmlEvent::CData(text) | XmlEvent::Whitespace(text) => {
                parser.characters(&text);
            }
            XmlEvent::EndDocument => break,
            _ => {}
        }
    }
    let Some(format) = parser.format else {
        return Err(ParseError::UnknownFormat {
            root: String::new(),
        });
    };
    Ok(ParsedFeed {
        format,
        title: parser.title,
        link: parser.link,
        items: parser.items,
        dropped_items: parser.dropped_items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn atom_modes_follow_the_type_attribute() {
        let mk = |t: &str| {
            vec![xml::attribute::OwnedAttribute::new(
                OwnedName::local("type"),
                t,
            )]
        };
        assert_eq!(atom_mode(&mk("html")), Mode::Html);
        assert_eq!(atom_mode(&mk("xhtml")), Mode::Xhtml);
        assert_eq!(atom_mode(&mk("text")), Mode::Text);
        assert_eq!(atom_mode(&[]), Mode::Text);
    }
}
