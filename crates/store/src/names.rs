//! The name registry's replica state: one signed claim per normalized name (`names_v1`).
//! The first valid claim of a name that reaches this replica wins here; it goes only when
//! its owner releases it. The quorum across replicas is the node's business.

use std::ops::Bound;

use kith_proto::names::{NameClaim, NameRelease};
use redb::{ReadableTable, Table};

use crate::tables::{NAMES, NAMES_NAME};
use crate::{Request, Store, StoreError};

/// What [`Store::claim_name`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Stored: the first valid claim of this name here.
    Accepted,
    /// This owner already holds it here (the stored claim is kept).
    AlreadyHeld,
    /// Another owner's claim is stored; here it is.
    Taken(NameClaim),
    /// The owner released the name after signing this claim: a replay, refused.
    Stale,
}

/// A stored claim read back: re-checked in full (it was checked on arrival; its time then,
/// so "now" is unbounded here), and it must be stored under its own name.
fn stored(name: &str, bytes: &[u8]) -> Result<NameClaim, StoreError> {
    let claim = NameClaim::decode(bytes, u64::MAX).map_err(|error| StoreError::Corrupt {
        table: NAMES_NAME,
        detail: format!("claim of `{name}`: {error}"),
    })?;
    if claim.name() != name {
        return Err(StoreError::Corrupt {
            table: NAMES_NAME,
            detail: format!("the claim of `{}` is stored under `{name}`", claim.name()),
        });
    }
    Ok(claim)
}

/// The check-and-insert, inside the writer's transaction. Whether it changed anything is
/// `Accepted`.
pub(crate) fn claim(
    names: &mut Table<'_, &'static str, &'static [u8]>,
    releases: &Table<'_, &'static str, &'static [u8]>,
    claim: &NameClaim,
) -> Result<ClaimOutcome, StoreError> {
    if let Some(released) = releases.get(claim.name())? {
        let released = released.value();
        if released.len() == 40
            && &released[8..40] == claim.owner().as_bytes().as_slice()
            && u64::from_be_bytes(released[..8].try_into().unwrap_or([0; 8])) >= claim.ts()
        {
            return Ok(ClaimOutcome::Stale);
        }
    }
    let existing = names
        .get(claim.name())?
        .map(|v| stored(claim.name(), v.value()))
        .transpose()?;
    Ok(match existing {
        None => {
            names.insert(claim.name(), claim.encode())?;
            ClaimOutcome::Accepted
        }
        Some(held) if held.owner() == claim.owner() => ClaimOutcome::AlreadyHeld,
        Some(held) => ClaimOutcome::Taken(held),
    })
}

/// Removes the stored claim if `release` is by its owner and signed at or after it.
pub(crate) fn release(
    names: &mut Table<'_, &'static str, &'static [u8]>,
    releases: &mut Table<'_, &'static str, &'static [u8]>,
    release: &NameRelease,
) -> Result<bool, StoreError> {
    // Remembered (the newest per name), so the released claim cannot be replayed here.
    let newer = releases.get(release.name())?.is_none_or(|old| {
        let old = old.value();
        old.len() != 40 || u64::from_be_bytes(old[..8].try_into().unwrap_or([0; 8])) < release.ts()
    });
    if newer {
        let mut value = release.ts().to_be_bytes().to_vec();
        value.extend_from_slice(release.owner().as_bytes());
        releases.insert(release.name(), value.as_slice())?;
    }
    let existing = names
        .get(release.name())?
        .map(|v| stored(release.name(), v.value()))
        .transpose()?;
    match existing {
        Some(held) if held.owner() == release.owner() && release.ts() >= held.ts() => {
            names.remove(release.name())?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

impl Store {
    /// Atomic check-and-insert, in one durable write transaction through the writer thread:
    /// the first valid claim of a name wins at this replica. The claim was checked by
    /// [`NameClaim::decode`] or [`NameClaim::sign`] (the type guarantees it).
    pub fn claim_name(&self, claim: &NameClaim) -> Result<ClaimOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request::ClaimName {
                claim: claim.clone(),
                reply,
            })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// Removes the stored claim if `release` is by its owner and not older than the claim
    /// (release ts ≥ claim ts), durably. Returns whether something was removed.
    pub fn release_name(&self, release: &NameRelease) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request::ReleaseName {
                release: release.clone(),
                reply,
            })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// The stored claim of a (normalized) name.
    pub fn name_claim(&self, name: &str) -> Result<Option<NameClaim>, StoreError> {
        let txn = self.read()?;
        let names = txn.open_table(NAMES)?;
        names
            .get(name)?
            .map(|v| stored(name, v.value()))
            .transpose()
    }

    /// Up to `limit` stored claims with names after `after` (for re-replication sweeps), in
    /// name order (bytewise; names are ASCII). Pass the last name of a page to get the next.
    pub fn name_claims(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<NameClaim>, StoreError> {
        let txn = self.read()?;
        let names = txn.open_table(NAMES)?;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut claims = Vec::with_capacity(limit.min(1024));
        for row in names.range::<&str>((start, Bound::Unbounded))?.take(limit) {
            let (name, bytes) = row?;
            claims.push(stored(name.value(), bytes.value())?);
        }
        Ok(claims)
    }
}
