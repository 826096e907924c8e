//! A compact, readable rendering of a history: one line per transaction, for snapshot
//! review and failure reports. Transactions are named and ordered as the checker names
//! them: `T<n>` is the transaction invoked at history event `n`.
//!
//! ```text
//! txn    proc txn_id outcome    invoked  completed  ops
//! T0     p3   t17    ok         1.000ms   12.345ms  r x@4=3.1 r y@0=null w x@5=3.9 r x@own=3.9
//! ```
//!
//! (the process and the store's txn id attached to the name, outcome, times in ms of
//! virtual time, ops in program order: reads as `key@version=value`, reads from the
//! transaction's own write buffer as `key@own=value`, writes as `key@installed=value`,
//! or `key=value` when no version was installed; `?` where the result is not known).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use workloads::history::{Event, EventKind, Op, OpKind};

pub use crate::check::report::format_ms;

/// The column header [`history_compact`] starts with.
pub const HEADER: &str = "txn    proc txn_id outcome    invoked  completed  ops (r k@version=value, \
                          r k@own=value: own write, w k@installed=value, w k=value: nothing installed)";

/// Every transaction of `history`, one line each, in invocation order, under [`HEADER`].
pub fn history_compact(history: &[Event]) -> String {
    let mut lines: Vec<(&Event, Option<&Event>)> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for event in history {
        if event.kind == EventKind::Invoke {
            open.insert(event.process, lines.len());
            lines.push((event, None));
        } else if let Some(line) = open.remove(&event.process) {
            lines[line].1 = Some(event);
        }
    }
    let mut out = format!("{HEADER}\n");
    for (invoke, completion) in lines {
        let _ = writeln!(out, "{}", transaction_line(invoke, completion));
    }
    out
}

/// One transaction: its invocation and, unless still open, its completion.
pub fn transaction_line(invoke: &Event, completion: Option<&Event>) -> String {
    let outcome = match completion.map(|c| c.kind) {
        Some(EventKind::Ok) => "ok",
        Some(EventKind::Fail) => "fail",
        Some(EventKind::Info) => "info",
        Some(EventKind::Invoke) | None => "open",
    };
    let done = completion.unwrap_or(invoke);
    format!(
        "{:<6} p{:<3} {:<6} {outcome:<5} {:>11} {:>10}  {}",
        format!("T{}", invoke.index),
        invoke.process,
        done.txn_id.as_deref().unwrap_or("-"),
        format_ms(invoke.time),
        completion.map_or("-".to_string(), |c| format_ms(c.time)),
        ops(&done.ops, completion.is_some()),
    )
}

/// Ops in program order, as [`transaction_line`] shows them.
pub(crate) fn ops(ops: &[Op], completed: bool) -> String {
    let rendered: Vec<String> = ops.iter().map(|o| op(o, completed)).collect();
    rendered.join(" ")
}

/// An op as its completion reports it; an open transaction's ops have no results yet.
fn op(op: &Op, completed: bool) -> String {
    let value = op.value.as_deref().unwrap_or(if completed { "null" } else { "?" });
    match (op.f, op.version) {
        (OpKind::Read, None) if !completed => format!("r {}=?", op.key),
        (OpKind::Read, Some(version)) => format!("r {}@{version}={value}", op.key),
        (OpKind::Read, None) => format!("r {}@own={value}", op.key),
        (OpKind::Write, Some(version)) => format!("w {}@{version}={value}", op.key),
        (OpKind::Write, None) => format!("w {}={value}", op.key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_reads_writes_and_outcomes_compactly() {
        // One line per transaction, named T<invocation index> as the checker names it.
        let op = |f, key: &str, value: Option<&str>, version| Op {
            f,
            key: key.into(),
            value: value.map(Into::into),
            version,
        };
        let history = vec![
            Event {
                index: 0,
                time: 1_000,
                process: 3,
                kind: EventKind::Invoke,
                txn_id: None,
                ops: vec![],
                final_read: false,
            },
            Event {
                index: 1,
                time: 12_345,
                process: 3,
                kind: EventKind::Ok,
                txn_id: Some("t17".into()),
                ops: vec![
                    op(OpKind::Read, "x", Some("3.1"), Some(4)),
                    op(OpKind::Read, "y", None, Some(0)),
                    op(OpKind::Write, "x", Some("3.9"), Some(5)),
                    op(OpKind::Read, "x", Some("3.9"), None),
                ],
                final_read: false,
            },
            Event {
                index: 2,
                time: 2_000,
                process: 4,
                kind: EventKind::Invoke,
                txn_id: None,
                ops: vec![op(OpKind::Read, "x", None, None)],
                final_read: false,
            },
        ];
        assert_eq!(
            history_compact(&history),
            format!(
                "{HEADER}\n\
                 T0     p3   t17    ok        1.000ms   12.345ms  r x@4=3.1 r y@0=null w x@5=3.9 r x@own=3.9\n\
                 T2     p4   -      open      2.000ms          -  r x=?\n"
            )
        );
    }
}
