//! Remembered commit outcomes: durable state, so that a retried commit gets its first
//! answer, before and after a restart.
//!
//! An outcome is kept until its deadline (`outcome_ttl_us` after the commit that produced
//! it). Expiry runs off one FIFO queue whose deadlines are clamped to be non-decreasing, so
//! the queue is sorted by construction even if a driver hands in a `now` that goes
//! backwards, and expiring is popping from the front. An id finished again (a planted bug
//! re-validates) leaves a superseded entry in the queue, which forgets nothing when its
//! time comes: only the entry whose deadline matches the stored one may go.
//!
//! The queue is also the table's one deterministic order: a snapshot lists the live
//! outcomes by walking it (the maps themselves are never iterated).

use std::collections::{BTreeMap, VecDeque};

use crate::fxmap::FxHashMap;
use crate::marks::{Mark, Marks};
use crate::protocol::{Conflict, KeyVersion, Payload};

/// The answer a commit got, kept to answer retries identically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every written key's new version, sorted by key.
    Committed(Vec<KeyVersion>),
    /// The version conflicts; none when the transaction aborted for another reason, in a
    /// cluster only (a key reserved by a transaction prepared elsewhere, a participant
    /// that did not vote).
    Aborted(Vec<Conflict>),
}

impl Outcome {
    /// The reply that tells a client this outcome: `occ_commit_ok`, or error 30 for an
    /// abort no version conflict explains (an abort must name its conflicts).
    pub fn to_payload(&self) -> Payload {
        match self {
            Outcome::Aborted(conflicts) if conflicts.is_empty() => Payload::Error {
                code: crate::protocol::error_code::TXN_CONFLICT,
                text: "aborted: it conflicts with a transaction prepared in the cluster".to_owned(),
            },
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

/// A transaction id as the tables key it: the node's own `t<n>` ids by number (cheap to
/// compare and to queue), anything else by its text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TxnKey {
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

    pub fn key(self) -> TxnKey {
        match self {
            TxnRef::Own(n) => TxnKey::Own(n),
            TxnRef::Foreign(id) => TxnKey::Foreign(id.to_owned()),
        }
    }
}

impl TxnKey {
    pub fn as_ref(&self) -> TxnRef<'_> {
        match self {
            TxnKey::Own(n) => TxnRef::Own(*n),
            TxnKey::Foreign(id) => TxnRef::Foreign(id),
        }
    }
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
                // Pushing, not resizing: ids usually arrive one past the end (a
                // recovery rebuilds the whole window this way).
                for _ in end..n {
                    self.window.push_back(None);
                }
                self.window.push_back(None);
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

/// Every remembered outcome, own ids and foreign ones, with the queue that expires them.
#[derive(Clone, Debug)]
pub struct Outcomes {
    ttl_us: u64,
    /// Outcomes of the node's own ids, and of foreign ones: split so that the common case
    /// compares integers and allocates nothing.
    own: OwnOutcomes,
    foreign: FxHashMap<String, (Outcome, u64)>,
    expiry: VecDeque<(u64, TxnKey)>,
    /// Expiries, counted for coverage.
    pub marks: Marks,
}

impl Outcomes {
    pub fn new(ttl_us: u64) -> Outcomes {
        Outcomes {
            ttl_us,
            own: OwnOutcomes::new(),
            foreign: FxHashMap::default(),
            expiry: VecDeque::new(),
            marks: Marks::default(),
        }
    }

    pub fn get(&self, txn: TxnRef<'_>) -> Option<&Outcome> {
        match txn {
            TxnRef::Own(n) => self.own.get(n).map(|(outcome, _)| outcome),
            TxnRef::Foreign(id) => self.foreign.get(id).map(|(outcome, _)| outcome),
        }
    }

    /// Whether the node's own id `n` has a remembered outcome (`begin` skips such ids).
    pub fn has_own(&self, n: u64) -> bool {
        self.own.get(n).is_some()
    }

    /// The deadline an outcome remembered now gets: `now + ttl`, never before the last one
    /// queued.
    pub fn deadline_for(&self, now_us: u64) -> u64 {
        clamp(now_us.saturating_add(self.ttl_us), self.expiry.back())
    }

    /// Remembers `outcome` for `txn` until `deadline_us` (from [`Outcomes::deadline_for`],
    /// or as a log record or snapshot recorded it).
    pub fn insert(&mut self, txn: TxnRef<'_>, outcome: Outcome, deadline_us: u64) {
        let deadline_us = clamp(deadline_us, self.expiry.back());
        match txn {
            TxnRef::Own(n) => self.own.insert(n, (outcome, deadline_us)),
            TxnRef::Foreign(id) => {
                self.foreign.insert(id.to_owned(), (outcome, deadline_us));
            }
        }
        self.expiry.push_back((deadline_us, txn.key()));
    }

    /// Forgets every outcome whose deadline is at or before `now_us`.
    pub fn expire(&mut self, now_us: u64) {
        while let Some((deadline_us, _)) = self.expiry.front() {
            if *deadline_us > now_us {
                break;
            }
            let Some((deadline_us, key)) = self.expiry.pop_front() else { break };
            // An id may have been finished again after an earlier expiry (a foreign id, or
            // a planted bug's re-validation): only the entry this deadline belongs to may go.
            let forgot = match key {
                TxnKey::Own(n) => self.own.expire(n, deadline_us),
                TxnKey::Foreign(id) => {
                    let due = self.foreign.get(&id).is_some_and(|(_, d)| *d == deadline_us);
                    if due {
                        self.foreign.remove(&id);
                    }
                    due
                }
            };
            if forgot {
                self.marks.hit(Mark::OutcomeExpired);
            }
        }
    }

    /// When `expire` next has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.expiry.front().map(|&(d, _)| d)
    }

    /// Every live outcome with its deadline, in deadline order (for a snapshot).
    pub fn live(&self) -> impl Iterator<Item = (&TxnKey, &Outcome, u64)> + '_ {
        self.expiry.iter().filter_map(|(deadline_us, key)| {
            let entry = match key {
                TxnKey::Own(n) => self.own.get(*n),
                TxnKey::Foreign(id) => self.foreign.get(id),
            };
            match entry {
                Some((outcome, d)) if d == deadline_us => Some((key, outcome, *d)),
                _ => None,
            }
        })
    }

    /// (remembered outcomes, queued expiries): see `node::TableSizes`. Every field is
    /// named, so that a new table here does not compile until it is counted or said not
    /// to grow. `own`'s window of slots is an index over the own outcomes counted here
    /// (its empty slots lie between live ids, at most `WINDOW_GAP_MAX` per insert).
    pub fn sizes(&self) -> (usize, usize) {
        let Outcomes { ttl_us: _, own, foreign, expiry, marks: _ } = self;
        (own.len() + foreign.len(), expiry.len())
    }
}

/// A deadline no earlier than the last one queued, keeping the queue sorted.
pub fn clamp<T>(deadline_us: u64, last: Option<&(u64, T)>) -> u64 {
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
