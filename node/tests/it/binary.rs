//! The `occ-node` driver itself: flags, exit codes, line handling, flushing.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::{reply_to, run_with, INIT};

#[test]
fn help_documents_the_flags_and_exits_0() {
    // Proves --help prints usage with both TTL flags and succeeds.
    let run = Command::new(env!("CARGO_BIN_EXE_occ-node")).arg("--help").output().expect("run");
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0));
    assert!(text.contains("--txn-ttl-ms") && text.contains("--outcome-ttl-ms"), "{text}");
}

#[test]
fn version_prints_the_name_and_version_and_exits_0() {
    // Proves occ-node answers --version (and -V) like sim does.
    for flag in ["--version", "-V"] {
        let run = Command::new(env!("CARGO_BIN_EXE_occ-node")).arg(flag).output().expect("run");
        assert_eq!(run.status.code(), Some(0), "{flag}");
        let text = String::from_utf8_lossy(&run.stdout);
        assert_eq!(text, concat!("occ-node ", env!("CARGO_PKG_VERSION"), "\n"), "{flag}");
    }
}

#[test]
fn a_full_stdout_is_reported_on_stderr_with_exit_1() {
    // Proves a failed write says what failed (writing stdout) and why.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .stdin(Stdio::piped())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn occ-node");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let _ = stdin.write_all(format!("{INIT}\n").as_bytes());
    drop(stdin);
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("occ-node: writing stdout: No space left on device"), "{stderr}");
}

#[test]
fn bad_flags_are_refused_with_exit_code_2() {
    // Proves unknown flags, missing and non-numeric values each fail clearly with code 2.
    for (args, why) in [
        (&["--frobnicate"][..], "unknown argument `--frobnicate`"),
        (&["--txn-ttl-ms"][..], "--txn-ttl-ms needs a value"),
        (&["--outcome-ttl-ms", "soon"][..], "`soon` is not a whole number"),
        (&["--txn-ttl-ms=-5"][..], "`-5` is not a whole number"),
        (
            &["--outcome-ttl-ms", "18446744073709551616"][..],
            "ms is too large (at most 18446744073709551)",
        ),
        (&["--txn-ttl-ms", "18446744073709552"][..], "18446744073709552 ms is too large"),
    ] {
        let run = run_with(args, &[]);
        assert_eq!(run.code, Some(2), "{args:?}");
        assert!(run.stderr.contains(why), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn blank_lines_crlf_and_a_last_line_without_newline_are_handled() {
    // Proves the line reader's edge cases: blank lines skipped silently, CRLF accepted, and
    // a final unterminated line still served.
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = format!(
        "{INIT}\r\n\n   \n{}",
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#
    );
    stdin.write_all(input.as_bytes()).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(reply_to(&lines, 2)["txn_id"], "t1");
}

#[test]
fn replies_are_flushed_while_stdin_stays_open() {
    // Proves an interactive client gets each reply without closing stdin: output is
    // flushed whenever the input is drained.
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    for (i, request) in [INIT, r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#]
        .iter()
        .enumerate()
    {
        writeln!(stdin, "{request}").expect("write");
        stdin.flush().expect("flush");
        line.clear();
        // Blocks until the reply arrives; if occ-node did not flush, the test would hang
        // and be killed by the harness rather than pass.
        stdout.read_line(&mut line).expect("read reply");
        let reply: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(reply["body"]["in_reply_to"], i as u64 + 1);
    }
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

#[test]
fn invalid_utf8_is_reported_and_skipped() {
    // Proves a line of invalid UTF-8 is a per-line error, not a fatal I/O error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_occ-node"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(INIT.as_bytes()).expect("write");
    stdin.write_all(b"\n\xff\xfe\n").expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: invalid UTF-8"));
    assert_eq!(out.stdout.iter().filter(|&&b| b == b'\n').count(), 1, "only init is answered");
}
