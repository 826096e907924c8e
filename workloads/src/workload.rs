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

/// Wide reads (a bank audit, a scan) run in one transaction, which the store forgets
/// `txn_ttl_us` (10 s) after it began; read by read, at about a millisecond a round trip
/// plus resends under faults, a few hundred keys fit with room to spare. So the bank
/// has at most this many accounts (an audit must read them all), and a scan of a larger
/// family reads a window of this many consecutive keys.
pub const WIDE_READ_KEYS_MAX: u32 = 500;

/// Bank accounts for `keys` keys per family: an audit reads every one.
pub fn bank_accounts(keys: u32) -> u32 {
    keys.min(WIDE_READ_KEYS_MAX)
}

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
    families
        .iter()
        .flat_map(|&prefix| {
            let count = if prefix == "a" { bank_accounts(keys) } else { keys };
            (0..count).map(move |i| format!("{prefix}{i}"))
        })
        .collect()
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
                _ => return self.scan(rng),
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

    /// Read-only scan of every register and account key; past [`WIDE_READ_KEYS_MAX`]
    /// registers, of a window of that many (drawn only then, so that runs with fewer keys
    /// draw what they always drew).
    fn scan(&self, rng: &mut ChaCha8Rng) -> Program {
        let registers: Vec<u32> = if self.keys <= WIDE_READ_KEYS_MAX {
            (0..self.keys).collect()
        } else {
            let start = rng.gen_range(0..self.keys);
            (0..WIDE_READ_KEYS_MAX).map(|i| (start + i) % self.keys).collect()
        };
        let instrs = registers
            .into_iter()
            .map(|i| Instr::Read(format!("r{i}")))
            .chain((0..bank_accounts(self.keys)).map(|i| Instr::Read(format!("a{i}"))))
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
        let accounts = bank_accounts(self.keys);
        if accounts < 2 || rng.gen_ratio(1, 4) {
            return (0..accounts).map(|i| Instr::Read(format!("a{i}"))).collect();
        }
        let from = rng.gen_range(0..accounts);
        let to = (from + rng.gen_range(1..accounts)) % accounts;
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn reads(program: &Program) -> usize {
        program.instrs.iter().filter(|i| matches!(i, Instr::Read(_))).count()
    }

    #[test]
    fn wide_reads_stay_within_the_bound_however_many_keys() {
        // A scan or audit of a huge key space would outlive the store's transaction TTL.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut fresh = || "v".to_string();
        for keys in [5, 500, 501, 100_000] {
            let generator = Generator::new(Workload::Mixed, keys);
            let widest = (0..400)
                .map(|_| reads(&generator.next_program(&mut rng, &mut fresh)))
                .max()
                .unwrap();
            let expect = 2 * keys.min(WIDE_READ_KEYS_MAX) as usize;
            assert_eq!(widest, expect, "{keys} keys");
            let accounts = key_space(Workload::Bank, keys).len();
            assert_eq!(accounts, keys.min(WIDE_READ_KEYS_MAX) as usize);
        }
    }
}
