//! Permalinks: stable text names for entries, `kith:<cid>` (the entry itself, wherever it
//! is held), `kith:<did>/<seq>` (a place in an author's feed) and `kith:<user>/<slug>` (a
//! post by its slug, the author found by username) and `kith:/<slug>` (a post by its global
//! slug, held in the name registry). All resolve on any peer.

use std::fmt;
use std::str::FromStr;

use crate::cid::ContentId;
use crate::identity::AuthorId;
use crate::limits::MAX_SEQ;

/// The URI scheme of permalinks.
pub const SCHEME: &str = "kith:";

/// A parsed permalink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permalink {
    /// `kith:<cid>`.
    Id(ContentId),
    /// `kith:<did>/<seq>`.
    Seq(AuthorId, u64),
    /// `kith:<username>/<slug>`: a post by its slug, unique among its author's posts.
    Slug {
        /// The author's registered username (normalized).
        user: String,
        /// The post's slug.
        slug: String,
    },
    /// `kith:/<slug>`: a post by its global slug (unique across the network, claimed in
    /// the name registry by the post's author).
    GlobalSlug(String),
}

/// Why a text is not a permalink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a permalink; expected kith:<cid>, kith:<did>/<seq>, kith:<username>/<slug> or kith:/<slug>"
)]
pub struct PermalinkError(String);

impl FromStr for Permalink {
    type Err = PermalinkError;

    /// Parses `kith:<cid>`, `kith:<did>/<seq>`, `kith:<username>/<slug>`, `kith:/<slug>`,
    /// or the same without the scheme.
    fn from_str(text: &str) -> Result<Self, PermalinkError> {
        let bad = || PermalinkError(text.to_owned());
        let rest = text.strip_prefix(SCHEME).unwrap_or(text);
        if let Some(slug) = rest.strip_prefix('/') {
            crate::names::global_slug_name(slug).map_err(|_| bad())?;
            return Ok(Permalink::GlobalSlug(slug.to_owned()));
        }
        if let Some((did, seq)) = rest.rsplit_once('/') {
            if !did.starts_with("did:") {
                let user = crate::names::normalize_name(did).map_err(|_| bad())?;
                if !crate::text::is_valid_slug(seq) {
                    return Err(bad());
                }
                return Ok(Permalink::Slug {
                    user,
                    slug: seq.to_owned(),
                });
            }
            let author = AuthorId::parse_did(did).map_err(|_| bad())?;
            let seq = seq.parse::<u64>().map_err(|_| bad())?;
            if seq == 0 || seq > MAX_SEQ {
                return Err(bad());
            }
            return Ok(Permalink::Seq(author, seq));
        }
        ContentId::parse(rest).map(Permalink::Id).map_err(|_| bad())
    }
}

impl fmt::Display for Permalink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permalink::Id(id) => write!(f, "{SCHEME}{id}"),
            Permalink::Seq(author, seq) => write!(f, "{SCHEME}{}/{seq}", author.to_did()),
            Permalink::Slug { user, slug } => write!(f, "{SCHEME}{user}/{slug}"),
            Permalink::GlobalSlug(slug) => write!(f, "{SCHEME}/{slug}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::identity::Keypair;

    #[test]
    fn every_form_round_trips() {
        let id = ContentId::of(b"an entry");
        let author = Keypair::from_seed(&[3; 32]).author();
        let slug = Permalink::Slug {
            user: "alice".into(),
            slug: "hello-world".into(),
        };
        let global = Permalink::GlobalSlug("hello-world".into());
        assert_eq!(global.to_string(), "kith:/hello-world");
        for link in [Permalink::Id(id), Permalink::Seq(author, 42), slug, global] {
            let text = link.to_string();
            assert!(text.starts_with("kith:"));
            assert_eq!(text.parse::<Permalink>().unwrap(), link);
        }
        // Without the scheme too.
        assert_eq!(
            id.to_string().parse::<Permalink>().unwrap(),
            Permalink::Id(id)
        );
        for bad in [
            "kith:",
            "kith:nonsense",
            "kith:did:key:zX/1",
            "kith:/",
            "kith:/Hello",
            "kith:/api",
            "/hello--world",
            &format!("kith:{}/0", author.to_did()),
        ] {
            assert!(bad.parse::<Permalink>().is_err(), "{bad}");
        }
    }
}
