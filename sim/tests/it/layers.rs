//! The arrows between `sim`'s folders point one way (ARCHITECTURE.md): `check` knows
//! nothing above it, `world` nothing but `check`, `hunt` nothing above `world`, `explain`
//! nothing above `hunt`, and no library module reaches into `cli/`, which only parses
//! arguments and dispatches. Arrows that all point down cannot close a circle.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each folder of `sim/src` and the folders it may import: the layers, lowest first.
/// `oracle` judges the checker from the spec alone, so it stands beside `world` on
/// `check` only.
const MAY_IMPORT: &[(&str, &[&str])] = &[
    ("check", &[]),
    ("world", &["check"]),
    ("oracle", &["check"]),
    ("hunt", &["check", "world"]),
    ("explain", &["check", "world", "hunt"]),
    ("cli", &["check", "world", "hunt", "explain", "oracle"]),
];

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

/// The top folders `text` names through `crate::`: `crate::hunt::x` and each member of
/// `crate::{hunt::x, world}`.
fn named_folders(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
    };
    let mut named = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                // Only the group's top level: commas inside nested braces name items.
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            named.insert(ident(&group[start..i]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            named.insert(ident(&group[start..i]));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => {
                named.insert(ident(rest));
            }
        }
    }
    named.remove("");
    named
}

/// The imports of `folder`'s files (under `sim/src`) that go to a folder not in `allowed`.
fn imports_outside(folder: &str, allowed: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder);
    let folders: Vec<&str> = MAY_IMPORT.iter().map(|(name, _)| *name).collect();
    sources(&root)
        .into_iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            named_folders(&text)
                .into_iter()
                .filter(|up| {
                    up != folder && folders.contains(&up.as_str()) && !allowed.contains(&&**up)
                })
                .map(|up| format!("{} names crate::{up}", file.display()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn library_modules_never_import_the_command_line() {
    for (folder, _) in MAY_IMPORT.iter().filter(|(folder, _)| *folder != "cli") {
        let found = imports_outside(folder, &[]);
        let found: Vec<&String> = found.iter().filter(|f| f.ends_with("crate::cli")).collect();
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn every_folder_imports_only_the_layers_below_it() {
    // This is what keeps the graph free of circles: `hunt` once called `explain` for a
    // time format while `explain` imported `hunt`'s outcome.
    for (folder, allowed) in MAY_IMPORT {
        let found = imports_outside(folder, allowed);
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn the_layers_name_every_folder_of_the_crate() {
    // A new folder must take its place among the layers, or the test above never sees it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut on_disk: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = MAY_IMPORT.iter().map(|(name, _)| name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn imports_are_read_through_braces_too() {
    // The reader the tests above rely on: plain paths and each top member of a group.
    let text = "use crate::hunt::x;\nuse crate::{explain::report::{a, b}, world};\n";
    let named: Vec<String> = named_folders(text).into_iter().collect();
    assert_eq!(named, ["explain", "hunt", "world"]);
}

#[test]
fn the_scene_knows_neither_renderer() {
    // Inside `explain`, the arrows point one way too: the text report and the HTML page
    // draw the scene's rows, and the scene never reaches back into either (doc links
    // aside) — a circle between `report` and the scene once carried the word scanner.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/explain/scene");
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|line| !line.trim_start().starts_with("//")) {
            if line.contains("explain::report") || line.contains("explain::html") {
                found.push(format!("{}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The functions of `file` as (name, first line, length in lines): from a line that opens
/// `fn name(` to the line that closes it at the same indentation (rustfmt's layout).
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let code = line.trim_start();
        let after_fn = ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn ", "const fn "]
            .iter()
            .find_map(|opening| code.strip_prefix(opening));
        let Some(rest) = after_fn else { continue };
        if code.ends_with(';') {
            continue; // A trait's declaration, no body.
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let closing = format!("{}}}", " ".repeat(indent));
        let end = lines[at + 1..].iter().position(|l| l.trim_end() == closing);
        if let Some(end) = end {
            found.push((name, at + 1, end + 2));
        }
    }
    found
}

#[test]
fn the_store_and_the_checker_have_no_function_over_70_lines() {
    // TigerBeetle's habit, kept where correctness is decided (issue 23): a function a
    // reader holds in one view. Split by meaning, into named phases, not at line 70.
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let roots = [crate_dir.join("../node/src"), crate_dir.join("src/check")];
    let mut long = Vec::new();
    for file in roots.iter().flat_map(|root| sources(root)) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (name, line, length) in function_lengths(&text) {
            if length > 70 {
                long.push(format!("{}:{line} {name}: {length} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "{long:#?}");
}

#[test]
fn function_lengths_are_counted_from_fn_to_its_closing_brace() {
    let text = "fn short() {\n    1;\n}\n\n    pub(crate) fn inner(&self) -> u8 {\n        2\n    }\ntrait T {\n    fn declared(&self);\n}\n";
    assert_eq!(function_lengths(text), [("short".to_string(), 1, 3), ("inner".to_string(), 5, 3)]);
}
