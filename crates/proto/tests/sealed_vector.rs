//! The test vector of one sealed entry (docs/test-vectors/sealed.json): every derived value
//! from fixed keys and randomness, so another implementation can check its sealing and
//! opening byte for byte. `KITH_WRITE_VECTORS=1` rewrites the file after a deliberate change.

// Test code: a failed step fails the test.
#![allow(clippy::unwrap_used)]

use kith_proto::sealed::{self, Audience, Inner, Opened, SealRandomness, Sealed};
use kith_proto::{Body, Draft, Keypair, sign_entry};
use serde_json::json;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vector() -> serde_json::Value {
    let author = Keypair::from_seed(&[0x11; 32]);
    let reader = Keypair::from_seed(&[0x22; 32]);
    let outsider = Keypair::from_seed(&[0x33; 32]);
    let inner = Inner {
        kind: "post".into(),
        body: Body::Post {
            text: "for my followers only".into(),
        }
        .encode(),
        audience: Audience::Followers,
    };
    let randomness = SealRandomness {
        ephemeral: [0x44; 32],
        content_key: [0x55; 32],
        filler: [0x66; 32],
    };
    let sealed =
        sealed::seal_with(&[author.author(), reader.author()], &inner, &randomness).unwrap();
    let body = sealed.encode();
    let entry = sign_entry(
        &author,
        &Draft::after(None, 1_764_000_000_000, sealed::SEALED_KIND, &body),
    )
    .unwrap();
    // What the reader gets back, and what the outsider does.
    let Opened::Readable { inner: read, key } = sealed::open(&reader, &sealed).unwrap() else {
        panic!("the reader is a recipient");
    };
    assert_eq!(read, inner);
    assert_eq!(*key, randomness.content_key);
    assert_eq!(sealed::open(&outsider, &sealed).unwrap(), Opened::NotForUs);
    let Sealed::Keyed {
        ephemeral,
        stanzas,
        ciphertext,
    } = &sealed
    else {
        unreachable!()
    };
    json!({
        "description": "One sealed entry (PROTOCOL.md §35): a post sealed for its author (seed 11…11) and one reader (seed 22…22) with the ephemeral secret 44…44, the content key 55…55 and the filler seed 66…66. The reader opens it to `inner_hex`; the outsider (seed 33…33) finds no stanza with its tag.",
        "author_seed_hex": hex(&[0x11; 32]),
        "reader_seed_hex": hex(&[0x22; 32]),
        "outsider_seed_hex": hex(&[0x33; 32]),
        "author_x25519_public_hex": hex(&sealed::x25519_public(&author.author()).unwrap()),
        "reader_x25519_public_hex": hex(&sealed::x25519_public(&reader.author()).unwrap()),
        "reader_x25519_secret_hex": hex(sealed::x25519_secret(&reader).as_slice()),
        "ephemeral_secret_hex": hex(&randomness.ephemeral),
        "ephemeral_public_hex": hex(ephemeral),
        "content_key_hex": hex(&randomness.content_key),
        "filler_seed_hex": hex(&randomness.filler),
        "inner_hex": hex(&inner.encode()),
        "stanzas_hex": hex(stanzas),
        "ciphertext_hex": hex(ciphertext),
        "body_hex": hex(&body),
        "entry_hex": hex(entry.bytes()),
        "entry_id": entry.id().to_string(),
    })
}

#[test]
fn the_sealed_vector_is_what_the_code_makes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/test-vectors/sealed.json"
    );
    let made = serde_json::to_string_pretty(&vector()).unwrap() + "\n";
    if std::env::var_os("KITH_WRITE_VECTORS").is_some() {
        std::fs::write(path, &made).unwrap();
    }
    let file = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        file, made,
        "docs/test-vectors/sealed.json differs from what the code makes; if the change is \
         deliberate, rerun with KITH_WRITE_VECTORS=1"
    );
}
