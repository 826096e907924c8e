//! What the node remembers about transactions, and for how long.
//!
//! - **Open** transactions (begun, not yet committed) hold the reads the node served them,
//!   so commit can validate those too. They expire `txn_ttl_us` after their `occ_begin`.
//! - **Outcomes** (the answer to a commit) make a retried commit get the first answer.
//!   They expire `outcome_ttl_us` after the commit that produced them.
//!
//! Ids: the node issues `t1`, `t2`, ... and treats every id of that form up to the highest
//! one *issued or used by a client* as spent, so `occ_begin` never hands out an id that a
//! client already used on its own (a stateless commit of `t5` followed by a begin that
//! issued `t5` would otherwise answer the new transaction's commit with the old outcome).
//! A spent id with no state left is [`Lookup::Expired`]: the node can no longer know what
//! happened to it. Ids of any other form (`"abc"`, `"t0"`, `"t007"`) are foreign: they are
//! validated statelessly and only idempotent while their outcome is remembered.
//!
//! Expiry runs off two FIFO queues. Deadlines are clamped to be non-decreasing, so each
//! queue is sorted by construction even if a driver hands in a `now` that goes backwards,
//! and expiring is popping from the front. Entries whose transaction already committed
//! stay queued until their deadline and are then dropped (the queue stays bounded by the
//! rate of begins times the TTL).

use std::collections::{BTreeMap, VecDeque};

use crate::fxmap::FxHashMap;
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

impl TxnKey {
    fn of(txn_id: &str) -> TxnKey {
        match own_id_number(txn_id) {
            Some(n) => TxnKey::Own(n),
            None => TxnKey::Foreign(txn_id.to_owned()),
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
    /// Issued or used once, but its state has expired.
    Expired,
    /// Never issued nor used: validate statelessly.
    Unknown,
}

#[derive(Clone, Debug)]
pub struct TxnTable {
    txn_ttl_us: u64,
    outcome_ttl_us: u64,
    /// Every numeric id below this is spent. Starts at 1: `t0` is never issued.
    next_txn: u64,
    /// The tables are only looked up by id, never iterated: expiry walks the queues, so a
    /// hash map's order cannot leak.
    open: FxHashMap<u64, OpenTxn>,
    open_expiry: VecDeque<(u64, u64)>,
    /// Outcomes of the node's own ids, and of foreign ones: split so that the common case
    /// compares integers and allocates nothing. Own ids stay in a `BTreeMap` on purpose:
    /// they arrive nearly in order, so inserts and (mostly missing) lookups walk the
    /// tree's cache-hot right edge, where a hash table of hundreds of thousands of
    /// remembered outcomes costs a cache miss per probe.
    own_outcomes: BTreeMap<u64, (Outcome, u64)>,
    foreign_outcomes: FxHashMap<String, (Outcome, u64)>,
    outcome_expiry: VecDeque<(u64, TxnKey)>,
}

/// The number in an id of the node's own form `t<n>` (n >= 1, no leading zeros).
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
            own_outcomes: BTreeMap::new(),
            foreign_outcomes: FxHashMap::default(),
            outcome_expiry: VecDeque::new(),
        }
    }

    /// Opens a new transaction and returns its number, or `None` once ids are exhausted
    /// (only possible after a client used an id near `u64::MAX`).
    pub fn begin(&mut self, now_us: u64) -> Option<u64> {
        let n = self.next_txn;
        if n == u64::MAX {
            return None;
        }
        self.next_txn = n + 1;
        let deadline_us = clamp(now_us.saturating_add(self.txn_ttl_us), self.open_expiry.back());
        self.open_expiry.push_back((deadline_us, n));
        self.open.insert(n, OpenTxn { reads: Vec::new(), deadline_us });
        Some(n)
    }

    pub fn lookup(&self, txn_id: &str) -> Lookup<'_> {
        let Some(n) = own_id_number(txn_id) else {
            return match self.foreign_outcomes.get(txn_id) {
                Some((outcome, _)) => Lookup::Finished(outcome),
                None => Lookup::Unknown,
            };
        };
        if let Some((outcome, _)) = self.own_outcomes.get(&n) {
            Lookup::Finished(outcome)
        } else if self.open.contains_key(&n) {
            Lookup::Open
        } else if n < self.next_txn {
            Lookup::Expired
        } else {
            Lookup::Unknown
        }
    }

    /// The open transaction `txn_id`, if there is one.
    pub fn open_mut(&mut self, txn_id: &str) -> Option<&mut OpenTxn> {
        self.open.get_mut(&own_id_number(txn_id)?)
    }

    /// Marks a client-chosen id as spent so that `begin` never issues it.
    pub fn mark_used(&mut self, txn_id: &str) {
        if let Some(n) = own_id_number(txn_id) {
            self.next_txn = self.next_txn.max(n.saturating_add(1));
        }
    }

    /// Ends `txn_id` (open or not) with `outcome`, remembered for retries.
    pub fn finish(&mut self, now_us: u64, txn_id: &str, outcome: Outcome) {
        self.mark_used(txn_id);
        let deadline_us =
            clamp(now_us.saturating_add(self.outcome_ttl_us), self.outcome_expiry.back());
        let key = TxnKey::of(txn_id);
        match &key {
            TxnKey::Own(n) => {
                self.open.remove(n);
                self.own_outcomes.insert(*n, (outcome, deadline_us));
            }
            TxnKey::Foreign(id) => {
                self.foreign_outcomes.insert(id.clone(), (outcome, deadline_us));
            }
        }
        self.outcome_expiry.push_back((deadline_us, key));
    }

    /// Takes the open transaction's state out to validate it; the caller `finish`es the
    /// transaction right after, so no one observes it half-ended.
    pub fn take_open(&mut self, txn_id: &str) -> Option<OpenTxn> {
        self.open.remove(&own_id_number(txn_id)?)
    }

    /// Forgets every open transaction and outcome whose deadline is at or before `now_us`.
    pub fn expire(&mut self, now_us: u64) {
        while let Some(&(deadline_us, n)) = self.open_expiry.front() {
            if deadline_us > now_us {
                break;
            }
            self.open_expiry.pop_front();
            if self.open.get(&n).is_some_and(|t| t.deadline_us == deadline_us) {
                self.open.remove(&n);
            }
        }
        while let Some((deadline_us, _)) = self.outcome_expiry.front() {
            if *deadline_us > now_us {
                break;
            }
            let Some((deadline_us, key)) = self.outcome_expiry.pop_front() else { break };
            // A foreign id may have been finished again after an earlier expiry; only the
            // entry this deadline belongs to may go.
            match key {
                TxnKey::Own(n) => {
                    if self.own_outcomes.get(&n).is_some_and(|(_, d)| *d == deadline_us) {
                        self.own_outcomes.remove(&n);
                    }
                }
                TxnKey::Foreign(id) => {
                    if self.foreign_outcomes.get(&id).is_some_and(|(_, d)| *d == deadline_us) {
                        self.foreign_outcomes.remove(&id);
                    }
                }
            }
        }
    }

    /// The earliest moment `expire` has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        let open = self.open_expiry.front().map(|&(d, _)| d);
        let outcome = self.outcome_expiry.front().map(|&(d, _)| d);
        match (open, outcome) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// (open transactions, remembered outcomes, queued expiries): for tests of boundedness.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.open.len(),
            self.own_outcomes.len() + self.foreign_outcomes.len(),
            self.open_expiry.len() + self.outcome_expiry.len(),
        )
    }
}

/// A deadline no earlier than the last one queued, keeping the queue sorted.
fn clamp<T>(deadline_us: u64, last: Option<&(u64, T)>) -> u64 {
    last.map_or(deadline_us, |(d, _)| deadline_us.max(*d))
}
