//! Shrinking: reduce a failing run to a small one that fails the same way.
//!
//! First over the flags (fault families, clients, transactions, keys), each step kept only
//! if the run still fails the same way; then delta debugging (Zeller's ddmin) over the
//! run's transactions: which generated programs of which client actually run. Skipped
//! programs are still drawn, so the kept ones stay what they were; everything else (timing,
//! network draws) follows from the seed. The result is 1-minimal: removing any single
//! remaining transaction makes the failure go away (or change).
//!
//! The faults shrink the same way (see [`FaultSchedule`]): the nemesis is hurried, so that
//! a crash drawn late needs no transactions to keep the run alive until it comes; then
//! each kind of fault event (drops, duplicates, delay spikes, partitions, crashes) is
//! taken out whole if the failure survives that, else by ddmin over its events, so that
//! the shrunk run keeps only the faults that matter, and each that is left is moved to
//! an earlier event of its kind where the failure allows. Partitions are made brief where
//! that leaves the run no larger: each attempt they fail is retried, and each
//! retry is a transaction of the history.
//!
//! So does the store's timing shape (see [`Shape`]): a bug that shows only once the log
//! holds two snapshots, once a crash tears a snapshot of several chunks, once a table
//! outlives a TTL, or once a participant has waited in doubt, needs fewer transactions at
//! a shorter snapshot interval, smaller chunks, a shorter TTL or a shorter wait. The
//! shape pass runs in each round before the ddmin over programs, not before the first
//! cut in transactions: there it sent other bugs' shrinks (volatile-outcomes) into worse
//! local minima.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::hunt::outcome::{evaluate, evaluate_within, Failure};
use crate::world::faults::{Family, FaultEvent, FaultMix, FaultSchedule, FaultSpec, Happened};
use crate::world::topology::Shape;
use crate::world::{simulate, store_config_of, RunConfig};

/// Runs a shrink may spend; each is one full simulated run (small ones, mostly).
pub const RUNS_MAX_DEFAULT: u64 = 3_000;

/// The checker's search steps for one candidate (a 500th of a run's): enough for
/// every failing run of a planted bug measured, and a bound on a pathological one.
const CANDIDATE_STEPS: u64 = 100_000;

/// The wall time `sim shrink` allows itself before it stops with what it has.
pub const WALL_BUDGET_DEFAULT: Duration = Duration::from_secs(30);

/// What a shrink may spend.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub runs_max: u64,
    /// Wall time, if bounded. Only the shrinker's loop reads the clock: each run stays a
    /// pure function of its config, but where a bounded shrink stops depends on the
    /// machine (tests leave it unbounded).
    pub wall: Option<Duration>,
}

pub struct Shrunk {
    pub original: RunConfig,
    pub original_failure: Failure,
    pub original_txns: usize,
    pub shrunk: RunConfig,
    pub shrunk_failure: Failure,
    pub shrunk_txns: usize,
    /// Simulated runs spent.
    pub runs: u64,
    /// Fault events (drops, duplicates, delay spikes, partitions, crashes) that happened
    /// in the original run and in the shrunk one.
    pub original_faults: Vec<Happened>,
    pub shrunk_faults: Vec<Happened>,
    /// Set when the budget ran out: how far the shrink got.
    pub stopped: Option<String>,
}

/// Transactions a run invoked (every attempt, the final read included).
pub fn txns_of(config: &RunConfig) -> usize {
    evaluate(config)
        .sim
        .history
        .iter()
        .filter(|e| e.kind == workloads::history::EventKind::Invoke)
        .count()
}

/// The fault events of a run in a line: "3 faults matter: n1 crashed at 12.3ms, ...".
/// `names` are the run's process names by index.
pub fn describe_faults(faults: &[Happened], names: &[String]) -> String {
    if faults.is_empty() {
        return "no fault event matters".to_string();
    }
    let name = |index: Option<usize>| {
        index.and_then(|i| names.get(i)).map_or("?", String::as_str).to_string()
    };
    let link = |h: &Happened| format!("{}->{}", name(h.process), name(h.target));
    let listed: Vec<String> = faults
        .iter()
        .map(|h| {
            let at = format!("{:.3}ms", h.time_us as f64 / 1000.0);
            match h.event {
                FaultEvent::Drop => format!("a message {} dropped at {at}", link(h)),
                FaultEvent::Duplicate => format!("a message {} duplicated at {at}", link(h)),
                FaultEvent::Delay => format!("a message {} held back at {at}", link(h)),
                FaultEvent::Partition => match h.process {
                    Some(_) => format!("{} cut off long at {at}", name(h.process)),
                    None => format!("a partition at {at}"),
                },
                FaultEvent::Crash => format!("{} crashed at {at}", name(h.process)),
            }
        })
        .collect();
    let count = match faults.len() {
        1 => "1 fault matters".to_string(),
        n => format!("{n} faults matter"),
    };
    format!("{count}: {}", listed.join(", "))
}

/// Anomaly names from most to least specific: a shrink keeps the first of these the
/// original run showed, so that a duplicate version does not shrink into some vaguer
/// cycle that merely accompanied it. Names not listed rank after these, alphabetically.
const NAME_RANK: &[&str] = &[
    "G1a",
    "duplicate-version",
    "version-gap",
    "wrong-version-bump",
    "garbage-read",
    // An acknowledged write lost, seen in one read: as direct as the names above, and
    // found in a few transactions where a cycle that accompanied it needs dozens.
    "version-regressed",
    "internal",
    "G0",
    "G1c",
    "G-single",
    "G-nonadjacent",
    "G2-item",
    "counter-mismatch",
    "bank-total-mismatch",
];

/// The anomaly names a shrink may preserve, most specific first: the two highest ranked
/// the original showed (or, for names not ranked, the first alphabetically).
pub fn target_names(names: &[String]) -> Vec<String> {
    let mut ranked: Vec<String> = NAME_RANK
        .iter()
        .filter(|ranked| names.iter().any(|n| n == *ranked))
        .map(|n| (*n).to_string())
        .collect();
    if ranked.is_empty() {
        ranked.extend(names.iter().min().cloned());
    }
    ranked.truncate(2);
    ranked
}

struct Shrinker {
    target: Failure,
    /// For anomalies: the name every accepted candidate must still report.
    target_name: Option<String>,
    runs: u64,
    runs_max: u64,
    deadline: Option<Instant>,
    /// Set once the wall budget is spent.
    out_of_time: bool,
    progress: Box<dyn FnMut(u64)>,
}

impl Shrinker {
    /// When the budget ran out: how far the shrink got.
    fn stopped(&self, budget: Budget, original_txns: usize, shrunk_txns: usize) -> Option<String> {
        if !(self.runs >= self.runs_max || self.out_of_time) {
            return None;
        }
        let spent = match self.out_of_time {
            true => {
                format!("its wall-time budget ({}s)", budget.wall.unwrap_or_default().as_secs())
            }
            false => format!("its {} runs", self.runs_max),
        };
        Some(format!(
            "the shrink stopped when it had spent {spent}: {original_txns} -> {shrunk_txns} \
             transactions so far (a smaller run may exist)"
        ))
    }

    fn spent(&mut self) -> bool {
        if self.runs >= self.runs_max || self.out_of_time {
            return true;
        }
        #[allow(clippy::disallowed_methods)] // The shrink's wall budget: never in a run.
        let now = Instant::now();
        self.out_of_time = self.deadline.is_some_and(|deadline| now >= deadline);
        self.out_of_time
    }
}

impl Shrinker {
    /// Does `candidate` fail the same way as the original? Anomalies must keep the target
    /// name (a duplicate version that shrinks to a duplicate version, not to some other
    /// failure); liveness, panic and internal failures must stay what they were.
    fn fails_same_way(&mut self, candidate: &RunConfig) -> bool {
        if self.spent() {
            return false;
        }
        self.runs += 1;
        (self.progress)(self.runs);
        match (&self.target, evaluate_within(candidate, CANDIDATE_STEPS).failure()) {
            (Failure::Anomalies(_), Some(Failure::Anomalies(got))) => {
                self.target_name.as_ref().is_some_and(|want| got.contains(want))
            }
            (Failure::Liveness(_), Some(Failure::Liveness(_))) => true,
            (Failure::Internal(_), Some(Failure::Internal(_))) => true,
            (Failure::Panic(_), Some(Failure::Panic(_))) => true,
            (Failure::Refused(_), Some(Failure::Refused(_))) => true,
            _ => false,
        }
    }
}

/// Shrinks a failing run, within `runs_max` runs and no wall-time bound (so that the
/// result is the same on every machine). `Err` if the run does not fail.
pub fn shrink(config: &RunConfig, runs_max: u64) -> Result<Shrunk, String> {
    shrink_within(config, Budget { runs_max, wall: None }, Box::new(|_| {}))
}

/// Shrinks a failing run within `budget`, telling `progress` the runs spent after each.
pub fn shrink_within(
    config: &RunConfig,
    budget: Budget,
    progress: Box<dyn FnMut(u64)>,
) -> Result<Shrunk, String> {
    #[allow(clippy::disallowed_methods)] // The shrink's wall budget: never in a run.
    let deadline = budget.wall.map(|wall| Instant::now() + wall);
    let original = Original::run(config)?;
    let targets: Vec<Option<String>> = match &original.failure {
        Failure::Anomalies(names) => target_names(names).into_iter().map(Some).collect(),
        _ => vec![None],
    };
    let mut shrinker = Shrinker {
        target: original.failure.clone(),
        target_name: targets.first().cloned().flatten(),
        runs: 1,
        runs_max: budget.runs_max,
        deadline,
        out_of_time: false,
        progress,
    };
    let start = original.spelled_out_if_the_same(&mut shrinker);
    let (size, best) = smallest_of_pipelines(&mut shrinker, &start, targets);
    // Every candidate a pipeline kept failed the same way; a result no smaller than the
    // original (timing-dependent failures can grow when flags change) is not a shrink.
    let mut best = if size < original.txns { best } else { original.config.clone() };
    let mut original_config = original.config;
    // A schedule that changes nothing is left out (the flags say it all).
    for config in [&mut best, &mut original_config] {
        if config.schedule == Some(FaultSchedule::default()) && config.keep.is_none() {
            config.schedule = None;
        }
    }
    best.shape = best.shape.and_then(|shape| shape_that_applies(&best, shape));
    let shrunk_outcome = evaluate(&RunConfig {
        schedule: Some(best.schedule.clone().unwrap_or_default()),
        ..best.clone()
    });
    let Some(shrunk_failure) = shrunk_outcome.failure() else {
        return Err(format!(
            "internal error: the shrunk run of seed {} passes; the failing run is the original",
            config.seed
        ));
    };
    let shrunk_txns = invocations(&best);
    Ok(Shrunk {
        original: original_config,
        original_failure: original.failure,
        original_txns: original.txns,
        shrunk: best,
        shrunk_failure,
        shrunk_txns,
        runs: shrinker.runs,
        original_faults: original.faults,
        shrunk_faults: shrunk_outcome.sim.network.faults.happened,
        stopped: shrinker.stopped(budget, original.txns, shrunk_txns),
    })
}

/// `shape` less the TTLs of an `expiry` family a later pass took out, and the wait in
/// doubt of a cluster shrunk to one node (they change nothing); `None` if nothing is left.
fn shape_that_applies(config: &RunConfig, mut shape: Shape) -> Option<Shape> {
    if crate::world::faults::FaultMix::draw(&config.faults, config.seed).expiry.is_none() {
        shape.txn_ttl_us = None;
        shape.outcome_ttl_us = None;
    }
    if config.nodes == 1 {
        shape.query_after_us = None;
    }
    (shape != Shape::default()).then_some(shape)
}

/// The failing run a shrink starts from, run once.
struct Original {
    /// The run with its schedule spelled out: one that keeps everything is the same run,
    /// and lists its fault events.
    config: RunConfig,
    failure: Failure,
    /// Transactions it invoked (every attempt, the final read included).
    txns: usize,
    faults: Vec<Happened>,
    mix: FaultMix,
}

impl Original {
    /// `Err` if the run passes.
    fn run(config: &RunConfig) -> Result<Original, String> {
        let schedule = Some(config.schedule.clone().unwrap_or_default());
        let original = RunConfig { record_trace: false, schedule, ..config.clone() };
        let outcome = evaluate(&original);
        let Some(failure) = outcome.failure() else {
            return Err(format!(
                "seed {} passes with these flags: there is nothing to shrink",
                config.seed
            ));
        };
        let txns = outcome
            .sim
            .history
            .iter()
            .filter(|e| e.kind == workloads::history::EventKind::Invoke)
            .count();
        Ok(Original {
            config: original,
            failure,
            txns,
            faults: outcome.sim.network.faults.happened,
            mix: outcome.sim.mix,
        })
    }

    /// Where the passes start: swarm spelled out as the families it drew, which is the
    /// same run, so that families can then be removed one at a time. Spelled out it must
    /// still be the failing run; if not (a family whose draws depend on being named),
    /// shrinking starts from the original flags.
    fn spelled_out_if_the_same(&self, shrinker: &mut Shrinker) -> RunConfig {
        let faults = FaultSpec::Families(self.mix.families());
        let spelled = RunConfig { faults, ..self.config.clone() };
        if shrinker.fails_same_way(&spelled) {
            spelled
        } else {
            self.config.clone()
        }
    }
}

/// Shrinking is a search with local minima: for each target name, two orders of the same
/// passes from `start`; the smallest result wins (fewest transactions in the history,
/// then fewest fault events). Its transactions, and the run.
fn smallest_of_pipelines(
    shrinker: &mut Shrinker,
    start: &RunConfig,
    targets: Vec<Option<String>>,
) -> (usize, RunConfig) {
    let mut candidates = Vec::new();
    for target_name in targets {
        shrinker.target_name = target_name;
        for keys_first in [false, true] {
            let mut config = start.clone();
            shrink_pipeline(shrinker, &mut config, keys_first);
            let (txns, faults) = size_of(&config);
            candidates.push(((txns, faults), config));
        }
    }
    let ((txns, _), best) =
        candidates.into_iter().min_by_key(|(size, _)| *size).expect("a pipeline ran");
    (txns, best)
}

/// One order of the shrinking passes: flags, then rounds of keys, faults, clients and
/// ddmin over transactions until a round removes nothing.
fn shrink_pipeline(shrinker: &mut Shrinker, best: &mut RunConfig, keys_first: bool) {
    if keys_first {
        shrink_number(shrinker, best, |c| u64::from(c.keys), |c, n| c.keys = n as u32);
    }
    // A smaller cluster, if the failure survives it (fewer columns to read).
    shrink_number(shrinker, best, |c| u64::from(c.nodes), |c, n| c.nodes = n as u32);
    shrink_faults(shrinker, best);
    shrink_hurry(shrinker, best);
    shrink_brief(shrinker, best);
    shrink_number(shrinker, best, |c| u64::from(c.clients), |c, n| c.clients = n as u32);
    shrink_number(shrinker, best, |c| c.txns, |c, n| c.txns = n);
    // Each pass may open the way for another (fewer transactions need fewer faults or
    // keys, and the other way round).
    loop {
        let size = planned(best);
        shrink_number(shrinker, best, |c| u64::from(c.keys), |c, n| c.keys = n as u32);
        shrink_faults(shrinker, best);
        shrink_hurry(shrinker, best);
        shrink_brief(shrinker, best);
        // Before the programs: a bug that needs the log past two snapshots, or a table
        // past a TTL, then needs fewer of them.
        shrink_shape(shrinker, best);
        shrink_number(shrinker, best, |c| u64::from(c.clients), |c, n| c.clients = n as u32);
        // Before the programs: a fault that comes sooner needs fewer of them.
        shrink_earlier(shrinker, best);
        shrink_programs(shrinker, best);
        shrink_events(shrinker, best);
        if planned(best) >= size || shrinker.spent() {
            break;
        }
    }
    shrink_shape_back(shrinker, best);
}

/// Whether `candidate` invokes no more transactions and meets no more fault events.
fn no_larger(candidate: &RunConfig, best: &RunConfig) -> bool {
    let (candidate, best) = (size_of(candidate), size_of(best));
    candidate.0 <= best.0 && candidate.1 <= best.1
}

/// Transactions a run invokes (every attempt, the final read included).
fn invocations(config: &RunConfig) -> usize {
    size_of(config).0
}

/// Transactions a run invokes (as [`invocations`]) and the fault events that happen in it.
fn size_of(config: &RunConfig) -> (usize, usize) {
    let config =
        RunConfig { schedule: Some(config.schedule.clone().unwrap_or_default()), ..config.clone() };
    let sim = simulate(&config);
    let txns =
        sim.history.iter().filter(|e| e.kind == workloads::history::EventKind::Invoke).count();
    (txns, sim.network.faults.happened.len())
}

/// The nemesis as soon as the failure allows: a crash or partition drawn late in the run
/// otherwise needs transactions to keep the run alive until it comes.
fn shrink_hurry(shrinker: &mut Shrinker, best: &mut RunConfig) {
    let current = best.schedule.as_ref().map_or(1, |s| s.hurry);
    for hurry in [1_000, 100, 30, 10, 3] {
        if hurry <= current {
            return;
        }
        let mut candidate = best.clone();
        candidate.schedule.get_or_insert_with(FaultSchedule::default).hurry = hurry;
        if shrinker.fails_same_way(&candidate) {
            *best = candidate;
            return;
        }
    }
}

/// Partitions as short as the failure allows: a client retries what a partition failed,
/// and each retry is a transaction of the history. Kept
/// only if the run invokes no more transactions and meets no more fault events (shorter
/// partitions come more often, and each is an event to prune).
fn shrink_brief(shrinker: &mut Shrinker, best: &mut RunConfig) {
    let mix = FaultMix::draw(&best.faults, best.seed);
    if mix.partition.is_none() {
        return;
    }
    let current = best.schedule.as_ref().map_or(1, |s| s.brief);
    for brief in [100, 30, 10, 3] {
        if brief <= current {
            return;
        }
        let mut candidate = best.clone();
        candidate.schedule.get_or_insert_with(FaultSchedule::default).brief = brief;
        if shrinker.fails_same_way(&candidate) && no_larger(&candidate, best) {
            *best = candidate;
            return;
        }
    }
}

/// The smallest snapshot interval the shape pass tries: a few records' worth (the store
/// snapshots once the records since the last one reach the interval or the last
/// snapshot's size, whichever is larger, so any interval is one it must handle).
const SNAPSHOT_MIN_BYTES_FLOOR: u64 = 128;

/// The smallest snapshot chunk the shape pass tries: a snapshot of a key or two then
/// spans several frames, so that a crash can tear it after a few transactions (the store
/// cuts its snapshots into chunks of any size, one byte up).
const SNAPSHOT_CHUNK_BYTES_FLOOR: u64 = 16;

/// The shortest wait of a participant in doubt the shape pass tries (the store's is 100
/// ms): a short one shows a doubt (a decision lost or late) after a few transactions
/// rather than a hundred ms of them. 1 ms is shorter than a round trip, so a participant
/// asks before its coordinator can have heard every vote: the store must (and does) wait
/// for its decision rather than abort on the question
/// (`a_shrunk_shape_at_its_floors_fails_no_seed_of_the_correct_store`).
const QUERY_AFTER_US_FLOOR: u64 = 1_000;

/// The shortest TTLs the shape pass tries: the shortest `FaultMix::draw` draws, so that
/// every shrunk pair of TTLs is one a seed could have drawn. Not shorter: the clients'
/// commit resends are sized to end inside the shortest outcome window (see
/// `topology::client_config`), and a shorter TTL could fail the run for a reason of its
/// own rather than the bug's.
const TXN_TTL_US_FLOOR: u64 = 200_000;
const OUTCOME_TTL_US_FLOOR: u64 = 500_000;

/// The store's timing shape (issue 20): the snapshot interval and chunk size, in a
/// cluster the wait in doubt, then, under the `expiry` family, the transaction and
/// outcome TTLs, each from its floor up by doubling, the
/// smallest that still fails the same way kept. A run with the same draws and a shorter
/// interval or TTL shows a bug that needs snapshots or expiry after fewer transactions.
fn shrink_shape(shrinker: &mut Shrinker, best: &mut RunConfig) {
    let store = store_config_of(best);
    let expiry = crate::world::faults::FaultMix::draw(&best.faults, best.seed).expiry.is_some();
    let current = store.log.map_or(u64::MAX, |log| log.snapshot_min_bytes);
    let set = |shape: &mut Shape, n: u64| shape.snapshot_min_bytes = Some(n);
    shrink_shape_field(shrinker, best, current, SNAPSHOT_MIN_BYTES_FLOOR, set);
    let current = store.log.map_or(u64::MAX, |log| log.snapshot_chunk_bytes);
    let set = |shape: &mut Shape, n: u64| shape.snapshot_chunk_bytes = Some(n);
    shrink_shape_field(shrinker, best, current, SNAPSHOT_CHUNK_BYTES_FLOOR, set);
    if best.nodes > 1 {
        let set = |shape: &mut Shape, n: u64| shape.query_after_us = Some(n);
        shrink_shape_field(shrinker, best, store.query_after_us, QUERY_AFTER_US_FLOOR, set);
    }
    if !expiry {
        return;
    }
    let set = |shape: &mut Shape, n: u64| shape.txn_ttl_us = Some(n);
    shrink_shape_field(shrinker, best, store.txn_ttl_us, TXN_TTL_US_FLOOR, set);
    let set = |shape: &mut Shape, n: u64| shape.outcome_ttl_us = Some(n);
    shrink_shape_field(shrinker, best, store.outcome_ttl_us, OUTCOME_TTL_US_FLOOR, set);
}

/// Each field of the shape back as drawn, if the failure survives that and the run grows
/// no larger: what is left is the shape that matters, and a run that needs none can be
/// said in flags.
fn shrink_shape_back(shrinker: &mut Shrinker, best: &mut RunConfig) {
    let unset: [fn(&mut Shape); 5] = [
        |shape| shape.snapshot_min_bytes = None,
        |shape| shape.snapshot_chunk_bytes = None,
        |shape| shape.query_after_us = None,
        |shape| shape.txn_ttl_us = None,
        |shape| shape.outcome_ttl_us = None,
    ];
    for unset in unset {
        let Some(mut shape) = best.shape else { return };
        unset(&mut shape);
        if Some(shape) == best.shape {
            continue;
        }
        let candidate =
            RunConfig { shape: (shape != Shape::default()).then_some(shape), ..best.clone() };
        if shrinker.fails_same_way(&candidate) && size_of(&candidate) <= size_of(best) {
            *best = candidate;
        }
    }
}

/// One field of the shape: `floor`, then doublings of it below `current`, the first
/// that still fails the same way kept.
fn shrink_shape_field(
    shrinker: &mut Shrinker,
    best: &mut RunConfig,
    current: u64,
    floor: u64,
    set: impl Fn(&mut Shape, u64),
) {
    let mut value = floor;
    while value < current {
        let mut candidate = best.clone();
        set(candidate.shape.get_or_insert_with(Shape::default), value);
        if shrinker.fails_same_way(&candidate) {
            *best = candidate;
            return;
        }
        value = value.saturating_mul(2);
    }
}

/// Per kind of fault event: none of them if the failure survives that, else ddmin over
/// the events that happened, keeping those without which it goes away.
fn shrink_events(shrinker: &mut Shrinker, best: &mut RunConfig) {
    for event in FaultEvent::ALL {
        let with = |kept: &[u64]| {
            let mut candidate = best.clone();
            let schedule = candidate.schedule.get_or_insert_with(FaultSchedule::default);
            schedule.kept.insert(event, kept.iter().copied().collect());
            candidate
        };
        let listed =
            RunConfig { schedule: Some(best.schedule.clone().unwrap_or_default()), ..best.clone() };
        let happened: Vec<u64> = simulate(&listed)
            .network
            .faults
            .happened
            .iter()
            .filter(|h| h.event == event)
            .map(|h| h.ordinal)
            .collect();
        if happened.is_empty() {
            continue;
        }
        if shrinker.fails_same_way(&with(&[])) {
            *best = with(&[]);
            continue;
        }
        let kept = ddmin(happened.clone(), |kept| shrinker.fails_same_way(&with(kept)));
        if kept.len() < happened.len() {
            *best = with(&kept);
        }
    }
}

/// Each kept fault event as early as the failure allows (issue 20: "then move what is
/// left earlier"): its ordinal replaced by an earlier one of its kind, the earliest first
/// (the one after the kept event before it, then halving the distance back to it), kept
/// if the run fails the same way and is smaller (fewer transactions, else fewer fault
/// events): an event that comes sooner needs fewer transactions to keep the run going
/// until it comes. Not where it is merely no larger: that sent forget-decision-on-restart
/// down another path (seed 7, `--nodes 3`: 15 transactions instead of 9).
fn shrink_earlier(shrinker: &mut Shrinker, best: &mut RunConfig) {
    for event in FaultEvent::ALL {
        let kept_now = |best: &RunConfig| -> Vec<u64> {
            let kept = best.schedule.as_ref().and_then(|s| s.kept.get(&event));
            kept.map_or_else(Vec::new, |kept| kept.iter().copied().collect())
        };
        for i in 0..kept_now(best).len() {
            let kept = kept_now(best);
            let floor = if i == 0 { 0 } else { kept[i - 1] + 1 };
            for earlier in earlier_ordinals(floor, kept[i]) {
                let mut candidate = best.clone();
                let mut moved = kept.clone();
                moved[i] = earlier;
                let schedule = candidate.schedule.get_or_insert_with(FaultSchedule::default);
                schedule.kept.insert(event, moved.into_iter().collect());
                if shrinker.fails_same_way(&candidate) && size_of(&candidate) < size_of(best) {
                    *best = candidate;
                    break;
                }
            }
        }
    }
}

/// Ordinals from `floor` up to before `ordinal`, earliest first: `floor`, then
/// `ordinal` less 2^k for k down to 0 (a few, however far apart they are).
fn earlier_ordinals(floor: u64, ordinal: u64) -> Vec<u64> {
    let mut found = vec![floor];
    let mut step = 1u64;
    while ordinal.saturating_sub(step) > floor {
        found.push(ordinal - step);
        step *= 2;
    }
    found.retain(|&o| o < ordinal);
    found.sort_unstable();
    found.dedup();
    found
}

/// Zeller's ddmin over `items`: a 1-minimal subset for which `fails` holds (given that it
/// holds for all of them), trying complements of ever smaller chunks.
fn ddmin<T: Clone>(mut items: Vec<T>, mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    let mut granularity = 2;
    while items.len() >= 2 {
        let chunk = items.len().div_ceil(granularity);
        let mut reduced = false;
        for start in (0..items.len()).step_by(chunk) {
            let complement: Vec<T> = items[..start]
                .iter()
                .chain(items[(start + chunk).min(items.len())..].iter())
                .cloned()
                .collect();
            if fails(&complement) {
                items = complement;
                granularity = (granularity - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if granularity >= items.len() {
                break;
            }
            granularity = (granularity * 2).min(items.len());
        }
    }
    items
}

/// Transactions the run plans (kept programs of clients that exist).
fn planned(config: &RunConfig) -> u64 {
    match &config.keep {
        None => config.txns,
        Some(keep) => keep
            .iter()
            .filter(|(client, _)| **client <= config.clients)
            .map(|(_, programs)| programs.len() as u64)
            .sum(),
    }
}

/// No faults at all if that still fails; else drop families one at a time.
fn shrink_faults(shrinker: &mut Shrinker, best: &mut RunConfig) {
    let FaultSpec::Families(families) = best.faults.clone() else { return };
    if families.is_empty() {
        return;
    }
    let clean = RunConfig { faults: FaultSpec::Families(Vec::new()), ..best.clone() };
    if shrinker.fails_same_way(&clean) {
        *best = clean;
        return;
    }
    for family in families {
        let FaultSpec::Families(current) = &best.faults else { return };
        let fewer: Vec<Family> = current.iter().copied().filter(|f| *f != family).collect();
        let candidate = RunConfig { faults: FaultSpec::Families(fewer), ..best.clone() };
        if shrinker.fails_same_way(&candidate) {
            *best = candidate;
        }
    }
}

/// The smallest value of one numeric flag (from 1 up, then by halving the gap) that still
/// fails: small values first, since each run is cheap when the value is small.
fn shrink_number(
    shrinker: &mut Shrinker,
    best: &mut RunConfig,
    get: impl Fn(&RunConfig) -> u64,
    set: impl Fn(&mut RunConfig, u64),
) {
    let current = get(best);
    let mut candidates: Vec<u64> = vec![1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256];
    candidates.retain(|n| *n < current);
    for n in candidates {
        let mut candidate = best.clone();
        set(&mut candidate, n);
        if shrinker.fails_same_way(&candidate) {
            *best = candidate;
            return;
        }
    }
}

/// ddmin over the (client, program index) pairs of the run.
fn shrink_programs(shrinker: &mut Shrinker, best: &mut RunConfig) {
    let clients = u64::from(best.clients);
    let mut programs: Vec<(u32, u64)> = Vec::new();
    for slot in 0..clients {
        let count = best.txns / clients + u64::from(slot < best.txns % clients);
        for index in 0..count {
            if best.keep.as_ref().is_none_or(|keep| {
                keep.get(&(slot as u32 + 1)).is_some_and(|kept| kept.contains(&index))
            }) {
                programs.push((slot as u32 + 1, index));
            }
        }
    }
    if programs.is_empty() {
        return;
    }
    let with = |programs: &[(u32, u64)]| {
        let mut keep: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
        for &(client, index) in programs {
            keep.entry(client).or_default().insert(index);
        }
        RunConfig { keep: Some(keep), ..best.clone() }
    };
    let programs = ddmin(programs, |programs| shrinker.fails_same_way(&with(programs)));
    let candidate = with(&programs);
    if candidate
        .keep
        .as_ref()
        .is_some_and(|k| k.values().map(BTreeSet::len).sum::<usize>() < best.txns as usize)
    {
        *best = candidate;
    }
}
