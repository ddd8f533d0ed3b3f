//! The event stream (`GET /api/v1/events`, Server-Sent Events).
//!
//! One [`Hub`] per server turns the node's events into numbered stream events. It keeps the
//! last [`RING_CAPACITY`] of them so a client that reconnects with `Last-Event-ID` gets what
//! it missed, and hands new ones to every connected client through one bounded broadcast
//! queue ([`CLIENT_QUEUE`] events). A client that falls further behind than that queue is not
//! waited for: it gets a `reset` event (reload what you show) and continues with the newest
//! events. Memory stays bounded whatever the clients do.
//!
//! Event ids are numbers that grow by one per event within one daemon process. An id the
//! ring no longer covers, or one this process never issued (the daemon restarted), also
//! gets a `reset` first.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use axum::response::sse::Event;
use futures::Stream;
use kith_node::NodeEvent;
use tokio::sync::{broadcast, watch};

use crate::model::{EntryEvent, EntryObject, NotificationObject, ResetEvent};

/// Events kept for clients that resume with `Last-Event-ID`.
pub(crate) const RING_CAPACITY: usize = 1024;
/// Events a client may fall behind before it gets `reset`.
pub(crate) const CLIENT_QUEUE: usize = 256;

/// One numbered event, its JSON data already encoded.
#[derive(Debug)]
pub(crate) struct Numbered {
    id: u64,
    /// The SSE event name (`entry`, `notification`).
    name: &'static str,
    data: String,
}

/// What the broadcast queue carries.
#[derive(Debug, Clone)]
enum Item {
    Entry(Arc<Numbered>),
    /// The hub itself missed node events: every client should reload.
    Reset,
}

#[derive(Debug)]
struct Ring {
    events: VecDeque<Arc<Numbered>>,
    /// The id of the newest event issued (0: none yet).
    last_id: u64,
    /// A client that has seen every event up to and including this id can be served from
    /// the ring alone; one behind it missed events the ring no longer holds.
    complete_after: u64,
}

/// Numbers events, remembers the recent ones and fans them out.
#[derive(Debug)]
pub(crate) struct Hub {
    ring: Mutex<Ring>,
    live: broadcast::Sender<Item>,
}

impl Hub {
    pub(crate) fn new() -> Self {
        let (live, _) = broadcast::channel(CLIENT_QUEUE);
        Self {
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(RING_CAPACITY),
                last_id: 0,
                complete_after: 0,
            }),
            live,
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // The ring is consistent after every statement, so a panic elsewhere while it was
        // held leaves nothing half-done.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers an entry event, keeps it, and hands it to connected clients.
    pub(crate) fn publish(&self, event: &EntryEvent) {
        self.publish_named("entry", event);
    }

    /// Numbers an event named `name`, keeps it, and hands it to connected clients.
    pub(crate) fn publish_named(&self, name: &'static str, event: &impl serde::Serialize) {
        let data = match serde_json::to_string(event) {
            Ok(data) => data,
            Err(error) => {
                tracing::error!(%error, "cannot encode an entry event");
                return;
            }
        };
        let mut ring = self.ring();
        ring.last_id += 1;
        let numbered = Arc::new(Numbered {
            id: ring.last_id,
            name,
            data,
        });
        if ring.events.len() == RING_CAPACITY
            && let Some(dropped) = ring.events.pop_front()
        {
            ring.complete_after = dropped.id;
        }
        ring.events.push_back(Arc::clone(&numbered));
        // Sent while the ring is locked, so a client that subscribes (under the same lock)
        // sees each event either in its replay or live, never both, never neither.
        let _no_clients = self.live.send(Item::Entry(numbered));
    }

    /// The hub missed node events (it fell behind the node's own queue): the id after the
    /// current one is burnt, so every client that resumes from before it gets `reset`, and
    /// connected clients get `reset` now.
    pub(crate) fn gap(&self) {
        let mut ring = self.ring();
        ring.last_id += 1;
        ring.complete_after = ring.last_id;
        ring.events.clear();
        let _no_clients = self.live.send(Item::Reset);
    }

    /// Registers a client that has seen every event up to `last_seen` (none: a new client
    /// that wants only what happens from now on).
    pub(crate) fn subscribe(&self, last_seen: Option<u64>) -> Subscription {
        let ring = self.ring();
        let live = self.live.subscribe();
        let mut backlog = VecDeque::new();
        if let Some(last_seen) = last_seen {
            if last_seen > ring.last_id {
                backlog.push_back(Out::Reset(format!(
                    "event {last_seen} was not issued by this daemon (it restarted?); reload"
                )));
            } else {
                if last_seen < ring.complete_after {
                    backlog.push_back(Out::Reset(format!(
                        "events after {last_seen} are no longer kept (only the last \
                         {RING_CAPACITY} are); reload"
                    )));
                }
                backlog.extend(
                    ring.events
                        .iter()
                        .filter(|event| event.id > last_seen)
                        .map(|event| Out::Entry(Arc::clone(event))),
                );
            }
        }
        Subscription {
            backlog,
            live,
            last_sent: last_seen.unwrap_or(ring.last_id).min(ring.last_id),
        }
    }
}

/// What one client is sent next.
#[derive(Debug)]
enum Out {
    Entry(Arc<Numbered>),
    Reset(String),
}

/// One client's view of the hub: a replay, then live events.
#[derive(Debug)]
pub(crate) struct Subscription {
    backlog: VecDeque<Out>,
    live: broadcast::Receiver<Item>,
    last_sent: u64,
}

impl Subscription {
    /// The next event for this client; `None` when the hub has gone away.
    async fn next(&mut self) -> Option<Out> {
        if let Some(out) = self.backlog.pop_front() {
            return Some(out);
        }
        loop {
            match self.live.recv().await {
                Ok(Item::Entry(event)) if event.id <= self.last_sent => {}
                Ok(Item::Entry(event)) => return Some(Out::Entry(event)),
                Ok(Item::Reset) => {
                    return Some(Out::Reset(
                        "the daemon missed events from its node; reload".to_owned(),
                    ));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(Out::Reset(format!(
                        "this client fell {missed} events behind and they were dropped; reload"
                    )));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The SSE stream for this client; it ends when `stop` turns true (server shutdown).
    pub(crate) fn into_stream(
        self,
        stop: watch::Receiver<bool>,
    ) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        futures::stream::unfold((self, stop), |(mut sub, mut stop)| async move {
            if *stop.borrow() {
                return None;
            }
            let out = tokio::select! {
                out = sub.next() => out?,
                _ = stop.wait_for(|stopped| *stopped) => return None,
            };
            let event = match out {
                Out::Entry(numbered) => {
                    sub.last_sent = numbered.id;
                    Event::default()
                        .event(numbered.name)
                        .id(numbered.id.to_string())
                        .data(numbered.data.as_str())
                }
                Out::Reset(reason) => {
                    let data = serde_json::to_string(&ResetEvent { reason })
                        .unwrap_or_else(|_| "{}".to_owned());
                    Event::default().event("reset").data(data)
                }
            };
            Some((Ok(event), (sub, stop)))
        })
    }
}

/// Feeds the hub from the node until the node's queue closes or the server stops.
pub(crate) async fn run_hub(
    hub: Arc<Hub>,
    node: kith_node::Node,
    mut events: broadcast::Receiver<NodeEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let received = tokio::select! {
            received = events.recv() => received,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        match received {
            Ok(NodeEvent::Entry { entry, local }) => hub.publish(&EntryEvent {
                entry: revealed(&node, &entry),
                local,
            }),
            Ok(NodeEvent::Notification { kind, entry }) => hub.publish_named(
                "notification",
                &NotificationObject {
                    kind: kind.to_owned(),
                    entry: revealed(&node, &entry),
                },
            ),
            #[allow(unreachable_patterns)]
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "the event stream fell behind the node; clients reset"
                );
                hub.gap();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The entry object of an event; a sealed entry shows what the identity can read (the
/// stream takes the token like the API).
fn revealed(node: &kith_node::Node, entry: &kith_proto::Entry) -> EntryObject {
    let mut object = EntryObject::from(entry);
    if object.sealed.is_some() {
        crate::privacy::apply(&mut object, node.unseal(entry));
    }
    object
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use futures::StreamExt;

    fn event(seq: u64) -> EntryEvent {
        EntryEvent {
            entry: EntryObject {
                id: format!("b{seq}"),
                author: "did:key:z6Mkx".to_owned(),
                seq,
                prev: None,
                ts: 0,
                kind: "post".to_owned(),
                text: Some(format!("post {seq}")),
                parent: None,
                root: None,
                target: None,
                reaction: None,
                reactions: Vec::new(),
                reposts: 0,
                edited: false,
                permalink: String::new(),
                slug: None,
                global_slug: None,
                sealed: None,
            },
            local: true,
        }
    }

    async fn ids(sub: &mut Subscription, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            match sub.next().await.unwrap() {
                Out::Entry(numbered) => {
                    sub.last_sent = numbered.id;
                    out.push(numbered.id.to_string());
                }
                Out::Reset(_) => out.push("reset".to_owned()),
            }
        }
        out
    }

    #[tokio::test]
    async fn resume_replays_only_later_events() {
        let hub = Hub::new();
        for seq in 1..=5 {
            hub.publish(&event(seq));
        }
        let mut sub = hub.subscribe(Some(3));
        assert_eq!(ids(&mut sub, 2).await, ["4", "5"]);
        hub.publish(&event(6));
        assert_eq!(ids(&mut sub, 1).await, ["6"]);
        assert!(sub.backlog.is_empty());
    }

    #[tokio::test]
    async fn a_new_client_gets_only_new_events() {
        let hub = Hub::new();
        hub.publish(&event(1));
        let mut sub = hub.subscribe(None);
        hub.publish(&event(2));
        assert_eq!(ids(&mut sub, 1).await, ["2"]);
    }

    #[tokio::test]
    async fn resuming_from_before_the_ring_or_after_the_last_id_resets() {
        let hub = Hub::new();
        for seq in 1..=(RING_CAPACITY as u64 + 10) {
            hub.publish(&event(seq));
        }
        let mut sub = hub.subscribe(Some(5));
        let got = ids(&mut sub, 2).await;
        assert_eq!(got, ["reset", "11"]);
        // Exactly at the edge: everything after 10 is still there.
        let mut sub = hub.subscribe(Some(10));
        assert_eq!(ids(&mut sub, 1).await, ["11"]);
        let mut sub = hub.subscribe(Some(1_000_000));
        assert_eq!(ids(&mut sub, 1).await, ["reset"]);
    }

    #[tokio::test]
    async fn a_lagging_client_is_reset_and_continues() {
        let hub = Hub::new();
        let mut sub = hub.subscribe(None);
        for seq in 1..=(CLIENT_QUEUE as u64 + 5) {
            hub.publish(&event(seq));
        }
        let got = ids(&mut sub, 2).await;
        assert_eq!(got[0], "reset");
        assert_eq!(got[1], "6");
    }

    #[tokio::test]
    async fn a_gap_resets_live_and_resuming_clients() {
        let hub = Hub::new();
        hub.publish(&event(1));
        let mut live = hub.subscribe(None);
        hub.gap();
        hub.publish(&event(2));
        assert_eq!(ids(&mut live, 2).await, ["reset", "3"]);
        let mut resumed = hub.subscribe(Some(1));
        assert_eq!(ids(&mut resumed, 2).await, ["reset", "3"]);
    }

    #[tokio::test]
    async fn the_stream_ends_when_the_server_stops() {
        let hub = Hub::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        let stream = hub.subscribe(None).into_stream(stop_rx);
        let mut stream = std::pin::pin!(stream);
        hub.publish(&event(1));
        assert!(stream.next().await.is_some());
        stop_tx.send(true).unwrap();
        assert!(stream.next().await.is_none());
    }
}
