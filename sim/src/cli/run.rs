//! `sim run`: one simulated test, summarised in a few lines.
//!
//! Output files (`--history`, `--trace`, `--report`, `--html`) are created before the run, so an
//! unwritable path fails at once (exit 2) instead of after the work. One that fails to
//! write later never hides the verdict: the summary comes first, then the error on
//! stderr; a failing run still exits 1, a passing one exits 2.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use clap::Args;

use crate::cli::{open_output, vet_outputs, Output};
use crate::explain::html::run_html;
use crate::explain::report::{run_report, Detail, Repro};
use crate::hunt::flags::record;
use crate::hunt::flags::{parse_seed, repro_command, RunFlags};
use crate::hunt::outcome::{evaluate_observed, Failure, RunOutcome, NONDETERMINISM_HINT};
use crate::hunt::replay_file::ReplayFile;
use crate::world::{simulate, RunConfig, RunProgress, Simulation, TraceEvent, OBSERVE_EVERY};

/// Output files of a run.
#[derive(Args, Clone, Debug, Default)]
pub struct OutputFlags {
    /// Write the history as JSON lines (re-check it with `sim check FILE`).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Write every message and fault event, one text line each: the virtual time in µs
    /// since the run began, what happened (sent, delivered, dropped, duplicated,
    /// partitioned, undelivered, partition, crash, restart, ...), then its details (for a
    /// message `SRC -> DEST` and the message as JSON). The format is for people and
    /// diffs, not a stable interface.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// The run's master seed, decimal or 0x-hex.
    #[arg(long, value_parser = parse_seed, required_unless_present = "replay")]
    pub seed: Option<u64>,
    /// Run a replay file written by `sim shrink` instead (the run flags are then ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "seed")]
    pub replay: Option<PathBuf>,
    #[command(flatten)]
    pub flags: RunFlags,
    #[command(flatten)]
    pub output: OutputFlags,
    /// Run twice with the trace on and compare: on a mismatch, say at which event the two
    /// runs first diverge (exit 2). Catches nondeterminism a code change let in.
    #[arg(long)]
    pub check_determinism: bool,
    /// Write the run's full report to FILE: everything stdout shows, with every anomaly
    /// and invariant violation explained and the message sequence diagram of each
    /// anomaly's transactions.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the run as one self-contained HTML page: the header, the anomaly's cycle, a
    /// Lamport diagram of the messages and each key's versions (records the trace; the run
    /// is the same).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Overwrite output files that exist (without it an existing file is refused, exit 2).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &RunArgs) -> ExitCode {
    let prepared = config_and_repro(args).and_then(|(config, repro)| {
        let outputs = Outputs::open(args)?;
        Ok((config, repro, outputs))
    });
    let (mut config, repro, outputs) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            eprintln!("sim run: {message}");
            return ExitCode::from(2);
        }
    };
    // What the determinism check compared, printed first and kept in the report file.
    let preface = match determinism_preface(args, &config) {
        Ok(preface) => preface,
        Err(message) => {
            eprintln!("sim run: {message}");
            return ExitCode::from(2);
        }
    };
    // A failing run is run again with its trace recorded: the same run (recording does
    // not change it), now with the messages the report draws. The HTML page draws every
    // run's messages.
    config.record_trace = outputs.trace.is_some() || outputs.html.is_some();
    let mut progress = RunBar::new();
    let mut outcome = evaluate_observed(&config, OBSERVE_EVERY, &mut |p| progress.show(p));
    if outcome.failure().is_some() && !config.record_trace {
        config.record_trace = true;
        progress.again("recording the failing run's messages");
        outcome = evaluate_observed(&config, OBSERVE_EVERY, &mut |p| progress.show(p));
    }
    progress.finish();
    crate::cli::emit(&format!("{preface}{}", summary(&outcome, &repro)));
    let output_failed = outputs.write(&outcome, &repro, &preface);
    // The verdict's exit code wins over an output error: a failing run is reported as
    // failing even if a file could not be written.
    match outcome.failure() {
        None if output_failed => ExitCode::from(2),
        None => ExitCode::SUCCESS,
        Some(Failure::Internal(_)) => ExitCode::from(2),
        Some(_) => ExitCode::from(1),
    }
}

/// The run `--replay` or `--seed` and the run flags name, and the command that
/// reproduces it.
fn config_and_repro(args: &RunArgs) -> Result<(RunConfig, String), String> {
    match (&args.replay, args.seed) {
        (Some(path), _) => {
            let config = ReplayFile::load(path)?;
            Ok((config, format!("cargo run -p sim -- run --replay {}", path.display())))
        }
        (None, Some(seed)) => {
            let config = args.flags.config(seed);
            let repro = repro_command(&config);
            Ok((config, repro))
        }
        (None, None) => unreachable!("clap requires --seed unless --replay is given"),
    }
}

/// The line saying what the determinism check compared, or nothing when it was not
/// asked for; `Err` says where the two runs diverged. A store binary is run twice by
/// default: its determinism is its author's to keep, and a failure that does not
/// reproduce is worth nothing.
fn determinism_preface(args: &RunArgs, config: &RunConfig) -> Result<String, String> {
    let binary = config.store.is_binary();
    if !(args.check_determinism || binary) {
        return Ok(String::new());
    }
    match compare_runs(config) {
        Ok(compared) => Ok(format!("{compared}\n")),
        Err(divergence) if binary => {
            Err(format!("NONDETERMINISM: {divergence}\n{NONDETERMINISM_HINT}"))
        }
        Err(divergence) => Err(format!("NONDETERMINISM: {divergence}")),
    }
}

/// The run's output files, each opened before the run when its flag was given.
struct Outputs {
    history: Option<Output>,
    trace: Option<Output>,
    report: Option<Output>,
    html: Option<Output>,
}

impl Outputs {
    fn open(args: &RunArgs) -> Result<Outputs, String> {
        vet_outputs(
            &[
                ("the history", args.output.history.as_deref()),
                ("the trace", args.output.trace.as_deref()),
                ("the report", args.report.as_deref()),
                ("the HTML report", args.html.as_deref()),
            ],
            args.force,
        )?;
        Ok(Outputs {
            history: open_output("the history", args.output.history.as_deref())?,
            trace: open_output("the trace", args.output.trace.as_deref())?,
            report: open_output("the report", args.report.as_deref())?,
            html: open_output("the HTML report", args.html.as_deref())?,
        })
    }

    /// Writes every file asked for; whether one failed (each failure is said on stderr).
    fn write(self, outcome: &RunOutcome, repro: &str, preface: &str) -> bool {
        let sim = &outcome.sim;
        let mut written = Vec::new();
        if let Some(file) = self.report {
            let text = format!(
                "{preface}{}",
                run_report(outcome, &repro_of(outcome, repro), &Detail::FULL)
            );
            written.push(file.write(|out| out.write_all(text.as_bytes())));
        }
        if let Some(file) = self.html {
            let page = run_html(outcome, &repro_of(outcome, repro), &[]);
            written.push(file.write(|out| out.write_all(page.as_bytes())));
        }
        if let Some(file) = self.history {
            written.push(file.write(|out| {
                for event in &sim.history {
                    serde_json::to_writer(&mut *out, event)?;
                    out.write_all(b"\n")?;
                }
                Ok(())
            }));
        }
        if let Some(file) = self.trace {
            written.push(file.write(|out| out.write_all(render_trace(sim).as_bytes())));
        }
        let mut output_failed = false;
        for message in written.into_iter().filter_map(Result::err) {
            eprintln!("sim run: {message}");
            output_failed = true;
        }
        output_failed
    }
}

/// What `sim run` prints: the run's report at stdout's level of detail.
pub fn summary(outcome: &RunOutcome, repro: &str) -> String {
    run_report(outcome, &repro_of(outcome, repro), &Detail::STDOUT)
}

/// The reproduce command, and where to keep a failing run flags can reproduce.
fn repro_of(outcome: &RunOutcome, repro: &str) -> Repro {
    let config = &outcome.sim.config;
    let record = outcome.failure().filter(|_| config.keep.is_none() && config.shape.is_none()).map(
        |failure| record(config, &format!("{} (found by sim run)", failure.names().join(", "))),
    );
    Repro { command: repro.to_string(), record }
}

/// Runs `config` twice with traces and reports the first event at which they differ, or
/// when they agree, what was compared.
fn compare_runs(config: &RunConfig) -> Result<String, String> {
    let traced = RunConfig { record_trace: true, ..config.clone() };
    let (first, second) = (simulate(&traced), simulate(&traced));
    let (lines_a, lines_b) = (render_trace(&first), render_trace(&second));
    if let Some(divergence) = first_divergence(&lines_a, &lines_b) {
        // A run that stopped early says why: a process that exited or hung in one run
        // only is the divergence's cause.
        let stops: Vec<String> = [("first", &first), ("second", &second)]
            .iter()
            .filter_map(|(which, sim)| {
                Some(format!("\n  the {which} run stopped: {}", stop_reason(sim)?))
            })
            .collect();
        return Err(format!("{divergence}{}", stops.concat()));
    }
    if first.fingerprint != second.fingerprint {
        return Err(format!(
            "same trace prefix but different runs: {} vs {} trace events, fingerprints {:016x} vs {:016x}",
            lines_a.lines().count(),
            lines_b.lines().count(),
            first.fingerprint,
            second.fingerprint
        ));
    }
    if first.history != second.history {
        return Err("same messages but different histories".into());
    }
    Ok(format!(
        "determinism: 2 runs compared, {} trace events and {} history events each, identical; \
         fingerprint {:016x} both times",
        lines_a.lines().count(),
        first.history.len(),
        first.fingerprint
    ))
}

/// Why a run stopped before its end, if it did, with its times in µs as the trace
/// beside it counts them.
fn stop_reason(sim: &Simulation) -> Option<String> {
    [&sim.process_error, &sim.node_panic, &sim.node_refused, &sim.internal_error]
        .into_iter()
        .find_map(|reason| reason.as_ref().map(|reason| reason.in_us()))
}

/// Where two traces first differ, as a sentence with both versions of the event.
pub fn first_divergence(first: &str, second: &str) -> Option<String> {
    let mut a = first.lines();
    let mut b = second.lines();
    for index in 0.. {
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some(format!(
                    "the runs diverge at trace event {index}:\n  first:  {}\n  second: {}",
                    x.unwrap_or("(trace ended)"),
                    y.unwrap_or("(trace ended)")
                ))
            }
        }
    }
    None
}

/// One line per message event: `time_us event source -> target wire`.
pub fn render_trace(sim: &Simulation) -> String {
    let name = |i: &usize| sim.names[*i].as_str();
    let mut out = String::new();
    for event in &sim.trace {
        let _ = match event {
            TraceEvent::Send { time_us, source, target, wire, fate } => {
                writeln!(out, "{time_us} {fate} {} -> {} {wire}", name(source), name(target))
            }
            TraceEvent::Deliver { time_us, source, target, wire } => {
                writeln!(out, "{time_us} delivered {} -> {} {wire}", name(source), name(target))
            }
            TraceEvent::Partition { time_us, kind, cut } => {
                let links: Vec<String> =
                    cut.iter().map(|(s, t)| format!("{}->{}", name(s), name(t))).collect();
                writeln!(out, "{time_us} partition {kind} cut {}", links.join(" "))
            }
            TraceEvent::PartitionHealed { time_us, kind } => {
                writeln!(out, "{time_us} {kind} healed")
            }
            TraceEvent::Heal { time_us } => writeln!(out, "{time_us} heal: fault phase over"),
            TraceEvent::Crash { time_us, process, damage, held } => writeln!(
                out,
                "{time_us} crash {}: {damage}; {held} replies held for a sync lost",
                name(process)
            ),
            TraceEvent::Restart { time_us, process, recovered } => {
                writeln!(out, "{time_us} restart {}: {recovered}", name(process))
            }
            TraceEvent::Undelivered { time_us, source, target, wire } => writeln!(
                out,
                "{time_us} undelivered {} -> {} ({} is down) {wire}",
                name(source),
                name(target),
                name(target)
            ),
        };
    }
    out
}

/// A progress bar for a run long enough to wonder about: drawn on a terminal only, once
/// the run has taken [`RunBar::QUIET_FOR`], from what the run's observer reports. Wall
/// time decides only whether to draw; the run never sees it.
struct RunBar {
    started: Instant,
    bar: Option<ProgressBar>,
    pass: &'static str,
}

impl RunBar {
    const QUIET_FOR: Duration = Duration::from_secs(2);

    #[allow(clippy::disallowed_methods)] // Wall time for the bar only.
    fn new() -> RunBar {
        RunBar { started: Instant::now(), bar: None, pass: "simulating" }
    }

    fn show(&mut self, progress: &RunProgress) {
        if self.bar.is_none() {
            if !std::io::stderr().is_terminal() || self.started.elapsed() < Self::QUIET_FOR {
                return;
            }
            let bar = ProgressBar::new(progress.planned);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} transactions, {msg}, ETA {eta}")
                    .expect("a valid template"),
            );
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(progress.finished.min(progress.planned));
            bar.set_message(format!(
                "{}, {:.1}s virtual",
                self.pass,
                progress.virtual_us as f64 / 1e6
            ));
        }
    }

    /// The run is simulated again (with its trace recorded).
    fn again(&mut self, pass: &'static str) {
        self.pass = pass;
        if let Some(bar) = &self.bar {
            bar.reset();
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_divergence_names_the_first_differing_event() {
        assert_eq!(first_divergence("a\nb\n", "a\nb\n"), None);
        let found = first_divergence("a\nb\nc\n", "a\nx\nc\n").unwrap();
        assert!(
            found.contains("event 1") && found.contains("first:  b") && found.contains("second: x")
        );
        let shorter = first_divergence("a\nb\n", "a\n").unwrap();
        assert!(shorter.contains("event 1") && shorter.contains("(trace ended)"), "{shorter}");
    }
}
