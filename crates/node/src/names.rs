//! The name registry: unique usernames, claimed by quorum at the peers closest to the name.
//!
//! A name's **replica set** is the [`NameQuorum::n`] peers closest (Kademlia XOR distance)
//! to `name_key(name)`, this peer included if it is among them. Each replica does an atomic
//! check-and-insert (the store's `claim_name`): the first valid claim of a name wins there.
//!
//! * **Claim**: asked of the closest replica that answers first, alone (so concurrent
//!   claimants meet at one check-and-insert), then of every other replica at once; it
//!   succeeds when at least `w` accept. With fewer, the claim is withdrawn (a signed release
//!   to those that accepted, best effort) and reported as failed, never as success.
//! * **Lookup**: asks every replica, needs at least `r` answers, and returns the claim held
//!   by a majority of those that answered; replicas that answered "not found" are sent that
//!   claim (read repair).
//! * **Re-replication**: every so often each peer sends the claims it holds to the current
//!   replica set of each name, so a name survives its replicas leaving and newcomers that
//!   became closer learn it.
//!
//! With `w + r > n`, any read quorum meets any write quorum, and with `w > n / 2` two
//! claims of one name cannot both reach a write quorum of the same replica set: the
//! guarantee and its limits are in `docs/PROTOCOL.md` §Names.

use std::time::Duration;

use futures::StreamExt as _;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use kith_net::libp2p::PeerId;
use kith_net::{NameRequest, NameResponse};
use kith_proto::names::{
    NameClaim, NameRelease, check_registry_name, global_slug_name, name_key, normalize_name,
};
use kith_proto::{Body, ContentId, VerifiedEntry};
use kith_store::{ClaimOutcome, Store};
use tracing::debug;

use crate::NodeError;
use crate::node::{Node, now_ms};

/// Replica set size and quorums of the name registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameQuorum {
    /// Replicas per name (the peers closest to its key).
    pub n: usize,
    /// Replicas that must accept a claim.
    pub w: usize,
    /// Replicas that must answer a lookup.
    pub r: usize,
}

impl Default for NameQuorum {
    /// N = 5, W = R = 3: any two write quorums overlap (W > N/2), every read meets the
    /// last write (W + R > N), and two of five replicas may be away for claims and
    /// lookups to go on.
    fn default() -> Self {
        Self { n: 5, w: 3, r: 3 }
    }
}

impl NameQuorum {
    /// Checks the rules that make the registry consistent.
    pub fn check(&self) -> Result<(), NodeError> {
        if self.n == 0 || self.w > self.n || self.r > self.n {
            return Err(NodeError::Config(format!(
                "name quorum N={} W={} R={}: W and R must be between 1 and N",
                self.n, self.w, self.r
            )));
        }
        if 2 * self.w <= self.n || self.w + self.r <= self.n {
            return Err(NodeError::Config(format!(
                "name quorum N={} W={} R={}: need W > N/2 and W + R > N",
                self.n, self.w, self.r
            )));
        }
        Ok(())
    }
}

/// A successful claim.
#[derive(Debug, Clone)]
pub struct ClaimedName {
    /// The claim now held by the replicas.
    pub claim: NameClaim,
    /// Replicas that accepted it.
    pub accepted: usize,
    /// Replicas asked.
    pub replicas: usize,
}

/// How long re-replication waits between sweeps (the test profile: 30 s).
pub(crate) const REPLICATION_INTERVAL: Duration = Duration::from_secs(600);
/// Pause between two names of a sweep: a peer holding thousands of claims spreads their
/// DHT queries out instead of sending them in one burst (at most 20 names a second).
const REPLICATION_PACE: Duration = Duration::from_millis(50);
/// Claims handed over per sweep.
const REPLICATION_BATCH: usize = 256;

fn invalid_name(error: kith_proto::names::NameError) -> NodeError {
    NodeError::Invalid(error.to_string())
}

/// Answers a name request from a peer (run off the async threads: it may write).
pub(crate) fn serve(store: &Store, request: NameRequest) -> NameResponse {
    let refused = |reason: String| NameResponse::Refused { reason };
    match request {
        NameRequest::Claim { claim } => match NameClaim::decode(&claim, now_ms()) {
            Ok(claim) => match store.claim_name(&claim) {
                Ok(ClaimOutcome::Accepted | ClaimOutcome::AlreadyHeld) => NameResponse::Accepted,
                Ok(ClaimOutcome::Taken(existing)) => NameResponse::Taken {
                    claim: existing.encode().to_vec(),
                },
                Ok(ClaimOutcome::Stale) => {
                    refused("the owner released this name after signing this claim".into())
                }
                Err(e) => refused(format!("store: {e}")),
            },
            Err(e) => refused(e.to_string()),
        },
        // A username in normalized form, or a global slug's `/<slug>`.
        NameRequest::Lookup { name } => match check_registry_name(&name) {
            Ok(()) => match store.name_claim(&name) {
                Ok(Some(claim)) => NameResponse::Found {
                    claim: claim.encode().to_vec(),
                },
                Ok(None) => NameResponse::NotFound,
                Err(e) => refused(format!("store: {e}")),
            },
            Err(e) => refused(e.to_string()),
        },
        NameRequest::Release { release } => match NameRelease::decode(&release, now_ms()) {
            Ok(release) => match store.release_name(&release) {
                Ok(removed) => NameResponse::Released { removed },
                Err(e) => refused(format!("store: {e}")),
            },
            Err(e) => refused(e.to_string()),
        },
    }
}

impl Node {
    /// The replica set of a normalized name: the N peers closest to its key, closest first.
    async fn replicas(&self, name: &str) -> Result<Vec<PeerId>, NodeError> {
        let mut peers = self
            .inner
            .net
            .closest_peers(name_key(name).to_vec(), self.inner.name_quorum.n)
            .await?;
        peers.truncate(self.inner.name_quorum.n);
        Ok(peers)
    }

    /// The replica set of a name as this node sees it now: peer ids, closest first (for
    /// diagnostics and tests).
    pub async fn name_replicas(&self, name: &str) -> Result<Vec<String>, NodeError> {
        let name = normalize_name(name).map_err(invalid_name)?;
        Ok(self
            .replicas(&name)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    /// Sends `request` to `peer`, or answers it here when `peer` is this node.
    async fn ask_replica(&self, peer: PeerId, request: NameRequest) -> Option<NameResponse> {
        if peer == self.inner.net.peer_id() {
            let store = self.inner.store.clone();
            return tokio::task::spawn_blocking(move || serve(&store, request))
                .await
                .ok();
        }
        match self.inner.net.name_request(peer, request).await {
            Ok(response) => Some(response),
            Err(e) => {
                debug!("name request to {peer} failed: {e}");
                None
            }
        }
    }

    /// Claims a username for the hosted identity. Succeeds only when a write quorum of the
    /// name's replicas accepted the claim; otherwise what was accepted is withdrawn and the
    /// error says why (taken by someone, or too few replicas reachable).
    pub async fn claim_name(&self, name: &str) -> Result<ClaimedName, NodeError> {
        let name = normalize_name(name).map_err(invalid_name)?;
        let claimed = self.claim_registry_name(name.clone()).await?;
        // The profile shows the name from now on.
        let shown = crate::ProfileUpdate {
            username: Some(Some(name.clone())),
            ..Default::default()
        };
        if let Err(e) = self.set_profile(shown).await {
            debug!("the profile does not show {name} yet: {e}");
        }
        Ok(claimed)
    }

    /// Claims the global slug `slug` (the web path `/<slug>`) for the hosted identity's post
    /// whose own slug is `slug`, by quorum like a username. `NameTaken` when another author
    /// holds it: that post is then reached by its content id.
    pub async fn claim_global_slug(&self, slug: &str) -> Result<ClaimedName, NodeError> {
        let name = global_slug_name(slug).map_err(invalid_name)?;
        self.claim_registry_name(name).await
    }

    /// Who holds the global slug `slug`, by a read quorum; `None` when nobody does.
    pub async fn lookup_global_slug(&self, slug: &str) -> Result<Option<NameClaim>, NodeError> {
        let name = global_slug_name(slug).map_err(invalid_name)?;
        self.lookup_registry_name(name).await
    }

    /// Releases the global slug `slug` if the hosted identity holds it (after its post is
    /// deleted). Returns how many replicas removed it.
    pub async fn release_global_slug(&self, slug: &str) -> Result<usize, NodeError> {
        let name = global_slug_name(slug).map_err(invalid_name)?;
        self.release_registry_name(&name).await
    }

    /// Claims the global slug of our post `entry` (its own slug), records it here when the
    /// quorum accepts, and returns it; `None` when the post has no slug or another author
    /// holds it (the post is then reached globally by its content id).
    pub async fn claim_post_slug(
        &self,
        entry: &VerifiedEntry,
    ) -> Result<Option<String>, NodeError> {
        if entry.author() != self.inner.author || !matches!(entry.body(), Body::Post { .. }) {
            return Ok(None);
        }
        let Some(slug) = kith_proto::text::post_slug(entry.body_bytes()) else {
            return Ok(None);
        };
        match self.claim_global_slug(&slug).await {
            Ok(_) => {
                self.inner.store.set_global_slug(entry.id(), Some(&slug))?;
                Ok(Some(slug))
            }
            Err(NodeError::NameTaken { .. }) => Ok(None),
            // A reserved word (`api`) or a slug too long for the registry.
            Err(NodeError::Invalid(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives back the global slug of our deleted post `id`, and forgets it here.
    pub(crate) async fn release_post_slug(&self, id: ContentId, slug: &str) {
        if let Err(e) = self.release_global_slug(slug).await {
            debug!("the global slug {slug} is not released yet: {e}");
        }
        if let Err(e) = self.inner.store.set_global_slug(id, None) {
            debug!("cannot forget the global slug {slug}: {e}");
        }
    }

    /// The global slug held for our post `id`, if one was claimed for it.
    pub fn global_slug_of(&self, id: &ContentId) -> Result<Option<String>, NodeError> {
        Ok(self.inner.store.global_slug(id)?)
    }

    /// The quorum claim of a registry name (a normalized username or `/<slug>`).
    async fn claim_registry_name(&self, name: String) -> Result<ClaimedName, NodeError> {
        let keypair = self.inner.keypair.clone();
        let signed = name.clone();
        // The proof of work takes milliseconds to tens of milliseconds: off the async
        // threads, and while the DHT finds the replica set (neither needs the other).
        let signing =
            tokio::task::spawn_blocking(move || NameClaim::sign(&keypair, &signed, now_ms()));
        let (claim, replicas) = tokio::join!(signing, self.replicas(&name));
        let claim = claim
            .map_err(|_| NodeError::Stopped)?
            .map_err(invalid_name)?;
        let replicas = replicas?;
        let request = NameRequest::Claim {
            claim: claim.encode().to_vec(),
        };
        let quorum = self.inner.name_quorum;
        // Only a valid claim of this name by someone else counts as "taken".
        let taken_by = |answer: &[u8]| {
            NameClaim::decode(answer, now_ms())
                .ok()
                .filter(|other| other.name() == name && other.owner() != self.inner.author)
        };
        // First the closest replica that answers, alone: every claimant goes through the
        // same first reachable replica, whose check-and-insert lets exactly one of them on
        // (concurrent claims sent everywhere at once could split the replicas with nobody
        // reaching W). An unreachable replica is skipped; "taken" ends the claim.
        let mut accepted_by = Vec::new();
        let mut taken: Option<NameClaim> = None;
        let mut rest = replicas.iter();
        for peer in rest.by_ref() {
            match self.ask_replica(*peer, request.clone()).await {
                Some(NameResponse::Accepted) => {
                    accepted_by.push(*peer);
                    break;
                }
                Some(NameResponse::Taken { claim }) => {
                    if let Some(other) = taken_by(&claim) {
                        taken = Some(other);
                        break;
                    }
                }
                Some(other) => debug!("replica {peer} answered a claim with {other:?}"),
                None => {}
            }
        }
        // Then every other replica at once: the claim succeeds as soon as W accepted it (the
        // rest still get it, in the background: more copies survive churn). Two claims can
        // never both reach W (W > N/2, and a replica accepts one owner), whatever the order.
        if !accepted_by.is_empty() && accepted_by.len() < quorum.w {
            let mut asked: FuturesUnordered<_> = rest
                .by_ref()
                .map(|peer| {
                    let (node, request, peer) = (self.clone(), request.clone(), *peer);
                    tokio::spawn(async move { (peer, node.ask_replica(peer, request).await) })
                })
                .collect();
            while accepted_by.len() < quorum.w
                && let Some(answered) = asked.next().await
            {
                match answered {
                    Ok((peer, Some(NameResponse::Accepted))) => accepted_by.push(peer),
                    Ok((_, Some(NameResponse::Taken { claim }))) => {
                        taken = taken.or_else(|| taken_by(&claim));
                    }
                    Ok((peer, Some(other))) => {
                        debug!("replica {peer} answered a claim with {other:?}")
                    }
                    Ok((_, None)) | Err(_) => {}
                }
            }
        }
        if accepted_by.len() >= quorum.w {
            return Ok(ClaimedName {
                claim,
                accepted: accepted_by.len(),
                replicas: replicas.len(),
            });
        }
        // Not claimed: withdraw what was accepted, so the name is not half-taken.
        self.withdraw(&name, &accepted_by).await;
        match taken {
            Some(other) => Err(NodeError::NameTaken {
                name,
                owner: other.owner(),
            }),
            None => Err(NodeError::NameQuorum {
                name,
                reached: accepted_by.len(),
                needed: quorum.w,
                replicas: replicas.len(),
            }),
        }
    }

    async fn withdraw(&self, name: &str, replicas: &[PeerId]) {
        if replicas.is_empty() {
            return;
        }
        let Ok(release) = NameRelease::sign(&self.inner.keypair, name, now_ms()) else {
            return;
        };
        let request = NameRequest::Release {
            release: release.encode().to_vec(),
        };
        join_all(
            replicas
                .iter()
                .map(|peer| self.ask_replica(*peer, request.clone())),
        )
        .await;
    }

    /// Looks a name up: the claim held by a majority of the replicas that answered (at
    /// least R of them must answer); `None` when that majority holds none.
    pub async fn lookup_name(&self, name: &str) -> Result<Option<NameClaim>, NodeError> {
        let name = normalize_name(name).map_err(invalid_name)?;
        self.lookup_registry_name(name).await
    }

    /// The quorum lookup of a registry name (a normalized username or `/<slug>`).
    async fn lookup_registry_name(&self, name: String) -> Result<Option<NameClaim>, NodeError> {
        let replicas = self.replicas(&name).await?;
        let request = NameRequest::Lookup { name: name.clone() };
        let answers = join_all(
            replicas
                .iter()
                .map(|peer| self.ask_replica(*peer, request.clone())),
        )
        .await;
        // Tally valid answers: a claim (by owner) or "none".
        let mut answered = 0usize;
        let mut none: Vec<PeerId> = Vec::new();
        let mut tally: Vec<(NameClaim, usize)> = Vec::new();
        for (peer, answer) in replicas.iter().zip(answers) {
            match answer {
                Some(NameResponse::NotFound) => {
                    answered += 1;
                    none.push(*peer);
                }
                Some(NameResponse::Found { claim }) => {
                    // A replica that answers with an invalid or foreign claim is ignored.
                    let Ok(claim) = NameClaim::decode(&claim, now_ms()) else {
                        continue;
                    };
                    if claim.name() != name {
                        continue;
                    }
                    answered += 1;
                    match tally.iter_mut().find(|(c, _)| c.owner() == claim.owner()) {
                        Some((_, count)) => *count += 1,
                        None => tally.push((claim, 1)),
                    }
                }
                _ => {}
            }
        }
        let quorum = self.inner.name_quorum;
        if answered < quorum.r {
            return Err(NodeError::NameQuorum {
                name,
                reached: answered,
                needed: quorum.r,
                replicas: replicas.len(),
            });
        }
        let Some((claim, count)) = tally.into_iter().max_by_key(|(_, count)| *count) else {
            return Ok(None);
        };
        if 2 * count <= answered {
            // No majority holds it (a failed claim not yet withdrawn, or a split).
            return Ok(None);
        }
        // Read repair: replicas that lack it get it (their check-and-insert decides).
        if !none.is_empty() {
            let node = self.clone();
            let request = NameRequest::Claim {
                claim: claim.encode().to_vec(),
            };
            tokio::spawn(async move {
                join_all(
                    none.iter()
                        .map(|peer| node.ask_replica(*peer, request.clone())),
                )
                .await;
            });
        }
        Ok(Some(claim))
    }

    /// Releases a name held by the hosted identity at every replica that holds it.
    /// Returns how many replicas removed it.
    pub async fn release_name(&self, name: &str) -> Result<usize, NodeError> {
        let name = normalize_name(name).map_err(invalid_name)?;
        let released = self.release_registry_name(&name).await?;
        // The profile stops showing it.
        let shows_it = self.inner.store.profile(&self.inner.author)?.is_some_and(|p| {
            matches!(p.body(), kith_proto::Body::Profile { username: Some(u), .. } if *u == name)
        });
        if shows_it {
            let cleared = crate::ProfileUpdate {
                username: Some(None),
                ..Default::default()
            };
            if let Err(e) = self.set_profile(cleared).await {
                debug!("the profile still shows {name}: {e}");
            }
        }
        Ok(released)
    }

    /// Releases a registry name at every replica that holds it for the hosted identity.
    async fn release_registry_name(&self, name: &str) -> Result<usize, NodeError> {
        let release =
            NameRelease::sign(&self.inner.keypair, name, now_ms()).map_err(invalid_name)?;
        let replicas = self.replicas(name).await?;
        let request = NameRequest::Release {
            release: release.encode().to_vec(),
        };
        let answers = join_all(
            replicas
                .iter()
                .map(|peer| self.ask_replica(*peer, request.clone())),
        )
        .await;
        Ok(answers
            .iter()
            .filter(|a| matches!(a, Some(NameResponse::Released { removed: true })))
            .count())
    }

    /// One re-replication sweep: every claim held here is offered to its current replicas.
    pub(crate) async fn replicate_names(&self) {
        let mut after: Option<String> = None;
        loop {
            let page = match self
                .inner
                .store
                .name_claims(after.as_deref(), REPLICATION_BATCH)
            {
                Ok(page) => page,
                Err(e) => {
                    debug!("cannot read names to replicate: {e}");
                    return;
                }
            };
            let Some(last) = page.last() else {
                return;
            };
            after = Some(last.name().to_owned());
            for claim in &page {
                if *self.inner.stop.borrow() {
                    return;
                }
                let Ok(replicas) = self.replicas(claim.name()).await else {
                    continue;
                };
                let request = NameRequest::Claim {
                    claim: claim.encode().to_vec(),
                };
                let me = self.inner.net.peer_id();
                join_all(
                    replicas
                        .iter()
                        .filter(|peer| **peer != me)
                        .map(|peer| self.ask_replica(*peer, request.clone())),
                )
                .await;
                tokio::time::sleep(REPLICATION_PACE).await;
            }
            if page.len() < REPLICATION_BATCH {
                return;
            }
        }
    }
}

/// Runs re-replication sweeps until the node stops. The first sweep comes after a random
/// part of `every` (then one every `every`): peers started together (a data centre's reboot,
/// a testnet) would otherwise all sweep at once, and the replicas of every name would get
/// their requests in bursts.
pub(crate) fn spawn_replication(node: &Node, every: Duration) {
    use std::hash::{BuildHasher as _, Hasher as _};
    let node = node.clone();
    // A process-random number, no crate needed: the std hasher's keys are random.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let phase = every.mul_f64((random % 1_000_000) as f64 / 1_000_000.0);
    tokio::spawn(async move {
        let mut stop = node.inner.stop.subscribe();
        let mut wait = phase;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => node.replicate_names().await,
                _ = stop.changed() => return,
            }
            wait = every;
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kith_proto::Keypair;
    use kith_store::StoreConfig;

    fn claim_bytes(seed: u8, name: &str) -> Vec<u8> {
        NameClaim::sign(&Keypair::from_seed(&[seed; 32]), name, now_ms())
            .unwrap()
            .encode()
            .to_vec()
    }

    #[test]
    fn a_replica_refuses_forged_claims_and_keeps_the_first_valid_one() {
        let store = Store::in_memory(StoreConfig::default()).unwrap();
        // One flipped bit (here in the last byte of the record) makes the claim invalid.
        let mut forged = claim_bytes(1, "alice");
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(matches!(
            serve(&store, NameRequest::Claim { claim: forged }),
            NameResponse::Refused { .. }
        ));
        assert_eq!(
            serve(
                &store,
                NameRequest::Lookup {
                    name: "alice".into()
                }
            ),
            NameResponse::NotFound
        );
        let first = claim_bytes(1, "alice");
        assert_eq!(
            serve(
                &store,
                NameRequest::Claim {
                    claim: first.clone()
                }
            ),
            NameResponse::Accepted
        );
        assert_eq!(
            serve(
                &store,
                NameRequest::Claim {
                    claim: claim_bytes(2, "alice")
                }
            ),
            NameResponse::Taken {
                claim: first.clone()
            }
        );
        assert_eq!(
            serve(
                &store,
                NameRequest::Lookup {
                    name: "alice".into()
                }
            ),
            NameResponse::Found { claim: first }
        );
        // A lookup of a name that is not normalized, and garbage, are refused.
        assert!(matches!(
            serve(
                &store,
                NameRequest::Lookup {
                    name: "Alice".into()
                }
            ),
            NameResponse::Refused { .. }
        ));
        assert!(matches!(
            serve(
                &store,
                NameRequest::Release {
                    release: vec![0xa0]
                }
            ),
            NameResponse::Refused { .. }
        ));
    }
}
