//! What a post's text refers to: mentioned authors (`did:key:z6Mk…`, usually written
//! `@did:key:z6Mk…`) and hashtags (`#rust`). Both are read from the text itself, so they
//! need no field of their own and every peer finds the same ones.

use crate::identity::AuthorId;

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
