//! `sim sweep` and `sim replay` through the real binary.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().expect("sim runs")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("one JSON object on stdout")
}

const SMALL: &[&str] = &["--txns", "30", "--clients", "3"];

fn sweep(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["sweep", "--json"];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(extra);
    let output = sim(&args);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    json(&output)
}

#[test]
fn per_seed_results_do_not_depend_on_jobs() {
    // One thread or four, every seed runs the same: the fingerprints match position by position.
    let one = sweep(&["--seeds", "0..24", "--jobs", "1"]);
    let four = sweep(&["--seeds", "0..24", "--jobs", "4"]);
    assert_eq!(one["fingerprints"], four["fingerprints"]);
    assert_eq!(one["fingerprints_digest"], four["fingerprints_digest"]);
    assert_eq!(one["seeds_run"], 24);
}

#[test]
fn shards_split_a_range_exactly_once_with_the_same_results() {
    // Three shards of 0..20 together run each seed once, and each as the whole sweep does.
    let whole = sweep(&["--seeds", "0..20", "--jobs", "2"]);
    let mut pieces: Vec<serde_json::Value> = (1..=3)
        .flat_map(|i| {
            let shard = format!("{i}/3");
            let part = sweep(&["--seeds", "0..20", "--shard", &shard]);
            part["fingerprints"].as_array().unwrap().clone()
        })
        .collect();
    pieces.sort_by_key(|pair| pair[0].as_u64().unwrap());
    assert_eq!(serde_json::Value::Array(pieces), whole["fingerprints"]);
}

#[test]
fn a_range_of_every_seed_streams_and_stops_at_the_seed_budget() {
    // Proves seeds stream: 0..2^64-1 (which once grew 300 MB/s until OOM) starts at once
    // in a little memory, and --max-seeds ends it after the first N seeds of the shard.
    let script = r#"ulimit -v 262144 && exec "$0" "$@""#;
    let output = Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_sim"), "sweep", "--json"])
        .args(SMALL)
        .args(["--seeds", "0..18446744073709551615", "--shard", "3/1000000000000"])
        .args(["--max-seeds", "3", "--jobs", "2"])
        .output()
        .expect("sh runs");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = json(&output);
    assert_eq!(summary["seeds_run"], 3);
    assert_eq!(
        summary["seeds_not_run"],
        18_446_745u64 - 3,
        "2 + k * 10^12 < 2^64 - 1 for k <= 18,446,744"
    );
    let seeds: Vec<u64> = summary["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_u64().unwrap())
        .collect();
    assert_eq!(seeds, [2, 1_000_000_000_002, 2_000_000_000_002]);
    let text =
        sim(&["sweep", "--seeds", "0..18446744073709551615", "--max-seeds", "2", "--txns", "20"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("seeds run: 2, failed: 0\nstopped after --max-seeds 2: 18446744073709551613 seeds not run"), "{text}");
}

#[test]
fn the_text_summary_reports_counts_rates_and_the_slowest_seed() {
    let output = sim(&["sweep", "--seeds", "5..=9", "--txns", "20"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("seeds run: 5, failed: 0"), "{text}");
    assert!(text.contains("seeds/s") && text.contains("simulated txns/s"), "{text}");
    assert!(text.contains("slowest: seed "), "{text}");
}

#[test]
fn bad_sweep_flags_exit_2() {
    for (args, needle) in [
        (&["sweep", "--seeds", "9..3"][..], "empty"),
        (&["sweep", "--seeds", "0..9", "--shard", "4/3"], "`4/3`"),
        (&["sweep", "--seeds", "0..9", "--jobs", "0"], "--jobs"),
    ] {
        let output = sim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn replay_reruns_seed_files_and_reports_bad_lines_with_their_place() {
    let dir = std::env::temp_dir().join(format!("sim-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.txt");
    std::fs::write(&good, "# comment\n\n3 --txns 10 --faults all # a note\n").unwrap();
    let output = sim(&["replay", good.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("replayed 1 seeds: 1 passed, 0 failed")
    );
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "3 --txns 10\n4 --workload nope\n").unwrap();
    let output = sim(&["replay", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.txt:2: ") && stderr.contains("unknown workload"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_sweep_or_replay_that_runs_no_seed_fails_unless_told_to_expect_it() {
    // Proves a CI matrix wider than its range, or an empty seeds directory, is an error
    // (exit 2), and --allow-empty turns it into the green run it then is.
    let empty_shard = ["sweep", "--seeds", "0..3", "--shard", "5/5"];
    let output = sim(&empty_shard);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("0..3 hold no seed for shard 5/5") && stderr.contains("--allow-empty"));
    let output = sim(&[&empty_shard[..], &["--allow-empty"]].concat());
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("seeds run: 0, failed: 0"));
    let dir = std::env::temp_dir().join(format!("sim-replay-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = sim(&["replay", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("records no seed"));
    assert_eq!(sim(&["replay", dir.to_str().unwrap(), "--allow-empty"]).status.code(), Some(0));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_signal_ends_a_sweep_with_the_summary_of_what_ran() {
    // Proves SIGINT and SIGTERM (Ctrl-C, a CI cancel) stop a sweep that would run for
    // hours, print what ran so far with a distinct exit code, and lose no failure found.
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(["sweep", "--seeds", "0..100000000", "--jobs", "2", "--bug", "skip-validation"])
            .args(SMALL)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Signalled once a failure is found (the progress lines say so on stderr).
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("FAILED") {
            line.clear();
            assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0);
        }
        // The rest of stderr is drained, so that the sweep never blocks writing it.
        #[allow(clippy::disallowed_methods)] // A test's pipe reader, not a simulated run.
        let drain = std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let kill =
            Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
        assert!(kill.unwrap().success());
        let output = child.wait_with_output().unwrap();
        drain.join().unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(code), "SIG{signal}: {stdout}");
        assert!(stdout.contains(&format!("interrupted by SIG{signal} after ")), "{stdout}");
        assert!(stdout.contains("FAILED seed ") && stdout.contains("reproduce: "), "{stdout}");
    }
}

#[test]
fn every_recorded_seed_in_seeds_passes_now() {
    // The regression suite: each seed that ever failed must pass today.
    let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/../seeds");
    let lines = sim::hunt::seeds::load(std::path::Path::new(seeds)).expect("seeds/ parses");
    assert!(!lines.is_empty(), "seeds/ holds the seeds that ever failed");
    for line in lines {
        let outcome = sim::hunt::outcome::evaluate(&line.config);
        assert_eq!(
            outcome.failure(),
            None,
            "{}:{} (seed {}: {}) fails again",
            line.file.display(),
            line.line,
            line.config.seed,
            line.note
        );
    }
}

#[test]
fn a_sweep_counts_coverage_marks_and_can_require_every_one() {
    // With every family on, each mark of the store is hit within a few seeds; on a clean
    // network nothing expires, and --require-marks says which marks no seed reached.
    let all = sim_sweep(&["--seeds", "0..40", "--faults", "all", "--require-marks"]);
    let text = String::from_utf8_lossy(&all.stdout);
    assert_eq!(all.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&all.stderr));
    for mark in node::marks::Mark::ALL {
        assert!(text.contains(&format!("{} ", mark.name())), "{} missing: {text}", mark.name());
    }
    assert!(!text.contains("never hit"), "{text}");
    let clean = sim_sweep(&["--seeds", "0..4", "--faults", "none", "--require-marks"]);
    let stderr = String::from_utf8_lossy(&clean.stderr);
    assert_eq!(clean.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("never hit in 4 seeds") && stderr.contains("txn-expired"), "{stderr}");
}

fn sim_sweep(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("sweep")
        .args(args)
        .output()
        .expect("sim runs")
}

#[test]
fn a_sweep_that_draws_node_counts_names_each_failing_seeds_own_nodes() {
    // --draw-nodes 2..=16: the seed alone picks the cluster's size; each failing seed's
    // reproduce command names that --nodes, and running it fails the same run again
    // (same fingerprint). Runs of one node and of clusters both occur over a few seeds.
    let output = sim(&[
        "sweep",
        "--json",
        "--seeds",
        "0..4",
        "--draw-nodes",
        "2..=16",
        "--txns",
        "30",
        "--bug",
        "self-in-sorted-ids",
    ]);
    let summary = json(&output);
    assert!(summary["flags"].as_str().unwrap().starts_with("--draw-nodes 2..=16 "), "{summary}");
    let failed = summary["failed"].as_array().expect("failures");
    assert!(!failed.is_empty(), "{summary}");
    for failure in failed {
        let repro = failure["reproduce"].as_str().unwrap();
        let seed = failure["seed"].as_u64().unwrap();
        let nodes = sim::hunt::sweep::NodeRange { min: 2, max: 16 }.draw(seed);
        assert!(repro.contains(&format!(" --nodes {nodes} ")), "{repro}");
        let args: Vec<&str> = repro.split(' ').skip_while(|a| *a != "--seed").collect();
        let rerun = sim(&[&["run"], &args[..]].concat());
        let text = String::from_utf8_lossy(&rerun.stdout);
        assert_eq!(rerun.status.code(), Some(1), "{text}");
        assert!(text.contains(failure["fingerprint"].as_str().unwrap()), "{repro}: {text}");
    }
    let counts: std::collections::BTreeSet<u32> =
        (0..40).map(|seed| sim::hunt::sweep::NodeRange { min: 1, max: 16 }.draw(seed)).collect();
    assert!(counts.contains(&1) && counts.len() > 10, "{counts:?}");
    let both = sim(&["sweep", "--seeds", "0..2", "--draw-nodes", "1..=4", "--nodes", "3"]);
    assert_eq!(both.status.code(), Some(2), "--draw-nodes replaces --nodes");
}
