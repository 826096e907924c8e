//! Open transactions and the id counter: volatile state, which a crash loses.
//!
//! - **Open** transactions (begun, not yet committed) hold the reads the node served them,
//!   so commit can validate those too. They expire `txn_ttl_us` after their `occ_begin`.
//!   After a restart none is open: a commit under an id issued before the crash is
//!   answered "unknown" (error 1000), since the node cannot know what the transaction read.
//!
//! Ids: the node issues `t1`, `t2`, ... (in a cluster `t1.<node>`, so that ids are unique
//! across coordinators) from a counter that only `occ_begin` moves. The counter itself is
//! volatile, but never runs past the durable high-water mark (`Durable::ids_up_to`, see
//! `node.rs`), and restarts above it, so no id is issued twice across restarts. A client may also name an id of that form the node has not issued
//! yet (the protocol validates such a commit statelessly): that id is then *reserved*,
//! never moved past, so no client message can exhaust or poison the id space (a commit
//! naming `t18446744073709551615` once made every later begin fail). While a reservation
//! lasts, `occ_begin` skips the id, so the node never hands out an id a client is using on
//! its own (a stateless commit of `t5` followed by a begin that issued `t5` would
//! otherwise answer the new transaction's commit with the old outcome). A commit's
//! reservation is its remembered outcome (`outcomes.rs`); a read's lasts `txn_ttl_us`, as
//! an open transaction would. An issued (or skipped) id with no state left is
//! [`Lookup::Expired`]: the node can no longer know what happened to it. A client-chosen id
//! whose reservation has ended, and ids of any other form (`"abc"`, `"t0"`, `"t007"`), are
//! validated statelessly and only idempotent while their outcome is remembered.
//!
//! Expiry runs off two FIFO queues (open transactions, reservations), sorted by
//! construction as the outcomes' queue is. Entries whose transaction already committed stay
//! queued until their deadline and are then dropped (the queue stays bounded by the rate
//! of begins times the TTL).

use std::collections::VecDeque;

use crate::fxmap::FxHashMap;
use crate::marks::{Mark, Marks};
use crate::outcomes::{clamp, Outcome, TxnRef};

#[derive(Clone, Debug, Default)]
pub struct OpenTxn {
    /// `(key, version)` for every read the node served the transaction, in order. A key
    /// read twice appears twice; validating both is what a single entry would prove
    /// anyway (if the two versions differ, the first is stale). Appending keeps a read
    /// O(1) however many reads a transaction makes.
    pub reads: Vec<(String, u64)>,
    deadline_us: u64,
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

#[derive(Clone, Debug)]
pub struct OpenTxns {
    ttl_us: u64,
    /// The next id `begin` considers; only `begin` (and a restart) moves it. Starts at 1:
    /// `t0` is never issued.
    next_txn: u64,
    /// The tables are only looked up by id, never iterated: expiry walks the queues, so a
    /// hash map's order cannot leak.
    open: FxHashMap<u64, OpenTxn>,
    expiry: VecDeque<(u64, u64)>,
    /// Own-form ids at or past `next_txn` that a client read under, with the deadline of
    /// the reservation: `begin` skips them. Looked up only, never iterated.
    reserved: FxHashMap<u64, u64>,
    reserved_expiry: VecDeque<(u64, u64)>,
    /// Expiries, counted for coverage.
    pub marks: Marks,
}

impl OpenTxns {
    /// No transaction open; the counter starts at `next_txn` (1 for a new node, the
    /// recovered high-water mark + 1 after a restart).
    pub fn new(ttl_us: u64, next_txn: u64) -> OpenTxns {
        OpenTxns {
            ttl_us,
            next_txn: next_txn.max(1),
            open: FxHashMap::default(),
            expiry: VecDeque::new(),
            reserved: FxHashMap::default(),
            reserved_expiry: VecDeque::new(),
            marks: Marks::default(),
        }
    }

    /// The id `begin` would issue next, given which ids `taken` by a remembered outcome.
    /// Ids a client is using on its own (a remembered outcome, a reservation) are
    /// skipped; each skip passes an entry that one client message created, so the counter
    /// cannot be pushed to its end: `None` only after 2^64 begins and skips.
    pub fn next_free(&self, taken: impl Fn(u64) -> bool) -> Option<u64> {
        let mut n = self.next_txn;
        while taken(n) || self.reserved.contains_key(&n) {
            n = n.checked_add(1)?;
        }
        (n != u64::MAX).then_some(n)
    }

    /// Opens transaction `n` (from [`OpenTxns::next_free`]).
    pub fn begin(&mut self, now_us: u64, n: u64) {
        self.next_txn = n + 1;
        let deadline_us = clamp(now_us.saturating_add(self.ttl_us), self.expiry.back());
        self.expiry.push_back((deadline_us, n));
        self.open.insert(n, OpenTxn { reads: Vec::new(), deadline_us });
    }

    /// What the node knows of `txn`, given its remembered `outcome`, if any.
    pub fn lookup<'a>(&self, txn: TxnRef<'_>, outcome: Option<&'a Outcome>) -> Lookup<'a> {
        if let Some(outcome) = outcome {
            return Lookup::Finished(outcome);
        }
        match txn {
            TxnRef::Own(n) if self.open.contains_key(&n) => Lookup::Open,
            TxnRef::Own(n) if n < self.next_txn => Lookup::Expired,
            _ => Lookup::Unknown,
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
        let deadline_us = clamp(now_us.saturating_add(self.ttl_us), self.reserved_expiry.back());
        self.reserved.insert(n, deadline_us);
        self.reserved_expiry.push_back((deadline_us, n));
    }

    /// Takes the open transaction's state out to validate it; the caller records the
    /// outcome right after, so no one observes it half-ended.
    pub fn take_open(&mut self, txn: TxnRef<'_>) -> Option<OpenTxn> {
        match txn {
            TxnRef::Own(n) => self.open.remove(&n),
            TxnRef::Foreign(_) => None,
        }
    }

    /// A commit ended `txn` without taking its open state (a planted bug re-validated a
    /// retry): it is open no more.
    pub fn close(&mut self, txn: TxnRef<'_>) {
        if let TxnRef::Own(n) = txn {
            self.open.remove(&n);
        }
    }

    /// Forgets every open transaction and reservation whose deadline is at or before
    /// `now_us`.
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
        while let Some(&(deadline_us, n)) = self.expiry.front() {
            if deadline_us > now_us {
                break;
            }
            self.expiry.pop_front();
            if self.open.get(&n).is_some_and(|t| t.deadline_us == deadline_us) {
                self.open.remove(&n);
                self.marks.hit(Mark::TxnExpired);
            }
        }
    }

    /// The earliest moment `expire` has something to do. (Equivalent mutant: `None`; see
    /// `Node::next_deadline`.)
    pub fn next_deadline(&self) -> Option<u64> {
        let open = self.expiry.front().map(|&(d, _)| d);
        let reserved = self.reserved_expiry.front().map(|&(d, _)| d);
        [open, reserved].into_iter().flatten().min()
    }

    /// (open transactions, their queued expiries, ids reserved for a client's reads,
    /// their queued expiries): see `node::TableSizes`. Every field is named, so that a
    /// new table here does not compile until it is counted or said not to grow.
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        let OpenTxns { ttl_us: _, next_txn: _, open, expiry, reserved, reserved_expiry, marks: _ } =
            self;
        (open.len(), expiry.len(), reserved.len(), reserved_expiry.len())
    }
}
