//! Two-phase commit, the participant's side: a node that owns some of a transaction's
//! keys, asked by the transaction's coordinator.
//!
//! - **Prepare** (`txn_prepare`): validate the read versions of this node's keys, check
//!   that no other prepared transaction holds a conflicting reservation, then reserve the
//!   keys (a write reservation on each written key, a read reservation on each key read),
//!   append a `Prepared` record and vote yes. The vote is a reply, so it leaves only once
//!   the record is durable. Otherwise vote no, with the version conflicts (none when it
//!   was only a reservation that stood in the way).
//! - **Decide** (`txn_decide`, or the answer to a `txn_query`): apply the prepared writes at
//!   the versions the vote promised (the reservations kept them current) or release, append
//!   a `Resolved` record, acknowledge.
//! - **In doubt**: a transaction prepared here for the node's `query_after_us` (default
//!   [`QUERY_AFTER_US`]) without a decision (the coordinator's message was lost, or it
//!   crashed, or this node restarted) makes this node ask the coordinator, as often,
//!   until it answers.
//!
//! **How a reservation ends.** Only by the coordinator's decision: commit (applied) or
//! abort (released). Never on a timeout: a prepared transaction may have been committed
//! by its coordinator, and releasing its keys would let another transaction slip between
//! its validation and its writes. What keeps this from blocking forever is that conflicts
//! never wait: a prepare or a commit that needs a reserved key is refused at once (the
//! transaction aborts and its client retries), and the liveness phase heals the network
//! and restarts every node, so every in-doubt transaction's coordinator answers.
//!
//! **States.** A transaction's part here is [`PartPhase::Reserved`] from its `Prepared`
//! record (a yes vote) until its decision, then [`PartPhase::Resolved`] (applied or
//! released, remembered for the outcome TTL), then absent again. A no vote reserves
//! nothing and leaves no state. Each transition asserts its rule: a yes vote leaves only
//! once its `Prepared` record is synced ([`assert_vote_durable`], where messages leave);
//! a reservation ends only in [`Node::resolve`]'s transition, which takes the decision,
//! and is still whole when the in-doubt timer fires ([`Node::ask_about_doubts`]).
//!
//! Reservations are durable state: recovery rebuilds them from the `Prepared` records not
//! yet `Resolved` (and snapshots), so a restart never frees a prepared transaction's keys.
//! A participant remembers how each transaction it prepared ended (until the outcome TTL),
//! so a prepare or a decision that arrives again (a resend, a duplicate) never reserves or
//! applies twice.

use std::collections::{BTreeMap, BTreeSet};

use crate::io::Output;
use crate::outcomes::{Outcome, Outcomes, TxnKey, TxnRef};
use crate::protocol::{Conflict, KeyValue, KeyVersion, Payload};
use crate::store::normalize;
use crate::wal::{self, PreparedTxn};

use super::Node;

/// How long a participant waits for a decision before it asks the coordinator, and then
/// between asks: the default of `NodeConfig::query_after_us`.
pub const QUERY_AFTER_US: u64 = 100_000;

/// The reservations held on one key by prepared transactions.
#[derive(Clone, Debug, Default)]
struct Reservation {
    writer: Option<String>,
    readers: BTreeSet<String>,
}

/// A transaction prepared here, and when to ask its coordinator about it.
#[derive(Clone, Debug)]
struct InDoubt {
    prepared: PreparedTxn,
    /// Volatile: when to ask next (at once after a restart).
    ask_at_us: u64,
    /// Volatile: the LSN of its `Prepared` record, which its yes vote waits for (0 when
    /// rebuilt by recovery: read from the disk, so durable).
    prepared_lsn: u64,
}

/// Where a transaction stands at this participant (see the module's **States**).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartPhase {
    /// Prepared here, its keys reserved, waiting for the decision.
    Reserved,
    /// Its decision came: applied (`committed`) or released, and remembered.
    Resolved { committed: bool },
    /// Nothing here: never prepared (or voted no), or resolved longer ago than the
    /// outcome TTL.
    Absent,
}

/// The participant's durable state.
#[derive(Clone, Debug)]
pub struct Participant {
    prepared: BTreeMap<String, InDoubt>,
    reservations: BTreeMap<String, Reservation>,
    /// How each transaction prepared here ended, by its id (`TxnKey::Foreign`).
    pub outcomes: Outcomes,
}

/// A vote, as the coordinator keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub yes: bool,
    pub versions: Vec<KeyVersion>,
    pub conflicts: Vec<Conflict>,
}

impl Vote {
    pub fn payload(self, txn_id: String) -> Payload {
        Payload::TxnPrepareOk {
            txn_id,
            vote: self.yes,
            versions: self.versions,
            conflicts: self.conflicts,
        }
    }
}

impl Participant {
    pub fn new(outcome_ttl_us: u64) -> Participant {
        Participant {
            prepared: BTreeMap::new(),
            reservations: BTreeMap::new(),
            outcomes: Outcomes::new(outcome_ttl_us),
        }
    }

    /// Whether a transaction (`txn_id`, `None` for a plain commit) that reads `reads` and
    /// writes `writes` conflicts with a reservation of another one: the key, if so.
    pub fn conflict<'a>(
        &self,
        txn_id: Option<&str>,
        reads: impl IntoIterator<Item = &'a str>,
        writes: impl IntoIterator<Item = &'a str>,
    ) -> Option<String> {
        if self.reservations.is_empty() {
            return None;
        }
        let other = |holder: &String| Some(holder.as_str()) != txn_id;
        for key in writes {
            if let Some(r) = self.reservations.get(key) {
                if r.writer.as_ref().is_some_and(other) || r.readers.iter().any(other) {
                    return Some(key.to_owned());
                }
            }
        }
        for key in reads {
            if let Some(r) = self.reservations.get(key) {
                if r.writer.as_ref().is_some_and(other) {
                    return Some(key.to_owned());
                }
            }
        }
        None
    }

    /// Whether a prepared transaction will write `key`.
    pub fn is_written_by_prepared(&self, key: &str) -> bool {
        !self.reservations.is_empty()
            && self.reservations.get(key).is_some_and(|r| r.writer.is_some())
    }

    /// Planted bug `refuse-reads-while-prepared`: whether anything is prepared here at
    /// all. Named `planted*` so that a mutation run leaves it out.
    pub fn planted_any_prepared(&self) -> bool {
        !self.reservations.is_empty()
    }

    /// Where `txn_id` stands here.
    pub fn phase(&self, txn_id: &str) -> PartPhase {
        if self.prepared.contains_key(txn_id) {
            return PartPhase::Reserved;
        }
        match self.outcomes.get(TxnRef::Foreign(txn_id)) {
            Some(Outcome::Committed(_)) => PartPhase::Resolved { committed: true },
            Some(Outcome::Aborted(_)) => PartPhase::Resolved { committed: false },
            None => PartPhase::Absent,
        }
    }

    /// Whether every reservation `txn_id`'s prepared part took is still held for it.
    fn holds_whole(&self, txn_id: &str) -> bool {
        let Some(doubt) = self.prepared.get(txn_id) else { return false };
        let held = |key: &String| self.reservations.get(key);
        let reads = doubt
            .prepared
            .reads
            .iter()
            .all(|r| held(&r.key).is_some_and(|h| h.readers.contains(txn_id)));
        let writes = doubt
            .prepared
            .writes
            .iter()
            .all(|w| held(&w.key).is_some_and(|h| h.writer.as_deref() == Some(txn_id)));
        reads && writes
    }

    /// Holds `prepared`'s reservations for `txn_id`, whose `Prepared` record is at
    /// `prepared_lsn`.
    fn hold(&mut self, txn_id: &str, prepared: PreparedTxn, ask_at_us: u64, prepared_lsn: u64) {
        for r in &prepared.reads {
            self.reservations.entry(r.key.clone()).or_default().readers.insert(txn_id.to_owned());
        }
        for w in &prepared.writes {
            self.reservations.entry(w.key.clone()).or_default().writer = Some(txn_id.to_owned());
        }
        self.prepared.insert(txn_id.to_owned(), InDoubt { prepared, ask_at_us, prepared_lsn });
    }

    /// Lets go of `txn_id`'s reservations; what it had prepared. Private to this module:
    /// only a decision ([`Node::resolve`], or its record replayed) ends a reservation.
    fn release(&mut self, txn_id: &str) -> Option<PreparedTxn> {
        let InDoubt { prepared, .. } = self.prepared.remove(txn_id)?;
        self.unreserve(txn_id, &prepared);
        Some(prepared)
    }

    /// `Bug::ReleaseOnTimeout`: lets go of `txn_id`'s reservations, keeping it prepared.
    fn planted_drop_reservations(&mut self, txn_id: &str) {
        if let Some(doubt) = self.prepared.get(txn_id) {
            let prepared = doubt.prepared.clone();
            self.unreserve(txn_id, &prepared);
        }
    }

    fn unreserve(&mut self, txn_id: &str, prepared: &PreparedTxn) {
        for key in
            prepared.reads.iter().map(|r| &r.key).chain(prepared.writes.iter().map(|w| &w.key))
        {
            if let Some(r) = self.reservations.get_mut(key) {
                r.readers.remove(txn_id);
                if r.writer.as_deref() == Some(txn_id) {
                    r.writer = None;
                }
                if r.writer.is_none() && r.readers.is_empty() {
                    self.reservations.remove(key);
                }
            }
        }
    }

    /// Every transaction prepared here, in id order (for a snapshot).
    pub fn prepared(&self) -> impl Iterator<Item = (&str, &PreparedTxn)> + '_ {
        self.prepared.iter().map(|(id, d)| (id.as_str(), &d.prepared))
    }

    /// (prepared transactions, keys they reserve, resolved outcomes, their queued
    /// expiries): see [`super::TableSizes`]. Every field is named, so that a new table
    /// here does not compile until it is counted or said not to grow.
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        let Participant { prepared, reservations, outcomes } = self;
        let (resolved, resolved_queued) = outcomes.sizes();
        (prepared.len(), reservations.len(), resolved, resolved_queued)
    }

    /// When the next in-doubt transaction is to be asked about.
    pub fn next_deadline(&self) -> Option<u64> {
        self.prepared.values().map(|d| d.ask_at_us).min()
    }
}

impl Node {
    /// A coordinator asks this node to prepare its part of `txn_id`: the vote (held until
    /// the `Prepared` record is durable, like any reply).
    pub(super) fn prepare(
        &mut self,
        now_us: u64,
        coordinator: &str,
        txn_id: &str,
        writes: Vec<KeyValue>,
        reads: Vec<KeyVersion>,
        out: &mut Vec<Output>,
    ) -> Vote {
        let key = TxnRef::Foreign(txn_id);
        if let Some(outcome) = self.durable.participant.outcomes.get(key) {
            // Asked again after the decision: the same answer, nothing reserved again.
            return match outcome {
                Outcome::Committed(versions) => {
                    Vote { yes: true, versions: versions.clone(), conflicts: Vec::new() }
                }
                Outcome::Aborted(conflicts) => {
                    Vote { yes: false, versions: Vec::new(), conflicts: conflicts.clone() }
                }
            };
        }
        if let Some(doubt) = self.durable.participant.prepared.get(txn_id) {
            let versions = doubt.prepared.versions.clone();
            return Vote { yes: true, versions, conflicts: Vec::new() };
        }
        let conflicts =
            self.durable.store.validate(reads.iter().map(|r| (r.key.as_str(), r.version)));
        let writes = normalize(writes);
        let reserved = self.durable.participant.conflict(
            Some(txn_id),
            reads.iter().map(|r| r.key.as_str()),
            writes.iter().map(|w| w.key.as_str()),
        );
        if !conflicts.is_empty() || reserved.is_some() {
            return Vote { yes: false, versions: Vec::new(), conflicts };
        }
        let versions: Vec<KeyVersion> = writes
            .iter()
            .map(|w| KeyVersion {
                key: w.key.clone(),
                version: self.durable.store.version(&w.key) + 1,
            })
            .collect();
        let prepared = PreparedTxn {
            coordinator: coordinator.to_owned(),
            reads,
            writes,
            versions: versions.clone(),
        };
        self.append(out, |lsn| wal::encode_prepared(lsn, txn_id, &prepared));
        let prepared_lsn = self.volatile.log.as_ref().map_or(0, |log| log.appended_lsn);
        let ask_at_us = now_us.saturating_add(self.config.query_after_us);
        self.durable.participant.hold(txn_id, prepared, ask_at_us, prepared_lsn);
        // Absent -> Reserved. The yes vote is a reply: `send` holds it until the record
        // is synced, and `assert_vote_durable` checks that where it leaves.
        Vote { yes: true, versions, conflicts: Vec::new() }
    }

    /// The coordinator's decision on `txn_id` reached this node: apply or release what was
    /// prepared (nothing, if this node never prepared it or already resolved it).
    pub(super) fn resolve(
        &mut self,
        now_us: u64,
        txn_id: &str,
        committed: bool,
        out: &mut Vec<Output>,
    ) {
        let deadline_us = self.durable.participant.outcomes.deadline_for(now_us);
        let deadline_us = self.planted_resolved_deadline(deadline_us);
        if self.finish_prepared(now_us, txn_id, committed, deadline_us) {
            self.append(out, |lsn| wal::encode_resolved(lsn, txn_id, committed, deadline_us));
        }
    }

    /// Applies (`committed`) or releases `txn_id`'s prepared part and remembers how it
    /// ended until `deadline_us`: whether it was prepared here.
    fn finish_prepared(
        &mut self,
        now_us: u64,
        txn_id: &str,
        committed: bool,
        deadline_us: u64,
    ) -> bool {
        if self.durable.participant.phase(txn_id) != PartPhase::Reserved {
            return false;
        }
        // Reserved -> Resolved: the reservation ends here, by the decision, and was held
        // whole until now (`Bug::ReleaseOnTimeout` and the recovery bugs break exactly
        // that, see `planted_breaks_reservations`).
        assert!(
            self.planted_breaks_reservations() || self.durable.participant.holds_whole(txn_id),
            "{txn_id}'s reservations ended before its decision"
        );
        let Some(prepared) = self.durable.participant.release(txn_id) else { return false };
        let exact = self.config.bug.is_none();
        let outcome = if committed {
            for (write, version) in prepared.writes.into_iter().zip(&prepared.versions) {
                self.durable.store.install(&write.key, write.value, version.version, exact);
            }
            Outcome::Committed(prepared.versions)
        } else {
            Outcome::Aborted(Vec::new())
        };
        if deadline_us > now_us {
            self.durable.participant.outcomes.insert(TxnRef::Foreign(txn_id), outcome, deadline_us);
        }
        true
    }

    /// Asks the coordinators of transactions in doubt here what they decided; resolves the
    /// ones this node coordinates itself (after a restart) from its own decisions.
    pub(super) fn ask_about_doubts(&mut self, now_us: u64, out: &mut Vec<Output>) {
        let query_after_us = self.config.query_after_us;
        let due: Vec<(String, String)> = self
            .durable
            .participant
            .prepared
            .iter()
            .filter(|(_, d)| d.ask_at_us <= now_us)
            .map(|(id, d)| (id.clone(), d.prepared.coordinator.clone()))
            .collect();
        for (txn_id, coordinator) in due {
            if Some(coordinator.as_str()) == self.volatile.node_id.as_deref() {
                self.own_doubt(now_us, &txn_id, out);
                continue;
            }
            if let Some(doubt) = self.durable.participant.prepared.get_mut(&txn_id) {
                doubt.ask_at_us = now_us.saturating_add(query_after_us);
            }
            self.planted_release_on_timeout(&txn_id);
            // A timeout is not a decision: the reservation stays whole (exempt: the bugs
            // that break exactly this, see `planted_breaks_reservations`).
            assert!(
                self.planted_breaks_reservations() || self.durable.participant.holds_whole(&txn_id),
                "{txn_id}'s reservations ended on a timeout, before its decision"
            );
            if self.planted_never_asks() {
                continue;
            }
            self.request(coordinator, Payload::TxnQuery { txn_id }, out);
        }
    }

    /// A doubt about a transaction this node coordinates: still collecting votes, its
    /// decision will resolve it; otherwise this node forgot the vote (a restart) and
    /// decided commit only if it recorded so.
    fn own_doubt(&mut self, now_us: u64, txn_id: &str, out: &mut Vec<Output>) {
        let query_after_us = self.config.query_after_us;
        if self.volatile.coordinating.in_flight.contains_key(txn_id) {
            if let Some(doubt) = self.durable.participant.prepared.get_mut(txn_id) {
                doubt.ask_at_us = now_us.saturating_add(query_after_us);
            }
            return;
        }
        let committed = self.durable.decisions.contains_key(txn_id);
        self.resolve(now_us, txn_id, committed, out);
    }

    /// Rebuilds a participant's state from a `Prepared` record or a snapshot: asked about
    /// at once, since the decision may have come and gone while this node was down.
    pub(super) fn restore_prepared(&mut self, txn_id: &str, prepared: PreparedTxn) {
        self.durable.participant.hold(txn_id, prepared, 0, 0);
    }

    /// Replays a `Resolved` record.
    pub(super) fn replay_resolved(
        &mut self,
        now_us: u64,
        txn_id: &str,
        committed: bool,
        deadline_us: u64,
    ) {
        self.finish_prepared(now_us, txn_id, committed, deadline_us);
    }
}

/// Where messages leave (released by a sync, or sent at once): a yes vote for a
/// transaction prepared here leaves only once its `Prepared` record is synced. The vote
/// was produced when `waits_for` records were appended; a `Prepared` record past that is
/// a later prepare of the same id (resolved and forgotten in between), not this vote's.
/// Not called for what a planted bug sends early (`Bug::VoteBeforeDurable` and the
/// bugs of persist-before-send break exactly this rule).
pub fn assert_vote_durable(p: &Participant, payload: &Payload, waits_for: u64, synced_lsn: u64) {
    let Payload::TxnPrepareOk { txn_id, vote: true, .. } = payload else { return };
    let Some(doubt) = p.prepared.get(txn_id) else { return };
    assert!(
        doubt.prepared_lsn <= synced_lsn || doubt.prepared_lsn > waits_for,
        "a yes vote for {txn_id} leaves before its Prepared record (LSN {}) is synced \
         (through {synced_lsn})",
        doubt.prepared_lsn
    );
}

/// The participated outcomes as a snapshot lists them.
pub fn participated(p: &Participant) -> Vec<(&TxnKey, &Outcome, u64)> {
    p.outcomes.live().collect()
}

/// The planted bugs of the participant's side, named `planted*` so that a mutation run
/// leaves them out.
impl Node {
    /// `Bug::ReleaseOnTimeout`: an in-doubt transaction's reservations go when its timer
    /// fires, though it stays prepared.
    fn planted_release_on_timeout(&mut self, txn_id: &str) {
        if self.planted(crate::Bug::ReleaseOnTimeout) {
            self.durable.participant.planted_drop_reservations(txn_id);
        }
    }

    /// `Bug::NeverResolveDoubt`: a participant in doubt never asks its coordinator.
    fn planted_never_asks(&self) -> bool {
        self.planted(crate::Bug::NeverResolveDoubt)
    }

    /// Whether a planted bug breaks "a reservation ends only by its decision", so that
    /// the assertions of that rule stand aside: `Bug::ReleaseOnTimeout` breaks it on
    /// purpose, and the recovery bugs (`ReplayTwice` replays `Prepared` records already
    /// resolved, `TrustTornTail` applies damaged ones) can rebuild two prepared
    /// transactions on one key, where the later one takes the earlier one's reservation.
    fn planted_breaks_reservations(&self) -> bool {
        use crate::Bug;
        self.planted(Bug::ReleaseOnTimeout)
            || self.planted(Bug::ReplayTwice)
            || self.planted(Bug::TrustTornTail)
    }
}
