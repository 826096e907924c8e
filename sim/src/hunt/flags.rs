//! A run's text form: the run flags (shared by `run`, `sweep` and `shrink`, and by the
//! lines of `seeds/` files), their limits and parsers, the checks clap cannot make flag by
//! flag (`check_bug_nodes`, `check_binary`), and the lines that name a run again:
//! `flags_of`, the reproduce command, the `seeds/` line, and `record` (where a failing run
//! is kept: that line, a planted bug's canary, or a store's command). Library code (seed
//! files, replay files, sweeps) reads and writes runs through this module; `cli/` only
//! parses arguments with it and dispatches.

use clap::Args;
use node::Bug;
use workloads::workload::Workload;

use crate::world::black_box::shell_quote;
use crate::world::faults::{Family, FaultSpec};
use crate::world::store::{BinarySpec, StoreSpec};
use crate::world::RunConfig;

/// The limits of the run flags, shared with replay files (which must not get around them)
/// and the README. Together they allow runs larger than memory (a run holds its whole
/// history: 2 to 200 KB per transaction, by workload, keys and clients), so a run is
/// also refused up front when its estimate passes [`crate::world::cost::RUN_BYTES_MAX`].
pub const CLIENTS_MAX: u32 = 1_000;
pub const TXNS_MAX: u64 = 1_000_000;
pub const KEYS_MAX: u32 = 100_000;
/// A cluster of more nodes than this would spend its time on two-phase commits of every
/// transaction; 16 is plenty to find what sharding breaks.
pub const NODES_MAX: u32 = 16;

/// How one simulated run is set up. Every flag has a default that makes a meaningful test.
#[derive(Args, Clone, Debug)]
pub struct RunFlags {
    /// Workload: register, bank, counter, hotspot or mixed.
    #[arg(long, default_value = "mixed", value_parser = parse_workload)]
    pub workload: Workload,
    /// Store nodes (1 to 16): keys are sharded over them and a transaction that touches
    /// several shards commits by two-phase commit. 1 is a single store.
    #[arg(long, default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(NODES_MAX)))]
    pub nodes: u32,
    /// Concurrent client processes (1 to 1,000).
    #[arg(long, default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(CLIENTS_MAX)))]
    pub clients: u32,
    /// Logical transactions in all, spread over the clients (1 to 1,000,000).
    #[arg(long, default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=TXNS_MAX))]
    pub txns: u64,
    /// Keys per key family (registers, accounts, counters, hot keys; 1 to 100,000). The
    /// bank has at most 500 accounts and a scan reads at most 500 registers: each runs in
    /// one transaction, which must finish within the store's transaction TTL.
    #[arg(long, default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(KEYS_MAX)))]
    pub keys: u32,
    /// Fault families: swarm (the seed picks), none, all, or a list like drop,partition
    /// (families: drop, duplicate, delay, partition, clock; expiry: short store TTLs and
    /// clients that abandon or stall transactions; quirks: clients that leave reads out of
    /// read_versions or name their own transaction ids; crash: store nodes crash and
    /// restart from their logs; disk: unsynced writes torn or kept, reads corrupted).
    #[arg(long, default_value = "swarm", value_parser = FaultSpec::parse)]
    pub faults: FaultSpec,
    /// Switch on one planted bug in the store (see `sim bugs`); off by default.
    #[arg(long, value_parser = parse_bug)]
    pub bug: Option<Bug>,
    /// Test a store binary instead of the shipped store: a shell command (`sh -c`), one
    /// process per node, driven in lockstep over stdin/stdout with Maelstrom's
    /// conventions (see README, "Test your own store"). Linux on x86-64.
    #[arg(long, value_name = "CMD")]
    pub bin: Option<String>,
}

impl RunFlags {
    /// What clap cannot check flag by flag: a planted bug of the cluster's code needs a
    /// cluster, or the run would test nothing and pass; and the run must fit in memory
    /// (see [`crate::world::cost`]).
    pub fn check(&self) -> Result<(), String> {
        check_bug_nodes(self.bug, self.nodes)?;
        if let Some(command) = &self.bin {
            check_binary(command, self.bug, &self.faults)?;
        }
        crate::world::cost::check_fits(&self.config(0), 1)
    }

    pub fn config(&self, seed: u64) -> RunConfig {
        RunConfig {
            seed,
            workload: self.workload,
            nodes: self.nodes,
            clients: self.clients,
            txns: self.txns,
            keys: self.keys,
            faults: self.faults.clone(),
            bug: self.bug,
            record_trace: false,
            keep: None,
            store: match &self.bin {
                None => StoreSpec::Builtin,
                Some(command) => StoreSpec::Binary(BinarySpec { command: command.clone() }),
            },
            schedule: None,
            shape: None,
        }
    }
}

/// `Err` when `bug` lives in the cluster's code and `nodes` is not a cluster.
pub fn check_bug_nodes(bug: Option<Bug>, nodes: u32) -> Result<(), String> {
    match bug {
        Some(bug) if bug.needs_cluster() && nodes < 2 => Err(format!(
            "--bug {} is a cluster bug: it needs --nodes 2 or more (try --nodes 3)",
            bug.name()
        )),
        _ => Ok(()),
    }
}

/// `Err` when a `--bin` run asks for what only the shipped store has: a planted bug, or
/// the simulated disk's faults (a process writes to a real disk). `all` is every family
/// that applies, so it stays allowed.
pub fn check_binary(command: &str, bug: Option<Bug>, faults: &FaultSpec) -> Result<(), String> {
    crate::world::black_box::supported()?;
    if command.trim().is_empty() {
        return Err("--bin needs a command, e.g. --bin 'python3 main.py'".into());
    }
    if let Some(bug) = bug {
        return Err(format!(
            "--bug {} plants a bug in the shipped store; it cannot apply to --bin",
            bug.name()
        ));
    }
    if let FaultSpec::Families(families) = faults {
        if families.contains(&Family::Disk) && families.len() < Family::ALL.len() {
            return Err("--faults disk cannot apply to --bin: the simulated disk sits under \
                        the shipped store only (a process writes to a real disk); crash \
                        kills and restarts the process instead"
                .into());
        }
    }
    Ok(())
}

/// The flags that reproduce `config`, in a fixed order (seed excluded). `--nodes` is
/// named only for a cluster, so single-node commands read as they always did.
pub fn flags_of(config: &RunConfig) -> String {
    let nodes = match config.nodes {
        1 => String::new(),
        n => format!(" --nodes {n}"),
    };
    let mut flags = format!(
        "--workload {}{nodes} --clients {} --txns {} --keys {} --faults {}",
        config.workload.name(),
        config.clients,
        config.txns,
        config.keys,
        config.faults.flag()
    );
    if let Some(bug) = config.bug {
        flags.push_str(" --bug ");
        flags.push_str(bug.name());
    }
    match &config.store {
        StoreSpec::Builtin => {}
        StoreSpec::Binary(spec) => {
            flags.push_str(" --bin ");
            flags.push_str(&shell_quote(&spec.command));
        }
        // No flag names a Rust store: its program runs it.
        StoreSpec::Custom(custom) => {
            flags.push_str(&format!(" (store: {}, in process)", custom.name))
        }
    }
    flags
}

/// `cargo run -p sim -- --seed N ...`: the one command that reruns `config` bit for bit.
pub fn repro_command(config: &RunConfig) -> String {
    format!("cargo run -p sim -- --seed {} {}", config.seed, flags_of(config))
}

/// A seed in decimal or `0x`-prefixed hexadecimal.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("`{text}` is not a u64 seed (decimal or 0x-hex): {e}"))
}

pub fn parse_bug(text: &str) -> Result<Bug, String> {
    Bug::from_name(text)
        .ok_or_else(|| format!("unknown bug `{text}`: `sim bugs` lists the planted bugs"))
}

pub fn parse_workload(text: &str) -> Result<Workload, String> {
    Workload::from_name(text).ok_or_else(|| {
        format!("unknown workload `{text}`: expected register, bank, counter, hotspot or mixed")
    })
}

/// Where a failing run is kept so that it keeps being run.
#[derive(Debug)]
pub enum Record {
    /// A failure of the correct store: its line for `seeds/`, which must pass once fixed.
    Seeds(String),
    /// A run of a planted bug fails by design: `seeds/` would fail forever. The planted-bug
    /// tests keep it caught instead.
    Canary(&'static str),
    /// A run of another store (`--bin`): `seeds/` holds the shipped store's runs, so the
    /// command that reruns it is what to keep.
    Binary(String),
}

impl Record {
    /// `(label, text)`: what the text report prints after `label: `.
    pub fn label_and_text(&self) -> (&'static str, String) {
        match self {
            Record::Seeds(line) => ("add to seeds/", line.clone()),
            Record::Canary(bug) => (
                "planted bug",
                format!("{bug} fails by design, so it is not for seeds/ (whose runs must pass on the correct store); its canary is sim/tests/it/bugs.rs, which must catch it within 200 seeds"),
            ),
            Record::Binary(command) => ("rerun it with", command.clone()),
        }
    }
}

/// The line that records a failing seed in `seeds/`.
pub fn seeds_line(config: &RunConfig, note: &str) -> String {
    format!("{} {} # {note}", config.seed, flags_of(config))
}

/// Where a failing seed is kept: its `seeds/` line, or for a planted bug (which fails by
/// design, and would fail `seeds/` forever) its canary.
pub fn record(config: &RunConfig, note: &str) -> Record {
    match (config.bug, &config.store) {
        (Some(bug), _) => Record::Canary(bug.name()),
        (None, StoreSpec::Binary(_) | StoreSpec::Custom(_)) => {
            Record::Binary(repro_command(config))
        }
        (None, StoreSpec::Builtin) => Record::Seeds(seeds_line(config, note)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faults_help_names_every_family() {
        // `crash` and `disk` were once left out of it: a family must be in the help to
        // be found.
        let command = RunFlags::augment_args(clap::Command::new("sim"));
        let faults = command.get_arguments().find(|a| a.get_id() == "faults").unwrap();
        let help = faults.get_help().unwrap().to_string();
        let words: Vec<&str> = help.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        for family in Family::ALL {
            assert!(words.contains(&family.name()), "{} is not in: {help}", family.name());
        }
    }

    #[test]
    fn seeds_parse_in_decimal_and_hex() {
        assert_eq!(parse_seed("42"), Ok(42));
        assert_eq!(parse_seed("0x2a"), Ok(42));
        assert_eq!(parse_seed("0xFFFFFFFFFFFFFFFF"), Ok(u64::MAX));
        assert!(parse_seed("-1").unwrap_err().contains("`-1`"));
        assert!(parse_seed("0xzz").is_err());
    }
}
