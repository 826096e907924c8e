//! The docs in `docs/` are the spec, and stay true: the example history of
//! `docs/history-format.md` is checked, and the binaries' help points at the docs.

use std::process::Command;

use sim::check::{check, parse_history, Model};

fn doc(name: &str) -> String {
    let path = format!("{}/../docs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_documented_example_history_is_well_formed_and_valid() {
    // The ```jsonl block parses, and both models accept it with its info proved committed.
    let text = doc("history-format.md");
    let block = text
        .split("```jsonl\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/history-format.md has a ```jsonl block");
    let events = parse_history(block).expect("the example parses");
    assert!(events.iter().any(|e| e.final_read), "the example shows a final read");
    for model in [Model::Serializable, Model::StrictSerializable] {
        let verdict = check(&events, model).expect("the example is well formed");
        assert!(verdict.valid, "{}", verdict.render_text(3));
        let s = &verdict.stats;
        assert_eq!((s.txns, s.committed, s.failed, s.info, s.info_committed), (5, 3, 1, 1, 1));
    }
}

#[test]
fn help_texts_point_at_the_docs_in_the_repository() {
    // `sim --help` names both specs, `sim check --help` the history format.
    let help = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let top = help(&["--help"]);
    assert!(top.contains("docs/history-format.md") && top.contains("docs/protocol.md"), "{top}");
    assert!(help(&["check", "--help"]).contains("docs/history-format.md"));
    assert!(!top.contains("DESIGN.md"));
    for name in ["history-format.md", "protocol.md"] {
        assert!(doc(name).starts_with("# "), "docs/{name} exists");
    }
}

#[test]
fn the_readme_counts_the_false_alarm_configurations_the_script_runs() {
    // Proves the README's figure for .ci/false-alarms is the script's: run with a `sim`
    // that passes every sweep at once (`true`), it counts its own configurations.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new("bash")
        .args([&format!("{root}/.ci/false-alarms"), "true", "100"])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let configs: u64 = stdout
        .lines()
        .last()
        .and_then(|l| l.split(" over ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in: {stdout}"));
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let seeds = configs * 100;
    let figure = format!("({configs} configurations, {},{:03} seeds)", seeds / 1000, seeds % 1000);
    assert!(readme.contains(&figure), "README lacks `{figure}`");
    assert!(readme.contains(&format!("sweeps the correct store over {configs}\n")));
}

#[test]
fn the_code_map_names_every_module() {
    // ARCHITECTURE.md's code map has a line for every source file of the three crates (a
    // crate root, a folder's `mod.rs` and the subcommands of `cli/`, "one module per
    // subcommand", are described with their folder), by file name or module name.
    fn sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut files = Vec::new();
    for krate in ["node/src", "workloads/src", "sim/src"] {
        sources(&root.join(krate), &mut files);
    }
    files.sort();
    let missing: Vec<String> = files
        .iter()
        .filter(|file| !file.starts_with(root.join("sim/src/cli")))
        .filter_map(|file| {
            let stem = file.file_stem()?.to_str()?;
            let described = ["lib", "main", "mod"].contains(&stem)
                || map.contains(&format!("{stem}.rs"))
                || map.contains(&format!("`{stem}`"));
            (!described).then(|| file.strip_prefix(&root).unwrap_or(file).display().to_string())
        })
        .collect();
    assert!(missing.is_empty(), "not in ARCHITECTURE.md's code map: {missing:#?}");
}
