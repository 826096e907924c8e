//! The history format of DESIGN.md: one event per JSON line, an invocation followed later
//! by its completion for the same process. The simulator's clients write it; the checker
//! (`sim check`) reads it, from the simulator or from any other tool.

use serde::{Deserialize, Serialize};

/// One line of a history file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
