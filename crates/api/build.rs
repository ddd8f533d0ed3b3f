//! Compiles the web UI into the binary: writes `$OUT_DIR/ui_files.rs`, a table of every file
//! of `ui/index.html` and `ui/assets/` (by path relative to `ui/`, sorted) with its bytes
//! through `include_bytes!`. Nothing is fetched or generated: the files are served as they
//! are in the repository. Other files of `ui/` (the development proxy) are left out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The kinds of file the UI may have; anything else under `ui/assets/` is a build error, so
/// a stray file never ships unnoticed.
const SERVED_EXTENSIONS: &[&str] = &["html", "css", "js", "svg"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let ui = manifest.join("ui");
    // A directory: cargo rebuilds when anything under it changes.
    println!("cargo::rerun-if-changed=ui");
    let mut files: Vec<(String, PathBuf)> = vec![("index.html".to_owned(), ui.join("index.html"))];
    let assets = ui.join("assets");
    let entries = std::fs::read_dir(&assets)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", assets.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = file_name(&path);
        assert!(
            path.is_file(),
            "ui/assets/{name} is not a file: the UI's assets directory is flat"
        );
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        assert!(
            SERVED_EXTENSIONS.contains(&extension),
            "ui/assets/{name}: only {SERVED_EXTENSIONS:?} files are served"
        );
        files.push((format!("assets/{name}"), path));
    }
    files.sort();
    let mut table = String::from(
        "/// The web UI's files: path relative to `ui/`, and contents.\n\
         pub(crate) static UI_FILES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        assert!(path.is_file(), "{} is missing", path.display());
        writeln!(
            table,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("ui_files.rs");
    std::fs::write(&out, table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("{} has no UTF-8 name", path.display()))
        .to_owned()
}
