//! A compact, readable rendering of a history: one line per transaction, for snapshot
//! review and failure reports.
//!
//! `   12.345ms p3  ok    t17  r x@4=3.1 r y@0=null w x=3.9@5`
//! (completion time, process, outcome, txn id, ops in program order; reads as
//! `key@version=value`, buffered reads as `key@own=value`, writes as
//! `key=value@installed-version`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use workloads::history::{Event, EventKind, Op, OpKind};

pub fn history_compact(history: &[Event]) -> String {
    let mut out = String::new();
    let mut invoked: BTreeMap<u64, &Event> = BTreeMap::new();
    for event in history {
        if event.kind == EventKind::Invoke {
            invoked.insert(event.process, event);
            continue;
        }
        let started = invoked.remove(&event.process).map_or(0, |i| i.time);
        let _ = writeln!(out, "{}", transaction_line(started, event));
    }
    for (process, event) in invoked {
        let _ =
            writeln!(out, "{:>11} p{process:<3} open  {}", format_ms(event.time), ops(&event.ops));
    }
    out
}

/// One completed transaction, stamped with its invocation and completion times.
pub fn transaction_line(invoked_us: u64, completion: &Event) -> String {
    let outcome = match completion.kind {
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
        EventKind::Invoke => "invoke",
    };
    format!(
        "{:>11} p{:<3} {outcome:<5} {:<5} {}  (invoked {})",
        format_ms(completion.time),
        completion.process,
        completion.txn_id.as_deref().unwrap_or("-"),
        ops(&completion.ops),
        format_ms(invoked_us),
    )
}

fn ops(ops: &[Op]) -> String {
    let rendered: Vec<String> = ops.iter().map(op).collect();
    rendered.join(" ")
}

fn op(op: &Op) -> String {
    let value = op.value.as_deref().unwrap_or("null");
    match (op.f, op.version) {
        (OpKind::Read, Some(version)) => format!("r {}@{version}={value}", op.key),
        (OpKind::Read, None) => format!("r {}@own={value}", op.key),
        (OpKind::Write, Some(version)) => format!("w {}={value}@{version}", op.key),
        (OpKind::Write, None) => format!("w {}={value}", op.key),
    }
}

/// Microseconds as milliseconds with three decimals: `12.345ms`.
pub fn format_ms(us: u64) -> String {
    format!("{}.{:03}ms", us / 1000, us % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_reads_writes_and_outcomes_compactly() {
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
        ];
        assert_eq!(
            history_compact(&history),
            "   12.345ms p3   ok    t17   r x@4=3.1 r y@0=null w x=3.9@5 r x@own=3.9  (invoked 1.000ms)\n"
        );
    }
}
