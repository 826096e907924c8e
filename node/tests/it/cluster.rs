//! A cluster of three nodes through the library, wired by an in-test router: sharding,
//! forwarded reads, one-phase and two-phase commits, reservations, and recovery of
//! in-doubt transactions after crashes of participants and coordinators.

use std::collections::VecDeque;

use node::io::{step_synced, Input};
use node::protocol::{error_code, Body, Envelope, KeyValue, KeyVersion, Payload};
use node::shard::ShardMap;
use node::storage::{self, MemLog};
use node::{LogConfig, Node, NodeConfig};

const NODES: [&str; 3] = ["n1", "n2", "n3"];

/// Three logging nodes, their logs, the messages in flight and the clients' inbox.
struct Cluster {
    nodes: Vec<Option<Node>>,
    logs: Vec<MemLog>,
    config: NodeConfig,
    queue: VecDeque<Envelope>,
    inbox: Vec<Envelope>,
    now_us: u64,
    msg_id: u64,
}

fn ids() -> Vec<String> {
    NODES.iter().map(|n| n.to_string()).collect()
}

fn init(node: &str) -> Envelope {
    let payload = Payload::Init { node_id: node.into(), node_ids: ids() };
    Envelope {
        src: "sim".into(),
        dest: node.into(),
        body: Body { msg_id: Some(0), in_reply_to: None, payload },
    }
}

impl Cluster {
    fn new() -> Cluster {
        let config = NodeConfig {
            log: Some(LogConfig { snapshot_min_bytes: 256, ..LogConfig::default() }),
            ..NodeConfig::default()
        };
        let mut cluster = Cluster {
            nodes: NODES.iter().map(|_| Some(Node::new(config.clone()))).collect(),
            logs: NODES.iter().map(|_| MemLog::default()).collect(),
            config,
            queue: VecDeque::new(),
            inbox: Vec::new(),
            now_us: 0,
            msg_id: 0,
        };
        for (i, node) in NODES.iter().enumerate() {
            cluster.step(i, Input::Message(init(node)));
        }
        cluster.inbox.clear();
        cluster
    }

    /// Steps node `i` (if it is up); what it sends goes to the queue (nodes) or the inbox.
    fn step(&mut self, i: usize, input: Input) {
        let Some(node) = self.nodes[i].as_mut() else { return };
        let sends = step_synced(node, self.now_us, input, &mut self.logs[i]).expect("in memory");
        for envelope in sends {
            if NODES.contains(&envelope.dest.as_str()) {
                self.queue.push_back(envelope);
            } else if envelope.dest != "sim" {
                self.inbox.push(envelope);
            }
        }
    }

    /// Delivers messages until none is left; `lose` says which are lost instead.
    fn deliver(&mut self, lose: impl Fn(&Envelope) -> bool) {
        let mut rounds = 0;
        while let Some(envelope) = self.queue.pop_front() {
            rounds += 1;
            assert!(rounds < 10_000, "the nodes keep talking");
            if lose(&envelope) {
                continue;
            }
            let i = NODES.iter().position(|n| *n == envelope.dest).expect("a node");
            self.step(i, Input::Message(envelope));
        }
    }

    /// Time passes by `us`; every node is ticked, and messages delivered.
    fn wait(&mut self, us: u64) {
        self.now_us += us;
        for i in 0..NODES.len() {
            self.step(i, Input::Tick);
        }
        self.deliver(|_| false);
    }

    /// Client `client` sends `payload` to node `i`; the message ids it went out under.
    fn send(&mut self, i: usize, client: &str, payload: Payload) -> u64 {
        self.msg_id += 1;
        let body = Body { msg_id: Some(self.msg_id), in_reply_to: None, payload };
        self.step(i, Input::Message(Envelope { src: client.into(), dest: NODES[i].into(), body }));
        self.msg_id
    }

    /// The reply to request `msg_id`, once it came.
    fn answer(&mut self, msg_id: u64) -> Option<Payload> {
        let at = self.inbox.iter().position(|e| e.body.in_reply_to == Some(msg_id))?;
        Some(self.inbox.remove(at).body.payload)
    }

    /// Sends and delivers everything: the reply.
    fn ask(&mut self, i: usize, payload: Payload) -> Payload {
        let msg_id = self.send(i, "c1", payload);
        self.deliver(|_| false);
        self.answer(msg_id).expect("an answer")
    }

    /// Node `i` gets `payload` from node `member`, as another node's request: its answer,
    /// taken off the queue.
    fn ask_as_member(&mut self, i: usize, member: &str, payload: Payload) -> Payload {
        let msg_id = self.send(i, member, payload);
        let at = self
            .queue
            .iter()
            .position(|e| e.dest == member && e.body.in_reply_to == Some(msg_id))
            .expect("an answer");
        self.queue.remove(at).expect("found above").body.payload
    }

    fn crash(&mut self, i: usize) {
        self.nodes[i] = None;
    }

    fn restart(&mut self, i: usize) {
        let recovered = storage::recover(&mut self.logs[i], None).expect("in memory");
        self.nodes[i] = Some(Node::recover(self.config.clone(), recovered, self.now_us));
        self.step(i, Input::Message(init(NODES[i])));
    }
}

/// A key node `owner` (0-based) owns, by the documented hash.
fn key_of(owner: usize, nth: usize) -> String {
    let map = ShardMap::new("n1", &ids());
    (0..).map(|k| format!("k{k}")).filter(|k| map.owner(k) == owner).nth(nth).expect("keys")
}

fn begin(cluster: &mut Cluster, i: usize) -> String {
    match cluster.ask(i, Payload::OccBegin) {
        Payload::OccBeginOk { txn_id } => txn_id,
        other => panic!("begin got {other:?}"),
    }
}

fn read(cluster: &mut Cluster, i: usize, txn_id: &str, key: &str) -> (Option<String>, u64) {
    match cluster.ask(i, Payload::OccRead { txn_id: txn_id.into(), key: key.into() }) {
        Payload::OccReadOk { value, version } => (value, version),
        other => panic!("read of {key} got {other:?}"),
    }
}

fn commit(txn_id: &str, writes: &[(&str, &str)], reads: &[(&str, u64)]) -> Payload {
    Payload::OccCommit {
        txn_id: txn_id.into(),
        writes: writes
            .iter()
            .map(|(k, v)| KeyValue { key: (*k).into(), value: (*v).into() })
            .collect(),
        read_versions: reads
            .iter()
            .map(|(k, v)| KeyVersion { key: (*k).into(), version: *v })
            .collect(),
    }
}

fn versions(reply: &Payload) -> Vec<(String, u64)> {
    match reply {
        Payload::OccCommitOk { committed: true, versions, .. } => {
            versions.iter().map(|v| (v.key.clone(), v.version)).collect()
        }
        other => panic!("expected a commit, got {other:?}"),
    }
}

#[test]
fn a_cross_shard_commit_applies_on_every_owner_at_exact_versions() {
    // A client of n1 reads and writes keys n2 and n3 own: reads are forwarded, the commit
    // runs two-phase commit, and every node then serves the new values at version 1; a
    // retry gets the first answer. Ids name their coordinator.
    let mut cluster = Cluster::new();
    let (a, b) = (key_of(1, 0), key_of(2, 0));
    let txn = begin(&mut cluster, 0);
    assert_eq!(txn, "t1.n1");
    assert_eq!(read(&mut cluster, 0, &txn, &a), (None, 0));
    assert_eq!(read(&mut cluster, 0, &txn, &b), (None, 0));
    let reply = cluster.ask(0, commit(&txn, &[(&a, "x"), (&b, "y")], &[(&a, 0), (&b, 0)]));
    let mut expected = vec![(a.clone(), 1), (b.clone(), 1)];
    expected.sort();
    assert_eq!(versions(&reply), expected);
    assert_eq!(cluster.ask(0, commit(&txn, &[], &[])), reply, "a retry gets the first answer");
    for i in 0..3 {
        let t = begin(&mut cluster, i);
        assert_eq!(read(&mut cluster, i, &t, &a), (Some("x".into()), 1), "via n{}", i + 1);
        assert_eq!(read(&mut cluster, i, &t, &b), (Some("y".into()), 1), "via n{}", i + 1);
    }
}

#[test]
fn a_single_shard_commit_is_forwarded_to_its_owner_in_one_phase() {
    // Every key on n2: n1 forwards the commit as one message, no prepare is sent.
    let mut cluster = Cluster::new();
    let (a, a2) = (key_of(1, 0), key_of(1, 1));
    let txn = begin(&mut cluster, 0);
    let msg_id = cluster.send(0, "c1", commit(&txn, &[(&a, "1"), (&a2, "2")], &[]));
    assert!(cluster.queue.iter().all(|e| matches!(e.body.payload, Payload::OccCommit { .. })));
    cluster.deliver(|_| false);
    let reply = cluster.answer(msg_id).expect("answered");
    assert_eq!(versions(&reply).len(), 2);
    // A stale read of n2's key aborts with the conflict the owner found.
    let txn = begin(&mut cluster, 0);
    match cluster.ask(0, commit(&txn, &[(&a, "3")], &[(&a, 0)])) {
        Payload::OccCommitOk { committed: false, conflicts, .. } => {
            assert_eq!(conflicts[0].actual, 1)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_reserved_key_makes_a_conflicting_commit_abort_never_wait() {
    // n2 prepared a transaction writing `a` (its decision lost): a commit of `a` on n2 is
    // refused with error 30 at once, and goes through once the decision (abort) arrives.
    let mut cluster = Cluster::new();
    let (a, b) = (key_of(1, 0), key_of(2, 0));
    let txn = begin(&mut cluster, 0);
    let lost_decision = |e: &Envelope| matches!(e.body.payload, Payload::TxnDecide { .. });
    let msg_id = cluster.send(0, "c1", commit(&txn, &[(&a, "1"), (&b, "1")], &[]));
    cluster.deliver(lost_decision);
    assert!(
        cluster.answer(msg_id).is_some(),
        "the client is answered before the participants apply"
    );
    let other = begin(&mut cluster, 1);
    match cluster.ask(1, commit(&other, &[(&a, "2")], &[])) {
        Payload::Error { code, .. } => assert_eq!(code, error_code::TXN_CONFLICT),
        reply => panic!("{reply:?}"),
    }
    // The decision is resent; then `a` is free again.
    cluster.wait(50_000);
    let again = begin(&mut cluster, 1);
    let reply = cluster.ask(1, commit(&again, &[(&a, "3")], &[]));
    assert_eq!(versions(&reply), [(a.clone(), 2)], "the first commit applied at 1, this one at 2");
}

#[test]
fn a_participant_that_restarts_in_doubt_asks_and_applies_the_decision() {
    // n3 votes yes, then crashes before the decision reaches it; the client has its
    // commit. Restarted, n3 rebuilds its reservation from the log, asks n1, and applies.
    let mut cluster = Cluster::new();
    let (a, b) = (key_of(1, 0), key_of(2, 0));
    let txn = begin(&mut cluster, 0);
    let msg_id = cluster.send(0, "c1", commit(&txn, &[(&a, "1"), (&b, "1")], &[]));
    cluster.deliver(|e| e.dest == "n3" && matches!(e.body.payload, Payload::TxnDecide { .. }));
    cluster.crash(2);
    assert!(matches!(cluster.answer(msg_id), Some(Payload::OccCommitOk { committed: true, .. })));
    cluster.restart(2);
    // Until it knows, the key stays reserved.
    let other = begin(&mut cluster, 2);
    assert!(matches!(
        cluster.ask(2, commit(&other, &[(&b, "2")], &[])),
        Payload::Error { code: 30, .. }
    ));
    cluster.wait(10);
    let t = begin(&mut cluster, 2);
    assert_eq!(read(&mut cluster, 2, &t, &b), (Some("1".into()), 1));
}

#[test]
fn a_restarted_coordinator_drives_the_decisions_it_recorded() {
    // n1 records its commit decision and crashes before any participant hears of it:
    // restarted, it tells them, and both apply.
    let mut cluster = Cluster::new();
    let (a, b) = (key_of(1, 0), key_of(2, 0));
    let txn = begin(&mut cluster, 0);
    cluster.send(0, "c1", commit(&txn, &[(&a, "1"), (&b, "1")], &[]));
    cluster.deliver(|e| e.src == "n1" && matches!(e.body.payload, Payload::TxnDecide { .. }));
    cluster.crash(0);
    cluster.restart(0);
    cluster.wait(10);
    for (i, key) in [(1, &a), (2, &b)] {
        let t = begin(&mut cluster, i);
        assert_eq!(read(&mut cluster, i, &t, key), (Some("1".into()), 1), "{key} on n{}", i + 1);
    }
    // The decision is forgotten once both acknowledged: nothing left to drive.
    cluster.wait(100_000);
    assert!(cluster.queue.is_empty());
}

#[test]
fn without_a_recorded_decision_participants_are_told_abort() {
    // n1 crashes after sending its prepares, before any vote: it never decided, so when
    // the participants in doubt ask, the answer is abort (presumed abort), and their keys
    // are free again; nothing was applied.
    let mut cluster = Cluster::new();
    let (a, b) = (key_of(1, 0), key_of(2, 0));
    let txn = begin(&mut cluster, 0);
    cluster.send(0, "c1", commit(&txn, &[(&a, "1"), (&b, "1")], &[]));
    cluster.crash(0);
    cluster.deliver(|e| e.dest == "n1");
    cluster.restart(0);
    cluster.wait(200_000);
    for (i, key) in [(1, &a), (2, &b)] {
        let t = begin(&mut cluster, i);
        assert_eq!(read(&mut cluster, i, &t, key), (None, 0), "{key} on n{}", i + 1);
        let reply = cluster.ask(i, commit(&t, &[(key, "2")], &[(key, 0)]));
        assert_eq!(versions(&reply), [(key.clone(), 1)], "{key} is free again");
    }
}

#[test]
fn a_presumed_abort_of_a_client_named_id_holds_against_its_resend() {
    // A client names its own id. n1 crashes while collecting votes; the participants'
    // yes votes reach the restarted n1 late (or the participants ask): n1 presumes abort
    // and says so. The client's resend of the same commit must then get that abort, not
    // a second attempt that commits while a participant already released its part.
    for late_votes in [true, false] {
        let mut cluster = Cluster::new();
        let (a, b) = (key_of(1, 0), key_of(2, 0));
        let named = commit("c1-7", &[(&a, "1"), (&b, "1")], &[]);
        cluster.send(0, "c1", named.clone());
        let prepares: Vec<Envelope> = cluster.queue.drain(..).collect();
        cluster.crash(0);
        for prepare in prepares {
            let i = NODES.iter().position(|n| *n == prepare.dest).expect("a node");
            cluster.step(i, Input::Message(prepare));
        }
        let votes: Vec<Envelope> = cluster.queue.drain(..).collect();
        assert_eq!(votes.len(), 2, "both participants voted: {votes:?}");
        cluster.restart(0);
        if late_votes {
            for vote in votes {
                cluster.step(0, Input::Message(vote));
            }
            cluster.deliver(|_| false);
        } else {
            cluster.wait(200_000);
        }
        match cluster.ask(0, named.clone()) {
            Payload::Error { code, .. } => assert_eq!(code, error_code::TXN_CONFLICT),
            other => panic!("late votes {late_votes}: the resend got {other:?}"),
        }
        cluster.wait(200_000);
        for (i, key) in [(1, &a), (2, &b)] {
            let t = begin(&mut cluster, i);
            assert_eq!(read(&mut cluster, i, &t, key), (None, 0), "{key}: nothing applied");
            let reply = cluster.ask(i, commit(&t, &[(key, "2")], &[(key, 0)]));
            assert_eq!(versions(&reply), [(key.clone(), 1)], "{key} is free again");
        }
    }
}

#[test]
fn a_node_refuses_other_nodes_requests_for_keys_it_does_not_own() {
    // n2 (a member) asks n1 to prepare, commit and read a key n3 owns, as a node with
    // another shard map would: each is refused with error 22, nothing is prepared or
    // installed on n1, and a decision for that transaction applies nothing anywhere.
    let mut cluster = Cluster::new();
    let (mine, theirs) = (key_of(0, 0), key_of(2, 0));
    let refused = |reply: Payload, what: &str| match reply {
        Payload::Error { code, text } => {
            assert_eq!(code, error_code::PRECONDITION_FAILED, "{what}: {text}");
            assert!(text.contains(&theirs) && text.contains("n3"), "{what}: {text}");
        }
        other => panic!("{what} got {other:?}"),
    };
    let prepare = Payload::TxnPrepare {
        txn_id: "t9.n2".into(),
        writes: vec![KeyValue { key: theirs.clone(), value: "stray".into() }],
        read_versions: vec![KeyVersion { key: mine.clone(), version: 0 }],
    };
    refused(cluster.ask_as_member(0, "n2", prepare), "a prepare");
    let decide = Payload::TxnDecide { txn_id: "t9.n2".into(), committed: true };
    assert_eq!(
        cluster.ask_as_member(0, "n2", decide),
        Payload::TxnDecideOk { txn_id: "t9.n2".into() },
        "a decision names no key: acknowledged, and it applies only what was prepared here"
    );
    let stray = commit("t10.n2", &[(&theirs, "stray")], &[]);
    refused(cluster.ask_as_member(0, "n2", stray), "a one-phase commit");
    let mixed = commit("t11.n2", &[(&mine, "1")], &[(&theirs, 0)]);
    refused(cluster.ask_as_member(0, "n2", mixed), "a commit naming one foreign key");
    let read_theirs = Payload::OccRead { txn_id: "t12.n2".into(), key: theirs.clone() };
    refused(cluster.ask_as_member(0, "n2", read_theirs), "a read");
    cluster.deliver(|_| false);
    let node = cluster.nodes[0].as_ref().expect("up");
    assert_eq!(node.unresolved(), (0, 0), "nothing prepared on n1");
    // Nothing was installed: n1's own key is untouched, and the owner serves `theirs` as
    // it was (n1 would refuse to).
    let read_mine = Payload::OccRead { txn_id: "t13.n2".into(), key: mine.clone() };
    assert_eq!(
        cluster.ask_as_member(0, "n2", read_mine),
        Payload::OccReadOk { value: None, version: 0 }
    );
    let t = begin(&mut cluster, 0);
    assert_eq!(read(&mut cluster, 0, &t, &theirs), (None, 0));
    // What is n1's own is still served to members as before.
    let own = Payload::TxnPrepare {
        txn_id: "t14.n2".into(),
        writes: vec![KeyValue { key: mine.clone(), value: "1".into() }],
        read_versions: vec![],
    };
    match cluster.ask_as_member(0, "n2", own) {
        Payload::TxnPrepareOk { vote: true, .. } => {}
        other => panic!("a prepare of n1's own key got {other:?}"),
    }
}

#[test]
fn every_cluster_table_is_counted_and_empties_once_everything_is_resolved() {
    // Each table of a cluster's state shows in `table_sizes` while it holds something,
    // and every one is empty again once decisions are acknowledged and TTLs have passed.
    let mut cluster = Cluster::new();
    let (a, b) = (key_of(1, 0), key_of(2, 0));
    let txn = begin(&mut cluster, 0);
    cluster.send(0, "c1", commit(&txn, &[(&a, "1"), (&b, "1")], &[]));
    cluster.deliver(|e| e.dest == "n3" && matches!(e.body.payload, Payload::TxnDecide { .. }));
    // n1 sends a forwarded read and another cross-shard commit, unanswered so far.
    let (open, next) = (begin(&mut cluster, 0), begin(&mut cluster, 0));
    cluster.send(0, "c1", Payload::OccRead { txn_id: open.clone(), key: a.clone() });
    cluster.send(0, "c1", commit(&next, &[(&key_of(1, 1), "1"), (&key_of(2, 1), "1")], &[]));
    let sizes = |cluster: &Cluster, i: usize| cluster.nodes[i].as_ref().expect("up").table_sizes();
    let n1 = sizes(&cluster, 0);
    assert_eq!((n1.decisions, n1.in_flight, n1.forwards), (1, 1, 1), "{n1:?}");
    assert_eq!((n1.open_txns, n1.outcomes), (1, 1), "{n1:?}");
    let n2 = sizes(&cluster, 1);
    assert_eq!((n2.resolved, n2.resolved_expiries, n2.prepared), (1, 1, 0), "{n2:?}");
    let n3 = sizes(&cluster, 2);
    assert_eq!((n3.prepared, n3.reservations, n3.resolved), (1, 1, 0), "{n3:?}");
    // Everything answered, acknowledged, and past every TTL: nothing is left anywhere.
    cluster.deliver(|_| false);
    for _ in 0..70 {
        cluster.wait(1_000_000);
    }
    for i in 0..NODES.len() {
        assert_eq!(sizes(&cluster, i), node::TableSizes::default(), "n{}", i + 1);
    }
}
