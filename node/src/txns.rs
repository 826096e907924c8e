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

use crate::protocol::Payload;

/// The answer a commit got, kept to answer retries identically.
pub type Outcome = Payload;

#[derive(Clone, Debug, Default)]
pub struct OpenTxn {
    /// Key -> the version the node served at the transaction's first read of it. Later
    /// reads of the same key keep the first version: if it has changed since, the
    /// transaction cannot commit anyway.
    pub reads: BTreeMap<String, u64>,
    deadline_us: u64,
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
    open: BTreeMap<u64, OpenTxn>,
    open_expiry: VecDeque<(u64, u64)>,
    outcomes: BTreeMap<String, (Outcome, u64)>,
    outcome_expiry: VecDeque<(u64, String)>,
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
            open: BTreeMap::new(),
            open_expiry: VecDeque::new(),
            outcomes: BTreeMap::new(),
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
        self.open.insert(n, OpenTxn { reads: BTreeMap::new(), deadline_us });
        Some(n)
    }

    pub fn lookup(&self, txn_id: &str) -> Lookup<'_> {
        if let Some((outcome, _)) = self.outcomes.get(txn_id) {
            return Lookup::Finished(outcome);
        }
        match own_id_number(txn_id) {
            Some(n) if self.open.contains_key(&n) => Lookup::Open,
            Some(n) if n < self.next_txn => Lookup::Expired,
            _ => Lookup::Unknown,
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
    pub fn finish(&mut self, now_us: u64, txn_id: String, outcome: Outcome) {
        self.mark_used(&txn_id);
        if let Some(n) = own_id_number(&txn_id) {
            self.open.remove(&n);
        }
        let deadline_us =
            clamp(now_us.saturating_add(self.outcome_ttl_us), self.outcome_expiry.back());
        self.outcome_expiry.push_back((deadline_us, txn_id.clone()));
        self.outcomes.insert(txn_id, (outcome, deadline_us));
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
            let Some((deadline_us, txn_id)) = self.outcome_expiry.pop_front() else { break };
            // A foreign id may have been finished again after an earlier expiry; only the
            // entry this deadline belongs to may go.
            if self.outcomes.get(&txn_id).is_some_and(|(_, d)| *d == deadline_us) {
                self.outcomes.remove(&txn_id);
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
        (self.open.len(), self.outcomes.len(), self.open_expiry.len() + self.outcome_expiry.len())
    }
}

/// A deadline no earlier than the last one queued, keeping the queue sorted.
fn clamp<T>(deadline_us: u64, last: Option<&(u64, T)>) -> u64 {
    last.map_or(deadline_us, |(d, _)| deadline_us.max(*d))
}
