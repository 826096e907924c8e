//! Prints a valid generated history of N transactions (JSON Lines) for timing `sim check`:
//!
//! ```text
//! cargo run --release -p sim --example gen_history -- 1000000 > h.jsonl
//! /usr/bin/time -v target/release/sim check h.jsonl
//! ```
//!
//! Optional second argument: seed (default 1).

use std::io::Write as _;

use sim::check::generate::{serial_history, GenConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let txns: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let events = serial_history(&GenConfig { seed, ..GenConfig::bench(txns) });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for event in &events {
        serde_json::to_writer(&mut out, event).expect("stdout");
        out.write_all(b"\n").expect("stdout");
    }
    out.flush().expect("stdout");
}
