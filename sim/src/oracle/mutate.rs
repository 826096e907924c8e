//! Mutations of a valid history, each changing one thing (a version, a value, an
//! outcome, an op, the order of events) so that many results are invalid, and each
//! keeping the history well-formed; plus the edits the shrinker shares with them.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use workloads::history::{Event, EventKind, OpKind};

use super::pairs;
use super::wellformed::well_formed;

/// `events` with one to three mutations, each keeping it well-formed; unchanged if none
/// applies.
pub fn mutate(events: &[Event], rng: &mut ChaCha8Rng) -> Vec<Event> {
    let mut mutated = events.to_vec();
    let rounds = match rng.gen_range(0..10) {
        0..=2 => 1,
        3..=6 => 2,
        _ => 3,
    };
    for _ in 0..rounds {
        for _ in 0..20 {
            let mut candidate = mutated.clone();
            if pick_mutation(rng)(&mut candidate, rng)
                && candidate != mutated
                && well_formed(&candidate).is_ok()
            {
                mutated = candidate;
                break;
            }
        }
    }
    mutated
}

/// Changes `events` (`false` when it does not apply to them). Some remove events, so all
/// take the `Vec`.
type Mutation = fn(&mut Vec<Event>, &mut ChaCha8Rng) -> bool;

/// Each mutation with its weight: the ones that only weaken what the history claims
/// (an `ok` made `info`, a completion dropped, a final mark removed) keep it valid, so
/// they are drawn less often, to keep valid and invalid histories about even.
const MUTATIONS: &[(Mutation, u32)] = &[
    (|e, rng| read_version(e, rng), 4),
    (|e, rng| read_value(e, rng), 4),
    (|e, rng| ok_to_info(e, rng), 1),
    (|e, rng| ok_to_fail(e, rng), 2),
    (|e, rng| to_ok(e, rng), 2),
    (|e, rng| drop_op(e, rng), 1),
    (|e, rng| installed_version(e, rng), 4),
    (reorder, 2),
    (|e, rng| equal_values(e, rng), 2),
    (drop_txn, 1),
    (leave_open, 1),
    (|e, rng| buffer_read_toggle(e, rng), 3),
    (|e, rng| unmark_final(e, rng), 1),
];

fn pick_mutation(rng: &mut ChaCha8Rng) -> Mutation {
    let total: u32 = MUTATIONS.iter().map(|(_, weight)| weight).sum();
    let mut draw = rng.gen_range(0..total);
    for &(mutation, weight) in MUTATIONS {
        if draw < weight {
            return mutation;
        }
        draw -= weight;
    }
    unreachable!("the draw is below the total weight")
}

/// Sets every `index` to the event's position.
pub(super) fn renumber(events: &mut [Event]) {
    for (at, event) in events.iter_mut().enumerate() {
        event.index = at as u64;
    }
}

fn pick<T: Copy>(items: &[T], rng: &mut ChaCha8Rng) -> Option<T> {
    (!items.is_empty()).then(|| items[rng.gen_range(0..items.len())])
}

/// (event, op) of a completed read served by the store, chosen at random; mostly of an
/// `ok` transaction, whose reads are always checked.
fn store_read(events: &[Event], rng: &mut ChaCha8Rng) -> Option<(usize, usize)> {
    let ok_only = rng.gen_ratio(3, 4);
    let mut found = Vec::new();
    for (e, event) in events.iter().enumerate().filter(|(_, e)| e.kind != EventKind::Invoke) {
        for (j, op) in event.ops.iter().enumerate() {
            if op.f == OpKind::Read && op.version.is_some() {
                found.push((e, j, event.kind == EventKind::Ok));
            }
        }
    }
    if ok_only && found.iter().any(|&(_, _, ok)| ok) {
        found.retain(|&(_, _, ok)| ok);
    }
    pick(&found, rng).map(|(e, j, _)| (e, j))
}

fn completions_of(events: &[Event], kinds: &[EventKind]) -> Vec<usize> {
    (0..events.len())
        .filter(|&e| kinds.contains(&events[e].kind) && !events[e].final_read)
        .collect()
}

fn read_version(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let Some((e, j)) = store_read(events, rng) else { return false };
    let op = &mut events[e].ops[j];
    let version = op.version.unwrap_or(0);
    op.version = Some(match rng.gen_range(0..3) {
        0 => version + 1,
        1 if version > 0 => version - 1,
        _ => version + 2,
    });
    true
}

fn read_value(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let Some((e, j)) = store_read(events, rng) else { return false };
    let key = events[e].ops[j].key.clone();
    let mut values: Vec<Option<String>> = vec![None, Some("9.9".into())];
    for op in events.iter().flat_map(|e| &e.ops).filter(|op| op.key == key) {
        if !values.contains(&op.value) {
            values.push(op.value.clone());
        }
    }
    values.retain(|v| *v != events[e].ops[j].value);
    events[e].ops[j].value = values.swap_remove(rng.gen_range(0..values.len()));
    true
}

fn strip_versions(event: &mut Event) {
    for op in event.ops.iter_mut().filter(|op| op.f == OpKind::Write) {
        op.version = None;
    }
}

fn ok_to_info(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let Some(e) = pick(&completions_of(events, &[EventKind::Ok]), rng) else { return false };
    events[e].kind = EventKind::Info;
    strip_versions(&mut events[e]);
    if rng.gen_ratio(1, 3) {
        let keep = rng.gen_range(0..=events[e].ops.len());
        events[e].ops.truncate(keep);
    }
    // The process is retired: what it did later, a fresh process did.
    let process = events[e].process;
    let fresh = events.iter().map(|e| e.process).max().unwrap_or(0) + 1;
    for later in events[e + 1..].iter_mut().filter(|l| l.process == process) {
        later.process = fresh;
    }
    true
}

fn ok_to_fail(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let Some(e) = pick(&completions_of(events, &[EventKind::Ok]), rng) else { return false };
    events[e].kind = EventKind::Fail;
    strip_versions(&mut events[e]);
    true
}

/// A `fail` or `info` becomes `ok`, its last writes claiming plausible versions.
fn to_ok(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let choices = completions_of(events, &[EventKind::Fail, EventKind::Info]);
    let Some(e) = pick(&choices, rng) else { return false };
    events[e].kind = EventKind::Ok;
    for j in 0..events[e].ops.len() {
        let op = &events[e].ops[j];
        let last = !events[e].ops[j + 1..].iter().any(|o| o.f == OpKind::Write && o.key == op.key);
        if op.f == OpKind::Write && last {
            let key = op.key.clone();
            let known = events.iter().flat_map(|e| &e.ops).filter(|o| o.key == key);
            let highest = known.filter_map(|o| o.version).max().unwrap_or(0);
            events[e].ops[j].version = Some((highest + rng.gen_range(0..=1)).max(1));
        }
    }
    true
}

/// Removes a random op of a transaction, from its invocation and completion.
fn drop_op(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let Some((inv, done)) = pick(&pairs(events), rng) else { return false };
    if events[inv].ops.len() < 2 {
        return false;
    }
    let j = rng.gen_range(0..events[inv].ops.len());
    remove_op(events, inv, done, j);
    true
}

/// Removes op `j` of the transaction invoked at `inv`, from its invocation and from its
/// completion `done` if that reported it; an `ok`'s claimed version moves to its new last
/// write of that key.
pub(super) fn remove_op(events: &mut [Event], inv: usize, done: Option<usize>, j: usize) {
    events[inv].ops.remove(j);
    if let Some(done) = done.filter(|&d| j < events[d].ops.len()) {
        remove_reported(&mut events[done], j);
    }
}

/// Removes op `j` of a completion only (its invocation keeps it: unreported now).
pub(super) fn remove_reported(completion: &mut Event, j: usize) {
    let removed = completion.ops.remove(j);
    if let Some(version) = removed.version.filter(|_| removed.f == OpKind::Write) {
        let ops = &mut completion.ops;
        let last = ops.iter_mut().rev().find(|o| o.f == OpKind::Write && o.key == removed.key);
        if let Some(last) = last {
            last.version = Some(version);
        }
    }
}

fn installed_version(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let mut found = Vec::new();
    for (e, event) in events.iter().enumerate() {
        for (j, op) in event.ops.iter().enumerate() {
            if op.f == OpKind::Write && op.version.is_some() {
                found.push((e, j));
            }
        }
    }
    let Some((e, j)) = pick(&found, rng) else { return false };
    let version = events[e].ops[j].version.unwrap_or(1);
    let lower = version.checked_sub(1).filter(|_| rng.gen_ratio(1, 2));
    events[e].ops[j].version = Some(lower.unwrap_or(version + 1));
    true
}

/// Moves events past their neighbours (times stay with their lines, so time never
/// decreases): mostly an `ok` completion moved earlier, before invocations it was
/// concurrent with, which adds real-time order; otherwise random adjacent swaps.
fn reorder(events: &mut Vec<Event>, rng: &mut ChaCha8Rng) -> bool {
    if events.len() < 2 {
        return false;
    }
    let times: Vec<u64> = events.iter().map(|e| e.time).collect();
    let oks: Vec<usize> = (1..events.len()).filter(|&e| events[e].kind == EventKind::Ok).collect();
    match pick(&oks, rng).filter(|_| rng.gen_ratio(2, 3)) {
        Some(done) => {
            let to = done.saturating_sub(rng.gen_range(1..=3));
            let moved = events.remove(done);
            events.insert(to, moved);
        }
        None => {
            for _ in 0..rng.gen_range(1..=3) {
                let at = rng.gen_range(0..events.len() - 1);
                events.swap(at, at + 1);
            }
        }
    }
    for (event, time) in events.iter_mut().zip(times) {
        event.time = time;
    }
    renumber(events);
    true
}

/// Makes one register value of a key equal to another of that key: everywhere (the
/// readers follow, versions still tell them apart) or in its writer only.
fn equal_values(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let mut written: Vec<(String, String)> = Vec::new();
    for op in events.iter().flat_map(|e| &e.ops).filter(|op| op.f == OpKind::Write) {
        if let Some(value) = &op.value {
            if !written.contains(&(op.key.clone(), value.clone())) {
                written.push((op.key.clone(), value.clone()));
            }
        }
    }
    let Some(from) = pick(&(0..written.len()).collect::<Vec<_>>(), rng) else { return false };
    let (key, old) = written[from].clone();
    let others: Vec<usize> =
        (0..written.len()).filter(|&i| written[i].0 == key && written[i].1 != old).collect();
    let Some(to) = pick(&others, rng) else { return false };
    let new = written[to].1.clone();
    let everywhere = rng.gen_ratio(1, 2);
    for op in events.iter_mut().flat_map(|e| e.ops.iter_mut()) {
        let hit = op.key == key && op.value.as_ref() == Some(&old);
        if hit && (everywhere || op.f == OpKind::Write) {
            op.value = Some(new.clone());
        }
    }
    true
}

fn drop_txn(events: &mut Vec<Event>, rng: &mut ChaCha8Rng) -> bool {
    let all = pairs(events);
    if all.len() < 2 {
        return false;
    }
    let Some((inv, done)) = pick(&all, rng) else { return false };
    if let Some(done) = done {
        events.remove(done);
    }
    events.remove(inv);
    renumber(events);
    true
}

/// A transaction whose process does nothing later loses its completion: still open.
fn leave_open(events: &mut Vec<Event>, rng: &mut ChaCha8Rng) -> bool {
    let last: Vec<usize> = pairs(events)
        .into_iter()
        .filter_map(|(_, done)| done)
        .filter(|&d| !events[d + 1..].iter().any(|e| e.process == events[d].process))
        .collect();
    let Some(done) = pick(&last, rng) else { return false };
    events.remove(done);
    renumber(events);
    true
}

fn buffer_read_toggle(events: &mut [Event], rng: &mut ChaCha8Rng) -> bool {
    let mut found = Vec::new();
    for (e, event) in events.iter().enumerate().filter(|(_, e)| e.kind != EventKind::Invoke) {
        for (j, _) in event.ops.iter().enumerate().filter(|(_, op)| op.f == OpKind::Read) {
            found.push((e, j));
        }
    }
    let Some((e, j)) = pick(&found, rng) else { return false };
    let op = &mut events[e].ops[j];
    op.version = match op.version {
        Some(_) => None,
        None => Some(rng.gen_range(0..=2)),
    };
    true
}

fn unmark_final(events: &mut [Event], _rng: &mut ChaCha8Rng) -> bool {
    let Some((inv, done)) = pairs(events).into_iter().find(|&(inv, _)| events[inv].final_read)
    else {
        return false;
    };
    events[inv].final_read = false;
    if let Some(done) = done {
        events[done].final_read = false;
    }
    true
}
