//! `occ-node --data-dir`: the real binary, killed with SIGKILL in the middle of a stream
//! and restarted on the same directory, loses no acknowledged commit; restarts, torn
//! tails, a locked directory and bad paths behave as documented.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

use crate::{run_with, INIT};

const KEYS: u64 = 10;

/// A fresh data directory for one test.
fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("occ-node-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn spawn(dir: &Path) -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn occ-node");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    (child, stdin, stdout)
}

/// A blind commit of key `k<i % KEYS>` under the client-chosen id `w<i>`.
fn commit_line(i: u64) -> String {
    format!(
        r#"{{"src":"c1","dest":"n1","body":{{"type":"occ_commit","msg_id":{},"txn_id":"w{i}","writes":[{{"key":"k{}","value":"v{i}"}}]}}}}"#,
        i + 10,
        i % KEYS
    )
}

/// Sends each line and reads one reply per line (keep it to a few hundred lines: the
/// replies wait in a pipe until all are sent).
fn ask(
    stdin: &mut ChildStdin,
    stdout: &mut BufReader<ChildStdout>,
    lines: &[String],
) -> Vec<Value> {
    for line in lines {
        writeln!(stdin, "{line}").expect("write");
    }
    stdin.flush().expect("flush");
    lines
        .iter()
        .map(|_| {
            let mut reply = String::new();
            stdout.read_line(&mut reply).expect("read");
            serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?}: {e}"))
        })
        .collect()
}

fn read_line(key: u64, msg_id: u64) -> String {
    format!(
        r#"{{"src":"c2","dest":"n1","body":{{"type":"occ_read","msg_id":{msg_id},"txn_id":"r","key":"k{key}"}}}}"#
    )
}

#[test]
fn kill_9_in_the_middle_of_a_stream_loses_no_acknowledged_commit() {
    // Proves the issue's crash test: a writer streams 100,000 commits, the test kills the
    // node with SIGKILL once 3,000 are acknowledged (mid-stream), restarts it on the same
    // directory, and finds every acknowledged commit there, versions exact.
    let dir = data_dir("kill9");
    let (mut child, mut stdin, mut stdout) = spawn(&dir);
    writeln!(stdin, "{INIT}").expect("write init");
    // A test may use a thread: the writer must keep the pipe full while replies are read.
    #[allow(clippy::disallowed_methods)]
    let writer = std::thread::spawn(move || {
        for i in 0..100_000 {
            if writeln!(stdin, "{}", commit_line(i)).is_err() {
                return; // killed: the pipe is closed
            }
        }
    });
    let mut init_ok = String::new();
    stdout.read_line(&mut init_ok).expect("init_ok");
    // Per txn: the installed version of its key, for every acknowledged commit.
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut line = String::new();
    while acked.len() < 3_000 {
        line.clear();
        assert!(stdout.read_line(&mut line).expect("read") > 0, "occ-node stopped early");
        let reply: Value = serde_json::from_str(&line).expect("JSON");
        let body = &reply["body"];
        assert_eq!(body["committed"], true, "{reply}");
        let i = body["in_reply_to"].as_u64().expect("in_reply_to") - 10;
        acked.insert(i, body["new_version"].as_u64().expect("new_version"));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let _ = writer.join();

    let (child, mut stdin, mut stdout) = spawn(&dir);
    ask(&mut stdin, &mut stdout, &[INIT.to_string()]);
    let reads: Vec<String> = (0..KEYS).map(|k| read_line(k, 1_000 + k)).collect();
    let versions: Vec<u64> = ask(&mut stdin, &mut stdout, &reads)
        .iter()
        .map(|r| r["body"]["version"].as_u64().expect("version"))
        .collect();
    for (&i, &version) in &acked {
        let key = (i % KEYS) as usize;
        assert!(
            versions[key] >= version,
            "w{i} installed k{key}@{version}, but k{key} is at {}",
            versions[key]
        );
    }
    // Exact versions: the acknowledged commits of each key hold distinct versions, and a
    // retry of each gets its first answer (committed, the same version) from the log.
    let retries: Vec<String> = acked.keys().map(|&i| commit_line(i)).collect();
    // In chunks: replies to thousands of lines would fill the pipe before they are read.
    let replies: Vec<Value> =
        retries.chunks(200).flat_map(|chunk| ask(&mut stdin, &mut stdout, chunk)).collect();
    for (reply, (&i, &version)) in replies.iter().zip(&acked) {
        assert_eq!(reply["body"]["committed"], true, "w{i}: {reply}");
        assert_eq!(reply["body"]["new_version"], version, "w{i}: {reply}");
    }
    for key in 0..KEYS {
        let mut of_key: Vec<u64> =
            acked.iter().filter(|(i, _)| *i % KEYS == key).map(|(_, v)| *v).collect();
        let count = of_key.len();
        of_key.dedup();
        assert_eq!(of_key.len(), count, "k{key}: two acknowledged commits share a version");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("exits");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("recovered"),
        "the restart says what it recovered: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_restart_on_the_same_directory_recovers_values_ids_and_answers() {
    // Proves a clean restart: the values, the versions, a retried commit's answer and the
    // id counter (begin issues an id above every one issued before) all survive.
    let dir = data_dir("restart");
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let begin = r#"{"src":"c3","dest":"n1","body":{"type":"occ_begin","msg_id":50}}"#;
    let first =
        run_with(&["--data-dir", dir_arg], &[INIT, &commit_line(0), &commit_line(10), begin]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(first.stdout[3]["body"]["txn_id"], "t1");
    let second =
        run_with(&["--data-dir", dir_arg], &[INIT, &read_line(0, 1), &commit_line(0), begin]);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let read = &second.stdout[1]["body"];
    assert_eq!((read["value"].as_str(), read["version"].as_u64()), (Some("v10"), Some(2)));
    // The retried commit of w0 gets its first answer: committed, k0 at version 1.
    for field in ["committed", "new_version", "versions"] {
        assert_eq!(second.stdout[2]["body"][field], first.stdout[1]["body"][field], "{field}");
    }
    let id = second.stdout[3]["body"]["txn_id"].as_str().expect("an id").to_owned();
    let n: u64 = id.trim_start_matches('t').parse().expect("t<n>");
    assert!(n > 1, "the restart issued {id} again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_torn_tail_is_cut_off_and_said_on_stderr() {
    // Proves recovery on a real file: garbage after the last whole record (a torn write)
    // is cut off, reported, and everything before it is served.
    let dir = data_dir("torn");
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let first = run_with(&["--data-dir", dir_arg], &[INIT, &commit_line(3)]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let wal = dir.join("wal");
    let whole = std::fs::metadata(&wal).expect("wal").len();
    let mut file = std::fs::OpenOptions::new().append(true).open(&wal).expect("open wal");
    file.write_all(&[0x2a, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]).expect("tear");
    drop(file);
    let second = run_with(&["--data-dir", dir_arg], &[INIT, &read_line(3, 1)]);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(second.stdout[1]["body"]["value"], "v3");
    assert!(second.stderr.contains("cut 11 bytes"), "{}", second.stderr);
    assert_eq!(std::fs::metadata(&wal).expect("wal").len(), whole, "the tail is gone");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_data_dir_in_use_or_unusable_exits_1_naming_the_path() {
    // Proves the documented exit codes: a directory another occ-node holds, or a path that
    // is a file, exits 1 and names the path; a missing value exits 2.
    let dir = data_dir("locked");
    let (mut holder, mut stdin, mut stdout) = spawn(&dir);
    // The holder has the lock once it answers.
    ask(&mut stdin, &mut stdout, &[INIT.to_string()]);
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let second = run_with(&["--data-dir", dir_arg], &[INIT]);
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert!(
        second.stderr.contains("another occ-node") && second.stderr.contains("lock"),
        "{}",
        second.stderr
    );
    drop(stdin);
    holder.wait().expect("exits");

    let file = dir.join("not-a-dir");
    std::fs::write(&file, b"x").expect("a file");
    let bad = run_with(&["--data-dir", file.to_str().expect("UTF-8")], &[INIT]);
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);
    assert!(bad.stderr.contains("not-a-dir: not a directory"), "{}", bad.stderr);

    let missing = run_with(&["--data-dir"], &[]);
    assert_eq!(missing.code, Some(2), "{}", missing.stderr);
    assert!(missing.stderr.contains("--data-dir needs a value"), "{}", missing.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Keys of the 1 GiB test: 1 MiB values (the limit), 1,100 keys.
const BIG_KEYS: u64 = 1_100;
const BIG_VALUE_BYTES: usize = 1 << 20;

/// Value `i` of the 1 GiB test: its number, then filler to 1 MiB.
fn big_value(i: u64) -> String {
    let head = format!("v{i}-");
    format!("{head}{}", "x".repeat(BIG_VALUE_BYTES - head.len()))
}

#[test]
#[ignore = "writes several GiB: run with --release --ignored (figures in README)"]
fn kill_9_with_a_1_gib_state_loses_nothing_and_recovers() {
    // Proves the store holds a state past any one record's maximum: 1 MiB values to
    // 1,100 keys; SIGKILL once 1,040 (1.02 GiB) are acknowledged; the restart recovers
    // every acknowledged value whole. Prints the log's size and the recovery time.
    let dir =
        std::env::var_os("OCC_BIG_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir("1gib"));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut child, mut stdin, mut stdout) = spawn(&dir);
    writeln!(stdin, "{INIT}").expect("write init");
    #[allow(clippy::disallowed_methods)]
    let writer = std::thread::spawn(move || {
        for i in 0..BIG_KEYS {
            let line = format!(
                r#"{{"src":"c1","dest":"n1","body":{{"type":"occ_commit","msg_id":{},"txn_id":"w{i}","writes":[{{"key":"k{i}","value":"{}"}}]}}}}"#,
                i + 10,
                big_value(i)
            );
            if writeln!(stdin, "{line}").is_err() {
                return;
            }
        }
    });
    let mut line = String::new();
    stdout.read_line(&mut line).expect("init_ok");
    let mut acked = Vec::new();
    while acked.len() < 1_040 {
        line.clear();
        assert!(stdout.read_line(&mut line).expect("read") > 0, "occ-node stopped early");
        let reply: Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(reply["body"]["committed"], true, "{reply}");
        acked.push(reply["body"]["in_reply_to"].as_u64().expect("in_reply_to") - 10);
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let _ = writer.join();
    let log_bytes = std::fs::metadata(dir.join("wal")).expect("wal").len();

    #[allow(clippy::disallowed_methods)]
    let start = std::time::Instant::now();
    let (mut child, mut stdin, mut stdout) = spawn(&dir);
    ask(&mut stdin, &mut stdout, &[INIT.to_string()]);
    let recovery = start.elapsed();
    for chunk in acked.chunks(20) {
        let reads: Vec<String> = chunk.iter().map(|&i| read_line(i, 5_000 + i)).collect();
        for (reply, &i) in ask(&mut stdin, &mut stdout, &reads).iter().zip(chunk) {
            assert_eq!(reply["body"]["version"], 1, "k{i}");
            assert!(reply["body"]["value"].as_str() == Some(&big_value(i)), "k{i}: value");
        }
    }
    drop(stdin);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(child.wait().expect("exits").success(), "{stderr}");
    println!(
        "1 GiB kill -9: {} acknowledged commits of {BIG_VALUE_BYTES} bytes ({} MiB of values); \
         log {log_bytes} bytes ({:.2} GiB); restart to init_ok {:.1} s; {}",
        acked.len(),
        (acked.len() * BIG_VALUE_BYTES) >> 20,
        log_bytes as f64 / f64::from(1u32 << 30),
        recovery.as_secs_f64(),
        stderr.lines().find(|l| l.contains("recovered")).unwrap_or("")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
