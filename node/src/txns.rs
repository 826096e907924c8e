//! What the node remembers about transactions, and for how long.
//!
//! - **Open** transactions (begun, not yet committed) hold the reads the node served them,
//!   so commit can validate those too. They expire `txn_ttl_us` after their `occ_begin`.
//! - **Outcomes** (the answer to a commit) make a retried commit get the first answer.
//!   They expire `outcome_ttl_us` after the commit that produced them.
//!
//! Ids: the node issues `t1`, `t2`, ... from a counter that only `occ_begin` moves. A
//! client may also name an id of that form the node has not issued yet (the protocol
//! validates such a commit statelessly): that id is then *reserved*, never moved past, so
//! no client message can exhaust or poison the id space (a commit naming
//! `t18446744073709551615` once made every later begin fail). While a reservation lasts,
//! `occ_begin` skips the id, so the node never hands out an id a client is using on its own
//! (a stateless commit of `t5` followed by a begin that issued `t5` would otherwise answer
//! the new transaction's commit with the old outcome). A commit's reservation is its
//! remembered outcome (`outcome_ttl_us`); a read's lasts `txn_ttl_us`, as an open
//! transaction would. An issued (or skipped) id with no state left is [`Lookup::Expired`]:
//! the node can no longer know what happened to it. A client-chosen id whose reservation
//! has ended, and ids of any other form (`"abc"`, `"t0"`, `"t007"`), are validated
//! statelessly and only idempotent while their outcome is remembered.
//!
//! Expiry runs off two FIFO queues. Deadlines are clamped to be non-decreasing, so each
//! queue is sorted by construction even if a driver hands in a `now` that goes backwards,
//! and expiring is popping from the front. Entries whose transaction already committed
//! stay queued until their deadline and are then dropped (the queue stays bounded by the
//! rate of begins times the TTL). Reservations expire off a third queue the same way.

use std::collections::{BTreeMap, VecDeque};

use crate::fxmap::FxHashMap;
use crate::marks::{Mark, Marks};
use crate::protocol::{Conflict, KeyVersion, Payload};

/// The answer a commit got, kept to answer retries identically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every written key's new version, sorted by key.
    Committed(Vec<KeyVersion>),
    Aborted(Vec<Conflict>),
}

impl Outcome {
    /// The `occ_commit_ok` reply that tells a client this outcome.
    pub fn to_payload(&self) -> Payload {
        match self {
            Outcome::Committed(versions) => Payload::OccCommitOk {
                committed: true,
                new_version: versions.iter().map(|v| v.version).max(),
                versions: versions.clone(),
                conflicts: Vec::new(),
            },
            Outcome::Aborted(conflicts) => Payload::OccCommitOk {
                committed: false,
                new_version: None,
                versions: Vec::new(),
                conflicts: conflicts.clone(),
            },
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct OpenTxn {
    /// `(key, version)` for every read the node served the transaction, in order. A key
    /// read twice appears twice; validating both is what a single entry would prove
    /// anyway (if the two versions differ, the first is stale). Appending keeps a read
    /// O(1) however many reads a transaction makes.
    pub reads: Vec<(String, u64)>,
    deadline_us: u64,
}

/// A transaction id as the tables key it: the node's own `t<n>` ids by number (cheap to
/// compare and to queue), anything else by its text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TxnKey {
    Own(u64),
    Foreign(String),
}

/// A transaction id parsed once per message, so the tables need not parse it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnRef<'a> {
    /// The node's own form `t<n>`.
    Own(u64),
    /// Any other form.
    Foreign(&'a str),
}

impl TxnRef<'_> {
    pub fn of(txn_id: &str) -> TxnRef<'_> {
        match own_id_number(txn_id) {
            Some(n) => TxnRef::Own(n),
            None => TxnRef::Foreign(txn_id),
        }
    }
}

/// What the node knows about a transaction id.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// Committed or aborted already: answer with this.
    Finished(&'a Outcome),
    /// Begun and still open.
    Open,
    /// Behind the counter (issued, or skipped for a client) with no state left.
    Expired,
    /// Not reached by the counter and nothing remembered: validate statelessly.
    Unknown,
}

/// How far past the end of the own-outcome window a finished id may land and still grow
/// the window (the gap is filled with empty slots). Farther ids go to the sparse map.
const WINDOW_GAP_MAX: u64 = 1024;

/// Outcomes of the node's own ids. The node issues ids in order and clients commit them
/// roughly in order, so outcomes mostly land at the end of a window of consecutive ids and
/// expire from its front: a slot per id, found by subtraction, with no hashing and no tree
/// walk, and neighbouring ids on neighbouring cache lines. Ids far from the window (a
/// client that used `t99999999`, or a commit that arrives after its id left the window's
/// front) go to `sparse`; an id is looked up in both, so where it lives is only a matter
/// of speed. Equivalent mutants: the choice between window and sparse map in `insert`
/// (guards and bounds) changes where an outcome lives, never whether it is found.
#[derive(Clone, Debug)]
struct OwnOutcomes {
    /// The id of `window[0]`.
    base: u64,
    window: VecDeque<Option<(Outcome, u64)>>,
    sparse: BTreeMap<u64, (Outcome, u64)>,
    /// Outcomes held in `window`.
    in_window: usize,
}

impl OwnOutcomes {
    fn new() -> OwnOutcomes {
        OwnOutcomes { base: 1, window: VecDeque::new(), sparse: BTreeMap::new(), in_window: 0 }
    }

    fn slot(&self, n: u64) -> Option<usize> {
        let i = usize::try_from(n.checked_sub(self.base)?).ok()?;
        (i < self.window.len()).then_some(i)
    }

    fn get(&self, n: u64) -> Option<&(Outcome, u64)> {
        let in_window = self.slot(n).and_then(|i| self.window[i].as_ref());
        if in_window.is_some() || self.sparse.is_empty() {
            return in_window;
        }
        self.sparse.get(&n)
    }

    fn insert(&mut self, n: u64, entry: (Outcome, u64)) {
        if self.window.is_empty() {
            self.base = n;
        }
        // Saturating: a window ending at u64::MAX already holds every id past its start.
        let end = self.base.saturating_add(self.window.len() as u64);
        let slot = match self.slot(n) {
            Some(i) => Some(i),
            None if n >= end && n - end <= WINDOW_GAP_MAX => {
                self.window.resize(self.window.len() + (n - end) as usize + 1, None);
                Some(self.window.len() - 1)
            }
            None => None,
        };
        match slot {
            Some(i) => {
                if self.window[i].replace(entry).is_none() {
                    self.in_window += 1;
                }
                // A copy left in `sparse` from before the window reached `n` is stale now.
                if !self.sparse.is_empty() {
                    self.sparse.remove(&n);
                }
            }
            None => {
                self.sparse.insert(n, entry);
            }
        }
    }

    /// Forgets `n`'s outcome if it is the one that expires at `deadline_us`; says whether
    /// it did.
    fn expire(&mut self, n: u64, deadline_us: u64) -> bool {
        let mut forgot = false;
        if let Some(i) = self.slot(n) {
            if self.window[i].as_ref().is_some_and(|(_, d)| *d == deadline_us) {
                self.window[i] = None;
                self.in_window -= 1;
                forgot = true;
            }
        }
        if self.sparse.get(&n).is_some_and(|(_, d)| *d == deadline_us) {
            self.sparse.remove(&n);
            forgot = true;
        }
        while let Some(None) = self.window.front() {
            self.window.pop_front();
            self.base = self.base.saturating_add(1);
        }
        forgot
    }

    /// Only for `TxnTable::sizes` (equivalent mutant for the store's answers: a wrong
    /// count only misreports memory, and the simulator's bound is an upper one).
    fn len(&self) -> usize {
        self.in_window + self.sparse.len()
    }
}

#[derive(Clone, Debug)]
pub struct TxnTable {
    txn_ttl_us: u64,
    outcome_ttl_us: u64,
    /// The next id `begin` considers; only `begin` moves it. Starts at 1: `t0` is never
    /// issued.
    next_txn: u64,
    /// The tables are only looked up by id, never iterated: expiry walks the queues, so a
    /// hash map's order cannot leak.
    open: FxHashMap<u64, OpenTxn>,
    open_expiry: VecDeque<(u64, u64)>,
    /// Outcomes of the node's own ids, and of foreign ones: split so that the common case
    /// compares integers and allocates nothing.
    own_outcomes: OwnOutcomes,
    foreign_outcomes: FxHashMap<String, (Outcome, u64)>,
    outcome_expiry: VecDeque<(u64, TxnKey)>,
    /// Own-form ids at or past `next_txn` that a client read under, with the deadline of
    /// the reservation: `begin` skips them. Looked up only, never iterated.
    reserved: FxHashMap<u64, u64>,
    reserved_expiry: VecDeque<(u64, u64)>,
    /// Expiries, counted for coverage.
    pub marks: Marks,
}

/// The number in an id of the node's own form `t<n>` (n >= 1, no leading zeros).
///
/// A blind spot of the simulator (README, "Mutation score"): its clients never send odd
/// spellings such as `t0` or `t007`; node's unit and fuzz tests do.
pub fn own_id_number(txn_id: &str) -> Option<u64> {
    let digits = txn_id.strip_prefix('t')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl TxnTable {
    pub fn new(txn_ttl_us: u64, outcome_ttl_us: u64) -> TxnTable {
        TxnTable {
            txn_ttl_us,
            outcome_ttl_us,
            next_txn: 1,
            open: FxHashMap::default(),
            open_expiry: VecDeque::new(),
            own_outcomes: OwnOutcomes::new(),
            foreign_outcomes: FxHashMap::default(),
            outcome_expiry: VecDeque::new(),
            reserved: FxHashMap::default(),
            reserved_expiry: VecDeque::new(),
            marks: Marks::default(),
        }
    }

    /// Opens a new transaction and returns its number. Ids a client is using on its own
    /// (a remembered outcome, a reservation) are skipped; each skip passes an entry that
    /// one client message created, so the counter cannot be pushed to its end: `None` only
    /// after 2^64 begins and skips.
    pub fn begin(&mut self, now_us: u64) -> Option<u64> {
        let mut n = self.next_txn;
        while self.own_outcomes.get(n).is_some() || self.reserved.contains_key(&n) {
            n = n.checked_add(1)?;
        }
        if n == u64::MAX {
            self.next_txn = n;
            return None;
        }
        self.next_txn = n + 1;
        let deadline_us = clamp(now_us.saturating_add(self.txn_ttl_us), self.open_expiry.back());
        self.open_expiry.push_back((deadline_us, n));
        self.open.insert(n, OpenTxn { reads: Vec::new(), deadline_us });
        Some(n)
    }

    pub fn lookup(&self, txn: TxnRef<'_>) -> Lookup<'_> {
        let n = match txn {
            TxnRef::Own(n) => n,
            TxnRef::Foreign(id) => {
                return match self.foreign_outcomes.get(id) {
                    Some((outcome, _)) => Lookup::Finished(outcome),
                    None => Lookup::Unknown,
                }
            }
        };
        if let Some((outcome, _)) = self.own_outcomes.get(n) {
            Lookup::Finished(outcome)
        } else if self.open.contains_key(&n) {
            Lookup::Open
        } else if n < self.next_txn {
            Lookup::Expired
        } else {
            Lookup::Unknown
        }
    }

    /// The open transaction `txn`, if there is one.
    pub fn open_mut(&mut self, txn: TxnRef<'_>) -> Option<&mut OpenTxn> {
        match txn {
            TxnRef::Own(n) => self.open.get_mut(&n),
            TxnRef::Foreign(_) => None,
        }
    }

    /// A client read under `txn` outside an open transaction: if it is an own-form id the
    /// node has not reached yet, `begin` must not issue it while the client may still
    /// commit it. The counter does not move.
    ///
    /// A blind spot of the simulator (README, "Mutation score"): its clients never read
    /// under an own-form id the node has not issued (guessing one would collide with ids
    /// the node issues), so reservations are tested by `node/tests/it/transactions.rs`.
    pub fn reserve(&mut self, now_us: u64, txn: TxnRef<'_>) {
        let TxnRef::Own(n) = txn else { return };
        if n < self.next_txn {
            return;
        }
        let deadline_us =
            clamp(now_us.saturating_add(self.txn_ttl_us), self.reserved_expiry.back());
        self.reserved.insert(n, deadline_us);
        self.reserved_expiry.push_back((deadline_us, n));
    }

    /// Ends `txn` (open or not) with `outcome`, remembered for retries.
    pub fn finish(&mut self, now_us: u64, txn: TxnRef<'_>, outcome: Outcome) {
        let deadline_us =
            clamp(now_us.saturating_add(self.outcome_ttl_us), self.outcome_expiry.back());
        let key = match txn {
            TxnRef::Own(n) => {
                self.open.remove(&n);
                self.own_outcomes.insert(n, (outcome, deadline_us));
                TxnKey::Own(n)
            }
            TxnRef::Foreign(id) => {
                self.foreign_outcomes.insert(id.to_owned(), (outcome, deadline_us));
                TxnKey::Foreign(id.to_owned())
            }
        };
        self.outcome_expiry.push_back((deadline_us, key));
    }

    /// Takes the open transaction's state out to validate it; the caller `finish`es the
    /// transaction right after, so no one observes it half-ended.
    pub fn take_open(&mut self, txn: TxnRef<'_>) -> Option<OpenTxn> {
        match txn {
            TxnRef::Own(n) => self.open.remove(&n),
            TxnRef::Foreign(_) => None,
        }
    }

    /// Forgets every open transaction, outcome and reservation whose deadline is at or
    /// before `now_us`.
    pub fn expire(&mut self, now_us: u64) {
        while let Some(&(deadline_us, n)) = self.reserved_expiry.front() {
            if deadline_us > now_us {
                break;
            }
            self.reserved_expiry.pop_front();
            if self.reserved.get(&n) == Some(&deadline_us) {
                self.reserved.remove(&n);
            }
        }
        while let Some(&(deadline_us, n)) = self.open_expiry.front() {
            if deadline_us > now_us {
                break;
            }
            self.open_expiry.pop_front();
            if self.open.get(&n).is_some_and(|t| t.deadline_us == deadline_us) {
                self.open.remove(&n);
                self.marks.hit(Mark::TxnExpired);
            }
        }
        while let Some((deadline_us, _)) = self.outcome_expiry.front() {
            if *deadline_us > now_us {
                break;
            }
            let Some((deadline_us, key)) = self.outcome_expiry.pop_front() else { break };
            // An id may have been finished again after an earlier expiry (a foreign id, or
            // a planted bug's re-validation): only the entry this deadline belongs to may go.
            let forgot = match key {
                TxnKey::Own(n) => self.own_outcomes.expire(n, deadline_us),
                TxnKey::Foreign(id) => {
                    let due =
                        self.foreign_outcomes.get(&id).is_some_and(|(_, d)| *d == deadline_us);
                    if due {
                        self.foreign_outcomes.remove(&id);
                    }
                    due
                }
            };
            if forgot {
                self.marks.hit(Mark::OutcomeExpired);
            }
        }
    }

    /// The earliest moment `expire` has something to do. (Equivalent mutant: `None`; see
    /// `Node::next_deadline`.)
    pub fn next_deadline(&self) -> Option<u64> {
        let open = self.open_expiry.front().map(|&(d, _)| d);
        let outcome = self.outcome_expiry.front().map(|&(d, _)| d);
        let reserved = self.reserved_expiry.front().map(|&(d, _)| d);
        [open, outcome, reserved].into_iter().flatten().min()
    }

    /// (open transactions and reservations, remembered outcomes, queued expiries): for
    /// tests of boundedness.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.open.len() + self.reserved.len(),
            self.own_outcomes.len() + self.foreign_outcomes.len(),
            self.open_expiry.len() + self.outcome_expiry.len() + self.reserved_expiry.len(),
        )
    }
}

/// A deadline no earlier than the last one queued, keeping the queue sorted.
fn clamp<T>(deadline_us: u64, last: Option<&(u64, T)>) -> u64 {
    last.map_or(deadline_us, |(d, _)| deadline_us.max(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(n: u64) -> Outcome {
        Outcome::Committed(vec![KeyVersion { key: format!("k{n}"), version: n }])
    }

    /// Inserts `(id, deadline)` pairs, then checks that each id finds its own outcome,
    /// and that expiring them all in insertion order empties the table.
    fn check(entries: &[(u64, u64)]) {
        let mut own = OwnOutcomes::new();
        for &(n, d) in entries {
            own.insert(n, (outcome(n), d));
        }
        for &(n, d) in entries {
            assert_eq!(own.get(n), Some(&(outcome(n), d)), "id {n} in {entries:?}");
        }
        assert_eq!(own.len(), entries.len(), "{entries:?}");
        for &(n, d) in entries {
            assert!(own.expire(n, d), "id {n} expires at {d}");
            assert_eq!(own.get(n), None, "id {n} after its expiry in {entries:?}");
        }
        assert_eq!((own.len(), own.window.len()), (0, 0), "{entries:?}");
    }

    #[test]
    fn own_outcomes_are_found_wherever_they_landed() {
        // In order, a little out of order, far ahead, behind the window, at the very top.
        check(&[(1, 1), (2, 1), (3, 1)]);
        check(&[(3, 1), (1, 1), (2, 2), (6, 2)]);
        check(&[(1, 1), (5_000, 1), (2, 1), (5_001, 2)]);
        check(&[(10, 1), (4, 1), (11, 2), (12, 3)]);
        check(&[(u64::MAX - 1, 1), (u64::MAX, 1), (1, 2)]);
    }

    #[test]
    fn an_outcome_expires_only_at_its_own_deadline() {
        let mut own = OwnOutcomes::new();
        own.insert(1, (outcome(1), 10));
        own.insert(5_000, (outcome(5_000), 10));
        // Finished again (a planted bug re-validates), with a later deadline.
        own.insert(1, (outcome(2), 20));
        assert!(!own.expire(1, 10), "the superseded deadline forgets nothing");
        assert_eq!(own.get(1), Some(&(outcome(2), 20)));
        assert!(own.expire(5_000, 10));
        assert!(own.expire(1, 20));
        assert_eq!(own.len(), 0);
    }

    #[test]
    fn the_window_only_spans_remembered_outcomes() {
        let mut own = OwnOutcomes::new();
        for n in 1..=100 {
            own.insert(n, (outcome(n), n));
            if n > 10 {
                own.expire(n - 10, n - 10);
            }
        }
        assert_eq!((own.len(), own.window.len(), own.base), (10, 10, 91));
    }
}
