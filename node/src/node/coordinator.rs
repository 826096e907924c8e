//! The coordinator's side of a cluster: the node a client talks to runs its transactions.
//!
//! - **Reads** of a key another node owns are forwarded to the owner (`occ_read`, node to
//!   node); the owner's answer is recorded in the open transaction and relayed.
//! - **A commit touching one shard** is the one-phase path: this node's own keys commit
//!   here as in a single node; another node's are forwarded to it as a stateless
//!   `occ_commit` carrying every read of its keys (the owner validates and applies at once,
//!   and its outcome table makes a resend idempotent). The answer is recorded here (an
//!   `Outcome` record) for the client's retries, and relayed.
//! - **A commit touching several shards** runs two-phase commit: `txn_prepare` to each
//!   participant (this node's part is prepared in place). All yes: the decision is
//!   appended (`Decided`) and only then, since every message waits for the records before
//!   it, are the participants told and the client answered. A no: the transaction aborts
//!   (its version conflicts go to the client, or error 30 when only a reservation stood in
//!   the way). No answer within [`PREPARE_TIMEOUT_US`] (prepares are resent meanwhile):
//!   it aborts, error 14.
//! - **Decisions are driven** until every participant acknowledged (`txn_decide_ok`), then
//!   forgotten (`Forgotten`); a restarted coordinator drives the ones it recovered.
//!
//! **States.** A two-phase commit is, at its coordinator, [`Phase::Collecting`] (an
//! [`InFlight`] commit: prepares out, votes coming in; volatile), then
//! [`Phase::Decided`] (a commit [`Decision`], durable, driven until acknowledged), then
//! [`Phase::Forgotten`] (its `Forgotten` record). An abort goes from collecting straight
//! to forgotten: under presumed abort nothing of it is kept but the client's answer.
//! Each transition asserts its rule: a commit is decided only on every part's yes, and
//! an abort never on those; no `txn_decide` "commit" leaves before the `Decided` record
//! is synced ([`assert_decision_durable`], where messages leave); a decision is
//! forgotten only once every participant acknowledged it.
//!
//! **Presumed abort.** Only commit decisions are recorded. A participant that asks about a
//! transaction with no recorded commit decision is told "abort"; one that asks while the
//! transaction is still collecting votes is not answered (the decision comes to it once
//! taken). This is safe because the coordinator writes the commit decision durably before
//! telling anyone: a coordinator that has no such record (it never decided, or crashed
//! before the record was durable) has told no participant "commit", and never will. A
//! decision is kept until every participant has applied it, so a participant in doubt
//! always finds it. "Never will" needs one more thing for ids a client named itself (a
//! restarted coordinator would validate a resend of such a commit anew): the presumed
//! abort is recorded as the id's outcome before the answer leaves.

use std::collections::{BTreeMap, BTreeSet};

use crate::io::Output;
use crate::outcomes::{Outcome, TxnKey, TxnRef};
use crate::protocol::{error_code, Conflict, KeyValue, KeyVersion, Payload};
use crate::wal;

use super::participant::Vote;
use super::{error, Node};

/// How long a coordinator waits for a participant's vote or an owner's answer, resending
/// every [`RESEND_US`], before it gives up.
pub const PREPARE_TIMEOUT_US: u64 = 200_000;
/// How often unanswered prepares, forwards and decisions are sent again.
pub const RESEND_US: u64 = 40_000;

/// A request this node forwarded, by the `msg_id` it went out under.
#[derive(Clone, Debug)]
pub enum Forward {
    /// A client's read of another node's key.
    Read { client: String, client_msg: Option<u64>, txn_id: String, key: String },
    /// A one-phase commit forwarded to the owner of every key it touches.
    Commit { txn_id: String },
}

/// A commit this node is carrying out for a client.
#[derive(Clone, Debug)]
pub struct InFlight {
    txn: TxnKey,
    client: String,
    /// Every copy of the commit that reached this node (resends, duplicates): each is
    /// answered, like any request.
    client_msgs: Vec<Option<u64>>,
    deadline_us: u64,
    resend_at_us: u64,
    /// Per node index: its part of the transaction (reads of its keys, writes to them)
    /// and, for two-phase commit, its vote once it came.
    parts: BTreeMap<usize, Part>,
    two_phase: bool,
}

#[derive(Clone, Debug)]
struct Part {
    reads: Vec<KeyVersion>,
    writes: Vec<KeyValue>,
    vote: Option<Vote>,
}

/// The coordinator's volatile state.
#[derive(Clone, Debug, Default)]
pub struct Coordinating {
    pub forwards: BTreeMap<u64, (Forward, u64)>,
    pub in_flight: BTreeMap<String, InFlight>,
}

/// A commit decision not yet acknowledged by every participant: durable.
#[derive(Clone, Debug)]
pub struct Decision {
    pub waiting_for: BTreeSet<String>,
    /// Volatile: when to tell them again.
    pub resend_at_us: u64,
    /// Volatile: the LSN of its `Decided` record, which every "commit" it sends waits
    /// for (0 when rebuilt by recovery: read from the disk, so durable).
    decided_lsn: u64,
}

impl Decision {
    /// A decision rebuilt from the log (a `Decided` record or a snapshot): driven again
    /// at once, since participants may not have heard of it.
    pub fn recovered(waiting_for: BTreeSet<String>) -> Decision {
        Decision { waiting_for, resend_at_us: 0, decided_lsn: 0 }
    }
}

/// Where a two-phase commit stands at its coordinator (see the module's **States**).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Prepares sent, votes coming in.
    Collecting,
    /// Commit decided and durable, not yet acknowledged by every participant.
    Decided,
    /// Neither: aborted, acknowledged by every participant, or never run here.
    Forgotten,
}

/// Where messages leave (released by a sync, or sent at once): a "commit" decision leaves
/// only once its `Decided` record is synced. The message was produced when `waits_for`
/// records were appended; a `Decided` record past that is a later decision on the same
/// id (a client-named id run again once its outcome expired), not this message's. Not
/// called for what a planted bug sends early (`Bug::CommitOnHint` and the bugs of
/// persist-before-send break exactly this rule).
pub fn assert_decision_durable(
    decisions: &BTreeMap<String, Decision>,
    payload: &Payload,
    waits_for: u64,
    synced_lsn: u64,
) {
    let Payload::TxnDecide { txn_id, committed: true } = payload else { return };
    // Forgotten since: every participant acknowledged it, so it was durable long ago.
    let Some(decision) = decisions.get(txn_id) else { return };
    assert!(
        decision.decided_lsn <= synced_lsn || decision.decided_lsn > waits_for,
        "txn_decide commit of {txn_id} leaves before its Decided record (LSN {}) is synced \
         (through {synced_lsn})",
        decision.decided_lsn
    );
}

impl Coordinating {
    /// (commits in flight, forwarded requests awaiting an answer): see
    /// [`super::TableSizes`]. Every field is named, so that a new table here does not
    /// compile until it is counted.
    pub fn sizes(&self) -> (usize, usize) {
        let Coordinating { forwards, in_flight } = self;
        (in_flight.len(), forwards.len())
    }

    pub fn next_deadline(&self) -> Option<u64> {
        let forwards = self.forwards.values().map(|(_, deadline)| *deadline);
        let in_flight = self.in_flight.values().map(|f| f.resend_at_us.min(f.deadline_us));
        forwards.chain(in_flight).min()
    }
}

impl Node {
    /// A client's read of `key`, which node `owner` holds: forwarded to it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn forward_read(
        &mut self,
        now_us: u64,
        client: String,
        client_msg: Option<u64>,
        owner: usize,
        txn_id: String,
        key: String,
        out: &mut Vec<Output>,
    ) {
        let dest = self.volatile.shards.name(owner).to_owned();
        let payload = Payload::OccRead { txn_id: txn_id.clone(), key: key.clone() };
        let msg_id = self.request(dest, payload, out);
        let deadline_us = now_us.saturating_add(self.config.txn_ttl_us);
        let forward = Forward::Read { client, client_msg, txn_id, key };
        self.volatile.coordinating.forwards.insert(msg_id, (forward, deadline_us));
    }

    /// A client's commit in a cluster, its reads and writes known: committed here if every
    /// key is this node's, else forwarded (one shard) or prepared (several). `None`: the
    /// answer comes later.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit_in_cluster(
        &mut self,
        now_us: u64,
        client: String,
        client_msg: Option<u64>,
        txn: TxnRef<'_>,
        txn_id: String,
        checks: Vec<KeyVersion>,
        writes: Vec<KeyValue>,
        out: &mut Vec<Output>,
    ) -> Option<Payload> {
        let mut parts: BTreeMap<usize, Part> = BTreeMap::new();
        let empty = || Part { reads: Vec::new(), writes: Vec::new(), vote: None };
        for read in checks {
            let owner = self.volatile.shards.owner(&read.key);
            parts.entry(owner).or_insert_with(empty).reads.push(read);
        }
        for write in crate::store::normalize(writes) {
            let owner = self.volatile.shards.owner(&write.key);
            parts.entry(owner).or_insert_with(empty).writes.push(write);
        }
        let me = self.volatile.shards.me();
        let two_phase = parts.len() > 1;
        let mut flight = InFlight {
            txn: txn.key(),
            client,
            client_msgs: vec![client_msg],
            deadline_us: now_us.saturating_add(PREPARE_TIMEOUT_US),
            resend_at_us: now_us.saturating_add(RESEND_US),
            parts,
            two_phase,
        };
        if two_phase {
            if let Some(local) = flight.parts.get_mut(&me) {
                let (reads, writes) = (local.reads.clone(), local.writes.clone());
                let coordinator = self.volatile.shards.name(me).to_owned();
                let vote = self.prepare(now_us, &coordinator, &txn_id, writes, reads, out);
                if let Some(local) = flight.parts.get_mut(&me) {
                    local.vote = Some(vote);
                }
            }
        }
        self.volatile.coordinating.in_flight.insert(txn_id.clone(), flight);
        self.send_parts(&txn_id, out);
        self.maybe_decide(now_us, &txn_id, out);
        None
    }

    /// Sends each part still waiting: a prepare (two-phase) or the forwarded commit.
    fn send_parts(&mut self, txn_id: &str, out: &mut Vec<Output>) {
        let Some(flight) = self.volatile.coordinating.in_flight.get(txn_id) else { return };
        let me = self.volatile.shards.me();
        let waiting: Vec<(usize, Part)> = flight
            .parts
            .iter()
            .filter(|(owner, part)| **owner != me && part.vote.is_none())
            .map(|(owner, part)| (*owner, part.clone()))
            .collect();
        let two_phase = flight.two_phase;
        for (owner, part) in waiting {
            let dest = self.volatile.shards.name(owner).to_owned();
            let txn_id = txn_id.to_owned();
            if two_phase {
                let payload =
                    Payload::TxnPrepare { txn_id, writes: part.writes, read_versions: part.reads };
                self.request(dest, payload, out);
            } else {
                let payload = Payload::OccCommit {
                    txn_id: txn_id.clone(),
                    writes: part.writes,
                    read_versions: part.reads,
                };
                let msg_id = self.request(dest, payload, out);
                let deadline_us = self.volatile.coordinating.in_flight[&txn_id].deadline_us;
                self.volatile
                    .coordinating
                    .forwards
                    .insert(msg_id, (Forward::Commit { txn_id }, deadline_us));
            }
        }
    }

    /// Another copy of a commit in flight: it is answered with the first, when the
    /// answer comes.
    pub(super) fn commit_again(&mut self, txn_id: &str, client_msg: Option<u64>) -> bool {
        match self.volatile.coordinating.in_flight.get_mut(txn_id) {
            Some(flight) => {
                flight.client_msgs.push(client_msg);
                true
            }
            None => false,
        }
    }

    /// Answers every copy of `flight`'s commit with `payload`.
    fn answer_flight(&mut self, flight: InFlight, payload: Payload, out: &mut Vec<Output>) {
        for client_msg in flight.client_msgs {
            self.reply(flight.client.clone(), client_msg, payload.clone(), out);
        }
    }

    /// A participant's vote on `txn_id` came in.
    pub(super) fn vote_came(
        &mut self,
        now_us: u64,
        from: &str,
        txn_id: String,
        vote: Vote,
        out: &mut Vec<Output>,
    ) {
        let Some(index) = self.volatile.shards.index_of(from) else { return };
        if let Some(flight) = self.volatile.coordinating.in_flight.get_mut(&txn_id) {
            if let Some(part) = flight.parts.get_mut(&index).filter(|_| flight.two_phase) {
                part.vote.get_or_insert(vote);
            }
            self.maybe_decide(now_us, &txn_id, out);
            return;
        }
        // A late vote (a resent prepare's, or an earlier life's) for a transaction not in
        // flight here. A commit decision still on record is being driven; one forgotten
        // was applied by every participant. Otherwise it aborted, or was never decided
        // and is presumed to have (recorded for a client-named id before it is said):
        // that participant is told, since this copy of the prepare reserved.
        if vote.yes && !self.decision_on_record(now_us, &txn_id, out) {
            let payload = Payload::TxnDecide { txn_id, committed: false };
            self.request(from.to_owned(), payload, out);
        }
    }

    /// Decides `txn_id` once every vote is in, or the first no.
    fn maybe_decide(&mut self, now_us: u64, txn_id: &str, out: &mut Vec<Output>) {
        let Some(flight) = self.volatile.coordinating.in_flight.get(txn_id) else { return };
        if !flight.two_phase {
            return;
        }
        let votes: Vec<&Vote> = flight.parts.values().filter_map(|p| p.vote.as_ref()).collect();
        if votes.iter().any(|v| !v.yes) {
            let mut conflicts: Vec<Conflict> =
                votes.iter().flat_map(|v| v.conflicts.clone()).collect();
            conflicts.sort_by(|a, b| a.key.cmp(&b.key).then(a.expected.cmp(&b.expected)));
            conflicts.dedup();
            self.abort_in_flight(now_us, txn_id, conflicts, out);
        } else if votes.len() == flight.parts.len() {
            self.commit_decided(now_us, txn_id, out);
        }
    }

    /// Every participant voted yes: the decision is recorded, then everyone is told
    /// (Collecting -> Decided).
    fn commit_decided(&mut self, now_us: u64, txn_id: &str, out: &mut Vec<Output>) {
        debug_assert_eq!(self.coordinator_phase(txn_id), Phase::Collecting, "{txn_id}");
        let Some(flight) = self.volatile.coordinating.in_flight.remove(txn_id) else { return };
        assert!(flight.two_phase, "{txn_id}: only a two-phase commit is decided");
        assert!(
            flight.parts.values().all(|p| p.vote.as_ref().is_some_and(|v| v.yes)),
            "{txn_id}: commit decided without every part's yes"
        );
        let me = self.volatile.shards.me();
        let mut versions: Vec<KeyVersion> = flight
            .parts
            .values()
            .filter_map(|p| p.vote.as_ref())
            .flat_map(|v| v.versions.clone())
            .collect();
        versions.sort_by(|a, b| a.key.cmp(&b.key));
        let participants: Vec<String> = flight
            .parts
            .keys()
            .filter(|&&owner| owner != me)
            .map(|&owner| self.volatile.shards.name(owner).to_owned())
            .collect();
        let deadline_us = self.durable.outcomes.deadline_for(now_us);
        let outcome = Outcome::Committed(versions.clone());
        let key = flight.txn.clone();
        self.append(out, |lsn| {
            wal::encode_decided(lsn, &key, txn_id, &participants, &versions, deadline_us)
        });
        let reply = outcome.to_payload();
        self.durable.outcomes.insert(flight.txn.as_ref(), outcome, deadline_us);
        let decision = Decision {
            waiting_for: participants.iter().cloned().collect(),
            resend_at_us: now_us.saturating_add(RESEND_US),
            decided_lsn: self.volatile.log.as_ref().map_or(0, |log| log.appended_lsn),
        };
        self.durable.decisions.insert(txn_id.to_owned(), decision);
        for participant in participants {
            let payload = Payload::TxnDecide { txn_id: txn_id.to_owned(), committed: true };
            self.request(participant, payload, out);
        }
        if flight.parts.contains_key(&me) {
            self.resolve(now_us, txn_id, true, out);
        }
        if self.durable.decisions.get(txn_id).is_some_and(|d| d.waiting_for.is_empty()) {
            self.forget(txn_id, out);
        }
        debug_assert_eq!(self.coordinator_phase(txn_id), Phase::Decided, "{txn_id}");
        self.answer_flight(flight, reply, out);
    }

    /// `txn_id` aborts: participants that may have prepared are told, and the client gets
    /// the conflicts (remembered for its retries), or a definite error if none was named.
    fn abort_in_flight(
        &mut self,
        now_us: u64,
        txn_id: &str,
        conflicts: Vec<Conflict>,
        out: &mut Vec<Output>,
    ) {
        let Some(flight) = self.volatile.coordinating.in_flight.remove(txn_id) else { return };
        // Collecting -> Forgotten. A transaction every part voted yes for was decided at
        // once (`maybe_decide`), so it never gets here.
        assert!(flight.two_phase, "{txn_id}: only a two-phase commit aborts in flight");
        assert!(
            !flight.parts.values().all(|p| p.vote.as_ref().is_some_and(|v| v.yes)),
            "{txn_id}: aborted although every part voted yes"
        );
        // Remembered, like every definite answer: a copy of the commit arriving later must
        // not start the transaction again. Recorded before anyone is told (every message
        // waits for the records before it): a participant told "abort" by a coordinator
        // that then crashed must never meet a second attempt of the same client-named id
        // that the coordinator forgot it aborted.
        let unexplained = conflicts.is_empty();
        let recorded = self.record_outcome(now_us, &flight.txn, Outcome::Aborted(conflicts), out);
        let me = self.volatile.shards.me();
        for (&owner, part) in &flight.parts {
            if owner == me {
                self.resolve(now_us, txn_id, false, out);
            } else if flight.two_phase && part.vote.as_ref().is_none_or(|v| v.yes) {
                let dest = self.volatile.shards.name(owner).to_owned();
                let payload = Payload::TxnDecide { txn_id: txn_id.to_owned(), committed: false };
                self.request(dest, payload, out);
            }
        }
        // An abort with no conflict to name is answered with an error (30 for a
        // reservation; 14 the first time, for a missing vote).
        let voted = flight.parts.values().all(|p| p.vote.is_some());
        let reply = match unexplained && !voted {
            true => error(
                error_code::ABORT,
                format!("transaction {txn_id} aborted: a participant did not answer its prepare"),
            ),
            false => recorded,
        };
        self.answer_flight(flight, reply, out);
    }

    /// The owner answered a forwarded one-phase commit: recorded, relayed.
    pub(super) fn forwarded_commit_answered(
        &mut self,
        now_us: u64,
        txn_id: &str,
        answer: Payload,
        out: &mut Vec<Output>,
    ) {
        let outcome = match &answer {
            Payload::OccCommitOk { committed: true, versions, .. } => {
                Outcome::Committed(versions.clone())
            }
            Payload::OccCommitOk { committed: false, conflicts, .. } => {
                Outcome::Aborted(conflicts.clone())
            }
            // The owner is not initialised yet: the resend will try again.
            Payload::Error { code, .. } if *code == error_code::TEMPORARILY_UNAVAILABLE => return,
            _ => {
                if let Some(flight) = self.volatile.coordinating.in_flight.remove(txn_id) {
                    self.answer_flight(flight, answer, out);
                }
                return;
            }
        };
        let Some(flight) = self.volatile.coordinating.in_flight.remove(txn_id) else { return };
        let reply = self.record_outcome(now_us, &flight.txn, outcome, out);
        self.answer_flight(flight, reply, out);
    }

    /// Remembers `outcome` as `txn`'s answer to its retries: its `Outcome` record is
    /// appended first, so every message after it waits until it is durable. The answer
    /// that says it.
    fn record_outcome(
        &mut self,
        now_us: u64,
        txn: &TxnKey,
        outcome: Outcome,
        out: &mut Vec<Output>,
    ) -> Payload {
        let deadline_us = self.durable.outcomes.deadline_for(now_us);
        self.append(out, |lsn| wal::encode_outcome(lsn, txn, deadline_us, &outcome));
        let reply = outcome.to_payload();
        self.durable.outcomes.insert(txn.as_ref(), outcome, deadline_us);
        reply
    }

    /// A participant acknowledged the decision on `txn_id`.
    pub(super) fn decision_acknowledged(
        &mut self,
        from: &str,
        txn_id: &str,
        out: &mut Vec<Output>,
    ) {
        let Some(decision) = self.durable.decisions.get_mut(txn_id) else { return };
        decision.waiting_for.remove(from);
        if decision.waiting_for.is_empty() {
            self.forget(txn_id, out);
        }
    }

    /// `Bug::ForgetUnackedDecision`: decisions whose outcome expired are forgotten,
    /// whoever has not acknowledged them yet.
    fn planted_forget_expired_decisions(&mut self, out: &mut Vec<Output>) {
        if !self.planted(crate::Bug::ForgetUnackedDecision) {
            return;
        }
        let expired: Vec<String> = (self.durable.decisions.keys())
            .filter(|id| self.durable.outcomes.get(self.txn_ref(id)).is_none())
            .cloned()
            .collect();
        for txn_id in expired {
            // Not `forget`: its assertion is exactly the rule this bug breaks.
            self.write_forgotten(&txn_id, out);
        }
    }

    /// `Bug::ForgetDecisionOnRestart`: a commit outcome on record is not taken for a
    /// commit decision (the bug lost the decisions, and the outcomes say the same).
    fn planted_distrusts_outcomes(&self) -> bool {
        self.planted(crate::Bug::ForgetDecisionOnRestart)
    }

    /// Decided -> Forgotten, once every participant acknowledged the decision.
    fn forget(&mut self, txn_id: &str, out: &mut Vec<Output>) {
        let decision = self.durable.decisions.get(txn_id);
        assert!(
            decision.is_some_and(|d| d.waiting_for.is_empty()),
            "{txn_id}: a decision is forgotten only once every participant acknowledged it"
        );
        self.write_forgotten(txn_id, out);
    }

    fn write_forgotten(&mut self, txn_id: &str, out: &mut Vec<Output>) {
        self.durable.decisions.remove(txn_id);
        self.append(out, |lsn| wal::encode_forgotten(lsn, txn_id));
    }

    /// Where `txn_id` stands here as a two-phase commit's coordinator.
    pub(super) fn coordinator_phase(&self, txn_id: &str) -> Phase {
        let collecting = self.volatile.coordinating.in_flight.get(txn_id);
        if collecting.is_some_and(|f| f.two_phase) {
            Phase::Collecting
        } else if self.durable.decisions.contains_key(txn_id) {
            Phase::Decided
        } else {
            Phase::Forgotten
        }
    }

    /// A participant in doubt asks about `txn_id`: commit only if a commit decision is on
    /// record, otherwise abort (presumed abort). A transaction still collecting votes gets
    /// no answer: its decision goes to every part that voted yes once it is taken (by the
    /// prepare timeout at the latest), and the participant asks again meanwhile. Aborting
    /// it here instead would abort every two-phase commit whose votes take longer to
    /// gather than the participant waits before asking: with a slow link or a short
    /// `query_after_us`, none would ever commit.
    pub(super) fn answer_query(
        &mut self,
        now_us: u64,
        txn_id: &str,
        out: &mut Vec<Output>,
    ) -> Option<Payload> {
        if self.coordinator_phase(txn_id) == Phase::Collecting {
            return None;
        }
        let committed = self.decision_on_record(now_us, txn_id, out);
        Some(Payload::TxnQueryOk { txn_id: txn_id.to_owned(), committed })
    }

    /// Whether `txn_id`, not in flight here, committed: only if a commit decision (or its
    /// outcome) is on record. Otherwise it is presumed aborted, and for a client-named id
    /// that presumption is recorded first (durably, before any message that says it
    /// leaves): a resend of its commit would be validated anew and could commit what a
    /// participant was told is aborted. Own ids need nothing: one issued before a restart
    /// is never validated again.
    fn decision_on_record(&mut self, now_us: u64, txn_id: &str, out: &mut Vec<Output>) -> bool {
        let trusts_outcomes = !self.planted_distrusts_outcomes();
        let known = self.durable.outcomes.get(self.txn_ref(txn_id));
        let committed = self.durable.decisions.contains_key(txn_id)
            || trusts_outcomes && matches!(known, Some(Outcome::Committed(_)));
        if !committed && known.is_none() {
            if let txn @ TxnRef::Foreign(_) = self.txn_ref(txn_id) {
                self.record_outcome(now_us, &txn.key(), Outcome::Aborted(Vec::new()), out);
            }
        }
        committed
    }

    /// Time passed: resend what waits for an answer, give up on what waited too long,
    /// drive decisions, ask about transactions in doubt.
    pub(super) fn cluster_tick(&mut self, now_us: u64, out: &mut Vec<Output>) {
        let coordinating = &mut self.volatile.coordinating;
        coordinating.forwards.retain(|_, (_, deadline)| *deadline > now_us);
        let due: Vec<String> = coordinating
            .in_flight
            .iter()
            .filter(|(_, f)| f.resend_at_us <= now_us || f.deadline_us <= now_us)
            .map(|(id, _)| id.clone())
            .collect();
        for txn_id in due {
            let flight = &self.volatile.coordinating.in_flight[&txn_id];
            if flight.deadline_us <= now_us {
                if flight.two_phase {
                    self.abort_in_flight(now_us, &txn_id, Vec::new(), out);
                } else if let Some(flight) = self.volatile.coordinating.in_flight.remove(&txn_id) {
                    // The owner may have committed it: only "unknown" is true.
                    let text = format!("the owner of {txn_id}'s keys did not answer: it may or may not have committed");
                    self.answer_flight(flight, error(error_code::TXN_STATE_EXPIRED, text), out);
                }
                continue;
            }
            if let Some(flight) = self.volatile.coordinating.in_flight.get_mut(&txn_id) {
                flight.resend_at_us = now_us.saturating_add(RESEND_US);
            }
            self.send_parts(&txn_id, out);
        }
        self.planted_forget_expired_decisions(out);
        let decisions: Vec<(String, Vec<String>)> = self
            .durable
            .decisions
            .iter()
            .filter(|(_, d)| d.resend_at_us <= now_us)
            .map(|(id, d)| (id.clone(), d.waiting_for.iter().cloned().collect()))
            .collect();
        for (txn_id, participants) in decisions {
            if let Some(d) = self.durable.decisions.get_mut(&txn_id) {
                d.resend_at_us = now_us.saturating_add(RESEND_US);
            }
            for participant in participants {
                let payload = Payload::TxnDecide { txn_id: txn_id.clone(), committed: true };
                self.request(participant, payload, out);
            }
        }
        self.ask_about_doubts(now_us, out);
    }
}
