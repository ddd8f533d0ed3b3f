//! Entry kinds and their typed bodies.
//!
//! A body is always a canonical CBOR map. For the kinds defined here the listed fields must
//! be present with the right types and sizes; any other field is allowed, kept and re-served
//! byte for byte, because the entry's bytes are never re-encoded. An entry of a kind this
//! version does not know is valid if its body is a canonical map: it is stored and relayed
//! untouched, so newer peers can add kinds without older ones dropping them.

use std::fmt;

use crate::cbor::{CborError, Fields, MapBuilder, Value};
use crate::cid::ContentId;
use crate::identity::AuthorId;
use crate::limits::{
    MAX_BIO_BYTES, MAX_KIND_BYTES, MAX_NAME_BYTES, MAX_REACTION_BYTES, MAX_TEXT_BYTES,
};

/// Why a body does not fit its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is not a map, a field is missing or has the wrong type.
    #[error(transparent)]
    Cbor(#[from] CborError),
    /// A text field is longer than its limit, or empty where text is required.
    #[error("field `{field}` is {len} bytes; it must be 1 to {max}")]
    TextLength {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field that must hold a content id does not.
    #[error("field `{0}` is not a content id")]
    BadContentId(&'static str),
    /// A field that must hold an author key does not.
    #[error("field `{0}` is not a valid ed25519 public key")]
    BadAuthor(&'static str),
    /// A sealed body that is not well formed.
    #[error(transparent)]
    Sealed(crate::sealed::SealError),
}

/// The kind of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A top-level post.
    Post,
    /// A reply in a thread.
    Reply,
    /// A repost of another entry.
    Repost,
    /// A reaction to another entry.
    React,
    /// A new text for one of the author's own entries.
    Edit,
    /// A tombstone for one of the author's own entries.
    Delete,
    /// Starts following an author.
    Follow,
    /// Stops following an author.
    Unfollow,
    /// Profile fields (name, bio, avatar).
    Profile,
    /// An inner entry only its audience can read (`crate::sealed`).
    Sealed,
    /// A kind this version does not know; kept and relayed untouched.
    Other(String),
}

impl Kind {
    /// Parses a kind string. Known names give their variant; any other name that follows
    /// the rule (1 to 32 bytes of `a-z 0-9 _ . -`, starting with a letter) is `Other`.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty()
            && text.len() <= MAX_KIND_BYTES
            && text.as_bytes()[0].is_ascii_lowercase()
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if !valid {
            return None;
        }
        Some(match text {
            "post" => Kind::Post,
            "reply" => Kind::Reply,
            "repost" => Kind::Repost,
            "react" => Kind::React,
            "edit" => Kind::Edit,
            "delete" => Kind::Delete,
            "follow" => Kind::Follow,
            "unfollow" => Kind::Unfollow,
            "profile" => Kind::Profile,
            "sealed" => Kind::Sealed,
            other => Kind::Other(other.to_owned()),
        })
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Post => "post",
            Kind::Reply => "reply",
            Kind::Repost => "repost",
            Kind::React => "react",
            Kind::Edit => "edit",
            Kind::Delete => "delete",
            Kind::Follow => "follow",
            Kind::Unfollow => "unfollow",
            Kind::Profile => "profile",
            Kind::Sealed => "sealed",
            Kind::Other(name) => name,
        }
    }

    /// Kinds that appear in timelines (as opposed to graph or metadata changes). Sealed
    /// entries do: most are posts and messages, and readers show what they can open.
    pub fn is_timeline_item(&self) -> bool {
        matches!(self, Kind::Post | Kind::Reply | Kind::Repost | Kind::Sealed)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The typed view of a body. Unknown fields are not part of it but stay in the entry bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `post`: `{text}`.
    Post {
        /// The text, 1 to [`MAX_TEXT_BYTES`] bytes.
        text: String,
    },
    /// `reply`: `{text, parent, root}`.
    Reply {
        /// The text.
        text: String,
        /// The entry replied to.
        parent: ContentId,
        /// The top-level post of the thread (equal to `parent` for a direct reply).
        root: ContentId,
    },
    /// `repost`: `{target}`, plus `text` for a quote post.
    Repost {
        /// The entry reposted.
        target: ContentId,
        /// The comment of a quote post.
        text: Option<String>,
    },
    /// `react`: `{target, reaction}`.
    React {
        /// The entry reacted to.
        target: ContentId,
        /// An emoji or short word, 1 to [`MAX_REACTION_BYTES`] bytes.
        reaction: String,
    },
    /// `edit`: `{target, text}`; only meaningful for the author's own entries.
    Edit {
        /// The entry whose text changes.
        target: ContentId,
        /// The new text.
        text: String,
    },
    /// `delete`: `{target, target_seq, target_prev}`; only meaningful for the author's own
    /// entries. The position of the target in the feed is repeated, signed, so that the
    /// chain stays verifiable once every holder has dropped the target's body
    /// (`docs/PROTOCOL.md` §Deletes).
    Delete {
        /// The entry deleted.
        target: ContentId,
        /// Its seq.
        target_seq: u64,
        /// Its `prev` (`None` when `target_seq` is 1).
        target_prev: Option<ContentId>,
    },
    /// `follow`: `{subject}`.
    Follow {
        /// The author followed.
        subject: AuthorId,
    },
    /// `unfollow`: `{subject}`.
    Unfollow {
        /// The author no longer followed.
        subject: AuthorId,
    },
    /// `profile`: `{name?, bio?, avatar?, username?}`; each profile entry replaces the
    /// previous one.
    Profile {
        /// Display name.
        name: Option<String>,
        /// Free text about the author.
        bio: Option<String>,
        /// Content id of the avatar image blob.
        avatar: Option<ContentId>,
        /// The username the author claimed in the name registry (`crate::names`), as the
        /// author states it: readers confirm it with a registry lookup.
        username: Option<String>,
    },
    /// A sealed entry: ciphertext and wrapped keys (`crate::sealed`).
    Sealed(crate::sealed::Sealed),
    /// The body of a kind this version does not know.
    Unknown,
}

fn text_field(field: &'static str, text: &str, max: usize) -> Result<String, BodyError> {
    if text.is_empty() || text.len() > max {
        return Err(BodyError::TextLength {
            field,
            len: text.len(),
            max,
        });
    }
    Ok(text.to_owned())
}

fn cid_field(fields: &mut Fields<'_>, field: &'static str) -> Result<ContentId, BodyError> {
    ContentId::from_bytes(fields.bytes(field)?).map_err(|_| BodyError::BadContentId(field))
}

fn author_field(fields: &mut Fields<'_>, field: &'static str) -> Result<AuthorId, BodyError> {
    AuthorId::from_slice(fields.bytes(field)?).map_err(|_| BodyError::BadAuthor(field))
}

impl Body {
    /// Parses and checks the body of an entry of `kind`. `bytes` must already have passed
    /// the canonical check (the whole payload does, before any field is read).
    pub fn parse(kind: &Kind, bytes: &[u8]) -> Result<Self, BodyError> {
        if bytes.first().map(|b| b >> 5) != Some(5) {
            return Err(CborError::WrongType("body").into());
        }
        let mut f = Fields::parse(bytes)?;
        Ok(match kind {
            Kind::Post => Body::Post {
                text: text_field("text", f.text("text")?, MAX_TEXT_BYTES)?,
            },
            Kind::Reply => Body::Reply {
                text: text_field("text", f.text("text")?, MAX_TEXT_BYTES)?,
                parent: cid_field(&mut f, "parent")?,
                root: cid_field(&mut f, "root")?,
            },
            Kind::Repost => Body::Repost {
                target: cid_field(&mut f, "target")?,
                text: f
                    .opt_text("text")?
                    .map(|t| text_field("text", t, MAX_TEXT_BYTES))
                    .transpose()?,
            },
            Kind::React => Body::React {
                target: cid_field(&mut f, "target")?,
                reaction: text_field("reaction", f.text("reaction")?, MAX_REACTION_BYTES)?,
            },
            Kind::Edit => Body::Edit {
                target: cid_field(&mut f, "target")?,
                text: text_field("text", f.text("text")?, MAX_TEXT_BYTES)?,
            },
            Kind::Delete => {
                let target = cid_field(&mut f, "target")?;
                let target_seq = f.uint("target_seq")?;
                if target_seq == 0 || target_seq > crate::limits::MAX_SEQ {
                    return Err(CborError::WrongType("target_seq").into());
                }
                let target_prev = f
                    .nullable_bytes("target_prev")?
                    .map(|b| {
                        ContentId::from_bytes(b).map_err(|_| BodyError::BadContentId("target_prev"))
                    })
                    .transpose()?;
                // Seq 1 has no predecessor; every later seq has one.
                if (target_seq == 1) != target_prev.is_none() {
                    return Err(BodyError::BadContentId("target_prev"));
                }
                Body::Delete {
                    target,
                    target_seq,
                    target_prev,
                }
            }
            Kind::Follow => Body::Follow {
                subject: author_field(&mut f, "subject")?,
            },
            Kind::Unfollow => Body::Unfollow {
                subject: author_field(&mut f, "subject")?,
            },
            Kind::Profile => Body::Profile {
                name: f
                    .opt_text("name")?
                    .map(|t| text_field("name", t, MAX_NAME_BYTES))
                    .transpose()?,
                bio: f
                    .opt_text("bio")?
                    .map(|t| text_field("bio", t, MAX_BIO_BYTES))
                    .transpose()?,
                avatar: f
                    .opt_bytes("avatar")?
                    .map(|b| {
                        ContentId::from_bytes(b).map_err(|_| BodyError::BadContentId("avatar"))
                    })
                    .transpose()?,
                username: f
                    .opt_text("username")?
                    .map(|t| text_field("username", t, crate::names::MAX_USERNAME_BYTES))
                    .transpose()?,
            },
            Kind::Sealed => {
                Body::Sealed(crate::sealed::Sealed::decode(bytes).map_err(BodyError::Sealed)?)
            }
            Kind::Other(_) => Body::Unknown,
        })
    }

    /// The kind this body belongs to, or `None` for [`Body::Unknown`].
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Body::Post { .. } => Kind::Post,
            Body::Reply { .. } => Kind::Reply,
            Body::Repost { .. } => Kind::Repost,
            Body::React { .. } => Kind::React,
            Body::Edit { .. } => Kind::Edit,
            Body::Delete { .. } => Kind::Delete,
            Body::Follow { .. } => Kind::Follow,
            Body::Unfollow { .. } => Kind::Unfollow,
            Body::Profile { .. } => Kind::Profile,
            Body::Sealed(_) => Kind::Sealed,
            Body::Unknown => return None,
        })
    }

    /// The canonical encoding of this body (for new entries). `Unknown` encodes as `{}`.
    pub fn encode(&self) -> Vec<u8> {
        let cid = |id: &ContentId| id.to_bytes();
        match self {
            Body::Post { text } => MapBuilder::new().field("text", Value::Text(text)).finish(),
            Body::Reply { text, parent, root } => {
                let (parent, root) = (cid(parent), cid(root));
                MapBuilder::new()
                    .field("text", Value::Text(text))
                    .field("parent", Value::Bytes(&parent))
                    .field("root", Value::Bytes(&root))
                    .finish()
            }
            Body::Repost { target, text } => {
                let target = cid(target);
                MapBuilder::new()
                    .field("target", Value::Bytes(&target))
                    .optional("text", text.as_deref().map(Value::Text))
                    .finish()
            }
            Body::React { target, reaction } => {
                let target = cid(target);
                MapBuilder::new()
                    .field("target", Value::Bytes(&target))
                    .field("reaction", Value::Text(reaction))
                    .finish()
            }
            Body::Edit { target, text } => {
                let target = cid(target);
                MapBuilder::new()
                    .field("target", Value::Bytes(&target))
                    .field("text", Value::Text(text))
                    .finish()
            }
            Body::Delete {
                target,
                target_seq,
                target_prev,
            } => {
                let target = cid(target);
                let prev = target_prev.as_ref().map(cid);
                MapBuilder::new()
                    .field("target", Value::Bytes(&target))
                    .field("target_seq", Value::Uint(*target_seq))
                    .field(
                        "target_prev",
                        match &prev {
                            Some(prev) => Value::Bytes(prev),
                            None => Value::Null,
                        },
                    )
                    .finish()
            }
            Body::Follow { subject } | Body::Unfollow { subject } => MapBuilder::new()
                .field("subject", Value::Bytes(subject.as_bytes()))
                .finish(),
            Body::Profile {
                name,
                bio,
                avatar,
                username,
            } => {
                let avatar = avatar.as_ref().map(cid);
                MapBuilder::new()
                    .optional("name", name.as_deref().map(Value::Text))
                    .optional("bio", bio.as_deref().map(Value::Text))
                    .optional("avatar", avatar.as_ref().map(|a| Value::Bytes(a)))
                    .optional("username", username.as_deref().map(Value::Text))
                    .finish()
            }
            Body::Sealed(sealed) => sealed.encode(),
            Body::Unknown => MapBuilder::new().finish(),
        }
    }

    /// The text shown for this entry in a timeline, if it has one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Body::Post { text } | Body::Reply { text, .. } | Body::Edit { text, .. } => Some(text),
            Body::Repost { text, .. } => text.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::check_canonical;
    use crate::identity::Keypair;

    #[test]
    fn every_known_body_round_trips() {
        let id = ContentId::of(b"target");
        let subject = Keypair::from_seed(&[1; 32]).author();
        let bodies = [
            Body::Post {
                text: "hello".into(),
            },
            Body::Reply {
                text: "hi".into(),
                parent: id,
                root: ContentId::of(b"root"),
            },
            Body::Repost {
                target: id,
                text: None,
            },
            Body::Repost {
                target: id,
                text: Some("look".into()),
            },
            Body::React {
                target: id,
                reaction: "❤".into(),
            },
            Body::Edit {
                target: id,
                text: "fixed".into(),
            },
            Body::Delete {
                target: id,
                target_seq: 4,
                target_prev: Some(ContentId::of(b"three")),
            },
            Body::Delete {
                target: id,
                target_seq: 1,
                target_prev: None,
            },
            Body::Follow { subject },
            Body::Unfollow { subject },
            Body::Profile {
                name: Some("Ada".into()),
                bio: None,
                avatar: Some(id),
                username: Some("ada".into()),
            },
            Body::Profile {
                name: None,
                bio: None,
                avatar: None,
                username: None,
            },
        ];
        for body in bodies {
            let bytes = body.encode();
            check_canonical(&bytes).unwrap();
            let kind = body.kind().unwrap();
            assert_eq!(Body::parse(&kind, &bytes).unwrap(), body);
        }
    }

    #[test]
    fn kind_names_follow_the_rule() {
        assert_eq!(Kind::parse("post"), Some(Kind::Post));
        assert_eq!(Kind::parse("poll.v2"), Some(Kind::Other("poll.v2".into())));
        for bad in ["", "Post", "9lives", "a b", "é", &"x".repeat(33)] {
            assert_eq!(Kind::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bodies_with_wrong_fields_are_refused() {
        let empty_text = MapBuilder::new().field("text", Value::Text("")).finish();
        assert!(matches!(
            Body::parse(&Kind::Post, &empty_text),
            Err(BodyError::TextLength { .. })
        ));
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        let long_text = MapBuilder::new().field("text", Value::Text(&long)).finish();
        assert!(matches!(
            Body::parse(&Kind::Post, &long_text),
            Err(BodyError::TextLength { .. })
        ));
        let number = MapBuilder::new().field("text", Value::Uint(5)).finish();
        assert!(matches!(
            Body::parse(&Kind::Post, &number),
            Err(BodyError::Cbor(_))
        ));
        let bad_cid = MapBuilder::new()
            .field("target", Value::Bytes(b"short"))
            .finish();
        assert_eq!(
            Body::parse(&Kind::Delete, &bad_cid),
            Err(BodyError::BadContentId("target"))
        );
        let missing = MapBuilder::new().finish();
        assert!(matches!(
            Body::parse(&Kind::Follow, &missing),
            Err(BodyError::Cbor(CborError::MissingField("subject")))
        ));
    }

    #[test]
    fn unknown_fields_are_allowed_in_known_bodies() {
        let bytes = MapBuilder::new()
            .field("text", Value::Text("hi"))
            .field("lang", Value::Text("en"))
            .finish();
        assert_eq!(
            Body::parse(&Kind::Post, &bytes).unwrap(),
            Body::Post { text: "hi".into() }
        );
    }
}
