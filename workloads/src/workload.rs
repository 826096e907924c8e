//! Transaction generators: what each workload asks of the store.
//!
//! A transaction is a small [`Program`] of instructions run by a client one at a time:
//! reads go to the store, writes are buffered until commit, and a write's value may depend
//! on what the transaction read (a counter increment, a bank transfer). Every workload uses
//! its own key prefix so the mixed workload's invariants stay separable:
//! `r` registers, `h` hot keys, `c` counters, `a` bank accounts.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Balance of a bank account that has never been written (the store reads it as `null`).
/// Transfers never overdraw, so every consistent read of all accounts sums to
/// `BANK_INITIAL_BALANCE * accounts`.
pub const BANK_INITIAL_BALANCE: i64 = 100;

/// Which workload the clients run (`--workload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    /// Random reads and blind writes over a small key space; every written value is unique.
    Register,
    /// Transfers between accounts plus audits that read every account.
    Bank,
    /// Read-modify-write increments: a counter's value always equals its version.
    Counter,
    /// Register operations concentrated on a few keys: high contention.
    Hotspot,
    /// All of the above plus read-only scans (the default).
    Mixed,
}

impl Workload {
    pub const ALL: [Workload; 5] =
        [Workload::Register, Workload::Bank, Workload::Counter, Workload::Hotspot, Workload::Mixed];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::Bank => "bank",
            Workload::Counter => "counter",
            Workload::Hotspot => "hotspot",
            Workload::Mixed => "mixed",
        }
    }

    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// The key families a workload touches, `keys` of each, in a fixed order: the final read
/// of a run reads exactly these.
pub fn key_space(workload: Workload, keys: u32) -> Vec<String> {
    let families: &[&str] = match workload {
        Workload::Register => &["r"],
        Workload::Bank => &["a"],
        Workload::Counter => &["c"],
        Workload::Hotspot => &["h"],
        Workload::Mixed => &["r", "a", "c", "h"],
    };
    families.iter().flat_map(|prefix| (0..keys).map(move |i| format!("{prefix}{i}"))).collect()
}

/// One instruction of a transaction program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instr {
    Read(String),
    Write(String, String),
    /// Write the transaction's current view of the key, read as an integer (`base` when
    /// absent), plus `delta`.
    WriteAdd {
        key: String,
        delta: i64,
        base: i64,
    },
    /// Skip every remaining instruction unless the view of `key` (`base` when absent) is at
    /// least `amount`: a transfer that would overdraw becomes read-only.
    RequireAtLeast {
        key: String,
        amount: i64,
        base: i64,
    },
}

/// A transaction: instructions run in order, then a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub instrs: Vec<Instr>,
}

impl Program {
    /// Gives every literal write a fresh value: a retried register transaction must not
    /// write a value some earlier attempt already wrote.
    pub fn refresh_values(&mut self, mut fresh_value: impl FnMut() -> String) {
        for instr in &mut self.instrs {
            if let Instr::Write(_, value) = instr {
                *value = fresh_value();
            }
        }
    }
}

/// Draws programs for one client. Values are unique per process thanks to the caller's
/// `fresh_value`.
pub struct Generator {
    workload: Workload,
    keys: u32,
}

impl Generator {
    pub fn new(workload: Workload, keys: u32) -> Generator {
        assert!(keys > 0, "a workload needs at least one key");
        Generator { workload, keys }
    }

    pub fn next_program(
        &self,
        rng: &mut ChaCha8Rng,
        fresh_value: &mut dyn FnMut() -> String,
    ) -> Program {
        let workload = match self.workload {
            Workload::Mixed => match rng.gen_range(0..100) {
                0..=29 => Workload::Register,
                30..=49 => Workload::Bank,
                50..=69 => Workload::Counter,
                70..=89 => Workload::Hotspot,
                _ => return self.scan(),
            },
            other => other,
        };
        let instrs = match workload {
            Workload::Register => self.register(rng, "r", None, fresh_value),
            Workload::Hotspot => self.register(rng, "h", Some(2), fresh_value),
            Workload::Counter => {
                let key = format!("c{}", rng.gen_range(0..self.keys));
                vec![Instr::Read(key.clone()), Instr::WriteAdd { key, delta: 1, base: 0 }]
            }
            Workload::Bank => self.bank(rng),
            Workload::Mixed => unreachable!("mixed picks a concrete workload above"),
        };
        Program { instrs }
    }

    /// Read-only scan of every register and account key.
    fn scan(&self) -> Program {
        let instrs = (0..self.keys)
            .map(|i| Instr::Read(format!("r{i}")))
            .chain((0..self.keys).map(|i| Instr::Read(format!("a{i}"))))
            .collect();
        Program { instrs }
    }

    /// 1 to 4 operations, reads and writes mixed; with `hot`, 9 in 10 ops hit the first
    /// `hot` keys.
    fn register(
        &self,
        rng: &mut ChaCha8Rng,
        prefix: &str,
        hot: Option<u32>,
        fresh_value: &mut dyn FnMut() -> String,
    ) -> Vec<Instr> {
        let len = rng.gen_range(1..=4);
        (0..len)
            .map(|_| {
                let index = match hot {
                    Some(hot) if rng.gen_ratio(9, 10) => rng.gen_range(0..hot.min(self.keys)),
                    _ => rng.gen_range(0..self.keys),
                };
                let key = format!("{prefix}{index}");
                if rng.gen_ratio(1, 2) {
                    Instr::Read(key)
                } else {
                    Instr::Write(key, fresh_value())
                }
            })
            .collect()
    }

    /// A transfer between two distinct accounts (3 in 4) or an audit of all accounts.
    fn bank(&self, rng: &mut ChaCha8Rng) -> Vec<Instr> {
        if self.keys < 2 || rng.gen_ratio(1, 4) {
            return (0..self.keys).map(|i| Instr::Read(format!("a{i}"))).collect();
        }
        let from = rng.gen_range(0..self.keys);
        let to = (from + rng.gen_range(1..self.keys)) % self.keys;
        let amount = rng.gen_range(1..=20);
        let (from, to) = (format!("a{from}"), format!("a{to}"));
        let base = BANK_INITIAL_BALANCE;
        vec![
            Instr::Read(from.clone()),
            Instr::Read(to.clone()),
            Instr::RequireAtLeast { key: from.clone(), amount, base },
            Instr::WriteAdd { key: from, delta: -amount, base },
            Instr::WriteAdd { key: to, delta: amount, base },
        ]
    }
}
