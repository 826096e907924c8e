//! The harness's headline: per planted bug, how many seeds of a default sweep it takes to
//! catch it (median over several starting seeds; `--nodes 3` for the cluster's bugs), the
//! wall time to find it, and the size of the failing run before and after shrinking:
//! transactions and fault events, the faults that still matter, shrink runs and time. Run with `cargo bench -p sim --bench bugs`
//! (`-- NAME ...` for only the bugs named).
#![allow(clippy::disallowed_methods)] // Wall-clock timing is the point of a benchmark.

use std::time::Instant;

use node::Bug;
use sim::hunt::outcome::evaluate;
use sim::hunt::shrink::{
    describe_faults, shrink_within, Budget, Shrunk, RUNS_MAX_DEFAULT, WALL_BUDGET_DEFAULT,
};
use sim::world::RunConfig;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let starts: Vec<u64> = if quick { vec![0] } else { (0..9).map(|i| i * 10_000).collect() };
    println!(
        "| bug | seeds to first failure (median of {}) | wall time to find (median) | first anomaly | transactions before -> after shrinking (median; worst) | fault events before -> after (median) | faults that matter (first start) | shrink runs (median) | shrink time (median; worst) |",
        starts.len()
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // `cargo bench -p sim --bench bugs -- NAME ...` measures only the bugs named.
    let named: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for bug in
        Bug::ALL.into_iter().filter(|b| named.is_empty() || named.iter().any(|n| n == b.name()))
    {
        let mut found = Vec::new();
        for &start in &starts {
            let started = Instant::now();
            let hit = (start..start + 1_000)
                .find_map(|seed| evaluate(&config_of(seed, bug)).failure().map(|f| (seed, f)));
            let (seed, failure) = hit.expect("found within 1000 seeds");
            found.push((seed - start + 1, started.elapsed().as_secs_f64(), seed, failure));
        }
        let counts = median(found.iter().map(|f| f.0).collect());
        let times = median(found.iter().map(|f| (f.1 * 1e6) as u64).collect());
        // Each start's first failing seed is shrunk, as `sim shrink` would (30 s of wall).
        let mut shrinks = Vec::new();
        for (_, _, seed, _) in &found {
            let started = Instant::now();
            let budget = Budget { runs_max: RUNS_MAX_DEFAULT, wall: Some(WALL_BUDGET_DEFAULT) };
            let shrunk =
                shrink_within(&config_of(*seed, bug), budget, Box::new(|_| {})).expect("it fails");
            shrinks.push((shrunk, started.elapsed().as_millis() as u64));
        }
        let first = &shrinks[0].0;
        let names = evaluate(&first.shrunk).sim.names;
        let of = |f: &dyn Fn(&(Shrunk, u64)) -> u64| median(shrinks.iter().map(f).collect());
        let txns_after = of(&|s| s.0.shrunk_txns as u64);
        let stopped = shrinks.iter().filter(|s| s.0.stopped.is_some()).count();
        println!(
            "| {} | {} | {:.3}s | {} | {} -> {}; {} | {} -> {} | {} | {}{} | {:.2}s; {:.2}s |",
            bug.name(),
            counts.0,
            times.0 as f64 / 1e6,
            found[0].3.names().join(", "),
            of(&|s| s.0.original_txns as u64).0,
            txns_after.0,
            txns_after.1,
            of(&|s| s.0.original_faults.len() as u64).0,
            of(&|s| s.0.shrunk_faults.len() as u64).0,
            describe_faults(&first.shrunk_faults, &names),
            of(&|s| s.0.runs).0,
            match stopped {
                0 => String::new(),
                n => format!(" ({n} stopped by the budget)"),
            },
            of(&|s| s.1).0 as f64 / 1e3,
            of(&|s| s.1).1 as f64 / 1e3,
        );
    }
}

/// The median and the largest of `values`.
fn median(mut values: Vec<u64>) -> (u64, u64) {
    values.sort_unstable();
    (values[values.len() / 2], values[values.len() - 1])
}

/// A default run of `bug`, on three nodes (`--nodes 3`) for a bug of the cluster's code.
fn config_of(seed: u64, bug: Bug) -> RunConfig {
    let nodes = if bug.needs_cluster() { 3 } else { 1 };
    RunConfig { seed, nodes, bug: Some(bug), ..RunConfig::default() }
}
