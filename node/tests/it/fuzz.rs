//! The node never panics: hundreds of thousands of random and mutated messages, typed and
//! as JSON lines, from fixed seeds (so any failure reproduces exactly).

use node::codec;
use node::io::{step_synced, Input};
use node::protocol::{Body, Conflict, Envelope, KeyValue, KeyVersion, Payload};
use node::storage::MemLog;
use node::{LogConfig, Node, NodeConfig};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TYPED_MESSAGES: usize = 200_000;
const JSON_LINES: usize = 200_000;

/// Small alphabets so that random messages collide on keys and ids and reach deep states.
const KEYS: &[&str] = &["x", "y", "z", "", "k\"\\\n", "ключ"];
const TXN_IDS: &[&str] = &[
    "t1",
    "t2",
    "t3",
    "t4",
    "t5",
    "t6",
    "t10",
    "t0",
    "t01",
    "t",
    "x",
    "",
    "t18446744073709551614",
    "t18446744073709551615",
    "t99999999999999999999",
    "t-1",
];

fn pick(rng: &mut ChaCha8Rng, items: &[&str]) -> String {
    (*items.choose(rng).unwrap_or(&"")).to_owned()
}

fn small_version(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..10) {
        0 => u64::MAX,
        1 => rng.gen(),
        _ => rng.gen_range(0..6),
    }
}

fn random_payload(rng: &mut ChaCha8Rng) -> Payload {
    let key = |rng: &mut ChaCha8Rng| pick(rng, KEYS);
    let list_len =
        |rng: &mut ChaCha8Rng| if rng.gen_ratio(1, 50) { 200 } else { rng.gen_range(0..4) };
    match rng.gen_range(0..14) {
        0 => Payload::Init {
            node_id: pick(rng, &["n1", "n1", "n2", ""]),
            node_ids: vec!["n1".into()],
        },
        1 | 2 => Payload::OccBegin,
        3 | 4 => Payload::OccRead { txn_id: pick(rng, TXN_IDS), key: key(rng) },
        5..=7 => Payload::OccCommit {
            txn_id: pick(rng, TXN_IDS),
            writes: (0..list_len(rng))
                .map(|_| KeyValue { key: key(rng), value: format!("{}", rng.gen::<u8>()) })
                .collect(),
            read_versions: (0..list_len(rng))
                .map(|_| KeyVersion { key: key(rng), version: small_version(rng) })
                .collect(),
        },
        8 => Payload::InitOk,
        9 => Payload::OccReadOk { value: None, version: small_version(rng) },
        10 => Payload::OccCommitOk {
            committed: rng.gen(),
            new_version: Some(1),
            versions: vec![],
            conflicts: vec![Conflict { key: key(rng), expected: 1, actual: 2 }],
        },
        11 => Payload::Error { code: rng.gen(), text: key(rng) },
        12 => Payload::Unknown { type_name: pick(rng, &["frob", "occ_scan_ok", ""]) },
        _ => Payload::Malformed {
            type_name: pick(rng, &["occ_read", "occ_commit", "init", "occ_begin_ok"]),
            reason: "missing field `key`".into(),
        },
    }
}

fn random_envelope(rng: &mut ChaCha8Rng) -> Envelope {
    Envelope {
        src: pick(rng, &["c1", "c2", "n2", ""]),
        dest: pick(rng, &["n1", "n1", "elsewhere"]),
        body: Body {
            msg_id: if rng.gen_ratio(1, 20) { None } else { Some(rng.gen_range(0..1000)) },
            in_reply_to: if rng.gen_ratio(1, 10) { Some(rng.gen()) } else { None },
            payload: random_payload(rng),
        },
    }
}

/// Virtual time that mostly advances, sometimes jumps far, sometimes goes backwards.
fn advance(rng: &mut ChaCha8Rng, now_us: u64) -> u64 {
    match rng.gen_range(0..100) {
        0 => now_us.saturating_sub(rng.gen_range(0..5_000)),
        1 => now_us.saturating_add(rng.gen_range(0..200_000)),
        2 => u64::MAX - rng.gen_range(0..3),
        _ => now_us.saturating_add(rng.gen_range(0..50)),
    }
}

/// Feeds `envelope` (its log, if the node keeps one, synced at once) and checks what must
/// hold of any reply.
fn step(node: &mut Node, log: &mut MemLog, now_us: u64, envelope: Envelope, next_msg_id: &mut u64) {
    let request_id = envelope.body.msg_id;
    let from = envelope.src.clone();
    let outbox = step_synced(node, now_us, Input::Message(envelope), log).expect("in memory");
    assert!(outbox.len() <= 1, "one message, at most one reply: {outbox:?}");
    for reply in outbox {
        assert_eq!(reply.dest, from, "replies go to the sender");
        assert_eq!(reply.body.in_reply_to, request_id, "replies quote the request's msg_id");
        assert_eq!(reply.body.msg_id, Some(*next_msg_id), "the node numbers replies 0, 1, ...");
        *next_msg_id += 1;
        if let Payload::OccCommitOk { committed, new_version, versions, conflicts } =
            &reply.body.payload
        {
            assert_eq!(*new_version, versions.iter().map(|v| v.version).max(), "{reply:?}");
            assert!(versions.windows(2).all(|w| w[0].key < w[1].key), "sorted, distinct");
            assert!(versions.iter().all(|v| v.version >= 1), "{reply:?}");
            assert_eq!(*committed, conflicts.is_empty(), "{reply:?}");
            assert!(conflicts.iter().all(|c| c.expected != c.actual), "{reply:?}");
        }
    }
    if node.next_deadline().is_some_and(|d| d <= now_us) {
        node.step(now_us, Input::Tick, &mut Vec::new());
        assert!(node.next_deadline().is_none_or(|d| d > now_us), "tick expired what was due");
    }
}

#[test]
fn the_node_survives_random_typed_messages() {
    // Proves step never panics and keeps its reply invariants on random payloads, with a
    // log (half the seeds, small snapshots) and without.
    for seed in 0..4u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let log = (seed % 2 == 1)
            .then_some(LogConfig { snapshot_min_bytes: 512, snapshot_chunk_bytes: 128 });
        let config = NodeConfig {
            txn_ttl_us: rng.gen_range(1..5_000),
            outcome_ttl_us: 20_000,
            bug: None,
            log,
            ..NodeConfig::default()
        };
        let mut node = Node::new(config);
        let mut log = MemLog::default();
        let mut now_us = 0;
        let mut next_msg_id = 0;
        for _ in 0..TYPED_MESSAGES / 4 {
            now_us = advance(&mut rng, now_us);
            let envelope = random_envelope(&mut rng);
            step(&mut node, &mut log, now_us, envelope, &mut next_msg_id);
        }
    }
}

/// A JSON line, mangled in one of several ways.
fn mutated_line(rng: &mut ChaCha8Rng) -> String {
    let line = codec::encode_to_string(&random_envelope(rng));
    match rng.gen_range(0..8) {
        0 => line,
        1 => {
            // Truncate at a character boundary.
            let cut = rng.gen_range(0..=line.len());
            let cut = (0..=cut).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
            line[..cut].to_owned()
        }
        2 => {
            // Overwrite random bytes with JSON-ish noise.
            let mut bytes = line.into_bytes();
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..bytes.len());
                bytes[i] = *b"{}[]\",:0-9aetn\\ ".choose(rng).unwrap_or(&b' ');
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => {
            // Structural mutation: drop, retype or add a body field.
            let mut value: serde_json::Value = serde_json::from_str(&line).expect("own output");
            let body = value["body"].as_object_mut().expect("body is an object");
            let fields: Vec<String> = body.keys().cloned().collect();
            let field = fields.choose(rng).cloned().unwrap_or_default();
            let noise = [
                serde_json::json!(null),
                serde_json::json!(-1),
                serde_json::json!(1.5),
                serde_json::json!("t1"),
                serde_json::json!([{"key": 1}]),
                serde_json::json!([{"key": "x", "value": "v", "version": 2}]),
                serde_json::json!({"nested": true}),
                serde_json::json!(18446744073709551615u64),
                serde_json::json!(true),
            ];
            match rng.gen_range(0..3) {
                0 => {
                    body.remove(&field);
                }
                1 => {
                    body.insert(field, noise.choose(rng).cloned().unwrap_or_default());
                }
                _ => {
                    let name = pick(
                        rng,
                        &[
                            "txn_id",
                            "key",
                            "writes",
                            "read_versions",
                            "type",
                            "msg_id",
                            "value",
                            "version",
                        ],
                    );
                    body.insert(name, noise.choose(rng).cloned().unwrap_or_default());
                }
            }
            value.to_string()
        }
    }
}

#[test]
fn the_node_survives_random_and_mutated_json_lines() {
    // Proves decode never panics, every decoded message round-trips through encode, and
    // the node survives whatever decodes.
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let log = Some(LogConfig { snapshot_min_bytes: 4096, ..LogConfig::default() });
    let mut node = Node::new(NodeConfig {
        txn_ttl_us: 1_000,
        outcome_ttl_us: 3_000,
        log,
        ..NodeConfig::default()
    });
    let mut log = MemLog::default();
    let mut now_us = 0;
    let mut next_msg_id = 0;
    let (mut decoded, mut malformed) = (0, 0);
    for _ in 0..JSON_LINES {
        let line = mutated_line(&mut rng);
        let Ok(envelope) = codec::decode(&line) else { continue };
        decoded += 1;
        match &envelope.body.payload {
            Payload::Malformed { .. } => malformed += 1,
            Payload::Unknown { .. } => {}
            _ => assert_eq!(
                codec::decode(&codec::encode_to_string(&envelope)).as_ref(),
                Ok(&envelope),
                "round trip of {line}"
            ),
        }
        now_us = advance(&mut rng, now_us);
        step(&mut node, &mut log, now_us, envelope, &mut next_msg_id);
    }
    // The mutations must actually reach each layer, or this test proves little.
    assert!(decoded > JSON_LINES / 2, "only {decoded} lines decoded");
    assert!(malformed > JSON_LINES / 50, "only {malformed} malformed");
    assert!(decoded < JSON_LINES, "no line failed to decode");
}

#[test]
fn recovery_survives_mutated_logs_and_never_changes_one_it_refuses() {
    // Proves recovery never panics on a damaged log (bit flips, cuts, zeroed, duplicated
    // or random ranges, random files) and never changes one it refuses: each mutation
    // either recovers (a prefix of the records, rebuilt into a node that answers) or is
    // refused with the log as it was.
    let mut rng = ChaCha8Rng::seed_from_u64(0x10c);
    let config = NodeConfig {
        log: Some(LogConfig { snapshot_min_bytes: 2_048, snapshot_chunk_bytes: 200 }),
        ..NodeConfig::default()
    };
    let mut node = Node::new(config.clone());
    let mut log = MemLog::default();
    let init = Payload::Init { node_id: "n1".into(), node_ids: vec!["n1".into()] };
    let envelope = |msg_id: u64, payload: Payload| Envelope {
        src: "c1".into(),
        dest: "n1".into(),
        body: Body { msg_id: Some(msg_id), in_reply_to: None, payload },
    };
    step_synced(&mut node, 0, Input::Message(envelope(0, init.clone())), &mut log).expect("mem");
    for i in 0..400u64 {
        let key = pick(&mut rng, KEYS);
        let writes = vec![KeyValue { key, value: format!("v{i}") }];
        let commit = Payload::OccCommit { txn_id: format!("w{i}"), writes, read_versions: vec![] };
        step_synced(&mut node, i, Input::Message(envelope(i + 1, commit)), &mut log).expect("mem");
    }
    let good = log.bytes.clone();
    let (mut recovered, mut refused) = (0, 0);
    for round in 0..2_000 {
        let mut bytes = good.clone();
        let at = rng.gen_range(0..bytes.len());
        let len = rng.gen_range(1..=64).min(bytes.len() - at);
        match round % 6 {
            0 => bytes[at] ^= 1 << rng.gen_range(0..8),
            1 => bytes.truncate(at),
            2 => bytes[at..at + len].fill(0),
            3 => rng.fill(&mut bytes[at..at + len]),
            4 => {
                let copy = bytes[at..at + len].to_vec();
                let to = rng.gen_range(0..bytes.len());
                bytes.splice(to..to, copy);
            }
            _ => bytes = (0..rng.gen_range(0..2_000)).map(|_| rng.gen()).collect(),
        }
        let mut damaged = MemLog { bytes: bytes.clone() };
        match node::storage::recover(&mut damaged, None) {
            Ok(found) => {
                recovered += 1;
                assert!(damaged.bytes.len() <= bytes.len(), "round {round}: recovery grew the log");
                let mut again = Node::recover(config.clone(), found, 1_000);
                step_synced(
                    &mut again,
                    1_000,
                    Input::Message(envelope(0, init.clone())),
                    &mut damaged,
                )
                .expect("mem");
            }
            Err(node::storage::RecoverError::Damaged(damage)) => {
                refused += 1;
                assert_eq!(damaged.bytes, bytes, "round {round}: refused ({damage}) yet changed");
            }
            Err(e) => panic!("round {round}: {e}"),
        }
    }
    assert!(recovered > 200 && refused > 200, "{recovered} recovered, {refused} refused");
}
