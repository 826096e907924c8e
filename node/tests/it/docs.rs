//! `docs/protocol.md` stays true: its example session is replayed against `occ-node`.

use serde_json::Value;

use crate::run;

/// The `session` block of docs/protocol.md: lines sent (`> `) and lines expected (`< `).
fn documented_session() -> (Vec<String>, Vec<String>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/protocol.md exists");
    let block = text
        .split("```session\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/protocol.md has a ```session block");
    let (mut sent, mut expected) = (Vec::new(), Vec::new());
    for line in block.lines() {
        match line.split_at(2) {
            ("> ", message) => sent.push(message.to_string()),
            ("< ", message) => expected.push(message.to_string()),
            _ => panic!("a session line starts with `> ` or `< `: {line}"),
        }
    }
    (sent, expected)
}

#[test]
fn the_protocol_docs_session_is_what_occ_node_answers() {
    // Every reply in the documented session, field for field and in order, and nothing else.
    let (sent, expected) = documented_session();
    assert!(sent.len() >= 10 && !expected.is_empty());
    let sent: Vec<&str> = sent.iter().map(String::as_str).collect();
    let got: Vec<String> = run(&sent).stdout.iter().map(Value::to_string).collect();
    let expected: Vec<String> = expected
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line").to_string())
        .collect();
    assert_eq!(got, expected);
}
