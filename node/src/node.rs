//! The state machine: one message in, zero or one replies out.
//!
//! Dispatch order for a message: expire state due by `now`; ignore replies (a node never
//! answers a reply or error, which could ping-pong forever between nodes); answer unknown
//! types with 10 and malformed ones with 12; answer anything but `init` with 11 until the
//! node is initialised; otherwise serve it.

use std::collections::BTreeMap;

use crate::bugs::Bug;
use crate::clip::clip;
use crate::marks::{Mark, Marks};
use crate::protocol::{error_code, is_reply_type, Body, Envelope, KeyValue, KeyVersion, Payload};
use crate::store::Store;
use crate::txns::{Lookup, Outcome, TxnRef, TxnTable};

/// How long the node remembers transactions, in virtual microseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// How long after `occ_begin` an uncommitted transaction (and the reads it recorded) is
    /// kept. Default 10 s: far longer than any client should take between begin and commit.
    pub txn_ttl_us: u64,
    /// How long after a commit its answer is kept for retries. Default 60 s: longer than
    /// any sane client retry window.
    pub outcome_ttl_us: u64,
    /// A planted defect for the harness to find (see [`Bug`]); always `None` in `occ-node`.
    pub bug: Option<Bug>,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig { txn_ttl_us: 10_000_000, outcome_ttl_us: 60_000_000, bug: None }
    }
}

/// An OCC key-value node. Feed it messages with [`Node::handle`] and the passing of time
/// with [`Node::tick`]; it appends its replies to the caller's outbox.
#[derive(Clone, Debug)]
pub struct Node {
    /// `None` until `init`.
    node_id: Option<String>,
    next_msg_id: u64,
    store: Store,
    txns: TxnTable,
    bug: Option<Bug>,
    /// `Bug::StaleReadCache`: values served by earlier reads, never invalidated.
    read_cache: BTreeMap<String, Option<String>>,
    /// `Bug::SplitCommit`: the second half of a commit, applied after the next message.
    deferred_writes: Vec<KeyValue>,
    /// `Bug::HangAfter100Commits`: commits so far.
    commits: u64,
    /// Coverage marks hit by dispatch and commit (the table counts its expiries).
    marks: Marks,
}

impl Node {
    pub fn new(config: NodeConfig) -> Node {
        let outcome_ttl_us = planted_outcome_ttl_us(&config);
        Node {
            node_id: None,
            next_msg_id: 0,
            store: Store::default(),
            txns: TxnTable::new(config.txn_ttl_us, outcome_ttl_us),
            bug: config.bug,
            read_cache: BTreeMap::new(),
            deferred_writes: Vec::new(),
            commits: 0,
            marks: Marks::default(),
        }
    }

    /// A message arrived at virtual time `now_us`. Pushes at most one reply onto `outbox`.
    pub fn handle(&mut self, now_us: u64, envelope: Envelope, outbox: &mut Vec<Envelope>) {
        // Expiring here too makes the answers independent of how often the driver ticks.
        self.txns.expire(now_us);
        let Envelope { src, dest, body } = envelope;
        let Body { msg_id, payload, .. } = body;
        if self.planted_hang() {
            return;
        }
        // `Bug::SplitCommit`: the rest of the previous commit lands only after this message.
        let deferred = std::mem::take(&mut self.deferred_writes);
        let reply = self.answer(now_us, payload);
        self.planted_apply_deferred(deferred);
        let Some(reply) = reply else { return };
        // Reuse the request's `dest` as the reply's `src` when it already names this node
        // (the usual case): one allocation fewer per message on the hot path. Equivalent
        // mutants: in a world that routes by `dest`, every request names this node, so
        // the guard only saves an allocation.
        let from = match &self.node_id {
            Some(id) if *id != dest => id.clone(),
            _ => dest,
        };
        let envelope = Envelope {
            src: from,
            dest: src,
            body: Body { msg_id: Some(self.next_msg_id), in_reply_to: msg_id, payload: reply },
        };
        self.next_msg_id += 1;
        outbox.push(envelope);
    }

    /// Virtual time passed: forgets transactions and outcomes whose TTL ran out. Sends
    /// nothing today; it takes the outbox so that later timers (retries) need no API change.
    pub fn tick(&mut self, now_us: u64, _outbox: &mut Vec<Envelope>) {
        self.txns.expire(now_us);
    }

    /// The earliest virtual time at which [`Node::tick`] has work to do. It may be early
    /// (a transaction that committed still has its expiry queued), never late.
    ///
    /// Equivalent mutant: `None` (never tick). `handle` expires everything due before it
    /// answers, so answers do not depend on ticks; ticks only free memory sooner, and the
    /// memory bound is checked after steps, when `handle` has just expired.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.planted_tick_storm() {
            return Some(0);
        }
        self.txns.next_deadline()
    }

    /// How often each coverage mark was hit (see [`crate::marks`]).
    pub fn marks(&self) -> Marks {
        let mut marks = self.marks;
        marks.add(&self.txns.marks);
        marks
    }

    /// (open transactions, remembered outcomes, queued expiries): lets tests check that
    /// memory stays bounded.
    #[doc(hidden)]
    pub fn table_sizes(&self) -> (usize, usize, usize) {
        self.txns.sizes()
    }

    fn answer(&mut self, now_us: u64, payload: Payload) -> Option<Payload> {
        let reply = match payload {
            Payload::InitOk
            | Payload::OccBeginOk { .. }
            | Payload::OccReadOk { .. }
            | Payload::OccCommitOk { .. }
            | Payload::Error { .. } => return None,
            Payload::Malformed { type_name, .. } | Payload::Unknown { type_name }
                if is_reply_type(&type_name) =>
            {
                return None;
            }
            Payload::Unknown { type_name } => {
                let type_name = clip(&type_name);
                error(error_code::NOT_SUPPORTED, format!("unsupported message type `{type_name}`"))
            }
            Payload::Malformed { type_name, reason } => {
                error(error_code::MALFORMED_REQUEST, format!("malformed {type_name}: {reason}"))
            }
            Payload::Init { node_id, node_ids: _ } => self.init(node_id),
            _ if self.node_id.is_none() => error(
                error_code::TEMPORARILY_UNAVAILABLE,
                "node not initialised: send init first".to_owned(),
            ),
            Payload::OccBegin => self.begin(now_us),
            Payload::OccRead { txn_id, key } => self.read(now_us, txn_id, key),
            Payload::OccCommit { txn_id, writes, read_versions } => {
                self.commit(now_us, txn_id, writes, read_versions)
            }
        };
        Some(reply)
    }

    fn init(&mut self, node_id: String) -> Payload {
        match &self.node_id {
            // A repeated init (its reply was lost) is answered again.
            Some(current) if *current == node_id => Payload::InitOk,
            Some(current) => error(
                error_code::PRECONDITION_FAILED,
                format!("already initialised as `{}`, not `{}`", clip(current), clip(&node_id)),
            ),
            None => {
                self.node_id = Some(node_id);
                Payload::InitOk
            }
        }
    }

    fn begin(&mut self, now_us: u64) -> Payload {
        match self.txns.begin(now_us) {
            Some(n) => Payload::OccBeginOk { txn_id: own_id(n) },
            None => {
                error(error_code::TEMPORARILY_UNAVAILABLE, "transaction ids exhausted".to_owned())
            }
        }
    }

    /// Reads are always served: a read changes nothing, and whatever the transaction's
    /// state, its commit is validated. Only an open transaction records the read.
    fn read(&mut self, now_us: u64, txn_id: String, key: String) -> Payload {
        let (value, version) = self.store.read(&key);
        let mut value = value.map(str::to_owned);
        if self.planted(Bug::StaleReadCache) {
            value = self.planted_stale_read(&key, value);
        }
        let txn = TxnRef::of(&txn_id);
        match self.txns.open_mut(txn) {
            Some(open) => open.reads.push((key, version)),
            None => self.txns.reserve(now_us, txn),
        }
        Payload::OccReadOk { value, version }
    }

    fn commit(
        &mut self,
        now_us: u64,
        txn_id: String,
        writes: Vec<KeyValue>,
        read_versions: Vec<KeyVersion>,
    ) -> Payload {
        let txn = TxnRef::of(&txn_id);
        let recorded = match self.txns.lookup(txn) {
            Lookup::Finished(_) if self.planted(Bug::RevalidateRetry) => Default::default(),
            Lookup::Finished(outcome) => {
                self.marks.hit(Mark::OutcomeReplayed);
                return outcome.to_payload();
            }
            Lookup::Expired if self.planted(Bug::EarlyOutcomeExpiry) => Default::default(),
            Lookup::Expired => {
                self.marks.hit(Mark::CommitAfterExpiry);
                return error(
                    error_code::TXN_STATE_EXPIRED,
                    format!(
                        "state of transaction `{}` expired: it may or may not have committed",
                        clip(&txn_id)
                    ),
                );
            }
            Lookup::Open => self.txns.take_open(txn).map(|t| t.reads).unwrap_or_default(),
            Lookup::Unknown => {
                self.marks.hit(Mark::ForeignCommitValidated);
                Default::default()
            }
        };
        // Clients usually echo the reads the node recorded as `read_versions`; a pair
        // already checked need not be looked up twice. The search is skipped for long
        // `read_versions` so that a huge commit cannot make validation quadratic.
        // Equivalent mutant: the search only saves work (a pair checked twice gives the
        // same answer), so breaking it changes no answer; no sweep can see it.
        let echoed = |key: &str, version: u64| {
            read_versions.len() <= ECHO_SEARCH_MAX
                && read_versions.iter().any(|r| r.version == version && r.key == key)
        };
        self.coverage_recorded_reads(&read_versions, &recorded, echoed);
        let checks = read_versions
            .iter()
            .map(|r| (r.key.as_str(), r.version))
            .chain(recorded.iter().filter(|(k, v)| !echoed(k, *v)).map(|(k, v)| (k.as_str(), *v)));
        let outcome = match self.bug {
            None => {
                let conflicts = self.store.validate(checks);
                if conflicts.is_empty() {
                    Outcome::Committed(self.store.apply(writes))
                } else {
                    self.marks.hit(Mark::ReadSetConflict);
                    Outcome::Aborted(conflicts)
                }
            }
            Some(bug) => {
                let checks: Vec<(&str, u64)> = checks.collect();
                self.commit_with_bug(bug, &checks, writes)
            }
        };
        let reply = outcome.to_payload();
        self.txns.finish(now_us, txn, outcome);
        reply
    }
}

/// `read_versions` longer than this are not searched for echoes of recorded reads.
const ECHO_SEARCH_MAX: usize = 16;

/// The outcome TTL, or the one `Bug::EarlyOutcomeExpiry` gets wrong.
fn planted_outcome_ttl_us(config: &NodeConfig) -> u64 {
    match config.bug {
        Some(Bug::EarlyOutcomeExpiry) => 1_000,
        _ => config.outcome_ttl_us,
    }
}

/// The planted bugs' hooks outside commit, named `planted*` so that a mutation run can
/// leave them out: a mutant of code that only a planted bug runs says nothing of the store.
impl Node {
    /// Counts `Mark::RecordedReadChecked` when a short commit left a recorded read out
    /// (instrumentation only; named `coverage*` so that the mutation run leaves it out).
    fn coverage_recorded_reads(
        &mut self,
        read_versions: &[KeyVersion],
        recorded: &[(String, u64)],
        echoed: impl Fn(&str, u64) -> bool,
    ) {
        if read_versions.len() <= ECHO_SEARCH_MAX && recorded.iter().any(|(k, v)| !echoed(k, *v)) {
            self.marks.hit(Mark::RecordedReadChecked);
        }
    }

    fn planted(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }

    fn planted_hang(&self) -> bool {
        self.planted(Bug::HangAfter100Commits) && self.commits >= 100
    }

    fn planted_tick_storm(&self) -> bool {
        self.planted(Bug::TickStorm) && self.commits >= 100
    }

    fn planted_apply_deferred(&mut self, deferred: Vec<KeyValue>) {
        if !deferred.is_empty() {
            self.store.apply(deferred);
        }
    }

    fn planted_stale_read(&mut self, key: &str, value: Option<String>) -> Option<String> {
        self.read_cache.entry(key.to_owned()).or_insert(value).clone()
    }
}

impl Node {
    /// Validation and apply as each planted bug gets them wrong. Kept apart from the
    /// correct path above, which stays free of bug checks.
    fn commit_with_bug(
        &mut self,
        bug: Bug,
        checks: &[(&str, u64)],
        writes: Vec<KeyValue>,
    ) -> Outcome {
        let validate_all = |store: &Store| store.validate(checks.iter().copied());
        match bug {
            Bug::SkipValidation => Outcome::Committed(self.store.apply(writes)),
            Bug::ValidateWrittenKeysOnly => {
                let written = |key: &str| writes.iter().any(|w| w.key == key);
                let conflicts =
                    self.store.validate(checks.iter().copied().filter(|(key, _)| written(key)));
                if conflicts.is_empty() {
                    Outcome::Committed(self.store.apply(writes))
                } else {
                    Outcome::Aborted(conflicts)
                }
            }
            Bug::ApplyBeforeValidate => {
                // The versions are judged as they were, but the writes are already in.
                let conflicts = validate_all(&self.store);
                let versions = self.store.apply(writes);
                if conflicts.is_empty() {
                    Outcome::Committed(versions)
                } else {
                    Outcome::Aborted(conflicts)
                }
            }
            Bug::BumpPerWrite | Bug::NoBumpOnBlindWrite => {
                let conflicts = validate_all(&self.store);
                if !conflicts.is_empty() {
                    return Outcome::Aborted(conflicts);
                }
                let bump = if bug == Bug::BumpPerWrite { writes.len() as u64 } else { 1 };
                let read = |key: &str| checks.iter().any(|(k, _)| *k == key);
                let unbumped: Vec<String> = if bug == Bug::NoBumpOnBlindWrite {
                    writes.iter().filter(|w| !read(&w.key)).map(|w| w.key.clone()).collect()
                } else {
                    Vec::new()
                };
                Outcome::Committed(self.store.apply_buggy(writes, bump, &unbumped))
            }
            Bug::SplitCommit => {
                let conflicts = validate_all(&self.store);
                if !conflicts.is_empty() {
                    return Outcome::Aborted(conflicts);
                }
                // Claim the versions the whole commit will install, apply only the first key.
                let mut keys: Vec<&str> = writes.iter().map(|w| w.key.as_str()).collect();
                keys.sort_unstable();
                keys.dedup();
                let claimed: Vec<KeyVersion> = keys
                    .iter()
                    .map(|key| KeyVersion {
                        key: (*key).to_owned(),
                        version: self.store.version(key) + 1,
                    })
                    .collect();
                let first = keys.first().map(|k| (*k).to_owned());
                let (now, later): (Vec<KeyValue>, Vec<KeyValue>) =
                    writes.into_iter().partition(|w| Some(&w.key) == first.as_ref());
                self.store.apply(now);
                self.deferred_writes = later;
                Outcome::Committed(claimed)
            }
            Bug::PanicOnConflict => {
                let conflicts = validate_all(&self.store);
                let first = conflicts.first().map(|c| c.key.clone());
                assert!(first.is_none(), "planted bug: commit conflicts on {first:?}");
                Outcome::Committed(self.store.apply(writes))
            }
            // These bugs live in lookup, reads, dispatch or timers; validation and apply
            // are correct.
            Bug::RevalidateRetry
            | Bug::EarlyOutcomeExpiry
            | Bug::StaleReadCache
            | Bug::HangAfter100Commits
            | Bug::TickStorm => {
                self.commits += 1;
                let conflicts = validate_all(&self.store);
                if conflicts.is_empty() {
                    Outcome::Committed(self.store.apply(writes))
                } else {
                    Outcome::Aborted(conflicts)
                }
            }
        }
    }
}

fn error(code: u32, text: String) -> Payload {
    Payload::Error { code, text }
}

/// `format!("t{n}")` without the formatting machinery (dynamic dispatch per piece), once
/// per `occ_begin`.
fn own_id(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut id = String::with_capacity(1 + digits.len() - start);
    id.push('t');
    for &digit in &digits[start..] {
        id.push(char::from(digit));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Conflict;

    /// A node fed from client `c1`, answering with payloads only (envelopes are checked in
    /// `replies_are_addressed_and_numbered`).
    struct Harness {
        node: Node,
        msg_id: u64,
    }

    impl Harness {
        fn new(config: NodeConfig) -> Harness {
            let mut h = Harness { node: Node::new(config), msg_id: 0 };
            let init = Payload::Init { node_id: "n1".to_owned(), node_ids: vec!["n1".to_owned()] };
            assert_eq!(h.send(0, init), Some(Payload::InitOk));
            h
        }

        fn send(&mut self, now_us: u64, payload: Payload) -> Option<Payload> {
            self.msg_id += 1;
            let body = Body { msg_id: Some(self.msg_id), in_reply_to: None, payload };
            let mut outbox = Vec::new();
            let envelope = Envelope { src: "c1".to_owned(), dest: "n1".to_owned(), body };
            self.node.handle(now_us, envelope, &mut outbox);
            assert!(outbox.len() <= 1, "more than one reply: {outbox:?}");
            outbox.pop().map(|e| e.body.payload)
        }

        /// Sends `payload` and expects exactly `expect` back.
        fn check(&mut self, now_us: u64, payload: Payload, expect: Payload) {
            let what = format!("{payload:?}");
            assert_eq!(self.send(now_us, payload), Some(expect), "reply to {what}");
        }
    }

    fn begin() -> Payload {
        Payload::OccBegin
    }
    fn begun(txn_id: &str) -> Payload {
        Payload::OccBeginOk { txn_id: txn_id.to_owned() }
    }
    fn read(txn_id: &str, key: &str) -> Payload {
        Payload::OccRead { txn_id: txn_id.to_owned(), key: key.to_owned() }
    }
    fn value(value: Option<&str>, version: u64) -> Payload {
        Payload::OccReadOk { value: value.map(str::to_owned), version }
    }
    fn commit(txn_id: &str, writes: &[(&str, &str)], reads: &[(&str, u64)]) -> Payload {
        Payload::OccCommit {
            txn_id: txn_id.to_owned(),
            writes: writes
                .iter()
                .map(|(k, v)| KeyValue { key: (*k).to_owned(), value: (*v).to_owned() })
                .collect(),
            read_versions: reads
                .iter()
                .map(|(k, v)| KeyVersion { key: (*k).to_owned(), version: *v })
                .collect(),
        }
    }
    fn committed(versions: &[(&str, u64)]) -> Payload {
        Outcome::Committed(
            versions
                .iter()
                .map(|(k, v)| KeyVersion { key: (*k).to_owned(), version: *v })
                .collect(),
        )
        .to_payload()
    }
    fn aborted(conflicts: &[(&str, u64, u64)]) -> Payload {
        Outcome::Aborted(
            conflicts
                .iter()
                .map(|(k, e, a)| Conflict { key: (*k).to_owned(), expected: *e, actual: *a })
                .collect(),
        )
        .to_payload()
    }
    fn error_code_of(reply: Option<Payload>) -> u32 {
        match reply {
            Some(Payload::Error { code, .. }) => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn own_ids_are_formatted_like_format() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX - 1, u64::MAX] {
            assert_eq!(own_id(n), format!("t{n}"));
        }
    }

    #[test]
    fn replies_are_addressed_and_numbered() {
        let mut node = Node::new(NodeConfig::default());
        let mut outbox = Vec::new();
        let send = |node: &mut Node, outbox: &mut Vec<Envelope>, src: &str, id, payload| {
            let body = Body { msg_id: Some(id), in_reply_to: None, payload };
            node.handle(0, Envelope { src: src.into(), dest: "n1".into(), body }, outbox);
        };
        let init = Payload::Init { node_id: "n1".into(), node_ids: vec!["n1".into()] };
        send(&mut node, &mut outbox, "c0", 1, init);
        send(&mut node, &mut outbox, "c7", 40, begin());
        let got: Vec<_> = outbox
            .iter()
            .map(|e| (e.src.as_str(), e.dest.as_str(), e.body.msg_id, e.body.in_reply_to))
            .collect();
        assert_eq!(got, [("n1", "c0", Some(0), Some(1)), ("n1", "c7", Some(1), Some(40))]);
    }

    #[test]
    fn a_commit_with_current_versions_bumps_each_written_key() {
        let mut h = Harness::new(NodeConfig::default());
        h.check(0, begin(), begun("t1"));
        h.check(0, commit("t1", &[("x", "1")], &[]), committed(&[("x", 1)]));
        h.check(0, begin(), begun("t2"));
        h.check(0, read("t2", "x"), value(Some("1"), 1));
        h.check(0, read("t2", "y"), value(None, 0));
        h.check(
            0,
            commit("t2", &[("y", "a"), ("x", "2"), ("y", "b")], &[("x", 1), ("y", 0)]),
            committed(&[("x", 2), ("y", 1)]),
        );
        h.check(0, begin(), begun("t3"));
        h.check(0, read("t3", "y"), value(Some("b"), 1));
    }

    #[test]
    fn new_version_is_the_largest_and_absent_for_read_only_commits() {
        let mut h = Harness::new(NodeConfig::default());
        h.check(0, commit("t1", &[("x", "1")], &[]), committed(&[("x", 1)]));
        match h.send(0, commit("t2", &[("x", "2"), ("y", "1")], &[])) {
            Some(Payload::OccCommitOk { committed: true, new_version, .. }) => {
                assert_eq!(new_version, Some(2));
            }
            other => panic!("unexpected {other:?}"),
        }
        match h.send(0, commit("t3", &[], &[("x", 2)])) {
            Some(Payload::OccCommitOk { committed: true, new_version, versions, .. }) => {
                assert_eq!((new_version, versions), (None, vec![]));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_stale_recorded_read_aborts_even_if_the_client_omits_it() {
        let mut h = Harness::new(NodeConfig::default());
        h.check(0, begin(), begun("t1"));
        h.check(0, read("t1", "x"), value(None, 0));
        h.check(0, commit("t2", &[("x", "other")], &[]), committed(&[("x", 1)]));
        // A read-only commit validates too, and without read_versions the node's own
        // record of the read is what catches the conflict.
        h.check(0, commit("t1", &[], &[]), aborted(&[("x", 0, 1)]));
        h.check(0, begin(), begun("t3"));
        h.check(0, commit("t3", &[("y", "1")], &[("x", 0), ("z", 0)]), aborted(&[("x", 0, 1)]));
        h.check(0, read("t3", "y"), value(None, 0));
    }

    #[test]
    fn a_retried_commit_gets_the_first_answer_even_if_the_world_changed() {
        let mut h = Harness::new(NodeConfig::default());
        h.check(0, begin(), begun("t1"));
        h.check(0, commit("t1", &[("x", "1")], &[("x", 0)]), committed(&[("x", 1)]));
        // The retry's read_versions are now stale, but it must not be re-validated.
        h.check(0, commit("t1", &[("x", "1")], &[("x", 0)]), committed(&[("x", 1)]));
        h.check(0, read("r", "x"), value(Some("1"), 1));
        h.check(0, commit("t2", &[("x", "2")], &[("x", 0)]), aborted(&[("x", 0, 1)]));
        h.check(0, commit("tA", &[("x", "3")], &[]), committed(&[("x", 2)]));
        // A retried abort stays an abort, even with read_versions that are current now.
        h.check(0, commit("t2", &[("x", "2")], &[("x", 2)]), aborted(&[("x", 0, 1)]));
        h.check(0, commit("tA", &[("x", "3")], &[]), committed(&[("x", 2)]));
    }

    #[test]
    fn begin_never_issues_an_id_a_client_already_used() {
        let mut h = Harness::new(NodeConfig::default());
        h.check(0, commit("t1", &[("x", "1")], &[]), committed(&[("x", 1)]));
        h.check(0, read("t3", "x"), value(Some("1"), 1));
        h.check(0, begin(), begun("t2"));
        h.check(0, begin(), begun("t4"));
        // Foreign forms are outside the node's numbering.
        h.check(0, commit("t0", &[], &[]), committed(&[]));
        h.check(0, commit("t07", &[], &[]), committed(&[]));
        h.check(0, begin(), begun("t5"));
        // The client's t1 still gets its own answer, not a new transaction's.
        h.check(0, commit("t1", &[("x", "1")], &[]), committed(&[("x", 1)]));
    }

    #[test]
    fn no_client_id_exhausts_or_moves_the_id_counter() {
        let mut h = Harness::new(NodeConfig::default());
        for top in ["t18446744073709551615", "t18446744073709551614"] {
            h.check(0, read(top, "x"), value(None, 0));
            h.check(0, commit(top, &[], &[("x", 0)]), committed(&[]));
        }
        h.check(0, commit("t1000000", &[], &[]), committed(&[]));
        h.check(0, begin(), begun("t1"));
        h.check(0, begin(), begun("t2"));
        // The client's own ids are still idempotent while remembered.
        h.check(0, commit("t18446744073709551615", &[], &[("x", 5)]), committed(&[]));
    }

    #[test]
    fn a_reservation_lasts_as_long_as_the_state_it_stands_for() {
        let config = NodeConfig { txn_ttl_us: 100, outcome_ttl_us: 1000, bug: None };
        let mut h = Harness::new(config);
        h.check(0, read("t1", "x"), value(None, 0));
        h.check(0, commit("t2", &[("x", "1")], &[]), committed(&[("x", 1)]));
        assert_eq!(h.node.table_sizes(), (1, 1, 2), "the reservation of t1, the outcome of t2");
        // A read reserves for the open-transaction TTL: then t1 is free to issue, t2 not yet.
        h.node.tick(100, &mut Vec::new());
        h.check(100, begin(), begun("t1"));
        // Past the outcome TTL the counter never reached t2: a late retry is validated
        // again (the TTL is the retry window, as for foreign ids), and t2 may be issued.
        h.node.tick(1000, &mut Vec::new());
        h.check(1000, commit("t2", &[("x", "2")], &[("x", 0)]), aborted(&[("x", 0, 1)]));
        h.node.tick(3000, &mut Vec::new());
        h.check(3000, begin(), begun("t2"));
        h.node.tick(4000, &mut Vec::new());
        assert_eq!(h.node.table_sizes(), (0, 0, 0));
    }

    #[test]
    fn expired_state_answers_an_indefinite_error() {
        let config = NodeConfig { txn_ttl_us: 100, outcome_ttl_us: 1000, bug: None };
        let mut h = Harness::new(config);
        h.check(0, begin(), begun("t1"));
        h.check(10, begin(), begun("t2"));
        assert_eq!(h.node.next_deadline(), Some(100));
        h.check(50, commit("t2", &[("x", "1")], &[]), committed(&[("x", 1)]));
        // t1 was abandoned: at its deadline its state is gone.
        let expired = h.send(100, commit("t1", &[("y", "1")], &[]));
        assert_eq!(error_code_of(expired), error_code::TXN_STATE_EXPIRED);
        assert!(error_code::is_indefinite(error_code::TXN_STATE_EXPIRED));
        // t2's outcome is remembered until 50 + 1000.
        h.check(1049, commit("t2", &[("x", "1")], &[]), committed(&[("x", 1)]));
        let forgotten = h.send(1050, commit("t2", &[("x", "1")], &[]));
        assert_eq!(error_code_of(forgotten), error_code::TXN_STATE_EXPIRED);
        // Nothing was re-applied: x is still at version 1. Reads are served regardless.
        h.check(1050, read("t2", "x"), value(Some("1"), 1));
    }

    #[test]
    fn tick_and_next_deadline_bound_memory() {
        let config = NodeConfig { txn_ttl_us: 100, outcome_ttl_us: 200, bug: None };
        let mut h = Harness::new(config);
        for i in 0..1000 {
            h.send(i, begin());
            h.send(i, commit(&format!("t{}", i / 2 + 1), &[("k", "v")], &[]));
            h.send(i, commit(&format!("foreign{i}"), &[], &[]));
        }
        let (open, outcomes, queued) = h.node.table_sizes();
        assert!(
            open <= 100 && outcomes <= 2 * 200 && queued <= 3 * 200 + 100,
            "{open} {outcomes} {queued}"
        );
        let deadline = h.node.next_deadline().expect("state is pending");
        h.node.tick(10_000, &mut Vec::new());
        assert_eq!(h.node.table_sizes(), (0, 0, 0));
        assert!(deadline <= 1100, "deadline {deadline}");
        assert_eq!(h.node.next_deadline(), None);
    }

    #[test]
    fn deadlines_stay_ordered_when_now_goes_backwards() {
        let mut h = Harness::new(NodeConfig { txn_ttl_us: 100, outcome_ttl_us: 100, bug: None });
        h.check(500, begin(), begun("t1"));
        h.check(0, begin(), begun("t2"));
        // t2's deadline was clamped up to t1's, so one tick at 600 clears both.
        h.node.tick(600, &mut Vec::new());
        assert_eq!(h.node.table_sizes(), (0, 0, 0));
    }

    #[test]
    fn requests_before_init_are_refused_and_replies_are_ignored() {
        let mut node = Node::new(NodeConfig::default());
        let mut outbox = Vec::new();
        let body = Body { msg_id: Some(1), in_reply_to: None, payload: begin() };
        node.handle(0, Envelope { src: "c1".into(), dest: "n1".into(), body }, &mut outbox);
        let reply = outbox.pop().expect("a reply");
        assert_eq!(reply.src, "n1", "answers as the address it was sent to");
        assert_eq!(error_code_of(Some(reply.body.payload)), error_code::TEMPORARILY_UNAVAILABLE);

        let mut h = Harness::new(NodeConfig::default());
        for reply in [
            Payload::InitOk,
            begun("t1"),
            value(None, 0),
            committed(&[]),
            Payload::Error { code: 1, text: String::new() },
            Payload::Malformed { type_name: "occ_read_ok".into(), reason: "x".into() },
            Payload::Unknown { type_name: "foo_ok".into() },
        ] {
            assert_eq!(h.send(0, reply.clone()), None, "{reply:?} got an answer");
        }
    }

    #[test]
    fn bad_requests_get_10_or_12_and_a_second_init_is_checked() {
        let mut h = Harness::new(NodeConfig::default());
        let unknown = h.send(0, Payload::Unknown { type_name: "frob".into() });
        assert_eq!(error_code_of(unknown), error_code::NOT_SUPPORTED);
        let reason = "missing field `txn_id`".to_owned();
        match h.send(0, Payload::Malformed { type_name: "occ_read".into(), reason }) {
            Some(Payload::Error { code, text }) => {
                assert_eq!(code, error_code::MALFORMED_REQUEST);
                assert!(text.contains("`txn_id`"), "{text}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let same = Payload::Init { node_id: "n1".into(), node_ids: vec![] };
        h.check(0, same, Payload::InitOk);
        let other = h.send(0, Payload::Init { node_id: "n2".into(), node_ids: vec![] });
        assert_eq!(error_code_of(other), error_code::PRECONDITION_FAILED);
    }
}
