//! Writes the protocol test vectors (`docs/test-vectors/*.json`).
//!
//! ```text
//! cargo run -p kith-proto --example gen_test_vectors -- docs/test-vectors
//! ```
//!
//! The output is deterministic (fixed seeds, fixed timestamps, deterministic ed25519), and
//! `tests/test_vectors.rs` fails if the committed files differ from what this writes.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../tests/support/mod.rs"]
mod support;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: gen_test_vectors <output directory>");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, contents) in support::vectors::generate() {
        let path = dir.join(name);
        if let Err(error) = std::fs::write(&path, contents) {
            eprintln!("cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
