//! Feed parsing: the three formats, namespaces, HTML, dates, keys, limits, and
//! hostile documents.

use std::time::{Duration, Instant};

use kith_feeds::parse::{
    FeedFormat, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_ITEMS, MAX_TEXT_BYTES, ParseError, parse_feed,
};

const RSS2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:a="http://www.w3.org/2005/Atom">
  <channel>
    <title>Liftoff &amp; News</title>
    <link>http://liftoff.msfc.nasa.gov/</link>
    <a:link rel="self" href="http://liftoff.msfc.nasa.gov/rss.xml" type="application/rss+xml"/>
    <description>Liftoff to Space Exploration.</description>
    <image><title>not the feed title</title><link>http://example.invalid/img</link></image>
    <item>
      <title>Star City</title>
      <link>http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp</link>
      <description>How do Americans get ready to work with Russians aboard the
        International Space Station? They take a crash course in culture, language
        and protocol at Russia's &lt;a href="http://howe.iki.rssi.ru/GCTC/gctc_e.htm"&gt;Star City&lt;/a&gt;.</description>
      <pubDate>Tue, 03 Jun 2003 09:39:21 GMT</pubDate>
      <guid>http://liftoff.msfc.nasa.gov/2003/06/03.html#item573</guid>
    </item>
    <item>
      <title><![CDATA[Rich <content> & CDATA]]></title>
      <description>short summary</description>
      <content:encoded><![CDATA[<p>First <b>paragraph</b> &amp; more.</p><p>Second&nbsp;one<br>with a break.</p><script>evil()</script>]]></content:encoded>
      <dc:date>2003-06-10T04:00:00+02:00</dc:date>
      <guid isPermaLink="false">urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</guid>
      <a:link rel="alternate" href="http://example.invalid/rich"/>
    </item>
    <item>
      <description>No title, no link, no guid: keyed by a hash.</description>
      <pubDate>Wed, 11 Jun 2003 06:00:00 +0200</pubDate>
    </item>
    <item>
      <guid>http://example.invalid/permalink-only</guid>
      <title>Guid as link</title>
    </item>
    <item><title>   </title></item>
  </channel>
</rss>"#;

#[test]
fn rss2_items_are_parsed() {
    let feed = parse_feed(RSS2.as_bytes()).expect("parses");
    assert_eq!(feed.format, FeedFormat::Rss2);
    assert_eq!(feed.title, "Liftoff & News");
    assert_eq!(feed.link.as_deref(), Some("http://liftoff.msfc.nasa.gov/"));
    // The all-blank item is skipped.
    assert_eq!(feed.items.len(), 4);

    let first = &feed.items[0];
    assert_eq!(
        first.key,
        "http://liftoff.msfc.nasa.gov/2003/06/03.html#item573"
    );
    assert_eq!(first.title, "Star City");
    assert_eq!(
        first.link.as_deref(),
        Some("http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp")
    );
    assert_eq!(
        first.text,
        "How do Americans get ready to work with Russians aboard the International Space \
         Station? They take a crash course in culture, language and protocol at Russia's Star City."
    );
    assert_eq!(first.published_ms, Some(1_054_633_161_000));

    let second = &feed.items[1];
    assert_eq!(second.key, "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a");
    assert_eq!(second.title, "Rich <content> & CDATA");
    // content:encoded wins over description; HTML becomes text with paragraphs.
    assert_eq!(
        second.text,
        "First paragraph & more.\n\nSecond one\nwith a break."
    );
    assert_eq!(second.link.as_deref(), Some("http://example.invalid/rich"));
    assert_eq!(second.published_ms, Some(1_055_210_400_000));

    let third = &feed.items[2];
    assert!(third.key.starts_with("fnv1a:"), "{}", third.key);
    assert_eq!(third.title, "");
    assert_eq!(third.link, None);
    assert_eq!(third.published_ms, Some(1_055_304_000_000));

    let fourth = &feed.items[3];
    assert_eq!(
        fourth.link.as_deref(),
        Some("http://example.invalid/permalink-only")
    );
}

#[test]
fn keys_are_stable_across_parses() {
    let a = parse_feed(RSS2.as_bytes()).expect("parses");
    let b = parse_feed(RSS2.as_bytes()).expect("parses");
    let keys =
        |f: &kith_feeds::ParsedFeed| f.items.iter().map(|i| i.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b));
    // And the hash key does not depend on anything but the content.
    assert_eq!(a.items[2].key, "fnv1a:".to_owned() + &a.items[2].key[6..]);
}

const RSS1: &str = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
         xmlns:c="http://purl.org/rss/1.0/modules/content/">
  <channel rdf:about="http://www.xml.com/xml/news.rss">
    <title>XML.com</title>
    <link>http://xml.com/pub</link>
    <items><rdf:Seq><rdf:li resource="http://xml.com/pub/2000/08/09/xslt/xslt.html" /></rdf:Seq></items>
  </channel>
  <item rdf:about="http://xml.com/pub/2000/08/09/xslt/xslt.html">
    <title>Processing Inclusions with XSLT</title>
    <link>http://xml.com/pub/2000/08/09/xslt/xslt.html</link>
    <description>Processing document inclusions with general XML tools can be problematic.</description>
    <dc:date>2000-08-09T12:00:00Z</dc:date>
  </item>
  <item rdf:about="urn:x-test:2">
    <title>Second</title>
    <c:encoded>&lt;p&gt;Encoded body&lt;/p&gt;</c:encoded>
  </item>
</rdf:RDF>"#;

#[test]
fn rss1_items_are_parsed() {
    let feed = parse_feed(RSS1.as_bytes()).expect("parses");
    assert_eq!(feed.format, FeedFormat::Rss1);
    assert_eq!(feed.title, "XML.com");
    assert_eq!(feed.link.as_deref(), Some("http://xml.com/pub"));
    assert_eq!(feed.items.len(), 2);
    assert_eq!(
        feed.items[0].key,
        "http://xml.com/pub/2000/08/09/xslt/xslt.html"
    );
    assert_eq!(feed.items[0].title, "Processing Inclusions with XSLT");
    assert_eq!(
        feed.items[0].text,
        "Processing document inclusions with general XML tools can be problematic."
    );
    assert_eq!(feed.items[0].published_ms, Some(965_822_400_000));
    assert_eq!(feed.items[1].key, "urn:x-test:2");
    assert_eq!(feed.items[1].text, "Encoded body");
    assert_eq!(feed.items[1].link, None);
}

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<atom:feed xmlns:atom="http://www.w3.org/2005/Atom">
  <atom:title type="html">Example &lt;i&gt;Feed&lt;/i&gt;</atom:title>
  <atom:link href="http://example.org/feed.atom" rel="self"/>
  <atom:link href="http://example.org/feed.json" rel="alternate" type="application/json"/>
  <atom:link href="http://example.org/"/>
  <atom:updated>2003-12-13T18:30:02Z</atom:updated>
  <atom:author><atom:name>John Doe</atom:name></atom:author>
  <atom:id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</atom:id>
  <atom:entry>
    <atom:title>Atom-Powered Robots Run Amok</atom:title>
    <atom:link href="http://example.org/2003/12/13/atom03"/>
    <atom:link rel="edit" href="http://example.org/edit/1"/>
    <atom:id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</atom:id>
    <atom:updated>2003-12-13T18:30:02Z</atom:updated>
    <atom:summary>Some text.</atom:summary>
  </atom:entry>
  <atom:entry>
    <atom:title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <em>XHTML</em> title</div></atom:title>
    <atom:id>tag:example.org,2003:3.2397</atom:id>
    <atom:published>2003-12-13T08:29:29-04:00</atom:published>
    <atom:updated>2005-07-31T12:29:29Z</atom:updated>
    <atom:summary>ignored, content wins</atom:summary>
    <atom:content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>One &amp; <b>two</b> &lt;three&gt;</p><p>Four</p></div></atom:content>
  </atom:entry>
  <atom:entry>
    <atom:title>HTML content</atom:title>
    <atom:id>urn:x:3</atom:id>
    <atom:updated>2005-07-31T12:29:29Z</atom:updated>
    <atom:content type="html">&lt;p&gt;Hello&lt;/p&gt;&lt;p&gt;World&lt;/p&gt;</atom:content>
  </atom:entry>
</atom:feed>"#;

#[test]
fn atom_entries_are_parsed_with_prefixes_and_content_types() {
    let feed = parse_feed(ATOM.as_bytes()).expect("parses");
    assert_eq!(feed.format, FeedFormat::Atom);
    assert_eq!(feed.title, "Example Feed");
    // rel=self and a JSON alternate are passed over for the HTML alternate.
    assert_eq!(feed.link.as_deref(), Some("http://example.org/"));
    assert_eq!(feed.items.len(), 3);

    let first = &feed.items[0];
    assert_eq!(first.key, "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a");
    assert_eq!(first.title, "Atom-Powered Robots Run Amok");
    assert_eq!(
        first.link.as_deref(),
        Some("http://example.org/2003/12/13/atom03")
    );
    assert_eq!(first.text, "Some text.");
    // No <published>: <updated> is used.
    assert_eq!(first.published_ms, Some(1_071_340_202_000));

    let second = &feed.items[1];
    assert_eq!(second.title, "An XHTML title");
    assert_eq!(second.text, "One & two <three>\n\nFour");
    assert_eq!(second.published_ms, Some(1_071_318_569_000));
    assert_eq!(second.link, None);

    assert_eq!(feed.items[2].text, "Hello\n\nWorld");
}

#[test]
fn element_names_are_matched_by_namespace_not_prefix() {
    // An RSS document whose "content:encoded" is bound to a different namespace
    // must not be taken as content, and one bound under another prefix must.
    let doc = r#"<rss xmlns:content="urn:not-content" xmlns:x="http://purl.org/rss/1.0/modules/content/"><channel>
        <item><title>t</title><description>desc</description>
        <content:encoded>wrong</content:encoded></item>
        <item><title>u</title><description>desc</description>
        <x:encoded>right</x:encoded></item></channel></rss>"#;
    let feed = parse_feed(doc.as_bytes()).expect("parses");
    assert_eq!(feed.items[0].text, "desc");
    assert_eq!(feed.items[1].text, "right");
}

#[test]
fn common_html_entities_in_xml_do_not_fail_the_feed() {
    let doc =
        "<rss><channel><item><title>a&nbsp;b &mdash; c&hellip;</title></item></channel></rss>";
    let feed = parse_feed(doc.as_bytes()).expect("parses");
    assert_eq!(
        feed.items[0].title, "a b — c…",
        "nbsp collapses like any whitespace in a title"
    );
}

#[test]
fn long_text_is_truncated_on_a_char_boundary() {
    let body = "é".repeat(5000);
    let doc = format!(
        "<rss><channel><item><title>x</title><description>{body}</description></item></channel></rss>"
    );
    let feed = parse_feed(doc.as_bytes()).expect("parses");
    let text = &feed.items[0].text;
    assert!(text.len() <= MAX_TEXT_BYTES, "{}", text.len());
    assert!(text.len() > MAX_TEXT_BYTES - 8);
    assert!(text.ends_with('…'));
    assert!(text.trim_end_matches('…').chars().all(|c| c == 'é'));
}

#[test]
fn item_count_is_capped() {
    let mut doc = String::from("<rss><channel>");
    for i in 0..MAX_ITEMS + 20 {
        doc.push_str(&format!("<item><guid>g{i}</guid><title>t</title></item>"));
    }
    doc.push_str("</channel></rss>");
    let feed = parse_feed(doc.as_bytes()).expect("parses");
    assert_eq!(feed.items.len(), MAX_ITEMS);
    assert_eq!(feed.dropped_items, 20);
    assert_eq!(feed.items[0].key, "g0");
    assert_eq!(feed.items[MAX_ITEMS - 1].key, format!("g{}", MAX_ITEMS - 1));
}

#[test]
fn oversized_documents_are_refused_before_parsing() {
    let doc = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert_eq!(
        parse_feed(&doc),
        Err(ParseError::TooLarge {
            size: MAX_DOCUMENT_BYTES + 1,
            max: MAX_DOCUMENT_BYTES
        })
    );
}

#[test]
fn deep_nesting_is_an_error() {
    let depth = MAX_DEPTH + 10;
    let doc = format!("<rss>{}{}</rss>", "<x>".repeat(depth), "</x>".repeat(depth));
    assert_eq!(
        parse_feed(doc.as_bytes()),
        Err(ParseError::TooDeep { max: MAX_DEPTH })
    );
}

#[test]
fn malformed_xml_is_a_typed_error() {
    for doc in [
        "",
        "<rss><channel><item><title>x</item></channel></rss>",
        "<rss><channel>",
        "<rss><channel><title>a & b</title></channel></rss>",
        "<rss><channel><title>&undefined;</title></channel></rss>",
        "<rss></rss><rss></rss>",
        "\u{FEFF}\u{0}<rss/>",
    ] {
        assert!(
            matches!(parse_feed(doc.as_bytes()), Err(ParseError::Xml { .. })),
            "{doc:?}"
        );
    }
    assert!(matches!(
        parse_feed(&[0xff, 0xfe, 0x00, 0x3c]),
        Err(ParseError::Xml { .. })
    ));
}

#[test]
fn non_feed_documents_are_refused() {
    assert_eq!(
        parse_feed(b"<html><body>hi</body></html>"),
        Err(ParseError::UnknownFormat {
            root: "html".into()
        })
    );
    // <feed> outside the Atom namespace is not Atom.
    assert_eq!(
        parse_feed(b"<feed/>"),
        Err(ParseError::UnknownFormat {
            root: "feed".into()
        })
    );
}

#[test]
fn external_entities_are_not_loaded() {
    let doc = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
  <!ENTITY remote SYSTEM "http://127.0.0.1:9/evil.dtd">
]>
<rss><channel><item><title>a&xxe;b</title><description>c&remote;d</description></item></channel></rss>"#;
    // SYSTEM entities are recognised but expand to nothing.
    let feed = parse_feed(doc.as_bytes()).expect("parses without loading anything");
    assert_eq!(feed.items[0].title, "ab");
    assert_eq!(feed.items[0].text, "cd");
    // An external DTD subset is not fetched either (nothing listens on port 9).
    let doc = r#"<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/rss.dtd"><rss><channel><item><title>t</title></item></channel></rss>"#;
    let feed = parse_feed(doc.as_bytes()).expect("the DTD reference is ignored");
    assert_eq!(feed.items[0].title, "t");
}

#[test]
fn billion_laughs_fails_fast() {
    let doc = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss><channel><item><title>&lol9;</title></item></channel></rss>"#;
    let started = Instant::now();
    let result = parse_feed(doc.as_bytes());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(result, Err(ParseError::Xml { .. })), "{result:?}");
}

#[test]
fn a_few_internal_entities_still_work() {
    let doc = r#"<!DOCTYPE rss [<!ENTITY me "Ada">]><rss><channel><item><title>by &me;</title></item></channel></rss>"#;
    let feed = parse_feed(doc.as_bytes()).expect("parses");
    assert_eq!(feed.items[0].title, "by Ada");
}

#[test]
fn garbage_never_panics() {
    // A cheap fuzz: every prefix of the sample documents, and some byte flips.
    for doc in [RSS2, RSS1, ATOM] {
        let bytes = doc.as_bytes();
        for end in (0..bytes.len()).step_by(7) {
            let _ = parse_feed(&bytes[..end]);
        }
        let mut flipped = bytes.to_vec();
        for i in (0..flipped.len()).step_by(13) {
            flipped[i] = flipped[i].wrapping_add(0x5b);
            let _ = parse_feed(&flipped);
        }
    }
}
