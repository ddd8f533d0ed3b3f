//! Where client commands get their work done.
//!
//! Commands talk to a [`Backend`], never to the store directly. Today the only backend is
//! [`LocalBackend`], which opens the data directory's store in this process. When
//! `kith daemon` exists, a second backend will send the same requests to the daemon's HTTP
//! API (the store can be open in one process only), and [`crate::commands`] will pick one.

use anyhow::{Context, Result, bail};
use kith_proto::{AuthorId, Body, Draft, Keypair, sign_entry};
use kith_store::{AppendOutcome, Store};

use crate::model::{FeedItem, PostReceipt};
use crate::repo::{self, Repo};
use crate::time;

/// Which entries of a feed to list.
#[derive(Debug, Clone)]
pub(crate) struct FeedQuery {
    /// Whose feed.
    pub(crate) author: AuthorId,
    /// Every kind, not only timeline items (posts, replies, reposts).
    pub(crate) all_kinds: bool,
    /// Most entries returned.
    pub(crate) limit: usize,
}

/// The operations client commands need, whoever carries them out.
pub(crate) trait Backend {
    /// The identity this backend acts as.
    fn author(&self) -> AuthorId;

    /// Signs a `post` with `text` after the current head of the identity's feed and stores
    /// it durably. `text` has been checked against the protocol limits.
    fn post(&self, text: &str) -> Result<PostReceipt>;

    /// Entries of a feed, newest first.
    fn feed(&self, query: &FeedQuery) -> Result<Vec<FeedItem>>;
}

/// Does the work in this process, on the data directory's own store.
pub(crate) struct LocalBackend {
    repo: Repo,
    keypair: Keypair,
    store: Store,
}

impl LocalBackend {
    /// Loads the identity and the configuration and opens the store.
    pub(crate) fn open(repo: &Repo) -> Result<Self> {
        let keypair = repo.load_keypair()?;
        let config = repo.load_config()?;
        let store = repo::open_store(&repo.store_path(), &config)?;
        Ok(Self {
            repo: repo.clone(),
            keypair,
            store,
        })
    }

    /// Closes the store, waiting for its writer.
    pub(crate) fn close(self) -> Result<()> {
        repo::close_store(self.store, &self.repo.store_path())
    }

    fn store_context(&self, what: &str) -> String {
        format!(
            "cannot {what} in the store {}",
            self.repo.store_path().display()
        )
    }

    /// Registers the identity as local if an interrupted `kith init` did not.
    fn ensure_local(&self) -> Result<()> {
        let author = self.keypair.author();
        let locals = self
            .store
            .local_identities()
            .with_context(|| self.store_context("read the local identities"))?;
        if !locals.contains(&author) {
            self.store
                .add_local_identity(author)
                .with_context(|| self.store_context("register the identity"))?;
        }
        Ok(())
    }
}

impl Backend for LocalBackend {
    fn author(&self) -> AuthorId {
        self.keypair.author()
    }

    fn post(&self, text: &str) -> Result<PostReceipt> {
        self.ensure_local()?;
        let author = self.keypair.author();
        let head = self
            .store
            .head(&author)
            .with_context(|| self.store_context("read the head of the feed"))?;
        let ts = time::now_ms()?;
        let body = Body::Post {
            text: text.to_owned(),
        }
        .encode();
        let draft = Draft::after(head.map(|head| (head.seq, head.id)), ts, "post", &body);
        let entry = sign_entry(&self.keypair, &draft).context("cannot sign the post")?;
        let receipt = PostReceipt {
            id: entry.id().to_string(),
            seq: entry.seq(),
            author: author.to_did(),
            ts: entry.ts(),
        };
        let outcome = self
            .store
            .append(entry)
            .with_context(|| self.store_context("append the post"))?
            .context("the store refused the post")?;
        match outcome {
            AppendOutcome::Appended { .. } => Ok(receipt),
            other => bail!(
                "the store did not append the post as seq {} ({other:?}); the feed's head \
                 changed meanwhile: try again",
                receipt.seq
            ),
        }
    }

    fn feed(&self, query: &FeedQuery) -> Result<Vec<FeedItem>> {
        let entries = if query.all_kinds {
            let head = self
                .store
                .head(&query.author)
                .with_context(|| self.store_context("read the head of the feed"))?;
            let Some(head) = head else {
                return Ok(Vec::new());
            };
            let span = u64::try_from(query.limit).unwrap_or(u64::MAX);
            let from_seq = head.seq.saturating_sub(span.saturating_sub(1)).max(1);
            let mut entries = self
                .store
                .feed(&query.author, from_seq, query.limit)
                .with_context(|| self.store_context("read the feed"))?;
            entries.reverse();
            entries
        } else {
            self.store
                .author_timeline(&query.author, u64::MAX, query.limit)
                .with_context(|| self.store_context("read the timeline"))?
        };
        Ok(entries.iter().map(FeedItem::from).collect())
    }
}
