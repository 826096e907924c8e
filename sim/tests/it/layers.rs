//! The arrows between `sim`'s folders point one way (ARCHITECTURE.md): `check` knows
//! nothing above it, `world` nothing but `check`, and no library module reaches into
//! `cli/`, which only parses arguments and dispatches.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The files of `folder` (under `sim/src`) that name one of `above`.
fn reaching_up(folder: &str, above: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder);
    sources(&root)
        .into_iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            above
                .iter()
                .filter(|up| text.contains(&format!("crate::{up}")))
                .map(|up| format!("{} names crate::{up}", file.display()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn library_modules_never_import_the_command_line() {
    for folder in ["check", "world", "hunt", "explain", "oracle"] {
        let found = reaching_up(folder, &["cli"]);
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn the_cores_import_nothing_above_them() {
    let found = reaching_up("check", &["world", "hunt", "explain", "cli", "oracle"]);
    assert!(found.is_empty(), "{found:#?}");
    let found = reaching_up("world", &["hunt", "explain", "cli", "oracle"]);
    assert!(found.is_empty(), "{found:#?}");
}
