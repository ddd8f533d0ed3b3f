//! What a post's text refers to: mentioned authors (`did:key:z6Mk…`, usually written
//! `@did:key:z6Mk…`) and hashtags (`#rust`). Both are read from the text itself, so they
//! need no field of their own and every peer finds the same ones.

use crate::identity::AuthorId;

/// Longest post slug, in bytes.
pub const MAX_SLUG_BYTES: usize = 64;

/// A slug made from a post's first line: lower-case ASCII letters and digits, words joined
/// by `-`, at most [`MAX_SLUG_BYTES`] (cut at a word). `None` when the line has no ASCII
/// letter or digit (the post is then named by its content id only).
pub fn slug_from_text(text: &str) -> Option<String> {
    let first = text.lines().find(|line| !line.trim().is_empty())?;
    let mut slug = String::new();
    for word in first
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let extra = if slug.is_empty() { 0 } else { 1 };
        if slug.len() + extra + word.len() > MAX_SLUG_BYTES {
            if slug.is_empty() {
                slug.push_str(&word[..MAX_SLUG_BYTES]);
            }
            break;
        }
        if extra == 1 {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    (!slug.is_empty()).then_some(slug)
}

/// Whether `slug` follows the slug rules (as [`slug_from_text`] makes them, plus a `-N`
/// suffix for uniqueness).
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG_BYTES + 8
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The slug a post entry's body carries (the optional `slug` field of a `post`), if valid.
pub fn post_slug(body: &[u8]) -> Option<String> {
    let mut fields = crate::cbor::Fields::parse(body).ok()?;
    let slug = fields.opt_text("slug").ok()??;
    is_valid_slug(slug).then(|| slug.to_owned())
}

/// Most authors one entry mentions (more are ignored).
pub const MAX_MENTIONS: usize = 16;
/// Most hashtags one entry has (more are ignored).
pub const MAX_TAGS: usize = 8;
/// Longest hashtag, in bytes of UTF-8 (without `#`); longer ones are not tags.
pub const MAX_TAG_BYTES: usize = 64;

/// The distinct authors mentioned in `text`, in order of first mention, at most
/// [`MAX_MENTIONS`].
pub fn mentions(text: &str) -> Vec<AuthorId> {
    const PREFIX: &str = "did:key:z";
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        let candidate = &rest[at..];
        let end = candidate[PREFIX.len()..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(candidate.len(), |n| n + PREFIX.len());
        if let Ok(author) = AuthorId::parse_did(&candidate[..end])
            && !found.contains(&author)
        {
            found.push(author);
            if found.len() == MAX_MENTIONS {
                break;
            }
        }
        rest = &candidate[end.max(1)..];
    }
    found
}

/// Normalizes a hashtag as typed (`#Rust`, `rust`): lower case, without `#`. `None` if it is
/// not a valid tag (empty, too long, or with characters other than letters, digits and `_`).
pub fn normalize_tag(tag: &str) -> Option<String> {
    let tag = tag.strip_prefix('#').unwrap_or(tag);
    let valid = !tag.is_empty()
        && tag.len() <= MAX_TAG_BYTES
        && tag.chars().all(is_tag_char)
        && !tag.chars().all(|c| c.is_ascii_digit());
    valid.then(|| tag.to_lowercase())
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The distinct hashtags in `text`, normalized, in order, at most [`MAX_TAGS`]. A tag starts
/// with `#` at the start of the text or after a character that cannot be part of a tag (so
/// `a#b` and URL fragments are not tags) and runs while letters, digits and `_` follow;
/// all-digit tags (`#1`) are not tags.
pub fn tags(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let starts = c == '#' && previous.is_none_or(|p| !is_tag_char(p) && p != '#' && p != '/');
        previous = Some(c);
        if !starts {
            continue;
        }
        let body_start = at + 1;
        let mut end = body_start;
        while let Some(&(i, next)) = chars.peek() {
            if !is_tag_char(next) {
                break;
            }
            end = i + next.len_utf8();
            previous = Some(next);
            chars.next();
        }
        if let Some(tag) = normalize_tag(&text[body_start..end])
            && !found.contains(&tag)
        {
            found.push(tag);
            if found.len() == MAX_TAGS {
                break;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::identity::Keypair;

    #[test]
    fn mentions_are_found_once_each_in_order() {
        let a = Keypair::from_seed(&[1; 32]).author();
        let b = Keypair::from_seed(&[2; 32]).author();
        let text = format!(
            "hi @{}, and {}! again @{}. not did:key:zNOPE",
            a.to_did(),
            b.to_did(),
            a.to_did()
        );
        assert_eq!(mentions(&text), vec![a, b]);
        assert!(mentions("no one here").is_empty());
    }

    #[test]
    fn slugs_come_from_the_first_line() {
        assert_eq!(
            slug_from_text("\n  Hello, World! It's 2026.\nsecond line").as_deref(),
            Some("hello-world-it-s-2026")
        );
        assert_eq!(slug_from_text("¿qué?"), Some("qu".to_owned()));
        assert_eq!(slug_from_text("🎉🎉"), None);
        let long = "word ".repeat(40);
        let slug = slug_from_text(&long).unwrap();
        assert!(
            slug.len() <= MAX_SLUG_BYTES && !slug.ends_with('-'),
            "{slug}"
        );
        assert!(is_valid_slug("hello-world-2"));
        for bad in ["", "-a", "a-", "a--b", "Hello", "a b", "é"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn tags_are_normalized_and_only_real_tags_count() {
        assert_eq!(
            tags("#Rust and #rust, #p2p_net. a#b https://x.org/#frag ##x #1 #Ünïcode"),
            vec!["rust", "p2p_net", "ünïcode"]
        );
        assert_eq!(normalize_tag("#Rust"), Some("rust".into()));
        assert_eq!(normalize_tag("rust-lang"), None);
        assert_eq!(normalize_tag("#"), None);
        assert_eq!(normalize_tag(&"x".repeat(MAX_TAG_BYTES + 1)), None);
        let many: String = (0..20).map(|i| format!("#t{i} ")).collect();
        assert_eq!(tags(&many).len(), MAX_TAGS);
    }
}
