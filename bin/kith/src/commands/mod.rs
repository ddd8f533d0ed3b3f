//! One module per subcommand. Each takes a [`Context`] and prints its result through
//! [`Output`]. Client commands reach the daemon through [`crate::client::Client`];
//! [`connect`] is the one place that finds it.

mod bootstrap;
mod bridge;
mod daemon;
mod entries;
mod follow;
mod id;
mod init;
mod names;
mod node;
mod post;
mod privacy;
mod social;

use anyhow::{Result, anyhow};
use kith_proto::AuthorId;

use crate::cli::{Cli, ClientArgs, Command, NameCommand, PeersArgs, PeersCommand, ProfileCommand};
use crate::client::Client;
use crate::output::Output;
use crate::repo::Repo;

/// What every command gets: the data directory and the output mode.
pub(crate) struct Context {
    /// The data directory.
    pub(crate) repo: Repo,
    /// How to print.
    pub(crate) output: Output,
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> Result<()> {
    // Needs no data directory.
    if let Command::Completions { shell } = cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut command, "kith", &mut std::io::stdout());
        return Ok(());
    }
    let dir = match cli.data_dir {
        Some(dir) => dir,
        None => Repo::default_dir()?,
    };
    let context = Context {
        repo: Repo::new(&dir)?,
        output: Output::from_flags(cli.json, cli.quiet),
    };
    match cli.command {
        Command::Init { profile } => init::run(&context, profile),
        Command::Daemon(args) => daemon::run(&context, &args),
        Command::Id(client) => id::run(&context, &client),
        Command::Post {
            text,
            anonymous,
            audience,
            client,
        } => post::run(
            &context,
            &client,
            &text,
            None,
            post::Sealing {
                anonymous,
                audience: audience.as_deref(),
            },
        ),
        Command::Reply { id, text, client } => post::run(
            &context,
            &client,
            &text,
            Some(&id),
            post::Sealing::default(),
        ),
        Command::List { command } => privacy::list(&context, command),
        Command::Lists(client) => privacy::lists(&context, &client),
        Command::Dm { to, text, client } => privacy::dm(&context, &client, &to, &text),
        Command::Dms { limit, client } => privacy::dms(&context, &client, limit),
        Command::Thread { id, client } => entries::thread(&context, &client, &id),
        Command::Follow {
            did,
            private,
            client,
        } => follow::run(&context, &client, &did, true, private),
        Command::Unfollow { did, client } => follow::run(&context, &client, &did, false, false),
        Command::Timeline {
            limit,
            cursor,
            client,
        } => entries::timeline(&context, &client, limit, cursor.as_deref()),
        Command::Feed {
            did,
            all,
            limit,
            before,
            client,
        } => entries::feed(
            &context,
            &client,
            &entries::FeedArgs {
                did: did.as_deref(),
                all,
                limit,
                before,
            },
        ),
        Command::Get { id, client } => entries::get(&context, &client, &id),
        Command::React {
            id,
            reaction,
            client,
        } => social::act(&context, &client, &id, social::Action::React(&reaction)),
        Command::Repost { id, client } => {
            social::act(&context, &client, &id, social::Action::Repost(None))
        }
        Command::Quote { id, text, client } => {
            social::act(&context, &client, &id, social::Action::Repost(Some(&text)))
        }
        Command::Edit { id, text, client } => {
            social::act(&context, &client, &id, social::Action::Edit(&text))
        }
        Command::Delete { id, client } => {
            social::act(&context, &client, &id, social::Action::Delete)
        }
        Command::History { id, client } => social::history(&context, &client, &id),
        Command::Block { did, client } => {
            social::flag(&context, &client, social::List::Blocks, Some(&did), true)
        }
        Command::Unblock { did, client } => {
            social::flag(&context, &client, social::List::Blocks, Some(&did), false)
        }
        Command::Blocked(client) => {
            social::flag(&context, &client, social::List::Blocks, None, true)
        }
        Command::Mute { did, client } => {
            social::flag(&context, &client, social::List::Mutes, Some(&did), true)
        }
        Command::Unmute { did, client } => {
            social::flag(&context, &client, social::List::Mutes, Some(&did), false)
        }
        Command::Notifications {
            limit,
            cursor,
            client,
        } => entries::notifications(&context, &client, limit, cursor.as_deref()),
        Command::Tag {
            tag,
            limit,
            cursor,
            client,
        } => entries::tag(&context, &client, &tag, limit, cursor.as_deref()),
        Command::Tags(client) => entries::tags(&context, &client),
        Command::Public {
            enable,
            disable,
            limit,
            cursor,
            client,
        } => entries::public(
            &context,
            &client,
            enable.then_some(true).or(disable.then_some(false)),
            limit,
            cursor.as_deref(),
        ),
        Command::Name { command } => match command {
            NameCommand::Claim { name, client } => {
                names::run(&context, &client, names::NameAction::Claim, &name)
            }
            NameCommand::Lookup { name, client } => {
                names::run(&context, &client, names::NameAction::Lookup, &name)
            }
            NameCommand::Release { name, client } => {
                names::run(&context, &client, names::NameAction::Release, &name)
            }
        },
        Command::Profile { command } => match command {
            ProfileCommand::Set {
                name,
                bio,
                avatar,
                client,
            } => social::set_profile(&context, &client, name, bio, avatar.as_deref()),
            ProfileCommand::Get { did, client } => {
                social::get_profile(&context, &client, did.as_deref())
            }
        },
        Command::Muted(client) => social::flag(&context, &client, social::List::Mutes, None, true),
        Command::Peers(PeersArgs { command, client }) => {
            // `--api` may come before the subcommand or after it; after wins.
            let outer = client.api;
            let within = |client: ClientArgs| ClientArgs {
                api: client.api.or_else(|| outer.clone()),
            };
            match command {
                None => node::peers(&context, &ClientArgs { api: outer.clone() }),
                Some(PeersCommand::Deny { peers, client }) => {
                    node::deny(&context, &within(client), &peers)
                }
                Some(PeersCommand::Allow { peers, all, client }) => {
                    node::allow(&context, &within(client), &peers, all)
                }
                Some(PeersCommand::Denied(client)) => node::denied(&context, &within(client)),
            }
        }
        Command::Head { did, client } => node::head(&context, &client, &did),
        Command::Fork { did, client } => entries::fork(&context, &client, &did),
        Command::Status(client) => node::status(&context, &client),
        Command::Metrics(client) => node::metrics(&context, &client),
        Command::Ui(client) => node::ui(&context, &client),
        Command::Completions { .. } => unreachable!("answered before the data directory"),
        Command::Bootstrap { command } => bootstrap::run(&context, command),
        Command::FollowFeed { url, client } => bridge::follow_feed(&context, &client, &url),
        Command::Bridges(client) => bridge::list(&context, &client),
    }
}

/// The running daemon of this data directory (or the one `--api` names).
fn connect(context: &Context, args: &ClientArgs) -> Result<Client> {
    Client::find(&context.repo, args.api.as_deref())
}

/// Parses an author id, explaining what is wrong and what is expected.
fn parse_did(text: &str) -> Result<AuthorId> {
    AuthorId::parse_did(text).map_err(|error| {
        anyhow!(
            "`{text}` is not a kith author id: {error}; expected the form did:key:z6Mk… (as \
             printed by `kith id`)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_dids_name_the_expected_form() {
        for bad in ["alice", "did:web:example.com", "did:key:z0OIl", "did:key:z"] {
            let message = parse_did(bad).unwrap_err().to_string();
            assert!(message.contains("did:key:z6Mk"), "{message}");
            assert!(message.contains(bad), "{message}");
        }
    }
}
