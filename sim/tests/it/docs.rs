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
