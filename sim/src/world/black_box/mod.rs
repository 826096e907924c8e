//! A store binary in any language as a node of the world (`--bin`): one process per node,
//! driven in lockstep over its stdin and stdout.
//!
//! Each step writes one line to the node and waits until it has consumed it and settled
//! (see [`idle`]); every line it wrote meanwhile is its answer to that step, so the run
//! is a function of the seed whenever the node's output is a function of its input
//! lines. Every line the harness writes carries a top-level `"now"`: the node's virtual
//! clock in microseconds. A node that wants timers on that clock asks with a `tick_at`
//! message to `sim` and is sent a `tick` then (`docs/protocol.md`, "Virtual time").
//!
//! A crash kills the node's process group between two steps and a restart starts the
//! command again in the same working directory: a process crash, not a power loss (what
//! the node wrote to its files stays written). Linux on x86-64 only.

pub mod idle;
mod process;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use node::clip::clip;
use node::codec;
use node::protocol::Payload;

use crate::world::black_box::process::{Running, Trouble};
use crate::world::node_host::SyncInFlight;
use crate::world::store::{
    BinarySpec, Crashed, Delivery, RestartFailure, Restarted, Sent, Stepped, Store,
};

/// How long one step may take in wall-clock time before the node counts as hung.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the harness's messages to a node come from, and where its own go.
const HARNESS: &str = "sim";

/// Whether `--bin` can run here.
pub fn supported() -> Result<(), String> {
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Ok(())
    } else {
        Err("--bin needs Linux on x86-64: it watches the node's threads through /proc \
             and reads their syscalls by this architecture's numbers"
            .to_string())
    }
}

pub struct ProcessHost {
    name: String,
    spec: BinarySpec,
    /// The harness's folder for this node: `work/` (the node's working directory, kept
    /// across its restarts) and `stderr` (everything it wrote there).
    root: PathBuf,
    running: Option<Running>,
    incarnation: u64,
    /// When the node asked to be ticked, on its clock.
    tick_at: Option<u64>,
}

impl ProcessHost {
    /// Starts node `name`'s first process.
    pub fn start(name: &str, spec: BinarySpec) -> Result<ProcessHost, String> {
        supported()?;
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let unique = RUNS.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("occ-sim-{}-{unique}-{name}", std::process::id()));
        std::fs::create_dir_all(root.join("work"))
            .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        let mut host = ProcessHost {
            name: name.to_owned(),
            spec,
            root,
            running: None,
            incarnation: 0,
            tick_at: None,
        };
        host.launch()?;
        Ok(host)
    }

    fn launch(&mut self) -> Result<(), String> {
        let here = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
        let command = absolute_paths(&self.spec.command, &here);
        let running = Running::spawn(&command, &self.root.join("work"), &self.stderr_path())
            .map_err(|e| format!("cannot start `{command}`: {e}"))?;
        self.running = Some(running);
        Ok(())
    }

    fn stderr_path(&self) -> PathBuf {
        self.root.join("stderr")
    }

    /// What went wrong, in words a person can act on, with the end of the node's stderr.
    fn explain(&self, trouble: Trouble) -> String {
        let what = match trouble {
            Trouble::Exited(status) => format!("the process exited ({status})"),
            Trouble::Busy(threads) => {
                let threads: Vec<String> = threads.iter().map(|t| t.describe()).collect();
                format!(
                    "still busy {} s after a message: {}",
                    STEP_TIMEOUT.as_secs(),
                    threads.join("; ")
                )
            }
            Trouble::HalfLine(text) => format!(
                "it went idle after writing half a line ({}): its stdout is buffered; {}",
                clip(&text),
                FLUSH_ADVICE
            ),
            Trouble::Unprompted(text, threads) => {
                let timed: Vec<String> =
                    threads.iter().filter(|t| t.timed).map(|t| t.describe()).collect();
                let timers = match timed.is_empty() {
                    true => "no thread was in a timed wait when it last settled".to_string(),
                    false => {
                        format!("threads in timed waits when it last settled: {}", timed.join("; "))
                    }
                };
                format!(
                    "it wrote between two steps, with no message to answer ({}): its output \
                     hangs on the wall clock, not only on its input; {timers}. Run its timers \
                     on the harness's clock: the `now` on every line, and `tick_at`/`tick` \
                     (docs/any-store.md, \"Virtual time\")",
                    clip(text.lines().next().unwrap_or(""))
                )
            }
            Trouble::Io(e) => e,
        };
        match stderr_tail(&self.stderr_path()) {
            Some(tail) => format!("{what}; the end of its stderr:\n{tail}"),
            None => what,
        }
    }

    /// Sorts the lines the node wrote in one step: messages for the world, and what it
    /// said to the harness (`tick_at`; replies to `init`). `Ok(true)` if it answered
    /// `init`.
    fn sort_lines(&mut self, lines: Vec<String>, sends: &mut Vec<Sent>) -> Result<bool, String> {
        let mut answered_init = false;
        for line in lines {
            let envelope = codec::decode(&line).map_err(|e| {
                format!("it wrote a line that is not a message ({e}): {}", clip(&line))
            })?;
            if envelope.dest != HARNESS {
                sends.push(Sent { envelope, wire: Some(line) });
                continue;
            }
            match &envelope.body.payload {
                Payload::InitOk => answered_init = true,
                Payload::Unknown { type_name } if type_name == "tick_at" => {
                    self.tick_at = tick_at(&line)?;
                }
                _ => {}
            }
        }
        Ok(answered_init)
    }
}

/// What a node that never flushes should do, per language.
const FLUSH_ADVICE: &str = "flush stdout after every line (Python: print(..., flush=True); \
     Go: fmt.Println to os.Stdout, or Flush() a bufio.Writer; Node.js: process.stdout.write; \
     C: fflush(stdout) or setvbuf(stdout, NULL, _IOLBF, 0); Java: System.out.flush())";

/// The `at` of a `tick_at` line: a time on the node's clock, or null for none.
fn tick_at(line: &str) -> Result<Option<u64>, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    match &value["body"]["at"] {
        serde_json::Value::Null => Ok(None),
        at => at.as_u64().map(Some).ok_or_else(|| {
            format!("its tick_at needs `at`, microseconds on its clock, or null: {}", clip(line))
        }),
    }
}

/// `command` with each word that names an existing file relative to `here` (where `sim`
/// runs) made absolute, so `python3 stores/main.py` finds its script although the node
/// runs in a working directory of its own; other words (`--data-dir .`) stay relative to
/// that directory. Words with quotes, `$` or backslashes are left as they are.
fn absolute_paths(command: &str, here: &Path) -> String {
    let mut out = String::with_capacity(command.len());
    let mut rest = command;
    while !rest.is_empty() {
        let word_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_len);
        let plain = !word.contains(['\'', '"', '$', '\\', '`']);
        let path = here.join(word);
        if !word.is_empty() && plain && !word.starts_with('/') && path.is_file() {
            out.push_str(&shell_quote(&path.display().to_string()));
        } else {
            out.push_str(word);
        }
        let space_len = after.find(|c: char| !c.is_whitespace()).unwrap_or(after.len());
        out.push_str(&after[..space_len]);
        rest = &after[space_len..];
    }
    out
}

/// `text` as one shell word, in single quotes.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `wire` with the node's clock added as a top-level `"now"`.
fn with_now(wire: &str, local_us: u64) -> String {
    let rest = wire.trim_start().strip_prefix('{').unwrap_or(wire);
    format!("{{\"now\":{local_us},{rest}")
}

/// The last lines of a node's stderr (at most 2 KiB), if it wrote any.
fn stderr_tail(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    let text = String::from_utf8_lossy(tail);
    let lines: Vec<&str> = text.lines().collect();
    let last = &lines[lines.len().saturating_sub(12)..];
    (!last.is_empty())
        .then(|| last.iter().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n"))
}

impl Store for ProcessHost {
    fn is_up(&self) -> bool {
        self.running.is_some()
    }

    fn step(&mut self, local_us: u64, delivery: Delivery<'_>, sends: &mut Vec<Sent>) -> Stepped {
        let Some(running) = self.running.as_mut() else { return Stepped::default() };
        let (line, is_init) = match delivery {
            Delivery::Message { envelope, wire } => {
                // The harness's own init must be answered; one a quirky client sends is
                // answered to the client.
                let init = matches!(envelope.body.payload, Payload::Init { .. });
                (with_now(wire, local_us), init && envelope.src == HARNESS)
            }
            Delivery::Tick => match self.tick_at {
                Some(at) if at <= local_us => {
                    self.tick_at = None;
                    let tick = format!(
                        "{{\"src\":\"{HARNESS}\",\"dest\":\"{}\",\"body\":{{\"type\":\"tick\"}}}}",
                        self.name
                    );
                    (with_now(&tick, local_us), false)
                }
                _ => return Stepped::default(),
            },
        };
        let mut stepped = Stepped::default();
        let lines = match running.step(&line, STEP_TIMEOUT) {
            Ok(lines) => lines,
            Err(trouble) => {
                stepped.process_error = Some(self.explain(trouble));
                return stepped;
            }
        };
        match self.sort_lines(lines, sends) {
            Ok(false) if is_init => {
                stepped.process_error = Some(format!(
                    "it answered nothing to `init` before going idle: most likely its \
                     output is buffered; {FLUSH_ADVICE}"
                ));
            }
            Ok(_) => {}
            Err(message) => stepped.process_error = Some(message),
        }
        stepped
    }

    fn sync_done(&mut self, _: u64, _: u64, _: SyncInFlight, _: &mut Vec<Sent>) -> Stepped {
        Stepped::default()
    }

    fn next_deadline(&self) -> Result<Option<u64>, String> {
        Ok(self.running.as_ref().and(self.tick_at))
    }

    fn crash(&mut self) -> Option<Crashed> {
        let mut running = self.running.take()?;
        running.kill();
        self.incarnation += 1;
        self.tick_at = None;
        Some(Crashed { damage: None, held: Vec::new() })
    }

    fn restart(&mut self, _local_us: u64) -> Result<Restarted, RestartFailure> {
        self.launch().map_err(RestartFailure::Process)?;
        Ok(Restarted {
            found: format!("`{}` started again in its working directory", self.spec.command),
            records: 0,
            log_bytes: 0,
        })
    }

    fn incarnation(&self) -> u64 {
        self.incarnation
    }

    fn stderr_tail(&self) -> Option<String> {
        stderr_tail(&self.stderr_path())
    }

    fn finish(&mut self) -> Option<String> {
        let mut running = self.running.take()?;
        let late = running.close(Duration::from_secs(2));
        let first = late.first()?;
        Some(format!(
            "it wrote {} line{} only once its input closed (the first: {}): its output is \
             buffered, so its answers never came when they were due; {FLUSH_ADVICE}",
            late.len(),
            if late.len() == 1 { "" } else { "s" },
            clip(first)
        ))
    }
}

impl Drop for ProcessHost {
    fn drop(&mut self) {
        // Kill before removing its folder, so nothing writes into it meanwhile.
        self.running = None;
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_naming_files_where_sim_runs_become_absolute_and_nothing_else_changes() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let script = here.join("Cargo.toml").display().to_string();
        assert_eq!(
            absolute_paths("python3  Cargo.toml --data-dir . src", here),
            format!("python3  '{script}' --data-dir . src")
        );
        assert_eq!(absolute_paths("cat 'Cargo.toml' $X", here), "cat 'Cargo.toml' $X");
        assert_eq!(absolute_paths("/bin/true", here), "/bin/true");
    }

    #[test]
    fn the_clock_goes_first_in_the_envelope() {
        assert_eq!(
            with_now(r#"{"src":"c1","dest":"n1"}"#, 42),
            r#"{"now":42,"src":"c1","dest":"n1"}"#
        );
    }

    #[test]
    fn tick_at_takes_a_time_or_null_and_refuses_anything_else() {
        let line = |at: &str| {
            format!(r#"{{"src":"n1","dest":"sim","body":{{"type":"tick_at","at":{at}}}}}"#)
        };
        assert_eq!(tick_at(&line("1500")), Ok(Some(1500)));
        assert_eq!(tick_at(&line("null")), Ok(None));
        assert!(tick_at(&line("\"soon\"")).unwrap_err().contains("microseconds"));
    }
}
