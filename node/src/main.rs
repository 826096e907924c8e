//! `occ-node`: drives the OCC node over stdin/stdout, one JSON message per line.
//!
//! A thin loop: read a line, decode it, hand it to [`node::Node::handle`] with the
//! wall-clock microseconds since start as `now`, write each reply as one JSON line. Lines
//! that are not messages are reported on stderr with their line number and skipped; blank
//! lines are skipped silently. stdout carries only messages; it is buffered and flushed
//! whenever the input is drained, i.e. right before a read that might block, so an
//! interactive client always sees the replies to everything it has sent.
//!
//! The node expires state lazily on every message; the loop also calls `tick` when
//! `next_deadline` has passed. While stdin is idle nothing runs, which is fine: state
//! cannot grow without input.
//!
//! Usage: `occ-node [--txn-ttl-ms N] [--outcome-ttl-ms N]` (see `--help`, `--version`).
//!
//! Exit codes: 0 at end of input (or after `--help`, `--version`); 1 if reading stdin or
//! writing stdout fails (e.g. the reader went away), said on stderr; 2 on bad
//! command-line arguments. A bad line's message quotes at most 200 bytes of any piece of it.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::time::Instant;

use node::clip::clip;
use node::codec;
use node::protocol::Envelope;
use node::{Node, NodeConfig};

const USAGE: &str = "\
usage: occ-node [--txn-ttl-ms N] [--outcome-ttl-ms N]

Reads Maelstrom-style JSON messages, one per line, on stdin and writes the OCC node's
replies, one per line, on stdout. Diagnostics go to stderr. The protocol, its error
codes and its limits are specified in docs/protocol.md.

options:
  --txn-ttl-ms N      forget a transaction not committed within N ms of its begin
                      (default 10000)
  --outcome-ttl-ms N  remember a commit's answer for retries for N ms (default 60000)
  -h, --help          print this help
  -V, --version       print the version

exit codes: 0 end of input, 1 I/O error, 2 bad arguments";

/// Flush stdout once this much output is pending even if input keeps coming.
const OUT_CHUNK_BYTES: usize = 64 * 1024;

/// What the command line asks for.
enum Request {
    Serve(NodeConfig),
    Help,
    Version,
}

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Request::Serve(config)) => config,
        Ok(Request::Help) => return print_exit(USAGE),
        Ok(Request::Version) => {
            return print_exit(concat!("occ-node ", env!("CARGO_PKG_VERSION")));
        }
        Err(message) => {
            eprintln!("occ-node: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("occ-node: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints `text` and a newline on stdout: exit 0, or 1 saying why it could not.
fn print_exit(text: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "occ-node: writing stdout: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Request, String> {
    let mut config = NodeConfig::default();
    let mut args = args;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let target = match flag.as_str() {
            "-h" | "--help" => return Ok(Request::Help),
            "-V" | "--version" => return Ok(Request::Version),
            "--txn-ttl-ms" => &mut config.txn_ttl_us,
            "--outcome-ttl-ms" => &mut config.outcome_ttl_us,
            _ => return Err(format!("unknown argument `{}`", clip(&flag))),
        };
        let value = inline.or_else(|| args.next()).ok_or(format!("{flag} needs a value"))?;
        let ms: u64 = value.parse().map_err(|_| {
            format!("{flag}: `{}` is not a whole number of milliseconds", clip(&value))
        })?;
        *target = ms.checked_mul(1000).ok_or(format!("{flag}: {ms} ms is too large"))?;
    }
    Ok(Request::Serve(config))
}

fn run(config: NodeConfig) -> io::Result<()> {
    // The one wall clock in the workspace: occ-node runs in real time, so `now` is real
    // time since start. Everything else (the node itself, the simulator) uses virtual time.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let now_us = || u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);

    let mut node = Node::new(config);
    let stdin = io::stdin();
    let mut input = io::BufReader::with_capacity(64 * 1024, stdin.lock());
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    let mut out: Vec<u8> = Vec::with_capacity(OUT_CHUNK_BYTES * 2);
    let mut outbox: Vec<Envelope> = Vec::new();
    // Bytes of a line that straddles two reads of the input buffer.
    let mut partial: Vec<u8> = Vec::new();
    let mut line_number: u64 = 0;

    loop {
        // About to read: if nothing is buffered, the read may block, so everything
        // answered so far must reach the client first.
        if input.buffer().is_empty() || out.len() >= OUT_CHUNK_BYTES {
            stdout.write_all(&out).map_err(writing)?;
            out.clear();
            if input.buffer().is_empty() {
                stdout.flush().map_err(writing)?;
            }
        }
        let buf = input.fill_buf().map_err(reading)?;
        if buf.is_empty() {
            // End of input; a last line without a newline still counts.
            if !partial.is_empty() {
                line_number += 1;
                step(&mut node, now_us(), line_number, &partial, &mut outbox, &mut out);
            }
            stdout.write_all(&out).map_err(writing)?;
            stdout.flush().map_err(writing)?;
            return Ok(());
        }
        let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
            partial.extend_from_slice(buf);
            let len = buf.len();
            input.consume(len);
            continue;
        };
        line_number += 1;
        if partial.is_empty() {
            step(&mut node, now_us(), line_number, &buf[..newline], &mut outbox, &mut out);
        } else {
            partial.extend_from_slice(&buf[..newline]);
            step(&mut node, now_us(), line_number, &partial, &mut outbox, &mut out);
            partial.clear();
        }
        input.consume(newline + 1);
    }
}

/// The stdin or stdout error, saying which of the two failed.
fn reading(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("reading stdin: {e}"))
}

fn writing(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("writing stdout: {e}"))
}

/// Decodes one input line, feeds it (and any due tick) to the node, encodes the replies.
fn step(
    node: &mut Node,
    now_us: u64,
    line_number: u64,
    line: &[u8],
    outbox: &mut Vec<Envelope>,
    out: &mut Vec<u8>,
) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let decoded = std::str::from_utf8(line)
        .map_err(|e| format!("invalid UTF-8: {e}"))
        .and_then(|line| codec::decode(line).map_err(|e| e.to_string()));
    match decoded {
        Ok(envelope) => node.handle(now_us, envelope, outbox),
        Err(why) => eprintln!("occ-node: line {line_number}: {why}"),
    }
    if node.next_deadline().is_some_and(|deadline| deadline <= now_us) {
        node.tick(now_us, outbox);
    }
    for envelope in outbox.drain(..) {
        codec::encode(&envelope, out);
        out.push(b'\n');
    }
}
