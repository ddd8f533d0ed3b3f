//! Text helpers shared by the renderer and the parser: XML escaping, char-boundary
//! truncation, entity decoding and HTML-to-plain-text conversion.

/// Whether `c` may appear in an XML 1.0 document (the `Char` production):
/// tab, newline, carriage return, and everything from U+0020 up except the
/// non-characters U+FFFE and U+FFFF (surrogates cannot occur in a Rust `char`).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` to `out`, escaping `& < > " '` and dropping characters that XML
/// 1.0 does not allow. The result is safe in element content and in attribute
/// values quoted with either `"` or `'`.
pub(crate) fn escape_xml_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// [`escape_xml_into`] into a new string.
#[cfg(test)]
pub(crate) fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_xml_into(&mut out, text);
    out
}

/// The longest prefix of `text` that is at most `max_bytes` long and ends on a
/// char boundary.
pub(crate) fn truncate_to_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Cuts `text` to at most `max_bytes` bytes on a char boundary, ending it with
/// `…` when something was cut (the ellipsis counts towards the limit).
pub(crate) fn truncate_with_ellipsis(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    const ELLIPSIS: &str = "…";
    if max_bytes < ELLIPSIS.len() {
        return truncate_to_boundary(text, max_bytes).to_owned();
    }
    let mut cut = truncate_to_boundary(text, max_bytes - ELLIPSIS.len())
        .trim_end()
        .to_owned();
    cut.push_str(ELLIPSIS);
    cut
}

/// Collapses every run of whitespace to one space and trims the ends; used for
/// titles, which are one line.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Named HTML character references understood in feed text: the XML five plus
/// the ones common in feeds. The parser also declares these (except the XML
/// five) to the XML reader, so stray `&nbsp;` in a feed does not fail it.
pub(crate) const HTML_ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{A0}'),
    ("shy", '\u{AD}'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("deg", '°'),
    ("plusmn", '±'),
    ("times", '×'),
    ("divide", '÷'),
    ("middot", '·'),
    ("para", '¶'),
    ("sect", '§'),
    ("euro", '€'),
    ("pound", '£'),
    ("yen", '¥'),
    ("cent", '¢'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("lsquo", '\u{2018}'),
    ("rsquo", '\u{2019}'),
    ("sbquo", '\u{201A}'),
    ("ldquo", '\u{201C}'),
    ("rdquo", '\u{201D}'),
    ("bdquo", '\u{201E}'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("hellip", '…'),
    ("bull", '•'),
    ("prime", '′'),
    ("iexcl", '¡'),
    ("iquest", '¿'),
    ("auml", 'ä'),
    ("ouml", 'ö'),
    ("uuml", 'ü'),
    ("Auml", 'Ä'),
    ("Ouml", 'Ö'),
    ("Uuml", 'Ü'),
    ("szlig", 'ß'),
    ("eacute", 'é'),
    ("egrave", 'è'),
    ("ecirc", 'ê'),
    ("aacute", 'á'),
    ("agrave", 'à'),
    ("acirc", 'â'),
    ("iacute", 'í'),
    ("oacute", 'ó'),
    ("uacute", 'ú'),
    ("ntilde", 'ñ'),
    ("ccedil", 'ç'),
    ("Eacute", 'É'),
    ("zwj", '\u{200D}'),
    ("zwnj", '\u{200C}'),
];

fn named_entity(name: &str) -> Option<char> {
    HTML_ENTITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

/// Decodes the body of a character reference (`amp`, `#38`, `#x26`), or `None`
/// if it is unknown or names a character XML does not allow.
pub(crate) fn decode_reference(body: &str) -> Option<char> {
    let c = if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        char::from_u32(code)?
    } else {
        named_entity(body)?
    };
    is_xml_char(c).then_some(c)
}

/// Finds a character reference at the start of `rest` (which begins with `&`):
/// returns the decoded char and the reference's length in bytes.
fn reference_at(rest: &str) -> Option<(char, usize)> {
    let body_and_more = rest.get(1..)?;
    let end = body_and_more.bytes().take(32).position(|b| b == b';')?;
    let body = &body_and_more[..end];
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#') {
        return None;
    }
    decode_reference(body).map(|c| (c, end + 2))
}

/// Replaces HTML character references (`&amp;`, `&#8217;`, `&hellip;` …) in plain
/// text; unknown ones are left as they are.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(offset) = text[i..].find('&') {
        out.push_str(&text[i..i + offset]);
        i += offset;
        match reference_at(&text[i..]) {
            Some((c, len)) => {
                out.push(c);
                i += len;
            }
            None => {
                out.push('&');
                i += 1;
            }
        }
    }
    out.push_str(&text[i..]);
    out
}

/// The kind of break an HTML element causes in plain text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    None,
    Space,
    Line,
    Paragraph,
}

fn element_break(name: &str) -> Break {
    match name {
        "br" | "li" | "tr" | "dt" | "dd" | "option" | "figcaption" | "caption" => Break::Line,
        "p" | "div" | "blockquote" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "ul"
        | "ol" | "dl" | "table" | "hr" | "section" | "article" | "header" | "footer" | "aside"
        | "nav" | "figure" | "address" | "main" | "details" | "summary" => Break::Paragraph,
        "td" | "th" | "img" => Break::Space,
        _ => Break::None,
    }
}

/// Plain-text output with collapsed whitespace and pending breaks.
struct TextOut {
    text: String,
    pending: Break,
}

impl TextOut {
    fn push(&mut self, c: char) {
        if c.is_whitespace() || c.is_control() {
            self.pending = self.pending.max(Break::Space);
            return;
        }
        if !self.text.is_empty() {
            match self.pending {
                Break::None => {}
                Break::Space => self.text.push(' '),
                Break::Line => self.text.push('\n'),
                Break::Paragraph => self.text.push_str("\n\n"),
            }
        }
        self.pending = Break::None;
        self.text.push(c);
    }

    fn brk(&mut self, b: Break) {
        self.pending = self.pending.max(b);
    }
}

/// Tags longer than this are not looked for, which keeps [`html_to_text`]
/// linear on adversarial input such as many unclosed `<a '`.
const MAX_TAG_BYTES: usize = 4096;

/// Byte index just past the `>` closing a tag that starts at `start` (the `<`),
/// skipping quoted attribute values; `None` if the tag does not close within
/// [`MAX_TAG_BYTES`].
fn tag_end(html: &str, start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, b) in html.bytes().enumerate().skip(start + 1).take(MAX_TAG_BYTES) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i + 1),
            (None, _) => {}
        }
    }
    None
}

/// Case-insensitive search for `needle` (ASCII) in `haystack` from `from`.
fn find_ascii_ci(haystack: &str, from: usize, needle: &str) -> Option<usize> {
    let hay = haystack.as_bytes();
    let n = needle.as_bytes();
    (from..hay.len().saturating_sub(n.len() - 1))
        .find(|&i| hay[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Converts an HTML fragment to plain text: drops tags, comments, scripts and
/// styles, decodes character references, collapses whitespace, and turns block
/// elements into paragraph breaks (`\n\n`) and `<br>`/`<li>` into line breaks.
/// A `<` that does not start a tag is kept as text.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = TextOut {
        text: String::with_capacity(html.len()),
        pending: Break::None,
    };
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < html.len() {
        let b = bytes[i];
        if b == b'<' {
            let next = bytes.get(i + 1).copied();
            if html[i..].starts_with("<!--") {
                i = html[i + 4..]
                    .find("-->")
                    .map_or(html.len(), |e| i + 4 + e + 3);
                continue;
            }
            if matches!(next, Some(b'!' | b'?')) {
                i = tag_end(html, i).unwrap_or(html.len());
                continue;
            }
            if next.is_some_and(|n| n.is_ascii_alphabetic() || n == b'/')
                && let Some(end) = tag_end(html, i)
            {
                let inner = &html[i + 1..end - 1];
                let closing = inner.starts_with('/');
                let name: String = inner
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
                i = end;
                if !closing && matches!(name.as_str(), "script" | "style" | "template") {
                    // Skip the element's content up to its end tag.
                    let close = format!("</{name}");
                    i = match find_ascii_ci(html, i, &close) {
                        Some(at) => tag_end(html, at).unwrap_or(html.len()),
                        None => html.len(),
                    };
                    continue;
                }
                out.brk(element_break(&name));
                continue;
            }
            out.push('<');
            i += 1;
            continue;
        }
        if b == b'&'
            && let Some((c, len)) = reference_at(&html[i..])
        {
            out.push(if c == '\u{A0}' { ' ' } else { c });
            i += len;
            continue;
        }
        // Copy one whole char.
        let c = html[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_and_drops_illegal_chars() {
        assert_eq!(
            escape_xml(r#"a & b < c > d " e ' f"#),
            "a &amp; b &lt; c &gt; d &quot; e &apos; f"
        );
        assert_eq!(
            escape_xml("x\u{0}\u{1}\u{8}\u{B}\u{C}\u{1F}y\t\n\r\u{FFFE}\u{FFFF}z"),
            "xy\t\n\rz"
        );
        assert_eq!(
            escape_xml("\u{7F}\u{D7FF}\u{E000}\u{FFFD}\u{10000}😀"),
            "\u{7F}\u{D7FF}\u{E000}\u{FFFD}\u{10000}😀"
        );
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_to_boundary("héllo", 2), "h");
        assert_eq!(truncate_to_boundary("héllo", 3), "hé");
        assert_eq!(truncate_with_ellipsis("short", 10), "short");
        let cut = truncate_with_ellipsis("ääääää", 8);
        assert_eq!(cut, "ää…");
        assert!(cut.len() <= 8);
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            decode_entities("AT&amp;T &#8217; &#x2014; &hellip; &bogus; & done"),
            "AT&T \u{2019} \u{2014} … &bogus; & done"
        );
        assert_eq!(decode_entities("&#0; &#xD800;"), "&#0; &#xD800;");
    }

    #[test]
    fn html_becomes_plain_text_with_paragraphs() {
        let html = "<p>Hello   <b>world</b>,\n  how&nbsp;are you?</p><p>Second<br/>line &amp; more</p>\
                    <script>var x = '<p>';</script><style>p{}</style><!-- <p>hidden</p> -->\
                    <ul><li>one</li><li>two</li></ul>a < b";
        assert_eq!(
            html_to_text(html),
            "Hello world, how are you?\n\nSecond\nline & more\n\none\ntwo\n\na < b"
        );
        assert_eq!(html_to_text("  plain text  "), "plain text");
        assert_eq!(html_to_text("<a href=\"x>y\">link</a> text"), "link text");
        assert_eq!(html_to_text("unclosed <b"), "unclosed <b");
    }
}
