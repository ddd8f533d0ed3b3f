//! The command line: global options and subcommands (clap derive). Parsing only; the work
//! is in [`crate::commands`]. docs/CLI.md describes every item here.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Profile;

/// kith: a peer-to-peer social network.
#[derive(Debug, Parser)]
#[command(name = "kith", version, propagate_version = true)]
#[command(after_help = "One data directory is one peer. Docs: docs/CLI.md.")]
pub(crate) struct Cli {
    /// The data directory [default: the platform data directory, e.g. ~/.local/share/kith].
    #[arg(long, global = true, env = "KITH_PATH", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Print results as JSON on stdout (stable field names, see docs/CLI.md).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Print only the essential value (an id, a did); ignored with --json.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a data directory: identity, node key, API token, config.toml and the store.
    Init {
        /// The preset of defaults recorded in config.toml: home, server or test (loopback
        /// only, any free ports, no discovery).
        #[arg(long, value_enum, default_value_t = Profile::Home)]
        profile: Profile,
    },

    /// Run the peer: the node on the network and the HTTP API for the other commands.
    Daemon(DaemonArgs),

    /// Print this peer's identity (its did:key, and its peer id and addresses).
    Id(ClientArgs),

    /// Sign a post and add it to your feed.
    Post {
        /// The text of the post; `-` reads it from standard input. A text that starts with
        /// `-` goes after `--`: `kith post -- "-1 from me"`.
        #[arg(value_name = "TEXT")]
        text: String,

        /// Sign with a fresh one-time key, never linked to your identity (it cannot be
        /// edited or deleted later; docs/CLI.md says what the network can still see).
        #[arg(long, conflicts_with = "audience")]
        anonymous: bool,

        /// Seal the post for an audience only: `followers`, `list:NAME`, or recipients as
        /// comma-separated did:key:… (end-to-end encrypted; others hold it unreadable).
        #[arg(long, value_name = "AUDIENCE")]
        audience: Option<String>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Reply to an entry this peer holds: a post in your feed that names it as its parent.
    Reply {
        /// The content id of the entry replied to (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        /// The text of the reply; `-` reads it from standard input.
        #[arg(value_name = "TEXT")]
        text: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Show an entry and every reply to it this peer holds (`--json`: an array of entries,
    /// each with `id`, `author`, `text`, `parent`, …).
    Thread {
        /// The content id of the entry (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Follow an author (their posts reach your timeline) or a hashtag (`'#rust'`: its posts
    /// from anyone reach `kith tag rust`).
    Follow {
        /// Whom to follow: a did:key:z6Mk…, a username (looked up in the registry), or a
        /// hashtag starting with `#`.
        #[arg(value_name = "DID")]
        did: String,

        /// Follow privately: the follow entry is sealed for you alone and the author is not
        /// told (peers serving your feed cannot tell whom it names).
        #[arg(long)]
        private: bool,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Stop following an author or a hashtag.
    Unfollow {
        /// Whom to stop following (did:key:z6Mk…), or a hashtag starting with `#`.
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Your home timeline (your posts and those of the authors you follow), newest first.
    Timeline {
        /// Most entries to list (1 to 200).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,

        /// Continue after the previous page (the cursor it printed).
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// List a feed, newest first.
    Feed {
        /// Whose feed (did:key:z6Mk…); default: your own.
        #[arg(value_name = "DID")]
        did: Option<String>,

        /// Include every kind of entry (follows, profile changes, …), not only posts,
        /// replies and reposts.
        #[arg(long)]
        all: bool,

        /// Most entries to list (1 to 200).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,

        /// Only entries with a seq below this one (to page back).
        #[arg(long, value_name = "SEQ",
              value_parser = clap::value_parser!(u64).range(1..))]
        before: Option<u64>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Show one entry by its content id.
    Get {
        /// The content id (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// React to an entry with an emoji or a short word (replaces your earlier reaction).
    React {
        /// The content id of the entry (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        /// The reaction, e.g. ❤ or +1 (1 to 64 bytes).
        #[arg(value_name = "EMOJI")]
        reaction: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Repost an entry to your followers.
    Repost {
        /// The content id of the entry (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Repost an entry with a comment (a quote post).
    Quote {
        /// The content id of the entry (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        /// Your comment.
        #[arg(value_name = "TEXT")]
        text: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Replace the text of one of your posts, replies or quotes (the history is kept).
    Edit {
        /// The content id of your entry (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        /// The new text.
        #[arg(value_name = "TEXT")]
        text: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Delete one of your entries: peers that hold it drop it when the tombstone reaches
    /// them.
    Delete {
        /// The content id of your entry (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Show an entry as first written and each edit of it, oldest first.
    History {
        /// The content id of the entry (bafirei…).
        #[arg(value_name = "ID")]
        id: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Block an author: nothing of theirs is stored, shown or relayed by this peer, and you
    /// stop following them.
    Block {
        /// Whom to block (did:key:z6Mk…).
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Unblock an author.
    Unblock {
        /// Whom to unblock (did:key:z6Mk…).
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// List the blocked authors.
    Blocked(ClientArgs),

    /// Mute an author: hidden from your timeline and threads, still followed and relayed.
    Mute {
        /// Whom to mute (did:key:z6Mk…).
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Unmute an author.
    Unmute {
        /// Whom to unmute (did:key:z6Mk…).
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// List the muted authors.
    Muted(ClientArgs),

    /// Your notifications, newest first: replies to and reactions, reposts and quotes of
    /// your entries, mentions of you, new followers.
    Notifications {
        /// Most to list (1 to 200).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,

        /// Continue after the previous page (the cursor it printed).
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Posts with a hashtag held here, newest first (follow the tag to get them from
    /// everyone: `kith follow '#rust'`).
    Tag {
        /// The hashtag, with or without `#`.
        #[arg(value_name = "TAG")]
        tag: String,

        /// Most entries to list (1 to 200).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,

        /// Continue after the previous page (the cursor it printed).
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// List the hashtags followed here.
    Tags(ClientArgs),

    /// The public timeline: every public post this peer sees, newest first (opt in with
    /// `--enable`).
    Public {
        /// Turn the public timeline on (join the public stream), then list it.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,

        /// Turn it off.
        #[arg(long)]
        disable: bool,

        /// Most entries to list (1 to 200).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,

        /// Continue after the previous page (the cursor it printed).
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Audience lists, private to this peer: `kith post --audience list:NAME` seals a post
    /// for a list's members.
    List {
        /// What to do.
        #[command(subcommand)]
        command: ListCommand,
    },

    /// Your audience lists and their members.
    Lists(ClientArgs),

    /// Send an end-to-end encrypted direct message to one or more authors (comma-separated
    /// did:key:… or usernames); it reaches them even if they do not follow you.
    Dm {
        /// The recipients.
        #[arg(
            value_name = "DID",
            value_delimiter = ',',
            required = true,
            num_args = 1
        )]
        to: Vec<String>,

        /// The message; `-` reads it from standard input.
        #[arg(value_name = "TEXT")]
        text: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Your direct messages, sent and received, newest first (`--json`: entry objects whose
    /// `sealed.members` name each conversation).
    Dms {
        /// Most messages to list (1 to 200).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Unique usernames: claim one for your identity, look one up, or give yours up.
    Name {
        /// What to do.
        #[command(subcommand)]
        command: NameCommand,
    },

    /// Show or change a profile (display name, bio, avatar).
    Profile {
        /// What to do.
        #[command(subcommand)]
        command: ProfileCommand,
    },

    /// List the peers the daemon is connected to, or manage its deny list.
    Peers(PeersArgs),

    /// Show the proof that an author forked their feed (signed two conflicting entries), if
    /// this daemon holds one: the feed is frozen at the fork.
    Fork {
        /// Whose feed (did:key:z6Mk…).
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Look an author's feed head up on the DHT now (how far their feed goes).
    Head {
        /// Whose head (did:key:z6Mk…).
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Follow an RSS or Atom feed: the daemon republishes its items as a new kith author (a
    /// bridge feed) that you follow, and others can follow by its did.
    FollowFeed {
        /// The feed's URL (http:// or https://).
        #[arg(value_name = "URL")]
        url: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// List the feeds this daemon bridges.
    Bridges(ClientArgs),

    /// Show the daemon's state: peers, entries, follows, uptime.
    Status(ClientArgs),

    /// Print the daemon's Prometheus metrics (GET /metrics, OpenMetrics text; with --json,
    /// `{"text": …}`).
    Metrics(ClientArgs),

    /// Print a one-time link that signs a browser in to the daemon's web UI (valid 10
    /// minutes, works once).
    Ui(ClientArgs),

    /// The peers the daemon joins the network through, kept in config.toml (read when the
    /// daemon starts).
    Bootstrap {
        /// What to do.
        #[command(subcommand)]
        command: BootstrapCommand,
    },

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell), e.g.
    /// `kith completions bash > ~/.local/share/bash-completion/completions/kith`.
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

/// The subcommands of `kith bootstrap`.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum BootstrapCommand {
    /// Show the bootstrap peers in config.toml (and the built-in ones).
    List,
    /// Add a peer to join the network through: a multiaddr ending in /p2p/<peer id>.
    Add {
        /// The peer's address.
        #[arg(value_name = "MADDR")]
        address: String,
    },
    /// Remove a peer from the list.
    Rm {
        /// The peer's address, as listed.
        #[arg(value_name = "MADDR")]
        address: String,
    },
}

/// The subcommands of `kith list`.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ListCommand {
    /// Create a list (1 to 32 of a-z 0-9 _ -, starting with a letter).
    Create {
        /// The list's name.
        #[arg(value_name = "NAME")]
        name: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Add an author (did:key:… or username) to a list.
    Add {
        /// The list.
        #[arg(value_name = "NAME")]
        name: String,

        /// The author.
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Remove an author from a list: later posts to it are sealed without them.
    Rm {
        /// The list.
        #[arg(value_name = "NAME")]
        name: String,

        /// The author (did:key:…).
        #[arg(value_name = "DID")]
        did: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Delete a list.
    Delete {
        /// The list.
        #[arg(value_name = "NAME")]
        name: String,

        #[command(flatten)]
        client: ClientArgs,
    },
}

/// The subcommands of `kith name`.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum NameCommand {
    /// Claim a username (3 to 32 of a-z 0-9 _ -, starting with a letter) for your identity;
    /// it succeeds only when a quorum of the name's replicas accepts it.
    Claim {
        /// The name.
        #[arg(value_name = "NAME")]
        name: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Find who holds a name (`--json`: `name`, `owner`, `ts`).
    Lookup {
        /// The name.
        #[arg(value_name = "NAME")]
        name: String,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Give up a name you hold.
    Release {
        /// The name.
        #[arg(value_name = "NAME")]
        name: String,

        #[command(flatten)]
        client: ClientArgs,
    },
}

/// The subcommands of `kith profile`.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ProfileCommand {
    /// Publish your profile: the fields given replace the current ones, the others stay.
    Set {
        /// Display name (1 to 128 bytes).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,

        /// A few words about you (1 to 4096 bytes).
        #[arg(long, value_name = "BIO")]
        bio: Option<String>,

        /// An image file (PNG, JPEG, GIF or WebP, at most 4 MiB) for your avatar.
        #[arg(long, value_name = "FILE")]
        avatar: Option<PathBuf>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Show a profile as this peer knows it; default: your own.
    Get {
        /// Whose profile (did:key:z6Mk…).
        #[arg(value_name = "DID")]
        did: Option<String>,

        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `kith peers [SUBCOMMAND]`: without a subcommand, the connected peers.
#[derive(Debug, Clone, Args)]
pub(crate) struct PeersArgs {
    /// What to do; none lists the connected peers.
    #[command(subcommand)]
    pub(crate) command: Option<PeersCommand>,

    /// `--api` given before the subcommand (`kith peers --api URL deny …`); one given after
    /// it wins.
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// The subcommands of `kith peers`.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum PeersCommand {
    /// Deny peers: close their connections and refuse new ones, both ways, until they are
    /// allowed again or the daemon restarts.
    Deny {
        /// The peers to deny (12D3KooW…).
        #[arg(value_name = "PEER_ID", required = true)]
        peers: Vec<String>,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// Allow denied peers again (and reconnect to them).
    Allow {
        /// The peers to allow (12D3KooW…).
        #[arg(
            value_name = "PEER_ID",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        peers: Vec<String>,

        /// Allow every denied peer.
        #[arg(long)]
        all: bool,

        #[command(flatten)]
        client: ClientArgs,
    },

    /// List the denied peers.
    Denied(ClientArgs),
}

/// How a client command finds the daemon.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientArgs {
    /// The daemon's API (http://HOST:PORT) [default: the URL in DIR/api, written by the
    /// running daemon].
    #[arg(long, env = "KITH_API", value_name = "URL")]
    pub(crate) api: Option<String>,
}

/// Options of `kith daemon`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DaemonArgs {
    /// Listen for peers on this multiaddr (repeatable) [default: config.toml, else the
    /// profile's: /ip4/0.0.0.0/tcp/4001, or /ip4/127.0.0.1/tcp/0 for test].
    #[arg(long, value_name = "MADDR")]
    pub(crate) listen: Vec<String>,

    /// Serve the HTTP API on IP:PORT; port 0 picks a free one [default: config.toml, else
    /// 127.0.0.1:5050, or 127.0.0.1:0 for test].
    #[arg(long, value_name = "IP:PORT")]
    pub(crate) api: Option<SocketAddr>,

    /// Also serve the public, read-only web gateway on IP:PORT: permalink, author and
    /// thread pages and Atom feeds for people without a peer, fetched from the network when
    /// not held (no token, no API; put it behind a TLS reverse proxy) [default: config.toml's
    /// [gateway] listen, else off].
    #[arg(long, value_name = "IP:PORT")]
    pub(crate) gateway: Option<SocketAddr>,

    /// Also serve Prometheus metrics (GET /metrics, with the API token) on IP:PORT, apart
    /// from the API, which serves them too [default: config.toml's [metrics] listen, else
    /// off].
    #[arg(long, value_name = "IP:PORT")]
    pub(crate) metrics: Option<SocketAddr>,

    /// Join the network through this peer, a multiaddr ending in /p2p/<peer id>
    /// (repeatable, or comma-separated); replaces config.toml's bootstrap list.
    #[arg(long, value_name = "MADDR", value_delimiter = ',')]
    pub(crate) bootstrap: Vec<String>,

    /// Create the data directory if it is missing (the daemon always does; accepted for
    /// scripts written for `ipfs daemon --init`).
    #[arg(long)]
    pub(crate) init: bool,

    /// The profile of a data directory the daemon creates (an existing one keeps its own).
    #[arg(long, value_enum, value_name = "PROFILE")]
    pub(crate) profile: Option<Profile>,

    /// Log lines as text (for people) or JSON (for log collectors). Filter with KITH_LOG
    /// (e.g. KITH_LOG=debug, KITH_LOG=info,kith_net=debug).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_gateway_is_a_daemon_option_off_by_default() {
        let daemon = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Daemon(args)) => Ok(args),
            Ok(other) => panic!("not the daemon: {other:?}"),
            Err(error) => Err(error),
        };
        assert_eq!(daemon(&["kith", "daemon"]).unwrap().gateway, None);
        let on = daemon(&["kith", "daemon", "--gateway", "127.0.0.1:8080"]).unwrap();
        assert_eq!(on.gateway, Some("127.0.0.1:8080".parse().unwrap()));
        assert!(daemon(&["kith", "daemon", "--gateway", "nowhere"]).is_err());
        let help = Cli::command()
            .find_subcommand_mut("daemon")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--gateway <IP:PORT>"), "{help}");
    }
}
