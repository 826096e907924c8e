//! A brute-force judge of histories, written from `docs/history-format.md` ("What a history
//! means") alone, to hold `sim::check` to the spec on small random histories.
//!
//! Why a second checker: the real one is clever (versions, dependency graphs, a bounded
//! search over indeterminate transactions) and cleverness hides mistakes. This one is
//! dumb on purpose: it tries every set `C` of committed transactions, every number of
//! unreported ops each indeterminate one ran, and every serial order, executing each
//! candidate one transaction at a time against a store. It is exponential, so it refuses
//! histories of more than [`TXNS_MAX`] transactions that may have committed.
//!
//! It assumes a well-formed history ([`wellformed`] says which are); it never reads
//! `sim::check`'s code.

pub mod differential;
pub mod generate;
pub mod mutate;
pub mod wellformed;

use std::collections::BTreeSet;

use workloads::history::{Event, EventKind, Op, OpKind};

use crate::check::Model;

/// The most transactions (`ok` and indeterminate: `fail` ones cost nothing) the oracle
/// agrees to judge; beyond it the search may take too long to be a test.
pub const TXNS_MAX: usize = 10;

/// The oracle's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// A witness: the `index` of each committed transaction's invocation, in serial order.
    Valid { order: Vec<usize> },
    /// No choice of committed set, unreported ops and serial order explains the history.
    Invalid,
    /// More than [`TXNS_MAX`] transactions may have committed: not judged.
    TooBig,
}

impl Judgement {
    pub fn is_valid(&self) -> bool {
        matches!(self, Judgement::Valid { .. })
    }
}

/// Judges `events` (assumed well-formed) under `model`.
pub fn judge(events: &[Event], model: Model) -> Judgement {
    let Some(txns) = transactions(events, model) else { return Judgement::TooBig };
    let keys = txns.iter().flat_map(|t| t.ops.iter().map(RunOp::key)).max().map_or(0, |k| k + 1);
    let mut search = Search {
        txns: &txns,
        must: mask_of(&txns, |t| t.ok),
        final_mask: mask_of(&txns, |t| t.final_read),
        nonfinal_ok: mask_of(&txns, |t| t.ok && !t.final_read),
        failed: BTreeSet::new(),
        order: Vec::new(),
    };
    let empty = vec![Slot { version: 0, value: Value::Absent }; keys];
    if search.place(0, &empty) {
        Judgement::Valid { order: search.order.iter().map(|&t| txns[t].name).collect() }
    } else {
        Judgement::Invalid
    }
}

/// A value as the oracle sees it: strings are interned, so a value is a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    /// The key was never written (`null`).
    Absent,
    Known(u32),
    /// Written by an unreported write whose invocation had no value: any string. The
    /// first read of the version it installed binds it to what that read saw.
    Unknown,
}

/// One key of the store: its current version and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    version: u64,
    value: Value,
}

/// One op of a transaction's possible run, with what it requires or does.
#[derive(Clone, Debug)]
enum RunOp {
    /// A reported read served by the store: the key was at `version` with `value`.
    StoreRead { key: usize, value: Value, version: u64 },
    /// A reported read served by the write buffer: `value` is the last earlier write.
    BufferRead { key: usize, value: Value },
    /// A read run but not reported: it returned something unknown.
    Unobserved { key: usize },
    /// A write; `version` is the one an `ok` reports installing (its last write of `key`).
    Write { key: usize, value: Value, version: Option<u64> },
}

impl RunOp {
    fn key(&self) -> usize {
        match *self {
            RunOp::StoreRead { key, .. }
            | RunOp::BufferRead { key, .. }
            | RunOp::Unobserved { key }
            | RunOp::Write { key, .. } => key,
        }
    }
}

/// A transaction that may have committed (`fail` ones are left out: they never did).
struct Txn {
    /// The `index` of its invocation.
    name: usize,
    ok: bool,
    final_read: bool,
    /// Reported ops, then the unreported rest of the invocation.
    ops: Vec<RunOp>,
    /// How many of `ops` were reported.
    reported: usize,
    /// Transactions (as a bit mask) that must come before it in the serial order.
    before: u32,
}

impl Txn {
    /// The lengths of run it may have had: an `ok` ran exactly what it reported; an
    /// indeterminate one its reported ops and any number `p` of the rest.
    fn run_lengths(&self) -> std::ops::RangeInclusive<usize> {
        if self.ok {
            self.reported..=self.reported
        } else {
            self.reported..=self.ops.len()
        }
    }
}

fn mask_of(txns: &[Txn], pick: impl Fn(&Txn) -> bool) -> u32 {
    txns.iter().enumerate().filter(|(_, t)| pick(t)).fold(0, |mask, (i, _)| mask | 1 << i)
}

/// Interns keys and values, in order of first appearance.
#[derive(Default)]
struct Names {
    keys: Vec<String>,
    values: Vec<String>,
}

fn intern(table: &mut Vec<String>, name: &str) -> usize {
    match table.iter().position(|n| n == name) {
        Some(i) => i,
        None => {
            table.push(name.to_string());
            table.len() - 1
        }
    }
}

impl Names {
    fn key(&mut self, op: &Op) -> usize {
        intern(&mut self.keys, &op.key)
    }

    fn value(&mut self, value: Option<&String>) -> Value {
        match value {
            None => Value::Absent,
            Some(v) => Value::Known(intern(&mut self.values, v) as u32),
        }
    }
}

/// (invocation position, completion position) of every transaction: an invocation is
/// paired with the next event of its process; one without is still open.
pub(crate) fn pairs(events: &[Event]) -> Vec<(usize, Option<usize>)> {
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    for (at, event) in events.iter().enumerate() {
        if event.kind == EventKind::Invoke {
            pairs.push((at, None));
        } else if let Some(pair) = pairs
            .iter_mut()
            .rev()
            .find(|(inv, done)| done.is_none() && events[*inv].process == event.process)
        {
            pair.1 = Some(at);
        }
    }
    pairs
}

/// The transactions that may have committed, with what each may have run; `None` when
/// there are more than [`TXNS_MAX`].
fn transactions(events: &[Event], model: Model) -> Option<Vec<Txn>> {
    let pairs = pairs(events);
    let completion = |pair: &(usize, Option<usize>)| pair.1.map(|at| &events[at]);
    let pairs: Vec<_> = pairs
        .into_iter()
        .filter(|p| completion(p).is_none_or(|c| c.kind != EventKind::Fail))
        .collect();
    if pairs.len() > TXNS_MAX {
        return None;
    }
    let mut names = Names::default();
    let mut txns: Vec<Txn> = pairs
        .iter()
        .map(|pair| {
            let invocation = &events[pair.0];
            let done = completion(pair);
            let reported: &[Op] = done.map_or(&[], |c| &c.ops);
            let ok = done.is_some_and(|c| c.kind == EventKind::Ok);
            let ops = invocation
                .ops
                .iter()
                .enumerate()
                .map(|(j, invoked)| run_op(&mut names, invoked, reported.get(j)))
                .collect();
            Txn {
                name: invocation.index as usize,
                ok,
                final_read: invocation.final_read,
                ops,
                reported: reported.len().min(invocation.ops.len()),
                before: 0,
            }
        })
        .collect();
    if matches!(model, Model::StrictSerializable) {
        // A before B when A is `ok` and A's completion line precedes B's invocation line.
        for b in 0..pairs.len() {
            for a in 0..pairs.len() {
                if txns[a].ok && pairs[a].1.is_some_and(|done| done < pairs[b].0) {
                    txns[b].before |= 1 << a;
                }
            }
        }
    }
    Some(txns)
}

/// What op `invoked` means in a run, given its completion's `reported` op if any.
fn run_op(names: &mut Names, invoked: &Op, reported: Option<&Op>) -> RunOp {
    let key = names.key(invoked);
    match (invoked.f, reported) {
        (OpKind::Read, None) => RunOp::Unobserved { key },
        (OpKind::Read, Some(read)) => {
            let value = names.value(read.value.as_ref());
            match read.version {
                Some(version) => RunOp::StoreRead { key, value, version },
                None => RunOp::BufferRead { key, value },
            }
        }
        (OpKind::Write, Some(write)) => {
            // Well-formed completions always carry the written value.
            let value = match &write.value {
                Some(v) => names.value(Some(v)),
                None => Value::Unknown,
            };
            RunOp::Write { key, value, version: write.version }
        }
        (OpKind::Write, None) => {
            let value = match &invoked.value {
                Some(v) => names.value(Some(v)),
                None => Value::Unknown,
            };
            RunOp::Write { key, value, version: None }
        }
    }
}

/// Executes the first `len` ops of `txn` against `store` and commits them: the store
/// after, or `None` when a read or a reported version disagrees.
fn execute(txn: &Txn, len: usize, store: &[Slot]) -> Option<Vec<Slot>> {
    let mut store = store.to_vec();
    // The write buffer: the last value written to each key, and the version claimed.
    let mut buffer: Vec<Option<(Value, Option<u64>)>> = vec![None; store.len()];
    for op in &txn.ops[..len] {
        match *op {
            RunOp::StoreRead { key, value, version } => {
                if buffer[key].is_some() {
                    return None; // a transaction never reads from the store a key it wrote
                }
                let slot = &mut store[key];
                if slot.version != version {
                    return None;
                }
                match (slot.value, value) {
                    (Value::Unknown, Value::Known(_)) => slot.value = value,
                    (held, read) if held == read => {}
                    _ => return None,
                }
            }
            RunOp::BufferRead { key, value } => match buffer[key] {
                // Reported reads precede every unreported write, so the buffer holds
                // only reported, known values here.
                Some((held, _)) if held == value => {}
                _ => return None,
            },
            RunOp::Unobserved { .. } => {}
            RunOp::Write { key, value, version } => buffer[key] = Some((value, version)),
        }
    }
    for (slot, written) in store.iter_mut().zip(buffer) {
        if let Some((value, claimed)) = written {
            let version = slot.version + 1;
            if claimed.is_some_and(|claimed| claimed != version) {
                return None;
            }
            *slot = Slot { version, value };
        }
    }
    Some(store)
}

/// The depth-first search over serial orders: places one transaction at a time.
struct Search<'a> {
    txns: &'a [Txn],
    /// Transactions that must be in `C`: every `ok`.
    must: u32,
    final_mask: u32,
    nonfinal_ok: u32,
    /// (placed, store) states from which no completion exists. What can still be placed,
    /// and how it executes, depends on nothing else, so each is explored once.
    failed: BTreeSet<(u32, Vec<Slot>)>,
    /// The transactions placed so far, in order.
    order: Vec<usize>,
}

impl Search<'_> {
    /// Whether the transactions not in `placed` can complete a serial order from `store`.
    /// Indeterminate transactions never placed are the ones not in `C`.
    fn place(&mut self, placed: u32, store: &[Slot]) -> bool {
        if placed & self.must == self.must {
            return true;
        }
        if self.failed.contains(&(placed, store.to_vec())) {
            return false;
        }
        for (t, txn) in self.txns.iter().enumerate() {
            if placed & 1 << t != 0 || !self.may_come_next(txn, placed) {
                continue;
            }
            for len in txn.run_lengths() {
                if let Some(after) = execute(txn, len, store) {
                    self.order.push(t);
                    if self.place(placed | 1 << t, &after) {
                        return true;
                    }
                    self.order.pop();
                }
            }
        }
        self.failed.insert((placed, store.to_vec()));
        false
    }

    /// Real time (under strict serializability) and final reads, which come last.
    fn may_come_next(&self, txn: &Txn, placed: u32) -> bool {
        let order_ok = txn.before & !placed == 0;
        let final_ok = if txn.final_read {
            self.nonfinal_ok & !placed == 0
        } else {
            placed & self.final_mask == 0
        };
        order_ok && final_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lines: &str, serializable: bool, strict: bool) {
        let events = crate::check::parse_history(lines).expect("a well-formed history");
        let got = (
            judge(&events, Model::Serializable).is_valid(),
            judge(&events, Model::StrictSerializable).is_valid(),
        );
        assert_eq!(got, (serializable, strict), "{lines}");
    }

    #[test]
    fn a_read_of_what_an_ok_wrote_is_valid() {
        check(
            r#"{"index":0,"time":1,"process":0,"type":"invoke","ops":[{"f":"w","key":"x","value":"a"}]}
{"index":1,"time":2,"process":0,"type":"ok","ops":[{"f":"w","key":"x","value":"a","version":1}]}
{"index":2,"time":3,"process":1,"type":"invoke","ops":[{"f":"r","key":"x"}]}
{"index":3,"time":4,"process":1,"type":"ok","ops":[{"f":"r","key":"x","value":"a","version":1}]}"#,
            true,
            true,
        );
    }

    #[test]
    fn an_unknown_write_binds_to_what_its_version_is_read_as() {
        // The info increment reported nothing; its write must be "5" for x@1 to be read.
        check(
            r#"{"index":0,"time":1,"process":0,"type":"invoke","ops":[{"f":"r","key":"x"},{"f":"w","key":"x"}]}
{"index":1,"time":2,"process":0,"type":"info","ops":[]}
{"index":2,"time":3,"process":1,"type":"invoke","ops":[{"f":"r","key":"x"}]}
{"index":3,"time":4,"process":1,"type":"ok","ops":[{"f":"r","key":"x","value":"5","version":1}]}
{"index":4,"time":5,"process":2,"type":"invoke","ops":[{"f":"r","key":"x"}]}
{"index":5,"time":6,"process":2,"type":"ok","ops":[{"f":"r","key":"x","value":"6","version":1}]}"#,
            false,
            false,
        );
    }
}
