//! Times `check` on generated valid histories of 100k and 1M transactions and prints the
//! time per size, the ratio (linear growth means about 10) and peak memory.
//!
//! `cargo bench -p sim --bench check` (release). Sizes can be given as arguments:
//! `cargo bench -p sim --bench check -- 100000 1000000`.

// The wall clock is the point of a benchmark; nothing here is simulated.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use sim::check::generate::{serial_history, GenConfig};
use sim::check::{check, Model};

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets VmHWM to the current RSS (Linux), so the next reading is the peak since now.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |k| format!("{} MiB", k / 1024))
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100_000, 1_000_000] } else { sizes };
    let mut times: Vec<(usize, Duration)> = Vec::new();
    for &n in &sizes {
        let events = serial_history(&GenConfig { seed: 1, ..GenConfig::bench(n) });
        let before = status_kib("VmRSS:");
        reset_peak();
        let start = Instant::now();
        let verdict = check(&events, Model::StrictSerializable).expect("well formed");
        let elapsed = start.elapsed();
        assert!(verdict.valid, "generated history rejected:\n{}", verdict.render_text(3));
        println!(
            "check {n:>8} txns ({} events, {} graph edges): {:>8.3} s, RSS with events {}, peak {}",
            events.len(),
            verdict.stats.graph_edges,
            elapsed.as_secs_f64(),
            mib(before),
            mib(status_kib("VmHWM:"))
        );
        times.push((n, elapsed));
    }
    if let [(n1, t1), .., (n2, t2)] = times[..] {
        println!(
            "ratio {n2}/{n1}: time x{:.2} for size x{:.1}",
            t2.as_secs_f64() / t1.as_secs_f64(),
            n2 as f64 / n1 as f64
        );
    }
}
