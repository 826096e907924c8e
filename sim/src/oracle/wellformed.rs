//! The well-formedness rules of `docs/history-format.md`, checked independently of
//! `sim::check`, so that the generator and the shrinker can keep to them and a checker
//! that refuses a well-formed history (or accepts an ill-formed one) is caught.

use std::collections::{BTreeMap, BTreeSet};

use workloads::history::{Event, EventKind, OpKind};

/// `Ok` when `events` keeps every rule; otherwise the first broken rule and its line.
pub fn well_formed(events: &[Event]) -> Result<(), String> {
    if events.is_empty() {
        return Err("an empty history has nothing to check".into());
    }
    // Open invocations by process, and processes retired by an `info`.
    let mut open: BTreeMap<u64, &Event> = BTreeMap::new();
    let mut retired: BTreeSet<u64> = BTreeSet::new();
    let mut final_invoked = false;
    for (at, event) in events.iter().enumerate() {
        let line = at + 1;
        let fail = |rule: &str| Err(format!("line {line}: {rule}"));
        if let Some(previous) = at.checked_sub(1).map(|p| &events[p]) {
            if event.index <= previous.index {
                return fail("index does not increase");
            }
            if event.time < previous.time {
                return fail("time decreases");
            }
        }
        if retired.contains(&event.process) {
            return fail("a process retired by an info appears again");
        }
        if event.kind == EventKind::Invoke {
            if open.contains_key(&event.process) {
                return fail("a process invokes with a transaction already open");
            }
            if final_invoked && !event.final_read {
                return fail("an event after a final read is not part of a final read");
            }
            if let Some(op) = event.ops.iter().find(|op| op.version.is_some()) {
                return fail(&format!("invoked op on {} carries a version", op.key));
            }
            let read_value = event.ops.iter().any(|op| op.f == OpKind::Read && op.value.is_some());
            if read_value {
                return fail("an invoked read carries a value");
            }
            if event.final_read && event.ops.iter().any(|op| op.f == OpKind::Write) {
                return fail("a final read writes");
            }
            final_invoked |= event.final_read;
            open.insert(event.process, event);
            continue;
        }
        let Some(invocation) = open.remove(&event.process) else {
            return fail("a completion without an open invocation");
        };
        if event.final_read && !invocation.final_read {
            return fail("a marked completion of an unmarked invocation");
        }
        if final_invoked && !invocation.final_read {
            return fail("an event after a final read is not part of a final read");
        }
        completion_ops(invocation, event).or_else(|rule| fail(&rule))?;
        if event.kind == EventKind::Info {
            retired.insert(event.process);
        }
    }
    Ok(())
}

/// A completion's ops: a prefix of the invocation's, values and versions as the doc says.
fn completion_ops(invocation: &Event, completion: &Event) -> Result<(), String> {
    if completion.ops.len() > invocation.ops.len() {
        return Err("a completion reports more ops than were invoked".into());
    }
    for (j, (invoked, done)) in invocation.ops.iter().zip(&completion.ops).enumerate() {
        if invoked.f != done.f || invoked.key != done.key {
            return Err(format!("op {j} does not match its invocation"));
        }
        if done.f == OpKind::Read {
            continue;
        }
        if done.value.is_none() {
            return Err(format!("completed write {j} has no value"));
        }
        if invoked.value.is_some() && invoked.value != done.value {
            return Err(format!("completed write {j} changes the invoked value"));
        }
        let last_of_key =
            !completion.ops[j + 1..].iter().any(|o| o.f == OpKind::Write && o.key == done.key);
        let wants_version = completion.kind == EventKind::Ok && last_of_key;
        if done.version.is_some() != wants_version {
            return Err(format!("completed write {j}: a version where none belongs, or none"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid base: T0 writes x twice and reads it back, T2 is a final read.
    const BASE: &str = r#"{"index":0,"time":1,"process":0,"type":"invoke","ops":[{"f":"w","key":"x","value":"a"},{"f":"w","key":"x","value":"b"},{"f":"r","key":"x"}]}
{"index":1,"time":2,"process":0,"type":"ok","ops":[{"f":"w","key":"x","value":"a"},{"f":"w","key":"x","value":"b","version":1},{"f":"r","key":"x","value":"b"}]}
{"index":2,"time":3,"process":1,"type":"invoke","ops":[{"f":"r","key":"x"}],"final":true}
{"index":3,"time":4,"process":1,"type":"ok","ops":[{"f":"r","key":"x","value":"b","version":1}]}"#;

    /// `BASE` with `from` replaced by `to` is ill-formed for a reason containing `rule`
    /// (or well-formed, for an empty `rule`).
    fn check(from: &str, to: &str, rule: &str) {
        assert!(BASE.contains(from), "{from}");
        let events: Vec<Event> = BASE
            .replacen(from, to, 1)
            .lines()
            .map(|line| serde_json::from_str(line).expect("an event"))
            .collect();
        match well_formed(&events) {
            Ok(()) => assert!(rule.is_empty(), "accepted; expected `{rule}`"),
            Err(e) => assert!(!rule.is_empty() && e.contains(rule), "`{e}`; expected `{rule}`"),
        }
    }

    #[test]
    fn each_rule_of_the_doc_is_enforced() {
        check("", "", "");
        check(r#""index":2"#, r#""index":1"#, "index does not increase");
        check(r#""time":3"#, r#""time":0"#, "time decreases");
        check(r#""b","version":1},{"f":"r""#, r#""b"},{"f":"r""#, "version");
        check(
            r#""a"},{"f":"w","key":"x","value":"b","#,
            r#""a","version":1},{"f":"w","key":"x","value":"b","#,
            "version",
        );
        check(r#""type":"ok","ops":[{"f":"w""#, r#""type":"info","ops":[{"f":"w""#, "version");
        check(
            r#""value":"b","version":1},{"f":"r","key":"x","value":"b"}"#,
            r#""value":"c","version":1}"#,
            "changes the invoked value",
        );
        check(
            r#""ops":[{"f":"r","key":"x"}],"final":true"#,
            r#""ops":[{"f":"w","key":"x","value":"c"}],"final":true"#,
            "final read writes",
        );
        check(
            r#""process":1,"type":"ok""#,
            r#""process":2,"type":"ok""#,
            "without an open invocation",
        );
    }

    #[test]
    fn a_retired_process_never_appears_again() {
        let retired = r#"{"index":0,"time":1,"process":0,"type":"invoke","ops":[{"f":"r","key":"x"}]}
{"index":1,"time":2,"process":0,"type":"info","ops":[]}
{"index":2,"time":3,"process":0,"type":"invoke","ops":[{"f":"r","key":"x"}]}"#;
        let events: Vec<Event> =
            retired.lines().map(|line| serde_json::from_str(line).expect("an event")).collect();
        assert!(well_formed(&events).unwrap_err().contains("retired"));
        assert!(well_formed(&[]).is_err(), "an empty history is refused");
    }
}
