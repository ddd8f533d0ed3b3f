//! Web feeds for kith, in both directions.
//!
//! * **Out:** [`atom`] renders an author's public feed as an Atom 1.0 document
//!   (RFC 4287, replies via the RFC 4685 threading extension), for the daemon to
//!   serve at `/feeds/<did>.atom`.
//! * **In:** the bridge follows an external RSS or Atom feed. [`poll`] fetches
//!   one URL politely (conditional GETs, `Retry-After`, backoff with jitter,
//!   size and time limits) and [`parse`] turns RSS 2.0, RSS 1.0 and Atom 1.0
//!   documents into plain [`FeedItem`]s with stable keys. Deciding which items
//!   are new, signing them as kith entries and storing them happen elsewhere.
//!
//! [`date`] holds the hand-written date conversions (RFC 3339, RFC 822/2822,
//! HTTP-date) both directions need. Nothing here panics on untrusted input:
//! failures are typed errors ([`ParseError`], [`PollError`]).
//!
//! ```
//! use kith_feeds::atom::{AtomEntry, AtomFeed, render_atom};
//! use kith_feeds::parse::parse_feed;
//!
//! let feed = AtomFeed {
//!     id: "kith:did:key:z6MkExample".into(),
//!     title: "Ada's posts".into(),
//!     author_name: "Ada".into(),
//!     self_url: "https://node.example/feeds/did:key:z6MkExample.atom".into(),
//!     updated_ms: 1_700_000_000_000,
//!     entries: vec![AtomEntry {
//!         id: "kith:bafyexample".into(),
//!         content_text: "Hello <world> & friends".into(),
//!         published_ms: 1_700_000_000_000,
//!         updated_ms: 1_700_000_000_000,
//!         link: "https://node.example/entries/bafyexample".into(),
//!         ..AtomEntry::default()
//!     }],
//!     ..AtomFeed::default()
//! };
//! let xml = render_atom(&feed);
//! let parsed = parse_feed(xml.as_bytes()).expect("our own Atom parses");
//! assert_eq!(parsed.items[0].text, "Hello <world> & friends");
//! assert_eq!(parsed.items[0].key, "kith:bafyexample");
//! ```

pub mod atom;
pub mod date;
pub mod parse;
pub mod poll;
mod text;

pub use atom::{AtomEntry, AtomFeed, InReplyTo, render_atom, title_from_text};
pub use parse::{FeedFormat, FeedItem, ParseError, ParsedFeed, parse_feed};
pub use poll::{FeedPoller, PollConfig, PollError, PollOutcome};
