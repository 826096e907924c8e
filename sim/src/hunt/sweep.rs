//! Sweeps: many seeds with the same flags, spread over worker threads.
//!
//! Each seed is one independent single-threaded run, so threads only decide *when* a
//! seed runs, never *what* it does. Seeds stream: workers pull them from the range one at
//! a time and send each result through a bounded channel to a [`Summary`] that keeps
//! counts, the first failures and fingerprints *by seed order* (the smallest positions
//! seen, whatever order they arrive in) and an order-independent digest. Memory therefore
//! depends on `jobs`, never on the range (`0..2^64-1` runs in constant memory); the
//! summary is identical whatever `jobs` is, and no worker ever waits for a slow seed.
//! Wall-clock time is measured here for the report (seeds/s, slowest seed) and never
//! reaches a run.

use node::marks::Marks;
use std::collections::BTreeMap;
use std::ops::{ControlFlow, Range};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::hunt::outcome::{evaluate, Failure};
use crate::world::fingerprint::Fingerprint;
use crate::world::streams::stream;
use crate::world::RunConfig;

/// `--draw-nodes A..=B`: each seed of a sweep runs a cluster of a node count drawn from
/// `A..=B` by the seed alone (a `membership/nodes` stream of its own), so a sweep covers
/// many cluster sizes and each failing seed still names one concrete `--nodes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeRange {
    pub min: u32,
    pub max: u32,
}

impl NodeRange {
    /// `A..=B` or `A..B` (B excluded), within 1 and [`crate::hunt::flags::NODES_MAX`].
    pub fn parse(text: &str) -> Result<NodeRange, String> {
        let max_nodes = crate::hunt::flags::NODES_MAX;
        let bad = |why: &str| format!("`{text}` is not a node range like 2..=16: {why}");
        let number = |t: &str| t.trim().parse::<u32>().map_err(|_| bad("not a number"));
        let (min, max) = match text.split_once("..=") {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let (a, b) = text.split_once("..").ok_or_else(|| bad("no `..`"))?;
                (number(a)?, number(b)?.checked_sub(1).ok_or_else(|| bad("it is empty"))?)
            }
        };
        if min == 0 || max > max_nodes {
            return Err(bad(&format!("node counts are 1 to {max_nodes}")));
        }
        if min > max {
            return Err(bad("it is empty"));
        }
        Ok(NodeRange { min, max })
    }

    /// The node count of `seed`'s run.
    pub fn draw(self, seed: u64) -> u32 {
        stream(seed, "membership/nodes").gen_range(self.min..=self.max)
    }

    /// The flag's text, as `parse` reads it back.
    pub fn flag(self) -> String {
        format!("{}..={}", self.min, self.max)
    }
}

/// What a sweep runs for each seed: the same flags, with the node count drawn per seed
/// when a [`NodeRange`] is given. [`Plan::config`] is the one run a seed names, which
/// its repro command and `seeds/` line spell out.
#[derive(Clone, Debug)]
pub struct Plan {
    pub base: RunConfig,
    pub nodes: Option<NodeRange>,
}

impl Plan {
    /// Every seed with `base`'s flags.
    pub fn fixed(base: &RunConfig) -> Plan {
        Plan { base: base.clone(), nodes: None }
    }

    /// The run of `seed`.
    pub fn config(&self, seed: u64) -> RunConfig {
        let nodes = self.nodes.map_or(self.base.nodes, |range| range.draw(seed));
        RunConfig { seed, nodes, ..self.base.clone() }
    }

    /// The largest run of the plan, for the memory estimate: its most nodes.
    pub fn largest(&self) -> RunConfig {
        let nodes = self.nodes.map_or(self.base.nodes, |range| range.max);
        RunConfig { nodes, ..self.base.clone() }
    }
}

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

    /// Seeds are dealt round-robin (the seeds equal to I-1 modulo N), so every shard gets a
    /// similar mix of slow and fast seeds, and the N shards cover the range exactly once.
    /// Stepped, not filtered: the next seed costs O(1) however large N is.
    pub fn seeds(self, range: Range<u64>) -> impl Iterator<Item = u64> + Send {
        let (residue, count, end) = (self.index - 1, self.count, range.end);
        let offset = (residue + count - range.start % count) % count;
        let first = range.start.checked_add(offset).filter(|seed| *seed < end);
        std::iter::successors(first, move |seed| seed.checked_add(count).filter(|s| *s < end))
    }

    /// How many seeds of `range` this shard runs, without walking them.
    pub fn len(self, range: Range<u64>) -> u64 {
        let (residue, count) = (self.index - 1, self.count);
        let below = |x: u64| x / count + u64::from(x % count > residue);
        below(range.end) - below(range.start)
    }
}

/// `--seeds A..B` (B excluded) or `A..=B`, decimal or 0x-hex.
pub fn parse_range(text: &str) -> Result<Range<u64>, String> {
    let parse = crate::hunt::flags::parse_seed;
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
    /// The store's coverage marks in this run.
    pub marks: Marks,
}

/// Finished results the channel holds per job before workers wait for the summary to take
/// them: the summary is far quicker than a run, so this only absorbs bursts.
pub const CHANNEL_PER_JOB: usize = 4;

/// Failing seeds a summary lists in full (the first ones, in seed order); the rest are
/// counted.
pub const FAILURES_LISTED: usize = 100;
/// `(seed, fingerprint)` pairs a summary lists (the first ones, in seed order); the digest
/// covers them all.
pub const FINGERPRINTS_LISTED: usize = 10_000;

/// What a sweep came to, summarised as results arrive, in any order: what it keeps is
/// bounded, and the same whatever the order.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub seeds_run: u64,
    pub seeds_failed: u64,
    pub txns: u64,
    pub slowest: Option<SeedResult>,
    /// Coverage marks summed over every seed run.
    pub marks: Marks,
    /// The failing results with the smallest positions, at most [`FAILURES_LISTED`].
    failed: BTreeMap<u64, SeedResult>,
    /// `(seed, fingerprint)` with the smallest positions, at most [`FINGERPRINTS_LISTED`].
    fingerprints: BTreeMap<u64, (u64, u64)>,
    /// A sum of one hash per `(seed, fingerprint)`: the order results arrive in is not
    /// the order of the seeds, so the digest must not depend on it.
    digest: u64,
}

impl Summary {
    /// Adds the result of the seed at `position` (its place in the sweep's seed order).
    pub fn add(&mut self, position: u64, result: &SeedResult) {
        self.seeds_run += 1;
        self.txns += result.txns;
        self.marks.add(&result.marks);
        let mut pair = Fingerprint::default();
        pair.write_u64(result.seed);
        pair.write_u64(result.fingerprint);
        self.digest = self.digest.wrapping_add(pair.finish());
        keep_first(&mut self.fingerprints, FINGERPRINTS_LISTED, position, || {
            (result.seed, result.fingerprint)
        });
        if result.failure.is_some() {
            self.seeds_failed += 1;
            keep_first(&mut self.failed, FAILURES_LISTED, position, || result.clone());
        }
        if self.slowest.as_ref().is_none_or(|s| result.wall > s.wall) {
            self.slowest = Some(result.clone());
        }
    }

    /// The first [`FAILURES_LISTED`] failing seeds, in seed order.
    pub fn failed(&self) -> impl Iterator<Item = &SeedResult> {
        self.failed.values()
    }

    /// The first [`FINGERPRINTS_LISTED`] `(seed, fingerprint)` pairs, in seed order.
    pub fn fingerprints(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.fingerprints.values().copied()
    }

    /// One hash of every `(seed, fingerprint)`: two sweeps of the same seeds ran the same
    /// runs if and only if (barring collisions) their digests match.
    pub fn digest(&self) -> u64 {
        self.digest
    }
}

/// Keeps the `max` entries with the smallest positions: the first in seed order, whatever
/// order they arrive in.
fn keep_first<T>(
    kept: &mut BTreeMap<u64, T>,
    max: usize,
    position: u64,
    value: impl FnOnce() -> T,
) {
    if kept.len() >= max && kept.last_key_value().is_some_and(|(last, _)| *last < position) {
        return;
    }
    kept.insert(position, value());
    if kept.len() > max {
        kept.pop_last();
    }
}

/// Where a sweep stands, for progress reports.
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub failed: u64,
}

/// Runs `config` for every seed `seeds` yields, on `jobs` threads, and hands each result
/// to `on_result` with its position in `seeds`, in the order the runs finish. Seeds are
/// taken one at a time as workers free up, and at most `jobs` × ([`CHANNEL_PER_JOB`] + 1)
/// are taken and not yet handed over at any moment, so `seeds` may be as long as it likes,
/// even endless. `on_result` returning `Break` stops the sweep: no further seed starts,
/// and results of seeds still running are dropped.
pub fn sweep<I>(
    seeds: I,
    config: &RunConfig,
    jobs: usize,
    on_result: &mut dyn FnMut(u64, SeedResult) -> ControlFlow<()>,
) where
    I: Iterator<Item = u64> + Send,
{
    sweep_until(seeds, &Plan::fixed(config), jobs, &|| false, on_result);
}

/// [`sweep`] of a [`Plan`], which also stops when `stop()` turns true (a signal, say): it is asked
/// every [`STOP_POLL`] while no result arrives. Seeds already running finish first; their
/// results are dropped.
pub fn sweep_until<I>(
    seeds: I,
    plan: &Plan,
    jobs: usize,
    stop: &(dyn Fn() -> bool + Sync),
    on_result: &mut dyn FnMut(u64, SeedResult) -> ControlFlow<()>,
) where
    I: Iterator<Item = u64> + Send,
{
    let jobs = jobs.max(1);
    let feed = Mutex::new(seeds.enumerate());
    let stopped = AtomicBool::new(false);
    let (sender, receiver) = mpsc::sync_channel::<(u64, SeedResult)>(jobs * CHANNEL_PER_JOB);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (feed, stopped) = (&feed, &stopped);
            scope.spawn(move || {
                // A run that panics stops the sweep (the panic then propagates) rather than
                // leaving the others to run an endless range.
                let _stop_on_panic = StopOnPanic(stopped);
                while !stopped.load(Ordering::Relaxed) {
                    let next = feed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).next();
                    let Some((position, seed)) = next else { break };
                    if sender.send((position as u64, run_seed(seed, plan))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        loop {
            if stop() {
                stopped.store(true, Ordering::Relaxed);
                break;
            }
            match receiver.recv_timeout(STOP_POLL) {
                Ok((position, result)) => {
                    if on_result(position, result).is_break() {
                        stopped.store(true, Ordering::Relaxed);
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        // Workers blocked on a full channel must see it close to notice the stop.
        drop(receiver);
    });
}

/// How often a sweep with nothing to report asks whether it should stop.
pub const STOP_POLL: Duration = Duration::from_millis(50);

struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// One seed of a sweep, timed by the wall clock for the report only.
#[allow(clippy::disallowed_methods)]
fn run_seed(seed: u64, plan: &Plan) -> SeedResult {
    let started = Instant::now();
    let config = plan.config(seed);
    let outcome = evaluate(&config);
    let mut failure = outcome.failure();
    if failure.is_some() && config.store.is_binary() {
        // A store binary's failure is believed only if it happens again: one that does
        // not is the node's nondeterminism, not the failure it seemed.
        failure = confirmed(&config, outcome.sim.fingerprint, failure);
    }
    let stats = &outcome.sim.clients;
    SeedResult {
        seed,
        fingerprint: outcome.sim.fingerprint,
        failure,
        txns: stats.committed + stats.aborted + stats.failed + stats.indeterminate,
        wall: started.elapsed(),
        marks: outcome.sim.marks,
    }
}

/// `failure` if a second run of `config` gives the same fingerprint; else the
/// nondeterminism that the second run showed.
pub fn confirmed(
    config: &RunConfig,
    fingerprint: u64,
    failure: Option<Failure>,
) -> Option<Failure> {
    let again = evaluate(config);
    if again.sim.fingerprint == fingerprint {
        return failure;
    }
    let first = failure.map_or_else(|| "passed".to_string(), |f| f.headline());
    let second = again.failure().map_or_else(|| "passed".to_string(), |f| f.headline());
    Some(Failure::Nondeterministic(format!(
        "the same seed ran twice differently (fingerprints {fingerprint:016x} and {:016x}): \
         first {first}; then {second}. Rerun with `sim run --bin ... --seed {}` to see the \
         first step at which they differ",
        again.sim.fingerprint, config.seed
    )))
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
    fn shards_step_to_their_seeds_and_count_them_without_walking() {
        for count in 1..=5 {
            for index in 1..=count {
                let shard = Shard { index, count };
                for range in [0..17, 3..4, 5..23, u64::MAX - 9..u64::MAX] {
                    let walked: Vec<u64> =
                        range.clone().filter(|s| s % count == index - 1).collect();
                    assert_eq!(shard.seeds(range.clone()).collect::<Vec<_>>(), walked);
                    assert_eq!(shard.len(range.clone()), walked.len() as u64, "{shard:?}");
                }
            }
        }
        let huge = Shard { index: 2, count: 1_000_000_000_000 };
        let first: Vec<u64> = huge.seeds(0..u64::MAX).take(3).collect();
        assert_eq!(first, [1, 1_000_000_000_001, 2_000_000_000_001]);
        assert_eq!(Shard { index: 1, count: 1 }.len(0..u64::MAX), u64::MAX);
    }

    /// Tiny runs: a sweep test is about the pipeline, not the simulation.
    fn tiny() -> RunConfig {
        RunConfig {
            clients: 1,
            txns: 1,
            keys: 1,
            faults: crate::world::faults::FaultSpec::Families(Vec::new()),
            ..RunConfig::default()
        }
    }

    fn summary(seeds: Range<u64>, jobs: usize) -> Summary {
        let mut summary = Summary::default();
        sweep(seeds, &tiny(), jobs, &mut |position, result| {
            summary.add(position, &result);
            ControlFlow::Continue(())
        });
        summary
    }

    #[test]
    fn a_summary_is_the_same_whatever_the_jobs() {
        let one = summary(0..60, 1);
        let seeds: Vec<u64> = one.fingerprints().map(|p| p.0).collect();
        assert_eq!(seeds, (0..60).collect::<Vec<_>>());
        for jobs in [3, 8] {
            let many = summary(0..60, jobs);
            assert_eq!(
                many.fingerprints().collect::<Vec<_>>(),
                one.fingerprints().collect::<Vec<_>>()
            );
            assert_eq!((many.digest(), many.seeds_run, many.txns), (one.digest(), 60, one.txns));
        }
    }

    #[test]
    fn an_endless_range_streams_with_a_bounded_number_of_seeds_in_flight() {
        // Proves memory does not depend on the range: seeds are pulled lazily from
        // 0..2^64-1, never more than jobs x (CHANNEL_PER_JOB + 1) ahead of the results
        // handed over, and the sweep stops when told to. A slow consumer lets workers run
        // ahead until the channel is full.
        use std::sync::atomic::AtomicU64;
        let pulled = AtomicU64::new(0);
        let seeds = (0..u64::MAX).inspect(|_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        });
        let jobs = 2;
        let bound = (jobs * (CHANNEL_PER_JOB + 1)) as u64;
        let (mut handed, mut ahead_max) = (0u64, 0u64);
        let mut summary = Summary::default();
        sweep(seeds, &tiny(), jobs, &mut |position, result| {
            // This result counts as handed over: the ones still ahead are in the channel
            // or held by a worker.
            handed += 1;
            ahead_max = ahead_max.max(pulled.load(Ordering::SeqCst) - handed);
            summary.add(position, &result);
            if handed < 40 {
                std::thread::sleep(Duration::from_millis(2));
            }
            if handed == 300 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(summary.seeds_run, 300);
        assert!(ahead_max <= bound, "{ahead_max} seeds taken ahead, bound {bound}");
        assert!(pulled.load(Ordering::SeqCst) <= 300 + bound, "stopped pulling at the break");
    }

    #[test]
    fn a_summary_keeps_the_first_failures_and_fingerprints_whatever_the_arrival_order() {
        let result = |seed: u64| SeedResult {
            seed,
            fingerprint: seed * 7,
            failure: seed.is_multiple_of(3).then(|| Failure::Liveness("stuck".into())),
            txns: 2,
            wall: Duration::from_millis(seed % 5),
            marks: Marks::default(),
        };
        let total = (FINGERPRINTS_LISTED + 10) as u64;
        let (mut in_order, mut reversed) = (Summary::default(), Summary::default());
        for seed in 0..total {
            in_order.add(seed, &result(seed));
            reversed.add(total - 1 - seed, &result(total - 1 - seed));
        }
        for summary in [&in_order, &reversed] {
            assert_eq!((summary.seeds_run, summary.txns), (total, 2 * total));
            assert_eq!(summary.seeds_failed, total.div_ceil(3));
            let failed: Vec<u64> = summary.failed().map(|r| r.seed).collect();
            assert_eq!(failed, (0..FAILURES_LISTED as u64).map(|i| 3 * i).collect::<Vec<_>>());
            let listed: Vec<u64> = summary.fingerprints().map(|p| p.0).collect();
            assert_eq!(listed, (0..FINGERPRINTS_LISTED as u64).collect::<Vec<_>>());
        }
        assert_eq!(in_order.digest(), reversed.digest());
        in_order.add(total, &result(total));
        assert_ne!(in_order.digest(), reversed.digest(), "the digest covers every seed");
    }

    #[test]
    fn node_ranges_parse_and_a_plan_names_each_seeds_node_count() {
        // 2..=16 and 2..17 are the same range; 0, 17 and empty ranges are refused. With a
        // range, a seed's config is a concrete run of the drawn count (and its seeds line
        // says so); without, every seed keeps the flags' count.
        assert_eq!(NodeRange::parse("2..=16"), Ok(NodeRange { min: 2, max: 16 }));
        assert_eq!(NodeRange::parse("2..17"), NodeRange::parse("2..=16"));
        for bad in ["0..=3", "1..=17", "5..=4", "3..3", "x..=4", "4"] {
            assert!(NodeRange::parse(bad).is_err(), "{bad}");
        }
        let range = NodeRange { min: 1, max: 16 };
        let plan = Plan { base: tiny(), nodes: Some(range) };
        for seed in 0..50 {
            let config = plan.config(seed);
            assert_eq!((config.seed, config.nodes), (seed, range.draw(seed)));
            assert!((1..=16).contains(&config.nodes));
            let line = crate::hunt::flags::seeds_line(&config, "note");
            assert_eq!(line.contains(&format!(" --nodes {} ", config.nodes)), config.nodes > 1);
        }
        assert_eq!(plan.largest().nodes, 16);
        assert_eq!(Plan::fixed(&tiny()).config(9).nodes, tiny().nodes);
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
