//! `sim run` through the real binary: output shape, exit codes, files it writes.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().expect("sim runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

fn fingerprint_line(text: &str) -> &str {
    text.lines().find(|l| l.starts_with("fingerprint: ")).expect("a fingerprint line")
}

#[test]
fn run_is_the_default_subcommand_and_prints_the_summary_in_order() {
    // `sim --seed 7` and `sim run --seed 7` are the same run, reported in the documented order.
    let short = sim(&["--seed", "7"]);
    let long = sim(&["run", "--seed", "7"]);
    assert_eq!(stdout(&short), stdout(&long));
    let text = stdout(&short);
    let order = [
        "seed 7:",
        "faults (swarm):",
        "logical transactions:",
        "attempts (",
        "history:",
        "messages:",
        "virtual time:",
        "fingerprint:",
    ];
    let mut position = 0;
    for prefix in order {
        let found = text[position..]
            .find(prefix)
            .unwrap_or_else(|| panic!("no `{prefix}` after byte {position} in:\n{text}"));
        position += found;
    }
    let hex = fingerprint_line(&text).trim_start_matches("fingerprint: ");
    assert_eq!(hex.len(), 16);
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn hex_and_decimal_seeds_name_the_same_run() {
    let decimal = stdout(&sim(&["--seed", "255", "--txns", "40"]));
    let hex = stdout(&sim(&["--seed", "0xff", "--txns", "40"]));
    assert_eq!(fingerprint_line(&decimal), fingerprint_line(&hex));
}

#[test]
fn the_binary_prints_the_same_fingerprint_on_every_run() {
    let first = stdout(&sim(&["--seed", "99", "--faults", "all"]));
    let second = stdout(&sim(&["--seed", "99", "--faults", "all"]));
    assert_eq!(first, second);
}

#[test]
fn bad_flags_exit_2_with_a_message_naming_the_problem() {
    for (args, needle) in [
        (&["--seed", "x1"][..], "`x1` is not a u64 seed"),
        (&["--seed", "1", "--workload", "queue"], "unknown workload `queue`"),
        (&["--seed", "1", "--faults", "drop,fire"], "unknown fault family `fire`"),
        (&["--seed", "1", "--clients", "0"], "--clients"),
        (&["run"], "--seed"),
    ] {
        let output = sim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: stderr lacks `{needle}`:\n{stderr}");
    }
}

#[test]
fn history_and_trace_files_are_written() {
    let dir = std::env::temp_dir().join(format!("sim-run-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let history = dir.join("history.jsonl");
    let trace = dir.join("trace.txt");
    let output = sim(&[
        "--seed",
        "3",
        "--txns",
        "30",
        "--faults",
        "all",
        "--history",
        history.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stdout(&output));
    let history = std::fs::read_to_string(&history).unwrap();
    let events: Vec<workloads::history::Event> =
        history.lines().map(|l| serde_json::from_str(l).expect("a history event")).collect();
    assert!(events.len() >= 60, "30 transactions give at least 60 events");
    let trace = std::fs::read_to_string(&trace).unwrap();
    assert!(trace.lines().any(|l| l.contains(" delivered c1 -> n1 ")), "{trace}");
    let unwritable = sim(&["--seed", "3", "--txns", "5", "--history", "/nonexistent/dir/h.jsonl"]);
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unwritable.stderr).contains("/nonexistent/dir/h.jsonl"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_determinism_runs_twice_and_passes_for_a_deterministic_run() {
    // The divergence finder itself is unit-tested; here the flag runs end to end.
    let output = sim(&["--seed", "5", "--faults", "all", "--txns", "60", "--check-determinism"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("NONDETERMINISM"));
}

#[test]
fn a_thousand_clients_run_in_memory_linear_in_the_processes() {
    // Proves the network holds no processes² tables: 1,000 clients and 2,000 transactions
    // fit in 160 MiB of address space (the square tables alone took 330 MB; the run needs
    // about 20 MB).
    let script = r#"ulimit -v 163840 && exec "$0" "$@""#;
    let args = ["--seed", "1", "--clients", "1000", "--txns", "2000", "--faults", "all"];
    let output = Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_sim")])
        .args(args)
        .output()
        .expect("sh runs");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout(&output).contains("seed 1: workload mixed, 1000 clients"));
}

/// A fresh directory for one test's files, under cargo's scratch space.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_replay_file_gets_the_limits_of_the_flags_and_exits_2_naming_what_is_wrong() {
    // Proves a replay file cannot get around the flags' validation: 100,000 clients, a
    // keep naming a client or a program that does not exist are refused before the run.
    let dir = scratch("replay-limits");
    let base = r#""seed": 1, "workload": "mixed", "txns": 10, "keys": 5, "faults": "none""#;
    for (body, needle) in [
        (
            r#""clients": 100000"#,
            "`clients` is 100000, outside 1 to 1000 (the limits of --clients)",
        ),
        (
            r#""clients": 3, "keep": {"9": [0]}"#,
            "`keep` names client 9, but the run has clients 1 to 3",
        ),
        (r#""clients": 3, "keep": {"2": [7]}"#, "`keep` names program 7 of client 2"),
    ] {
        let path = dir.join("bad.json");
        std::fs::write(&path, format!("{{{base}, {body}}}")).unwrap();
        let output = sim(&["run", "--replay", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{body}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()) && stderr.contains(needle), "{stderr}");
        assert!(!stderr.contains("panicked") && output.stdout.is_empty(), "{stderr}");
    }
    let good = dir.join("good.json");
    std::fs::write(&good, format!("{{{base}, \"clients\": 3, \"keep\": {{\"1\": [3]}}}}")).unwrap();
    let output = sim(&["run", "--replay", good.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn txns_beyond_a_million_are_refused_with_exit_2() {
    // Proves --txns is bounded (it once took u64::MAX and grew without end).
    for txns in ["1000001", "18446744073709551615", "0"] {
        let output = sim(&["--seed", "1", "--txns", txns]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "--txns {txns}: {stderr}");
        assert!(stderr.contains("--txns") && stderr.contains("1..=1000000"), "{stderr}");
    }
    let largest = sim(&["--seed", "1", "--txns", "1000000", "--help"]);
    assert!(stdout(&largest).contains("1 to 1,000,000"), "--help documents the bound");
}

#[test]
fn an_unwritable_output_path_fails_before_the_run_naming_the_path_and_the_reason() {
    // Proves --history, --trace and --report are checked first: exit 2, no run, and the
    // message says which file and why.
    for flag in ["--history", "--trace", "--report"] {
        let output = sim(&["--seed", "3", "--txns", "5", flag, "/nonexistent/dir/out.txt"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert!(output.stdout.is_empty(), "{flag}: the run went ahead: {}", stdout(&output));
        assert!(
            stderr.contains("/nonexistent/dir/out.txt: No such file or directory"),
            "{flag}: {stderr}"
        );
    }
}

#[test]
fn an_output_error_after_the_run_never_hides_the_verdict() {
    // Proves a file that fails to write (/dev/full opens, then refuses every byte) is
    // reported after the verdict: a failing run still exits 1, a passing run exits 2.
    let failing = ["--seed", "0", "--txns", "100", "--bug", "skip-validation"];
    let output = sim(&[&failing[..], &["--history", "/dev/full"]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stdout(&output).contains("FAILED: anomalies"), "{}", stdout(&output));
    assert!(
        stderr.contains("cannot write the history to /dev/full: No space left on device"),
        "{stderr}"
    );
    let output = sim(&["--seed", "1", "--txns", "20", "--trace", "/dev/full"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stdout(&output).contains("fingerprint: "), "the summary still comes first");
    assert!(stderr.contains("cannot write the trace to /dev/full"), "{stderr}");
}

#[test]
fn a_full_stdout_is_reported_on_stderr_with_exit_2() {
    // Proves `sim --seed 1 > /dev/full` no longer exits 2 without a word.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let output = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["--seed", "1", "--txns", "20"])
        .stdout(full)
        .output()
        .expect("sim runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sim: writing stdout: No space left on device"), "{stderr}");
}

#[test]
fn every_output_flag_follows_one_rule_for_existing_and_shared_files() {
    // Proves no command overwrites a file silently or writes two outputs into one file:
    // an existing file is refused (exit 2, untouched) unless --force; two flags naming one
    // file (even by different paths) are refused; devices like /dev/null are always fine.
    let dir = std::env::temp_dir().join(format!("sim-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kept = dir.join("kept.txt");
    let kept = kept.to_str().unwrap();
    let history = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/histories/g0_write_cycle.jsonl");
    let run = ["--seed", "3", "--txns", "5"];
    let replay = dir.join("shrunk.json").to_string_lossy().into_owned();
    let cases: [Vec<&str>; 6] = [
        [&run[..], &["--history", kept]].concat(),
        [&run[..], &["--trace", kept]].concat(),
        [&run[..], &["--report", kept]].concat(),
        [&run[..], &["--html", kept]].concat(),
        vec!["check", history, "--html", kept],
        vec!["shrink", "--seed", "0", "--txns", "60", "--bug", "bump-per-write", "--html", kept]
            .into_iter()
            .chain(["--out", replay.as_str()])
            .collect(),
    ];
    for args in &cases {
        std::fs::write(kept, "keep me\n").unwrap();
        let output = sim(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("kept.txt exists: pass --force to overwrite it"), "{stderr}");
        assert_eq!(std::fs::read_to_string(kept).unwrap(), "keep me\n", "{args:?}");
        let forced = sim(&[&args[..], &["--force"]].concat());
        assert!(forced.status.code().is_some_and(|c| c < 2), "{args:?}");
        assert_ne!(std::fs::read_to_string(kept).unwrap(), "keep me\n", "{args:?}");
    }
    let one = dir.join("one.html");
    let same =
        format!("{}/../{}/one.html", dir.display(), dir.file_name().unwrap().to_str().unwrap());
    let output = sim(&[&run[..], &["--html", one.to_str().unwrap(), "--history", &same]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the history (") && stderr.contains("are one file"), "{stderr}");
    assert!(!one.exists(), "nothing was written");
    let output = sim(&[&run[..], &["--history", "/dev/null", "--trace", "/dev/null"]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_run_larger_than_memory_is_refused_up_front_with_the_estimate() {
    // Proves the largest run the flags allow (about 170 GB) is refused at once, with the
    // estimate and what would fit, by run, sweep (per job) and shrink; --help says so.
    let largest = ["--txns", "1000000", "--clients", "1000", "--keys", "100000"];
    for command in
        [&["run", "--seed", "1"][..], &["sweep", "--seeds", "0..4"], &["shrink", "--seed", "1"]]
    {
        let output = sim(&[command, &largest[..]].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("GiB in memory, over the 16.0 GiB a run may use"), "{stderr}");
        assert!(stderr.contains("transactions fit (--txns"), "{stderr}");
        assert!(output.stdout.is_empty(), "{command:?} ran");
    }
    let help = sim(&["--help"]);
    assert!(stdout(&help).contains("estimated memory passes 16 GiB"));
}

#[test]
fn help_states_every_limit_and_the_trace_format() {
    // Proves row 13 of issue 19: `sim --help` names --nodes among the limits and the
    // exit codes past 2; `sim run --help` says what a trace line holds, in which unit.
    let help = stdout(&sim(&["--help"]));
    for needle in ["--nodes 1 to 16", "--clients 1 to 1,000", "3 (sim check)", "130 / 143"] {
        assert!(help.contains(needle), "sim --help lacks `{needle}`:\n{help}");
    }
    let run_help = stdout(&sim(&["run", "--help"]));
    assert!(run_help.contains("virtual time in µs"), "{run_help}");
    assert!(run_help.contains("crash: store nodes crash"), "--faults names crash: {run_help}");
}
