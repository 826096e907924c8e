//! The state machine: one input in, outputs out (see [`crate::io`] for the contract).
//!
//! Dispatch order for a message: expire state due by `now`; answer no reply (a node never
//! answers a reply or error, which could ping-pong forever between nodes; in a cluster a
//! member's reply to this node's own request moves its work on); answer unknown
//! types with 10 and malformed ones with 12; answer anything but `init` with 11 until the
//! node is initialised; otherwise serve it. A change to durable state appends its record
//! before the reply is produced, and a logging node holds every reply until the records
//! before it are synced.
//!
//! The node's state comes in three kinds, kept in three structs so that the code says
//! which is which: [`Durable`] (what the log rebuilds after a crash), [`Volatile`] (what a
//! crash loses) and [`Planted`] (what only the planted bugs use). The cluster's two halves,
//! `coordinator` and `participant`, are `impl Node` blocks over the same state.

mod coordinator;
mod participant;
#[cfg(test)]
mod twopc_tests;

pub use coordinator::{PREPARE_TIMEOUT_US, RESEND_US};

use std::collections::{BTreeMap, VecDeque};

use crate::bugs::Bug;
use crate::clip::clip;
use crate::io::{Input, Output};
use crate::marks::{Mark, Marks};
use crate::outcomes::{Outcome, Outcomes, TxnKey, TxnRef};
use crate::protocol::{error_code, is_reply_type, Body, Envelope, KeyValue, KeyVersion, Payload};
use crate::shard::ShardMap;
use crate::storage::Recovered;
use crate::store::{normalize, Store};
use crate::txns::{Lookup, OpenTxns};
use crate::wal::{self, Logged, Record};

use coordinator::{Coordinating, Decision, Forward};
use participant::{Participant, Vote};

/// How long the node remembers transactions, in virtual microseconds, and whether it
/// keeps a log.
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
    /// `Some`: every change is a log record, and replies wait for their records' sync (see
    /// [`crate::io`]). `None` (the default): state lives in memory only and replies leave
    /// at once; a restart starts empty.
    pub log: Option<LogConfig>,
    /// How long a participant waits for a decision before it asks the coordinator, and
    /// then between asks. Default [`participant::QUERY_AFTER_US`] (100 ms); any value is
    /// correct (an ask only asks), and a simulator's shrinker shortens it so that a
    /// doubt shows after fewer transactions.
    pub query_after_us: u64,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            txn_ttl_us: 10_000_000,
            outcome_ttl_us: 60_000_000,
            bug: None,
            log: None,
            query_after_us: participant::QUERY_AFTER_US,
        }
    }
}

/// How a logging node bounds its log.
///
/// **Snapshot policy.** Once the records since the last snapshot add up to
/// `snapshot_min_bytes`, or to the size of the last snapshot if that is larger, the node
/// appends a snapshot record: its whole durable state. Then it cuts the log's head off
/// (`Output::Compact`) up to the newest *durable* snapshot before the new one, so the log
/// keeps at least one durable snapshot and everything after it: if the new snapshot is
/// torn by a crash, the one before it and the records after it still rebuild the state.
/// The log thus holds at most about two snapshot intervals and two snapshots: O(state +
/// `snapshot_min_bytes`), and each byte of state is rewritten at most once per byte of
/// records (the interval grows with the snapshot).
///
/// A snapshot is written in chunks of at most `snapshot_chunk_bytes` (one frame each,
/// see [`crate::wal`]), so a state of any size can be logged: no frame comes near the
/// log's per-record maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub snapshot_min_bytes: u64,
    pub snapshot_chunk_bytes: u64,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { snapshot_min_bytes: 1 << 20, snapshot_chunk_bytes: 1 << 20 }
    }
}

/// Ids one `Ids` record lets `begin` issue: one record (and one sync a begin waits for)
/// per this many begins. A restart skips what is left of the block.
pub const IDS_PER_RECORD: u64 = 1024;

/// The size of every table of a node's state that grows with requests
/// ([`Node::table_sizes`]), each with the bound the node's TTLs imply, which the
/// simulator's `memory-bound` rule checks after every step (`sim::world::conformance`).
/// "Within the TTL" counts requests delivered to this node within that time before now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableSizes {
    /// Open transactions: at most the begins within the transaction TTL.
    pub open_txns: usize,
    /// Their expiry queue: one entry per begin within the transaction TTL.
    pub open_expiries: usize,
    /// Own-form ids reserved for a client that read under one not yet issued: at most the
    /// reads within the transaction TTL.
    pub reserved_ids: usize,
    /// Their expiry queue: one entry per such read within the transaction TTL.
    pub reserved_expiries: usize,
    /// Remembered commit outcomes: at most the commits (and, in a cluster, `txn_query`s,
    /// whose presumed abort may be recorded) within the outcome TTL plus the prepare
    /// timeout (a coordinator records an outcome when it decides).
    pub outcomes: usize,
    /// Their expiry queue: one entry per outcome recorded within the same window.
    pub outcome_expiries: usize,
    /// Cluster, participant: how each transaction prepared here ended, kept for the
    /// outcome TTL after its decision arrived. At most the decisions that could have
    /// arrived within it: `txn_decide`s and `txn_query_ok`s, a client's commits (this
    /// node, their coordinator, decides its own part within the prepare timeout) and the
    /// transactions in doubt a restart restored (it resolves its own at once).
    pub resolved: usize,
    /// Their expiry queue: one entry per resolution within the same window.
    pub resolved_expiries: usize,
    /// Cluster, participant: transactions prepared here, not yet decided. No TTL bounds
    /// them: a reservation ends only by its decision, which a partition may hold back
    /// as long as it lasts. They are bounded by liveness (after the heal the final read
    /// waits until every node holds none, see [`Node::unresolved`]), and by what was
    /// prepared since the table was last empty.
    pub prepared: usize,
    /// Cluster, participant: keys reserved by prepared transactions: none without one,
    /// and at most `limits::COMMIT_ITEMS_MAX` per transaction.
    pub reservations: usize,
    /// Cluster, coordinator: commits collecting votes or waiting for an owner's answer:
    /// each ends by the prepare timeout, so at most the commits within it (twice it: the
    /// tick that ends one may come after other steps of the same instant).
    pub in_flight: usize,
    /// Cluster, coordinator: reads and one-phase commits forwarded to their owner,
    /// awaiting the answer: a read's until the transaction TTL, a commit's until its
    /// prepare timeout, resent every `RESEND_US` meanwhile (one entry per send).
    pub forwards: usize,
    /// Cluster, coordinator: commit decisions not yet acknowledged by every participant.
    /// No TTL bounds them: a decision is kept until every participant applied it, which
    /// a long isolation may delay past any TTL. Bounded like `prepared`: by liveness, and
    /// by the commits since the table was last empty.
    pub decisions: usize,
}

/// An OCC key-value node. Feed it [`Input`]s with [`Node::step`]; it pushes [`Output`]s.
#[derive(Clone, Debug)]
pub struct Node {
    config: NodeConfig,
    durable: Durable,
    volatile: Volatile,
    planted: Planted,
    /// Coverage marks hit by dispatch, commit and recovery (the tables count expiries).
    marks: Marks,
}

/// What the log rebuilds after a crash: every change to it is a record.
#[derive(Clone, Debug)]
struct Durable {
    store: Store,
    outcomes: Outcomes,
    /// `begin` may issue ids up to this one: an `Ids` record said so first.
    ids_up_to: u64,
    /// In a cluster: what this node prepared as a participant (and the reservations that
    /// holds), and the commit decisions it made as a coordinator that not every
    /// participant has acknowledged yet.
    participant: Participant,
    decisions: BTreeMap<String, Decision>,
}

impl Durable {
    /// Two-phase commit's rules of persist-before-send, checked where a message leaves
    /// (not for what a planted bug sends early, which breaks them on purpose).
    fn assert_durable_before_send(&self, envelope: &Envelope, waits_for: u64, synced_lsn: u64) {
        let payload = &envelope.body.payload;
        participant::assert_vote_durable(&self.participant, payload, waits_for, synced_lsn);
        coordinator::assert_decision_durable(&self.decisions, payload, waits_for, synced_lsn);
    }
}

/// What a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    /// `None` until `init`; a restarted node is initialised again.
    node_id: Option<String>,
    next_msg_id: u64,
    txns: OpenTxns,
    /// The log's cursor, for a logging node.
    log: Option<LogCursor>,
    /// The first id this incarnation could issue: an outcome of a smaller own id came
    /// from before the last restart.
    first_id_since_restart: u64,
    /// Who owns which key: set by `init` (one node until then).
    shards: ShardMap,
    /// Reads and commits this node is carrying out on other nodes.
    coordinating: Coordinating,
}

/// Where the log stands, and the replies waiting for it.
#[derive(Clone, Debug, Default)]
struct LogCursor {
    appended_lsn: u64,
    synced_lsn: u64,
    /// Bytes in the log (from its current head), its header included.
    len: u64,
    /// Who owns the log, as its header says: `None` until the log is created (at the
    /// first `init`).
    identity: Option<wal::Identity>,
    /// `(offset, first lsn, lsn)` of the snapshots the log still holds (where the first
    /// of its frames is, that frame's LSN and the last's), oldest first.
    snapshots: VecDeque<(u64, u64, u64)>,
    since_snapshot_bytes: u64,
    last_snapshot_bytes: u64,
    /// Replies produced while records were unsynced: `(lsn they wait for, reply)`.
    held: VecDeque<(u64, Envelope)>,
}

impl LogCursor {
    /// Where the log stands after recovery: everything read, `lsn` the last record, is
    /// durable; `log_len` bytes, owned by `identity`, holding `snapshots` (oldest first).
    fn recovered(
        &mut self,
        lsn: u64,
        log_len: u64,
        identity: Option<wal::Identity>,
        snapshots: &[crate::storage::SnapshotAt],
    ) {
        self.appended_lsn = lsn;
        self.synced_lsn = lsn;
        self.len = log_len;
        self.identity = identity;
        self.snapshots = snapshots.iter().map(|s| (s.offset, s.first_lsn, s.lsn)).collect();
        match snapshots.last() {
            Some(&crate::storage::SnapshotAt { offset, len, lsn: snapshot_lsn, .. }) => {
                assert!(snapshot_lsn <= lsn, "snapshot at LSN {snapshot_lsn} past the log's {lsn}");
                assert!(offset + len <= log_len, "a snapshot past the log's {log_len} bytes");
                self.last_snapshot_bytes = len;
                self.since_snapshot_bytes = log_len - (offset + len);
            }
            None => self.since_snapshot_bytes = log_len,
        }
    }
}

/// State only the planted bugs use.
#[derive(Clone, Debug, Default)]
struct Planted {
    /// `Bug::StaleReadCache`: values served by earlier reads, never invalidated.
    read_cache: BTreeMap<String, Option<String>>,
    /// `Bug::SplitCommit`: the second half of a commit, applied after the next message.
    deferred_writes: Vec<KeyValue>,
    /// `Bug::HangAfter100Commits` and `Bug::TickStorm`: commits so far.
    commits: u64,
    /// `Bug::StaleNonOwnerRead`: other nodes' keys as this node last relayed them.
    foreign_copies: BTreeMap<String, (Option<String>, u64)>,
}

impl Node {
    /// A node with nothing in it: in memory, or with an empty log.
    pub fn new(config: NodeConfig) -> Node {
        let outcome_ttl_us = planted_outcome_ttl_us(&config);
        Node {
            durable: Durable {
                store: Store::default(),
                outcomes: Outcomes::new(outcome_ttl_us),
                ids_up_to: 0,
                participant: Participant::new(outcome_ttl_us),
                decisions: BTreeMap::new(),
            },
            volatile: Volatile {
                node_id: None,
                next_msg_id: 0,
                txns: OpenTxns::new(config.txn_ttl_us, 1),
                log: config.log.map(|_| LogCursor::default()),
                first_id_since_restart: 1,
                shards: ShardMap::new("", &[]),
                coordinating: Coordinating::default(),
            },
            planted: Planted::default(),
            marks: Marks::default(),
            config,
        }
    }

    /// A logging node rebuilt at `now_us` from what [`crate::storage::recover`] found in
    /// its log: the last snapshot in it that decodes (or the log's start), then every
    /// record after that snapshot, each applied once (by LSN). Outcomes already past their deadline are not restored.
    /// Nothing volatile survives: no transaction is open, no reply is held, and the node
    /// waits for `init` again.
    pub fn recover(config: NodeConfig, recovered: Recovered, now_us: u64) -> Node {
        assert!(config.log.is_some(), "only a logging node has a log to recover from");
        let mut node = Node::new(config);
        let Recovered {
            records,
            snapshots,
            first_lsn,
            log_len,
            discarded_bytes,
            repaired_reads,
            header,
            ..
        } = recovered;
        node.coverage_recovery(discarded_bytes, repaired_reads);
        let last_lsn = records.last().map(|(_, r)| r.lsn);
        // A log without a snapshot holds every record from the first its header names
        // (LSN 1, unless `--repair` kept only a header, or a planted bug cut a snapshot).
        let first_after_header = header.as_ref().map_or(1, |h| h.first_lsn);
        assert!(
            !snapshots.is_empty() || first_lsn.is_none_or(|lsn| lsn == first_after_header),
            "a log without a snapshot must start at LSN {first_after_header}, not {first_lsn:?}"
        );
        node.rebuild(records, !snapshots.is_empty(), now_us);
        // What recovery read is on the disk: durable. A log of a header alone goes on at
        // the LSN its header names.
        let lsn = last_lsn.unwrap_or(first_after_header.saturating_sub(1));
        let cursor = node.volatile.log.as_mut().expect("a logging node");
        cursor.recovered(lsn, log_len, header.map(|h| h.identity), &snapshots);
        node.restart_ids();
        node
    }

    /// The durable state rebuilt from recovery's records: the snapshot they start with
    /// (`from_snapshot`), then every record after it, each once.
    fn rebuild(&mut self, records: Vec<(u64, Logged)>, from_snapshot: bool, now_us: u64) {
        let exact = self.config.bug.is_none();
        let mut records = records.into_iter();
        // The first record is the snapshot to start from, when there is one
        // (`Bug::ReplayTwice`: the first snapshot, with what follows it replayed on top of
        // the last).
        let mut replay: Vec<Logged> = Vec::new();
        if from_snapshot {
            let (_, first) = records.next().expect("recovery decodes from a snapshot");
            replay.push(first);
        }
        replay.extend(records.map(|(_, r)| r));
        let start = replay.iter().rposition(|r| matches!(r.record, Record::Snapshot(_)));
        if let Some(i) = start {
            if let Record::Snapshot(snapshot) = std::mem::take(&mut replay[i].record) {
                self.restore(snapshot, now_us);
            }
            self.marks.hit(Mark::RecoveredFromSnapshot);
        }
        for (i, logged) in replay.into_iter().enumerate() {
            if Some(i) != start && !matches!(logged.record, Record::Snapshot(_)) {
                self.replay(logged, exact, now_us);
            }
        }
    }

    /// After a restart, `begin` goes on above the durable high-water mark: no id a
    /// reply named before the crash is issued again, and an outcome of a smaller own id
    /// comes from an earlier life.
    fn restart_ids(&mut self) {
        let next_txn = match self.config.bug {
            Some(Bug::IdsResetOnRestart) => self.planted_last_logged_id() + 1,
            _ => self.durable.ids_up_to + 1,
        };
        self.durable.ids_up_to = self.durable.ids_up_to.max(next_txn - 1);
        self.volatile.txns = OpenTxns::new(self.config.txn_ttl_us, next_txn);
        self.volatile.first_id_since_restart = next_txn;
    }

    /// The durable state a snapshot describes (outcomes past their deadline at `now_us`
    /// left out).
    fn restore(&mut self, snapshot: wal::Snapshot, now_us: u64) {
        let wal::Snapshot { ids_up_to, keys, outcomes, prepared, decisions, participated } =
            snapshot;
        self.durable.participant = Participant::new(planted_outcome_ttl_us(&self.config));
        for (txn_id, p) in prepared {
            self.restore_prepared(&txn_id, p);
        }
        for (txn, outcome, deadline_us) in participated {
            if deadline_us > now_us {
                self.durable.participant.outcomes.insert(txn.as_ref(), outcome, deadline_us);
            }
        }
        self.durable.decisions = decisions
            .into_iter()
            .filter(|_| !self.planted(Bug::ForgetDecisionOnRestart))
            .map(|(txn_id, waiting)| (txn_id, Decision::recovered(waiting.into_iter().collect())))
            .collect();
        self.durable.store = Store::restore(keys);
        self.durable.ids_up_to = ids_up_to;
        self.durable.outcomes = Outcomes::new(planted_outcome_ttl_us(&self.config));
        if !self.planted(Bug::VolatileOutcomes) {
            for (txn, outcome, deadline_us) in outcomes {
                if deadline_us > now_us {
                    self.durable.outcomes.insert(txn.as_ref(), outcome, deadline_us);
                }
            }
        }
    }

    /// Applies one logged record to the durable state. `exact`: assert that each write
    /// bumps its key by one (false for planted bugs, whose records may say otherwise).
    fn replay(&mut self, logged: Logged, exact: bool, now_us: u64) {
        match logged.record {
            Record::Commit(commit) => {
                let wal::CommitRecord { txn, deadline_us, outcome, values } = commit;
                if let Outcome::Committed(versions) = &outcome {
                    for (v, value) in versions.iter().zip(values) {
                        if self.planted(Bug::ReplayTwice) {
                            let write = KeyValue { key: v.key.clone(), value };
                            self.durable.store.apply(vec![write]);
                        } else {
                            self.durable.store.install(&v.key, value, v.version, exact);
                        }
                    }
                }
                if !self.planted(Bug::VolatileOutcomes) && deadline_us > now_us {
                    self.durable.outcomes.insert(txn.as_ref(), outcome, deadline_us);
                }
            }
            Record::Ids { up_to } => self.durable.ids_up_to = self.durable.ids_up_to.max(up_to),
            // Only the snapshot recovery starts from is applied (by `restore`).
            Record::Snapshot(_) => {}
            Record::Prepared { txn_id, prepared } => self.restore_prepared(&txn_id, prepared),
            Record::Resolved { txn_id, committed, deadline_us } => {
                self.replay_resolved(now_us, &txn_id, committed, deadline_us)
            }
            Record::Decided { .. } if self.planted(Bug::ForgetDecisionOnRestart) => {}
            Record::Decided { txn, txn_id, participants, versions, deadline_us } => {
                if deadline_us > now_us {
                    let outcome = Outcome::Committed(versions);
                    self.durable.outcomes.insert(txn.as_ref(), outcome, deadline_us);
                }
                let decision = Decision::recovered(participants.into_iter().collect());
                self.durable.decisions.insert(txn_id, decision);
            }
            Record::Outcome { txn, deadline_us, outcome } => {
                if deadline_us > now_us {
                    self.durable.outcomes.insert(txn.as_ref(), outcome, deadline_us);
                }
            }
            Record::Forgotten { txn_id } => {
                self.durable.decisions.remove(&txn_id);
            }
        }
    }

    /// Feeds one input; pushes what the driver must do onto `out` (see [`crate::io`]).
    pub fn step(&mut self, now_us: u64, input: Input, out: &mut Vec<Output>) {
        // Whatever the input, state past its time goes first: answers then do not depend
        // on how often the driver ticks, and no table holds more than its TTLs allow
        // after any step.
        self.expire(now_us);
        match input {
            Input::Message(envelope) => self.handle(now_us, envelope, out),
            Input::Tick if self.volatile.shards.is_cluster() => {
                self.cluster_tick(now_us, out);
                self.maybe_snapshot(out);
            }
            Input::Tick => {}
            Input::Synced { lsn } => self.synced(lsn, out),
        }
    }

    fn expire(&mut self, now_us: u64) {
        self.volatile.txns.expire(now_us);
        self.durable.outcomes.expire(now_us);
        self.durable.participant.outcomes.expire(now_us);
    }

    /// A message arrived at virtual time `now_us`: at most one reply, now or once synced.
    fn handle(&mut self, now_us: u64, envelope: Envelope, out: &mut Vec<Output>) {
        let Envelope { src, dest, body } = envelope;
        let Body { msg_id, in_reply_to, payload } = body;
        if self.planted_hang() {
            return;
        }
        // `Bug::SplitCommit`: the rest of the previous commit lands only after this message.
        let deferred = std::mem::take(&mut self.planted.deferred_writes);
        let reply = self.answer(now_us, &src, msg_id, in_reply_to, payload, out);
        self.planted_apply_deferred(deferred);
        // Only now is every change this message made in the state: a snapshot taken in
        // the middle of one (after a commit's record, before its outcome) would lose half.
        self.maybe_snapshot(out);
        let Some(reply) = reply else { return };
        // Reuse the request's `dest` as the reply's `src` when it already names this node
        // (the usual case): one allocation fewer per message on the hot path. Equivalent
        // mutants: in a world that routes by `dest`, every request names this node, so
        // the guard only saves an allocation.
        let from = match &self.volatile.node_id {
            Some(id) if *id != dest => id.clone(),
            _ => dest,
        };
        let envelope = Envelope {
            src: from,
            dest: src,
            body: Body {
                msg_id: Some(self.volatile.next_msg_id),
                in_reply_to: msg_id,
                payload: reply,
            },
        };
        self.volatile.next_msg_id += 1;
        self.send(envelope, out);
    }

    /// A message of this node's own to `dest` (a reply that comes later, or a request to
    /// another node), numbered like every message it sends: its `msg_id`.
    fn message(
        &mut self,
        dest: String,
        in_reply_to: Option<u64>,
        payload: Payload,
        out: &mut Vec<Output>,
    ) -> u64 {
        let msg_id = self.volatile.next_msg_id;
        self.volatile.next_msg_id += 1;
        let src = self.volatile.node_id.clone().unwrap_or_default();
        let body = Body { msg_id: Some(msg_id), in_reply_to, payload };
        self.send(Envelope { src, dest, body }, out);
        msg_id
    }

    /// A request to another node: its `msg_id`, which the answer will name.
    fn request(&mut self, dest: String, payload: Payload, out: &mut Vec<Output>) -> u64 {
        self.message(dest, None, payload, out)
    }

    /// The answer to a client's request that took other nodes to give.
    fn reply(
        &mut self,
        dest: String,
        in_reply_to: Option<u64>,
        payload: Payload,
        out: &mut Vec<Output>,
    ) {
        self.message(dest, in_reply_to, payload, out);
    }

    /// `txn_id` as this node's tables know it: its own ids (`t<n>`, or `t<n>.<node>` in a
    /// cluster, so that ids are unique across coordinators) by number, any other by text.
    fn txn_ref<'a>(&self, txn_id: &'a str) -> TxnRef<'a> {
        if !self.volatile.shards.is_cluster() {
            return TxnRef::of(txn_id);
        }
        let me = self.volatile.shards.name(self.volatile.shards.me());
        match txn_id.strip_suffix(me).and_then(|rest| rest.strip_suffix('.')) {
            Some(own) => match TxnRef::of(own) {
                TxnRef::Own(n) => TxnRef::Own(n),
                TxnRef::Foreign(_) => TxnRef::Foreign(txn_id),
            },
            None => TxnRef::Foreign(txn_id),
        }
    }

    /// Whether `src` is another node of the cluster (its requests are served here, never
    /// forwarded on).
    fn is_member(&self, src: &str) -> bool {
        self.volatile.shards.is_cluster() && self.volatile.shards.index_of(src).is_some()
    }

    /// The refusal (error 22) of another node's request that names a key this node does
    /// not own, if it names one. Such a request comes from a node whose shard map is not
    /// this one's: serving it would install or serve a key where its owner never looks,
    /// so nothing of it is done.
    fn unowned<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Option<Payload> {
        if self.planted(Bug::ServeUnownedKeys) {
            return None;
        }
        let shards = &self.volatile.shards;
        let key = keys.into_iter().find(|key| !shards.is_mine(key))?;
        Some(error(
            error_code::PRECONDITION_FAILED,
            format!(
                "`{}` is not this node's key: node_ids {} gives it to `{}`",
                clip(key),
                shards.describe(),
                clip(shards.name(shards.owner(key)))
            ),
        ))
    }

    /// Sends `envelope` now, or holds it until every record appended so far is synced.
    fn send(&mut self, envelope: Envelope, out: &mut Vec<Output>) {
        let ack_early = self.planted(Bug::AckBeforeDurable)
            || self.planted_early_cluster_send(&envelope.body.payload);
        match &mut self.volatile.log {
            Some(log)
                if !ack_early && (log.appended_lsn > log.synced_lsn || !log.held.is_empty()) =>
            {
                log.held.push_back((log.appended_lsn, envelope));
                self.marks.hit(Mark::ReplyHeldForSync);
            }
            Some(log) if !ack_early => {
                self.durable.assert_durable_before_send(
                    &envelope,
                    log.appended_lsn,
                    log.synced_lsn,
                );
                out.push(Output::Send(envelope));
            }
            _ => out.push(Output::Send(envelope)),
        }
    }

    /// The storage synced up to `lsn`: release the replies that waited for it.
    fn synced(&mut self, lsn: u64, out: &mut Vec<Output>) {
        let release_all = self.planted(Bug::ReleaseOnAnySync);
        let log = self.volatile.log.as_mut().expect("Input::Synced for a node that keeps no log");
        assert!(
            lsn <= log.appended_lsn,
            "synced up to LSN {lsn}, but only {} records were appended",
            log.appended_lsn
        );
        log.synced_lsn = log.synced_lsn.max(lsn);
        let covered = if release_all { u64::MAX } else { log.synced_lsn };
        while log.held.front().is_some_and(|(waits_for, _)| *waits_for <= covered) {
            let (waits_for, envelope) = log.held.pop_front().expect("checked above");
            if !release_all {
                self.durable.assert_durable_before_send(&envelope, waits_for, log.synced_lsn);
            }
            out.push(Output::Send(envelope));
        }
    }

    /// Appends one framed record (built for the LSN given) and asks for its sync.
    fn append(&mut self, out: &mut Vec<Output>, frame: impl FnOnce(wal::At) -> Vec<u8>) {
        let Some(log) = &mut self.volatile.log else { return };
        let lsn = log.appended_lsn + 1;
        let bytes = frame(wal::At { lsn, synced: log.synced_lsn });
        log.appended_lsn = lsn;
        log.len += bytes.len() as u64;
        log.since_snapshot_bytes += bytes.len() as u64;
        out.push(Output::Append { lsn, bytes });
        out.push(Output::Sync { lsn });
    }

    /// Takes a snapshot if the policy says so (see [`LogConfig`]). Called between
    /// messages, when the durable state is whole.
    fn maybe_snapshot(&mut self, out: &mut Vec<Output>) {
        let Some(log) = &self.volatile.log else { return };
        let min_bytes = self.config.log.map_or(u64::MAX, |c| c.snapshot_min_bytes);
        if log.since_snapshot_bytes >= min_bytes.max(log.last_snapshot_bytes) {
            self.snapshot(out);
        }
    }

    /// Appends a snapshot record, then cuts the log's head off up to the newest durable
    /// snapshot before it.
    fn snapshot(&mut self, out: &mut Vec<Output>) {
        let Some(log) = &mut self.volatile.log else { return };
        let lsn = log.appended_lsn + 1;
        let keys = self.durable.store.sorted_entries();
        let outcomes: Vec<(&TxnKey, &Outcome, u64)> = self.durable.outcomes.live().collect();
        let prepared: Vec<(&str, &wal::PreparedTxn)> =
            self.durable.participant.prepared().collect();
        let decisions: Vec<(String, Vec<String>)> = self
            .durable
            .decisions
            .iter()
            .map(|(id, d)| (id.clone(), d.waiting_for.iter().cloned().collect()))
            .collect();
        let decisions: Vec<(&str, &[String])> =
            decisions.iter().map(|(id, w)| (id.as_str(), &w[..])).collect();
        let participated = participant::participated(&self.durable.participant);
        let cluster = wal::ClusterState {
            prepared: &prepared,
            decisions: &decisions,
            participated: &participated,
        };
        let ids_up_to = self.durable.ids_up_to;
        let chunk_bytes = self.config.log.map_or(1 << 20, |c| c.snapshot_chunk_bytes);
        let chunk_bytes = usize::try_from(chunk_bytes).unwrap_or(usize::MAX);
        let at = wal::At { lsn, synced: log.synced_lsn };
        let frames =
            wal::encode_snapshot(at, chunk_bytes, ids_up_to, &keys, outcomes.into_iter(), cluster);
        let offset = log.len;
        let first_lsn = lsn;
        let total: u64 = frames.iter().map(|f| f.len() as u64).sum();
        for bytes in frames {
            log.appended_lsn += 1;
            log.len += bytes.len() as u64;
            out.push(Output::Append { lsn: log.appended_lsn, bytes });
        }
        let lsn = log.appended_lsn;
        log.last_snapshot_bytes = total;
        log.since_snapshot_bytes = 0;
        log.snapshots.push_back((offset, first_lsn, lsn));
        out.push(Output::Sync { lsn });
        self.marks.hit(Mark::SnapshotTaken);
        let older = log.snapshots.len() - 1;
        let Some(keep) =
            log.snapshots.iter().take(older).rposition(|&(_, _, l)| l <= log.synced_lsn)
        else {
            return;
        };
        let (keep_from, keep_first_lsn, _) = log.snapshots[keep];
        log.snapshots.drain(..keep);
        let identity = log.identity.clone().expect("a log with records has a header");
        let head = wal::encode_header(&wal::LogHeader { first_lsn: keep_first_lsn, identity });
        if keep_from > head.len() as u64 {
            let shift = keep_from - head.len() as u64;
            out.push(Output::Compact { head, keep_from });
            self.marks.hit(Mark::LogCompacted);
            log.len -= shift;
            for (offset, _, _) in &mut log.snapshots {
                *offset -= shift;
            }
        }
    }

    /// The earliest virtual time at which [`Input::Tick`] has work to do. It may be early
    /// (a transaction that committed still has its expiry queued), never late.
    ///
    /// Equivalent mutant: `None` (never tick). `handle` expires everything due before it
    /// answers, so answers do not depend on ticks; ticks only free memory sooner, and the
    /// memory bound is checked after steps, when `handle` has just expired.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.planted_tick_storm() {
            return Some(0);
        }
        let open = self.volatile.txns.next_deadline();
        let outcome = self.durable.outcomes.next_deadline();
        let local = [open, outcome].into_iter().flatten().min();
        // A cluster's timers (resends, votes waited for, decisions to drive, doubts to ask
        // about) count once `init` has made this node a member: before that a tick does
        // nothing, and asking for one would spin.
        if !self.volatile.shards.is_cluster() {
            return local;
        }
        let participated = self.durable.participant.outcomes.next_deadline();
        let decisions = self.durable.decisions.values().map(|d| d.resend_at_us).min();
        let coordinating = self.volatile.coordinating.next_deadline();
        let doubts = self.durable.participant.next_deadline();
        [local, participated, decisions, coordinating, doubts].into_iter().flatten().min()
    }

    /// How often each coverage mark was hit (see [`crate::marks`]).
    pub fn marks(&self) -> Marks {
        let mut marks = self.marks;
        marks.add(&self.volatile.txns.marks);
        marks.add(&self.durable.outcomes.marks);
        marks
    }

    /// The size of every table of the node's state that grows with requests, for the
    /// simulator's memory bound (see [`TableSizes`]). Read-only: it changes no run.
    ///
    /// It names every field of the state (no `..`): a table added to [`Durable`],
    /// [`Volatile`], [`LogCursor`] or [`Planted`] does not compile until it is counted
    /// here, or said here why it does not grow with requests. The tables of the
    /// sub-structs are counted the same way by their own `sizes`.
    pub fn table_sizes(&self) -> TableSizes {
        let Node { config: _, durable, volatile, planted, marks: _ } = self;
        // The data itself: it grows with the keys written, which no TTL bounds.
        let Durable { store: _, outcomes, ids_up_to: _, participant, decisions } = durable;
        let Volatile {
            node_id: _,
            next_msg_id: _,
            txns,
            log,
            first_id_since_restart: _,
            shards: _,
            coordinating,
        } = volatile;
        if let Some(log) = log {
            // `snapshots`: the log's snapshots, at most the newest durable one and those
            // after it (a new one waits for the log to grow by the last one's size).
            // `held`: replies waiting for a sync, each released by the sync that covers
            // its records (one in flight at a time); a sync that never finishes is a
            // liveness failure of the run, not a table.
            let LogCursor {
                appended_lsn: _,
                synced_lsn: _,
                len: _,
                identity: _,
                snapshots: _,
                since_snapshot_bytes: _,
                last_snapshot_bytes: _,
                held: _,
            } = log;
        }
        // Only a planted bug fills these (`read_cache` and `foreign_copies` grow with the
        // keys, as the bugs they model do): the correct store leaves them empty.
        let Planted { read_cache: _, deferred_writes: _, commits: _, foreign_copies: _ } = planted;
        let (open_txns, open_expiries, reserved_ids, reserved_expiries) = txns.sizes();
        let (outcomes, outcome_expiries) = outcomes.sizes();
        let (prepared, reservations, resolved, resolved_expiries) = participant.sizes();
        let (in_flight, forwards) = coordinating.sizes();
        TableSizes {
            open_txns,
            open_expiries,
            reserved_ids,
            reserved_expiries,
            outcomes,
            outcome_expiries,
            resolved,
            resolved_expiries,
            prepared,
            reservations,
            in_flight,
            forwards,
            decisions: decisions.len(),
        }
    }

    /// Two-phase commits not finished here: (transactions prepared here and not yet
    /// decided, commit decisions not yet acknowledged by every participant). Both are
    /// zero once a healed cluster has resolved every doubt.
    pub fn unresolved(&self) -> (usize, usize) {
        (self.durable.participant.prepared().count(), self.durable.decisions.len())
    }

    /// Replies waiting for a sync, in order (a logging node's only buffer that grows with
    /// load). A crash loses them: the simulator reads them off a node as it crashes, since
    /// the commits they answer may survive on the disk although no one was told.
    pub fn held_replies(&self) -> impl Iterator<Item = &Envelope> + '_ {
        self.volatile.log.iter().flat_map(|log| log.held.iter().map(|(_, envelope)| envelope))
    }

    /// The reply to a message, if it gets one now, in dispatch order (see the module
    /// docs): replies (even malformed ones) are never answered, another decode artefact
    /// gets 10 or 12, `init` is served, anything else gets 11 until `init` and is then
    /// [`Node::serve`]d.
    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        now_us: u64,
        src: &str,
        msg_id: Option<u64>,
        in_reply_to: Option<u64>,
        payload: Payload,
        out: &mut Vec<Output>,
    ) -> Option<Payload> {
        let reply = match payload {
            // Replies are never answered; those to this node's own requests (in a cluster)
            // move its work on.
            Payload::InitOk
            | Payload::OccBeginOk { .. }
            | Payload::OccReadOk { .. }
            | Payload::OccCommitOk { .. }
            | Payload::Error { .. }
            | Payload::TxnPrepareOk { .. }
            | Payload::TxnDecideOk { .. }
            | Payload::TxnQueryOk { .. } => {
                if self.is_member(src) {
                    self.node_reply(now_us, src, in_reply_to, payload, out);
                }
                return None;
            }
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
            Payload::Init { node_id, node_ids } => self.init(node_id, &node_ids, out),
            _ if self.volatile.node_id.is_none() => error(
                error_code::TEMPORARILY_UNAVAILABLE,
                "node not initialised: send init first".to_owned(),
            ),
            request => return self.serve(now_us, src, msg_id, request, out),
        };
        Some(reply)
    }

    /// A request to an initialised node: answered now, or (`None`) once other nodes have
    /// answered what it took to ask them.
    fn serve(
        &mut self,
        now_us: u64,
        src: &str,
        msg_id: Option<u64>,
        request: Payload,
        out: &mut Vec<Output>,
    ) -> Option<Payload> {
        let reply = match request {
            Payload::OccBegin => self.begin(now_us, out),
            Payload::OccRead { txn_id, key } => {
                return self.read_or_forward(now_us, src, msg_id, txn_id, key, out);
            }
            Payload::OccCommit { txn_id, writes, read_versions }
            | Payload::TxnPrepare { txn_id, writes, read_versions }
                if crate::limits::commit_problem(&txn_id, &writes, &read_versions).is_some() =>
            {
                let why = crate::limits::commit_problem(&txn_id, &writes, &read_versions);
                let why = why.unwrap_or_default();
                error(error_code::MALFORMED_REQUEST, format!("commit too large: {why}"))
            }
            Payload::OccCommit { txn_id, writes, read_versions } => {
                return self.commit(now_us, src, msg_id, txn_id, writes, read_versions, out);
            }
            Payload::TxnPrepare { txn_id, writes, read_versions } if self.is_member(src) => {
                if let Some(refusal) = self.unowned(commit_keys(&writes, &read_versions)) {
                    return Some(refusal);
                }
                let vote = self.prepare(now_us, src, &txn_id, writes, read_versions, out);
                vote.payload(txn_id)
            }
            Payload::TxnDecide { txn_id, committed } if self.is_member(src) => {
                self.resolve(now_us, &txn_id, committed, out);
                Payload::TxnDecideOk { txn_id }
            }
            Payload::TxnQuery { txn_id } if self.is_member(src) => {
                return self.answer_query(now_us, &txn_id, out);
            }
            Payload::TxnPrepare { .. } | Payload::TxnDecide { .. } | Payload::TxnQuery { .. } => {
                error(
                    error_code::NOT_SUPPORTED,
                    "two-phase commit is between a cluster's nodes".to_owned(),
                )
            }
            // Answered (or not) by `answer` before a request gets here.
            Payload::Init { .. }
            | Payload::InitOk
            | Payload::OccBeginOk { .. }
            | Payload::OccReadOk { .. }
            | Payload::OccCommitOk { .. }
            | Payload::Error { .. }
            | Payload::TxnPrepareOk { .. }
            | Payload::TxnDecideOk { .. }
            | Payload::TxnQueryOk { .. }
            | Payload::Unknown { .. }
            | Payload::Malformed { .. } => unreachable!("`answer` serves only requests"),
        };
        Some(reply)
    }

    /// A read of a key this node owns, or another node's read of a key it does not (error
    /// 22); a client's read of another node's key is forwarded to its owner (`None`: the
    /// owner's answer is relayed).
    fn read_or_forward(
        &mut self,
        now_us: u64,
        src: &str,
        msg_id: Option<u64>,
        txn_id: String,
        key: String,
        out: &mut Vec<Output>,
    ) -> Option<Payload> {
        let owner = self.volatile.shards.owner(&key);
        let member = self.is_member(src);
        if owner != self.volatile.shards.me() {
            if member {
                if let Some(refusal) = self.unowned([key.as_str()]) {
                    return Some(refusal);
                }
            } else {
                if let Some(reply) = self.planted_stale_copy(now_us, &txn_id, &key) {
                    return Some(reply);
                }
                self.forward_read(now_us, src.to_owned(), msg_id, owner, txn_id, key, out);
                return None;
            }
        }
        Some(self.read(now_us, txn_id, key, member))
    }

    /// `init`: the first one makes the node a member; a repeated one (its reply was lost)
    /// is answered again only if it says the same thing. A node never changes its name or
    /// its cluster: keys would move between owners without anyone moving their data.
    fn init(&mut self, node_id: String, node_ids: &[String], out: &mut Vec<Output>) -> Payload {
        if let Some(current) = &self.volatile.node_id {
            if *current != node_id {
                return error(
                    error_code::PRECONDITION_FAILED,
                    format!("already initialised as `{}`, not `{}`", clip(current), clip(&node_id)),
                );
            }
        }
        if let Some(problem) = ShardMap::problem(&node_id, node_ids) {
            return error(error_code::MALFORMED_REQUEST, format!("malformed init: {problem}"));
        }
        let shards = self.planted_shards(ShardMap::new(&node_id, node_ids));
        if self.volatile.node_id.is_some() {
            if shards != self.volatile.shards && !self.planted(Bug::IgnoreChangedMembership) {
                return error(
                    error_code::PRECONDITION_FAILED,
                    format!(
                        "already initialised with node_ids {}, not {}",
                        self.volatile.shards.describe(),
                        shards.describe()
                    ),
                );
            }
            return Payload::InitOk;
        }
        if let Some(refusal) = self.log_refuses(&node_id, node_ids, out) {
            return refusal;
        }
        self.volatile.shards = shards;
        self.volatile.node_id = Some(node_id);
        self.number_after_restart(out);
        Payload::InitOk
    }

    /// A logging node's log belongs to one node of one cluster, as its header says: an
    /// `init` as another node, or with other node ids, is refused (error 22; `occ-node`
    /// exits), since serving another node's keys from this log would be wrong. A log not
    /// yet created is created now, its header naming this node (`Output::Compact` of an
    /// empty log: the driver writes it atomically).
    fn log_refuses(
        &mut self,
        node_id: &str,
        node_ids: &[String],
        out: &mut Vec<Output>,
    ) -> Option<Payload> {
        let log = self.volatile.log.as_mut()?;
        let asked = wal::Identity { node_id: node_id.to_owned(), node_ids: node_ids.to_vec() };
        match &log.identity {
            Some(owner) if *owner == asked => None,
            Some(owner) => Some(error(
                error_code::PRECONDITION_FAILED,
                format!("this node's log belongs to {owner}; it cannot start as {asked}"),
            )),
            None => {
                let head = wal::encode_header(&wal::LogHeader {
                    first_lsn: log.appended_lsn + 1,
                    identity: asked.clone(),
                });
                assert_eq!(log.len, 0, "a log without a header is empty");
                log.len = head.len() as u64;
                log.identity = Some(asked);
                out.push(Output::Compact { head, keep_from: 0 });
                None
            }
        }
    }

    /// The identity the log's header names, once it has one.
    pub fn log_identity(&self) -> Option<&wal::Identity> {
        self.volatile.log.as_ref()?.identity.as_ref()
    }

    /// A cluster node that restarted numbers its messages above every number its earlier
    /// lives used: a late answer to a request of theirs (a forwarded read, say) must not
    /// be taken for the answer to a request of this life that happens to reuse its
    /// `msg_id`. The base is this life's first LSN, times 2^32: it appends a record
    /// (the id high-water mark again) whose LSN no earlier life that sent anything had,
    /// since every message waits for the records before it to be durable.
    fn number_after_restart(&mut self, out: &mut Vec<Output>) {
        let restarted = self.volatile.log.as_ref().is_some_and(|log| log.appended_lsn > 0);
        if !self.volatile.shards.is_cluster() || !restarted {
            return;
        }
        let up_to = self.durable.ids_up_to;
        self.append(out, |lsn| wal::encode_ids(lsn, up_to));
        let lsn = self.volatile.log.as_ref().map_or(0, |log| log.appended_lsn);
        self.volatile.next_msg_id = self.volatile.next_msg_id.max(lsn << 32);
    }

    /// Issues the next free id. Past the durable high-water mark, an `Ids` record raises
    /// it first, so the reply (held until that record is synced) names an id no restart
    /// can issue again.
    fn begin(&mut self, now_us: u64, out: &mut Vec<Output>) -> Payload {
        let outcomes = &self.durable.outcomes;
        let Some(n) = self.volatile.txns.next_free(|n| outcomes.has_own(n)) else {
            return error(
                error_code::TEMPORARILY_UNAVAILABLE,
                "transaction ids exhausted".to_owned(),
            );
        };
        if self.volatile.log.is_some() && n > self.durable.ids_up_to {
            let up_to = n.saturating_add(IDS_PER_RECORD - 1);
            self.durable.ids_up_to = up_to;
            self.append(out, |lsn| wal::encode_ids(lsn, up_to));
        }
        self.volatile.txns.begin(now_us, n);
        let mut txn_id = own_id(n);
        if self.volatile.shards.is_cluster() {
            txn_id.push('.');
            txn_id.push_str(self.volatile.shards.name(self.volatile.shards.me()));
        }
        Payload::OccBeginOk { txn_id }
    }

    /// Reads are served whatever the transaction's state (a read changes nothing, and the
    /// commit is validated), except a read of a key a transaction prepared here will write:
    /// its coordinator may have committed it already, so the version here may be one its
    /// client saw replaced, and the read is refused (error 30; the transaction aborts, as
    /// its commit would). Only an open transaction records the read; a read forwarded by
    /// another node (`from_member`) is recorded by that node, the coordinator.
    fn read(&mut self, now_us: u64, txn_id: String, key: String, from_member: bool) -> Payload {
        if self.durable.participant.is_written_by_prepared(&key) || self.planted_refuses_read() {
            return error(
                error_code::TXN_CONFLICT,
                format!("`{}` is reserved by a transaction prepared here", clip(&key)),
            );
        }
        let (value, version) = self.durable.store.read(&key);
        let mut value = value.map(str::to_owned);
        if self.planted(Bug::StaleReadCache) {
            value = self.planted_stale_read(&key, value);
        }
        let txn = self.txn_ref(&txn_id);
        match self.volatile.txns.open_mut(txn) {
            Some(open) => open.reads.push((key, version)),
            None if from_member => {}
            None => self.volatile.txns.reserve(now_us, txn),
        }
        Payload::OccReadOk { value, version }
    }

    /// A commit: answered now, or (`None`) once the other nodes it takes have answered.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        now_us: u64,
        src: &str,
        msg_id: Option<u64>,
        txn_id: String,
        writes: Vec<KeyValue>,
        read_versions: Vec<KeyVersion>,
        out: &mut Vec<Output>,
    ) -> Option<Payload> {
        if self.is_member(src) {
            if let Some(refusal) = self.unowned(commit_keys(&writes, &read_versions)) {
                return Some(refusal);
            }
        }
        if self.commit_again(&txn_id, msg_id) {
            return None;
        }
        let txn = self.txn_ref(&txn_id);
        let mut recorded = match self.recorded_reads(txn, &txn_id) {
            Ok(recorded) => recorded,
            Err(answer) => return Some(answer),
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
        // From here on `recorded` holds only the reads the commit did not echo.
        recorded.retain(|(k, v)| !echoed(k, *v));
        // A key a transaction prepared here holds: the commit aborts (error 30), and the
        // outcome is remembered like any other, so that a copy arriving once the
        // reservation is gone cannot commit what was refused.
        let mut reserved = false;
        if self.volatile.shards.is_cluster() {
            let reads = read_versions
                .iter()
                .map(|r| r.key.as_str())
                .chain(recorded.iter().map(|(k, _)| k.as_str()));
            let written = writes.iter().map(|w| w.key.as_str());
            if !self.is_member(src) && !self.all_here(reads.clone().chain(written.clone()), &writes)
            {
                let mut checks = read_versions;
                checks
                    .extend(recorded.into_iter().map(|(key, version)| KeyVersion { key, version }));
                self.volatile.txns.close(txn);
                let (client, txn_key) = (src.to_owned(), txn.key());
                let txn = txn_key.as_ref();
                return self
                    .commit_in_cluster(now_us, client, msg_id, txn, txn_id, checks, writes, out);
            }
            reserved = self.durable.participant.conflict(None, reads, written).is_some();
        }
        let checks = read_versions
            .iter()
            .map(|r| (r.key.as_str(), r.version))
            .chain(recorded.iter().map(|(k, v)| (k.as_str(), *v)));
        let (outcome, installed) = match self.config.bug {
            _ if reserved => (Outcome::Aborted(Vec::new()), Vec::new()),
            None => self.validate_and_apply(checks, writes),
            Some(bug) => self.planted_commit(bug, checks.collect(), writes),
        };
        Some(self.conclude_commit(now_us, txn, outcome, &installed, out))
    }

    /// The reads `txn`'s commit validates besides its `read_versions`: those recorded
    /// here while it was open (none for a transaction this node never saw). Or the answer
    /// its commit gets without validation: the remembered outcome of one that finished,
    /// or error 1000 for one whose state expired (it may or may not have committed).
    fn recorded_reads(
        &mut self,
        txn: TxnRef<'_>,
        txn_id: &str,
    ) -> Result<Vec<(String, u64)>, Payload> {
        let known = self.durable.outcomes.get(txn);
        match self.volatile.txns.lookup(txn, known) {
            Lookup::Finished(_) if self.planted(Bug::RevalidateRetry) => Ok(Vec::new()),
            Lookup::Finished(outcome) => {
                self.marks.hit(Mark::OutcomeReplayed);
                if matches!(txn, TxnRef::Own(n) if n < self.volatile.first_id_since_restart) {
                    self.marks.hit(Mark::OutcomeReplayedAfterRestart);
                }
                Err(outcome.to_payload())
            }
            Lookup::Expired if self.planted_forgets_ids() => Ok(Vec::new()),
            Lookup::Expired => {
                self.marks.hit(Mark::CommitAfterExpiry);
                Err(error(
                    error_code::TXN_STATE_EXPIRED,
                    format!(
                        "state of transaction `{}` expired: it may or may not have committed",
                        clip(txn_id)
                    ),
                ))
            }
            Lookup::Open => {
                Ok(self.volatile.txns.take_open(txn).map(|t| t.reads).unwrap_or_default())
            }
            Lookup::Unknown => {
                self.marks.hit(Mark::ForeignCommitValidated);
                Ok(Vec::new())
            }
        }
    }

    /// Whether this node holds every one of `keys` (or, under `Bug::StaleNonOwnerRead`,
    /// a copy that serves it): then the commit is decided here, in one phase.
    fn all_here<'a>(&self, mut keys: impl Iterator<Item = &'a str>, writes: &[KeyValue]) -> bool {
        let shards = &self.volatile.shards;
        keys.all(|k| shards.is_mine(k) || self.planted_copy_serves(k, writes))
    }

    /// OCC's two halves on this node's keys: validate that every read version is still
    /// current and, if so, apply the writes (each key exactly +1). Also what a logging
    /// node's commit record installs: the normalized writes of a commit, nothing for an
    /// abort.
    fn validate_and_apply<'a>(
        &mut self,
        checks: impl Iterator<Item = (&'a str, u64)>,
        writes: Vec<KeyValue>,
    ) -> (Outcome, Vec<KeyValue>) {
        let conflicts = self.durable.store.validate(checks);
        if !conflicts.is_empty() {
            self.marks.hit(Mark::ReadSetConflict);
            return (Outcome::Aborted(conflicts), Vec::new());
        }
        let writes = normalize(writes);
        let installed = if self.volatile.log.is_some() { writes.clone() } else { Vec::new() };
        let versions = self.durable.store.apply_normalized(writes);
        debug_assert!(
            installed.is_empty() || installed.len() == versions.len(),
            "a logged commit installs one value per version"
        );
        (Outcome::Committed(versions), installed)
    }

    /// A commit decided here ends: its record appended (a logging node), the transaction
    /// closed and its outcome remembered for retries. The reply, which a logging node holds
    /// until the record is synced.
    fn conclude_commit(
        &mut self,
        now_us: u64,
        txn: TxnRef<'_>,
        outcome: Outcome,
        installed: &[KeyValue],
        out: &mut Vec<Output>,
    ) -> Payload {
        let reply = outcome.to_payload();
        let deadline_us = self.durable.outcomes.deadline_for(now_us);
        if self.volatile.log.is_some() {
            let key = txn.key();
            let record = |lsn| wal::encode_commit(lsn, &key, deadline_us, &outcome, installed);
            self.append(out, record);
        }
        self.volatile.txns.close(txn);
        self.durable.outcomes.insert(txn, outcome, deadline_us);
        reply
    }

    /// A node answered a request of this node's (in a cluster): a forwarded read or
    /// commit, a vote, an acknowledged decision, a decision asked for.
    fn node_reply(
        &mut self,
        now_us: u64,
        src: &str,
        in_reply_to: Option<u64>,
        payload: Payload,
        out: &mut Vec<Output>,
    ) {
        match payload {
            Payload::TxnPrepareOk { txn_id, vote, versions, conflicts } => {
                self.vote_came(now_us, src, txn_id, Vote { yes: vote, versions, conflicts }, out)
            }
            Payload::TxnDecideOk { txn_id } => self.decision_acknowledged(src, &txn_id, out),
            Payload::TxnQueryOk { txn_id, committed } => {
                self.resolve(now_us, &txn_id, committed, out)
            }
            answer => {
                let Some(id) = in_reply_to else { return };
                let Some((forward, _)) = self.volatile.coordinating.forwards.remove(&id) else {
                    return;
                };
                match (forward, answer) {
                    (
                        Forward::Read { client, client_msg, txn_id, key },
                        Payload::OccReadOk { value, version },
                    ) => {
                        if self.planted(Bug::StaleNonOwnerRead) {
                            let copy = (value.clone(), version);
                            self.planted.foreign_copies.insert(key.clone(), copy);
                        }
                        if let Some(open) = self.volatile.txns.open_mut(self.txn_ref(&txn_id)) {
                            open.reads.push((key, version));
                        }
                        self.reply(client, client_msg, Payload::OccReadOk { value, version }, out);
                    }
                    (Forward::Read { client, client_msg, .. }, answer @ Payload::Error { .. }) => {
                        self.reply(client, client_msg, answer, out)
                    }
                    (Forward::Commit { txn_id }, answer) => {
                        self.forwarded_commit_answered(now_us, &txn_id, answer, out)
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `read_versions` longer than this are not searched for echoes of recorded reads.
const ECHO_SEARCH_MAX: usize = 16;

/// Every key a commit or a prepare names: its writes', then its reads'.
fn commit_keys<'a>(
    writes: &'a [KeyValue],
    read_versions: &'a [KeyVersion],
) -> impl Iterator<Item = &'a str> + 'a {
    let written = writes.iter().map(|w| w.key.as_str());
    written.chain(read_versions.iter().map(|r| r.key.as_str()))
}

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

    /// Counts what recovery had to mend: a cut tail, a corrupted read that a re-read
    /// repaired (instrumentation only, like `coverage_recorded_reads`).
    fn coverage_recovery(&mut self, discarded_bytes: u64, repaired_reads: u32) {
        if discarded_bytes > 0 {
            self.marks.hit(Mark::TornTailCut);
        }
        if repaired_reads > 0 {
            self.marks.hit(Mark::CorruptReadRepaired);
        }
    }

    fn planted(&self, bug: Bug) -> bool {
        self.config.bug == Some(bug)
    }

    /// `Bug::VoteBeforeDurable` and `Bug::CommitOnHint`: what goes out before the
    /// records it depends on are durable.
    /// The shard map as `Bug::SelfInSortedIds` builds it.
    fn planted_shards(&self, shards: ShardMap) -> ShardMap {
        match self.planted(Bug::SelfInSortedIds) {
            true => shards.planted_me_in_sorted(),
            false => shards,
        }
    }

    fn planted_early_cluster_send(&self, payload: &Payload) -> bool {
        match payload {
            Payload::TxnPrepareOk { vote: true, .. } => self.planted(Bug::VoteBeforeDurable),
            Payload::TxnDecide { committed: true, .. } => self.planted(Bug::CommitOnHint),
            _ => false,
        }
    }

    /// `Bug::StaleNonOwnerRead`: a read-only commit takes this node's copy of `key` as
    /// current (never without the bug: no copy is ever kept).
    fn planted_copy_serves(&self, key: &str, writes: &[KeyValue]) -> bool {
        writes.is_empty() && self.planted.foreign_copies.contains_key(key)
    }

    /// `Bug::StaleNonOwnerRead`: a read of another node's key answered from this node's
    /// copy of it, if it has one.
    fn planted_stale_copy(&mut self, now_us: u64, txn_id: &str, key: &str) -> Option<Payload> {
        if !self.planted(Bug::StaleNonOwnerRead) {
            return None;
        }
        let (value, version) = self.planted.foreign_copies.get(key)?.clone();
        let txn = self.txn_ref(txn_id);
        match self.volatile.txns.open_mut(txn) {
            Some(open) => open.reads.push((key.to_owned(), version)),
            None => self.volatile.txns.reserve(now_us, txn),
        }
        Some(Payload::OccReadOk { value, version })
    }

    /// `Bug::RefuseReadsWhilePrepared`: every read is refused while anything is prepared.
    fn planted_refuses_read(&self) -> bool {
        self.planted(Bug::RefuseReadsWhilePrepared)
            && self.durable.participant.planted_any_prepared()
    }

    /// `Bug::KeepResolvedForever`: a resolved outcome's deadline is "never".
    fn planted_resolved_deadline(&self, deadline_us: u64) -> u64 {
        match self.planted(Bug::KeepResolvedForever) {
            true => u64::MAX,
            false => deadline_us,
        }
    }

    fn planted_hang(&self) -> bool {
        self.planted(Bug::HangAfter100Commits) && self.planted.commits >= 100
    }

    fn planted_tick_storm(&self) -> bool {
        self.planted(Bug::TickStorm) && self.planted.commits >= 100
    }

    /// `Bug::EarlyOutcomeExpiry` and `Bug::VolatileOutcomes` treat an id whose outcome is
    /// gone as one they never issued, and validate its commit as new.
    fn planted_forgets_ids(&self) -> bool {
        self.planted(Bug::EarlyOutcomeExpiry) || self.planted(Bug::VolatileOutcomes)
    }

    /// `Bug::IdsResetOnRestart`: the largest own id any recovered outcome names.
    fn planted_last_logged_id(&self) -> u64 {
        self.durable
            .outcomes
            .live()
            .filter_map(|(txn, _, _)| match txn {
                TxnKey::Own(n) => Some(*n),
                TxnKey::Foreign(_) => None,
            })
            .max()
            .unwrap_or(0)
    }

    fn planted_apply_deferred(&mut self, deferred: Vec<KeyValue>) {
        if !deferred.is_empty() {
            self.durable.store.apply(deferred);
        }
    }

    fn planted_stale_read(&mut self, key: &str, value: Option<String>) -> Option<String> {
        self.planted.read_cache.entry(key.to_owned()).or_insert(value).clone()
    }
}

impl Node {
    /// [`Node::commit_with_bug`], and what a logging node's commit record installs: the
    /// normalized writes of a commit, nothing for an abort.
    fn planted_commit(
        &mut self,
        bug: Bug,
        checks: Vec<(&str, u64)>,
        writes: Vec<KeyValue>,
    ) -> (Outcome, Vec<KeyValue>) {
        let installed = match self.volatile.log.is_some() {
            true => normalize(writes.clone()),
            false => Vec::new(),
        };
        let outcome = self.commit_with_bug(bug, &checks, writes);
        let installed = match &outcome {
            Outcome::Committed(_) => installed,
            Outcome::Aborted(_) => Vec::new(),
        };
        (outcome, installed)
    }

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
            Bug::SkipValidation => Outcome::Committed(self.durable.store.apply(writes)),
            Bug::ValidateWrittenKeysOnly => {
                let written = |key: &str| writes.iter().any(|w| w.key == key);
                let conflicts = self
                    .durable
                    .store
                    .validate(checks.iter().copied().filter(|(key, _)| written(key)));
                if conflicts.is_empty() {
                    Outcome::Committed(self.durable.store.apply(writes))
                } else {
                    Outcome::Aborted(conflicts)
                }
            }
            Bug::ApplyBeforeValidate => {
                // The versions are judged as they were, but the writes are already in.
                let conflicts = validate_all(&self.durable.store);
                let versions = self.durable.store.apply(writes);
                if conflicts.is_empty() {
                    Outcome::Committed(versions)
                } else {
                    Outcome::Aborted(conflicts)
                }
            }
            Bug::BumpPerWrite | Bug::NoBumpOnBlindWrite => {
                self.planted_wrong_bump(bug, checks, writes)
            }
            Bug::SplitCommit => self.planted_split_commit(checks, writes),
            Bug::PanicOnConflict => {
                let conflicts = validate_all(&self.durable.store);
                let first = conflicts.first().map(|c| c.key.clone());
                assert!(first.is_none(), "planted bug: commit conflicts on {first:?}");
                Outcome::Committed(self.durable.store.apply(writes))
            }
            // These bugs live in lookup, reads, dispatch, timers, the log or recovery;
            // validation and apply are correct.
            Bug::RevalidateRetry
            | Bug::EarlyOutcomeExpiry
            | Bug::StaleReadCache
            | Bug::HangAfter100Commits
            | Bug::TickStorm
            | Bug::AckBeforeDurable
            | Bug::VolatileOutcomes
            | Bug::ReplayTwice
            | Bug::TrustTornTail
            | Bug::IdsResetOnRestart
            | Bug::TruncateOnReadError
            | Bug::ReleaseOnAnySync
            | Bug::VoteBeforeDurable
            | Bug::ForgetDecisionOnRestart
            | Bug::ReleaseOnTimeout
            | Bug::CommitOnHint
            | Bug::StaleNonOwnerRead
            | Bug::NeverResolveDoubt
            | Bug::ForgetUnackedDecision
            | Bug::ServeUnownedKeys
            | Bug::IgnoreChangedMembership
            | Bug::SelfInSortedIds
            | Bug::KeepResolvedForever
            | Bug::RefuseReadsWhilePrepared => self.planted_commit_elsewhere(checks, writes),
        }
    }

    /// `Bug::BumpPerWrite` (each key bumped by the number of writes) and
    /// `Bug::NoBumpOnBlindWrite` (a key written unread keeps its version), after a
    /// correct validation.
    fn planted_wrong_bump(
        &mut self,
        bug: Bug,
        checks: &[(&str, u64)],
        writes: Vec<KeyValue>,
    ) -> Outcome {
        let conflicts = self.durable.store.validate(checks.iter().copied());
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
        Outcome::Committed(self.durable.store.apply_buggy(writes, bump, &unbumped))
    }

    /// `Bug::SplitCommit`: after a correct validation, claims the versions the whole
    /// commit will install but applies only its first key; the rest waits for the next
    /// message (`Planted::deferred_writes`).
    fn planted_split_commit(&mut self, checks: &[(&str, u64)], writes: Vec<KeyValue>) -> Outcome {
        let conflicts = self.durable.store.validate(checks.iter().copied());
        if !conflicts.is_empty() {
            return Outcome::Aborted(conflicts);
        }
        let mut keys: Vec<&str> = writes.iter().map(|w| w.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let claimed: Vec<KeyVersion> = keys
            .iter()
            .map(|key| KeyVersion {
                key: (*key).to_owned(),
                version: self.durable.store.version(key) + 1,
            })
            .collect();
        let first = keys.first().map(|k| (*k).to_owned());
        let (now, later): (Vec<KeyValue>, Vec<KeyValue>) =
            writes.into_iter().partition(|w| Some(&w.key) == first.as_ref());
        self.durable.store.apply(now);
        self.planted.deferred_writes = later;
        Outcome::Committed(claimed)
    }

    /// A bug that lives outside validation and apply: the commit is validated and applied
    /// correctly, and counted (`Bug::HangAfter100Commits`, `Bug::TickStorm`). Only this
    /// node's keys are validated: under `Bug::StaleNonOwnerRead` reads of cached copies
    /// are not this node's to check, and are taken as current.
    fn planted_commit_elsewhere(
        &mut self,
        checks: &[(&str, u64)],
        writes: Vec<KeyValue>,
    ) -> Outcome {
        self.planted.commits += 1;
        let shards = &self.volatile.shards;
        let mine = checks.iter().copied().filter(|(key, _)| shards.is_mine(key));
        let conflicts = self.durable.store.validate(mine);
        if conflicts.is_empty() {
            Outcome::Committed(self.durable.store.apply(writes))
        } else {
            Outcome::Aborted(conflicts)
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
    use crate::io::step_synced;
    use crate::protocol::Conflict;
    use crate::storage::MemLog;

    /// A node fed from client `c1`, answering with payloads only (envelopes are checked in
    /// `replies_are_addressed_and_numbered`), its log in memory and synced at once.
    struct Harness {
        node: Node,
        log: MemLog,
        msg_id: u64,
    }

    impl Harness {
        fn new(config: NodeConfig) -> Harness {
            let mut h = Harness { node: Node::new(config), log: MemLog::default(), msg_id: 0 };
            let init = Payload::Init { node_id: "n1".to_owned(), node_ids: vec!["n1".to_owned()] };
            assert_eq!(h.send(0, init), Some(Payload::InitOk));
            h
        }

        fn send(&mut self, now_us: u64, payload: Payload) -> Option<Payload> {
            self.msg_id += 1;
            let body = Body { msg_id: Some(self.msg_id), in_reply_to: None, payload };
            let envelope = Envelope { src: "c1".to_owned(), dest: "n1".to_owned(), body };
            let mut sends =
                step_synced(&mut self.node, now_us, Input::Message(envelope), &mut self.log)
                    .expect("a log in memory does not fail");
            assert!(sends.len() <= 1, "a message got more than one reply: {sends:?}");
            sends.pop().map(|e| e.body.payload)
        }

        fn tick(&mut self, now_us: u64) {
            let sends = step_synced(&mut self.node, now_us, Input::Tick, &mut self.log)
                .expect("a log in memory does not fail");
            assert_eq!(sends, [], "a tick sends nothing");
        }

        /// Sends `payload` and expects exactly `expect` back.
        fn check(&mut self, now_us: u64, payload: Payload, expect: Payload) {
            let what = format!("{payload:?}");
            assert_eq!(self.send(now_us, payload), Some(expect), "reply to {what}");
        }
    }

    /// The messages a node without a log sends for `input`.
    /// `payload` from client c1, as message 1.
    fn envelope(payload: Payload) -> Envelope {
        Envelope {
            src: "c1".into(),
            dest: "n1".into(),
            body: Body { msg_id: Some(1), in_reply_to: None, payload },
        }
    }

    fn sends(node: &mut Node, now_us: u64, input: Input) -> Vec<Envelope> {
        let mut out = Vec::new();
        node.step(now_us, input, &mut out);
        out.into_iter()
            .map(|o| match o {
                Output::Send(envelope) => envelope,
                other => panic!("a node without a log asked for {other:?}"),
            })
            .collect()
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
            let envelope = Envelope { src: src.into(), dest: "n1".into(), body };
            outbox.extend(sends(node, 0, Input::Message(envelope)));
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
        let config = NodeConfig { txn_ttl_us: 100, outcome_ttl_us: 1000, ..NodeConfig::default() };
        let mut h = Harness::new(config);
        h.check(0, read("t1", "x"), value(None, 0));
        h.check(0, commit("t2", &[("x", "1")], &[]), committed(&[("x", 1)]));
        let sizes = h.node.table_sizes();
        let expected = TableSizes {
            reserved_ids: 1,
            reserved_expiries: 1,
            outcomes: 1,
            outcome_expiries: 1,
            ..TableSizes::default()
        };
        assert_eq!(sizes, expected, "the reservation of t1, the outcome of t2");
        // A read reserves for the open-transaction TTL: then t1 is free to issue, t2 not yet.
        h.tick(100);
        h.check(100, begin(), begun("t1"));
        // Past the outcome TTL the counter never reached t2: a late retry is validated
        // again (the TTL is the retry window, as for foreign ids), and t2 may be issued.
        h.tick(1000);
        h.check(1000, commit("t2", &[("x", "2")], &[("x", 0)]), aborted(&[("x", 0, 1)]));
        h.tick(3000);
        h.check(3000, begin(), begun("t2"));
        h.tick(4000);
        assert_eq!(h.node.table_sizes(), TableSizes::default());
    }

    #[test]
    fn expired_state_answers_an_indefinite_error() {
        let config = NodeConfig { txn_ttl_us: 100, outcome_ttl_us: 1000, ..NodeConfig::default() };
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
        let config = NodeConfig { txn_ttl_us: 100, outcome_ttl_us: 200, ..NodeConfig::default() };
        let mut h = Harness::new(config);
        for i in 0..1000 {
            h.send(i, begin());
            h.send(i, commit(&format!("t{}", i / 2 + 1), &[("k", "v")], &[]));
            h.send(i, commit(&format!("foreign{i}"), &[], &[]));
        }
        let sizes = h.node.table_sizes();
        let (open, outcomes) = (sizes.open_txns, sizes.outcomes);
        let queued = sizes.open_expiries + sizes.outcome_expiries;
        assert!(
            open <= 100 && outcomes <= 2 * 200 && queued <= 3 * 200 + 100,
            "{open} {outcomes} {queued}"
        );
        let deadline = h.node.next_deadline().expect("state is pending");
        h.tick(10_000);
        assert_eq!(h.node.table_sizes(), TableSizes::default());
        assert!(deadline <= 1100, "deadline {deadline}");
        assert_eq!(h.node.next_deadline(), None);
    }

    #[test]
    fn deadlines_stay_ordered_when_now_goes_backwards() {
        let mut h = Harness::new(NodeConfig {
            txn_ttl_us: 100,
            outcome_ttl_us: 100,
            ..NodeConfig::default()
        });
        h.check(500, begin(), begun("t1"));
        h.check(0, begin(), begun("t2"));
        // t2's deadline was clamped up to t1's, so one tick at 600 clears both.
        h.tick(600);
        assert_eq!(h.node.table_sizes(), TableSizes::default());
    }

    #[test]
    fn requests_before_init_are_refused_and_replies_are_ignored() {
        let mut node = Node::new(NodeConfig::default());
        let body = Body { msg_id: Some(1), in_reply_to: None, payload: begin() };
        let envelope = Envelope { src: "c1".into(), dest: "n1".into(), body };
        let reply = sends(&mut node, 0, Input::Message(envelope)).pop().expect("a reply");
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
        // A cluster the node is not in, or one naming a node twice, is refused, and the
        // node stays uninitialised (a good init is still accepted).
        let mut fresh = Node::new(NodeConfig::default());
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        for node_ids in [ids(&["n2", "n3"]), ids(&["n1", "n2", "n1"])] {
            let init = Payload::Init { node_id: "n1".into(), node_ids };
            let sends = sends(&mut fresh, 0, Input::Message(envelope(init)));
            let reply = sends.into_iter().next().map(|e| e.body.payload);
            assert_eq!(error_code_of(reply), error_code::MALFORMED_REQUEST);
        }
        let good = Payload::Init { node_id: "n1".into(), node_ids: ids(&["n1", "n2"]) };
        let reply = sends(&mut fresh, 0, Input::Message(envelope(good)));
        assert_eq!(reply.into_iter().next().map(|e| e.body.payload), Some(Payload::InitOk));
    }

    #[test]
    fn a_second_init_that_changes_the_membership_is_refused() {
        // The same init again is answered init_ok (its reply may have been lost); one that
        // names other nodes, or the same in another order, would move keys between owners
        // and is refused with 22; the node keeps its shard map.
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        let mut node = Node::new(NodeConfig::default());
        let init =
            |node_ids: &[&str]| Payload::Init { node_id: "n1".into(), node_ids: ids(node_ids) };
        let mut reply = |payload: Payload| {
            let sends = sends(&mut node, 0, Input::Message(envelope(payload)));
            sends.into_iter().next().map(|e| e.body.payload)
        };
        assert_eq!(reply(init(&["n1", "n2", "n3"])), Some(Payload::InitOk));
        assert_eq!(reply(init(&["n1", "n2", "n3"])), Some(Payload::InitOk), "idempotent");
        for changed in [&["n1"][..], &[], &["n3", "n2", "n1"], &["n1", "n2", "n3", "n4"]] {
            match reply(init(changed)) {
                Some(Payload::Error { code, text }) => {
                    assert_eq!(code, error_code::PRECONDITION_FAILED, "{changed:?}: {text}");
                    assert!(text.contains("[n1, n2, n3]"), "{text}");
                }
                other => panic!("{changed:?} got {other:?}"),
            }
        }
        assert_eq!(reply(init(&["n1", "n2", "n1"])).map(|p| error_code_of(Some(p))), Some(12));
        // A single node's membership is itself, named or not.
        let mut alone = Node::new(NodeConfig::default());
        for node_ids in [&["n1"][..], &[], &["n1"]] {
            let init = Payload::Init { node_id: "n1".into(), node_ids: ids(node_ids) };
            let sends = sends(&mut alone, 0, Input::Message(envelope(init)));
            assert_eq!(sends.into_iter().next().map(|e| e.body.payload), Some(Payload::InitOk));
        }
    }

    #[test]
    fn a_log_whose_last_snapshot_does_not_decode_recovers_whole_or_is_refused_never_panics() {
        // Proves a node rebuilt around an undecodable snapshot holds every committed write
        // (from the older snapshot, or from the log's start), and that no such log makes
        // `Node::recover` panic: storage either gives a whole base or refuses.
        use crate::storage::{self, CraftedLog};
        let config = NodeConfig { log: Some(LogConfig::default()), ..NodeConfig::default() };
        let both = [("x", "a1", 1), ("y", "b1", 1)];
        for synced_after_lsn in [3, 4] {
            // An older snapshot that decodes, then one that does not.
            let mut crafted = CraftedLog::with_an_undecodable_last_snapshot();
            crafted.commit(synced_after_lsn, 3, ("x", "a2", 2));
            let recovered = storage::recover(&mut crafted.log(), None).expect("recovers");
            let node = Node::recover(config.clone(), recovered, 0);
            assert_eq!(node.durable.store.read("x"), (Some("a2"), 2), "{synced_after_lsn}");
            assert_eq!(node.durable.store.read("y"), (Some("b1"), 1), "{synced_after_lsn}");
            let cursor = node.volatile.log.as_ref().expect("a logging node");
            assert_eq!(cursor.appended_lsn, crafted.lsn - 1, "goes on after the last record");
            assert_eq!(cursor.snapshots.len(), 1, "compaction never starts at the bad one");
            // No snapshot before it: the log's start.
            let mut crafted = CraftedLog::new(1);
            crafted
                .commit(0, 1, ("x", "a1", 1))
                .commit(1, 2, ("y", "b1", 1))
                .snapshot(2, &both, 1 << 20, false)
                .commit(synced_after_lsn - 1, 3, ("x", "a2", 2));
            let recovered = storage::recover(&mut crafted.log(), None).expect("recovers");
            let node = Node::recover(config.clone(), recovered, 0);
            assert_eq!(node.durable.store.read("x"), (Some("a2"), 2), "{synced_after_lsn}");
            assert_eq!(node.durable.store.read("y"), (Some("b1"), 1), "{synced_after_lsn}");
            // A compacted log: nothing whole to start from, refused before a node exists.
            let mut crafted = CraftedLog::new(5);
            crafted.snapshot(4, &both, 1 << 20, false).commit(
                synced_after_lsn + 1,
                3,
                ("x", "a2", 2),
            );
            let refused = storage::recover(&mut crafted.log(), None);
            assert!(matches!(refused, Err(storage::RecoverError::Damaged(_))), "{refused:?}");
        }
    }
}
