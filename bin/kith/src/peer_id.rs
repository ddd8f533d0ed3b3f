//! The libp2p peer id of the node key, computed without libp2p (so `kith init` and an
//! offline `kith id` can print it), and the shape check of peer ids given on the command
//! line.
//!
//! `node.key` holds an ed25519 secret seed. libp2p names an ed25519 key by the identity
//! multihash (code 0x00) of the key's protobuf encoding `PublicKey { Type: Ed25519 (1),
//! Data: 32 bytes }`, in base58btc: the familiar `12D3KooW…`.

use anyhow::{Result, bail};
use kith_proto::Keypair;

/// Multihash code of the identity "hash" (the key itself, for keys of up to 42 bytes).
const IDENTITY: u8 = 0x00;
/// Multihash code of sha2-256 (the hash of longer keys).
const SHA2_256: u8 = 0x12;
/// Longest key libp2p inlines in an identity multihash.
const MAX_INLINE_KEY: usize = 42;

/// The peer id of the ed25519 key with secret seed `seed`.
pub(crate) fn of_node_key(seed: &[u8; 32]) -> String {
    let public = Keypair::from_seed(seed).author();
    // Protobuf: field 1 (Type, varint) = 1; field 2 (Data, bytes) of length 32.
    let mut protobuf = vec![0x08, 0x01, 0x12, 0x20];
    protobuf.extend_from_slice(public.as_bytes());
    let mut multihash = vec![0x00, 36];
    multihash.extend_from_slice(&protobuf);
    bs58::encode(multihash).into_string()
}

/// Checks that `text` has the shape of a libp2p peer id: base58btc of an identity multihash
/// (of at most 42 bytes) or of a sha2-256 one, as libp2p parses them. The daemon checks
/// again; this only explains a typo before anything is sent.
pub(crate) fn check(text: &str) -> Result<()> {
    let expected = "expected a peer id such as 12D3KooW… (as printed by `kith id` or `kith peers`)";
    let Ok(bytes) = bs58::decode(text).into_vec() else {
        bail!("`{text}` is not a peer id: it is not base58 text; {expected}");
    };
    let well_formed = match bytes.as_slice() {
        [IDENTITY, len, digest @ ..] => {
            usize::from(*len) == digest.len() && digest.len() <= MAX_INLINE_KEY
        }
        [SHA2_256, len, digest @ ..] => usize::from(*len) == digest.len() && digest.len() == 32,
        _ => false,
    };
    if !well_formed {
        bail!("`{text}` is not a peer id: not a libp2p key hash; {expected}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_are_checked_for_shape() {
        check(&of_node_key(&[7; 32])).unwrap();
        // An RSA-style (sha2-256) peer id.
        check("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").unwrap();
        let good = of_node_key(&[7; 32]);
        for bad in [
            "",
            "bogus0",
            "12D3KooW",
            &good[..good.len() - 1],
            "did:key:z6Mk",
        ] {
            let message = check(bad).unwrap_err().to_string();
            assert!(message.contains("12D3KooW"), "{message}");
        }
    }

    #[test]
    fn ed25519_peer_ids_have_the_usual_shape() {
        let id = of_node_key(&[7; 32]);
        assert!(id.starts_with("12D3KooW"), "{id}");
        assert_eq!(id.len(), 52);
        assert_ne!(id, of_node_key(&[8; 32]));
    }
}
