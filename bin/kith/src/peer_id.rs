//! The libp2p peer id of the node key, computed without libp2p (so `kith init` and an
//! offline `kith id` can print it).
//!
//! `node.key` holds an ed25519 secret seed. libp2p names an ed25519 key by the identity
//! multihash (code 0x00) of the key's protobuf encoding `PublicKey { Type: Ed25519 (1),
//! Data: 32 bytes }`, in base58btc: the familiar `12D3KooW…`.

use kith_proto::Keypair;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_peer_ids_have_the_usual_shape() {
        let id = of_node_key(&[7; 32]);
        assert!(id.starts_with("12D3KooW"), "{id}");
        assert_eq!(id.len(), 52);
        assert_ne!(id, of_node_key(&[8; 32]));
    }
}
