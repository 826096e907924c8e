//! `sim sweep`: every seed of a range with the same flags, a progress bar, a summary.
//!
//! Seeds stream through the workers and are summarised as their results come, so a
//! sweep's memory does not depend on its range. The summary lists the first
//! [`FAILURES_LISTED`] failing seeds and counts the rest; `--json` lists the first
//! [`FINGERPRINTS_LISTED`] fingerprints and a digest of them all.
//!
//! Exit codes: 0 every seed passed; 1 some seed failed (or `--require-marks` found a mark
//! never hit); 2 bad flags, or a range or shard with no seed (unless `--allow-empty`);
//! 130 / 143 stopped by SIGINT / SIGTERM, after printing the summary of the seeds that
//! ran (a second signal ends it at once, without one).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::ops::{ControlFlow, Range};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::hunt::flags::Record;
use crate::hunt::flags::{
    check_binary, check_bug_nodes, flags_of, record, repro_command, RunFlags,
};
use crate::hunt::sweep::{
    parse_range, sweep_until, NodeRange, Plan, Progress, SeedResult, Shard, Summary,
    FAILURES_LISTED, FINGERPRINTS_LISTED,
};

#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    /// Seeds to run: A..B (B excluded) or A..=B. Any length: seeds stream, memory stays
    /// constant.
    #[arg(long, value_parser = parse_range)]
    pub seeds: Range<u64>,
    /// Worker threads (default: every core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: Option<u64>,
    /// Run only the I-th of N round-robin slices of the range (1-based), so N machines
    /// cover it exactly once between them.
    #[arg(long, value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Stop after the first N seeds (of the shard, in seed order): a budget for a range
    /// too large to finish.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_seeds: Option<u64>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 1) if some coverage mark of the store was never hit: a branch no seed
    /// took is a blind spot, however green the sweep.
    #[arg(long)]
    pub require_marks: bool,
    /// Exit 0 when the range (or this shard of it) holds no seed. Without it that is an
    /// error (exit 2): a CI matrix wider than its range must not pass vacuously.
    #[arg(long)]
    pub allow_empty: bool,
    /// Draw each seed's node count from A..=B (1 to 16; e.g. 2..=16 for clusters only)
    /// instead of `--nodes`: the seed alone decides it, and a failing seed's reproduce
    /// command and `seeds/` line name the `--nodes` it ran.
    #[arg(long, value_name = "A..=B", value_parser = NodeRange::parse, conflicts_with = "nodes")]
    pub draw_nodes: Option<NodeRange>,
    #[command(flatten)]
    pub flags: RunFlags,
}

impl SweepArgs {
    /// What each seed runs.
    pub fn plan(&self) -> Plan {
        Plan { base: self.flags.config(0), nodes: self.draw_nodes }
    }

    /// [`RunFlags::check`], for every node count the sweep may draw: a cluster bug needs
    /// the smallest to be a cluster, and the largest run must fit.
    pub fn check(&self) -> Result<(), String> {
        if let Some(command) = &self.flags.bin {
            check_binary(command, self.flags.bug, &self.flags.faults)?;
            if self.require_marks {
                return Err("--require-marks needs the shipped store: a store binary offers \
                            no coverage marks"
                    .into());
            }
        }
        let fewest = self.draw_nodes.map_or(self.flags.nodes, |range| range.min);
        check_bug_nodes(self.flags.bug, fewest).map_err(|e| match self.draw_nodes {
            Some(range) => format!("{e}; --draw-nodes {} draws {fewest}", range.flag()),
            None => e,
        })?;
        crate::world::cost::check_fits(&self.plan().largest(), 1)
    }

    /// The sweep's flags: the run flags, with `--draw-nodes` in place of `--nodes`.
    fn flags_text(&self) -> String {
        let flags = flags_of(&self.flags.config(0));
        match self.draw_nodes {
            Some(range) => format!("--draw-nodes {} {flags}", range.flag()),
            None => flags,
        }
    }
}

#[allow(clippy::disallowed_methods)] // Wall time for seeds/s only; it never reaches a run.
pub fn run(args: &SweepArgs) -> ExitCode {
    let shard = args.shard.unwrap_or(Shard { index: 1, count: 1 });
    let range_len = shard.len(args.seeds.clone());
    if range_len == 0 && !args.allow_empty {
        eprintln!(
            "sim sweep: seeds {}..{} hold no seed for shard {}/{}: nothing would run (pass --allow-empty if that is expected)",
            args.seeds.start, args.seeds.end, shard.index, shard.count
        );
        return ExitCode::from(2);
    }
    let total = range_len.min(args.max_seeds.unwrap_or(u64::MAX));
    let seeds = shard.seeds(args.seeds.clone()).take(usize::try_from(total).unwrap_or(usize::MAX));
    let jobs = args.jobs.map_or_else(available_cores, |j| j as usize);
    let plan = args.plan();
    // Each job holds one run at a time.
    if let Err(problem) = crate::world::cost::check_fits(&plan.largest(), (jobs as u64).min(total))
    {
        eprintln!("sim sweep: {problem}");
        return ExitCode::from(2);
    }
    let signals = match Signals::watch() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("sim sweep: cannot watch for SIGINT/SIGTERM: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let mut report = progress_reporter(total);
    let mut summary = Summary::default();
    sweep_until(seeds, &plan, jobs, &|| signals.caught().is_some(), &mut |position, result| {
        summary.add(position, &result);
        let progress = Progress { done: summary.seeds_run, total, failed: summary.seeds_failed };
        report(&progress, &result, started.elapsed());
        ControlFlow::Continue(())
    });
    drop(report);
    let wall = started.elapsed();
    let interrupted = signals.caught();
    let sweep =
        Sweep { args, shard, jobs, plan: &plan, summary: &summary, range_len, wall, interrupted };
    if args.json {
        crate::cli::emit(&format!("{}\n", sweep.json()));
    } else {
        crate::cli::emit(&sweep.text());
    }
    if let Some(signal) = interrupted {
        return ExitCode::from(signal.exit_code());
    }
    let unhit: Vec<&str> =
        summary.marks.iter().filter(|(_, n)| *n == 0).map(|(m, _)| m.name()).collect();
    if args.require_marks && !unhit.is_empty() {
        eprintln!(
            "sim sweep: --require-marks: never hit in {} seeds: {}",
            summary.seeds_run,
            unhit.join(", ")
        );
        return ExitCode::from(1);
    }
    if summary.seeds_failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// SIGINT and SIGTERM during a sweep: the first one stops it, which then prints the
/// summary of what ran and exits 130 (SIGINT) or 143 (SIGTERM), the shell's codes for
/// them; a second one ends the process at once, summary or not.
struct Signals {
    caught: Arc<AtomicUsize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl Signals {
    fn watch() -> std::io::Result<Signals> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let caught = Arc::new(AtomicUsize::new(0));
        let second = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // Registered before the flags are set, so only a signal after the first exits.
            signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, second.clone())?;
            signal_hook::flag::register(signal, second.clone())?;
            signal_hook::flag::register_usize(signal, caught.clone(), signal as usize)?;
        }
        Ok(Signals { caught })
    }

    fn caught(&self) -> Option<Signal> {
        match self.caught.load(Ordering::Relaxed) {
            0 => None,
            n if n == signal_hook::consts::SIGTERM as usize => Some(Signal::Terminate),
            _ => Some(Signal::Interrupt),
        }
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

type Reporter = Box<dyn FnMut(&Progress, &SeedResult, Duration)>;

/// A bar on a terminal; otherwise a plain line every 10 seconds, and at every failure.
fn progress_reporter(total: u64) -> Reporter {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg}, {per_sec}, ETA {eta}")
                .expect("a valid template"),
        );
        bar.set_message("0 failed");
        return Box::new(move |progress, result, _| {
            bar.inc(1);
            bar.set_message(format!("{} failed", progress.failed));
            if let Some(failure) = &result.failure {
                bar.println(format!("seed {} FAILED: {}", result.seed, failure.headline()));
            }
            if progress.done == progress.total {
                bar.finish_and_clear();
            }
        });
    }
    let mut last_line = Duration::ZERO;
    Box::new(move |progress, result, elapsed| {
        if let Some(failure) = &result.failure {
            eprintln!("seed {} FAILED: {}", result.seed, failure.headline());
        }
        if elapsed >= last_line + Duration::from_secs(10) {
            last_line = elapsed;
            eprintln!(
                "sweep: {}/{} seeds, {} failed, {:.1} seeds/s",
                progress.done,
                progress.total,
                progress.failed,
                progress.done as f64 / elapsed.as_secs_f64().max(1e-9)
            );
        }
    })
}

/// What a summary says about one failing seed.
struct Found {
    headline: String,
    names: Vec<String>,
    repro: String,
    record: Record,
}

impl Found {
    fn of(result: &SeedResult, plan: &Plan) -> Found {
        let failure = result.failure.as_ref().expect("only failing seeds are reported");
        let seeded = plan.config(result.seed);
        let note = format!("{} (found by sweep)", failure.names().join(", "));
        Found {
            headline: failure.headline(),
            names: failure.names(),
            repro: repro_command(&seeded),
            record: record(&seeded, &note),
        }
    }
}

/// A finished sweep, to be summarised.
struct Sweep<'a> {
    args: &'a SweepArgs,
    shard: Shard,
    jobs: usize,
    plan: &'a Plan,
    summary: &'a Summary,
    /// Seeds of the range in this shard, run or not.
    range_len: u64,
    wall: Duration,
    /// The signal that stopped the sweep early, if one did.
    interrupted: Option<Signal>,
}

impl Sweep<'_> {
    fn rates(&self) -> (f64, f64) {
        let seconds = self.wall.as_secs_f64().max(1e-9);
        (self.summary.seeds_run as f64 / seconds, self.summary.txns as f64 / seconds)
    }

    fn text(&self) -> String {
        let (s, args) = (self.summary, self.args);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "sweep: seeds {}..{} (shard {}/{}), {} jobs, {}",
            args.seeds.start,
            args.seeds.end,
            self.shard.index,
            self.shard.count,
            self.jobs,
            args.flags_text()
        );
        let _ = writeln!(out, "seeds run: {}, failed: {}", s.seeds_run, s.seeds_failed);
        if let Some(signal) = self.interrupted {
            let not_run = self.range_len - s.seeds_run;
            let _ = writeln!(
                out,
                "interrupted by {} after {} seeds: {not_run} seeds not run",
                signal.name(),
                s.seeds_run
            );
        } else if let Some(max) = args.max_seeds.filter(|max| *max < self.range_len) {
            let not_run = self.range_len - s.seeds_run;
            let _ = writeln!(out, "stopped after --max-seeds {max}: {not_run} seeds not run");
        }
        for result in s.failed() {
            let found = Found::of(result, self.plan);
            let _ = writeln!(out, "FAILED seed {}: {}", result.seed, found.headline);
            let _ = writeln!(out, "  reproduce: {}", found.repro);
            let (label, text) = found.record.label_and_text();
            let _ = writeln!(out, "  {label}: {text}");
        }
        let listed = s.failed().count() as u64;
        if s.seeds_failed > listed {
            let unlisted = s.seeds_failed - listed;
            let _ = writeln!(
                out,
                "... and {unlisted} more failing seeds (the first {listed} are listed)"
            );
        }
        let (seeds_per_s, txns_per_s) = self.rates();
        let _ = writeln!(
            out,
            "rate: {seeds_per_s:.1} seeds/s, {txns_per_s:.0} simulated txns/s ({} txns in {:.2}s wall)",
            s.txns,
            self.wall.as_secs_f64()
        );
        if let Some(slowest) = &s.slowest {
            let seconds = slowest.wall.as_secs_f64();
            let _ = writeln!(out, "slowest: seed {} ({seconds:.3}s)", slowest.seed);
        }
        if self.args.flags.bin.is_some() {
            let _ = writeln!(out, "marks: none (a store binary offers no coverage marks)");
            return out;
        }
        let marks: Vec<String> = s
            .marks
            .iter()
            .map(|(mark, n)| match n {
                0 => format!("{} 0 (never hit)", mark.name()),
                n => format!("{} {n}", mark.name()),
            })
            .collect();
        let _ = writeln!(out, "marks: {}", marks.join(", "));
        out
    }

    fn json(&self) -> serde_json::Value {
        let (s, args) = (self.summary, self.args);
        let failed: Vec<serde_json::Value> = s
            .failed()
            .map(|result| {
                let found = Found::of(result, self.plan);
                json!({
                    "seed": result.seed,
                    "failure": found.headline,
                    "names": found.names,
                    "fingerprint": format!("{:016x}", result.fingerprint),
                    "reproduce": found.repro,
                    "seeds_line": match &found.record {
                        Record::Seeds(line) => Some(line.as_str()),
                        Record::Canary(_) | Record::Binary(_) => None,
                    },
                })
            })
            .collect();
        let (seeds_per_s, txns_per_s) = self.rates();
        let fingerprints: Vec<serde_json::Value> =
            s.fingerprints().map(|(seed, fp)| json!([seed, format!("{fp:016x}")])).collect();
        json!({
            "range": format!("{}..{}", args.seeds.start, args.seeds.end),
            "shard": format!("{}/{}", self.shard.index, self.shard.count),
            "jobs": self.jobs,
            "flags": args.flags_text(),
            "max_seeds": args.max_seeds,
            "interrupted": self.interrupted.map(Signal::name),
            "seeds_run": s.seeds_run,
            "seeds_not_run": self.range_len - s.seeds_run,
            "seeds_failed": s.seeds_failed,
            "failed": failed,
            "failed_listed_max": FAILURES_LISTED,
            "txns": s.txns,
            "wall_seconds": self.wall.as_secs_f64(),
            "seeds_per_second": seeds_per_s,
            "txns_per_second": txns_per_s,
            "slowest": s.slowest.as_ref().map(|r| json!({"seed": r.seed, "seconds": r.wall.as_secs_f64()})),
            "fingerprints": fingerprints,
            "fingerprints_listed_max": FINGERPRINTS_LISTED,
            "fingerprints_digest": format!("{:016x}", s.digest()),
            "marks": s.marks.iter().map(|(m, n)| (m.name().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        })
    }
}
