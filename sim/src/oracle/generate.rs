//! Small random histories for the differential test: half of them valid by construction,
//! half mutated so that many are not.
//!
//! Valid ones come from a tiny correct OCC store (per-key versions; a commit succeeds only
//! if every version it read is unchanged, and bumps each written key's version by one)
//! driven by interleaved clients, with the messiness of real runs: lost replies (`info`,
//! committed or not), commits that land after their client gave up, transactions left
//! open, completions that report a prefix of the ops, aborts, reads of own writes, final
//! reads. The commit order is a strict serial order, so every such history is valid.
//! Mutations then change one thing (a version, a value, an outcome, the order of events)
//! while keeping the history well-formed.
//!
//! Everything is drawn from one `ChaCha8Rng` seeded with the seed: same seed, same history.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use workloads::history::{Event, EventKind, Op, OpKind};

use super::mutate::mutate;
#[cfg(test)]
use super::wellformed::well_formed;

/// Transactions per history, final reads included.
pub const TXNS_MAX: usize = 8;

const KEY_NAMES: [&str; 3] = ["x", "y", "z"];

/// The history of `seed`: well-formed, at most [`TXNS_MAX`] transactions.
pub fn small_history(seed: u64) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let events = Sim::new(&mut rng).run();
    if rng.gen_ratio(1, 2) {
        mutate(&events, &mut rng)
    } else {
        events
    }
}

/// A key of the store: a register (unique values) or a counter (increments).
struct Key {
    name: &'static str,
    counter: bool,
}

/// A transaction's writes and store reads, sent to commit.
struct Attempt {
    /// (key, version read from the store).
    reads: Vec<(usize, u64)>,
    /// (key, last value written).
    writes: Vec<(usize, String)>,
}

/// A transaction in progress.
struct Running {
    /// The invoked ops.
    program: Vec<Op>,
    /// How many ops the program runs before committing: it may stop early.
    runs: usize,
    /// The ops carried out so far, as a completion reports them.
    done: Vec<Op>,
    reads: Vec<(usize, u64)>,
    buffer: Vec<Option<String>>,
}

impl Running {
    fn attempt(&self) -> Attempt {
        let writes = self
            .buffer
            .iter()
            .enumerate()
            .filter_map(|(key, value)| value.clone().map(|v| (key, v)))
            .collect();
        Attempt { reads: self.reads.clone(), writes }
    }
}

struct Client {
    process: u64,
    /// Numbers the register values this client writes.
    sequence: u64,
    running: Option<Running>,
}

struct Sim<'r> {
    rng: &'r mut ChaCha8Rng,
    keys: Vec<Key>,
    /// Each key's (version, value).
    store: Vec<(u64, Option<String>)>,
    clients: Vec<Client>,
    next_process: u64,
    txns_left: usize,
    finals: usize,
    time: u64,
    events: Vec<Event>,
    /// Commits sent by clients that gave up on them: each lands later, or never.
    in_flight: Vec<Attempt>,
}

impl<'r> Sim<'r> {
    fn new(rng: &'r mut ChaCha8Rng) -> Sim<'r> {
        let key_count = rng.gen_range(1..=KEY_NAMES.len());
        let keys: Vec<Key> = KEY_NAMES[..key_count]
            .iter()
            .map(|&name| Key { name, counter: rng.gen_ratio(1, 2) })
            .collect();
        let processes = rng.gen_range(2..=5);
        let finals = match rng.gen_range(0..8) {
            0..=3 => 0,
            4 if key_count > 1 => 2,
            _ => 1,
        };
        let txns_left = rng.gen_range(2..=TXNS_MAX - finals);
        Sim {
            rng,
            store: vec![(0, None); keys.len()],
            keys,
            clients: (0..processes)
                .map(|process| Client { process, sequence: 0, running: None })
                .collect(),
            next_process: processes,
            txns_left,
            finals,
            time: 0,
            events: Vec::new(),
            in_flight: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<Event> {
        let leave_open = self.rng.gen_ratio(1, 4);
        // Bounded: each step invokes, runs an op, lands a commit or ends a transaction.
        for _ in 0..1_000 {
            let busy = self.clients.iter().any(|c| c.running.is_some());
            if self.txns_left == 0 && (!busy || leave_open && self.rng.gen_ratio(1, 4)) {
                break;
            }
            self.time += self.rng.gen_range(0..=2);
            if !self.in_flight.is_empty() && self.rng.gen_ratio(1, 6) {
                self.land_one();
                continue;
            }
            let client = self.rng.gen_range(0..self.clients.len());
            if self.clients[client].running.is_some() {
                self.advance(client);
            } else if self.txns_left > 0 {
                self.invoke(client);
            }
        }
        // Transactions still open may have sent their commit; commits in flight land or not.
        for client in 0..self.clients.len() {
            if let Some(running) = &self.clients[client].running {
                if self.rng.gen_ratio(1, 2) {
                    self.in_flight.push(running.attempt());
                }
            }
        }
        while !self.in_flight.is_empty() {
            self.land_one();
        }
        self.final_reads();
        self.events
    }

    fn emit(&mut self, process: u64, kind: EventKind, ops: Vec<Op>, final_read: bool) {
        self.events.push(Event {
            index: self.events.len() as u64,
            time: self.time,
            process,
            kind,
            txn_id: None,
            ops,
            final_read,
        });
    }

    fn invoke(&mut self, client: usize) {
        self.txns_left -= 1;
        let mut program = Vec::new();
        for _ in 0..self.rng.gen_range(1..=3) {
            let key = self.rng.gen_range(0..self.keys.len());
            let name = self.keys[key].name;
            if self.keys[key].counter {
                program.push(Op::read(name));
                if self.rng.gen_ratio(2, 3) {
                    // An increment: the value written is known only after the read.
                    program.push(Op { value: None, ..Op::write(name, "") });
                }
            } else if self.rng.gen_ratio(1, 2) {
                program.push(Op::read(name));
            } else {
                let c = &mut self.clients[client];
                c.sequence += 1;
                program.push(Op::write(name, format!("{}.{}", c.process, c.sequence)));
            }
        }
        let runs = if self.rng.gen_ratio(1, 8) {
            self.rng.gen_range(1..=program.len())
        } else {
            program.len()
        };
        let process = self.clients[client].process;
        self.emit(process, EventKind::Invoke, program.clone(), false);
        let buffer = vec![None; self.keys.len()];
        let running = Running { program, runs, done: Vec::new(), reads: Vec::new(), buffer };
        self.clients[client].running = Some(running);
    }

    /// One step of a client's transaction: its next op, or its end.
    fn advance(&mut self, client: usize) {
        let running = self.clients[client].running.as_ref().expect("a running transaction");
        if running.done.len() < running.runs {
            if self.rng.gen_ratio(1, 20) {
                // The client gives up part way (a lost read reply, a timeout).
                if self.rng.gen_ratio(1, 2) {
                    self.complete(client, EventKind::Fail);
                } else {
                    if self.rng.gen_ratio(1, 2) {
                        self.in_flight.push(running.attempt());
                    }
                    self.complete(client, EventKind::Info);
                }
            } else {
                self.run_op(client);
            }
            return;
        }
        match self.rng.gen_range(0..25) {
            0 | 1 => self.complete(client, EventKind::Fail), // abandoned before its commit
            2 | 3 => {
                // The commit is delayed in the network: it lands after the client gave up.
                self.in_flight.push(running.attempt());
                self.complete(client, EventKind::Info);
            }
            4 => self.complete(client, EventKind::Info), // the commit was lost
            _ => {
                let attempt = running.attempt();
                match self.commit(&attempt) {
                    None => self.complete(client, EventKind::Fail),
                    Some(installed) if self.rng.gen_ratio(7, 8) => {
                        self.complete_ok(client, &installed)
                    }
                    Some(_) => self.complete(client, EventKind::Info), // the reply was lost
                }
            }
        }
    }

    fn run_op(&mut self, client: usize) {
        let running = self.clients[client].running.as_mut().expect("a running transaction");
        let invoked = &running.program[running.done.len()];
        let key = self.keys.iter().position(|k| k.name == invoked.key).expect("a known key");
        let op = match invoked.f {
            OpKind::Read => match &running.buffer[key] {
                Some(value) => Op { value: Some(value.clone()), ..Op::read(&invoked.key) },
                None => {
                    let (version, value) = self.store[key].clone();
                    running.reads.push((key, version));
                    Op { value, version: Some(version), ..Op::read(&invoked.key) }
                }
            },
            OpKind::Write => {
                let value = invoked.value.clone().unwrap_or_else(|| {
                    // An increment: one more than the read just before it.
                    let read = running.done.last().and_then(|op| op.value.as_ref());
                    let base: u64 = read.and_then(|v| v.parse().ok()).unwrap_or(0);
                    (base + 1).to_string()
                });
                running.buffer[key] = Some(value.clone());
                Op::write(&invoked.key, value)
            }
        };
        running.done.push(op);
    }

    /// OCC's commit: `None` if a version read has changed; otherwise installs every write
    /// at its key's version + 1 and returns (key, version installed).
    fn commit(&mut self, attempt: &Attempt) -> Option<Vec<(usize, u64)>> {
        if attempt.reads.iter().any(|&(key, version)| self.store[key].0 != version) {
            return None;
        }
        let mut installed = Vec::new();
        for (key, value) in &attempt.writes {
            let slot = &mut self.store[*key];
            *slot = (slot.0 + 1, Some(value.clone()));
            installed.push((*key, slot.0));
        }
        Some(installed)
    }

    /// A commit in flight lands (and may conflict), or is lost.
    fn land_one(&mut self) {
        let attempt = self.in_flight.remove(self.rng.gen_range(0..self.in_flight.len()));
        if self.rng.gen_ratio(2, 3) {
            let _ = self.commit(&attempt);
        }
    }

    /// Ends a transaction as `fail` or `info`, reporting a prefix of what it did; an
    /// `info` retires the process (Jepsen's rule).
    fn complete(&mut self, client: usize, kind: EventKind) {
        let running = self.clients[client].running.take().expect("a running transaction");
        let reported = if self.rng.gen_ratio(1, 2) {
            running.done.len()
        } else {
            self.rng.gen_range(0..=running.done.len())
        };
        let mut ops = running.done;
        ops.truncate(reported);
        let process = self.clients[client].process;
        self.emit(process, kind, ops, false);
        if kind == EventKind::Info {
            self.clients[client].process = self.next_process;
            self.next_process += 1;
        }
    }

    /// Ends a transaction `ok`: its last write of each key carries the version installed.
    fn complete_ok(&mut self, client: usize, installed: &[(usize, u64)]) {
        let running = self.clients[client].running.take().expect("a running transaction");
        let mut ops = running.done;
        for &(key, version) in installed {
            let name = self.keys[key].name;
            let last = ops.iter_mut().rev().find(|op| op.f == OpKind::Write && op.key == name);
            last.expect("an installed key was written").version = Some(version);
        }
        let process = self.clients[client].process;
        self.emit(process, EventKind::Ok, ops, false);
    }

    /// The final read: every key, after everything else, in one transaction or two.
    fn final_reads(&mut self) {
        if self.finals == 0 {
            return;
        }
        self.time += 1;
        let keys: Vec<usize> = (0..self.keys.len()).collect();
        let split = if self.finals == 2 { self.rng.gen_range(1..keys.len()) } else { keys.len() };
        let parts: Vec<&[usize]> =
            [&keys[..split], &keys[split..]].into_iter().filter(|p| !p.is_empty()).collect();
        let processes: Vec<u64> = parts.iter().map(|_| self.fresh_process()).collect();
        let interleave = self.rng.gen_ratio(1, 2);
        for (part, &process) in parts.iter().zip(&processes) {
            let ops = part.iter().map(|&k| Op::read(self.keys[k].name)).collect();
            self.emit(process, EventKind::Invoke, ops, true);
            if !interleave {
                self.final_ok(part, process);
            }
        }
        if interleave {
            for (part, &process) in parts.iter().zip(&processes) {
                self.final_ok(part, process);
            }
        }
    }

    fn final_ok(&mut self, keys: &[usize], process: u64) {
        let ops = keys
            .iter()
            .map(|&k| {
                let (version, value) = self.store[k].clone();
                Op { value, version: Some(version), ..Op::read(self.keys[k].name) }
            })
            .collect();
        let marked = self.rng.gen_ratio(1, 2);
        self.time += self.rng.gen_range(0..=1);
        self.emit(process, EventKind::Ok, ops, marked);
    }

    fn fresh_process(&mut self) -> u64 {
        self.next_process += 1;
        self.next_process - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_history_is_well_formed_and_small() {
        for seed in 0..500 {
            let events = small_history(seed);
            assert_eq!(well_formed(&events), Ok(()), "seed {seed}: {events:#?}");
            let txns = events.iter().filter(|e| e.kind == EventKind::Invoke).count();
            assert!(txns <= TXNS_MAX, "seed {seed}: {txns} transactions");
        }
    }
}
