//! `--bin`: store binaries in other languages, driven in lockstep through the same
//! protocol. The example stores must pass or fail as their headers say, every run twice
//! alike; a node that misbehaves as a process is told in words, never as an anomaly.
//! Needs `python3` and `node` on PATH when sim is built (Debian's `python3` and `nodejs`;
//! `.ci/run` installs them and sets `OCC_SIM_REQUIRE_INTERPRETERS=1`, so that there a
//! missing one fails instead of being ignored; see `sim/build.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn sim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().expect("sim runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// `python3 ABSOLUTE/sim/examples/stores/NAME/main.py` (or `node .../main.js`).
fn example(name: &str) -> String {
    let dir = repo().join("sim/examples/stores").join(name);
    match dir.join("main.js").exists() {
        true => format!("node {}", dir.join("main.js").display()),
        false => format!("python3 {}", dir.join("main.py").display()),
    }
}

fn misbehaving(mode: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/stores/misbehaving.py");
    format!("python3 {} {mode}", script.display())
}

const NETWORK: &str = "drop,duplicate,delay,partition";

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn the_durable_python_store_passes_network_faults_and_crashes_the_same_way_twice() {
    let bin = example("python");
    let faults = format!("{NETWORK},crash");
    let (code, out, err) =
        sim(&["sweep", "--seeds", "0..6", "--txns", "150", "--faults", &faults, "--bin", &bin]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("seeds run: 6, failed: 0"), "{out}");
    assert!(out.contains("marks: none (a store binary offers no coverage marks)"), "{out}");
    // `sim run` runs a binary twice and compares, by default.
    let (code, out, err) =
        sim(&["--seed", "3", "--txns", "150", "--faults", &faults, "--bin", &bin]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("determinism: 2 runs compared"), "{out}");
    assert!(out.contains("store: --bin 'python3 "), "{out}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn the_naive_python_store_is_caught_replaying_a_duplicated_commit() {
    let (code, out, err) = sim(&[
        "sweep",
        "--seeds",
        "0..10",
        "--txns",
        "150",
        "--faults",
        "duplicate",
        "--bin",
        &example("python-naive"),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAILED seed"), "{out}");
    assert!(out.contains("rerun it with: cargo run -p sim -- --seed"), "{out}");
    assert!(!out.contains("add to seeds/"), "a binary's failure is not the shipped store's: {out}");
    assert!(!out.contains("nondeterminism"), "the naive store is deterministic: {out}");
}

#[test]
#[cfg_attr(
    not(sim_has_node),
    ignore = "no node when sim was built: apt-get install -y nodejs, then touch sim/build.rs"
)]
fn the_nodejs_store_passes_network_faults() {
    let (code, out, err) = sim(&[
        "sweep",
        "--seeds",
        "0..4",
        "--txns",
        "150",
        "--faults",
        NETWORK,
        "--bin",
        &example("node"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn a_node_that_never_flushes_is_told_how_to_flush() {
    let (code, out, _) = sim(&["--seed", "1", "--txns", "20", "--bin", &misbehaving("unflushed")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("answered nothing to `init` before going idle"), "{out}");
    assert!(out.contains("print(..., flush=True)"), "{out}");
    // One that flushes its init_ok by hand, and nothing else, shows at the end.
    let (code, out, _) =
        sim(&["--seed", "1", "--txns", "20", "--bin", &misbehaving("init-flushed")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("only once its input closed"), "{out}");
    assert!(out.contains("(the first: {\"src\": \"n1\""), "{out}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn a_nondeterministic_node_is_named_with_the_first_step_that_differs() {
    let (code, out, err) = sim(&[
        "--seed",
        "1",
        "--txns",
        "20",
        "--faults",
        "none",
        "--bin",
        &misbehaving("random-ids"),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("NONDETERMINISM: the runs diverge at trace event"), "{err}");
    assert!(err.contains("occ_begin_ok") && err.contains("usual suspects"), "{err}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn a_node_that_writes_on_a_wall_clock_timer_is_caught_writing_between_steps() {
    let bin = misbehaving("timer");
    let (code, out, err) =
        sim(&["--seed", "1", "--nodes", "3", "--txns", "300", "--faults", "none", "--bin", &bin]);
    assert!(code == 1 || code == 2, "{out}{err}");
    let said = format!("{out}{err}");
    assert!(said.contains("it wrote between two steps, with no message to answer"), "{said}");
    assert!(said.contains("threads in timed waits when it last settled"), "{said}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn a_node_that_fails_differently_each_time_is_reported_by_a_sweep_as_nondeterminism() {
    let starts = std::env::temp_dir().join(format!("sim-flaky-starts-{}", std::process::id()));
    let (code, out, err) = sim(&[
        "sweep",
        "--seeds",
        "0..2",
        "--txns",
        "30",
        "--faults",
        "none",
        "--bin",
        &misbehaving(&format!("flaky {}", starts.display())),
    ]);
    let _ = std::fs::remove_file(&starts);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("NONDETERMINISM: the same seed ran twice differently"), "{out}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn a_node_that_exits_or_writes_what_is_not_a_message_stops_the_run_in_words() {
    let (code, out, _) = sim(&["--seed", "1", "--txns", "20", "--bin", &misbehaving("exits")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the process exited (exit status: 3)"), "{out}");
    let (code, out, _) = sim(&["--seed", "1", "--txns", "20", "--bin", &misbehaving("chatter")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("it wrote a line that is not a message"), "{out}");
    assert!(out.contains("DEBUG: begin"), "{out}");
    assert!(!out.contains("FAILED: anomalies"), "a process's trouble is not an anomaly: {out}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn what_only_the_shipped_store_has_is_refused_for_a_binary() {
    let bin = misbehaving("correct");
    let (code, _, err) = sim(&["--seed", "1", "--faults", "disk", "--bin", &bin]);
    assert_eq!(code, 2);
    assert!(err.contains("--faults disk cannot apply to --bin"), "{err}");
    let (code, _, err) = sim(&["--seed", "1", "--bug", "skip-validation", "--bin", &bin]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot apply to --bin"), "{err}");
    let (code, _, err) = sim(&["sweep", "--seeds", "0..1", "--require-marks", "--bin", &bin]);
    assert_eq!(code, 2);
    assert!(err.contains("no coverage marks"), "{err}");
    // `all` is every family that applies: the disk is left out, and said.
    let (code, out, err) = sim(&["--seed", "1", "--txns", "30", "--faults", "all", "--bin", &bin]);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(out.contains("left out for a binary: the disk fault family"), "{out}");
    assert!(out.contains("disk: off"), "{out}");
}

#[test]
#[cfg_attr(
    not(sim_has_python),
    ignore = "no python3 when sim was built: apt-get install -y python3, then touch sim/build.rs"
)]
fn a_store_that_answers_commits_as_the_seed_task_does_is_tested_with_weaker_checks_said() {
    // `committed` and `new_version` only: the versions are derived where the protocol
    // proves them, and the report says which checks were weaker.
    let bin = misbehaving("seed-shape");
    for workload in ["counter", "bank"] {
        let (code, out, err) = sim(&[
            "sweep",
            "--seeds",
            "0..3",
            "--txns",
            "120",
            "--workload",
            workload,
            "--faults",
            "drop,duplicate",
            "--bin",
            &bin,
        ]);
        assert_eq!(code, 0, "{workload}: {out}{err}");
    }
    let (code, out, err) =
        sim(&["--seed", "1", "--txns", "120", "--workload", "counter", "--bin", &bin]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("weaker checks: "), "{out}");
    assert!(out.contains("had their versions derived from the versions they read"), "{out}");
}
