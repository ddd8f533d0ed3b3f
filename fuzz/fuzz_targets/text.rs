//! Text that reaches the parsers from people and peers: permalinks, usernames, global slugs,
//! post slugs, mentions and hashtags. Never panics; what is accepted is stable.
#![no_main]

use kith_proto::names::{global_slug_name, normalize_name};
use kith_proto::permalink::Permalink;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(link) = text.parse::<Permalink>() {
        // A permalink prints to a form that parses back to itself.
        assert_eq!(link.to_string().parse::<Permalink>().ok(), Some(link));
    }
    if let Ok(name) = normalize_name(text) {
        // Normalizing is idempotent.
        assert_eq!(normalize_name(&name).ok(), Some(name));
    }
    let _ = global_slug_name(text);
    let _ = kith_proto::text::slug_from_text(text);
});
