//! `sim export --format elle`: a history as Jepsen/Elle JSON, one operation per line, for
//! cross-checking a run with elle-cli's `rw-register` checker:
//!
//! ```text
//! {"index":3,"time":5200000,"process":0,"type":"ok","f":"txn","value":[["r","x",1],["w","x",2]]}
//! ```
//!
//! The mapping (also in `docs/history-format.md`):
//! - one line per history event, in order, with its `index`, `process` and `type`;
//!   `time` in nanoseconds (the history's microseconds times 1,000);
//! - `value` is the transaction's ops in program order as `[f, key, value]`;
//! - versions are dropped: Elle infers the version order from unique written values;
//! - values become integers: per key, each distinct value is numbered from 1 in order of
//!   first appearance, so equal values stay equal and distinct ones distinct; an absent
//!   value (a read of nothing, a write whose value the invocation did not know yet) is
//!   `null`;
//! - Jepsen's process rule holds as it does in the history: a process whose transaction
//!   ended `info` never invokes again.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};
use workloads::history::{Event, EventKind, OpKind};

/// The whole history, one JSON object per line.
pub fn export(events: &[Event]) -> String {
    let mut numbers: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut next: BTreeMap<&str, u64> = BTreeMap::new();
    let mut out = String::new();
    for event in events {
        let ops: Vec<Json> = event
            .ops
            .iter()
            .map(|op| {
                let value = op.value.as_deref().map(|value| {
                    *numbers.entry((op.key.as_str(), value)).or_insert_with(|| {
                        let n = next.entry(op.key.as_str()).or_insert(0);
                        *n += 1;
                        *n
                    })
                });
                let f = match op.f {
                    OpKind::Read => "r",
                    OpKind::Write => "w",
                };
                json!([f, op.key, value])
            })
            .collect();
        let kind = match event.kind {
            EventKind::Invoke => "invoke",
            EventKind::Ok => "ok",
            EventKind::Fail => "fail",
            EventKind::Info => "info",
        };
        let line = json!({
            "index": event.index,
            "time": event.time.saturating_mul(1_000),
            "process": event.process,
            "type": kind,
            "f": "txn",
            "value": ops,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::parse_history;

    #[test]
    fn values_become_per_key_numbers_and_times_nanoseconds() {
        let history = parse_history(concat!(
            r#"{"index":0,"time":1,"process":0,"type":"invoke","ops":[{"f":"r","key":"x"},{"f":"w","key":"x","value":"a"}]}"#,
            "\n",
            r#"{"index":1,"time":2,"process":0,"type":"ok","ops":[{"f":"r","key":"x","version":0},{"f":"w","key":"x","value":"a","version":1}]}"#,
            "\n",
            r#"{"index":2,"time":3,"process":1,"type":"invoke","ops":[{"f":"w","key":"y","value":"a"},{"f":"r","key":"x"}]}"#,
            "\n",
            r#"{"index":3,"time":4,"process":1,"type":"info","ops":[{"f":"w","key":"y","value":"a"},{"f":"r","key":"x","value":"a","version":1}]}"#,
        ))
        .unwrap();
        let lines: Vec<Json> =
            export(&history).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["value"], json!([["r", "x", null], ["w", "x", 1]]));
        assert_eq!(lines[1]["type"], "ok");
        assert_eq!(lines[1]["time"], 2_000);
        // "a" of y is y's first value: 1 again, not x's number.
        assert_eq!(lines[3]["value"], json!([["w", "y", 1], ["r", "x", 1]]));
        assert_eq!(lines[3]["type"], "info");
        assert_eq!(lines[3]["process"], 1);
        assert_eq!(lines[3]["f"], "txn");
    }
}
