//! Two-phase commit, transition by transition. One node, `n1` of the cluster `n1, n2,
//! n3`, driven by hand: the test plays its peers and its clients, and syncs its log (in
//! memory) only when it says so, so that what waits for a sync is seen waiting, and a
//! crash loses exactly what was not synced.

use super::coordinator::{Phase, PREPARE_TIMEOUT_US, RESEND_US};
use super::participant::{PartPhase, QUERY_AFTER_US};
use super::*;
use crate::protocol::Conflict;
use crate::storage::{self, MemLog, Storage};

const NODES: [&str; 3] = ["n1", "n2", "n3"];
const OUTCOME_TTL_US: u64 = 1_000_000;

fn config(bug: Option<Bug>) -> NodeConfig {
    NodeConfig {
        outcome_ttl_us: OUTCOME_TTL_US,
        bug,
        log: Some(LogConfig::default()),
        ..NodeConfig::default()
    }
}

/// `n1`, what it sent and appended since the test last looked, and its log.
struct Harness {
    node: Node,
    config: NodeConfig,
    log: MemLog,
    /// The log's length at the last sync fed back: what a crash keeps.
    durable_len: u64,
    /// The largest LSN the node asked to have synced, not yet fed back.
    unsynced: Option<u64>,
    sent: Vec<(String, Payload)>,
    appended: usize,
    now_us: u64,
    msg_id: u64,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_bug(None)
    }

    fn with_bug(bug: Option<Bug>) -> Harness {
        let config = config(bug);
        let mut h = Harness {
            node: Node::new(config.clone()),
            config,
            log: MemLog::default(),
            durable_len: 0,
            unsynced: None,
            sent: Vec::new(),
            appended: 0,
            now_us: 0,
            msg_id: 0,
        };
        h.init();
        h
    }

    fn init(&mut self) {
        let node_ids = NODES.iter().map(|n| n.to_string()).collect();
        self.from("sim", Payload::Init { node_id: "n1".into(), node_ids });
        self.sync();
        assert_eq!(self.take(), [("sim".to_owned(), Payload::InitOk)]);
        self.appended = 0;
    }

    fn step(&mut self, input: Input) {
        let mut out = Vec::new();
        self.node.step(self.now_us, input, &mut out);
        for output in out {
            match output {
                Output::Send(e) => self.sent.push((e.dest, e.body.payload)),
                Output::Append { bytes, .. } => {
                    self.log.append(&bytes).expect("in memory");
                    self.appended += 1;
                }
                Output::Sync { lsn } => self.unsynced = self.unsynced.max(Some(lsn)),
                Output::Compact { head, keep_from } => {
                    self.log.compact(&head, keep_from).expect("in memory");
                    self.durable_len = self.log.bytes.len() as u64;
                }
            }
        }
    }

    /// `payload` from `src` (a client, or a peer playing its part): its `msg_id`.
    fn from(&mut self, src: &str, payload: Payload) -> u64 {
        self.msg_id += 1;
        let body = Body { msg_id: Some(self.msg_id), in_reply_to: None, payload };
        self.step(Input::Message(Envelope { src: src.into(), dest: "n1".into(), body }));
        self.msg_id
    }

    /// The storage finishes the sync the node asked for.
    fn sync(&mut self) {
        while let Some(lsn) = self.unsynced.take() {
            self.durable_len = self.log.bytes.len() as u64;
            self.step(Input::Synced { lsn });
        }
    }

    fn tick(&mut self, now_us: u64) {
        self.now_us = now_us;
        self.step(Input::Tick);
    }

    /// What was sent since the last look, as (destination, payload).
    fn take(&mut self) -> Vec<(String, Payload)> {
        std::mem::take(&mut self.sent)
    }

    /// How many records were appended since the last look.
    fn appended(&mut self) -> usize {
        std::mem::take(&mut self.appended)
    }

    /// A crash (unsynced records lost, held messages never sent) and a restart from the
    /// log, initialised again.
    fn restart(&mut self) {
        self.log.truncate(self.durable_len).expect("in memory");
        let recovered = storage::recover(&mut self.log, None).expect("a clean log");
        self.node = Node::recover(self.config.clone(), recovered, self.now_us);
        (self.unsynced, self.sent) = (None, Vec::new());
        self.init();
    }

    fn coordinator_phase(&self, txn_id: &str) -> Phase {
        self.node.coordinator_phase(txn_id)
    }

    fn part_phase(&self, txn_id: &str) -> PartPhase {
        self.node.durable.participant.phase(txn_id)
    }

    /// A client's read of `key`, answered at once.
    fn read(&mut self, key: &str) -> Payload {
        self.from("c1", Payload::OccRead { txn_id: "r".into(), key: key.into() });
        let mut sent = self.take();
        assert_eq!(sent.len(), 1, "one answer to a read: {sent:?}");
        sent.pop().expect("checked").1
    }
}

/// A key node `owner` (its index in `NODES`) holds.
fn key_on(owner: usize) -> String {
    let ids: Vec<String> = NODES.iter().map(|n| n.to_string()).collect();
    let shards = crate::shard::ShardMap::new("n1", &ids);
    (0..).map(|i| format!("k{i}")).find(|k| shards.owner(k) == owner).expect("some key")
}

fn kvs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| KeyValue { key: (*k).into(), value: (*v).into() }).collect()
}

fn kvers(pairs: &[(&str, u64)]) -> Vec<KeyVersion> {
    pairs.iter().map(|(k, v)| KeyVersion { key: (*k).into(), version: *v }).collect()
}

fn commit(txn_id: &str, writes: &[(&str, &str)]) -> Payload {
    Payload::OccCommit { txn_id: txn_id.into(), writes: kvs(writes), read_versions: vec![] }
}

fn prepare(txn_id: &str, writes: &[(&str, &str)], reads: &[(&str, u64)]) -> Payload {
    Payload::TxnPrepare { txn_id: txn_id.into(), writes: kvs(writes), read_versions: kvers(reads) }
}

fn vote(txn_id: &str, yes: bool, versions: &[(&str, u64)], conflicts: Vec<Conflict>) -> Payload {
    Payload::TxnPrepareOk { txn_id: txn_id.into(), vote: yes, versions: kvers(versions), conflicts }
}

fn decide(txn_id: &str, committed: bool) -> Payload {
    Payload::TxnDecide { txn_id: txn_id.into(), committed }
}

fn to(dest: &str, payload: Payload) -> (String, Payload) {
    (dest.to_owned(), payload)
}

fn committed(versions: &[(&str, u64)]) -> Payload {
    Outcome::Committed(kvers(versions)).to_payload()
}

fn value(value: Option<&str>, version: u64) -> Payload {
    Payload::OccReadOk { value: value.map(str::to_owned), version }
}

fn error_code_of(payload: &Payload) -> u32 {
    match payload {
        Payload::Error { code, .. } => *code,
        other => panic!("expected an error, got {other:?}"),
    }
}

mod coordinator {
    use super::*;

    /// `n1` coordinates `a`, a client's commit writing `k2` (on n2) and `k3` (on n3):
    /// the harness with both prepares taken, and the two keys.
    fn collecting() -> (Harness, String, String) {
        let mut h = Harness::new();
        let (k2, k3) = (key_on(1), key_on(2));
        h.from("c1", commit("a", &[(&k2, "x"), (&k3, "y")]));
        let prepares = vec![
            to("n2", prepare("a", &[(&k2, "x")], &[])),
            to("n3", prepare("a", &[(&k3, "y")], &[])),
        ];
        assert_eq!(h.take(), prepares);
        (h, k2, k3)
    }

    /// `collecting`, both votes yes, the decision synced and sent.
    fn decided() -> (Harness, String, String) {
        let (mut h, k2, k3) = collecting();
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.from("n3", vote("a", true, &[(&k3, 1)], vec![]));
        h.sync();
        assert_eq!(h.take().len(), 3, "two decisions and the client's answer");
        assert_eq!(h.appended(), 1, "the Decided record");
        (h, k2, k3)
    }

    #[test]
    fn a_commit_on_two_shards_collects_until_every_vote_is_in() {
        // One yes is not a decision: nothing is appended, nothing sent.
        let (mut h, k2, _) = collecting();
        assert_eq!(h.coordinator_phase("a"), Phase::Collecting);
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        assert_eq!(h.coordinator_phase("a"), Phase::Collecting);
        assert_eq!((h.appended(), h.take()), (0, vec![]));
        assert_eq!(h.node.unresolved(), (0, 0));
    }

    #[test]
    fn every_yes_decides_commit_and_no_decide_leaves_before_the_decision_is_synced() {
        let (mut h, k2, k3) = collecting();
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.from("n3", vote("a", true, &[(&k3, 1)], vec![]));
        assert_eq!(h.coordinator_phase("a"), Phase::Decided);
        assert_eq!(h.node.unresolved(), (0, 1));
        assert_eq!(h.appended(), 1, "the Decided record");
        assert_eq!(h.take(), [], "held until the Decided record is durable");
        h.sync();
        let told = vec![
            to("n2", decide("a", true)),
            to("n3", decide("a", true)),
            to("c1", committed(&[(&k2, 1), (&k3, 1)])),
        ];
        assert_eq!(h.take(), told);
    }

    #[test]
    #[should_panic(expected = "before its Decided record")]
    fn a_commit_decide_leaving_before_its_record_is_synced_is_caught() {
        let (mut h, k2, k3) = collecting();
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.from("n3", vote("a", true, &[(&k3, 1)], vec![]));
        let lsn = h.node.volatile.log.as_ref().expect("a log").appended_lsn;
        let decisions = &h.node.durable.decisions;
        super::super::coordinator::assert_decision_durable(
            decisions,
            &decide("a", true),
            lsn,
            lsn - 1,
        );
    }

    #[test]
    fn a_no_vote_aborts_and_tells_only_those_that_may_have_prepared() {
        let (mut h, k2, k3) = collecting();
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        let conflict = Conflict { key: k3.clone(), expected: 0, actual: 4 };
        h.from("n3", vote("a", false, &[], vec![conflict.clone()]));
        assert_eq!(h.coordinator_phase("a"), Phase::Forgotten);
        assert_eq!(h.appended(), 1, "the client-named id's abort, recorded first");
        assert_eq!(h.take(), []);
        h.sync();
        let aborted = Outcome::Aborted(vec![conflict]).to_payload();
        assert_eq!(h.take(), [to("n2", decide("a", false)), to("c1", aborted)]);
        assert_eq!(h.node.unresolved(), (0, 0));
    }

    #[test]
    fn prepares_are_resent_and_a_missing_vote_aborts_at_the_timeout_with_error_14() {
        let (mut h, k2, k3) = collecting();
        h.tick(RESEND_US);
        let prepares = vec![
            to("n2", prepare("a", &[(&k2, "x")], &[])),
            to("n3", prepare("a", &[(&k3, "y")], &[])),
        ];
        assert_eq!(h.take(), prepares);
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.tick(PREPARE_TIMEOUT_US);
        assert_eq!(h.coordinator_phase("a"), Phase::Forgotten);
        h.sync();
        let sent = h.take();
        assert_eq!(sent[..2], [to("n2", decide("a", false)), to("n3", decide("a", false))]);
        assert_eq!(sent[2].0, "c1");
        assert_eq!(error_code_of(&sent[2].1), error_code::ABORT);
        assert_eq!(sent.len(), 3);
    }

    #[test]
    fn acknowledgements_forget_the_decision_once_all_are_in() {
        let (mut h, _, _) = decided();
        h.from("n2", Payload::TxnDecideOk { txn_id: "a".into() });
        assert_eq!(h.coordinator_phase("a"), Phase::Decided);
        assert_eq!(h.appended(), 0);
        h.from("n3", Payload::TxnDecideOk { txn_id: "a".into() });
        assert_eq!(h.coordinator_phase("a"), Phase::Forgotten);
        assert_eq!(h.appended(), 1, "the Forgotten record");
        assert_eq!(h.node.unresolved(), (0, 0));
        // A late acknowledgement changes nothing.
        h.from("n3", Payload::TxnDecideOk { txn_id: "a".into() });
        assert_eq!((h.appended(), h.take()), (0, vec![]));
    }

    #[test]
    fn an_unacknowledged_decision_is_driven_past_its_outcome_ttl() {
        let (mut h, _, _) = decided();
        h.from("n2", Payload::TxnDecideOk { txn_id: "a".into() });
        h.tick(RESEND_US);
        assert_eq!(h.take(), [to("n3", decide("a", true))]);
        h.tick(OUTCOME_TTL_US + RESEND_US);
        assert_eq!(h.coordinator_phase("a"), Phase::Decided, "no TTL forgets a decision");
        assert_eq!(h.take(), [to("n3", decide("a", true))]);
    }

    #[test]
    fn the_planted_forget_unacked_decision_forgets_it_at_its_outcome_ttl() {
        // The planted bug's path stays free of `forget`'s assertion.
        let mut h = Harness::with_bug(Some(Bug::ForgetUnackedDecision));
        let (k2, k3) = (key_on(1), key_on(2));
        h.from("c1", commit("a", &[(&k2, "x"), (&k3, "y")]));
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.from("n3", vote("a", true, &[(&k3, 1)], vec![]));
        h.sync();
        h.tick(OUTCOME_TTL_US - 1);
        assert_eq!(h.coordinator_phase("a"), Phase::Decided);
        h.tick(OUTCOME_TTL_US + 1);
        assert_eq!(h.coordinator_phase("a"), Phase::Forgotten);
    }

    #[test]
    fn a_query_while_collecting_waits_for_the_decision_and_one_after_it_hears_commit() {
        // Asked while votes are still coming in, the coordinator neither answers nor
        // aborts: a participant that asks sooner than the votes take to gather must not
        // abort a transaction every part would vote yes for.
        let (mut h, k2, k3) = collecting();
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.from("n2", Payload::TxnQuery { txn_id: "a".into() });
        assert_eq!(h.coordinator_phase("a"), Phase::Collecting, "not aborted by a question");
        h.sync();
        assert_eq!((h.appended(), h.take()), (0, vec![]), "no answer, no decision yet");
        h.from("n3", vote("a", true, &[(&k3, 1)], vec![]));
        assert_eq!(h.coordinator_phase("a"), Phase::Decided, "the late vote still commits it");
        h.sync();
        let sent = h.take();
        assert_eq!(sent[..2], [to("n2", decide("a", true)), to("n3", decide("a", true))]);

        let (mut h, _, _) = decided();
        h.from("n2", Payload::TxnQuery { txn_id: "a".into() });
        let answer = Payload::TxnQueryOk { txn_id: "a".into(), committed: true };
        assert_eq!(h.take(), [to("n2", answer)]);
        assert_eq!(h.coordinator_phase("a"), Phase::Decided);
    }

    #[test]
    fn the_coordinators_own_part_is_prepared_in_place_and_resolved_by_the_decision() {
        let mut h = Harness::new();
        let (k1, k2) = (key_on(0), key_on(1));
        h.from("c1", commit("a", &[(&k1, "x"), (&k2, "y")]));
        assert_eq!(h.part_phase("a"), PartPhase::Reserved);
        assert_eq!(h.appended(), 1, "its own Prepared record");
        assert_eq!(h.take(), [], "the prepare waits for the record, like any message");
        h.sync();
        assert_eq!(h.take(), [to("n2", prepare("a", &[(&k2, "y")], &[]))]);
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        assert_eq!(h.coordinator_phase("a"), Phase::Decided);
        assert_eq!(h.part_phase("a"), PartPhase::Resolved { committed: true });
        h.sync();
        h.take();
        assert_eq!(h.read(&k1), value(Some("x"), 1));
    }

    #[test]
    fn a_restarted_coordinator_drives_its_durable_decision_again() {
        let (mut h, _, _) = decided();
        h.restart();
        assert_eq!(h.coordinator_phase("a"), Phase::Decided);
        assert_eq!(h.node.unresolved(), (0, 1));
        h.tick(h.now_us);
        assert_eq!(h.take(), [to("n2", decide("a", true)), to("n3", decide("a", true))]);
    }

    #[test]
    fn a_decision_lost_before_its_sync_was_never_told_and_is_presumed_aborted() {
        let (mut h, k2, k3) = collecting();
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.from("n3", vote("a", true, &[(&k3, 1)], vec![]));
        assert_eq!(h.take(), [], "nobody heard commit");
        h.restart();
        assert_eq!(h.coordinator_phase("a"), Phase::Forgotten);
        assert_eq!(h.node.unresolved(), (0, 0));
        // A participant in doubt asks, and hears abort (recorded first: a client-named id).
        h.from("n2", Payload::TxnQuery { txn_id: "a".into() });
        assert_eq!(h.appended(), 1);
        h.sync();
        let answer = Payload::TxnQueryOk { txn_id: "a".into(), committed: false };
        assert_eq!(h.take(), [to("n2", answer)]);
    }

    #[test]
    fn a_late_yes_for_what_a_restart_ended_is_told_abort() {
        let (mut h, k2, _) = collecting();
        h.restart();
        assert_eq!(h.coordinator_phase("a"), Phase::Forgotten);
        h.from("n2", vote("a", true, &[(&k2, 1)], vec![]));
        h.sync();
        assert_eq!(h.take(), [to("n2", decide("a", false))]);
    }
}

mod participant {
    use super::*;

    /// `n1` prepared `t` for coordinator `n2`, a write of `k1`, its vote sent: the
    /// harness and the key.
    fn reserved() -> (Harness, String) {
        let mut h = Harness::new();
        let k1 = key_on(0);
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        h.sync();
        assert_eq!(h.take(), [to("n2", vote("t", true, &[(&k1, 1)], vec![]))]);
        h.appended();
        (h, k1)
    }

    #[test]
    fn a_prepare_reserves_and_its_yes_vote_waits_for_the_prepared_record() {
        let mut h = Harness::new();
        let k1 = key_on(0);
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        assert_eq!(h.part_phase("t"), PartPhase::Reserved);
        assert_eq!(h.appended(), 1, "the Prepared record");
        assert_eq!(h.take(), [], "the vote waits for the record");
        h.sync();
        assert_eq!(h.take(), [to("n2", vote("t", true, &[(&k1, 1)], vec![]))]);
        assert_eq!(h.node.unresolved(), (1, 0));
        assert_eq!(error_code_of(&h.read(&k1)), error_code::TXN_CONFLICT);
    }

    #[test]
    #[should_panic(expected = "before its Prepared record")]
    fn a_yes_vote_leaving_before_its_record_is_synced_is_caught() {
        let mut h = Harness::new();
        let k1 = key_on(0);
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        let lsn = h.node.volatile.log.as_ref().expect("a log").appended_lsn;
        let yes = vote("t", true, &[(&k1, 1)], vec![]);
        super::super::participant::assert_vote_durable(
            &h.node.durable.participant,
            &yes,
            lsn,
            lsn - 1,
        );
    }

    #[test]
    fn a_stale_read_or_a_reserved_key_votes_no_and_reserves_nothing() {
        let mut h = Harness::new();
        let k1 = key_on(0);
        h.from("n2", prepare("s", &[], &[(&k1, 5)]));
        let conflict = Conflict { key: k1.clone(), expected: 5, actual: 0 };
        assert_eq!(h.take(), [to("n2", vote("s", false, &[], vec![conflict]))]);
        assert_eq!((h.appended(), h.part_phase("s")), (0, PartPhase::Absent));

        let (mut h, k1) = reserved();
        h.from("n3", prepare("u", &[], &[(&k1, 0)]));
        assert_eq!(h.take(), [to("n3", vote("u", false, &[], vec![]))]);
        assert_eq!((h.appended(), h.part_phase("u")), (0, PartPhase::Absent));
    }

    #[test]
    fn a_commit_decision_applies_the_prepared_writes_at_the_promised_versions() {
        let (mut h, k1) = reserved();
        h.from("n2", decide("t", true));
        assert_eq!(h.part_phase("t"), PartPhase::Resolved { committed: true });
        assert_eq!(h.appended(), 1, "the Resolved record");
        h.sync();
        assert_eq!(h.take(), [to("n2", Payload::TxnDecideOk { txn_id: "t".into() })]);
        assert_eq!(h.node.unresolved(), (0, 0));
        assert_eq!(h.read(&k1), value(Some("v"), 1));
    }

    #[test]
    fn an_abort_decision_releases_the_keys() {
        let (mut h, k1) = reserved();
        h.from("n2", decide("t", false));
        assert_eq!(h.part_phase("t"), PartPhase::Resolved { committed: false });
        h.sync();
        h.take();
        assert_eq!(h.read(&k1), value(None, 0));
        h.from("n3", prepare("u", &[(&k1, "w")], &[]));
        h.sync();
        assert_eq!(h.take(), [to("n3", vote("u", true, &[(&k1, 1)], vec![]))]);
    }

    #[test]
    fn a_resent_prepare_or_decision_gets_the_same_answer_and_changes_nothing() {
        let (mut h, k1) = reserved();
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        assert_eq!(h.take(), [to("n2", vote("t", true, &[(&k1, 1)], vec![]))]);
        assert_eq!(h.appended(), 0, "prepared once");
        h.from("n2", decide("t", true));
        h.sync();
        h.take();
        h.appended();
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        h.from("n2", decide("t", true));
        let ok = Payload::TxnDecideOk { txn_id: "t".into() };
        assert_eq!(h.take(), [to("n2", vote("t", true, &[(&k1, 1)], vec![])), to("n2", ok)]);
        assert_eq!(h.appended(), 0, "applied once");
        assert_eq!(h.part_phase("t"), PartPhase::Resolved { committed: true });
        assert_eq!(h.read(&k1), value(Some("v"), 1));
    }

    #[test]
    fn a_doubt_asks_its_coordinator_until_it_answers_and_never_releases_meanwhile() {
        let (mut h, k1) = reserved();
        h.tick(QUERY_AFTER_US - 1);
        assert_eq!(h.take(), []);
        for round in 1..=3 {
            h.tick(round * QUERY_AFTER_US);
            assert_eq!(h.take(), [to("n2", Payload::TxnQuery { txn_id: "t".into() })]);
            assert_eq!(h.part_phase("t"), PartPhase::Reserved, "a timeout decides nothing");
            assert_eq!(error_code_of(&h.read(&k1)), error_code::TXN_CONFLICT);
        }
        h.from("n2", Payload::TxnQueryOk { txn_id: "t".into(), committed: true });
        assert_eq!(h.part_phase("t"), PartPhase::Resolved { committed: true });
        h.tick(4 * QUERY_AFTER_US);
        assert_eq!(h.take(), [], "resolved: nothing more to ask");
    }

    #[test]
    fn the_planted_doubt_bugs_release_on_the_timer_or_never_ask() {
        // Their paths stay free of the reservation rule's assertions.
        let k1 = key_on(0);
        let mut h = Harness::with_bug(Some(Bug::ReleaseOnTimeout));
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        h.sync();
        h.take();
        h.tick(QUERY_AFTER_US);
        assert_eq!(h.take(), [to("n2", Payload::TxnQuery { txn_id: "t".into() })]);
        assert_eq!(h.read(&k1), value(None, 0), "released while still prepared");
        h.from("n2", decide("t", true));
        assert_eq!(h.part_phase("t"), PartPhase::Resolved { committed: true });

        let mut h = Harness::with_bug(Some(Bug::NeverResolveDoubt));
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        h.sync();
        h.take();
        h.tick(QUERY_AFTER_US);
        assert_eq!(h.take(), []);
        assert_eq!(h.part_phase("t"), PartPhase::Reserved);
    }

    #[test]
    fn a_restarted_participant_keeps_its_reservation_and_asks_at_once() {
        let (mut h, k1) = reserved();
        h.restart();
        assert_eq!(h.part_phase("t"), PartPhase::Reserved);
        assert_eq!(error_code_of(&h.read(&k1)), error_code::TXN_CONFLICT);
        h.tick(h.now_us);
        assert_eq!(h.take(), [to("n2", Payload::TxnQuery { txn_id: "t".into() })]);
    }

    #[test]
    fn a_prepare_lost_before_its_sync_voted_nothing_and_holds_nothing() {
        let mut h = Harness::new();
        let k1 = key_on(0);
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        assert_eq!(h.take(), []);
        h.restart();
        assert_eq!(h.part_phase("t"), PartPhase::Absent);
        assert_eq!(h.read(&k1), value(None, 0));
    }

    #[test]
    fn a_restarted_participant_remembers_how_it_resolved() {
        let (mut h, k1) = reserved();
        h.from("n2", decide("t", false));
        h.sync();
        h.take();
        h.restart();
        assert_eq!(h.part_phase("t"), PartPhase::Resolved { committed: false });
        h.from("n2", prepare("t", &[(&k1, "v")], &[]));
        assert_eq!(h.take(), [to("n2", vote("t", false, &[], vec![]))]);
        assert_eq!(h.part_phase("t"), PartPhase::Resolved { committed: false });
        assert_eq!(h.read(&k1), value(None, 0));
    }
}
