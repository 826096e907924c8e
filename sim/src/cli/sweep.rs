//! `sim sweep`: every seed of a range with the same flags, a progress bar, a summary.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::ops::Range;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cli::args::{flags_of, repro_command, RunFlags};
use crate::sweep::{parse_range, sweep, Progress, SeedResult, Shard};
use crate::world::RunConfig;

#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    /// Seeds to run: A..B (B excluded) or A..=B.
    #[arg(long, value_parser = parse_range)]
    pub seeds: Range<u64>,
    /// Worker threads (default: every core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: Option<u64>,
    /// Run only the I-th of N round-robin slices of the range (1-based), so N machines
    /// cover it exactly once between them.
    #[arg(long, value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// The line that records a failing seed in `seeds/`.
pub fn seeds_line(config: &RunConfig, note: &str) -> String {
    format!("{} {} # {note}", config.seed, flags_of(config))
}

#[allow(clippy::disallowed_methods)] // Wall time for seeds/s only; it never reaches a run.
pub fn run(args: &SweepArgs) -> ExitCode {
    let shard = args.shard.unwrap_or(Shard { index: 1, count: 1 });
    let seeds: Vec<u64> = shard.seeds(args.seeds.clone()).collect();
    let jobs = args.jobs.map_or_else(available_cores, |j| j as usize);
    let config = args.flags.config(0);
    let started = Instant::now();
    let mut report = progress_reporter(seeds.len());
    let results = sweep(&seeds, &config, jobs, &mut |progress, result| {
        report(progress, result, started.elapsed())
    });
    let wall = started.elapsed();
    if args.json {
        crate::cli::emit(&format!(
            "{}\n",
            summary_json(args, shard, jobs, &config, &results, wall)
        ));
    } else {
        crate::cli::emit(&summary_text(args, shard, jobs, &config, &results, wall));
    }
    if results.iter().any(|r| r.failure.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

type Reporter = Box<dyn FnMut(&Progress, &SeedResult, Duration)>;

/// A bar on a terminal; otherwise a plain line every 10 seconds, and at every failure.
fn progress_reporter(total: usize) -> Reporter {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total as u64);
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

struct Totals<'a> {
    failed: Vec<&'a SeedResult>,
    txns: u64,
    slowest: Option<&'a SeedResult>,
    seeds_per_s: f64,
    txns_per_s: f64,
}

fn totals(results: &[SeedResult], wall: Duration) -> Totals<'_> {
    let seconds = wall.as_secs_f64().max(1e-9);
    let txns: u64 = results.iter().map(|r| r.txns).sum();
    Totals {
        failed: results.iter().filter(|r| r.failure.is_some()).collect(),
        txns,
        slowest: results.iter().max_by_key(|r| r.wall),
        seeds_per_s: results.len() as f64 / seconds,
        txns_per_s: txns as f64 / seconds,
    }
}

/// What a summary says about one failing seed.
struct Found {
    headline: String,
    names: Vec<String>,
    repro: String,
    seeds_line: String,
}

impl Found {
    fn of(result: &SeedResult, config: &RunConfig) -> Found {
        let failure = result.failure.as_ref().expect("only failing seeds are reported");
        let seeded = RunConfig { seed: result.seed, ..config.clone() };
        let note = format!("{} (found by sweep)", failure.names().join(", "));
        Found {
            headline: failure.headline(),
            names: failure.names(),
            repro: repro_command(&seeded),
            seeds_line: seeds_line(&seeded, &note),
        }
    }
}

fn summary_text(
    args: &SweepArgs,
    shard: Shard,
    jobs: usize,
    config: &RunConfig,
    results: &[SeedResult],
    wall: Duration,
) -> String {
    let t = totals(results, wall);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sweep: seeds {}..{} (shard {}/{}), {} jobs, {}",
        args.seeds.start,
        args.seeds.end,
        shard.index,
        shard.count,
        jobs,
        flags_of(config)
    );
    let _ = writeln!(out, "seeds run: {}, failed: {}", results.len(), t.failed.len());
    for result in &t.failed {
        let found = Found::of(result, config);
        let _ = writeln!(out, "FAILED seed {}: {}", result.seed, found.headline);
        let _ = writeln!(out, "  reproduce: {}", found.repro);
        let _ = writeln!(out, "  add to seeds/: {}", found.seeds_line);
    }
    let _ = writeln!(
        out,
        "rate: {:.1} seeds/s, {:.0} simulated txns/s ({} txns in {:.2}s wall)",
        t.seeds_per_s,
        t.txns_per_s,
        t.txns,
        wall.as_secs_f64()
    );
    if let Some(slowest) = t.slowest {
        let _ =
            writeln!(out, "slowest: seed {} ({:.3}s)", slowest.seed, slowest.wall.as_secs_f64());
    }
    out
}

fn summary_json(
    args: &SweepArgs,
    shard: Shard,
    jobs: usize,
    config: &RunConfig,
    results: &[SeedResult],
    wall: Duration,
) -> serde_json::Value {
    let t = totals(results, wall);
    let failed: Vec<serde_json::Value> = t
        .failed
        .iter()
        .map(|result| {
            let found = Found::of(result, config);
            json!({
                "seed": result.seed,
                "failure": found.headline,
                "names": found.names,
                "fingerprint": format!("{:016x}", result.fingerprint),
                "reproduce": found.repro,
                "seeds_line": found.seeds_line,
            })
        })
        .collect();
    json!({
        "range": format!("{}..{}", args.seeds.start, args.seeds.end),
        "shard": format!("{}/{}", shard.index, shard.count),
        "jobs": jobs,
        "flags": flags_of(config),
        "seeds_run": results.len(),
        "seeds_failed": failed.len(),
        "failed": failed,
        "txns": t.txns,
        "wall_seconds": wall.as_secs_f64(),
        "seeds_per_second": t.seeds_per_s,
        "txns_per_second": t.txns_per_s,
        "slowest": t.slowest.map(|s| json!({"seed": s.seed, "seconds": s.wall.as_secs_f64()})),
        "fingerprints": results.iter().map(|r| json!([r.seed, format!("{:016x}", r.fingerprint)])).collect::<Vec<_>>(),
    })
}
