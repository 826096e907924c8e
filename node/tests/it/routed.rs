//! Three `occ-node` processes as one cluster, Maelstrom-style: every message a node
//! writes on stdout names its `dest`, and a small router in this test (pipes, no network)
//! hands it to that node's stdin, or to one of the test's clients. Concurrent clients
//! run transactions across the shards through every node; the history they record is
//! then checked the way `sim check` checks one: strictly serializable, versions exact.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use sim::check::{check, parse_history, Model};

const NODES: usize = 3;
const CLIENTS: usize = 4;
const TXNS_PER_CLIENT: usize = 40;
const KEYS: usize = 8;

struct Cluster {
    children: Vec<Child>,
    stdins: Vec<ChildStdin>,
    /// Every line any node wrote, with the index of the node that wrote it.
    lines: Receiver<(usize, String)>,
}

impl Cluster {
    /// `processes` occ-node processes, each with its stdout read by a thread of its own.
    fn start(processes: usize) -> Cluster {
        let (send, lines) = channel();
        let mut children = Vec::new();
        let mut stdins = Vec::new();
        for index in 0..processes {
            let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn occ-node");
            stdins.push(child.stdin.take().expect("stdin is piped"));
            let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
            let send = send.clone();
            // Real processes, not the simulated path: a thread per stdout pipe, so that no
            // node blocks on a full pipe while the router waits on another.
            #[allow(clippy::disallowed_methods)]
            std::thread::spawn(move || {
                for line in stdout.lines() {
                    let Ok(line) = line else { return };
                    if send.send((index, line)).is_err() {
                        return;
                    }
                }
            });
            children.push(child);
        }
        Cluster { children, stdins, lines }
    }

    fn send_to(&mut self, node: usize, message: &Value) {
        writeln!(self.stdins[node], "{message}").expect("write to a node");
        self.stdins[node].flush().expect("flush");
    }

    /// The next line some node wrote (a test that waits a minute has hung).
    fn next(&self) -> (usize, Value) {
        let (from, line) = self
            .lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the cluster went quiet with work outstanding");
        (from, serde_json::from_str(&line).expect("a node writes JSON lines"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn node_name(index: usize) -> String {
    format!("n{}", index + 1)
}

/// One client: a transaction at a time, through its own node, recorded as a history.
struct Client {
    name: String,
    process: u64,
    node: usize,
    rng: ChaCha8Rng,
    next_msg_id: u64,
    txns_left: usize,
    txn_id: String,
    to_read: Vec<String>,
    reads: Vec<(String, Value, u64)>,
    writes: Vec<(String, String)>,
    final_read: bool,
}

impl Client {
    fn request(&mut self, body: Value) -> (usize, Value) {
        self.next_msg_id += 1;
        let mut body = body;
        body["msg_id"] = json!(self.next_msg_id);
        (self.node, json!({"src": self.name, "dest": node_name(self.node), "body": body}))
    }

    /// Draws the next transaction: reads of a few keys, then writes of fresh values.
    fn draw(&mut self, values: &mut u64) -> Vec<Value> {
        let mut keys: Vec<String> = (0..KEYS).map(|k| format!("k{k}")).collect();
        if !self.final_read {
            let reads = self.rng.gen_range(1..=3);
            let writes = self.rng.gen_range(0..=2);
            keys = (0..reads).map(|_| format!("k{}", self.rng.gen_range(0..KEYS))).collect();
            keys.sort();
            keys.dedup();
            self.writes = (0..writes)
                .map(|_| {
                    *values += 1;
                    (format!("k{}", self.rng.gen_range(0..KEYS)), format!("v{values}"))
                })
                .collect();
            self.writes.sort();
            self.writes.dedup_by(|a, b| a.0 == b.0);
        }
        self.to_read = keys;
        self.reads.clear();
        let reads = self.to_read.iter().map(|k| json!({"f": "r", "key": k}));
        let writes = self.writes.iter().map(|(k, v)| json!({"f": "w", "key": k, "value": v}));
        reads.chain(writes).collect()
    }

    /// The ops of the finished transaction, as the history records them: the reads done
    /// with what they returned (one refused leaves the rest unknown), then the writes.
    fn done_ops(&self, versions: &BTreeMap<String, u64>) -> Vec<Value> {
        let reads = self.to_read.iter().enumerate().map(|(i, k)| match self.reads.get(i) {
            Some((_, value, version)) => {
                json!({"f": "r", "key": k, "value": value, "version": version})
            }
            None => json!({"f": "r", "key": k}),
        });
        let writes = self
            .writes
            .iter()
            .map(|(k, v)| json!({"f": "w", "key": k, "value": v, "version": versions.get(k)}));
        reads.chain(writes).collect()
    }
}

/// A history line, in the format `sim check` reads.
fn event(history: &mut Vec<String>, client: &Client, kind: &str, ops: Vec<Value>) {
    let (process, final_read) = (client.process, client.final_read);
    let txn_id = (kind != "invoke").then_some(client.txn_id.as_str());
    let index = history.len();
    let mut event = json!({
        "index": index, "time": index * 10, "process": process, "type": kind,
        "txn_id": txn_id, "ops": ops,
    });
    if final_read {
        event["final"] = json!(true);
    }
    history.push(event.to_string());
}

impl Client {
    /// Records the invocation of the next transaction and asks to begin it.
    fn start(&mut self, history: &mut Vec<String>, values: &mut u64) -> (usize, Value) {
        let ops = self.draw(values);
        event(history, self, "invoke", ops);
        self.request(json!({"type": "occ_begin"}))
    }

    /// A reply came: the next request, or `None` once the transaction ended (recorded,
    /// with whether it committed in `committed`).
    fn on_reply(
        &mut self,
        body: &Value,
        history: &mut Vec<String>,
        committed: &mut u64,
    ) -> Option<(usize, Value)> {
        match body["type"].as_str() {
            Some("occ_begin_ok") => self.txn_id = body["txn_id"].as_str().expect("an id").into(),
            Some("occ_read_ok") => {
                let key = self.to_read[self.reads.len()].clone();
                let version = body["version"].as_u64().expect("a version");
                self.reads.push((key, body["value"].clone(), version));
            }
            Some("occ_commit_ok") if body["committed"] == true => {
                let versions: BTreeMap<String, u64> = body["versions"]
                    .as_array()
                    .expect("versions")
                    .iter()
                    .map(|v| (v["key"].as_str().unwrap().into(), v["version"].as_u64().unwrap()))
                    .collect();
                event(history, self, "ok", self.done_ops(&versions));
                *committed += 1;
                return None;
            }
            // An abort (a conflict, or a key another transaction has prepared): nothing
            // committed, as no fault can leave it in doubt here.
            Some("occ_commit_ok") | Some("error") => {
                assert!(!self.final_read, "the final read did not commit: {body}");
                event(history, self, "fail", self.done_ops(&BTreeMap::new()));
                return None;
            }
            other => panic!("{} got an unexpected {other:?}: {body}", self.name),
        }
        let txn_id = self.txn_id.clone();
        if self.reads.len() < self.to_read.len() {
            let key = self.to_read[self.reads.len()].clone();
            return Some(self.request(json!({"type": "occ_read", "txn_id": txn_id, "key": key})));
        }
        let writes: Vec<Value> =
            self.writes.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        let reads: Vec<Value> =
            self.reads.iter().map(|(k, _, v)| json!({"key": k, "version": v})).collect();
        Some(self.request(json!({"type": "occ_commit", "txn_id": txn_id, "writes": writes,
            "read_versions": reads})))
    }
}

#[test]
fn three_routed_processes_commit_across_shards_and_their_history_checks() {
    let mut cluster = Cluster::start(NODES);
    let names: Vec<String> = (0..NODES).map(node_name).collect();
    for (index, name) in names.iter().enumerate() {
        let init = json!({"src": "c0", "dest": name, "body": {
            "type": "init", "msg_id": 1, "node_id": name, "node_ids": names}});
        cluster.send_to(index, &init);
    }
    for _ in 0..NODES {
        let (_, reply) = cluster.next();
        assert_eq!(reply["body"]["type"], "init_ok", "{reply}");
    }
    // Clients 1..=CLIENTS run the workload, one per node in turn; the last one reads
    // every key once they are done, through a node that owns only some of them.
    let mut clients: Vec<Client> = (0..=CLIENTS)
        .map(|c| Client {
            name: format!("c{}", c + 1),
            process: c as u64,
            node: c % NODES,
            rng: ChaCha8Rng::seed_from_u64(c as u64),
            next_msg_id: 0,
            txns_left: if c == CLIENTS { 1 } else { TXNS_PER_CLIENT },
            txn_id: String::new(),
            to_read: Vec::new(),
            reads: Vec::new(),
            writes: Vec::new(),
            final_read: c == CLIENTS,
        })
        .collect();
    let by_name: BTreeMap<String, usize> =
        clients.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
    let (mut history, mut values) = (Vec::new(), 0u64);
    let (mut node_to_node, mut committed) = (0u64, 0u64);
    for phase in [0..CLIENTS, CLIENTS..CLIENTS + 1] {
        let mut running = phase.len();
        for client in &mut clients[phase] {
            client.txns_left -= 1;
            let (node, message) = client.start(&mut history, &mut values);
            cluster.send_to(node, &message);
        }
        while running > 0 {
            let (_, message) = cluster.next();
            let dest = message["dest"].as_str().expect("every message names its dest");
            if let Some(node) = names.iter().position(|n| n == dest) {
                node_to_node += 1;
                cluster.send_to(node, &message);
                continue;
            }
            let client = &mut clients[by_name[dest]];
            let next = match client.on_reply(&message["body"], &mut history, &mut committed) {
                Some(request) => Some(request),
                None if client.txns_left > 0 => {
                    client.txns_left -= 1;
                    Some(client.start(&mut history, &mut values))
                }
                None => None,
            };
            match next {
                Some((node, request)) => cluster.send_to(node, &request),
                None => running -= 1,
            }
        }
    }

    // The cluster did route: nodes talked to each other, and most work committed.
    assert!(node_to_node > 100, "only {node_to_node} node-to-node messages");
    let planned = (CLIENTS * TXNS_PER_CLIENT) as u64;
    assert!(committed > planned / 2, "only {committed} of {planned} committed");
    let text = history.join("\n") + "\n";
    let path = std::env::temp_dir().join(format!("occ-node-routed-{}.jsonl", std::process::id()));
    std::fs::write(&path, &text).expect("write the history");
    let events = parse_history(&text).expect("the recorded history is well formed");
    let verdict = check(&events, Model::StrictSerializable).expect("it checks");
    assert!(verdict.valid, "`sim check {}` fails: {:?}", path.display(), verdict.counts);
    assert_eq!(verdict.stats.committed as u64, committed);
    std::fs::remove_file(&path).ok();
}

#[test]
fn an_idle_node_still_resends_and_gives_up_on_its_timers() {
    // One real node of a two-node cluster; the test plays n2 and answers nothing. The
    // prepare n1 sends n2 is resent with no input arriving, and the commit then aborts
    // (error 14) when its votes time out: occ-node runs its timers while stdin is idle.
    let mut cluster = Cluster::start(1);
    let writes: Vec<Value> =
        (0..10).map(|k| json!({"key": format!("k{k}"), "value": "v"})).collect();
    for line in [
        json!({"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1,
            "node_id": "n1", "node_ids": ["n1", "n2"]}}),
        json!({"src": "c1", "dest": "n1", "body": {"type": "occ_commit", "msg_id": 2,
            "txn_id": "w1", "writes": writes}}),
    ] {
        cluster.send_to(0, &line);
    }
    // Nothing more is written: what follows happens on the node's timers alone.
    let mut seen = Vec::new();
    let answer = loop {
        let (_, message) = cluster.next();
        if message["dest"] == "c1" {
            break message;
        }
        seen.push(message["body"]["type"].as_str().unwrap_or_default().to_owned());
    };
    let prepares = seen.iter().filter(|k| *k == "txn_prepare").count();
    assert!(prepares >= 2, "the prepare was not resent while idle: {seen:?}");
    assert_eq!(answer["body"]["type"], "error", "{answer}");
    assert_eq!(answer["body"]["code"], 14, "{answer}");
}
