//! Integration tests of the `node` crate: the real `occ-node` binary over stdin/stdout
//! (one module per topic), plus a fuzz test of the library API.

mod bad_input;
mod binary;
mod cluster;
mod crash_binary;
mod docs;
mod durability;
mod expiry;
mod fuzz;
mod hostile_log;
mod routed;
mod seed;
mod transactions;
mod under_sim;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// What one run of `occ-node` printed.
pub struct Run {
    pub stdout: Vec<Value>,
    pub stderr: String,
    pub code: Option<i32>,
}

/// Runs `occ-node` with `args`, feeding `lines` on stdin, and parses every stdout line.
pub fn run_with(args: &[&str], lines: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn occ-node");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    // The node may exit early (bad flags), so a broken pipe here is not the test's concern.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let Output { status, stdout, stderr } = child.wait_with_output().expect("wait for occ-node");
    let stdout = String::from_utf8(stdout).expect("stdout is UTF-8");
    let stdout = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line {l:?}: {e}")))
        .collect();
    Run { stdout, stderr: String::from_utf8_lossy(&stderr).into_owned(), code: status.code() }
}

/// Runs `occ-node` with default flags; expects it to exit 0.
pub fn run(lines: &[&str]) -> Run {
    let run = run_with(&[], lines);
    assert_eq!(run.code, Some(0), "occ-node failed; stderr:\n{}", run.stderr);
    run
}

/// Expects each of `expected` (JSON text) to appear in `got`, in this order.
pub fn assert_in_order(got: &[Value], expected: &[&str]) {
    let mut rest = got.iter();
    for want in expected {
        let want: Value = serde_json::from_str(want).expect("expected line is JSON");
        assert!(
            rest.any(|line| *line == want),
            "expected {want}\nin order within:\n{}",
            got.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
        );
    }
}

/// The body of the reply to request `msg_id`.
pub fn reply_to(got: &[Value], msg_id: u64) -> &Value {
    let matches: Vec<&Value> = got.iter().filter(|l| l["body"]["in_reply_to"] == msg_id).collect();
    assert_eq!(matches.len(), 1, "replies to {msg_id} in {got:?}");
    &matches[0]["body"]
}

/// The `init` line from client c0 to n1 with msg_id 1 that starts most runs.
pub const INIT: &str = r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}"#;
