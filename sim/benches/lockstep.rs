//! `--bin`'s lockstep driver: steps per second for `occ-node`, a default seed of the
//! Python example, and where a step's time goes (the two /proc scans, the node's own
//! work, the rest: pipes and waking the node). Needs `occ-node` built in release
//! (`cargo build --release -p node`) and Debian's `/usr/bin/python3` (or `python3`).
//! Run with `cargo bench -p sim --bench lockstep`.
#![allow(clippy::disallowed_methods)] // Wall-clock timing is the point of a benchmark.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use sim::hunt::outcome::evaluate;
use sim::world::black_box::idle;
use sim::world::faults::FaultSpec;
use sim::world::store::{BinarySpec, StoreSpec};
use sim::world::topology::Role;
use sim::world::{simulate, RunConfig, Simulation, TraceEvent};

fn occ_node() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's path");
    let release = exe.parent().and_then(|deps| deps.parent()).expect("target/release");
    let node = release.join("occ-node");
    assert!(node.exists(), "build it first: cargo build --release -p node ({})", node.display());
    node
}

fn binary(command: String) -> StoreSpec {
    StoreSpec::Binary(BinarySpec { command })
}

/// Lines delivered to store nodes in a traced run (the `init`s included): its steps.
fn node_steps(sim: &Simulation) -> Vec<&str> {
    sim.trace
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Deliver { target, wire, .. } if sim.roles[*target] == Role::Node => {
                Some(wire.as_str())
            }
            _ => None,
        })
        .collect()
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let seeds: u64 = if quick { 2 } else { 20 };
    let node = occ_node();

    // (1) occ-node in memory, one node, no faults: lockstep steps per second.
    let started = Instant::now();
    let mut steps = 0usize;
    for seed in 0..seeds {
        let config = RunConfig {
            seed,
            faults: FaultSpec::parse("none").unwrap(),
            store: binary(node.display().to_string()),
            record_trace: true,
            ..RunConfig::default()
        };
        let sim = simulate(&config);
        assert!(sim.process_error.is_none(), "{:?}", sim.process_error);
        steps += node_steps(&sim).len() + 1;
    }
    let lockstep_s = started.elapsed().as_secs_f64();
    let per_step_us = lockstep_s * 1e6 / steps as f64;
    println!(
        "occ-node in memory, --faults none: {seeds} seeds, {steps} steps in {lockstep_s:.2}s: \
         {:.0} steps/s ({per_step_us:.0} us/step, the simulation itself included)",
        steps as f64 / lockstep_s
    );

    // (2) The same runs with the shipped store in process: what the simulation costs.
    let started = Instant::now();
    for seed in 0..seeds {
        let config =
            RunConfig { seed, faults: FaultSpec::parse("none").unwrap(), ..RunConfig::default() };
        simulate(&config);
    }
    let in_process_us = started.elapsed().as_secs_f64() * 1e6 / steps as f64;

    // (3) Two /proc scans of an idle occ-node, as every step ends with.
    let mut idle_node = Command::new(&node)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("occ-node starts");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let rounds = if quick { 200 } else { 5_000 };
    let started = Instant::now();
    let mut watcher = idle::Watcher::default();
    for _ in 0..rounds {
        let first = watcher.scan(idle_node.id()).expect("it runs");
        let second = watcher.scan(idle_node.id()).expect("it runs");
        assert!(idle::idle(&first, &second), "{first:?}");
    }
    let scans_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let _ = idle_node.kill();
    let _ = idle_node.wait();

    // (4) The node's own work: seed 0's lines to it, piped in one go, no lockstep.
    let traced = simulate(&RunConfig {
        seed: 0,
        faults: FaultSpec::parse("none").unwrap(),
        store: binary(node.display().to_string()),
        record_trace: true,
        ..RunConfig::default()
    });
    let lines = node_steps(&traced);
    let mut input = String::new();
    for _ in 0..if quick { 1 } else { 20 } {
        for line in &lines {
            input.push_str(line);
            input.push('\n');
        }
    }
    let count = input.lines().count();
    let started = Instant::now();
    let mut piped = Command::new(&node)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("occ-node starts");
    piped.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("written");
    piped.wait().expect("it ends");
    let own_us = started.elapsed().as_secs_f64() * 1e6 / count as f64;
    let rest_us = per_step_us - in_process_us - scans_us - own_us;
    println!(
        "a step's {per_step_us:.0} us: the simulation {in_process_us:.1} us, two /proc scans \
         {scans_us:.1} us, occ-node's own work {own_us:.1} us (piped, no lockstep), \
         the rest (pipes, waking the node, waits between looks) {rest_us:.0} us"
    );

    // (5) A default seed of the Python example (`sim run`'s flags; one run, checked).
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/stores/python/main.py");
    for seed in [1, 2, 3] {
        let started = Instant::now();
        let outcome = evaluate(&RunConfig {
            seed,
            store: binary(format!("{python} {}", script.display())),
            ..RunConfig::default()
        });
        assert!(outcome.failure().is_none(), "seed {seed}: {:?}", outcome.failure());
        println!(
            "python example, seed {seed} (default flags: {}): {:.2}s, one run checked",
            outcome.sim.mix,
            started.elapsed().as_secs_f64()
        );
    }
}
