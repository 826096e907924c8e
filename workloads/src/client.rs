//! A client: a state machine that runs transactions against the store, one at a time,
//! and records each one's invocation and completion.
//!
//! It has the node's shape: `handle(now, envelope, outbox, records)`, `tick(now, ...)`,
//! `next_deadline()`, with `now` read from the client's own (possibly skewed) clock. It
//! never touches a real clock, a thread or OS randomness: the simulator drives it.
//!
//! Failure handling follows Jepsen. A lost `occ_begin` or `occ_read` is resent a bounded
//! number of times, then the transaction is recorded `fail` (no commit was ever sent, so
//! it definitely did not commit). An aborted transaction is retried as a new one. A commit
//! whose reply does not come is resent with the same `txn_id` a bounded number of times,
//! then recorded `info` (it may or may not have committed) and the process is retired: the
//! client continues under a new process id.

use std::collections::{BTreeMap, BTreeSet};

use node::protocol::{error_code, Body, Envelope, KeyValue, KeyVersion, Payload};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

use crate::history::{EventKind, Op, OpKind};
use crate::workload::{Generator, Instr, Program};

/// Timing and retry bounds of a client, in the client's own clock.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// How long to wait for a reply before resending.
    pub request_timeout_us: u64,
    /// Resends of a lost `occ_begin` or `occ_read` before the transaction fails.
    pub max_resends: u32,
    /// Resends of a commit whose reply is lost before it is recorded `info`.
    pub max_commit_resends: u32,
    /// Attempts of one logical transaction (the first plus retries after aborts).
    pub max_attempts: u32,
    /// Pause between transactions, drawn uniformly from `0..=think_us_max`.
    pub think_us_max: u64,
    /// Whether a commit's answer may leave out the per-key `versions` (a store written
    /// to the task this protocol comes from answers `committed` and `new_version` only):
    /// the versions are then derived where the protocol proves them (see
    /// [`derive_versions`]), and the commit is indeterminate where it does not. Off for
    /// the shipped store, which must name them.
    pub versions_optional: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout_us: 40_000,
            max_resends: 3,
            max_commit_resends: 3,
            max_attempts: 4,
            think_us_max: 2_000,
            versions_optional: false,
        }
    }
}

/// How a client uses the protocol's freedoms. The simulator draws one per client (fault
/// family `quirks`), so that the store's paths for such clients are exercised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quirk {
    /// Echoes every read in `read_versions`, under ids the store issued.
    #[default]
    Plain,
    /// Echoes each read with probability 1/2: the store must validate the reads it recorded.
    EchoSome,
    /// Echoes no read at all.
    EchoNone,
    /// Skips `occ_begin` and names its own transactions (echoing every read, since the
    /// store records nothing for an id it did not issue): commits are validated
    /// statelessly, as the protocol allows.
    OwnIds,
    /// Before one transaction in four, sends the store something it must refuse, repeat
    /// or ignore: an unknown type (error 10), a read without its fields (12), an `init`
    /// naming another node (22), the node's own `init` again (`init_ok`, as for a retried
    /// init; in a cluster sometimes with another membership, which gets 22), or a reply
    /// with its fields missing (no answer). Replies to probes are not waited for; the simulator's conformance
    /// check judges them.
    Prober,
}

/// Transactions a client leaves for the store's TTL to expire (fault family `expiry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Neglect {
    /// Out of 100: transactions left after their reads without a commit (recorded `fail`:
    /// no commit was sent, so none happened).
    pub abandon_percent: u32,
    /// Out of 100: commits held back for `stall_us` first.
    pub stall_percent: u32,
    pub stall_us: u64,
}

/// A history event before the simulator stamps it with its index and true time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub process: u64,
    pub kind: EventKind,
    pub txn_id: Option<String>,
    pub ops: Vec<Op>,
}

/// The next program of a client's source.
enum Drawn {
    Done,
    /// A program that runs, with its index in draw order.
    Kept(u64, Program),
    /// One drawn and skipped (not in `keep`).
    Skipped,
}

/// Where the programs come from.
pub enum Source {
    /// Draw `count` programs from a workload generator and run them, or only those whose
    /// index (from 0, in draw order) is in `keep`. Skipped programs are still drawn, so the
    /// programs kept are exactly what they were in the full run: this is what lets a
    /// shrinker delete transactions one by one.
    Generated { generator: Generator, count: u64, keep: Option<BTreeSet<u64>> },
    /// Run exactly these programs (the final read of a run).
    Fixed(Vec<Program>),
}

/// What a client tells the world about itself.
///
/// Two units are counted. An *attempt* is one invocation in the history (a retry after an
/// abort or a failure is a new attempt); a *logical transaction* is one program, run until
/// it commits, ends indeterminate, or is given up after its last attempt. Every attempt
/// ends in exactly one of `committed`, `aborted`, `failed`, `indeterminate`; every
/// finished logical transaction in exactly one of `committed`, `indeterminate`,
/// [`ClientStats::given_up`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Attempts that committed (`ok`); each ends its logical transaction.
    pub committed: u64,
    /// Attempts the store aborted on a conflict (`fail`, `committed: false`).
    pub aborted: u64,
    /// Attempts that failed otherwise (`fail`): a begin or read unanswered after its
    /// resends, an error reply that says nothing was committed, or a transaction the
    /// client abandoned before its commit ([`Neglect`]; not retried).
    pub failed: u64,
    /// Attempts whose commit got no definite answer (`info`); each ends its logical
    /// transaction (the process retires, the program is not retried).
    pub indeterminate: u64,
    /// Logical transactions finished (committed, indeterminate, or given up).
    pub finished: u64,
}

impl ClientStats {
    /// Logical transactions given up: their last allowed attempt aborted or failed, or the
    /// client abandoned them.
    /// Derived, not counted, so that sums of stats stay consistent.
    pub fn given_up(&self) -> u64 {
        self.finished - self.committed - self.indeterminate
    }

    /// Attempts that ended (every invocation the client completed).
    pub fn attempts(&self) -> u64 {
        self.committed + self.aborted + self.failed + self.indeterminate
    }
}

#[derive(Clone, Debug)]
enum Phase {
    /// Thinking until the given local time, then starting the next transaction.
    Idle {
        start_at_us: u64,
    },
    /// Waiting for the reply to `pending`.
    Waiting,
    /// Holding a commit back until the given local time (`Neglect::stall_percent`).
    Stalled {
        until_us: u64,
        commit: Payload,
    },
    Done,
}

/// The request in flight and every msg_id it was sent under (a late reply to an earlier
/// send answers the same request).
#[derive(Clone, Debug)]
struct Pending {
    payload: Payload,
    msg_ids: Vec<u64>,
    sends: u32,
    deadline_us: u64,
}

/// The transaction in progress.
#[derive(Clone, Debug)]
struct Txn {
    /// The program's index among those drawn.
    index: u64,
    program: Program,
    attempt: u32,
    txn_id: Option<String>,
    pc: usize,
    /// The transaction's view: values read from the store, overlaid by its own writes.
    view: BTreeMap<String, Option<String>>,
    read_versions: Vec<KeyVersion>,
    writes: Vec<KeyValue>,
    ops: Vec<Op>,
}

pub struct Client {
    address: String,
    /// The node this client's transactions go to now.
    node: String,
    /// Every node it may use, in the order it moves through them (see [`Client::with_failover`]).
    nodes: Vec<String>,
    process: u64,
    /// Added to `process` on retirement, so ids of all clients stay disjoint.
    process_stride: u64,
    config: ClientConfig,
    /// Draws programs; a stream of its own, so that skipping a program does not change
    /// the programs after it.
    programs: ChaCha8Rng,
    /// Think times are a hash of this key, the program's index and the attempt, not draws
    /// in sequence: deleting one transaction leaves every other's pause unchanged.
    timing_key: u64,
    source: Source,
    /// Programs drawn so far (run or skipped).
    drawn: u64,
    next_msg_id: u64,
    next_value: u64,
    phase: Phase,
    pending: Option<Pending>,
    txn: Option<Txn>,
    /// A transaction that failed definitely, to run again as a new one:
    /// (program index, program, attempt).
    retry: Option<(u64, Program, u32)>,
    stats: ClientStats,
    quirk: Quirk,
    neglect: Neglect,
    /// Draws for quirks and neglect; used only when one is on, so that a plain client
    /// runs exactly as it did before they existed.
    whims: Option<ChaCha8Rng>,
    /// Transactions named by this client itself (`Quirk::OwnIds`).
    own_ids: u64,
    /// Commits answered without per-key versions (see [`ClientConfig::versions_optional`]):
    /// those whose versions were derived, and those that stayed indeterminate.
    versions_derived: (u64, u64),
}

impl Client {
    /// `first_process` is this client's first history process id; after each retirement it
    /// grows by `process_stride`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        address: String,
        node: String,
        first_process: u64,
        process_stride: u64,
        config: ClientConfig,
        programs: ChaCha8Rng,
        mut timing: ChaCha8Rng,
        source: Source,
        start_at_us: u64,
    ) -> Client {
        assert!(process_stride > 0, "process ids of retired processes must not collide");
        Client {
            address,
            nodes: vec![node.clone()],
            node,
            process: first_process,
            process_stride,
            config,
            programs,
            timing_key: timing.next_u64(),
            source,
            drawn: 0,
            next_msg_id: 1,
            next_value: 0,
            phase: Phase::Idle { start_at_us },
            pending: None,
            txn: None,
            retry: None,
            stats: ClientStats::default(),
            quirk: Quirk::Plain,
            neglect: Neglect::default(),
            whims: None,
            own_ids: 0,
            versions_derived: (0, 0),
        }
    }

    /// Gives the client a quirk and neglect, with the stream their draws come from.
    pub fn with_whims(mut self, quirk: Quirk, neglect: Neglect, whims: ChaCha8Rng) -> Client {
        self.quirk = quirk;
        self.neglect = neglect;
        self.whims = Some(whims);
        self
    }

    /// Lets the client move on through `nodes` (a cluster's, starting after its own) when
    /// its node stays unreachable: a begin, read or commit unanswered through every
    /// resend ends the transaction as always (`fail`, or `info` for a commit), and the
    /// next one goes to the next node. A transaction belongs to the node that began it,
    /// so the one in progress is never moved.
    pub fn with_failover(mut self, nodes: Vec<String>) -> Client {
        if nodes.contains(&self.node) {
            self.nodes = nodes;
        }
        self
    }

    /// The node this client's requests go to now.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The node stayed unreachable: the next transaction goes to the next one.
    fn move_on(&mut self) {
        if self.nodes.len() < 2 {
            return;
        }
        let at = self.nodes.iter().position(|n| *n == self.node).unwrap_or(0);
        self.node = self.nodes[(at + 1) % self.nodes.len()].clone();
    }

    /// Draws `percent` out of 100 from the whims stream (never true without one).
    fn whim(&mut self, percent: u32) -> bool {
        percent > 0 && self.whims.as_mut().is_some_and(|rng| rng.gen_ratio(percent.min(100), 100))
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// The history process id the client currently runs under.
    pub fn process(&self) -> u64 {
        self.process
    }

    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// Commits answered without per-key versions: `(derived, not provable)`.
    pub fn versions_derived(&self) -> (u64, u64) {
        self.versions_derived
    }

    /// A one-line description of what the client is doing, for liveness reports, and the
    /// virtual time (µs) it waits for, if it waits for one: the line then reads
    /// `<what> until <time>`. The time stays a number so that the report can write it in
    /// its own unit.
    pub fn describe(&self) -> (String, Option<u64>) {
        let txn = self.txn.as_ref().and_then(|t| t.txn_id.clone()).unwrap_or_else(|| "-".into());
        match (&self.phase, &self.pending) {
            (Phase::Done, _) => (format!("{} done", self.address), None),
            (Phase::Idle { start_at_us }, _) => {
                (format!("{} idle", self.address), Some(*start_at_us))
            }
            (Phase::Waiting, Some(p)) => (
                format!(
                    "{} (process {}) waiting for the reply to {} of txn {txn}, sent {} times",
                    self.address,
                    self.process,
                    payload_name(&p.payload),
                    p.sends
                ),
                None,
            ),
            (Phase::Waiting, None) => (format!("{} waiting", self.address), None),
            (Phase::Stalled { until_us, .. }, _) => {
                (format!("{} holding a commit of txn {txn}", self.address), Some(*until_us))
            }
        }
    }

    pub fn next_deadline(&self) -> Option<u64> {
        match &self.phase {
            Phase::Idle { start_at_us } => Some(*start_at_us),
            Phase::Waiting => self.pending.as_ref().map(|p| p.deadline_us),
            Phase::Stalled { until_us, .. } => Some(*until_us),
            Phase::Done => None,
        }
    }

    /// Time passed: start the next transaction, or resend / give up on a lost reply.
    pub fn tick(&mut self, now_us: u64, outbox: &mut Vec<Envelope>, records: &mut Vec<Record>) {
        match self.phase {
            Phase::Idle { start_at_us } if now_us >= start_at_us => {
                self.start_next(now_us, outbox, records)
            }
            Phase::Stalled { until_us, ref commit } if now_us >= until_us => {
                let commit = commit.clone();
                self.send(now_us, commit, outbox);
            }
            Phase::Waiting => {
                let Some(pending) = &self.pending else { return };
                if now_us < pending.deadline_us {
                    return;
                }
                let is_commit = matches!(pending.payload, Payload::OccCommit { .. });
                let limit = if is_commit {
                    self.config.max_commit_resends
                } else {
                    self.config.max_resends
                };
                if pending.sends <= limit {
                    let payload = pending.payload.clone();
                    self.send(now_us, payload, outbox);
                } else if is_commit {
                    self.finish_indeterminate(now_us, records);
                    self.move_on();
                } else {
                    self.finish_failed(now_us, records);
                    self.move_on();
                }
            }
            _ => {}
        }
    }

    /// A message arrived. Replies to anything but the request in flight (duplicates, late
    /// answers to a request already given up on) are ignored.
    pub fn handle(
        &mut self,
        now_us: u64,
        envelope: Envelope,
        outbox: &mut Vec<Envelope>,
        records: &mut Vec<Record>,
    ) {
        let Some(pending) = self.take_answered(&envelope) else { return };
        match (pending.payload, envelope.body.payload) {
            (Payload::OccBegin, Payload::OccBeginOk { txn_id }) => {
                if let Some(txn) = &mut self.txn {
                    txn.txn_id = Some(txn_id);
                }
                self.run_program(now_us, outbox, records);
            }
            (Payload::OccRead { key, .. }, Payload::OccReadOk { value, version }) => {
                self.note_read(key, value, version);
                self.run_program(now_us, outbox, records);
            }
            (Payload::OccCommit { writes, read_versions, .. }, answer) => {
                self.commit_answered(now_us, &writes, &read_versions, answer, records)
            }
            // Any other answer (an error to a begin or read; a reply of the wrong type)
            // definitely did not commit anything.
            (_, _) => self.finish_failed(now_us, records),
        }
    }

    /// The request in flight, taken, if `envelope` answers it for good. A commit refused
    /// for now (error 11) leaves it in flight: that copy did not run, but another (a
    /// duplicate, a resend) still may, so the commit is resent under the same id when its
    /// timeout comes, and ends `info` if the resends run out, never `fail`.
    fn take_answered(&mut self, envelope: &Envelope) -> Option<Pending> {
        let in_reply_to = envelope.body.in_reply_to?;
        let pending = self.pending.as_ref().filter(|p| p.msg_ids.contains(&in_reply_to))?;
        let refused_for_now = matches!(
            (&pending.payload, &envelope.body.payload),
            (Payload::OccCommit { .. }, Payload::Error { code, .. })
                if *code == error_code::TEMPORARILY_UNAVAILABLE
        );
        if refused_for_now {
            return None;
        }
        self.pending.take()
    }

    /// A read of `key` answered `value` at `version`: the next instruction of the program
    /// sees it, and the commit names the version it read.
    fn note_read(&mut self, key: String, value: Option<String>, version: u64) {
        let Some(txn) = &mut self.txn else { return };
        txn.ops.push(Op {
            f: OpKind::Read,
            key: key.clone(),
            value: value.clone(),
            version: Some(version),
        });
        txn.read_versions.push(KeyVersion { key: key.clone(), version });
        txn.view.insert(key, value);
        txn.pc += 1;
    }

    /// The commit of `writes` (having read `read_versions`) got `answer`: the transaction
    /// ends committed, aborted, failed or of unknown outcome.
    fn commit_answered(
        &mut self,
        now_us: u64,
        writes: &[KeyValue],
        read_versions: &[KeyVersion],
        answer: Payload,
        records: &mut Vec<Record>,
    ) {
        match answer {
            Payload::OccCommitOk { committed: true, versions, new_version, .. }
                if versions.is_empty() && !writes.is_empty() && self.config.versions_optional =>
            {
                match derive_versions(writes, read_versions, new_version) {
                    Some(versions) => {
                        self.versions_derived.0 += 1;
                        self.finish_committed(now_us, &versions, records)
                    }
                    None => {
                        self.versions_derived.1 += 1;
                        self.finish_indeterminate(now_us, records)
                    }
                }
            }
            Payload::OccCommitOk { committed: true, versions, .. }
                if !names_each_written_key_once(writes, &versions) =>
            {
                // Another commit's answer (a store that reused an id): it says nothing of
                // this one, which may or may not have committed.
                self.finish_indeterminate(now_us, records)
            }
            Payload::OccCommitOk { committed: true, versions, .. } => {
                self.finish_committed(now_us, &versions, records)
            }
            Payload::OccCommitOk { committed: false, .. } => {
                self.stats.aborted += 1;
                self.finish_with(now_us, EventKind::Fail, records);
            }
            Payload::Error { code, .. } if error_code::is_indefinite(code) => {
                self.finish_indeterminate(now_us, records)
            }
            // An error that is not indefinite, or a reply of the wrong type: the commit
            // definitely did not run.
            _ => self.finish_failed(now_us, records),
        }
    }

    fn start_next(&mut self, now_us: u64, outbox: &mut Vec<Envelope>, records: &mut Vec<Record>) {
        // Only once the store has answered a commit: it is initialised, so an `init`
        // probe cannot be the first `init` it sees.
        if self.quirk == Quirk::Prober && self.stats.committed > 0 && self.whim(25) {
            self.probe(outbox);
        }
        if let Some((index, program, attempt)) = self.retry.take() {
            self.begin_attempt(now_us, index, program, attempt, outbox, records);
            return;
        }
        let (index, program) = loop {
            match self.draw_program() {
                Drawn::Done => {
                    self.phase = Phase::Done;
                    return;
                }
                Drawn::Kept(index, program) => break (index, program),
                Drawn::Skipped => self.whims_of_a_skipped_program(),
            }
        };
        self.begin_attempt(now_us, index, program, 1, outbox, records);
    }

    /// The next program in draw order, and whether it runs.
    fn draw_program(&mut self) -> Drawn {
        match &mut self.source {
            Source::Generated { generator, count, keep } => {
                if self.drawn >= *count {
                    return Drawn::Done;
                }
                let (rng, next_value, process) =
                    (&mut self.programs, &mut self.next_value, self.process);
                let mut fresh = || fresh_value(process, next_value);
                let program = generator.next_program(rng, &mut fresh);
                let index = self.drawn;
                self.drawn += 1;
                match keep.as_ref().is_none_or(|keep| keep.contains(&index)) {
                    true => Drawn::Kept(index, program),
                    false => Drawn::Skipped,
                }
            }
            Source::Fixed(programs) => {
                let Some(program) = programs.get(self.drawn as usize) else {
                    return Drawn::Done;
                };
                self.drawn += 1;
                Drawn::Kept(self.drawn - 1, program.clone())
            }
        }
    }

    /// The whims a skipped program would have drawn had it run and committed without a
    /// retry: its neglect at the commit, then the probe before the next program. Only a
    /// shrunk run skips programs; drawn all the same, the probes and neglect of the
    /// programs kept stay where they were in the full run, so that removing a transaction
    /// does not move (or lose) the probe or stall a failure needs (issue 20).
    fn whims_of_a_skipped_program(&mut self) {
        if !self.whim(self.neglect.abandon_percent) {
            self.whim(self.neglect.stall_percent);
        }
        if self.quirk == Quirk::Prober && self.stats.committed > 0 && self.whim(25) {
            self.probe_payload();
        }
    }

    fn begin_attempt(
        &mut self,
        now_us: u64,
        index: u64,
        program: Program,
        attempt: u32,
        outbox: &mut Vec<Envelope>,
        records: &mut Vec<Record>,
    ) {
        records.push(Record {
            process: self.process,
            kind: EventKind::Invoke,
            txn_id: None,
            ops: invocation_ops(&program),
        });
        self.txn = Some(Txn {
            index,
            program,
            attempt,
            txn_id: None,
            pc: 0,
            view: BTreeMap::new(),
            read_versions: Vec::new(),
            writes: Vec::new(),
            ops: Vec::new(),
        });
        self.phase = Phase::Waiting;
        if self.quirk == Quirk::OwnIds {
            self.own_ids += 1;
            let id = format!("{}-{}", self.address, self.own_ids);
            if let Some(txn) = &mut self.txn {
                txn.txn_id = Some(id);
            }
            self.run_program(now_us, outbox, records);
            return;
        }
        self.send(now_us, Payload::OccBegin, outbox);
    }

    /// Runs instructions that need no round trip, until the next read or the commit.
    fn run_program(&mut self, now_us: u64, outbox: &mut Vec<Envelope>, records: &mut Vec<Record>) {
        let Some(txn) = &mut self.txn else { return };
        let txn_id = txn.txn_id.clone().unwrap_or_default();
        while let Some(instr) = txn.program.instrs.get(txn.pc).cloned() {
            match instr {
                Instr::Read(key) => {
                    if let Some(value) = txn.writes.iter().rev().find(|w| w.key == key) {
                        // Served from the write buffer: the store is not asked.
                        txn.ops.push(Op {
                            f: OpKind::Read,
                            key,
                            value: Some(value.value.clone()),
                            version: None,
                        });
                        txn.pc += 1;
                        continue;
                    }
                    self.send(now_us, Payload::OccRead { txn_id, key }, outbox);
                    return;
                }
                Instr::Write(key, value) => buffer_write(txn, key, value),
                Instr::WriteAdd { key, delta, base } => {
                    let value = view_as_integer(txn, &key, base).saturating_add(delta);
                    buffer_write(txn, key, value.to_string());
                }
                Instr::RequireAtLeast { key, amount, base } => {
                    if view_as_integer(txn, &key, base) < amount {
                        txn.pc = txn.program.instrs.len();
                        continue;
                    }
                }
            }
            txn.pc += 1;
        }
        let (writes, mut read_versions) = (txn.writes.clone(), txn.read_versions.clone());
        match self.quirk {
            Quirk::EchoNone => read_versions.clear(),
            Quirk::EchoSome => read_versions.retain(|_| self.whim(50)),
            Quirk::Plain | Quirk::OwnIds | Quirk::Prober => {}
        }
        let payload = Payload::OccCommit { txn_id, writes, read_versions };
        if self.whim(self.neglect.abandon_percent) {
            // Left open: the store's TTL must clean it up.
            self.stats.failed += 1;
            self.stats.finished += 1;
            self.complete(now_us, EventKind::Fail, records);
            return;
        }
        if self.whim(self.neglect.stall_percent) {
            let until_us = now_us.saturating_add(self.neglect.stall_us);
            self.phase = Phase::Stalled { until_us, commit: payload };
            return;
        }
        self.send(now_us, payload, outbox);
    }

    /// Sends one probe (see [`Quirk::Prober`]), outside the request in flight.
    fn probe(&mut self, outbox: &mut Vec<Envelope>) {
        let payload = self.probe_payload();
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        outbox.push(Envelope {
            src: self.address.clone(),
            dest: self.node.clone(),
            body: Body { msg_id: Some(msg_id), in_reply_to: None, payload },
        });
    }

    /// What a probe sends (see [`Quirk::Prober`]), drawn from the whims stream.
    fn probe_payload(&mut self) -> Payload {
        let kind = self.whims.as_mut().map_or(0, |rng| rng.gen_range(0..5));
        match kind {
            0 => Payload::Unknown { type_name: "occ_frobnicate".into() },
            1 => Payload::Malformed { type_name: "occ_read".into(), reason: String::new() },
            2 => Payload::Init { node_id: format!("{}-impostor", self.node), node_ids: vec![] },
            3 => Payload::Malformed { type_name: "occ_read_ok".into(), reason: String::new() },
            _ => Payload::Init { node_id: self.node.clone(), node_ids: self.membership_probe() },
        }
    }

    /// The `node_ids` of an `init` probe naming the client's node: a node alone names
    /// itself (`init_ok`, as always). In a cluster one time in three the membership as
    /// it is (`init_ok`), else a changed one, which the node must refuse (22): the same
    /// nodes in another order, or the node alone.
    fn membership_probe(&mut self) -> Vec<String> {
        if self.nodes.len() < 2 {
            return vec![self.node.clone()];
        }
        let mut node_ids = self.nodes.clone();
        match self.whims.as_mut().map_or(0, |rng| rng.gen_range(0..3)) {
            0 => {}
            1 => node_ids.rotate_left(1),
            _ => node_ids = vec![self.node.clone()],
        }
        node_ids
    }

    fn send(&mut self, now_us: u64, payload: Payload, outbox: &mut Vec<Envelope>) {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        outbox.push(Envelope {
            src: self.address.clone(),
            dest: self.node.clone(),
            body: Body { msg_id: Some(msg_id), in_reply_to: None, payload: payload.clone() },
        });
        let deadline_us = now_us.saturating_add(self.config.request_timeout_us);
        match &mut self.pending {
            Some(p) if p.payload == payload => {
                p.msg_ids.push(msg_id);
                p.sends += 1;
                p.deadline_us = deadline_us;
            }
            _ => {
                self.pending =
                    Some(Pending { payload, msg_ids: vec![msg_id], sends: 1, deadline_us })
            }
        }
        self.phase = Phase::Waiting;
    }

    fn finish_committed(
        &mut self,
        now_us: u64,
        versions: &[KeyVersion],
        records: &mut Vec<Record>,
    ) {
        if let Some(txn) = &mut self.txn {
            // Only the last write of each key installed a version.
            for index in 0..txn.ops.len() {
                let op = &txn.ops[index];
                let is_last_write = op.f == OpKind::Write
                    && !txn.ops[index + 1..]
                        .iter()
                        .any(|o| o.f == OpKind::Write && o.key == op.key);
                if is_last_write {
                    let version = versions.iter().find(|v| v.key == op.key).map(|v| v.version);
                    txn.ops[index].version = version;
                }
            }
        }
        self.stats.committed += 1;
        self.stats.finished += 1;
        self.complete(now_us, EventKind::Ok, records);
    }

    fn finish_failed(&mut self, now_us: u64, records: &mut Vec<Record>) {
        self.stats.failed += 1;
        self.finish_with(now_us, EventKind::Fail, records);
    }

    /// Records a definite failure and retries the transaction as a new one, within bounds.
    fn finish_with(&mut self, now_us: u64, kind: EventKind, records: &mut Vec<Record>) {
        let Some(txn) = self.txn.clone() else { return };
        // `complete` goes idle for a think time, so a retry on a hot key backs off too.
        self.complete(now_us, kind, records);
        if txn.attempt < self.config.max_attempts {
            let mut program = txn.program;
            let (next_value, process) = (&mut self.next_value, self.process);
            program.refresh_values(|| fresh_value(process, next_value));
            self.retry = Some((txn.index, program, txn.attempt + 1));
        } else {
            self.stats.finished += 1;
        }
    }

    fn finish_indeterminate(&mut self, now_us: u64, records: &mut Vec<Record>) {
        self.stats.indeterminate += 1;
        self.stats.finished += 1;
        self.complete(now_us, EventKind::Info, records);
        // Jepsen's rule: a process with an operation of unknown outcome never issues
        // another one; a fresh process takes its place.
        self.process += self.process_stride;
    }

    /// Records the completion of the transaction in progress and goes idle.
    fn complete(&mut self, now_us: u64, kind: EventKind, records: &mut Vec<Record>) {
        self.pending = None;
        let Some(txn) = self.txn.take() else { return };
        let pause = self.think_us(txn.index, txn.attempt);
        records.push(Record { process: self.process, kind, txn_id: txn.txn_id, ops: txn.ops });
        self.phase = Phase::Idle { start_at_us: now_us + pause };
    }
}

impl Client {
    /// The pause after attempt `attempt` of program `index`, uniform in
    /// `0..=think_us_max`: SplitMix64 of the client's timing key, index and attempt.
    fn think_us(&self, index: u64, attempt: u32) -> u64 {
        let mut z = self.timing_key
            ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(attempt).wrapping_mul(0xD1B5_4A32_D192_ED03);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        z % (self.config.think_us_max + 1)
    }
}

/// Whether a committed answer's `versions` name exactly the keys of `writes`, each once
/// (the protocol lists every written key, sorted).
fn names_each_written_key_once(writes: &[KeyValue], versions: &[KeyVersion]) -> bool {
    let mut written: Vec<&str> = writes.iter().map(|w| w.key.as_str()).collect();
    written.sort_unstable();
    written.dedup();
    written.len() == versions.len() && written.iter().zip(versions).all(|(k, v)| *k == v.key)
}

/// The versions a commit that `committed` without naming them installed, where the
/// protocol proves them: a written key the commit also read (its version was validated as
/// current, so the write made it one more), and one written key left over when
/// `new_version`, the largest version installed, is above every other. `None` when some
/// written key's version is not proved, or `new_version` contradicts what is.
pub fn derive_versions(
    writes: &[KeyValue],
    read_versions: &[KeyVersion],
    new_version: Option<u64>,
) -> Option<Vec<KeyVersion>> {
    let mut keys: Vec<&str> = writes.iter().map(|w| w.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut versions = Vec::new();
    let mut unproved = None;
    for key in keys {
        match read_versions.iter().find(|r| r.key == key) {
            Some(read) => versions.push(KeyVersion { key: key.into(), version: read.version + 1 }),
            None if unproved.is_none() => unproved = Some(key),
            None => return None,
        }
    }
    let largest = versions.iter().map(|v| v.version).max();
    match (unproved, new_version) {
        (None, None) => {}
        (None, Some(new)) if largest == Some(new) => {}
        (Some(key), Some(new)) if largest.is_none_or(|l| l < new) => {
            versions.push(KeyVersion { key: key.into(), version: new });
            versions.sort_by(|a, b| a.key.cmp(&b.key));
        }
        _ => return None,
    }
    Some(versions)
}

/// A value no other process or transaction writes: `<process>.<sequence>`.
fn fresh_value(process: u64, next_value: &mut u64) -> String {
    *next_value += 1;
    format!("{process}.{next_value}")
}

fn buffer_write(txn: &mut Txn, key: String, value: String) {
    txn.ops.push(Op {
        f: OpKind::Write,
        key: key.clone(),
        value: Some(value.clone()),
        version: None,
    });
    txn.view.insert(key.clone(), Some(value.clone()));
    txn.writes.push(KeyValue { key, value });
}

/// The transaction's view of `key` as an integer; absent (or, after a store bug, not a
/// number) counts as `base`, so a client never panics on what the store returns.
fn view_as_integer(txn: &Txn, key: &str, base: i64) -> i64 {
    match txn.view.get(key) {
        Some(Some(value)) => value.parse().unwrap_or(base),
        _ => base,
    }
}

/// The operations as known when the transaction is invoked: reads without results, and
/// writes whose value depends on a read (`WriteAdd`) without a value.
fn invocation_ops(program: &Program) -> Vec<Op> {
    program
        .instrs
        .iter()
        .filter_map(|instr| match instr {
            Instr::Read(key) => Some(Op::read(key.clone())),
            Instr::Write(key, value) => Some(Op::write(key.clone(), value.clone())),
            Instr::WriteAdd { key, .. } => {
                Some(Op { f: OpKind::Write, key: key.clone(), value: None, version: None })
            }
            Instr::RequireAtLeast { .. } => None,
        })
        .collect()
}

fn payload_name(payload: &Payload) -> &'static str {
    match payload {
        Payload::OccBegin => "occ_begin",
        Payload::OccRead { .. } => "occ_read",
        Payload::OccCommit { .. } => "occ_commit",
        _ => "a request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn client(programs: Vec<Program>) -> Client {
        Client::new(
            "c1".into(),
            "n1".into(),
            3,
            10,
            ClientConfig::default(),
            ChaCha8Rng::seed_from_u64(1),
            ChaCha8Rng::seed_from_u64(2),
            Source::Fixed(programs),
            0,
        )
    }

    fn program(instrs: Vec<Instr>) -> Program {
        Program { instrs }
    }

    /// Steps the client at `now` and returns what it sent.
    fn tick(c: &mut Client, now: u64, records: &mut Vec<Record>) -> Vec<Envelope> {
        let mut out = Vec::new();
        c.tick(now, &mut out, records);
        out
    }

    fn reply(
        c: &mut Client,
        now: u64,
        to: &Envelope,
        payload: Payload,
        records: &mut Vec<Record>,
    ) -> Vec<Envelope> {
        let mut out = Vec::new();
        let body = Body { msg_id: Some(900), in_reply_to: to.body.msg_id, payload };
        c.handle(now, Envelope { src: "n1".into(), dest: "c1".into(), body }, &mut out, records);
        out
    }

    #[test]
    fn a_lost_commit_is_resent_with_the_same_txn_then_recorded_info_and_the_process_retired() {
        let mut records = Vec::new();
        let mut c = client(vec![program(vec![Instr::Write("x".into(), "v".into())])]);
        let begin = tick(&mut c, 0, &mut records).pop().expect("occ_begin");
        let commit =
            reply(&mut c, 10, &begin, Payload::OccBeginOk { txn_id: "t7".into() }, &mut records)
                .pop()
                .expect("occ_commit");
        let timeout = ClientConfig::default().request_timeout_us;
        for _ in 0..ClientConfig::default().max_commit_resends {
            let now = c.next_deadline().expect("waiting");
            let resent = tick(&mut c, now, &mut records).pop().expect("a resend");
            assert_eq!(resent.body.payload, commit.body.payload, "same txn_id and writes");
        }
        let now = c.next_deadline().unwrap();
        assert!(now >= 10 + timeout);
        assert!(tick(&mut c, now, &mut records).is_empty(), "gives up instead of resending");
        let kinds: Vec<(u64, EventKind)> = records.iter().map(|r| (r.process, r.kind)).collect();
        assert_eq!(kinds, [(3, EventKind::Invoke), (3, EventKind::Info)]);
        assert_eq!(c.process(), 13, "a fresh process id, one stride on");
        assert_eq!(c.stats().indeterminate, 1);
    }

    #[test]
    fn an_aborted_transaction_is_retried_as_a_new_one_with_fresh_values() {
        let mut records = Vec::new();
        let mut c = client(vec![program(vec![
            Instr::Read("x".into()),
            Instr::Write("x".into(), "old".into()),
        ])]);
        let begin = tick(&mut c, 0, &mut records).pop().unwrap();
        let read =
            reply(&mut c, 1, &begin, Payload::OccBeginOk { txn_id: "t1".into() }, &mut records)
                .pop()
                .unwrap();
        let commit =
            reply(&mut c, 2, &read, Payload::OccReadOk { value: None, version: 0 }, &mut records)
                .pop()
                .unwrap();
        let aborted = Payload::OccCommitOk {
            committed: false,
            new_version: None,
            versions: vec![],
            conflicts: vec![],
        };
        assert!(reply(&mut c, 3, &commit, aborted, &mut records).is_empty());
        assert_eq!(records.last().map(|r| r.kind), Some(EventKind::Fail));
        let retry_at = c.next_deadline().unwrap();
        assert!(matches!(
            tick(&mut c, retry_at, &mut records).pop().unwrap().body.payload,
            Payload::OccBegin
        ));
        let invoke = records.last().unwrap();
        assert_eq!(invoke.kind, EventKind::Invoke, "the retry is a new invocation");
        assert_ne!(
            invoke.ops[1].value.as_deref(),
            Some("old"),
            "with a value never written before"
        );
        assert_eq!(c.stats().aborted, 1);
    }

    #[test]
    fn a_transaction_aborted_on_every_attempt_counts_as_given_up_once() {
        // Attempts and logical transactions are separate units: four aborts, one give-up.
        let mut records = Vec::new();
        let mut c = client(vec![program(vec![Instr::Write("x".into(), "v".into())])]);
        let aborted = Payload::OccCommitOk {
            committed: false,
            new_version: None,
            versions: vec![],
            conflicts: vec![],
        };
        for attempt in 1..=ClientConfig::default().max_attempts {
            let now = c.next_deadline().expect("another attempt is due");
            let begin = tick(&mut c, now, &mut records).pop().expect("occ_begin");
            let begun = Payload::OccBeginOk { txn_id: format!("t{attempt}") };
            let commit = reply(&mut c, now, &begin, begun, &mut records).pop().expect("commit");
            reply(&mut c, now, &commit, aborted.clone(), &mut records);
        }
        let now = c.next_deadline().expect("idle, then done");
        assert!(tick(&mut c, now, &mut records).is_empty());
        assert!(c.is_done());
        let stats = c.stats();
        assert_eq!((stats.aborted, stats.attempts()), (4, 4));
        assert_eq!((stats.finished, stats.given_up()), (1, 1));
    }

    #[test]
    fn reads_of_own_writes_come_from_the_buffer_and_stale_replies_are_ignored() {
        let mut records = Vec::new();
        let mut c = client(vec![program(vec![
            Instr::Write("x".into(), "mine".into()),
            Instr::Read("x".into()),
        ])]);
        let begin = tick(&mut c, 0, &mut records).pop().unwrap();
        let sent =
            reply(&mut c, 1, &begin, Payload::OccBeginOk { txn_id: "t1".into() }, &mut records);
        assert!(matches!(sent[0].body.payload, Payload::OccCommit { .. }), "no occ_read was sent");
        // A duplicate of the begin reply answers nothing in flight.
        assert!(reply(
            &mut c,
            2,
            &begin,
            Payload::OccBeginOk { txn_id: "t9".into() },
            &mut records
        )
        .is_empty());
        let ok = Payload::OccCommitOk {
            committed: true,
            new_version: Some(1),
            versions: vec![KeyVersion { key: "x".into(), version: 1 }],
            conflicts: vec![],
        };
        reply(&mut c, 3, &sent[0], ok, &mut records);
        let done = records.last().unwrap();
        assert_eq!((done.kind, done.txn_id.as_deref()), (EventKind::Ok, Some("t1")));
        assert_eq!(done.ops[0].version, Some(1), "the write installed x@1");
        assert_eq!((done.ops[1].value.as_deref(), done.ops[1].version), (Some("mine"), None));
    }

    /// A client reading x and writing y, with a quirk and neglect, up to its commit (or
    /// what it does instead); returns what it sent last and the client.
    fn quirky(
        quirk: Quirk,
        neglect: Neglect,
        records: &mut Vec<Record>,
    ) -> (Vec<Envelope>, Client) {
        let mut c = client(vec![program(vec![
            Instr::Read("x".into()),
            Instr::Write("y".into(), "v".into()),
        ])])
        .with_whims(quirk, neglect, ChaCha8Rng::seed_from_u64(3));
        let mut sent = tick(&mut c, 0, records);
        if quirk != Quirk::OwnIds {
            let begin = sent.pop().expect("occ_begin");
            assert_eq!(begin.body.payload, Payload::OccBegin);
            sent = reply(&mut c, 5, &begin, Payload::OccBeginOk { txn_id: "t7".into() }, records);
        }
        let read = sent.pop().expect("occ_read");
        let value = Payload::OccReadOk { value: Some("1".into()), version: 4 };
        (reply(&mut c, 10, &read, value, records), c)
    }

    fn read_versions(sent: &[Envelope]) -> (String, Vec<KeyVersion>) {
        match &sent.last().expect("a commit").body.payload {
            Payload::OccCommit { txn_id, read_versions, .. } => {
                (txn_id.clone(), read_versions.clone())
            }
            other => panic!("not a commit: {other:?}"),
        }
    }

    #[test]
    fn quirky_clients_leave_reads_out_or_name_their_own_transactions() {
        let mut records = Vec::new();
        let (sent, _) = quirky(Quirk::EchoNone, Neglect::default(), &mut records);
        assert_eq!(read_versions(&sent), ("t7".to_string(), vec![]));
        let (sent, _) = quirky(Quirk::Plain, Neglect::default(), &mut records);
        assert_eq!(read_versions(&sent).1, [KeyVersion { key: "x".into(), version: 4 }]);
        // No occ_begin: the client's own id, and every read echoed.
        let (sent, _) = quirky(Quirk::OwnIds, Neglect::default(), &mut records);
        let (txn_id, reads) = read_versions(&sent);
        assert_eq!(txn_id, "c1-1");
        assert_eq!(reads.len(), 1);
    }

    #[test]
    fn a_neglectful_client_abandons_or_stalls_its_commit() {
        let mut records = Vec::new();
        let abandon = Neglect { abandon_percent: 100, ..Neglect::default() };
        let (sent, c) = quirky(Quirk::Plain, abandon, &mut records);
        assert!(sent.is_empty(), "no commit is sent: {sent:?}");
        assert_eq!(records.last().map(|r| r.kind), Some(EventKind::Fail));
        assert_eq!(c.stats().finished, 1);
        let stall = Neglect { stall_percent: 100, stall_us: 5_000, ..Neglect::default() };
        let (sent, mut c) = quirky(Quirk::Plain, stall, &mut records);
        assert!(sent.is_empty(), "the commit is held back");
        assert_eq!(c.next_deadline(), Some(10 + 5_000));
        let commit = tick(&mut c, 10 + 5_000, &mut records);
        assert_eq!(read_versions(&commit).0, "t7");
    }

    #[test]
    fn a_prober_sends_what_the_store_must_refuse_and_carries_on() {
        let mut records = Vec::new();
        let programs = (0..100).map(|_| program(vec![Instr::Read("x".into())])).collect();
        let mut c = client(programs).with_whims(
            Quirk::Prober,
            Neglect::default(),
            ChaCha8Rng::seed_from_u64(5),
        );
        let mut probes = Vec::new();
        for _ in 0..100 {
            let now = c.next_deadline().expect("more to do");
            let sent = tick(&mut c, now, &mut records);
            probes.extend(sent.iter().filter(|e| e.body.payload != Payload::OccBegin).cloned());
            let begin = sent.last().expect("occ_begin").clone();
            let read = reply(
                &mut c,
                now,
                &begin,
                Payload::OccBeginOk { txn_id: "t1".into() },
                &mut records,
            )
            .pop()
            .expect("occ_read");
            let value = Payload::OccReadOk { value: None, version: 0 };
            let commit = reply(&mut c, now, &read, value, &mut records).pop().expect("commit");
            let ok = Payload::OccCommitOk {
                committed: true,
                new_version: None,
                versions: vec![],
                conflicts: vec![],
            };
            reply(&mut c, now, &commit, ok, &mut records);
        }
        assert!(probes.len() >= 10, "about one transaction in four: {}", probes.len());
        let kinds: std::collections::BTreeSet<&str> =
            probes.iter().map(|p| p.body.payload.type_name()).collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        let inits = probes.iter().filter_map(|p| match &p.body.payload {
            Payload::Init { node_id, .. } => Some(node_id.as_str()),
            _ => None,
        });
        let inits: std::collections::BTreeSet<&str> = inits.collect();
        assert_eq!(inits, ["n1", "n1-impostor"].into(), "its own init again, and another's");
        assert_eq!(c.stats().committed, 100, "the probes change nothing else");
    }

    #[test]
    fn a_prober_in_a_cluster_sends_its_membership_as_it_is_and_changed() {
        // Its own init names the cluster as it is (init_ok), in another order, or the
        // node alone (both refused with 22).
        let mut records = Vec::new();
        let programs =
            (0..200).map(|_| program(vec![Instr::Write("x".into(), "v".into())])).collect();
        let cluster: Vec<String> = ["n1", "n2", "n3"].iter().map(|n| n.to_string()).collect();
        let mut c = client(programs).with_failover(cluster.clone()).with_whims(
            Quirk::Prober,
            Neglect::default(),
            ChaCha8Rng::seed_from_u64(5),
        );
        let mut memberships = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let now = c.next_deadline().expect("more to do");
            let sent = tick(&mut c, now, &mut records);
            for probe in &sent {
                if let Payload::Init { node_id, node_ids } = &probe.body.payload {
                    if node_id == "n1" {
                        memberships.insert(node_ids.join(" "));
                    }
                }
            }
            let begin = sent.last().expect("occ_begin").clone();
            let begun = Payload::OccBeginOk { txn_id: "t1".into() };
            let commit = reply(&mut c, now, &begin, begun, &mut records).pop().expect("commit");
            let ok = Payload::OccCommitOk {
                committed: true,
                new_version: Some(1),
                versions: vec![KeyVersion { key: "x".into(), version: 1 }],
                conflicts: vec![],
            };
            reply(&mut c, now, &commit, ok, &mut records);
        }
        let expected: std::collections::BTreeSet<String> =
            ["n1 n2 n3", "n2 n3 n1", "n1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(memberships, expected);
    }

    #[test]
    fn a_commit_refused_for_now_is_resent_and_never_recorded_failed() {
        // Error 11 answers one copy of a commit; a duplicate may still commit it.
        let mut records = Vec::new();
        let mut c = client(vec![program(vec![Instr::Write("x".into(), "v".into())])]);
        let begin = tick(&mut c, 0, &mut records).pop().unwrap();
        let commit =
            reply(&mut c, 10, &begin, Payload::OccBeginOk { txn_id: "t1".into() }, &mut records)
                .pop()
                .unwrap();
        let unavailable = Payload::Error { code: 11, text: "not initialised".into() };
        assert!(reply(&mut c, 20, &commit, unavailable, &mut records).is_empty());
        assert_eq!(records.len(), 1, "nothing recorded yet: {records:?}");
        let now = c.next_deadline().expect("waiting to resend");
        let resent = tick(&mut c, now, &mut records).pop().expect("the same commit again");
        assert_eq!(resent.body.payload, commit.body.payload);
    }

    #[test]
    fn a_client_whose_node_stays_unreachable_moves_on_to_the_next_node() {
        // Through every resend of a begin n1 says nothing: the attempt fails, and the
        // retry goes to n2. A single-node client never moves.
        let mut records = Vec::new();
        let programs = vec![program(vec![Instr::Read("x".into())])];
        let mut c = client(programs.clone()).with_failover(vec!["n1".into(), "n2".into()]);
        let first = tick(&mut c, 0, &mut records).pop().expect("a begin");
        assert_eq!(first.dest, "n1");
        let mut last = first;
        while records.len() < 2 {
            let now = c.next_deadline().expect("waiting");
            if let Some(sent) = tick(&mut c, now, &mut records).pop() {
                last = sent;
            }
        }
        assert_eq!(records[1].kind, EventKind::Fail, "{records:?}");
        assert_eq!(last.dest, "n1", "resends stay with the node");
        let now = c.next_deadline().expect("the retry");
        let retry = tick(&mut c, now, &mut records).pop().expect("a begin again");
        assert_eq!(retry.dest, "n2");
        assert_eq!(c.node(), "n2");
        let mut alone = client(programs).with_failover(vec!["n1".into()]);
        alone.move_on();
        assert_eq!(alone.node(), "n1");
    }

    #[test]
    fn versions_left_out_of_an_answer_are_derived_only_where_the_protocol_proves_them() {
        let kv = |k: &str| KeyValue { key: k.into(), value: "v".into() };
        let at = |k: &str, version: u64| KeyVersion { key: k.into(), version };
        // Read and written: validated as current, so installed one above.
        assert_eq!(derive_versions(&[kv("x")], &[at("x", 4)], Some(5)), Some(vec![at("x", 5)]));
        // One blind key left: new_version, when above every proved one.
        assert_eq!(
            derive_versions(&[kv("y"), kv("x"), kv("y")], &[at("x", 1)], Some(7)),
            Some(vec![at("x", 2), at("y", 7)])
        );
        assert_eq!(derive_versions(&[kv("x")], &[], Some(3)), Some(vec![at("x", 3)]));
        // Not proved: two blind keys, no new_version for the blind one, or new_version
        // not above the proved ones (it could be the blind key's, or not).
        assert_eq!(derive_versions(&[kv("x"), kv("y")], &[], Some(3)), None);
        assert_eq!(derive_versions(&[kv("x")], &[], None), None);
        assert_eq!(derive_versions(&[kv("x"), kv("y")], &[at("x", 6)], Some(7)), None);
        // A new_version that contradicts what is proved.
        assert_eq!(derive_versions(&[kv("x")], &[at("x", 4)], Some(9)), None);
    }
}
