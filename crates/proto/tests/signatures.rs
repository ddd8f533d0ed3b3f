//! Demonstrates the one documented difference between batch and strict verification
//! (`docs/PROTOCOL.md` §8.3): a signature whose `R` has a torsion component, which only the
//! key holder can make, is always refused by strict verification but passes some batches.
//! If the implementation is hardened (e.g. a torsion check before batching), the batch count
//! below drops to zero: update this test and §8.3 together.

mod support;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use kith_proto::entry::ENTRY_SIGNATURE_DOMAIN;
use kith_proto::{Body, Draft, Entry, EntryError, Keypair, sign_entry, verify_batch};
use sha2::{Digest, Sha512};

const NOW: u64 = 1_767_225_600_000;

fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut hasher = Sha512::new();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; 64];
    out.copy_from_slice(&hasher.finalize());
    out
}

fn post(keypair: &Keypair, text: &str) -> Entry {
    let body = Body::Post { text: text.into() }.encode();
    sign_entry(keypair, &Draft::after(None, NOW, "post", &body))
        .expect("valid")
        .into_entry()
}

/// Signs `entry`'s payload again with `R = [r]B + T`, T a point of order 8.
fn mixed_order_signature(seed: &[u8; 32], entry: &Entry) -> Vec<u8> {
    // RFC 8032 key expansion: a = clamp(SHA-512(seed)[..32]).
    let h = sha512(&[seed]);
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&h[..32]);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let public = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
    assert_eq!(&public, entry.author().as_bytes(), "key expansion");

    let torsion = EIGHT_TORSION[1];
    assert!(torsion.is_small_order() && !(torsion * Scalar::from(4u8)).is_identity());
    let r = Scalar::from_bytes_mod_order_wide(&sha512(&[b"any nonce", entry.payload_bytes()]));
    let big_r = (ED25519_BASEPOINT_POINT * r + torsion)
        .compress()
        .to_bytes();
    let mut message = ENTRY_SIGNATURE_DOMAIN.to_vec();
    message.extend_from_slice(entry.payload_bytes());
    let k = Scalar::from_bytes_mod_order_wide(&sha512(&[&big_r, &public, &message]));
    let s = r + k * a;
    let mut sig = big_r.to_vec();
    sig.extend_from_slice(&s.to_bytes());
    support::vectors::envelope(&sig, entry.payload_bytes())
}

#[test]
fn mixed_order_r_fails_strict_verification_but_passes_some_batches() {
    let seed = [0x5a; 32];
    let keypair = Keypair::from_seed(&seed);
    let honest = post(&keypair, "an honest post");
    let crafted = Entry::decode(&mixed_order_signature(&seed, &honest)).expect("decodes");

    // Strict verification, the definition of validity, always refuses it.
    assert_eq!(crafted.clone().verify(NOW), Err(EntryError::BadSignature));

    // Batched with different valid entries (so different coefficients), it passes the batch
    // equation when 8 divides its coefficient: about one batch in eight.
    let other = Keypair::from_seed(&[0x33; 32]);
    let mut passed = 0;
    let trials = 64;
    for i in 0..trials {
        let companion = post(&other, &format!("companion {i}"));
        let results = verify_batch(vec![crafted.clone(), companion], NOW);
        assert!(results[1].is_ok(), "a valid companion is never refused");
        if results[0].is_ok() {
            passed += 1;
        }
    }
    eprintln!("the crafted entry passed {passed} of {trials} batches");
    assert!(
        (1..trials / 2).contains(&passed),
        "expected roughly {} of {trials} batches to pass, got {passed}",
        trials / 8
    );
}
