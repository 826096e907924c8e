//! Simulator throughput: simulated transactions per wall-clock second on one core, with
//! default flags and checking included, and what the fingerprint costs.
//! Run with `cargo bench -p sim --bench simulate`.
#![allow(clippy::disallowed_methods)] // Wall-clock timing is the point of a benchmark.

use std::time::Instant;

use sim::hunt::outcome::evaluate;
use sim::world::fingerprint::Fingerprint;
use sim::world::{simulate, RunConfig, TraceEvent};

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let seeds: u64 = if quick { 5 } else { 400 };

    // (1) Whole runs: simulate + check, as `sim run` and `sim sweep` do.
    let started = Instant::now();
    let (mut txns, mut messages) = (0u64, 0u64);
    for seed in 0..seeds {
        let outcome = evaluate(&RunConfig { seed, ..RunConfig::default() });
        assert!(outcome.failure().is_none(), "seed {seed} failed");
        let s = &outcome.sim.clients;
        txns += s.committed + s.aborted + s.failed + s.indeterminate;
        messages += outcome.sim.network.sent;
    }
    let run_s = started.elapsed().as_secs_f64();
    println!(
        "default runs: {seeds} seeds, {txns} txns, {messages} messages in {run_s:.2}s: \
         {:.0} simulated txns/s, {:.1} seeds/s, {:.2} us/message (one core, checking included)",
        txns as f64 / run_s,
        seeds as f64 / run_s,
        run_s * 1e6 / messages as f64
    );

    // (2) The same runs without the checker: what the simulation alone costs.
    let started = Instant::now();
    for seed in 0..seeds {
        simulate(&RunConfig { seed, ..RunConfig::default() });
    }
    let sim_s = started.elapsed().as_secs_f64();
    println!(
        "simulation alone: {:.2}s ({:.0}% of a run; checking the rest)",
        sim_s,
        100.0 * sim_s / run_s
    );

    // (3) The fingerprint: hash the same fields a run hashes (every message's wire text
    // and header), timed on its own.
    let traced = simulate(&RunConfig { seed: 0, record_trace: true, ..RunConfig::default() });
    let sends: Vec<(u64, usize, usize, &str)> = traced
        .trace
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Send { time_us, source, target, wire, .. } => {
                Some((*time_us, *source, *target, wire.as_str()))
            }
            _ => None,
        })
        .collect();
    let rounds = if quick { 2 } else { 200 };
    let started = Instant::now();
    let mut sink = 0u64;
    for _ in 0..rounds {
        let mut f = Fingerprint::default();
        for (time, source, target, wire) in &sends {
            f.write_u64(*time);
            f.write_u64(*source as u64);
            f.write_u64(*target as u64);
            f.write_str(wire);
        }
        sink = sink.wrapping_add(f.finish());
    }
    let per_run_s = started.elapsed().as_secs_f64() / f64::from(rounds);
    let run_avg_s = sim_s / seeds as f64;
    println!(
        "fingerprint: {:.1} us per default run ({} messages) = {:.1}% of the simulation (checksum {sink:x})",
        per_run_s * 1e6,
        sends.len(),
        100.0 * per_run_s / run_avg_s
    );
}
