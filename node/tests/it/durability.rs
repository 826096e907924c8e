//! Durability of the library: random crashes of a logging node never lose what a reply
//! promised, and the log stays bounded. (The binary's own crash test is in
//! `crash_binary.rs`.)

use std::collections::BTreeMap;

use node::io::{Input, Output};
use node::protocol::{Body, Envelope, KeyValue, KeyVersion, Payload};
use node::storage::{self, MemLog, Storage};
use node::{LogConfig, Node, NodeConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const KEYS: u64 = 6;
const CLIENTS: usize = 4;

/// A log whose bytes past `durable` a crash may lose (whole or in part), with syncs that
/// take a few steps to complete.
struct CrashableLog {
    log: MemLog,
    /// Bytes that survive any crash.
    durable: usize,
    /// Syncs in flight: (steps left, bytes they make durable, LSN they cover).
    syncs: Vec<(u32, usize, u64)>,
    wanted: Option<u64>,
}

impl CrashableLog {
    /// Carries out the node's outputs; returns the messages it sent.
    fn carry_out(&mut self, outputs: &mut Vec<Output>, rng: &mut ChaCha8Rng) -> Vec<Envelope> {
        let mut sends = Vec::new();
        for output in outputs.drain(..) {
            match output {
                Output::Send(envelope) => sends.push(envelope),
                Output::Append { bytes, .. } => self.log.bytes.extend_from_slice(&bytes),
                Output::Sync { lsn } => self.wanted = self.wanted.max(Some(lsn)),
                Output::Compact { head, keep_from } => {
                    // Compaction is durable at once (a real driver renames an fsynced copy).
                    self.log.compact(&head, keep_from).expect("in memory");
                    self.durable = self.log.bytes.len();
                    let shift = (keep_from as usize).saturating_sub(head.len());
                    for sync in &mut self.syncs {
                        sync.1 = sync.1.saturating_sub(shift);
                    }
                }
            }
        }
        if let Some(lsn) = self.wanted.take() {
            self.syncs.push((rng.gen_range(0..4), self.log.bytes.len(), lsn));
        }
        sends
    }

    /// Advances the syncs in flight; the LSN of the latest one that completed.
    fn tick(&mut self) -> Option<u64> {
        let mut done = None;
        for sync in &mut self.syncs {
            if sync.0 == 0 {
                self.durable = self.durable.max(sync.1);
                done = done.max(Some(sync.2));
            }
        }
        self.syncs.retain(|s| s.0 > 0);
        for sync in &mut self.syncs {
            sync.0 -= 1;
        }
        done
    }

    /// A crash: everything durable survives; of the rest, a random prefix, then maybe
    /// garbage (a torn sector) or zeros (a hole).
    fn crash(&mut self, rng: &mut ChaCha8Rng) {
        let kept = rng.gen_range(self.durable..=self.log.bytes.len());
        self.log.bytes.truncate(kept);
        match rng.gen_range(0..3) {
            0 => {}
            1 => self.log.bytes.extend((0..rng.gen_range(1..40)).map(|_| rng.gen::<u8>())),
            _ => self.log.bytes.extend(std::iter::repeat_n(0, rng.gen_range(1..40))),
        }
        self.syncs.clear();
        self.wanted = None;
    }
}

/// What the clients were told, which every later incarnation must honour.
#[derive(Default)]
struct Promises {
    /// Per key, the largest version a sent reply named.
    versions: BTreeMap<String, u64>,
    /// Per txn id, the answer its commit got (committed?, versions).
    answers: BTreeMap<String, Payload>,
    largest_id: u64,
}

fn envelope(client: usize, msg_id: u64, payload: Payload) -> Envelope {
    Envelope {
        src: format!("c{client}"),
        dest: "n1".into(),
        body: Body { msg_id: Some(msg_id), in_reply_to: None, payload },
    }
}

fn init() -> Envelope {
    let payload = Payload::Init { node_id: "n1".into(), node_ids: vec!["n1".into()] };
    Envelope {
        src: "sim".into(),
        dest: "n1".into(),
        body: Body { msg_id: Some(0), in_reply_to: None, payload },
    }
}

/// Feeds one message, lets the syncs run until its reply (if any) is out, and returns the
/// messages sent meanwhile.
fn ask(
    node: &mut Node,
    log: &mut CrashableLog,
    rng: &mut ChaCha8Rng,
    message: Envelope,
) -> Vec<Envelope> {
    let mut outputs = Vec::new();
    node.step(0, Input::Message(message), &mut outputs);
    let mut sent = log.carry_out(&mut outputs, rng);
    for _ in 0..100 {
        if node.held_replies().next().is_none() {
            return sent;
        }
        if let Some(lsn) = log.tick() {
            node.step(0, Input::Synced { lsn }, &mut outputs);
            sent.extend(log.carry_out(&mut outputs, rng));
        }
    }
    panic!("replies still held after 100 sync steps; syncs in flight: {:?}", log.syncs)
}

/// Records what a reply to `request` promised; checks it against earlier promises.
fn keep_promises(promises: &mut Promises, request: &Payload, reply: &Payload) {
    match (request, reply) {
        (Payload::OccBegin, Payload::OccBeginOk { txn_id }) => {
            let n = node::own_id_number(txn_id).expect("the node's own form");
            assert!(n > promises.largest_id, "{txn_id} issued after t{}", promises.largest_id);
            promises.largest_id = n;
        }
        (Payload::OccRead { key, .. }, Payload::OccReadOk { version, .. }) => {
            let promised = promises.versions.get(key).copied().unwrap_or(0);
            assert!(
                *version >= promised,
                "read {key}@{version} after {key}@{promised} was promised"
            );
            promises.versions.insert(key.clone(), (*version).max(promised));
        }
        (Payload::OccCommit { txn_id, .. }, _) if promises.answers.contains_key(txn_id) => {
            let first = &promises.answers[txn_id];
            assert_eq!(reply, first, "a retried commit of {txn_id} answered otherwise");
        }
        (Payload::OccCommit { txn_id, .. }, Payload::OccCommitOk { versions, .. }) => {
            promises.answers.insert(txn_id.clone(), reply.clone());
            for KeyVersion { key, version } in versions {
                let promised = promises.versions.entry(key.clone()).or_default();
                *promised = (*promised).max(*version);
            }
        }
        _ => {}
    }
}

#[test]
fn a_crash_at_any_point_keeps_every_promise_a_reply_made() {
    // Proves, over random transactions and crashes that keep a random part of the unsynced
    // tail (torn or zeroed after it), with tiny snapshots so compaction runs often: every
    // version a reply named survives, a retried commit gets its first answer, and begin
    // ids only grow.
    for seed in 0..24u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let snapshot_min_bytes = [64, 300, 2_000][seed as usize % 3];
        let config = NodeConfig {
            txn_ttl_us: u64::MAX / 4,
            outcome_ttl_us: u64::MAX / 4,
            bug: None,
            log: Some(LogConfig { snapshot_min_bytes, ..LogConfig::default() }),
            ..NodeConfig::default()
        };
        let mut log =
            CrashableLog { log: MemLog::default(), durable: 0, syncs: Vec::new(), wanted: None };
        let mut node = Node::new(config.clone());
        ask(&mut node, &mut log, &mut rng, init());
        let mut promises = Promises::default();
        let mut msg_id = 0;
        let mut open: Vec<Option<(String, Vec<KeyVersion>)>> = vec![None; CLIENTS];
        let (mut crashes, mut committed) = (0, 0);
        for _ in 0..3_000 {
            if rng.gen_ratio(1, 60) {
                log.crash(&mut rng);
                let recovered = storage::recover(&mut log.log, None).expect("in memory");
                log.durable = log.log.bytes.len();
                node = Node::recover(config.clone(), recovered, 0);
                ask(&mut node, &mut log, &mut rng, init());
                open = vec![None; CLIENTS];
                crashes += 1;
                // Every promise still holds: read each key, retry each answered commit.
                for key in 0..KEYS {
                    let read = Payload::OccRead { txn_id: "check".into(), key: format!("k{key}") };
                    msg_id += 1;
                    for reply in
                        ask(&mut node, &mut log, &mut rng, envelope(0, msg_id, read.clone()))
                    {
                        keep_promises(&mut promises, &read, &reply.body.payload);
                    }
                }
                let answered: Vec<String> = promises.answers.keys().cloned().collect();
                for txn_id in answered {
                    let retry =
                        Payload::OccCommit { txn_id, writes: vec![], read_versions: vec![] };
                    msg_id += 1;
                    for reply in
                        ask(&mut node, &mut log, &mut rng, envelope(0, msg_id, retry.clone()))
                    {
                        keep_promises(&mut promises, &retry, &reply.body.payload);
                    }
                }
                continue;
            }
            let client = rng.gen_range(0..CLIENTS);
            let request = match open[client].take() {
                None => Payload::OccBegin,
                Some((txn_id, reads)) if reads.len() < 2 && rng.gen_ratio(2, 3) => {
                    let key = format!("k{}", rng.gen_range(0..KEYS));
                    open[client] = Some((txn_id.clone(), reads));
                    Payload::OccRead { txn_id, key }
                }
                Some((txn_id, read_versions)) => {
                    let writes = (0..rng.gen_range(0..3))
                        .map(|_| KeyValue {
                            key: format!("k{}", rng.gen_range(0..KEYS)),
                            value: format!("{seed}.{msg_id}"),
                        })
                        .collect();
                    Payload::OccCommit { txn_id, writes, read_versions }
                }
            };
            msg_id += 1;
            for reply in
                ask(&mut node, &mut log, &mut rng, envelope(client, msg_id, request.clone()))
            {
                let reply = reply.body.payload;
                keep_promises(&mut promises, &request, &reply);
                match (&request, reply) {
                    (Payload::OccBegin, Payload::OccBeginOk { txn_id }) => {
                        open[client] = Some((txn_id, Vec::new()))
                    }
                    (Payload::OccRead { key, .. }, Payload::OccReadOk { version, .. }) => {
                        if let Some((_, reads)) = &mut open[client] {
                            reads.push(KeyVersion { key: key.clone(), version });
                        }
                    }
                    (_, Payload::OccCommitOk { committed: true, .. }) => committed += 1,
                    _ => {}
                }
            }
        }
        assert!(
            crashes >= 20 && committed >= 300,
            "seed {seed}: {crashes} crashes, {committed} commits"
        );
    }
}

#[test]
fn the_log_holds_about_two_snapshot_intervals_however_long_the_run() {
    // Proves the snapshot policy bounds the log: 20,000 commits to 50 keys, yet the log
    // never holds more than two snapshots and two intervals of records.
    let snapshot_min_bytes = 4_096;
    let config = NodeConfig {
        log: Some(LogConfig { snapshot_min_bytes, ..LogConfig::default() }),
        ..NodeConfig::default()
    };
    let mut node = Node::new(config.clone());
    let mut log = MemLog::default();
    node::io::step_synced(&mut node, 0, Input::Message(init()), &mut log).expect("in memory");
    let mut largest = 0;
    for i in 0..20_000u64 {
        let writes = vec![KeyValue { key: format!("k{}", i % 50), value: format!("v{i}") }];
        let commit = Payload::OccCommit { txn_id: format!("w{i}"), writes, read_versions: vec![] };
        let now_us = i * 1_000;
        node::io::step_synced(&mut node, now_us, Input::Message(envelope(1, i, commit)), &mut log)
            .expect("in memory");
        largest = largest.max(log.bytes.len());
    }
    // State: 50 keys and the outcomes of the last 60 s (60,000 commits at 1 ms apart: all
    // of them, ~50 bytes each), so the snapshot grows with the outcomes; the log stays
    // within a few snapshots of it.
    let recovered = storage::recover(&mut log.clone(), None).expect("in memory");
    let snapshot_bytes = recovered.snapshots.iter().map(|s| s.len).max().expect("a snapshot");
    assert!(
        largest as u64 <= 4 * snapshot_bytes + 2 * snapshot_min_bytes,
        "the log reached {largest} bytes with snapshots of {snapshot_bytes}"
    );
    // And it still rebuilds the same state.
    let again = Node::recover(config, recovered, 20_000_000);
    let mut again = again;
    node::io::step_synced(&mut again, 0, Input::Message(init()), &mut log).expect("in memory");
    let read = Payload::OccRead { txn_id: "r".into(), key: "k7".into() };
    let sends =
        node::io::step_synced(&mut again, 0, Input::Message(envelope(2, 1, read)), &mut log)
            .expect("in memory");
    assert_eq!(
        sends[0].body.payload,
        Payload::OccReadOk { value: Some("v19957".into()), version: 400 },
        "k7 was written by every 50th commit from 7 on"
    );
}

/// A node that snapshots every 256 bytes of log, initialised, after `commits` blind
/// writes (`w<i>` writes `v<i>` to `k<i % keys>` at time `i`): its config, the node and its log.
fn snapshotting_node_after(commits: u64, keys: u64) -> (NodeConfig, Node, MemLog) {
    let config = NodeConfig {
        log: Some(LogConfig { snapshot_min_bytes: 256, ..LogConfig::default() }),
        ..NodeConfig::default()
    };
    let mut node = Node::new(config.clone());
    let mut log = MemLog::default();
    node::io::step_synced(&mut node, 0, Input::Message(init()), &mut log).expect("in memory");
    for i in 0..commits {
        let writes = vec![KeyValue { key: format!("k{}", i % keys), value: format!("v{i}") }];
        let commit = Payload::OccCommit { txn_id: format!("w{i}"), writes, read_versions: vec![] };
        node::io::step_synced(&mut node, i, Input::Message(envelope(1, i, commit)), &mut log)
            .expect("in memory");
    }
    (config, node, log)
}

#[test]
fn recovering_twice_from_one_log_gives_the_same_node() {
    // Proves recovery is a function of the log alone: no record is applied twice, however
    // often a node restarts without writing anything.
    let (config, _, mut log) = snapshotting_node_after(200, 7);
    let first = storage::recover(&mut log, None).expect("in memory");
    let second = storage::recover(&mut log, None).expect("in memory");
    assert_eq!(first, second);
    let read_all = |node: &mut Node, log: &mut MemLog| -> Vec<Payload> {
        node::io::step_synced(node, 0, Input::Message(init()), log).expect("in memory");
        (0..7)
            .flat_map(|k| {
                let read = Payload::OccRead { txn_id: "r".into(), key: format!("k{k}") };
                node::io::step_synced(node, 0, Input::Message(envelope(2, k, read)), log)
                    .expect("in memory")
            })
            .map(|e| e.body.payload)
            .collect()
    };
    let a = read_all(&mut Node::recover(config.clone(), first.clone(), 0), &mut log);
    let b = read_all(&mut Node::recover(config, second, 0), &mut log);
    assert_eq!(a, b);
    assert!(
        a.iter().all(|p| matches!(p, Payload::OccReadOk { version, .. } if *version >= 28)),
        "{a:?}"
    );
}

/// A log that checks no frame appended to it is longer than `frame_max` bytes.
struct BoundedFrames {
    log: MemLog,
    frame_max: usize,
    longest: usize,
}

impl Storage for BoundedFrames {
    fn size(&mut self) -> std::io::Result<u64> {
        self.log.size()
    }
    fn read(&mut self, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
        self.log.read(offset, len)
    }
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        assert!(bytes.len() <= self.frame_max, "a {}-byte frame", bytes.len());
        self.longest = self.longest.max(bytes.len());
        self.log.append(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.log.truncate(len)
    }
    fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.log.rewrite(offset, bytes)
    }
    fn compact(&mut self, head: &[u8], keep_from: u64) -> std::io::Result<()> {
        self.log.compact(head, keep_from)
    }
}

#[test]
fn a_state_many_times_a_frame_is_snapshotted_in_chunks_and_recovered_whole() {
    // Proves snapshots of any size: with chunks of 256 bytes, a state of 200 keys of 100
    // bytes (about 25 KB, a hundred chunks) is logged in frames of at most one chunk
    // each (before chunking, one snapshot frame held it all), compacted, and recovered
    // value for value.
    let chunk = 256;
    let log_config = LogConfig { snapshot_min_bytes: 4_096, snapshot_chunk_bytes: chunk as u64 };
    let config = NodeConfig { log: Some(log_config), ..NodeConfig::default() };
    let mut node = Node::new(config.clone());
    let frame_max = node::wal::FRAME_HEADER_BYTES + 1 + chunk;
    let mut log = BoundedFrames { log: MemLog::default(), frame_max, longest: 0 };
    node::io::step_synced(&mut node, 0, Input::Message(init()), &mut log).expect("in memory");
    for i in 0..600u64 {
        let value = format!("{i:0>100}");
        let writes = vec![KeyValue { key: format!("k{}", i % 200), value }];
        let commit = Payload::OccCommit { txn_id: format!("w{i}"), writes, read_versions: vec![] };
        node::io::step_synced(&mut node, i, Input::Message(envelope(1, i, commit)), &mut log)
            .expect("in memory");
    }
    assert_eq!(log.longest, frame_max, "snapshots filled whole chunks");
    let recovered = storage::recover(&mut log.log, None).expect("in memory");
    let snapshot = recovered.snapshots.last().expect("a snapshot");
    assert!(snapshot.lsn - snapshot.first_lsn >= 80, "{snapshot:?}");
    let mut again = Node::recover(config, recovered, 600);
    node::io::step_synced(&mut again, 600, Input::Message(init()), &mut log.log).expect("mem");
    for k in 0..200u64 {
        let read = Payload::OccRead { txn_id: "r".into(), key: format!("k{k}") };
        let sends =
            node::io::step_synced(&mut again, 600, Input::Message(envelope(2, k, read)), &mut log)
                .expect("in memory");
        let last_writer = 400 + k;
        assert_eq!(
            sends[0].body.payload,
            Payload::OccReadOk { value: Some(format!("{last_writer:0>100}")), version: 3 },
            "k{k}"
        );
    }
}

#[test]
fn a_log_refuses_an_init_as_another_node_or_cluster_and_keeps_its_header_through_compaction() {
    // Proves the log carries its owner: after many compactions the header still names
    // n1 of [n1]; a node recovered from it answers an init as n2, or as n1 of a larger
    // cluster, with error 22 and logs nothing, and an init as itself with init_ok.
    let (config, _, mut log) = snapshotting_node_after(300, 5);
    let (header, _) = node::wal::decode_header(&log.bytes).expect("a header");
    assert!(header.first_lsn > 1, "compacted: {header:?}");
    assert_eq!(header.identity.to_string(), "node `n1` of [n1]");
    let recovered = storage::recover(&mut log, None).expect("in memory");
    let mut again = Node::recover(config, recovered, 300);
    let before = log.bytes.clone();
    for (node_id, node_ids) in [("n2", vec!["n2"]), ("n1", vec!["n1", "n2", "n3"])] {
        let payload = Payload::Init {
            node_id: node_id.into(),
            node_ids: node_ids.into_iter().map(String::from).collect(),
        };
        let message = Envelope { dest: node_id.into(), ..envelope(0, 0, payload) };
        let sends = node::io::step_synced(&mut again, 300, Input::Message(message), &mut log)
            .expect("in memory");
        match &sends[0].body.payload {
            Payload::Error { code: 22, text } => {
                assert!(text.contains("belongs to node `n1` of [n1]"), "{text}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(log.bytes, before, "nothing logged");
    }
    let sends = node::io::step_synced(&mut again, 300, Input::Message(init()), &mut log)
        .expect("in memory");
    assert_eq!(sends[0].body.payload, Payload::InitOk);
}
