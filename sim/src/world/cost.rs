//! What a run will hold in memory, estimated from its flags before it starts, so that a
//! run too large for the machine is refused at once, with the figure, rather than
//! swapping for an hour.
//!
//! A run keeps its whole history (every op of every attempt, with its key and value),
//! and the checker builds its graph over it; what a transaction costs is therefore its
//! ops, and the number of attempts it takes. Measured on the release build (`/usr/bin/time
//! -f %M sim --seed 1 --txns T --faults none ...`, the difference between T = 2,000 and
//! 4,000): about 0.8 KB per op with 5 clients and 1.35 KB with 1,000 (more clients,
//! more conflicts, more retried attempts), about 1 KB per transaction besides, and a
//! final read of every key at about 160 bytes a key. The estimate takes 0.9 KB per op,
//! scaled for clients, so that it stays above what was measured:
//!
//! | run (`--txns 4000 --faults none`) | measured | estimate |
//! |---|---|---|
//! | `--workload bank --keys 500` | 103 KB/txn | 116 KB/txn |
//! | `--workload bank --keys 500 --clients 1000` | 173 KB/txn | 197 KB/txn |
//! | `--workload mixed --keys 100000` | 67 KB/txn | 116 KB/txn |
//! | `--workload mixed --keys 100000 --clients 1000` | 170 KB/txn | 196 KB/txn |
//! | `--workload register --keys 1 --clients 1000` | 4.5 KB/txn | 4.8 KB/txn |

use workloads::workload::{bank_accounts, key_space, Workload, WIDE_READ_KEYS_MAX};

use crate::world::RunConfig;

/// The most a run may be estimated to hold: two thirds of the 24 GiB machine this
/// project is built on, leaving room for the estimate's error and everything else.
pub const RUN_BYTES_MAX: u64 = 16 << 30;

/// Bytes held per op of the history, before scaling for clients.
const BYTES_PER_OP: f64 = 900.0;
/// How much more an op costs with `CLIENTS_SCALE` clients than with a few: retries.
const RETRY_GROWTH: f64 = 0.7;
const CLIENTS_SCALE: f64 = 1_000.0;
/// Bytes held per transaction besides its ops.
const BYTES_PER_TXN: f64 = 1_000.0;
/// The final read's cost per key, and what any run holds before its first transaction.
const BYTES_PER_FINAL_KEY: u64 = 200;
const BYTES_BASE: u64 = 16 << 20;

/// Ops in an average program of `workload` over `keys` keys per family (the generator's
/// own mix: see `workloads::workload::Generator`).
pub fn ops_per_txn(workload: Workload, keys: u32) -> f64 {
    let accounts = f64::from(bank_accounts(keys));
    let register = 2.5;
    let counter = 2.0;
    // An audit of every account in 1 of 4, else a transfer: 2 reads and 2 writes.
    let bank = if accounts < 2.0 { accounts } else { 0.25 * accounts + 0.75 * 4.0 };
    let scan = f64::from(keys.min(WIDE_READ_KEYS_MAX)) + accounts;
    match workload {
        Workload::Register | Workload::Hotspot => register,
        Workload::Counter => counter,
        Workload::Bank => bank,
        Workload::Mixed => {
            0.3 * register + 0.2 * bank + 0.2 * counter + 0.2 * register + 0.1 * scan
        }
    }
}

/// Bytes a run of `config` is estimated to hold at its peak (see the module docs).
pub fn estimated_bytes(config: &RunConfig) -> u64 {
    BYTES_BASE + run_bytes(config)
}

/// What one run adds: its transactions and its final read.
fn run_bytes(config: &RunConfig) -> u64 {
    per_txn_bytes(config) as u64 * config.txns + final_read_bytes(config)
}

fn per_txn_bytes(config: &RunConfig) -> f64 {
    let retries = 1.0 + RETRY_GROWTH * f64::from(config.clients) / CLIENTS_SCALE;
    BYTES_PER_TXN + BYTES_PER_OP * retries * ops_per_txn(config.workload, config.keys)
}

fn final_read_bytes(config: &RunConfig) -> u64 {
    BYTES_PER_FINAL_KEY * key_space(config.workload, config.keys).len() as u64
}

/// `Err` saying what the run would hold and how many transactions would fit, when
/// `runs` such runs at once (a sweep's jobs) would pass [`RUN_BYTES_MAX`].
pub fn check_fits(config: &RunConfig, runs: u64) -> Result<(), String> {
    let runs = runs.max(1);
    let bytes = BYTES_BASE.saturating_add(run_bytes(config).saturating_mul(runs));
    if bytes <= RUN_BYTES_MAX {
        return Ok(());
    }
    let per_txn = per_txn_bytes(config);
    let room = ((RUN_BYTES_MAX - BYTES_BASE) / runs).saturating_sub(final_read_bytes(config));
    let fit = (room as f64 / per_txn) as u64;
    let at_once =
        if runs > 1 { format!(" ({runs} runs at once, one per job)") } else { String::new() };
    Err(format!(
        "this would hold about {} in memory{at_once}, over the {} a run may use: about {:.0} KB per transaction (--workload {} averages {:.0} ops per transaction at --keys {}, and {} clients conflict and retry; see README, \"Limits\"): at most {fit} transactions fit (--txns{})",
        gib(bytes),
        gib(RUN_BYTES_MAX),
        per_txn / 1_000.0,
        config.workload.name(),
        ops_per_txn(config.workload, config.keys),
        config.keys,
        config.clients,
        if runs > 1 { ", or fewer --jobs" } else { "" },
    ))
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(workload: Workload, clients: u32, txns: u64, keys: u32) -> RunConfig {
        RunConfig { workload, clients, txns, keys, ..RunConfig::default() }
    }

    #[test]
    fn the_largest_run_the_flags_allow_is_refused_with_what_would_fit() {
        let largest = config(Workload::Mixed, 1_000, 1_000_000, 100_000);
        let refused = check_fits(&largest, 1).unwrap_err();
        assert!(refused.contains("GiB in memory, over the 16.0 GiB a run may use"), "{refused}");
        let fit: u64 = refused
            .rsplit("at most ")
            .next()
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a count that fits");
        assert!(check_fits(&RunConfig { txns: fit, ..largest.clone() }, 1).is_ok());
        assert!(check_fits(&RunConfig { txns: fit + 1_000, ..largest }, 1).is_err());
    }

    #[test]
    fn default_runs_and_ci_sweeps_fit_many_times_over() {
        let default = RunConfig::default();
        assert!(estimated_bytes(&default) < 256 << 20, "{}", estimated_bytes(&default));
        assert!(check_fits(&default, 1_024).is_ok());
        let sweep = config(Workload::Bank, 50, 500, 5);
        assert!(check_fits(&sweep, 16).is_ok());
        // A job per core multiplies what one run holds.
        let big = config(Workload::Bank, 5, 100_000, 500);
        assert!(check_fits(&big, 1).is_ok());
        assert!(check_fits(&big, 16).unwrap_err().contains("16 runs at once"));
    }

    #[test]
    fn ops_per_txn_is_the_generators_mean() {
        // Proves the estimate follows the workload generator: 20,000 drawn programs of
        // each workload average within 3% of it, at few keys and at the wide-read cap.
        use rand::SeedableRng;
        use workloads::workload::{Generator, Instr};
        for workload in Workload::ALL {
            for keys in [1, 5, 100_000] {
                let generator = Generator::new(workload, keys);
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
                let draws = 20_000;
                let ops: usize = (0..draws)
                    .map(|_| {
                        let program = generator.next_program(&mut rng, &mut || "v".into());
                        program
                            .instrs
                            .iter()
                            .filter(|i| !matches!(i, Instr::RequireAtLeast { .. }))
                            .count()
                    })
                    .sum();
                let mean = ops as f64 / f64::from(draws);
                let estimate = ops_per_txn(workload, keys);
                assert!(
                    (mean - estimate).abs() <= 0.03 * estimate,
                    "{} at {keys} keys: drawn {mean:.2}, estimated {estimate:.2}",
                    workload.name()
                );
            }
        }
    }
}
