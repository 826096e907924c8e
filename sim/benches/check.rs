//! Times `check` on generated valid histories of 100k and 1M transactions and prints the
//! time per size, the time of each phase, the ratios (linear growth means about 10) and
//! peak memory. Parsing the history's text is timed too, apart from `check` (which takes
//! parsed events).
//!
//! `cargo bench -p sim --bench check` (release). Sizes, and how many runs per size to
//! keep the fastest of (default 3), can be given as arguments:
//! `cargo bench -p sim --bench check -- 100000 1000000 --runs=3`.

// The wall clock is the point of a benchmark; nothing here is simulated.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use sim::check::generate::{serial_history, GenConfig};
use sim::check::{check_phased, parse_history, Model, PHASES};
use workloads::history::Event;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Minor page faults of this process so far (Linux): each is a fresh page the kernel
/// zeroes, a cost that grows when big arrays stop being recycled by the allocator.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(7)?.parse().ok()
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`): on a
/// shared machine the wall time grows with the load, this much less.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Resets VmHWM to the current RSS (Linux), so the next reading is the peak since now.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn seconds(time: Option<Duration>) -> String {
    time.map_or("n/a".to_string(), |t| format!("{:.3} s", t.as_secs_f64()))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |k| format!("{} MiB", k / 1024))
}

/// One size's timings: parse (apart), check in total, and each phase of check.
struct Run {
    n: usize,
    parse: Duration,
    total: Duration,
    /// The CPU time of the same check, when the system says.
    cpu: Option<Duration>,
    phases: Vec<Duration>,
}

/// Checks a history of `n` transactions `runs` times and keeps the fastest time of the
/// total and of each phase: the machine may be shared, and noise only ever adds time.
fn run(n: usize, runs: usize) -> Run {
    let events = serial_history(&GenConfig { seed: 1, ..GenConfig::bench(n) });
    let mut best = check_once(n, &events);
    for _ in 1..runs {
        let run = check_once(n, &events);
        best.total = best.total.min(run.total);
        best.cpu = match (best.cpu, run.cpu) {
            (Some(best), Some(this)) => Some(best.min(this)),
            (best, this) => best.or(this),
        };
        for (phase, time) in best.phases.iter_mut().zip(run.phases) {
            *phase = (*phase).min(time);
        }
    }
    // After check, so that the text's memory does not count in check's peak.
    let mut text = String::new();
    for event in &events {
        text.push_str(&serde_json::to_string(event).expect("an event is plain data"));
        text.push('\n');
    }
    let start = Instant::now();
    let parsed = parse_history(&text).expect("generated text parses");
    best.parse = start.elapsed();
    assert_eq!(parsed.len(), events.len());
    best
}

fn check_once(n: usize, events: &[Event]) -> Run {
    let before = status_kib("VmRSS:");
    reset_peak();
    let mut phases = Vec::with_capacity(PHASES.len());
    let faults_before = minor_faults();
    let cpu_before = cpu_ns();
    let start = Instant::now();
    let mut last = start;
    let verdict = check_phased(events, Model::StrictSerializable, &mut |_| {
        let now = Instant::now();
        phases.push(now - last);
        last = now;
    })
    .expect("well formed");
    let total = start.elapsed();
    let cpu = cpu_ns().zip(cpu_before).map(|(after, before)| Duration::from_nanos(after - before));
    let faults = minor_faults().zip(faults_before).map(|(after, before)| after - before);
    assert!(verdict.valid, "generated history rejected:\n{}", verdict.render_text(3));
    println!(
        "check {n:>8} txns ({} events, {} graph edges): {:>8.3} s (CPU {}), RSS with events {}, peak {}, {} page faults",
        events.len(),
        verdict.stats.graph_edges,
        total.as_secs_f64(),
        seconds(cpu),
        mib(before),
        mib(status_kib("VmHWM:")),
        faults.map_or("n/a".to_string(), |f| f.to_string())
    );
    Run { n, parse: Duration::ZERO, total, cpu, phases }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeat =
        args.iter().find_map(|a| a.strip_prefix("--runs=")?.parse().ok()).unwrap_or(3usize).max(1);
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100_000, 1_000_000] } else { sizes };
    let runs: Vec<Run> = sizes.iter().map(|&n| run(n, repeat)).collect();
    println!("fastest of {repeat} runs per size:");
    // Rows: each phase, the rest of check (freeing), check's total, and parsing apart.
    let mut rows: Vec<(String, Vec<Duration>)> = PHASES
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_string(), runs.iter().map(|r| r.phases[i]).collect()))
        .collect();
    rows.push((
        "(free)".to_string(),
        runs.iter().map(|r| r.total.saturating_sub(r.phases.iter().sum())).collect(),
    ));
    rows.push(("check total".to_string(), runs.iter().map(|r| r.total).collect()));
    if runs.iter().all(|r| r.cpu.is_some()) {
        rows.push(("check CPU".to_string(), runs.iter().filter_map(|r| r.cpu).collect()));
    }
    rows.push(("parse (apart)".to_string(), runs.iter().map(|r| r.parse).collect()));
    print!("{:<14}", "phase");
    for r in &runs {
        print!("{:>14}", format!("{} txns", r.n));
    }
    println!("{:>10}", "ratio");
    for (name, times) in &rows {
        print!("{name:<14}");
        for t in times {
            print!("{:>12.3} s", t.as_secs_f64());
        }
        if let [first, .., last] = times[..] {
            print!("{:>10}", format!("x{:.2}", last.as_secs_f64() / first.as_secs_f64()));
        }
        println!();
    }
    if let [first, .., last] = &runs[..] {
        println!(
            "ratio {}/{}: time x{:.2} for size x{:.1}",
            last.n,
            first.n,
            last.total.as_secs_f64() / first.total.as_secs_f64(),
            last.n as f64 / first.n as f64
        );
    }
}
