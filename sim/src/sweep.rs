//! Sweeps: many seeds with the same flags, spread over worker threads.
//!
//! Each seed is one independent single-threaded run, so threads only decide *when* a
//! seed runs, never *what* it does: results are stored by position and are identical
//! whatever `jobs` and `shard` are. Wall-clock time is measured here for the report
//! (seeds/s, slowest seed) and never reaches a run.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::outcome::{evaluate, Failure};
use crate::world::RunConfig;

/// `--shard I/N`: the I-th (1-based) of N disjoint slices of a seed range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Seeds are dealt round-robin, so every shard gets a similar mix of slow and fast
    /// seeds, and the N shards cover the range exactly once.
    pub fn seeds(self, range: Range<u64>) -> impl Iterator<Item = u64> {
        let (residue, count) = (self.index - 1, self.count);
        range.filter(move |seed| seed % count == residue)
    }
}

/// `--seeds A..B` (B excluded) or `A..=B`, decimal or 0x-hex.
pub fn parse_range(text: &str) -> Result<Range<u64>, String> {
    let parse = crate::cli::args::parse_seed;
    let bad = |why: String| format!("`{text}` is not a seed range like 0..1000: {why}");
    if let Some((start, end)) = text.split_once("..=") {
        let (start, end) = (parse(start).map_err(bad)?, parse(end).map_err(bad)?);
        let end = end.checked_add(1).ok_or_else(|| bad("the end is too large".into()))?;
        return check_order(start..end).map_err(bad);
    }
    let (start, end) = text.split_once("..").ok_or_else(|| bad("no `..`".into()))?;
    check_order(parse(start).map_err(bad)?..parse(end).map_err(bad)?).map_err(bad)
}

fn check_order(range: Range<u64>) -> Result<Range<u64>, String> {
    if range.is_empty() {
        return Err("the range is empty".into());
    }
    Ok(range)
}

/// What one seed of a sweep came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedResult {
    pub seed: u64,
    pub fingerprint: u64,
    pub failure: Option<Failure>,
    /// Transactions the clients ran (every attempt: committed, aborted, failed, info).
    pub txns: u64,
    pub wall: Duration,
}

/// Where a sweep stands, for progress reports.
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub failed: usize,
}

/// Runs `config` for every seed, on `jobs` threads, calling `on_progress` after each.
pub fn sweep(
    seeds: &[u64],
    config: &RunConfig,
    jobs: usize,
    on_progress: &mut dyn FnMut(&Progress, &SeedResult),
) -> Vec<SeedResult> {
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(usize, SeedResult)>();
    let mut results: Vec<Option<SeedResult>> = vec![None; seeds.len()];
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || loop {
                let position = next.fetch_add(1, Ordering::Relaxed);
                let Some(&seed) = seeds.get(position) else { break };
                if sender.send((position, run_seed(seed, config))).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut progress = Progress { done: 0, total: seeds.len(), failed: 0 };
        for (position, result) in receiver {
            progress.done += 1;
            progress.failed += usize::from(result.failure.is_some());
            on_progress(&progress, &result);
            results[position] = Some(result);
        }
    });
    results.into_iter().map(|r| r.expect("every seed reports exactly once")).collect()
}

/// One seed of a sweep, timed by the wall clock for the report only.
#[allow(clippy::disallowed_methods)]
fn run_seed(seed: u64, config: &RunConfig) -> SeedResult {
    let started = Instant::now();
    let outcome = evaluate(&RunConfig { seed, ..config.clone() });
    let stats = &outcome.sim.clients;
    SeedResult {
        seed,
        fingerprint: outcome.sim.fingerprint,
        failure: outcome.failure(),
        txns: stats.committed + stats.aborted + stats.failed + stats.indeterminate,
        wall: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_a_range_exactly_once() {
        let mut all: Vec<u64> = (1..=3)
            .flat_map(|index| Shard { index, count: 3 }.seeds(10..27).collect::<Vec<_>>())
            .collect();
        all.sort();
        assert_eq!(all, (10..27).collect::<Vec<_>>());
        assert_eq!(Shard::parse("1/1").unwrap().seeds(0..5).count(), 5);
        let top = |index| Shard { index, count: 2 }.seeds(u64::MAX - 3..u64::MAX).count();
        assert_eq!(top(1) + top(2), 3, "the top of the seed space splits too");
    }

    #[test]
    fn bad_shards_and_ranges_are_rejected_with_the_reason() {
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(Shard::parse(bad).unwrap_err().contains(bad), "{bad}");
        }
        assert_eq!(parse_range("5..8"), Ok(5..8));
        assert_eq!(parse_range("5..=8"), Ok(5..9));
        assert_eq!(parse_range("0x10..0x12"), Ok(16..18));
        assert!(parse_range("8..5").unwrap_err().contains("empty"));
        assert!(parse_range("7").unwrap_err().contains("`7`"));
    }
}
