//! Expiry of transaction state, through the binary's TTL flags and the library API.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use node::io::{step_synced, Input};
use node::protocol::{error_code, Body, Envelope, Payload};
use node::storage::MemLog;
use node::{Node, NodeConfig};

use crate::INIT;

#[test]
fn an_expired_transaction_gets_an_indefinite_error() {
    // Proves, through occ-node with a 1 ms TTL, that committing an abandoned transaction
    // after its TTL answers error 1000 instead of guessing.
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .args(["--txn-ttl-ms", "1", "--outcome-ttl-ms", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut ask = |request: &str| {
        writeln!(stdin, "{request}").expect("write");
        stdin.flush().expect("flush");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read");
        serde_json::from_str::<serde_json::Value>(&line).expect("JSON")
    };
    ask(INIT);
    assert_eq!(
        ask(r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#)["body"]["txn_id"],
        "t1"
    );
    // Wall-clock time is the binary's clock; only "at least the TTL" matters here.
    std::thread::sleep(Duration::from_millis(20));
    let reply = ask(
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":3,"txn_id":"t1","writes":[{"key":"x","value":"1"}]}}"#,
    );
    assert_eq!(reply["body"]["code"], error_code::TXN_STATE_EXPIRED, "{reply}");
    assert!(reply["body"]["text"].as_str().unwrap_or("").contains("expired"), "{reply}");
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

fn send(node: &mut Node, now_us: u64, msg_id: u64, payload: Payload) -> Payload {
    let body = Body { msg_id: Some(msg_id), in_reply_to: None, payload };
    let envelope = Envelope { src: "c1".into(), dest: "n1".into(), body };
    let mut sends = step_synced(node, now_us, Input::Message(envelope), &mut MemLog::default())
        .expect("a log in memory does not fail");
    sends.pop().expect("a reply").body.payload
}

#[test]
fn a_remembered_outcome_expires_exactly_at_its_ttl_in_virtual_time() {
    // Proves, through the library in virtual time, the documented TTL boundaries: an
    // outcome answers retries until commit + outcome_ttl_us, then error 1000.
    let mut node =
        Node::new(NodeConfig { txn_ttl_us: 1_000, outcome_ttl_us: 5_000, ..NodeConfig::default() });
    send(&mut node, 0, 1, Payload::Init { node_id: "n1".into(), node_ids: vec![] });
    assert_eq!(
        send(&mut node, 0, 2, Payload::OccBegin),
        Payload::OccBeginOk { txn_id: "t1".into() }
    );
    let commit = Payload::OccCommit { txn_id: "t1".into(), writes: vec![], read_versions: vec![] };
    let first = send(&mut node, 999, 3, commit.clone());
    assert!(matches!(first, Payload::OccCommitOk { committed: true, .. }), "{first:?}");
    assert_eq!(node.next_deadline(), Some(1_000), "t1's begin expiry is still queued");
    node.step(1_000, Input::Tick, &mut Vec::new());
    assert_eq!(node.next_deadline(), Some(5_999));
    assert_eq!(send(&mut node, 5_998, 4, commit.clone()), first);
    match send(&mut node, 5_999, 5, commit) {
        Payload::Error { code, .. } => assert_eq!(code, error_code::TXN_STATE_EXPIRED),
        other => panic!("expected error 1000, got {other:?}"),
    }
    assert_eq!(node.next_deadline(), None, "nothing left to expire");
}
