//! `occ-node --data-dir` fed damaged, foreign, truncated and oversized logs and input:
//! each case either recovers exactly the acknowledged commits or refuses with exit 1 and
//! a message naming the file, the offset and what was found. It never panics and never
//! erases: a refused log is left byte for byte as it was, and only `--repair` moves it
//! aside.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{run_with, Run, INIT};

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("occ-node-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn commit_line(i: u64) -> String {
    format!(
        r#"{{"src":"c1","dest":"n1","body":{{"type":"occ_commit","msg_id":{},"txn_id":"w{i}","writes":[{{"key":"k{i}","value":"v{i}"}}]}}}}"#,
        i + 10
    )
}

fn read_line(i: u64) -> String {
    format!(
        r#"{{"src":"c2","dest":"n1","body":{{"type":"occ_read","msg_id":{},"txn_id":"r","key":"k{i}"}}}}"#,
        i + 1000
    )
}

fn node(dir: &Path, extra: &[&str], lines: &[&str]) -> Run {
    let mut args = vec!["--data-dir", dir.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    run_with(&args, lines)
}

/// A log of `runs` runs of the node with `per_run` commits each (`k0`, `k1`, ...): each
/// run's records are written after the last run's were synced, so they say so.
fn log_of_runs(dir: &Path, runs: u64, per_run: u64) {
    for run in 0..runs {
        let lines: Vec<String> = std::iter::once(INIT.to_string())
            .chain((run * per_run..(run + 1) * per_run).map(commit_line))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let out = node(dir, &[], &lines);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stdout[1..].iter().all(|r| r["body"]["committed"] == true));
    }
}

/// The values of `k0..kN` the node serves after recovering `dir` (None: not found).
fn values(dir: &Path, n: u64) -> Vec<Option<String>> {
    let lines: Vec<String> =
        std::iter::once(INIT.to_string()).chain((0..n).map(read_line)).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let out = node(dir, &[], &lines);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stdout[1..].iter().map(|r| r["body"]["value"].as_str().map(str::to_owned)).collect()
}

/// Starts the node on `dir` as it is: expects exit 1 naming the wal, with `found` in the
/// message, and the wal unchanged.
fn refused(dir: &Path, found: &str) -> String {
    let wal = dir.join("wal");
    let before = std::fs::read(&wal).expect("a wal");
    let out = node(dir, &[], &[INIT, &read_line(0)]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "nothing is served: {:?}", out.stdout);
    assert!(out.stderr.contains(&wal.display().to_string()), "names the file: {}", out.stderr);
    assert!(out.stderr.contains(found), "says {found:?}: {}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(std::fs::read(&wal).expect("still there"), before, "the wal was changed");
    out.stderr
}

#[test]
fn what_is_not_a_log_is_refused_never_erased_and_repair_moves_it_aside() {
    // Random bytes, a text file, a log cut inside its header, a log of another format
    // version: exit 1 at offset 0, the file untouched; `--repair` moves it aside and
    // starts empty.
    let dir = data_dir("notalog");
    log_of_runs(&dir, 1, 1);
    let good = std::fs::read(dir.join("wal")).expect("wal");
    let noise: Vec<u8> =
        (0..1_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    let mut other_version = good.clone();
    other_version[8] = 9;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (noise, "no occ-node log header: it starts with the bytes"),
        (b"hello, I am a text file\n".to_vec(), "the text \"hello, I am a te\""),
        (good[..12].to_vec(), "a log header cut short"),
        (other_version, "a log header whose checksum does not match"),
    ];
    let mut last = Vec::new();
    for (bytes, found) in cases {
        std::fs::write(dir.join("wal"), &bytes).expect("write");
        last = bytes;
        let stderr = refused(&dir, found);
        assert!(stderr.contains("damaged at offset 0"), "{stderr}");
        assert!(stderr.contains("--repair"), "says how to accept the loss: {stderr}");
    }
    let out = node(&dir, &["--repair"], &[INIT, &read_line(0)]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("wal.damaged-1"), "{}", out.stderr);
    assert_eq!(out.stdout[1]["body"]["value"], serde_json::Value::Null, "starts empty");
    assert_eq!(std::fs::read(dir.join("wal.damaged-1")).expect("moved aside"), last);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damage_in_synced_records_is_refused_and_repair_keeps_what_came_before() {
    // Three runs of four commits. A flipped bit in the first run's records: later frames
    // say the log was synced past them, so the node refuses (exit 1, the offset, what it
    // found). `--repair` keeps the records before the damage and moves the file aside.
    let dir = data_dir("synced");
    log_of_runs(&dir, 3, 4);
    let wal = dir.join("wal");
    let mut bytes = std::fs::read(&wal).expect("wal");
    let len = bytes.len();
    // Past the header and the first records: inside the first run's commits.
    let at = 200;
    bytes[at] ^= 0x08;
    std::fs::write(&wal, &bytes).expect("write");
    let stderr = refused(&dir, "the damage lies in synced records");
    assert!(stderr.contains("damaged at offset"), "{stderr}");
    let out = node(&dir, &["--repair"], &[INIT]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(std::fs::read(dir.join("wal.damaged-1")).expect("aside").len(), len);
    let kept = values(&dir, 12);
    let lost = kept.iter().filter(|v| v.is_none()).count();
    assert!(lost > 0 && kept[0].is_some(), "{kept:?}");
    // What is kept is a prefix of the commits, each exact.
    for (i, v) in kept.iter().enumerate() {
        if let Some(v) = v {
            assert_eq!(v, &format!("v{i}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unsynced_torn_or_oversized_tail_is_cut_and_every_acknowledged_commit_kept() {
    // Garbage after the last record (a frame claiming 4 GiB, zeros, a torn half frame)
    // proves nothing synced after it: cut, and every commit is served.
    let dir = data_dir("tails");
    log_of_runs(&dir, 2, 3);
    let wal = dir.join("wal");
    let whole = std::fs::read(&wal).expect("wal");
    let mut half = whole[whole.len() - 40..].to_vec();
    half.truncate(20);
    for tail in [vec![0xff; 64], vec![0; 4096], half] {
        let mut bytes = whole.clone();
        bytes.extend(&tail);
        std::fs::write(&wal, &bytes).expect("write");
        let expected: Vec<Option<String>> = (0..6).map(|i| Some(format!("v{i}"))).collect();
        assert_eq!(values(&dir, 6), expected);
        assert_eq!(std::fs::read(&wal).expect("wal").len(), whole.len(), "cut");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_log_of_another_node_or_cluster_is_refused_with_exit_1() {
    // n1's log: an init as n2, or as n1 of a three-node cluster, ends the process and
    // says whose log it is; n1 itself still starts.
    let dir = data_dir("foreign");
    log_of_runs(&dir, 1, 2);
    let before = std::fs::read(dir.join("wal")).expect("wal");
    let as_n2 = r#"{"src":"c0","dest":"n2","body":{"type":"init","msg_id":1,"node_id":"n2","node_ids":["n2"]}}"#;
    let in_cluster = r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2","n3"]}}"#;
    for init in [as_n2, in_cluster] {
        let out = node(&dir, &[], &[init, &read_line(0)]);
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(out.stderr.contains("this log belongs to node `n1` of [n1]"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    }
    assert_eq!(std::fs::read(dir.join("wal")).expect("wal"), before);
    assert_eq!(values(&dir, 2), vec![Some("v0".into()), Some("v1".into())]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_commit_past_the_limits_gets_error_12_and_logs_nothing() {
    // A 2 MiB value (the limit is 1 MiB) and a 2 KiB key are refused before anything is
    // logged: the wal does not grow.
    let dir = data_dir("limits");
    log_of_runs(&dir, 1, 1);
    let before = std::fs::metadata(dir.join("wal")).expect("wal").len();
    let big_value = format!(
        r#"{{"src":"c1","dest":"n1","body":{{"type":"occ_commit","msg_id":5,"txn_id":"big","writes":[{{"key":"k","value":"{}"}}]}}}}"#,
        "x".repeat(2 << 20)
    );
    let big_key = format!(
        r#"{{"src":"c1","dest":"n1","body":{{"type":"occ_commit","msg_id":6,"txn_id":"big2","writes":[{{"key":"{}","value":"v"}}]}}}}"#,
        "k".repeat(2048)
    );
    let out = node(&dir, &[], &[INIT, &big_value, &big_key]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for (reply, says) in out.stdout[1..].iter().zip(["the value written to `k`", "is 2048 bytes"]) {
        assert_eq!(reply["body"]["code"], 12, "{reply}");
        assert!(reply["body"]["text"].as_str().unwrap().contains(says), "{reply}");
    }
    // A restart appends one Ids record at most; no commit record was written.
    let after = std::fs::metadata(dir.join("wal")).expect("wal").len();
    assert!(after < before + 100, "{before} -> {after}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_line_past_the_limit_is_reported_and_skipped_without_being_held() {
    // 50 MB without a newline, then a good line: the long one is reported once (its line
    // number and its length so far) and again when it ends; the next line is answered.
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    // A test may use a thread: the feeder must write while the node's output is read.
    #[allow(clippy::disallowed_methods)]
    let feeder = std::thread::spawn(move || {
        stdin.write_all(INIT.as_bytes()).and_then(|()| stdin.write_all(b"\n"))?;
        let block = vec![b'x'; 1 << 20];
        for _ in 0..50 {
            stdin.write_all(&block)?;
        }
        stdin.write_all(b"\n")?;
        stdin.write_all(INIT.as_bytes())?;
        stdin.write_all(b"\n")
    });
    let out = child.wait_with_output().expect("wait");
    feeder.join().expect("feeder").expect("fed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("line 2: longer than the 33554432-byte limit"), "{stderr}");
    assert!(stderr.contains("line 2: skipped, 52428800 bytes long"), "{stderr}");
    assert_eq!(out.stdout.iter().filter(|&&b| b == b'\n').count(), 2, "both inits answered");
}
