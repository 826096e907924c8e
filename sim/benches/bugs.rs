//! The harness's headline: per planted bug, how many seeds of a default sweep it takes to
//! catch it (median over several starting seeds; `--nodes 3` for the cluster's bugs), the
//! wall time to find it, and the size
//! of the failing run before and after shrinking. Run with `cargo bench -p sim --bench bugs`
//! (`-- NAME ...` for only the bugs named).
#![allow(clippy::disallowed_methods)] // Wall-clock timing is the point of a benchmark.

use std::time::Instant;

use node::Bug;
use sim::hunt::outcome::evaluate;
use sim::hunt::shrink::{shrink, RUNS_MAX_DEFAULT};
use sim::world::RunConfig;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let starts: Vec<u64> = if quick { vec![0] } else { (0..9).map(|i| i * 10_000).collect() };
    println!("| bug | seeds to first failure (median of {}) | wall time to find (median) | first anomaly | transactions before -> after shrinking | shrink runs | shrink time |", starts.len());
    println!("|---|---|---|---|---|---|---|");
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
        let mut counts: Vec<u64> = found.iter().map(|f| f.0).collect();
        counts.sort_unstable();
        let mut times: Vec<f64> = found.iter().map(|f| f.1).collect();
        times.sort_by(f64::total_cmp);
        let (_, _, seed, failure) = &found[0];
        let started = Instant::now();
        let config = config_of(*seed, bug);
        let shrunk = shrink(&config, RUNS_MAX_DEFAULT).expect("it fails");
        println!(
            "| {} | {} | {:.3}s | {} | {} -> {} | {} | {:.2}s |",
            bug.name(),
            counts[counts.len() / 2],
            times[times.len() / 2],
            failure.names().join(", "),
            shrunk.original_txns,
            shrunk.shrunk_txns,
            shrunk.runs,
            started.elapsed().as_secs_f64()
        );
    }
}

/// A default run of `bug`, on three nodes (`--nodes 3`) for a bug of the cluster's code.
fn config_of(seed: u64, bug: Bug) -> RunConfig {
    let nodes = if bug.needs_cluster() { 3 } else { 1 };
    RunConfig { seed, nodes, bug: Some(bug), ..RunConfig::default() }
}
