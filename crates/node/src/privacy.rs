//! Audiences, lists and direct messages: sealed entries (`kith_proto::sealed`) made, sent
//! and read by this node.
//!
//! * **Audience posts** ([`Node::post_to`]): a post sealed for the author's followers (as
//!   this peer knows them: the follow entries it holds), for one of the author's lists, or
//!   for named recipients. The author is always a recipient, so it reads its own posts.
//!   Sealed entries are ordinary entries of the author's feed: followers receive them like
//!   any post, and any peer stores and serves them without being able to read them.
//! * **Replies** to a sealed post are sealed with a key derived from the root's content key:
//!   they inherit the audience.
//! * **Direct messages** ([`Node::send_dm`]): sealed for the members of a conversation, and
//!   also sent to each member's inbox topic, so they arrive when the members follow nobody.
//!   A received sealed entry on our inbox is kept only if it opens for us.
//! * **Lists** are private to this peer (`lists_v1`): nobody else learns who is on them.
//!   Removing a member takes effect from the next post: earlier posts stay readable to them
//!   (they hold the keys), later ones never were.
//!
//! Reading ([`Node::unseal`]) tells apart an entry that is not sealed, one not for us, a
//! readable one, and a tampered one.

use kith_net::Topic;
use kith_proto::sealed::{
    self, Audience, DmBody, Inner, MAX_DM_RECIPIENTS, MAX_RECIPIENTS, Opened, SealError, Sealed,
};
use kith_proto::{AuthorId, Body, ContentId, Entry, Kind, VerifiedEntry};
use tracing::{debug, warn};

use crate::NodeError;
use crate::node::{Node, NodeEvent};

/// Most audience lists on one peer.
pub const MAX_LISTS: usize = 256;
/// Most members of one list (a sealed entry holds at most `MAX_RECIPIENTS` keys, one of
/// them the author's).
pub const MAX_LIST_MEMBERS: usize = MAX_RECIPIENTS - 1;

/// Whom a sealed post is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceSpec {
    /// The author's followers, as this peer knows them now.
    Followers,
    /// The members of one of the author's lists, now.
    List(String),
    /// These authors.
    Direct(Vec<AuthorId>),
}

/// What a sealed entry is to this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsealed {
    /// Not a sealed entry.
    NotSealed,
    /// Sealed for others: held and served, not readable here.
    NotForUs,
    /// Readable: the inner entry.
    Readable(Inner),
    /// A reply in a sealed thread whose root this peer cannot read (or does not hold).
    RootUnknown(ContentId),
    /// Altered after sealing (cannot happen to an entry whose signature verified, unless
    /// its author sealed it badly): shown as an error.
    Tampered(String),
}

/// Checks a list name: 1 to 32 bytes of `a-z 0-9 _ -`, starting with a letter.
pub fn check_list_name(name: &str) -> Result<(), NodeError> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(NodeError::Invalid(format!(
            "`{name}` is not a list name: 1 to 32 of a-z, 0-9, _ and -, starting with a letter"
        )))
    }
}

impl Node {
    /// Creates the list `name` (nothing happens if it exists).
    pub async fn create_list(&self, name: &str) -> Result<(), NodeError> {
        check_list_name(name)?;
        let store = self.inner.store.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            let lists = store.lists()?;
            if !lists.contains(&name) && lists.len() >= MAX_LISTS {
                return Err(NodeError::Invalid(format!(
                    "this peer has {MAX_LISTS} lists, the most it keeps; delete one first"
                )));
            }
            Ok(store.set_list(&name, true)?)
        })
        .await
        .map_err(|_| NodeError::Stopped)?
    }

    /// Deletes the list `name` and its members.
    pub async fn delete_list(&self, name: &str) -> Result<(), NodeError> {
        check_list_name(name)?;
        let store = self.inner.store.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || Ok(store.set_list(&name, false)?))
            .await
            .map_err(|_| NodeError::Stopped)?
    }

    /// Adds (`true`) or removes a member of the list `name`.
    pub async fn set_list_member(
        &self,
        name: &str,
        member: AuthorId,
        on: bool,
    ) -> Result<(), NodeError> {
        check_list_name(name)?;
        let store = self.inner.store.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            let Some(members) = store.list_members(&name)? else {
                return Err(NodeError::NotFound(format!(
                    "there is no list named `{name}`; create it first"
                )));
            };
            if on && !members.contains(&member) && members.len() >= MAX_LIST_MEMBERS {
                return Err(NodeError::Invalid(format!(
                    "the list `{name}` has {MAX_LIST_MEMBERS} members, the most one sealed \
                     entry can carry keys for"
                )));
            }
            Ok(store.set_list_member(&name, member, on)?)
        })
        .await
        .map_err(|_| NodeError::Stopped)?
    }

    /// Every list with its members.
    pub fn lists(&self) -> Result<Vec<(String, Vec<AuthorId>)>, NodeError> {
        let store = &self.inner.store;
        let mut lists = Vec::new();
        for name in store.lists()? {
            let members = store.list_members(&name)?.unwrap_or_default();
            lists.push((name, members));
        }
        Ok(lists)
    }

    /// The recipients of `audience`, the author included.
    fn recipients(&self, audience: &AudienceSpec) -> Result<Vec<AuthorId>, NodeError> {
        let me = self.inner.author;
        let mut recipients = match audience {
            AudienceSpec::Followers => self.inner.store.followers(&me)?,
            AudienceSpec::List(name) => {
                check_list_name(name)?;
                self.inner.store.list_members(name)?.ok_or_else(|| {
                    NodeError::NotFound(format!("there is no list named `{name}`"))
                })?
            }
            AudienceSpec::Direct(authors) => authors.clone(),
        };
        recipients.push(me);
        recipients.sort_by_key(|a| *a.as_bytes());
        recipients.dedup();
        if recipients.len() > MAX_RECIPIENTS {
            return Err(NodeError::Invalid(format!(
                "that audience has {} members; a sealed post carries keys for at most {}",
                recipients.len(),
                MAX_RECIPIENTS
            )));
        }
        Ok(recipients)
    }

    /// Posts `text` sealed for `audience`; with `reply_to`, as a reply in that thread (a
    /// reply to a sealed entry inherits its audience, and `audience` must then be `None`).
    pub async fn post_to(
        &self,
        audience: Option<AudienceSpec>,
        text: &str,
        reply_to: Option<ContentId>,
    ) -> Result<VerifiedEntry, NodeError> {
        crate::social::check_text("post", text)?;
        match (reply_to, audience) {
            (Some(parent), None) => {
                let sealed = self.seal_reply(parent, text).await?;
                let entry = self.publish_encoded(Kind::Sealed, sealed.encode()).await?;
                self.index_sealed(&entry);
                // Like a public reply, to the thread's root author's topic too, so the author
                // (who need not follow the replier) and its followers have it live.
                crate::social::deliver_related(self, &entry);
                Ok(entry)
            }
            (Some(_), Some(_)) => Err(NodeError::Invalid(
                "a reply in a sealed thread inherits the thread's audience; leave the audience \
                 out"
                .into(),
            )),
            (None, Some(audience)) => {
                let recipients = self.recipients(&audience)?;
                let kind = match audience {
                    AudienceSpec::Followers => Audience::Followers,
                    AudienceSpec::List(_) => Audience::List,
                    AudienceSpec::Direct(_) => Audience::Direct,
                };
                let inner = Inner {
                    kind: "post".into(),
                    body: Body::Post { text: text.into() }.encode(),
                    audience: kind,
                };
                let sealed = seal_blocking(recipients.clone(), inner).await?;
                let entry = self.publish_encoded(Kind::Sealed, sealed.encode()).await?;
                if matches!(audience, AudienceSpec::Direct(_)) {
                    self.to_inboxes(&entry, &recipients);
                }
                Ok(entry)
            }
            (None, None) => Err(NodeError::Invalid(
                "a sealed post needs an audience (followers, a list or recipients)".into(),
            )),
        }
    }

    /// Seals a reply to `parent` with the key of its thread's root.
    async fn seal_reply(&self, parent: ContentId, text: &str) -> Result<Sealed, NodeError> {
        let entry = self
            .inner
            .store
            .entry(&parent)?
            .ok_or_else(|| NodeError::NotFound(format!("entry {parent} is not held here")))?;
        let (root_id, root_key, parent_root) = match self.open_with_key(&entry)? {
            Some((root_id, key, inner)) => {
                // The parent's own root, if the parent is itself a reply.
                let parent_root =
                    match Body::parse(&Kind::parse(&inner.kind).unwrap_or(Kind::Post), &inner.body)
                    {
                        Ok(Body::Reply { root, .. }) => root,
                        _ => parent,
                    };
                (root_id, key, parent_root)
            }
            None => {
                return Err(NodeError::Invalid(format!(
                    "entry {parent} is not a sealed entry this identity can read"
                )));
            }
        };
        let inner = Inner {
            kind: "reply".into(),
            body: Body::Reply {
                text: text.into(),
                parent,
                root: parent_root,
            }
            .encode(),
            audience: Audience::Thread,
        };
        sealed::seal_inherited(root_id, &root_key, &inner)
            .map_err(|e| NodeError::Invalid(e.to_string()))
    }

    /// Follows `subject` privately: a follow entry sealed for this identity alone, so only
    /// this peer knows whom it names; the author is not told. Otherwise like
    /// [`Node::follow`] (subscription, catch-up, home timeline). Following someone already
    /// followed changes nothing and is an error.
    pub async fn follow_private(&self, subject: AuthorId) -> Result<VerifiedEntry, NodeError> {
        let me = self.inner.author;
        if subject == me {
            return Err(NodeError::Invalid("you cannot follow yourself".into()));
        }
        let following = self.inner.store.following(&me)?;
        if following.contains(&subject) {
            return Err(NodeError::Invalid(format!(
                "you already follow {subject}; unfollow first to follow privately"
            )));
        }
        if following.len() >= crate::MAX_FOLLOWS {
            return Err(NodeError::Invalid(format!(
                "you follow {} authors, the most one peer can receive live; unfollow someone first",
                following.len()
            )));
        }
        let entry = self
            .seal_for_self("follow", Body::Follow { subject })
            .await?;
        self.record_private_follow(subject, true).await?;
        self.inner.net.subscribe(subject).await?;
        crate::sync::spawn_catch_up(self, subject, None);
        Ok(entry)
    }

    /// Ends a private follow with an unfollow sealed for this identity alone.
    pub(crate) async fn unfollow_private(
        &self,
        subject: AuthorId,
    ) -> Result<VerifiedEntry, NodeError> {
        let entry = self
            .seal_for_self("unfollow", Body::Unfollow { subject })
            .await?;
        self.record_private_follow(subject, false).await?;
        self.inner.net.unsubscribe(subject).await?;
        Ok(entry)
    }

    async fn record_private_follow(&self, subject: AuthorId, on: bool) -> Result<(), NodeError> {
        let store = self.inner.store.clone();
        let me = self.inner.author;
        tokio::task::spawn_blocking(move || store.set_private_follow(me, subject, on))
            .await
            .map_err(|_| NodeError::Stopped)??;
        Ok(())
    }

    /// Publishes `body` (of `kind`) sealed for this identity alone.
    async fn seal_for_self(&self, kind: &str, body: Body) -> Result<VerifiedEntry, NodeError> {
        let inner = Inner {
            kind: kind.into(),
            body: body.encode(),
            audience: Audience::Myself,
        };
        let sealed = seal_blocking(vec![self.inner.author], inner).await?;
        self.publish_encoded(Kind::Sealed, sealed.encode()).await
    }

    /// Re-learns a private follow or unfollow from one of our own sealed entries (arriving
    /// from the network after a restore, or on a second device of the same identity).
    pub(crate) fn index_own_sealed(&self, entry: &Entry) {
        let me = self.inner.author;
        if entry.author() != me {
            return;
        }
        let Unsealed::Readable(inner) = self.unseal(entry) else {
            return;
        };
        if inner.audience != Audience::Myself {
            return;
        }
        let on = match inner.kind.as_str() {
            "follow" => true,
            "unfollow" => false,
            _ => return,
        };
        let Some(kind) = Kind::parse(&inner.kind) else {
            return;
        };
        let subject = match Body::parse(&kind, &inner.body) {
            Ok(Body::Follow { subject } | Body::Unfollow { subject }) => subject,
            _ => return,
        };
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.set_private_follow(me, subject, on) {
                warn!("cannot record a private follow: {e}");
            }
        });
    }

    /// Sends a direct message to `to` (the conversation is them and us).
    pub async fn send_dm(&self, to: Vec<AuthorId>, text: &str) -> Result<VerifiedEntry, NodeError> {
        crate::social::check_text("message", text)?;
        let me = self.inner.author;
        let mut others: Vec<AuthorId> = to.into_iter().filter(|a| *a != me).collect();
        others.sort_by_key(|a| *a.as_bytes());
        others.dedup();
        if others.is_empty() || others.len() > MAX_DM_RECIPIENTS {
            return Err(NodeError::Invalid(format!(
                "a direct message goes to 1 to {MAX_DM_RECIPIENTS} others, not {}",
                others.len()
            )));
        }
        let inner = Inner {
            kind: "dm".into(),
            body: DmBody {
                text: text.into(),
                to: others.clone(),
            }
            .encode(),
            audience: Audience::Direct,
        };
        let mut recipients = others.clone();
        recipients.push(me);
        let sealed = seal_blocking(recipients.clone(), inner).await?;
        let entry = self.publish_encoded(Kind::Sealed, sealed.encode()).await?;
        self.index_sealed(&entry);
        self.to_inboxes(&entry, &others);
        Ok(entry)
    }

    /// Sends `entry` to the inbox topic of each of `recipients` (but ours).
    fn to_inboxes(&self, entry: &VerifiedEntry, recipients: &[AuthorId]) {
        for recipient in recipients {
            if *recipient == self.inner.author {
                continue;
            }
            crate::reach::deliver_to(self, Topic::Inbox(*recipient), entry.bytes().to_vec());
        }
    }

    /// Opens `entry` if it is sealed and for us: its root's id, the content key (the root's
    /// for a reply in a sealed thread) and the inner entry.
    fn open_with_key(&self, entry: &Entry) -> Result<Option<OpenedThread>, NodeError> {
        let Body::Sealed(sealed) = entry.body() else {
            return Ok(None);
        };
        match sealed {
            Sealed::Keyed { .. } => match sealed::open(&self.inner.keypair, sealed) {
                Ok(Opened::Readable { inner, key }) => Ok(Some((entry.id(), key, inner))),
                Ok(Opened::NotForUs) | Err(_) => Ok(None),
            },
            Sealed::Inherited { root, .. } => {
                let Some(key) = self.open_with_key_of_root(root) else {
                    return Ok(None);
                };
                match sealed::open_inherited(sealed, &key) {
                    Ok(Opened::Readable { inner, .. }) => Ok(Some((*root, key, inner))),
                    _ => Ok(None),
                }
            }
        }
    }

    /// What `entry` is to this node's identity (readable, not for us, …).
    pub fn unseal(&self, entry: &Entry) -> Unsealed {
        let Body::Sealed(sealed) = entry.body() else {
            return Unsealed::NotSealed;
        };
        let opened = match sealed {
            Sealed::Keyed { .. } => sealed::open(&self.inner.keypair, sealed),
            Sealed::Inherited { root, .. } => {
                let root_key = match self.open_with_key_of_root(root) {
                    Some(key) => key,
                    None => return Unsealed::RootUnknown(*root),
                };
                sealed::open_inherited(sealed, &root_key)
            }
        };
        match opened {
            Ok(Opened::Readable { inner, .. }) => Unsealed::Readable(inner),
            Ok(Opened::NotForUs) => Unsealed::NotForUs,
            Err(error @ (SealError::TamperedKey | SealError::TamperedContent)) => {
                Unsealed::Tampered(error.to_string())
            }
            Err(error) => Unsealed::Tampered(error.to_string()),
        }
    }

    fn open_with_key_of_root(&self, root: &ContentId) -> Option<zeroize::Zeroizing<[u8; 32]>> {
        let root_entry = self.inner.store.entry(root).ok()??;
        let Body::Sealed(root_sealed @ Sealed::Keyed { .. }) = root_entry.body() else {
            return None;
        };
        match sealed::open(&self.inner.keypair, root_sealed) {
            Ok(Opened::Readable { key, .. }) => Some(key),
            _ => None,
        }
    }

    /// Whether a sealed entry arriving on our inbox is for us (only then is it kept).
    pub(crate) fn sealed_for_us(&self, entry: &Entry) -> bool {
        matches!(self.unseal(entry), Unsealed::Readable(_))
    }

    /// Indexes a sealed entry we can read: a direct message in the message index, a reply
    /// among its parent's replies (threads show it). The store cannot read it itself.
    pub(crate) fn index_sealed(&self, entry: &Entry) {
        let Unsealed::Readable(inner) = self.unseal(entry) else {
            return;
        };
        let store = self.inner.store.clone();
        let (ts, id) = (entry.ts(), entry.id());
        match inner.kind.as_str() {
            "dm" => {
                let Ok(body) = DmBody::decode(&inner.body) else {
                    return;
                };
                let mut members = body.to;
                let author = entry.author();
                members.push(author);
                // Readable, so addressed to this identity: a notification unless it is ours.
                if author != self.inner.author {
                    let _ = self.inner.events.send(NodeEvent::Notification {
                        kind: "message",
                        entry: entry.clone(),
                    });
                }
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = store.record_dm(ts, id, members, author) {
                        warn!("cannot index direct message {id}: {e}");
                    }
                });
            }
            "reply" => {
                let Ok(Body::Reply { parent, .. }) = Body::parse(&Kind::Reply, &inner.body) else {
                    return;
                };
                let author = entry.author();
                // A reply to one of ours is a notification, as a public one is (sent before
                // the entry's own event, as `sync::notify` does).
                let me = self.inner.author;
                if author != me
                    && store
                        .entry(&parent)
                        .is_ok_and(|held| held.is_some_and(|p| p.author() == me))
                {
                    let _ = self.inner.events.send(NodeEvent::Notification {
                        kind: "reply",
                        entry: entry.clone(),
                    });
                }
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = store.index_sealed_reply(parent, ts, id, author) {
                        warn!("cannot index sealed reply {id}: {e}");
                    }
                });
            }
            _ => {}
        }
    }

    /// The direct messages this identity can read, newest first: each entry with its
    /// conversation's members (the author included).
    pub fn dms(
        &self,
        before_ts: u64,
        limit: usize,
    ) -> Result<Vec<(Entry, Vec<AuthorId>)>, NodeError> {
        let mut found = Vec::new();
        for (_, id, members) in self.inner.store.dms(before_ts, limit)? {
            match self.inner.store.entry(&id)? {
                Some(entry) => found.push((entry, members)),
                None => debug!("direct message {id} is indexed but not held"),
            }
        }
        Ok(found)
    }
}

/// A readable sealed entry: its thread root's id, the content key that opens the thread
/// (the root's), and the inner entry.
type OpenedThread = (ContentId, zeroize::Zeroizing<[u8; 32]>, Inner);

/// Seals off the async threads (X25519 for each of up to 1024 recipients).
async fn seal_blocking(recipients: Vec<AuthorId>, inner: Inner) -> Result<Sealed, NodeError> {
    tokio::task::spawn_blocking(move || sealed::seal(&recipients, &inner))
        .await
        .map_err(|_| NodeError::Stopped)?
        .map_err(|e| NodeError::Invalid(e.to_string()))
}
