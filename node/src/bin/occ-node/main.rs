//! `occ-node`: drives the OCC node over stdin/stdout, one JSON message per line.
//!
//! A thin loop: read a line, decode it, hand it to [`node::Node::step`] with the current
//! time as `now`, carry out what the node asks (send a reply, append to its log, sync),
//! write each reply as one JSON line. Lines that are not messages are reported on stderr
//! with their line number and skipped; blank lines are skipped silently. stdout carries
//! only messages; it is buffered and flushed whenever the input is drained, i.e. right
//! before a read that might block, so an interactive client always sees the replies to
//! everything it has sent.
//!
//! With `--data-dir DIR` the node keeps its log in `DIR/wal` (see `file_log.rs`) and a
//! restart on the same directory recovers every acknowledged commit. Group commit: the
//! records of every line in a batch of input (what one read of stdin brought) are written
//! and fsynced once, at the end of the batch, before any of the batch's replies is
//! written (the node holds them until then). Without `--data-dir` state lives in memory
//! only and is gone when the process ends.
//!
//! The node expires state lazily on every message; the loop also ticks it when
//! `next_deadline` has passed, waiting for input and that deadline together (stdin is
//! read on a thread of its own): a cluster's node resends what got no answer and asks
//! about its doubts even while no line arrives.
//!
//! The log belongs to one node of one cluster (its header says which): a first `init` as
//! another node or with other node ids ends the process (exit 1); a later `init` that
//! differs from the first is refused with error 22, as the protocol says. A log recovery will not
//! cut (not a log, or damaged where records had been synced; see `node::storage`) stops
//! the start (exit 1, naming the file, the offset and what was found) and is left as it
//! is; `--repair` moves it aside to `DIR/wal.damaged-N` and keeps its valid prefix.
//!
//! Virtual time (`docs/protocol.md`, "Virtual time"): when the first line carries a
//! top-level `"now"` as its first field, as the simulator's `--bin` writes it, the node's
//! clock is that field from then on, never the wall clock. It then never ticks on its
//! own: after each batch it tells the harness when its next timer is due with a
//! `tick_at` message to `sim`, and is ticked by a `tick` message. With `--data-dir` the
//! log is read at start either way, but the node is rebuilt from it at the first line,
//! on the clock that line chose. Its output is then a function of its input lines.
//!
//! Input lines are read up to [`node::limits::LINE_BYTES_MAX`]: a longer one is reported
//! on stderr (its line number and its length so far) when it passes the limit, and its
//! bytes are dropped up to its newline, so memory stays bounded on endless input.
//!
//! Usage: `occ-node [--txn-ttl-ms N] [--outcome-ttl-ms N] [--data-dir DIR [--repair]]`
//! (see `--help`, `--version`).
//!
//! Exit codes: 0 at end of input (or after `--help`, `--version`); 1 if reading stdin,
//! writing stdout or the data directory fails, if the log is damaged or not a log, or if
//! `init` names another node than the log's (said on stderr, naming the file); 2 on bad
//! command-line arguments. A bad line's message quotes at most 200 bytes of any piece of
//! it.

mod file_log;

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use node::clip::clip;
use node::codec;
use node::io::{Input, Output};
use node::limits::LINE_BYTES_MAX;
use node::protocol::Payload;
use node::storage::{self, RecoverError, Recovered, Storage};
use node::wal::Identity;
use node::{LogConfig, Node, NodeConfig};

use file_log::FileLog;

const USAGE: &str = "\
usage: occ-node [--txn-ttl-ms N] [--outcome-ttl-ms N] [--data-dir DIR [--repair]]

Reads Maelstrom-style JSON messages, one per line, on stdin and writes the OCC node's
replies, one per line, on stdout. Diagnostics go to stderr. The protocol, its error
codes and its limits are specified in docs/protocol.md.

options:
  --txn-ttl-ms N      forget a transaction not committed within N ms of its begin
                      (default 10000)
  --outcome-ttl-ms N  remember a commit's answer for retries for N ms (default 60000)
  --data-dir DIR      keep a write-ahead log in DIR/wal (created if missing) and recover
                      from it on start: no reply leaves before what it depends on is
                      fsynced. Without it, state lives in memory only. The log is
                      created at the first init and names that node and its cluster;
                      a first init as another node is refused (exit 1).
  --repair            with --data-dir: if DIR/wal is damaged where records had been
                      synced, or is not a log, move it to DIR/wal.damaged-N and go on
                      with what came before the damage (without it: exit 1, nothing
                      changed)
  -h, --help          print this help
  -V, --version       print the version

limits: keys 1 KiB, values 1 MiB, a commit's keys and values 4 MiB and 20,000 items
(error 12 past them); input lines 32 MiB (a longer line is reported and skipped).

exit codes: 0 end of input, 1 I/O error (stdin, stdout or the data directory), a
damaged or foreign log, or a first init as another node than the log's; 2 bad
arguments";

/// Flush stdout once this much output is pending even if input keeps coming.
const OUT_CHUNK_BYTES: usize = 64 * 1024;

/// What the command line asks for.
enum Request {
    Serve(NodeConfig, Option<PathBuf>, bool),
    Help,
    Version,
}

fn main() -> ExitCode {
    let (config, data_dir, repair) = match parse_args(std::env::args().skip(1)) {
        Ok(Request::Serve(config, data_dir, repair)) => (config, data_dir, repair),
        Ok(Request::Help) => return print_exit(USAGE),
        Ok(Request::Version) => {
            return print_exit(concat!("occ-node ", env!("CARGO_PKG_VERSION")));
        }
        Err(message) => {
            eprintln!("occ-node: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(config, data_dir, repair) {
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
    let mut data_dir = None;
    let mut repair = false;
    let mut args = args;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let target = match flag.as_str() {
            "-h" | "--help" => return Ok(Request::Help),
            "-V" | "--version" => return Ok(Request::Version),
            "--repair" if inline.is_none() => {
                repair = true;
                continue;
            }
            "--txn-ttl-ms" => &mut config.txn_ttl_us,
            "--outcome-ttl-ms" => &mut config.outcome_ttl_us,
            "--data-dir" => {
                let value =
                    inline.or_else(|| args.next()).ok_or(format!("{flag} needs a value"))?;
                if value.is_empty() {
                    return Err("--data-dir needs a directory, not an empty string".into());
                }
                if data_dir.replace(PathBuf::from(value)).is_some() {
                    return Err("--data-dir given twice".into());
                }
                continue;
            }
            _ => return Err(format!("unknown argument `{}`", clip(&flag))),
        };
        let value = inline.or_else(|| args.next()).ok_or(format!("{flag} needs a value"))?;
        let ms: u64 = value.parse().map_err(|e: std::num::ParseIntError| match e.kind() {
            std::num::IntErrorKind::PosOverflow => {
                format!("{flag}: `{}` ms is too large (at most {MS_MAX})", clip(&value))
            }
            _ => format!("{flag}: `{}` is not a whole number of milliseconds", clip(&value)),
        })?;
        if ms > MS_MAX {
            return Err(format!("{flag}: {ms} ms is too large (at most {MS_MAX})"));
        }
        *target = ms * 1000;
    }
    if data_dir.is_some() {
        config.log = Some(LogConfig::default());
    } else if repair {
        return Err("--repair repairs a data directory: give --data-dir too".into());
    }
    Ok(Request::Serve(config, data_dir, repair))
}

/// The longest TTL a flag may give, in ms: the most whose µs fit in a u64.
const MS_MAX: u64 = u64::MAX / 1000;

/// Bytes read from stdin, as the reader thread hands them over.
const READ_CHUNK_BYTES: usize = 64 * 1024;

fn run(config: NodeConfig, data_dir: Option<PathBuf>, repair: bool) -> io::Result<()> {
    let mut driver = Driver::open(config, data_dir, repair)?;
    let input = read_stdin_in_chunks();
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    // Bytes of a line that straddles two chunks.
    let mut partial = Partial::default();
    let mut line_number: u64 = 0;

    loop {
        let chunk = match input.try_recv() {
            Ok(chunk) => chunk,
            // Nothing buffered: the batch ends here. Its records are synced, everything
            // answered so far reaches the client, then the loop waits for input, or for
            // the node's next timer (a cluster resends and asks about doubts on them).
            Err(TryRecvError::Empty) => {
                driver.sync()?;
                stdout.write_all(&driver.out).map_err(writing)?;
                driver.out.clear();
                stdout.flush().map_err(writing)?;
                match driver.wait() {
                    Some(wait) => match input.recv_timeout(wait) {
                        Ok(chunk) => chunk,
                        Err(RecvTimeoutError::Timeout) => {
                            driver.tick()?;
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => Ok(Vec::new()),
                    },
                    None => input.recv().unwrap_or(Ok(Vec::new())),
                }
            }
            Err(TryRecvError::Disconnected) => Ok(Vec::new()),
        };
        let chunk = chunk.map_err(reading)?;
        if chunk.is_empty() {
            // End of input; a last line without a newline still counts.
            if !partial.is_empty() {
                line_number += 1;
                if let Some(bytes) = partial.finish(line_number) {
                    driver.line(line_number, &bytes)?;
                }
            }
            driver.sync()?;
            stdout.write_all(&driver.out).map_err(writing)?;
            stdout.flush().map_err(writing)?;
            return Ok(());
        }
        let mut rest = &chunk[..];
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            line_number += 1;
            if partial.is_empty() {
                driver.line(line_number, &rest[..newline])?;
            } else {
                partial.push(line_number, &rest[..newline]);
                if let Some(bytes) = partial.finish(line_number) {
                    driver.line(line_number, &bytes)?;
                }
            }
            rest = &rest[newline + 1..];
        }
        partial.push(line_number + 1, rest);
        if driver.out.len() >= OUT_CHUNK_BYTES {
            driver.sync()?;
            stdout.write_all(&driver.out).map_err(writing)?;
            driver.out.clear();
        }
    }
}

/// The start of a line whose newline has not come yet, up to [`LINE_BYTES_MAX`] bytes:
/// past that its bytes are counted, not kept.
#[derive(Default)]
struct Partial {
    bytes: Vec<u8>,
    /// Bytes of an overlong line so far (its bytes are dropped).
    overlong: Option<u64>,
}

impl Partial {
    fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.overlong.is_none()
    }

    /// More of line `line_number`.
    fn push(&mut self, line_number: u64, more: &[u8]) {
        if let Some(len) = &mut self.overlong {
            *len += more.len() as u64;
        } else if self.bytes.len() + more.len() > LINE_BYTES_MAX {
            let len = (self.bytes.len() + more.len()) as u64;
            eprintln!(
                "occ-node: line {line_number}: longer than the {LINE_BYTES_MAX}-byte limit \
                 ({len} bytes so far): skipped to its end"
            );
            self.overlong = Some(len);
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(more);
        }
    }

    /// The line ended: its bytes, or `None` (reported) if it was too long.
    fn finish(&mut self, line_number: u64) -> Option<Vec<u8>> {
        match self.overlong.take() {
            Some(len) => {
                eprintln!("occ-node: line {line_number}: skipped, {len} bytes long");
                None
            }
            None => Some(std::mem::take(&mut self.bytes)),
        }
    }
}

/// Reads stdin on a thread of its own, in chunks of up to [`READ_CHUNK_BYTES`], so that
/// the loop can wait for input and for the node's timers at once. An empty chunk is the
/// end of input.
fn read_stdin_in_chunks() -> Receiver<io::Result<Vec<u8>>> {
    let (chunks, input) = sync_channel(16);
    // The real binary runs in real time: a thread blocked on stdin is how it waits for
    // input and a timer together. The simulator never runs this.
    #[allow(clippy::disallowed_methods)]
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        loop {
            let mut buf = vec![0; READ_CHUNK_BYTES];
            let read = match stdin.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
                Ok(n) => {
                    buf.truncate(n);
                    Ok(buf)
                }
            };
            let done = !matches!(&read, Ok(buf) if !buf.is_empty());
            if chunks.send(read).is_err() || done {
                return;
            }
        }
    });
    input
}

/// The node, its log (with `--data-dir`), its clock, and the replies encoded for stdout.
struct Driver {
    node: Node,
    config: NodeConfig,
    log: Option<FileLog>,
    /// What recovery read from the log, until the first line says which clock rebuilds
    /// the node from it.
    recovered: Option<Recovered>,
    /// `None` until the first line chooses between the real clocks and virtual time.
    clock: Option<Clock>,
    /// The wall clock this node runs on if the first line carries no `now`.
    real_clock: Clock,
    /// Under virtual time: this node's id (from `init`) and the timer it last announced.
    node_id: String,
    announced: Option<u64>,
    outputs: Vec<Output>,
    /// The largest LSN the node asked to have synced and that is not yet.
    sync_wanted: Option<u64>,
    out: Vec<u8>,
}

/// `now` for the node. In memory, time since start (monotonic). With a log, wall-clock
/// time since the Unix epoch: the outcome deadlines a log records must mean the same
/// after a restart, which time since start would not. A wall clock may step backwards;
/// the node clamps its deadlines to be non-decreasing, so a step only delays expiry.
enum Clock {
    SinceStart(Instant),
    Wall,
    /// The harness's: the `now` of the last line.
    Virtual(u64),
}

impl Clock {
    fn now_us(&self) -> u64 {
        // The one wall clock in the workspace: occ-node runs in real time. Everything else
        // (the node itself, the simulator) uses virtual time.
        #[allow(clippy::disallowed_methods)]
        let elapsed = match self {
            Clock::SinceStart(start) => start.elapsed(),
            Clock::Wall => SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
            Clock::Virtual(now_us) => return *now_us,
        };
        u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
    }
}

impl Driver {
    fn open(config: NodeConfig, data_dir: Option<PathBuf>, repair: bool) -> io::Result<Driver> {
        let (recovered, log, real_clock) = match data_dir {
            None => {
                #[allow(clippy::disallowed_methods)]
                let start = Instant::now();
                (None, None, Clock::SinceStart(start))
            }
            Some(dir) => {
                let mut log = FileLog::open(&dir)?;
                let path = log.path();
                let recovered = match storage::recover(&mut log, None) {
                    Ok(recovered) => recovered,
                    Err(RecoverError::Io(e)) => return Err(e),
                    Err(RecoverError::Damaged(damage)) if repair => {
                        let aside = log.set_aside(damage.valid_len)?;
                        eprintln!(
                            "occ-node: {}: {damage}; --repair moved it to {} and {}",
                            path.display(),
                            aside.display(),
                            kept(damage.valid_len)
                        );
                        storage::recover(&mut log, None).map_err(|e| {
                            io::Error::other(format!("{}: after repair: {e}", path.display()))
                        })?
                    }
                    Err(RecoverError::Damaged(damage)) => {
                        return Err(io::Error::other(format!(
                            "{}: {damage}. Nothing was changed. To accept the loss, start with \
                             --repair: it moves the file to {}.damaged-N and {}",
                            path.display(),
                            path.display(),
                            kept(damage.valid_len)
                        )));
                    }
                };
                if recovered.log_len > 0 || recovered.discarded_bytes > 0 {
                    eprintln!("occ-node: {}: {}", path.display(), recovered.summary());
                }
                // Recovery read what the page cache holds: make it durable before any new
                // frame says it is (see `node::storage`).
                log.sync()?;
                (Some(recovered), Some(log), Clock::Wall)
            }
        };
        Ok(Driver {
            node: Node::new(config.clone()),
            config,
            log,
            recovered,
            clock: None,
            real_clock,
            node_id: String::new(),
            announced: None,
            outputs: Vec::new(),
            sync_wanted: None,
            out: Vec::new(),
        })
    }

    /// The clock, chosen by the first line: virtual time if it carries `now` (set to it
    /// on every line that does), else the real clock. A node with a log is rebuilt from
    /// it then, on that clock.
    fn advance_clock(&mut self, line: &[u8]) {
        let now = virtual_now(line);
        match (&mut self.clock, now) {
            (Some(Clock::Virtual(clock)), Some(now_us)) => *clock = (*clock).max(now_us),
            (Some(_), _) => {}
            (None, now) => {
                let clock = match now {
                    Some(now_us) => Clock::Virtual(now_us),
                    None => std::mem::replace(&mut self.real_clock, Clock::Wall),
                };
                if let Some(recovered) = self.recovered.take() {
                    self.node = Node::recover(self.config.clone(), recovered, clock.now_us());
                }
                self.clock = Some(clock);
            }
        }
    }

    fn now_us(&self) -> u64 {
        self.clock.as_ref().unwrap_or(&self.real_clock).now_us()
    }

    fn is_virtual(&self) -> bool {
        matches!(self.clock, Some(Clock::Virtual(_)))
    }

    /// Under virtual time, tells the harness when the node's next timer is due, if that
    /// changed since it last said (`null`: no timer).
    fn announce_timer(&mut self) {
        if !self.is_virtual() {
            return;
        }
        let next = self.node.next_deadline();
        if next == self.announced {
            return;
        }
        self.announced = next;
        let at = next.map_or("null".to_string(), |at| at.to_string());
        let src = serde_json::to_string(&self.node_id).unwrap_or_default();
        self.out.extend_from_slice(
            format!(r#"{{"src":{src},"dest":"sim","body":{{"type":"tick_at","at":{at}}}}}"#)
                .as_bytes(),
        );
        self.out.push(b'\n');
    }

    /// Decodes one input line and feeds it (and any due tick) to the node.
    fn line(&mut self, line_number: u64, line: &[u8]) -> io::Result<()> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.advance_clock(line);
        let now_us = self.now_us();
        let decoded = std::str::from_utf8(line)
            .map_err(|e| format!("invalid UTF-8: {e}"))
            .and_then(|line| codec::decode(line).map_err(|e| e.to_string()));
        match decoded {
            Ok(envelope) if self.is_virtual() && is_tick(&envelope) => {
                self.step(now_us, Input::Tick)?
            }
            Ok(envelope) => {
                if let Payload::Init { node_id, node_ids } = &envelope.body.payload {
                    // The first init of this process decides whose log it serves; a later
                    // one that differs is the node's to refuse (error 22).
                    if self.node_id.is_empty() {
                        self.check_identity(node_id, node_ids)?;
                        self.node_id = node_id.clone();
                    }
                }
                self.step(now_us, Input::Message(envelope))?
            }
            Err(why) => eprintln!("occ-node: line {line_number}: {why}"),
        }
        if self.node.next_deadline().is_some_and(|deadline| deadline <= now_us) {
            self.step(now_us, Input::Tick)?;
        }
        Ok(())
    }

    /// An `init` as another node than the log's ends the process: its log is not this
    /// node's to serve (the node would refuse it with error 22 too).
    fn check_identity(&self, node_id: &str, node_ids: &[String]) -> io::Result<()> {
        let Some(owner) = self.node.log_identity() else { return Ok(()) };
        let asked = Identity { node_id: node_id.to_owned(), node_ids: node_ids.to_vec() };
        if *owner == asked {
            return Ok(());
        }
        let path = self.log.as_ref().map(FileLog::path).unwrap_or_default();
        Err(io::Error::other(format!(
            "{}: this log belongs to {owner}; refusing to start as {asked} (start it as its \
             own node, or give another --data-dir)",
            path.display()
        )))
    }

    /// How long to wait for input before the node's next timer is due (`None`: it has
    /// none). At least a millisecond, so that a timer the node keeps due cannot spin.
    /// Under virtual time, never: the harness ticks it.
    fn wait(&self) -> Option<Duration> {
        if self.is_virtual() {
            return None;
        }
        let deadline = self.node.next_deadline()?;
        let wait_us = deadline.saturating_sub(self.now_us()).max(1_000);
        Some(Duration::from_micros(wait_us))
    }

    /// A timer of the node's is due: it is ticked, and what it asks for carried out
    /// (its messages leave with the next batch, after the sync they wait for).
    fn tick(&mut self) -> io::Result<()> {
        let now_us = self.now_us();
        self.step(now_us, Input::Tick)
    }

    /// Steps the node and carries out what it asks, except syncs: those wait for the end
    /// of the batch ([`Driver::sync`]).
    fn step(&mut self, now_us: u64, input: Input) -> io::Result<()> {
        self.node.step(now_us, input, &mut self.outputs);
        for output in self.outputs.drain(..) {
            match output {
                Output::Send(envelope) => {
                    codec::encode(&envelope, &mut self.out);
                    self.out.push(b'\n');
                }
                Output::Append { bytes, .. } => log_of(&mut self.log)?.append(&bytes)?,
                Output::Sync { lsn } => self.sync_wanted = self.sync_wanted.max(Some(lsn)),
                Output::Compact { head, keep_from } => {
                    log_of(&mut self.log)?.compact(&head, keep_from)?
                }
            }
        }
        Ok(())
    }

    /// Ends a batch: one fsync for every record it appended, then the replies that
    /// waited for it are released.
    fn sync(&mut self) -> io::Result<()> {
        if let Some(lsn) = self.sync_wanted.take() {
            log_of(&mut self.log)?.sync()?;
            let now_us = self.now_us();
            self.step(now_us, Input::Synced { lsn })?;
        }
        self.announce_timer();
        Ok(())
    }
}

/// The `now` of a line that starts with it, as the simulator writes it:
/// `{"now":123,...`.
fn virtual_now(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(br#"{"now":"#)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The harness's `tick` (virtual time): a timer the node announced is due.
fn is_tick(envelope: &node::protocol::Envelope) -> bool {
    envelope.src == "sim"
        && matches!(&envelope.body.payload, Payload::Unknown { type_name } if type_name == "tick")
}

/// What `--repair` keeps of a damaged log.
fn kept(valid_len: u64) -> String {
    match valid_len {
        0 => "starts with an empty log".to_string(),
        n => format!("keeps the {n} bytes before the damage"),
    }
}

/// The log, which a node only asks for when it has one.
fn log_of(log: &mut Option<FileLog>) -> io::Result<&mut FileLog> {
    log.as_mut().ok_or_else(|| io::Error::other("the node asked for a log it was not given"))
}

/// The stdin or stdout error, saying which of the two failed.
fn reading(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("reading stdin: {e}"))
}

fn writing(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("writing stdout: {e}"))
}
