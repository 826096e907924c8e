//! A store of your own, in Rust, tested in process: a small durable OCC store written as a
//! `sim::world::machine::Machine` (messages in; messages, log appends and syncs out), run
//! by the simulator on its simulated disk with virtual time, crashes included.
//!
//! `cargo run --release -p sim --example rust_store -- [SEEDS]` sweeps seeds 0..SEEDS
//! (default 100) under network faults and crashes, and exits 1 on any failure.

use std::collections::BTreeMap;

use node::io::{Input, Output};
use node::protocol::{Body, Conflict, Envelope, KeyVersion, Payload};
use node::storage::Storage;
use serde_json::{json, Value};
use sim::hunt::outcome::evaluate;
use sim::world::faults::FaultSpec;
use sim::world::machine::{Machine, Recovery};
use sim::world::store::{CustomStore, StoreSpec};
use sim::world::RunConfig;

/// The data and every commit's answer, rebuilt from the log: one JSON line per commit (its
/// writes: replayed in order, they install the same versions again) and one per start (so
/// that transaction ids, numbered from the start's block, only grow). A reply waits until
/// every line before it is synced.
#[derive(Default)]
struct Tiny {
    me: String,
    msgs: u64,
    boot: u64,
    txns: u64,
    data: BTreeMap<String, (String, u64)>,
    answers: BTreeMap<String, Payload>,
    appended: u64,
    synced: u64,
    held: Vec<(u64, Envelope)>,
}

impl Tiny {
    fn version(&self, key: &str) -> u64 {
        self.data.get(key).map_or(0, |(_, version)| *version)
    }

    fn append(&mut self, record: Value, out: &mut Vec<Output>) {
        self.appended += 1;
        out.push(Output::Append { lsn: self.appended, bytes: format!("{record}\n").into() });
        out.push(Output::Sync { lsn: self.appended });
    }

    fn reply(&mut self, to: &Envelope, payload: Payload, out: &mut Vec<Output>) {
        let body = Body { msg_id: Some(self.msgs), in_reply_to: to.body.msg_id, payload };
        self.msgs += 1;
        let reply = Envelope { src: self.me.clone(), dest: to.src.clone(), body };
        match self.appended > self.synced {
            true => self.held.push((self.appended, reply)),
            false => out.push(Output::Send(reply)),
        }
    }

    /// Installs the last write of each key (its version exactly +1), or names stale reads.
    fn commit(&mut self, writes: &[(String, String)], reads: &[KeyVersion]) -> Payload {
        let mut conflicts: Vec<Conflict> = (reads.iter())
            .filter(|r| self.version(&r.key) != r.version)
            .map(|r| Conflict {
                key: r.key.clone(),
                expected: r.version,
                actual: self.version(&r.key),
            })
            .collect();
        conflicts.sort_by(|a, b| (&a.key, a.expected).cmp(&(&b.key, b.expected)));
        conflicts.dedup();
        if !conflicts.is_empty() {
            return Payload::OccCommitOk {
                committed: false,
                new_version: None,
                versions: vec![],
                conflicts,
            };
        }
        let last: BTreeMap<&String, &String> = writes.iter().map(|(k, v)| (k, v)).collect();
        let mut versions = Vec::new();
        for (key, value) in last {
            let version = self.version(key) + 1;
            self.data.insert(key.clone(), (value.clone(), version));
            versions.push(KeyVersion { key: key.clone(), version });
        }
        let new_version = versions.iter().map(|v| v.version).max();
        Payload::OccCommitOk { committed: true, new_version, versions, conflicts: vec![] }
    }
}

impl Machine for Tiny {
    type Config = ();

    fn start(_: &()) -> Tiny {
        Tiny::default()
    }

    fn recover(_: &(), log: &mut dyn Storage, _: u64) -> Result<(Tiny, Recovery), String> {
        let len = log.size().map_err(|e| e.to_string())?;
        let bytes = log.read(0, len).map_err(|e| e.to_string())?;
        let (mut tiny, mut good) = (Tiny::default(), 0);
        for line in bytes.split_inclusive(|&b| b == b'\n').filter(|l| l.ends_with(b"\n")) {
            // The first line that does not parse is a torn tail: cut from there.
            let Ok(record) = serde_json::from_slice::<Value>(line) else { break };
            (good, tiny.appended) = (good + line.len() as u64, tiny.appended + 1);
            if let Some(boot) = record["boot"].as_u64() {
                tiny.boot = boot;
                continue;
            }
            let writes: Vec<(String, String)> = serde_json::from_value(record["writes"].clone())
                .map_err(|e| format!("a bad record: {e}"))?;
            let answer = tiny.commit(&writes, &[]);
            tiny.answers.insert(record["txn"].as_str().unwrap_or("").into(), answer);
        }
        if good < len {
            log.truncate(good).map_err(|e| e.to_string())?;
        }
        tiny.synced = tiny.appended;
        let found = format!("{} records, {} torn bytes cut", tiny.appended, len - good);
        let records = tiny.appended;
        Ok((tiny, Recovery { found, records, log_bytes: good }))
    }

    fn step(&mut self, _now_us: u64, input: Input, out: &mut Vec<Output>) {
        let message = match input {
            Input::Message(message) => message,
            Input::Tick => return, // Nothing expires here: no timers.
            Input::Synced { lsn } => {
                self.synced = self.synced.max(lsn);
                let (ready, waiting) = self.held.drain(..).partition(|(at, _)| *at <= lsn);
                self.held = waiting;
                return out.extend(ready.into_iter().map(|(_, reply)| Output::Send(reply)));
            }
        };
        let payload = match &message.body.payload {
            Payload::Init { node_id, .. } => {
                (self.me, self.boot) = (node_id.clone(), self.boot + 1);
                self.append(json!({ "boot": self.boot }), out);
                Payload::InitOk
            }
            _ if self.me.is_empty() => Payload::Error { code: 11, text: "send init first".into() },
            Payload::OccBegin => {
                self.txns += 1;
                // Ids only grow (docs/protocol.md), across restarts too: each start its block.
                Payload::OccBeginOk { txn_id: format!("t{}", self.boot * 1_000_000 + self.txns) }
            }
            Payload::OccRead { key, .. } => {
                let value = self.data.get(key).map(|(value, _)| value.clone());
                Payload::OccReadOk { value, version: self.version(key) }
            }
            Payload::OccCommit { txn_id, writes, read_versions } => {
                match self.answers.get(txn_id) {
                    Some(answer) => answer.clone(),
                    None => {
                        let writes: Vec<_> =
                            writes.iter().map(|w| (w.key.clone(), w.value.clone())).collect();
                        let answer = self.commit(&writes, read_versions);
                        if let Payload::OccCommitOk { committed: true, .. } = &answer {
                            self.append(json!({ "txn": txn_id, "writes": writes }), out);
                            self.answers.insert(txn_id.clone(), answer.clone());
                        }
                        answer
                    }
                }
            }
            p if p.type_name().ends_with("_ok") || p.type_name() == "error" => return,
            p => Payload::Error { code: 10, text: format!("unknown type {}", p.type_name()) },
        };
        self.reply(&message, payload, out);
    }

    fn held_replies(&self) -> Vec<Envelope> {
        self.held.iter().map(|(_, reply)| reply.clone()).collect()
    }
}

fn main() {
    let seeds: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100);
    let store = StoreSpec::Custom(CustomStore::machine::<Tiny>("tiny", ()));
    let faults = FaultSpec::parse("drop,duplicate,delay,partition,clock,crash").expect("families");
    let mut failed = 0;
    for seed in 0..seeds {
        let config =
            RunConfig { seed, faults: faults.clone(), store: store.clone(), ..Default::default() };
        if let Some(failure) = evaluate(&config).failure() {
            println!("FAILED seed {seed}: {}", failure.headline());
            failed += 1;
        }
    }
    println!("tiny, a Rust store in process: {seeds} seeds, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}
