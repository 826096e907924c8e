//! Pairing invocations with completions into transactions, checking that the history is
//! well formed, and interning keys and values into dense ids.
//!
//! Well-formedness (a violation is a [`HistoryError`], not a verdict):
//! - event `index` strictly increases and `time` never decreases from line to line;
//! - a process has at most one open transaction, and completes only the one it opened;
//! - a process whose transaction ended `info` is retired and never appears again;
//! - a completion's ops match its invocation's (same `f`, key and written value in the
//!   same order); an `ok` has all of them, a `fail` or `info` may report a prefix;
//! - every write has a value; in an `ok`, the last write of each key carries the version
//!   it installed and earlier writes of that key carry none; `fail` and `info` writes
//!   carry no version;
//! - a final read (`"final": true` on its invocation; its completion may repeat the mark)
//!   writes nothing, and once one is invoked every later event belongs to a final read:
//!   the mark promises that all other work had finished and nothing was in flight.
//!
//! An invocation still open at the end of the history is indeterminate, like `info`.

use std::collections::BTreeMap;

use workloads::history::{Event, EventKind, Op, OpKind};

use super::history::HistoryError;
use super::intern::{Interner, Packed, Value, Values, NULL, UNKNOWN};

/// `u32` "none" for txn, node, key or position references.
pub(crate) const NONE: u32 = u32::MAX;
/// `u64` "none" for versions (a read served from the write buffer; a write with no version).
pub(crate) const NO_VERSION: u64 = u64::MAX;
/// The largest version a history may carry. Keeping versions below 2^63 leaves the
/// checker room above them for its markers ([`NO_VERSION`], the search's top slot) and
/// for `v + 1` everywhere, and costs no real store anything: bumping by one from 0, it
/// would take 2^63 commits to one key to get there. It is also the largest integer every
/// JSON reader that uses signed 64-bit integers can hold.
pub const VERSION_MAX: u64 = (1 << 63) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Fail,
    /// `info`, or never completed: may or may not have committed.
    Info,
}

/// What a transaction's writes do in the view being checked. The history's own view is
/// `ok` → `Commits`, `fail` → `None`, `info`/open → `Maybe`; the exact search (`resolve`)
/// checks views where every indeterminate transaction it had to decide is `Commits`
/// (with the versions it chose) or `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Commits,
    None,
    Maybe,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Txn {
    pub(crate) process: u64,
    /// Position of the invocation in the event slice.
    pub(crate) invoke: u32,
    /// Position of the completion, or [`NONE`] when the history ends first.
    pub(crate) complete: u32,
    pub(crate) outcome: Outcome,
    /// What its writes do in this view (see [`Effect`]).
    pub(crate) effect: Effect,
    pub(crate) ops_start: u32,
    /// End of the ops that ran as far as this view knows: every reported op; for an
    /// indeterminate transaction the unreported rest follows up to `ops_invoked`, and a
    /// view where it ran `p` of them moves this end by `p`.
    pub(crate) ops_end: u32,
    pub(crate) ops_invoked: u32,
    /// Invoked with `"final": true`: what it reads is each key's final state.
    pub(crate) final_read: bool,
}

/// One operation with interned key and value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct COp {
    pub(crate) write: bool,
    pub(crate) key: u32,
    /// The value written or read ([`NULL`] for null).
    pub(crate) value: Value,
    /// Version, or [`NO_VERSION`] for null.
    pub(crate) version: u64,
    /// A write that is the transaction's last write of its key among the ops that ran
    /// (the one that installs).
    pub(crate) last_write: bool,
}

/// For each op `(is_write, key)`, whether it is the last write of its key. Linear scans for
/// small transactions, a sort for big ones (a bulk load must not be quadratic).
pub(crate) fn last_writes<K: Ord>(ops: &[(bool, K)]) -> Vec<bool> {
    let mut last = vec![false; ops.len()];
    if ops.len() <= 32 {
        for (i, (write, key)) in ops.iter().enumerate() {
            last[i] = *write && !ops[i + 1..].iter().any(|(w, k)| *w && k == key);
        }
        return last;
    }
    let mut writes: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].0).collect();
    writes.sort_by(|&a, &b| ops[a].1.cmp(&ops[b].1).then(a.cmp(&b)));
    for (j, &i) in writes.iter().enumerate() {
        last[i] = writes.get(j + 1).is_none_or(|&next| ops[next].1 != ops[i].1);
    }
    last
}

/// Which ops are the last write of their key, without allocating for small transactions.
pub(crate) enum LastWrites {
    /// Bit `i` set: op `i` is a last write (transactions of up to 32 ops).
    Small(u32),
    Big(Vec<bool>),
}

impl LastWrites {
    /// For `n` ops where `op(i)` is `(is_write, key)`.
    pub(crate) fn new<K: Ord>(n: usize, op: impl Fn(usize) -> (bool, K)) -> LastWrites {
        if n > 32 {
            return LastWrites::Big(last_writes(&(0..n).map(op).collect::<Vec<_>>()));
        }
        let mut mask = 0u32;
        for i in 0..n {
            let (write, key) = op(i);
            if write
                && !(i + 1..n).any(|j| {
                    let (w, k) = op(j);
                    w && k == key
                })
            {
                mask |= 1 << i;
            }
        }
        LastWrites::Small(mask)
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        match self {
            LastWrites::Small(mask) => mask >> i & 1 == 1,
            LastWrites::Big(last) => last[i],
        }
    }
}

pub(crate) struct History<'a> {
    pub(crate) events: &'a [Event],
    pub(crate) txns: Vec<Txn>,
    pub(crate) ops: Vec<COp>,
    pub(crate) keys: Interner<'a>,
    pub(crate) values: Values<'a>,
    /// For each event position, the transaction it belongs to.
    pub(crate) event_txn: Vec<u32>,
}

impl<'a> History<'a> {
    /// The ops that ran, in this view.
    pub(crate) fn ops(&self, txn: u32) -> &[COp] {
        let t = &self.txns[txn as usize];
        &self.ops[t.ops_start as usize..t.ops_end as usize]
    }

    /// The ops it invoked that its completion did not report (indeterminate transactions
    /// only; `ok` reports what ran, and a `fail` changed nothing).
    pub(crate) fn unreported(&self, txn: u32) -> &[COp] {
        let t = &self.txns[txn as usize];
        &self.ops[t.ops_end as usize..t.ops_invoked as usize]
    }

    /// Whether an indeterminate transaction may have written more than it reported.
    pub(crate) fn uncertain(&self, txn: u32) -> bool {
        self.txns[txn as usize].outcome == Outcome::Info
            && self.unreported(txn).iter().any(|op| op.write)
    }

    /// Marks which of the ops in `ops_start..ops_end` are the last write of their key.
    pub(crate) fn mark_last_writes(&mut self, txn: u32) {
        let t = self.txns[txn as usize];
        let ran = &mut self.ops[t.ops_start as usize..t.ops_end as usize];
        let last = LastWrites::new(ran.len(), |i| (ran[i].write, ran[i].key));
        for (i, op) in ran.iter_mut().enumerate() {
            op.last_write = last.get(i);
        }
        for op in &mut self.ops[t.ops_end as usize..t.ops_invoked as usize] {
            op.last_write = false;
        }
    }

    /// The event that best describes a transaction's ops: its completion if any.
    pub(crate) fn last_event(&self, txn: u32) -> &'a Event {
        let t = &self.txns[txn as usize];
        let pos = if t.complete == NONE { t.invoke } else { t.complete };
        &self.events[pos as usize]
    }
}

#[derive(Clone, Copy)]
enum Process {
    Open(u32),
    Idle,
    Retired(usize),
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    }
}

fn f_name(f: OpKind) -> &'static str {
    match f {
        OpKind::Read => "read",
        OpKind::Write => "write",
    }
}

/// Pairs the events into transactions, checking well-formedness as it goes (the first
/// rule broken, in event order, is the error).
pub(crate) fn pair(events: &[Event]) -> Result<History<'_>, HistoryError> {
    let mut pairing = Pairing {
        history: History {
            events,
            txns: Vec::with_capacity(events.len() / 2 + 1),
            ops: Vec::new(),
            keys: Interner::default(),
            values: Values::default(),
            event_txn: Vec::with_capacity(events.len()),
        },
        op_keys: Vec::new(),
        processes: BTreeMap::new(),
        final_from: None,
    };
    for (pos, event) in events.iter().enumerate() {
        check_version_max(pos, event)?;
        if pos > 0 {
            check_index_and_time(pos, &events[pos - 1], event)?;
        }
        pairing.event(pos, event)?;
    }
    Ok(pairing.finish())
}

/// No version above [`VERSION_MAX`].
fn check_version_max(pos: usize, event: &Event) -> Result<(), HistoryError> {
    let garbage =
        event.ops.iter().find_map(|op| Some((op, op.version?)).filter(|&(_, v)| v > VERSION_MAX));
    match garbage {
        Some((op, version)) => Err(HistoryError::at(
            pos,
            format!(
                "version {version} of key {:?} is above {VERSION_MAX} (2^63-1), the largest a history may carry: a store that bumps by one never gets there, so this one is garbage (see docs/history-format.md)",
                node::clip::clip(&op.key),
            ),
        )),
        None => Ok(()),
    }
}

/// Event `index` strictly increases and `time` never decreases from line to line.
fn check_index_and_time(pos: usize, prev: &Event, event: &Event) -> Result<(), HistoryError> {
    if event.index <= prev.index {
        return Err(HistoryError::at(
            pos,
            format!(
                "index {} does not increase (previous line has index {})",
                event.index, prev.index
            ),
        ));
    }
    if event.time < prev.time {
        return Err(HistoryError::at(
            pos,
            format!("time {} goes backwards (previous line has time {})", event.time, prev.time),
        ));
    }
    Ok(())
}

/// What [`pair`] keeps while it walks the events in order.
struct Pairing<'a> {
    history: History<'a>,
    /// Each op's key, packed while its event is at hand; interned by [`Pairing::finish`],
    /// in op order (so ids still follow first appearance), where the lookups do not
    /// compete for the cache with a walk over the whole history.
    op_keys: Vec<Packed<'a>>,
    processes: BTreeMap<u64, Process>,
    /// Position of the first final invocation, once there is one.
    final_from: Option<usize>,
}

impl<'a> Pairing<'a> {
    /// One event: an invocation opens its process's transaction, a completion closes it.
    fn event(&mut self, pos: usize, event: &'a Event) -> Result<(), HistoryError> {
        let state = *self.processes.entry(event.process).or_insert(Process::Idle);
        if event.kind == EventKind::Invoke && event.final_read && self.final_from.is_none() {
            self.final_from = Some(pos);
        }
        self.check_after_final(pos, event, state)?;
        if event.kind == EventKind::Invoke {
            self.invoke(pos, event, state)
        } else {
            self.complete(pos, event, state)
        }
    }

    /// Once a final read is invoked, every later event belongs to a final read.
    fn check_after_final(
        &self,
        pos: usize,
        event: &Event,
        state: Process,
    ) -> Result<(), HistoryError> {
        let Some(start) = self.final_from else {
            return Ok(());
        };
        let open_final = match state {
            Process::Open(txn) => self.history.txns[txn as usize].final_read,
            _ => false,
        };
        let is_final = if event.kind == EventKind::Invoke { event.final_read } else { open_final };
        if is_final {
            return Ok(());
        }
        Err(HistoryError::at(
            pos,
            format!(
                "this {} event of process {} comes after the final read began on line {}; a final read must start after every other transaction has completed",
                kind_name(event.kind),
                event.process,
                start + 1
            ),
        ))
    }

    /// An invocation: its process must be idle (one open transaction at a time, none
    /// after an `info`).
    fn invoke(&mut self, pos: usize, event: &Event, state: Process) -> Result<(), HistoryError> {
        match state {
            Process::Open(txn) => {
                let open_line = self.history.txns[txn as usize].invoke as usize + 1;
                return Err(HistoryError::at(
                    pos,
                    format!(
                        "process {} invokes a transaction while its transaction invoked on line {open_line} is still open",
                        event.process
                    ),
                ));
            }
            Process::Retired(info_pos) => return Err(reappeared(pos, event.process, info_pos)),
            Process::Idle => {}
        }
        // An invoked write may lack its value: a read-modify-write (an increment, a
        // transfer) only knows what it writes once it has read. The completion says.
        let txn = u32::try_from(self.history.txns.len()).expect("fewer than 2^32 transactions");
        self.history.txns.push(Txn {
            process: event.process,
            invoke: pos as u32,
            complete: NONE,
            outcome: Outcome::Info,
            effect: Effect::Maybe,
            ops_start: 0,
            ops_end: 0,
            ops_invoked: 0,
            final_read: event.final_read,
        });
        self.processes.insert(event.process, Process::Open(txn));
        self.history.event_txn.push(txn);
        Ok(())
    }

    /// A completion: it closes its process's open transaction, whose invocation it must
    /// match, and an `info` retires the process.
    fn complete(
        &mut self,
        pos: usize,
        event: &'a Event,
        state: Process,
    ) -> Result<(), HistoryError> {
        let txn = match state {
            Process::Open(txn) => txn,
            Process::Idle => {
                return Err(HistoryError::at(
                    pos,
                    format!(
                        "{} completion for process {}, which has no open transaction",
                        kind_name(event.kind),
                        event.process
                    ),
                ))
            }
            Process::Retired(info_pos) => return Err(reappeared(pos, event.process, info_pos)),
        };
        let outcome = match event.kind {
            EventKind::Ok => Outcome::Ok,
            EventKind::Fail => Outcome::Fail,
            _ => Outcome::Info,
        };
        let after = if outcome == Outcome::Info { Process::Retired(pos) } else { Process::Idle };
        self.processes.insert(event.process, after);
        let invoke_pos = self.history.txns[txn as usize].invoke as usize;
        let events = self.history.events;
        let invoke = &events[invoke_pos];
        validate_completion(pos, event, invoke_pos, invoke)?;
        validate_final_mark(pos, event, invoke_pos, invoke)?;
        let t = &mut self.history.txns[txn as usize];
        t.complete = pos as u32;
        t.outcome = outcome;
        t.effect = match outcome {
            Outcome::Ok => Effect::Commits,
            Outcome::Fail => Effect::None,
            Outcome::Info => Effect::Maybe,
        };
        self.history.event_txn.push(txn);
        intern_ops(&mut self.history, &mut self.op_keys, txn, &invoke.ops, &event.ops, outcome);
        Ok(())
    }

    /// The transactions still open at the end get their invoked ops, as indeterminate;
    /// then every op's key is interned.
    fn finish(mut self) -> History<'a> {
        let history = &mut self.history;
        let events = history.events;
        for txn in 0..history.txns.len() as u32 {
            if history.txns[txn as usize].complete == NONE {
                let invoke = &events[history.txns[txn as usize].invoke as usize];
                intern_ops(history, &mut self.op_keys, txn, &invoke.ops, &[], Outcome::Info);
            }
        }
        for (op, &key) in history.ops.iter_mut().zip(&self.op_keys) {
            op.key = history.keys.intern_packed(key);
        }
        self.history
    }
}

/// A final read is marked on its invocation and only reads.
fn validate_final_mark(
    pos: usize,
    event: &Event,
    invoke_pos: usize,
    invoke: &Event,
) -> Result<(), HistoryError> {
    if event.final_read && !invoke.final_read {
        return Err(HistoryError::at(
            pos,
            format!(
                "completion is marked final but its invocation on line {} is not; mark the invocation",
                invoke_pos + 1
            ),
        ));
    }
    let write = invoke.ops.iter().chain(&event.ops).find(|op| op.f == OpKind::Write);
    match write {
        Some(op) if invoke.final_read => Err(HistoryError::at(
            pos,
            format!(
                "the final read invoked on line {} writes {:?}; a final read only reads",
                invoke_pos + 1,
                op.key
            ),
        )),
        _ => Ok(()),
    }
}

/// Jepsen's rule: a process whose transaction ended `info` never issues another.
fn reappeared(pos: usize, process: u64, info_pos: usize) -> HistoryError {
    HistoryError::at(
        pos,
        format!(
            "process {process} was retired by its info completion on line {} and must not appear again",
            info_pos + 1
        ),
    )
}

/// A completion matches its invocation and says which versions its writes installed.
fn validate_completion(
    pos: usize,
    event: &Event,
    invoke_pos: usize,
    invoke: &Event,
) -> Result<(), HistoryError> {
    validate_ops_match(pos, event, invoke_pos, invoke)?;
    validate_write_versions(pos, event)
}

/// A completion's ops match its invocation's: same `f`, key and written value in the
/// same order, a prefix of them at most, and every write with a value.
fn validate_ops_match(
    pos: usize,
    event: &Event,
    invoke_pos: usize,
    invoke: &Event,
) -> Result<(), HistoryError> {
    let kind = kind_name(event.kind);
    let (n, m) = (event.ops.len(), invoke.ops.len());
    // A completion may report fewer ops than were invoked: for `ok`, the program skipped
    // the rest (a transfer that would overdraw writes nothing); for `fail` and `info`, the
    // rest are unknown.
    if n > m {
        return Err(HistoryError::at(
            pos,
            format!(
                "{kind} completion has {n} ops but its invocation on line {} has {m}",
                invoke_pos + 1
            ),
        ));
    }
    for (i, (done, asked)) in event.ops.iter().zip(&invoke.ops).enumerate() {
        if done.f != asked.f || done.key != asked.key {
            return Err(HistoryError::at(
                pos,
                format!(
                    "op {i} is a {} of {:?} but the invocation on line {} has a {} of {:?}",
                    f_name(done.f),
                    done.key,
                    invoke_pos + 1,
                    f_name(asked.f),
                    asked.key
                ),
            ));
        }
        if done.f == OpKind::Write {
            if done.value.is_none() {
                return Err(HistoryError::at(
                    pos,
                    format!("op {i}: write of {:?} has no value", done.key),
                ));
            }
            if asked.value.is_some() && done.value != asked.value {
                return Err(HistoryError::at(
                    pos,
                    format!(
                        "op {i}: write of {:?} has value {:?} but the invocation on line {} writes {:?}",
                        done.key,
                        done.value.as_deref().unwrap_or(""),
                        invoke_pos + 1,
                        asked.value.as_deref().unwrap_or("")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// In an `ok`, the last write of each key carries the version it installed and earlier
/// writes of that key carry none; `fail` and `info` writes carry no version.
fn validate_write_versions(pos: usize, event: &Event) -> Result<(), HistoryError> {
    let kind = kind_name(event.kind);
    let last = LastWrites::new(event.ops.len(), |i| {
        (event.ops[i].f == OpKind::Write, event.ops[i].key.as_str())
    });
    for (i, op) in event.ops.iter().enumerate() {
        if op.f != OpKind::Write {
            continue;
        }
        let last_of_key = last.get(i);
        match (event.kind, last_of_key, op.version) {
            (EventKind::Ok, true, None) => {
                return Err(HistoryError::at(
                    pos,
                    format!(
                        "op {i}: ok write of {:?} does not say which version it installed",
                        op.key
                    ),
                ))
            }
            (EventKind::Ok, false, Some(_)) => {
                return Err(HistoryError::at(
                    pos,
                    format!(
                        "op {i}: write of {:?} carries a version but is not the transaction's last write of that key",
                        op.key
                    ),
                ))
            }
            (EventKind::Fail | EventKind::Info, _, Some(_)) => {
                return Err(HistoryError::at(
                    pos,
                    format!(
                        "op {i}: {kind} write of {:?} carries a version; only ok writes install one",
                        op.key
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Appends a transaction's ops with their values interned; their keys go to `op_keys`,
/// to be interned later. The reported ops come first; an indeterminate transaction's
/// unreported ones follow (see [`Txn::ops_end`]). Last writes are marked once the keys
/// are interned.
fn intern_ops<'a>(
    history: &mut History<'a>,
    op_keys: &mut Vec<Packed<'a>>,
    txn: u32,
    asked: &'a [Op],
    done: &'a [Op],
    outcome: Outcome,
) {
    let start = history.ops.len() as u32;
    // An ok completion is the whole truth: ops it does not report did not run.
    let asked = if outcome == Outcome::Ok { &asked[..done.len()] } else { asked };
    for (i, invoked) in asked.iter().enumerate() {
        let op = done.get(i).unwrap_or(invoked);
        op_keys.push(Packed::new(&op.key));
        let reported = done.get(i).is_some();
        let value = match (reported, op.f, op.value.as_deref()) {
            // A read the completion did not report returned something unknown.
            (false, OpKind::Read, _) => NULL,
            // An unreported write whose invocation did not say what it writes.
            (false, OpKind::Write, None) => UNKNOWN,
            (_, _, text) => history.values.value(text),
        };
        let version = match (reported, op.version) {
            (true, Some(v)) => v,
            _ => NO_VERSION,
        };
        history.ops.push(COp {
            write: op.f == OpKind::Write,
            key: NONE,
            value,
            version,
            last_write: false,
        });
    }
    let invoked = history.ops.len() as u32;
    // A fail's ops did not take effect, reported or not; they only name values (G1a).
    let end = if outcome == Outcome::Info { start + done.len() as u32 } else { invoked };
    let ran = &mut history.ops[start as usize..end as usize];
    let keys = &op_keys[start as usize..end as usize];
    let last = LastWrites::new(ran.len(), |i| (ran[i].write, keys[i]));
    for (i, op) in ran.iter_mut().enumerate() {
        op.last_write = last.get(i);
    }
    let t = &mut history.txns[txn as usize];
    t.ops_start = start;
    t.ops_end = end;
    t.ops_invoked = invoked;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::history::parse_history;

    fn check_err(lines: &[&str], line: usize, needle: &str) {
        let events = parse_history(&lines.join("\n")).unwrap();
        let err = pair(&events).err().expect("malformed history accepted");
        assert_eq!(err.line, line, "{err}");
        assert!(err.message.contains(needle), "{err}");
    }

    const INV0: &str = r#"{"index":0,"time":1,"process":0,"type":"invoke","ops":[{"f":"w","key":"x","value":"1"}]}"#;

    #[test]
    fn last_writes_marks_the_last_write_of_each_key_small_or_big() {
        let small = [(true, 1), (false, 1), (true, 2), (true, 1)];
        assert_eq!(last_writes(&small), vec![false, false, true, true]);
        let big: Vec<(bool, u32)> = (0..100).map(|i| (i % 3 != 0, i % 7)).collect();
        let expect: Vec<bool> = (0..100)
            .map(|i| big[i].0 && !big[i + 1..].iter().any(|o| o.0 && o.1 == big[i].1))
            .collect();
        assert_eq!(last_writes(&big), expect);
        for ops in [&small[..], &big[..32], &big[..]] {
            let flags = LastWrites::new(ops.len(), |i| ops[i]);
            let flags: Vec<bool> = (0..ops.len()).map(|i| flags.get(i)).collect();
            assert_eq!(flags, last_writes(ops), "{} ops", ops.len());
        }
    }

    #[test]
    fn pairs_invocations_with_completions() {
        let ok = r#"{"index":1,"time":2,"process":0,"type":"ok","ops":[{"f":"w","key":"x","value":"1","version":1}]}"#;
        let events = parse_history(&[INV0, ok].join("\n")).unwrap();
        let h = pair(&events).unwrap();
        assert_eq!(h.txns.len(), 1);
        assert_eq!(h.txns[0].outcome, Outcome::Ok);
        assert_eq!(h.ops(0)[0].version, 1);
    }

    #[test]
    fn rejects_malformed_histories_with_the_line() {
        let inv0b = r#"{"index":1,"time":2,"process":0,"type":"invoke","ops":[]}"#;
        check_err(&[INV0, inv0b], 2, "still open");
        let ok1 = r#"{"index":1,"time":2,"process":1,"type":"ok","ops":[]}"#;
        check_err(&[INV0, ok1], 2, "no open transaction");
        let info = r#"{"index":1,"time":2,"process":0,"type":"info","ops":[{"f":"w","key":"x","value":"1"}]}"#;
        let again = r#"{"index":2,"time":3,"process":0,"type":"invoke","ops":[]}"#;
        check_err(&[INV0, info, again], 3, "retired");
        let wrong_key = r#"{"index":1,"time":2,"process":0,"type":"ok","ops":[{"f":"w","key":"y","value":"1","version":1}]}"#;
        check_err(&[INV0, wrong_key], 2, "invocation on line 1");
        let no_version = r#"{"index":1,"time":2,"process":0,"type":"ok","ops":[{"f":"w","key":"x","value":"1"}]}"#;
        check_err(&[INV0, no_version], 2, "does not say which version");
        let back = r#"{"index":1,"time":0,"process":0,"type":"fail","ops":[]}"#;
        check_err(&[INV0, back], 2, "time 0 goes backwards");
        let same_index = r#"{"index":0,"time":1,"process":0,"type":"fail","ops":[]}"#;
        check_err(&[INV0, same_index], 2, "does not increase");
        let fail_version = r#"{"index":1,"time":2,"process":0,"type":"fail","ops":[{"f":"w","key":"x","value":"1","version":1}]}"#;
        check_err(&[INV0, fail_version], 2, "only ok writes install");
    }

    #[test]
    fn final_reads_come_last_only_read_and_are_marked_on_the_invocation() {
        let ok0 = r#"{"index":1,"time":2,"process":0,"type":"ok","ops":[{"f":"w","key":"x","value":"1","version":1}]}"#;
        let final_inv = r#"{"index":2,"time":3,"process":1,"type":"invoke","ops":[{"f":"r","key":"x"}],"final":true}"#;
        let final_ok = r#"{"index":3,"time":4,"process":1,"type":"ok","ops":[{"f":"r","key":"x","value":"1","version":1}],"final":true}"#;
        let events = parse_history(&[INV0, ok0, final_inv, final_ok].join("\n")).unwrap();
        assert!(pair(&events).unwrap().txns[1].final_read);
        // A transaction still running when the final read begins breaks the promise.
        let early_final = r#"{"index":1,"time":2,"process":1,"type":"invoke","ops":[{"f":"r","key":"x"}],"final":true}"#;
        let ok0_after = ok0.replace(r#""index":1,"time":2"#, r#""index":2,"time":3"#);
        check_err(&[INV0, early_final, &ok0_after], 3, "after the final read began on line 2");
        let late = r#"{"index":4,"time":5,"process":2,"type":"invoke","ops":[]}"#;
        check_err(
            &[INV0, ok0, final_inv, final_ok, late],
            5,
            "after the final read began on line 3",
        );
        let unmarked_inv = final_inv.replace(r#","final":true"#, "");
        check_err(&[INV0, ok0, &unmarked_inv, final_ok], 4, "mark the invocation");
        let writing_inv = r#"{"index":2,"time":3,"process":1,"type":"invoke","ops":[{"f":"w","key":"x","value":"2"}],"final":true}"#;
        let writing_ok = r#"{"index":3,"time":4,"process":1,"type":"ok","ops":[{"f":"w","key":"x","value":"2","version":2}]}"#;
        check_err(&[INV0, ok0, writing_inv, writing_ok], 4, "a final read only reads");
    }
}
