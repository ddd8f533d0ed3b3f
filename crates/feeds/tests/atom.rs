//! Atom rendering: the output is well-formed XML with every element RFC 4287
//! requires, escapes hostile text, and round-trips through our own parser.

use kith_feeds::atom::{ATOM_NS, AtomEntry, AtomFeed, InReplyTo, THREAD_NS, render_atom};
use kith_feeds::date::parse_rfc3339;
use kith_feeds::parse::{FeedFormat, parse_feed};
use xml::reader::{EventReader, XmlEvent};

/// A tiny DOM built with xml-rs, enough to check structure.
#[derive(Debug, Default)]
struct Element {
    ns: Option<String>,
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn children(&self, ns: &str, name: &str) -> Vec<&Element> {
        self.children
            .iter()
            .filter(|c| c.ns.as_deref() == Some(ns) && c.name == name)
            .collect()
    }

    fn child(&self, ns: &str, name: &str) -> &Element {
        self.children(ns, name)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no <{name}> in <{}>", self.name))
    }

    fn count(&self, ns: &str, name: &str) -> usize {
        self.children(ns, name).len()
    }
}

/// Parses with a plain, strict xml-rs reader (not our feed parser).
fn dom(xml: &str) -> Element {
    let mut stack = vec![Element::default()];
    for event in EventReader::new(xml.as_bytes()) {
        match event.expect("rendered Atom must be well-formed XML") {
            XmlEvent::StartElement {
                name, attributes, ..
            } => stack.push(Element {
                ns: name.namespace.clone(),
                name: name.local_name.clone(),
                attrs: attributes
                    .iter()
                    .map(|a| (a.name.local_name.clone(), a.value.clone()))
                    .collect(),
                ..Element::default()
            }),
            XmlEvent::EndElement { .. } => {
                let done = stack.pop().expect("balanced");
                stack.last_mut().expect("parent").children.push(done);
            }
            XmlEvent::Characters(t) | XmlEvent::CData(t) => {
                stack.last_mut().expect("open element").text.push_str(&t);
            }
            _ => {}
        }
    }
    let mut document = stack.pop().expect("document");
    assert_eq!(document.children.len(), 1, "exactly one root element");
    document.children.remove(0)
}

const HOSTILE: &str =
    "Tom & Jerry <script>alert(\"x\")</script> it's \u{1}\u{8}\u{B}\u{1F}\u{FFFE}\u{FFFF}ok\ttab";
const HOSTILE_CLEAN: &str = "Tom & Jerry <script>alert(\"x\")</script> it's ok\ttab";

fn sample_feed() -> AtomFeed {
    AtomFeed {
        id: "kith:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into(),
        title: "Ada's \"posts\" & <things>".into(),
        subtitle: Some("bio".into()),
        author_name: "Ada <Lovelace>".into(),
        author_uri: Some("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into()),
        self_url: "http://127.0.0.1:8080/feeds/did:key:z6Mk.atom?a=1&b=2".into(),
        alternate_url: Some("http://127.0.0.1:8080/@ada".into()),
        updated_ms: 1_709_164_800_000,
        entries: vec![
            AtomEntry {
                id: "kith:bafyreione".into(),
                title: None,
                content_text: format!("{HOSTILE}\nsecond line"),
                published_ms: 1_709_164_800_000,
                updated_ms: 1_709_164_800_500,
                link: "http://127.0.0.1:8080/entries/bafyreione?x=1&y='2'".into(),
                in_reply_to: None,
                author_name: None,
                author_uri: None,
            },
            AtomEntry {
                id: "kith:bafyreitwo".into(),
                title: Some("A reply".into()),
                content_text: "Agreed.\n\nSecond paragraph.".into(),
                published_ms: 0,
                updated_ms: 0,
                link: "http://127.0.0.1:8080/entries/bafyreitwo".into(),
                in_reply_to: Some(InReplyTo {
                    ref_uri: "kith:bafyreiparent".into(),
                    href: Some("http://127.0.0.1:8080/entries/bafyreiparent".into()),
                }),
                author_name: Some("Bob".into()),
                author_uri: Some("did:key:z6MkBob".into()),
            },
        ],
    }
}

#[test]
fn rendered_atom_has_all_required_elements() {
    let feed = sample_feed();
    let root = dom(&render_atom(&feed));
    assert_eq!(
        (root.ns.as_deref(), root.name.as_str()),
        (Some(ATOM_NS), "feed")
    );
    assert_eq!(root.count(ATOM_NS, "id"), 1);
    assert_eq!(root.child(ATOM_NS, "id").text, feed.id);
    assert_eq!(root.count(ATOM_NS, "title"), 1);
    assert_eq!(root.child(ATOM_NS, "title").text, feed.title);
    assert_eq!(root.count(ATOM_NS, "updated"), 1);
    assert_eq!(root.child(ATOM_NS, "updated").text, "2024-02-29T00:00:00Z");
    let author = root.child(ATOM_NS, "author");
    assert_eq!(author.child(ATOM_NS, "name").text, "Ada <Lovelace>");
    assert_eq!(
        author.child(ATOM_NS, "uri").text,
        feed.author_uri.clone().unwrap_or_default()
    );
    let links: Vec<&Element> = root.children(ATOM_NS, "link");
    let self_link = links
        .iter()
        .find(|l| l.attr("rel") == Some("self"))
        .expect("rel=self link");
    assert_eq!(self_link.attr("href"), Some(feed.self_url.as_str()));
    let alternate = links
        .iter()
        .find(|l| l.attr("rel") == Some("alternate"))
        .expect("alternate link");
    assert_eq!(alternate.attr("href"), feed.alternate_url.as_deref());

    let entries: Vec<&Element> = root.children(ATOM_NS, "entry");
    assert_eq!(entries.len(), 2);
    for (entry, source) in entries.iter().zip(&feed.entries) {
        assert_eq!(entry.count(ATOM_NS, "id"), 1);
        assert_eq!(entry.child(ATOM_NS, "id").text, source.id);
        assert_eq!(entry.count(ATOM_NS, "title"), 1);
        assert_eq!(entry.count(ATOM_NS, "updated"), 1);
        let updated = &entry.child(ATOM_NS, "updated").text;
        assert_eq!(parse_rfc3339(updated), Some(source.updated_ms));
        let published = &entry.child(ATOM_NS, "published").text;
        assert_eq!(parse_rfc3339(published), Some(source.published_ms));
        let content = entry.child(ATOM_NS, "content");
        assert_eq!(content.attr("type"), Some("text"));
        let link = entry.child(ATOM_NS, "link");
        assert_eq!(link.attr("rel"), Some("alternate"));
        assert_eq!(link.attr("href"), Some(source.link.as_str()));
    }
    assert_eq!(
        entries[1].child(ATOM_NS, "published").text,
        "1970-01-01T00:00:00Z"
    );
}

#[test]
fn hostile_text_is_escaped_and_illegal_characters_removed() {
    let xml = render_atom(&sample_feed());
    for c in ['\u{1}', '\u{8}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
        assert!(!xml.contains(c), "{c:?} left in output");
    }
    assert!(!xml.contains("<script>"));
    let root = dom(&xml);
    let entry = root.child(ATOM_NS, "entry");
    assert_eq!(
        entry.child(ATOM_NS, "content").text,
        format!("{HOSTILE_CLEAN}\nsecond line")
    );
    // The untitled entry's title is its first line.
    assert_eq!(
        entry.child(ATOM_NS, "title").text,
        HOSTILE_CLEAN.replace('\t', " ")
    );
    // Attribute values with & and ' survive.
    let href = entry.child(ATOM_NS, "link").attr("href").map(str::to_owned);
    assert_eq!(
        href.as_deref(),
        Some("http://127.0.0.1:8080/entries/bafyreione?x=1&y='2'")
    );
}

#[test]
fn replies_carry_thr_in_reply_to() {
    let root = dom(&render_atom(&sample_feed()));
    let entries: Vec<&Element> = root.children(ATOM_NS, "entry");
    assert_eq!(entries[0].count(THREAD_NS, "in-reply-to"), 0);
    let reply = entries[1].child(THREAD_NS, "in-reply-to");
    assert_eq!(reply.attr("ref"), Some("kith:bafyreiparent"));
    assert_eq!(
        reply.attr("href"),
        Some("http://127.0.0.1:8080/entries/bafyreiparent")
    );
    let author = entries[1].child(ATOM_NS, "author");
    assert_eq!(author.child(ATOM_NS, "name").text, "Bob");
}

#[test]
fn rendered_atom_round_trips_through_the_parser() {
    let feed = sample_feed();
    let parsed = parse_feed(render_atom(&feed).as_bytes()).expect("parses");
    assert_eq!(parsed.format, FeedFormat::Atom);
    assert_eq!(parsed.title, feed.title);
    assert_eq!(parsed.link.as_deref(), feed.alternate_url.as_deref());
    assert_eq!(parsed.items.len(), feed.entries.len());
    for (item, entry) in parsed.items.iter().zip(&feed.entries) {
        assert_eq!(item.key, entry.id);
        assert_eq!(item.link.as_deref(), Some(entry.link.as_str()));
        assert_eq!(item.published_ms, Some(entry.published_ms));
        let expected_text: String = entry
            .content_text
            .chars()
            .filter(|c| {
                !matches!(
                    c,
                    '\u{1}' | '\u{8}' | '\u{B}' | '\u{1F}' | '\u{FFFE}' | '\u{FFFF}'
                )
            })
            .collect();
        assert_eq!(item.text, expected_text);
    }
    assert_eq!(parsed.items[1].title, "A reply");
    assert_eq!(parsed.items[1].text, "Agreed.\n\nSecond paragraph.");
}

#[test]
fn an_empty_feed_is_still_valid_atom() {
    let feed = AtomFeed {
        id: "kith:did:key:z6MkEmpty".into(),
        title: String::new(),
        author_name: "x".into(),
        self_url: "http://127.0.0.1/feeds/x.atom".into(),
        ..AtomFeed::default()
    };
    let root = dom(&render_atom(&feed));
    assert_eq!(root.count(ATOM_NS, "entry"), 0);
    assert_eq!(root.child(ATOM_NS, "updated").text, "1970-01-01T00:00:00Z");
    let parsed = parse_feed(render_atom(&feed).as_bytes()).expect("parses");
    assert!(parsed.items.is_empty());
}
