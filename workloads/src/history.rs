//! The history format of `docs/history-format.md`: one event per JSON line, an invocation followed later
//! by its completion for the same process. The simulator's clients write it; the checker
//! (`sim check`) reads it, from the simulator or from any other tool.

use serde::{Deserialize, Serialize};

/// One line of a history file. Unknown fields are refused: a misspelt `"verison"` must
/// be an input error naming the field, not a silently missing version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub index: u64,
    /// Virtual microseconds (true simulated time, not a process's skewed clock).
    pub time: u64,
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(default)]
    pub txn_id: Option<String>,
    pub ops: Vec<Op>,
    /// Part of the final read: a read-only transaction the harness runs after every other
    /// transaction has completed and the network is quiescent (every message in flight
    /// delivered or dropped), so nothing it does not see can still land. Checkers may
    /// treat what it reads as each key's final state. Written as `"final": true`, and
    /// left out when false.
    #[serde(rename = "final", default, skip_serializing_if = "is_false")]
    pub final_read: bool,
}

fn is_false(flag: &bool) -> bool {
    !flag
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Invoke,
    /// Committed.
    Ok,
    /// Definitely not committed.
    Fail,
    /// Unknown: may or may not have committed.
    Info,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OpKind {
    #[serde(rename = "r")]
    Read,
    #[serde(rename = "w")]
    Write,
}

/// One operation in program order.
///
/// A read carries the value and version observed (`version: None` when it was served from
/// the transaction's own write buffer; `value: None, version: Some(0)` for an absent key).
/// A write carries the value written and, on `ok` only, the version it installed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    pub f: OpKind,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Op {
    pub fn read(key: impl Into<String>) -> Op {
        Op { f: OpKind::Read, key: key.into(), value: None, version: None }
    }

    pub fn write(key: impl Into<String>, value: impl Into<String>) -> Op {
        Op { f: OpKind::Write, key: key.into(), value: Some(value.into()), version: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_misspelt_fields_are_refused() {
        let line = r#"{"index":3,"time":5200,"process":0,"type":"ok","txn_id":"t1","ops":[{"f":"r","key":"x","value":"3","version":2},{"f":"w","key":"x","value":"7","version":3}]}"#;
        let event: Event = serde_json::from_str(line).expect("the documented example parses");
        assert_eq!(serde_json::to_string(&event).unwrap(), line);
        let typo = line.replace("\"version\":2", "\"verison\":2");
        let error = serde_json::from_str::<Event>(&typo).unwrap_err().to_string();
        assert!(error.contains("verison"), "{error}");
    }

    #[test]
    fn the_final_mark_is_written_only_when_set() {
        let line = r#"{"index":9,"time":1,"process":3,"type":"invoke","txn_id":null,"ops":[],"final":true}"#;
        let event: Event = serde_json::from_str(line).expect("a marked event parses");
        assert!(event.final_read);
        assert_eq!(serde_json::to_string(&event).unwrap(), line);
        let unmarked = Event { final_read: false, ..event };
        assert!(!serde_json::to_string(&unmarked).unwrap().contains("final"));
    }
}
