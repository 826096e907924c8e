//! Valid histories from a serial reference store, for tests and benchmarks.
//!
//! Transactions execute one at a time against an in-memory store at commit points
//! `10 * i + 5` (virtual microseconds); each is given a real-time interval around its
//! commit point (invoked at most `spread_us` before, completed at most `spread_us` after)
//! on a process that is free then, so intervals overlap but never contradict the serial
//! order. The result is serializable and strictly serializable by construction, and every
//! read and version is exactly what a correct store reports.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use workloads::history::{Event, EventKind, Op, OpKind};

/// What to generate. Ratios are per mille.
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub seed: u64,
    pub txns: usize,
    pub processes: u64,
    pub keys: usize,
    pub ops_max: usize,
    /// Per mille of reads among ops.
    pub read_per_mille: u32,
    pub fail_per_mille: u32,
    /// Per mille of indeterminate transactions (half of them take effect).
    pub info_per_mille: u32,
    /// Values drawn from this many strings (0: every written value unique).
    pub value_domain: u32,
    pub spread_us: u64,
    /// End with a read-only transaction reading every key after all others completed.
    pub final_read: bool,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig {
            seed: 0,
            txns: 200,
            processes: 5,
            keys: 8,
            ops_max: 4,
            read_per_mille: 500,
            fail_per_mille: 100,
            info_per_mille: 50,
            value_domain: 0,
            spread_us: 30,
            final_read: true,
        }
    }
}

impl GenConfig {
    /// The benchmark's shape: many keys, a few ops each, some failures and indeterminate
    /// commits, 16 processes with overlapping intervals.
    pub fn bench(txns: usize) -> GenConfig {
        GenConfig {
            txns,
            processes: 16,
            keys: (txns / 10).max(10),
            ops_max: 4,
            fail_per_mille: 50,
            info_per_mille: 10,
            spread_us: 60,
            ..GenConfig::default()
        }
    }
}

/// A valid history for `config`, events in time order with indexes `0..`.
///
/// Each transaction draws, in this order, its process slot, its interval, its ops and its
/// outcome; the order of the draws is what makes a seed's history, so it never changes.
pub fn serial_history(config: &GenConfig) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let keys: Vec<String> = (0..config.keys.max(1)).map(|k| format!("k{k}")).collect();
    // Per key: (version, value).
    let mut store: Vec<(u64, Option<String>)> = vec![(0, None); keys.len()];
    let mut processes = Processes::new(config.processes);
    let mut timeline = Timeline::with_capacity(config.txns * 2 + 2);
    for i in 0..config.txns {
        let commit_us = 10 * i as u64 + 5;
        let slot = processes.free_slot(&mut rng, commit_us);
        let (process, done_us) = processes.slots[slot];
        let earliest = (done_us + 1).max(commit_us.saturating_sub(config.spread_us));
        let invoke_us = rng.gen_range(earliest..=commit_us);
        let complete_us = commit_us + rng.gen_range(1..=config.spread_us.max(1));
        timeline.last_us = timeline.last_us.max(complete_us);

        let asked = draw_ops(&mut rng, config, i, keys.len());
        let (kind, applies) = draw_outcome(&mut rng, config);
        let done_ops = execute(&mut store, &keys, &asked, kind, applies);
        let invoke_ops = asked
            .iter()
            .map(|(key, write)| match write {
                None => Op::read(keys[*key].clone()),
                Some(v) => Op::write(keys[*key].clone(), v.clone()),
            })
            .collect();
        timeline.push(invoke_us, process, EventKind::Invoke, invoke_ops);
        timeline.push(complete_us, process, kind, done_ops);
        processes.complete(slot, complete_us, kind);
    }
    if config.final_read {
        timeline.final_read(&keys, &store, processes.next_process);
    }
    timeline.into_history()
}

/// The processes that run transactions: a slot per concurrent process, each with its
/// current process id and the time its last transaction completed.
struct Processes {
    slots: Vec<(u64, u64)>,
    /// The id the next new process gets.
    next_process: u64,
}

impl Processes {
    fn new(processes: u64) -> Processes {
        Processes {
            slots: (0..processes.max(1)).map(|p| (p, 0)).collect(),
            next_process: processes.max(1),
        }
    }

    /// A slot free before `commit_us`, drawn at random (a new process when all are busy,
    /// without a draw).
    fn free_slot(&mut self, rng: &mut ChaCha8Rng, commit_us: u64) -> usize {
        let free: Vec<usize> =
            (0..self.slots.len()).filter(|&s| self.slots[s].1 < commit_us).collect();
        if free.is_empty() {
            self.slots.push((self.next_process, 0));
            self.next_process += 1;
            self.slots.len() - 1
        } else {
            free[rng.gen_range(0..free.len())]
        }
    }

    /// The slot's transaction completed at `complete_us` with `kind`.
    fn complete(&mut self, slot: usize, complete_us: u64, kind: EventKind) {
        self.slots[slot].1 = complete_us;
        if kind == EventKind::Info {
            // Jepsen's rule: an indeterminate process is retired and replaced.
            self.slots[slot] = (self.next_process, complete_us);
            self.next_process += 1;
        }
    }
}

/// The ops transaction `i` asks for: `(key, None)` reads, `(key, Some(value))` writes.
fn draw_ops(
    rng: &mut ChaCha8Rng,
    config: &GenConfig,
    i: usize,
    n_keys: usize,
) -> Vec<(usize, Option<String>)> {
    let n_ops = rng.gen_range(1..=config.ops_max.max(1));
    let mut asked = Vec::with_capacity(n_ops);
    for j in 0..n_ops {
        let key = rng.gen_range(0..n_keys);
        if rng.gen_range(0..1000) < config.read_per_mille {
            asked.push((key, None));
        } else {
            let value = if config.value_domain == 0 {
                format!("{i}.{j}")
            } else {
                format!("v{}", rng.gen_range(0..config.value_domain))
            };
            asked.push((key, Some(value)));
        }
    }
    asked
}

/// How the transaction ends, and whether it takes effect (half the indeterminate ones do).
fn draw_outcome(rng: &mut ChaCha8Rng, config: &GenConfig) -> (EventKind, bool) {
    let roll = rng.gen_range(0..1000);
    let kind = if roll < config.fail_per_mille {
        EventKind::Fail
    } else if roll < config.fail_per_mille + config.info_per_mille {
        EventKind::Info
    } else {
        EventKind::Ok
    };
    let applies = match kind {
        EventKind::Ok => true,
        EventKind::Info => rng.gen_bool(0.5),
        _ => false,
    };
    (kind, applies)
}

/// Runs the asked ops at the commit point: reads see the transaction's own last write of
/// the key, else the store; if it `applies`, each key's last write installs the next
/// version (reported only on `ok`). Returns the completed ops.
fn execute(
    store: &mut [(u64, Option<String>)],
    keys: &[String],
    asked: &[(usize, Option<String>)],
    kind: EventKind,
    applies: bool,
) -> Vec<Op> {
    let mut buffer: Vec<(usize, String)> = Vec::new();
    let mut done_ops = Vec::with_capacity(asked.len());
    for (key, write) in asked {
        match write {
            None => {
                let op = match buffer.iter().rev().find(|(k, _)| k == key) {
                    Some((_, v)) => Op {
                        f: OpKind::Read,
                        key: keys[*key].clone(),
                        value: Some(v.clone()),
                        version: None,
                    },
                    None => Op {
                        f: OpKind::Read,
                        key: keys[*key].clone(),
                        value: store[*key].1.clone(),
                        version: Some(store[*key].0),
                    },
                };
                done_ops.push(op);
            }
            Some(v) => {
                buffer.push((*key, v.clone()));
                done_ops.push(Op::write(keys[*key].clone(), v.clone()));
            }
        }
    }
    if applies {
        for (j, (key, write)) in asked.iter().enumerate() {
            let Some(value) = write else { continue };
            let last = !asked[j + 1..].iter().any(|(k, w)| k == key && w.is_some());
            if last {
                store[*key].0 += 1;
                store[*key].1 = Some(value.clone());
                if kind == EventKind::Ok {
                    done_ops[j].version = Some(store[*key].0);
                }
            }
        }
    }
    done_ops
}

/// Events with their times, to be sorted into a history: ties keep the order pushed.
struct Timeline {
    /// `(time, sequence, event)`.
    timed: Vec<(u64, u64, Event)>,
    /// The latest completion so far.
    last_us: u64,
}

impl Timeline {
    fn with_capacity(capacity: usize) -> Timeline {
        Timeline { timed: Vec::with_capacity(capacity), last_us: 0 }
    }

    fn push(&mut self, time: u64, process: u64, kind: EventKind, ops: Vec<Op>) {
        let seq = self.timed.len() as u64;
        self.timed.push((
            time,
            seq,
            Event { index: 0, time, process, kind, txn_id: None, ops, final_read: false },
        ));
    }

    /// A read of every key on a new process after every other transaction completed.
    fn final_read(&mut self, keys: &[String], store: &[(u64, Option<String>)], process: u64) {
        let at = self.last_us + 10;
        let ops = keys.iter().map(|k| Op::read(k.clone())).collect();
        let done = keys
            .iter()
            .zip(store)
            .map(|(k, (version, value))| Op {
                f: OpKind::Read,
                key: k.clone(),
                value: value.clone(),
                version: Some(*version),
            })
            .collect();
        self.push(at, process, EventKind::Invoke, ops);
        self.push(at + 10, process, EventKind::Ok, done);
        // Taken after every other transaction completed, nothing in flight: a fact.
        let n = self.timed.len();
        self.timed[n - 2..].iter_mut().for_each(|(_, _, event)| event.final_read = true);
    }

    fn into_history(mut self) -> Vec<Event> {
        self.timed.sort_by_key(|(time, seq, _)| (*time, *seq));
        self.timed
            .into_iter()
            .enumerate()
            .map(|(index, (_, _, mut event))| {
                event.index = index as u64;
                event
            })
            .collect()
    }
}
