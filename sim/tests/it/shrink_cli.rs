//! `sim shrink` through the real binary: the replay files it writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `sim` in `dir`, where a shrink writes its default replay file.
fn sim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).current_dir(dir).args(args).output().expect("sim runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Shrinks seed 0 with `bug` (each shrinks to a replay file in well under a second).
fn shrink(dir: &Path, bug: &str, extra: &[&str]) -> (Output, String) {
    let mut args = vec!["shrink", "--seed", "0", "--txns", "60", "--bug", bug];
    args.extend_from_slice(extra);
    let output = sim_in(dir, &args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

#[test]
fn a_second_shrink_of_the_same_seed_writes_a_fresh_file_and_says_so() {
    // Proves shrink never overwrites an earlier shrink's replay file (another bug, same
    // seed): the second gets shrunk-0-2.json, the first file is untouched, and each run
    // replays from the file it names.
    let dir = scratch("shrink-fresh-names");
    let (first, text) = shrink(&dir, "bump-per-write", &[]);
    assert_eq!(first.status.code(), Some(1), "{text}");
    assert!(text.contains("wrote replay file shrunk-0.json\n"), "{text}");
    let before = std::fs::read_to_string(dir.join("shrunk-0.json")).unwrap();
    let (second, text) = shrink(&dir, "no-bump-on-blind-write", &[]);
    assert_eq!(second.status.code(), Some(1), "{text}");
    assert!(text.contains("wrote replay file shrunk-0-2.json (shrunk-0.json exists"), "{text}");
    assert!(text.contains("run --replay shrunk-0-2.json"), "{text}");
    assert_eq!(std::fs::read_to_string(dir.join("shrunk-0.json")).unwrap(), before);
    for (file, bug) in
        [("shrunk-0.json", "bump-per-write"), ("shrunk-0-2.json", "no-bump-on-blind-write")]
    {
        let replay = sim_in(&dir, &["run", "--replay", file]);
        assert_eq!(replay.status.code(), Some(1), "{file} replays the failure");
        let json = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(json.contains(&format!("\"bug\": \"{bug}\"")), "{file} is {bug}'s: {json}");
    }
}

#[test]
fn an_existing_out_file_is_refused_before_shrinking_unless_forced() {
    // Proves --out never overwrites silently: without --force it exits 2 at once, with
    // --force it overwrites and says so.
    let dir = scratch("shrink-out-force");
    let out = dir.join("mine.json");
    std::fs::write(&out, "keep me\n").unwrap();
    let (refused, text) = shrink(&dir, "bump-per-write", &["--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mine.json exists: pass --force"), "{stderr}");
    assert!(text.is_empty(), "nothing was shrunk: {text}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me\n");
    let (forced, text) =
        shrink(&dir, "bump-per-write", &["--out", out.to_str().unwrap(), "--force"]);
    assert_eq!(forced.status.code(), Some(1), "{text}");
    assert!(text.contains("overwrote replay file ") && text.contains("(--force)"), "{text}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"bug\": \"bump-per-write\""));
    let unwritable = shrink(&dir, "bump-per-write", &["--out", "/nonexistent/dir/s.json"]).0;
    let stderr = String::from_utf8_lossy(&unwritable.stderr);
    assert_eq!(unwritable.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/dir/s.json: No such file or directory"), "{stderr}");
}

#[test]
fn a_shrunk_durability_bug_names_the_one_crash_that_matters_and_replays_to_its_fingerprint() {
    // Issue 20: ids-reset-on-restart's seed 1 once shrank to 84 transactions carrying
    // every drop and crash of the run; now to a handful with the one crash it needs,
    // kept in the replay file's schedule, and the file reruns to the same fingerprint.
    let dir = scratch("shrink-faults");
    let out = dir.join("ids.json");
    let args = ["shrink", "--seed", "1", "--bug", "ids-reset-on-restart", "--budget-s", "0"];
    let output = sim_in(&dir, &[&args[..], &["--out", out.to_str().unwrap()]].concat());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("  1 fault matters: n1 crashed at "), "{text}");
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(file.contains(r#""crash": ["#) && file.contains(r#""hurry""#), "{file}");
    let fingerprint = |text: &str| {
        text.lines().find(|l| l.starts_with("fingerprint: ")).map(str::to_string).expect(text)
    };
    let replay = sim_in(&dir, &["run", "--replay", out.to_str().unwrap()]);
    assert_eq!(fingerprint(&String::from_utf8_lossy(&replay.stdout)), fingerprint(&text));
}

#[test]
fn a_shrunk_shape_is_named_in_the_report_and_kept_in_the_replay_file() {
    // Issue 20: replay-twice seed 1 shrinks its snapshot interval to 128 bytes (drawn:
    // 512 to 4096); the report says so in one line, the replay file records it, and the
    // file reruns to the shrunk run's fingerprint.
    let dir = scratch("shrink-shape");
    let out = dir.join("replay-twice.json");
    let args = ["shrink", "--seed", "1", "--bug", "replay-twice", "--budget-s", "0"];
    let output = sim_in(&dir, &[&args[..], &["--out", out.to_str().unwrap()]].concat());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("  the store's shape, shrunk: snapshots every 128 bytes\n"), "{text}");
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(file.contains(r#""snapshot_min_bytes": 128"#), "{file}");
    let fingerprint = |text: &str| {
        text.lines().find(|l| l.starts_with("fingerprint: ")).map(str::to_string).expect(text)
    };
    let replay = sim_in(&dir, &["run", "--replay", out.to_str().unwrap()]);
    assert_eq!(fingerprint(&String::from_utf8_lossy(&replay.stdout)), fingerprint(&text));
}
