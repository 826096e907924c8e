//! Workload invariants: facts a workload guarantees beyond serializability, checked on
//! the history of a run whose workload is known.
//!
//! - bank: transfers never create or destroy money, so every committed read of all
//!   accounts sums to `BANK_INITIAL_BALANCE * accounts`.
//! - counter: every committed write of a counter is an increment of what it read, so a
//!   counter read at version `v` holds exactly `v` (the number of committed increments).

use std::collections::BTreeMap;

use workloads::history::{Event, EventKind, OpKind};
use workloads::workload::{key_space, Workload, BANK_INITIAL_BALANCE};

/// One broken workload invariant: its name and a sentence a person can follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub name: &'static str,
    pub explanation: String,
    /// History index of the completion that shows it.
    pub event_index: u64,
    /// History index of that transaction's invocation: the `n` of its name `T<n>` (`None`
    /// for a violation no single transaction shows, such as a protocol violation).
    pub invoke_index: Option<u64>,
}

pub fn check(history: &[Event], workload: Workload, keys: u32) -> Vec<Violation> {
    let mut violations = Vec::new();
    let all_keys = key_space(workload, keys);
    let accounts: Vec<&String> = all_keys.iter().filter(|k| k.starts_with('a')).collect();
    // A completion belongs to the latest invocation of its process.
    let mut invoked: BTreeMap<u64, u64> = BTreeMap::new();
    for event in history {
        if event.kind == EventKind::Invoke {
            invoked.insert(event.process, event.index);
            continue;
        }
        if event.kind != EventKind::Ok {
            continue;
        }
        let txn = invoked.get(&event.process).copied().unwrap_or(event.index);
        if !accounts.is_empty() {
            check_bank_total(event, txn, &accounts, &mut violations);
        }
        check_counters(event, txn, &mut violations);
    }
    violations
}

fn check_bank_total(
    event: &Event,
    txn: u64,
    accounts: &[&String],
    violations: &mut Vec<Violation>,
) {
    let mut total: i64 = 0;
    let mut parts = Vec::new();
    for account in accounts {
        // The first read of each account, from the store: a complete snapshot or nothing.
        let Some(read) = event
            .ops
            .iter()
            .find(|op| op.f == OpKind::Read && &&op.key == account && op.version.is_some())
        else {
            return;
        };
        let balance = match &read.value {
            None => BANK_INITIAL_BALANCE,
            Some(text) => match text.parse::<i64>() {
                Ok(balance) => balance,
                Err(_) => {
                    violations.push(Violation {
                        name: "bank-garbage-balance",
                        explanation: format!(
                            "T{txn} read {}@{} = {text:?}, which is not a balance",
                            read.key,
                            read.version.unwrap_or(0)
                        ),
                        event_index: event.index,
                        invoke_index: Some(txn),
                    });
                    return;
                }
            },
        };
        total += balance;
        parts.push(format!("{}@{}={balance}", read.key, read.version.unwrap_or(0)));
    }
    let expected = BANK_INITIAL_BALANCE * accounts.len() as i64;
    if total != expected {
        violations.push(Violation {
            name: "bank-total-mismatch",
            explanation: format!(
                "T{txn} read all accounts summing to {total}, not {expected}: {}",
                parts.join(" ")
            ),
            event_index: event.index,
            invoke_index: Some(txn),
        });
    }
}

fn check_counters(event: &Event, txn: u64, violations: &mut Vec<Violation>) {
    for op in &event.ops {
        let (OpKind::Read, Some(version)) = (op.f, op.version) else { continue };
        if !op.key.starts_with('c') {
            continue;
        }
        let expected = (version > 0).then(|| version.to_string());
        if op.value != expected {
            violations.push(Violation {
                name: "counter-mismatch",
                explanation: format!(
                    "T{txn} read counter {}@{version} = {}, but {version} committed \
                     increments make it {}",
                    op.key,
                    op.value.as_deref().unwrap_or("null"),
                    expected.as_deref().unwrap_or("null")
                ),
                event_index: event.index,
                invoke_index: Some(txn),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::history::Op;

    fn ok(ops: Vec<Op>) -> Event {
        Event {
            index: 1,
            time: 10,
            process: 0,
            kind: EventKind::Ok,
            txn_id: None,
            ops,
            final_read: false,
        }
    }

    fn read(key: &str, value: Option<&str>, version: u64) -> Op {
        Op {
            f: OpKind::Read,
            key: key.into(),
            value: value.map(Into::into),
            version: Some(version),
        }
    }

    fn check_one(event: Event) -> Vec<&'static str> {
        check(&[event], Workload::Mixed, 2).into_iter().map(|v| v.name).collect()
    }

    #[test]
    fn a_balanced_audit_passes_and_an_unbalanced_one_fails() {
        let balanced = ok(vec![read("a0", Some("90"), 1), read("a1", Some("110"), 1)]);
        assert_eq!(check_one(balanced), Vec::<&str>::new());
        let fresh = ok(vec![read("a0", None, 0), read("a1", None, 0)]);
        assert_eq!(check_one(fresh), Vec::<&str>::new());
        let skewed = ok(vec![read("a0", Some("90"), 1), read("a1", None, 0)]);
        assert_eq!(check_one(skewed), ["bank-total-mismatch"]);
        let partial = ok(vec![read("a0", Some("90"), 1)]);
        assert_eq!(check_one(partial), Vec::<&str>::new(), "a transfer reads only two accounts");
    }

    #[test]
    fn a_violation_names_its_transaction_by_its_invocation_index() {
        // T<n> is the invocation's index, the name the checker and reports use too.
        let invoke = Event { index: 0, kind: EventKind::Invoke, ..ok(vec![]) };
        let found = check(&[invoke, ok(vec![read("c0", Some("2"), 3)])], Workload::Mixed, 2);
        assert_eq!((found[0].invoke_index, found[0].event_index), (Some(0), 1));
        assert!(found[0].explanation.starts_with("T0 read counter c0@3 = 2"), "{found:?}");
    }

    #[test]
    fn a_counter_holds_its_version() {
        assert_eq!(check_one(ok(vec![read("c0", Some("3"), 3)])), Vec::<&str>::new());
        assert_eq!(check_one(ok(vec![read("c0", None, 0)])), Vec::<&str>::new());
        assert_eq!(check_one(ok(vec![read("c0", Some("2"), 3)])), ["counter-mismatch"]);
    }
}
