//! `sim shrink`: reduce a failing run to a small one that fails the same way, print its
//! repro and its failure report.
//!
//! A replay file is never overwritten silently: by default it gets a fresh name
//! (`shrunk-SEED.json`, else `shrunk-SEED-2.json`, ...); `--out FILE` refuses an existing
//! FILE unless `--force` is given, and is checked before the shrink starts. Either way the
//! output says which file it wrote. `--html FILE` is opened before the shrink too; if it
//! cannot be written afterwards the shrunk run is still reported and the exit code is 1.

use std::fs::OpenOptions;
use std::io::{ErrorKind, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::cli::{open_output, vet_outputs, Output};
use crate::explain::html::run_html;
use crate::explain::report::{run_report, Detail, Repro};
use crate::hunt::flags::{parse_seed, repro_command, RunFlags};
use crate::hunt::outcome::evaluate;
use crate::hunt::replay_file::ReplayFile;
use crate::hunt::shrink::{
    describe_faults, shrink_within, Budget, Shrunk, RUNS_MAX_DEFAULT, WALL_BUDGET_DEFAULT,
};
use crate::world::RunConfig;

#[derive(Args, Clone, Debug)]
pub struct ShrinkArgs {
    /// The failing run's seed.
    #[arg(long, value_parser = parse_seed)]
    pub seed: u64,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Where to write the replay file when the shrunk run skips chosen transactions
    /// (default: shrunk-<seed>.json in the current directory, or shrunk-<seed>-2.json and
    /// so on if that exists). An existing FILE is refused unless --force is given.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite the --out and --html files if they exist.
    #[arg(long)]
    pub force: bool,
    /// At most this many simulated runs.
    #[arg(long, default_value_t = RUNS_MAX_DEFAULT)]
    pub runs_max: u64,
    /// At most this many seconds of wall time; then the shrink stops and reports the
    /// smallest failing run it has (0: no limit).
    #[arg(long, default_value_t = WALL_BUDGET_DEFAULT.as_secs())]
    pub budget_s: u64,
    /// Write the shrunk run as one self-contained HTML page (as `sim run --html`).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(args: &ShrinkArgs) -> ExitCode {
    let (out, html) = match open_outputs(args) {
        Ok(outputs) => outputs,
        Err(message) => return refused(&message),
    };
    let shrunk = match shrink_showing_progress(args) {
        Ok(shrunk) => shrunk,
        Err(message) => {
            if let Some(out) = out {
                out.discard();
            }
            if let Some(html) = html {
                html.discard();
            }
            return refused(&message);
        }
    };
    print_summary(&shrunk);
    let repro = match keep_replay(args.seed, &shrunk, out) {
        Ok(repro) => repro,
        Err(message) => {
            if let Some(html) = html {
                html.discard();
            }
            return refused(&message);
        }
    };
    crate::cli::emit(&format!("  {repro}\n"));
    report_shrunk(&shrunk, repro, html);
    ExitCode::from(1)
}

/// Said on stderr; the shrink ends with exit 2.
fn refused(message: &str) -> ExitCode {
    eprintln!("sim shrink: {message}");
    ExitCode::from(2)
}

/// The `--out` and `--html` files, opened before the shrink: a bad path fails now, not
/// after the shrink has spent its runs.
fn open_outputs(args: &ShrinkArgs) -> Result<(Option<Out>, Option<Output>), String> {
    let outputs =
        [("the replay file", args.out.as_deref()), ("the HTML report", args.html.as_deref())];
    vet_outputs(&outputs, args.force)?;
    let out = args.out.as_deref().map(Out::open).transpose()?;
    match open_output("the HTML report", args.html.as_deref()) {
        Ok(html) => Ok((out, html)),
        Err(message) => {
            if let Some(out) = out {
                out.discard();
            }
            Err(message)
        }
    }
}

/// The shrink within the flags' budget; on a terminal, the runs spent so far on one line
/// that is then cleared.
fn shrink_showing_progress(args: &ShrinkArgs) -> Result<Shrunk, String> {
    let config = args.flags.config(args.seed);
    let wall = (args.budget_s > 0).then(|| std::time::Duration::from_secs(args.budget_s));
    let budget = Budget { runs_max: args.runs_max, wall };
    let progress: Box<dyn FnMut(u64)> = match std::io::stderr().is_terminal() {
        true => Box::new(|runs| {
            if runs.is_multiple_of(50) {
                eprint!("\rshrinking: {runs} runs");
            }
        }),
        false => Box::new(|_| {}),
    };
    let shrunk = shrink_within(&config, budget, progress);
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
    shrunk
}

/// The original run and the shrunk one side by side: size, failure, repro, faults.
fn print_summary(shrunk: &Shrunk) {
    crate::cli::emit(&format!(
        "original: {} transactions in the history (attempts and the final read), {}\n",
        shrunk.original_txns,
        shrunk.original_failure.headline()
    ));
    crate::cli::emit(&format!("  {}\n", repro_command(&shrunk.original)));
    crate::cli::emit(&format!(
        "shrunk:   {} transactions in the history, {} ({} runs)\n",
        shrunk.shrunk_txns,
        shrunk.shrunk_failure.headline(),
        shrunk.runs
    ));
    if let Some(stopped) = &shrunk.stopped {
        crate::cli::emit(&format!("  {stopped}\n"));
    }
    if let Some(shape) = shrunk.shrunk.shape.and_then(|shape| shape.describe()) {
        crate::cli::emit(&format!("  the store's shape, shrunk: {shape}\n"));
    }
    let names = evaluate(&shrunk.shrunk).sim.names;
    crate::cli::emit(&format!(
        "  {} (of {} in the original run)\n",
        describe_faults(&shrunk.shrunk_faults, &names),
        shrunk.original_faults.len()
    ));
}

/// The command that reproduces the shrunk run: its flags alone when they can (then an
/// `--out` file made for it is removed again), else a replay file, written to `out` or
/// to a fresh name, which is said.
fn keep_replay(seed: u64, shrunk: &Shrunk, out: Option<Out>) -> Result<String, String> {
    if shrunk.shrunk.keep.is_none()
        && shrunk.shrunk.schedule.is_none()
        && shrunk.shrunk.shape.is_none()
    {
        if let Some(out) = out {
            let shown = out.path.display().to_string();
            out.discard();
            crate::cli::emit(&format!(
                "no replay file needed (flags reproduce it): {shown} not written\n"
            ));
        }
        return Ok(repro_command(&shrunk.shrunk));
    }
    let json = ReplayFile::of(&shrunk.shrunk).to_json();
    let (path, note) = match out {
        Some(out) => out.write(&json),
        None => write_fresh(seed, &json),
    }?;
    crate::cli::emit(&format!("{note}\n"));
    Ok(format!("cargo run -p sim -- run --replay {}", path.display()))
}

/// The shrunk run rerun with its trace: its failure report, every transaction, and the
/// `--html` page. The page's file failing is said on stderr; the shrink still exits 1.
fn report_shrunk(shrunk: &Shrunk, repro: String, html: Option<Output>) {
    let traced = evaluate(&RunConfig { record_trace: true, ..shrunk.shrunk.clone() });
    let repro = Repro { command: repro, record: None };
    crate::cli::emit(&format!("\n{}\n", run_report(&traced, &repro, &Detail::SHRUNK)));
    crate::cli::emit("every transaction of the shrunk run:\n");
    crate::cli::emit(&crate::explain::render::history_compact(&traced.sim.history));
    if let Some(html) = html {
        let notes = [(
            "shrunk from",
            format!(
                "{} to {} transactions in the history ({} runs): {}",
                shrunk.original_txns,
                shrunk.shrunk_txns,
                shrunk.runs,
                repro_command(&shrunk.original)
            ),
        )];
        let page = run_html(&traced, &repro, &notes);
        if let Err(message) = html.write(|out| out.write_all(page.as_bytes())) {
            eprintln!("sim shrink: {message}");
        }
    }
}

/// The `--out` file, opened (created if missing, never truncated) before the shrink, so
/// that an unwritable path fails first.
struct Out {
    path: PathBuf,
    /// It did not exist before: if no replay file is needed after all, it is removed.
    created: bool,
}

impl Out {
    /// Whether it may be overwritten is [`vet_outputs`]'s to say, before this.
    fn open(path: &Path) -> Result<Out, String> {
        let shown = path.display();
        let existed = path.exists();
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| format!("cannot write the replay file {shown}: {e}"))?;
        Ok(Out { path: path.to_path_buf(), created: !existed })
    }

    /// Writes the replay file: its path and a line saying what was written.
    fn write(self, json: &str) -> Result<(PathBuf, String), String> {
        let shown = self.path.display();
        std::fs::write(&self.path, json)
            .map_err(|e| format!("cannot write the replay file {shown}: {e}"))?;
        let note = if self.created {
            format!("wrote replay file {shown}")
        } else {
            format!("overwrote replay file {shown} (--force)")
        };
        Ok((self.path, note))
    }

    /// No replay file is needed: leave no empty file behind.
    fn discard(self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Names tried for the default replay file before giving up.
const FRESH_NAMES_MAX: u64 = 1_000;

/// Writes `json` to `shrunk-SEED.json`, or the first of `shrunk-SEED-2.json`, ... that
/// does not exist (created exclusively, so a concurrent shrink cannot take it either).
fn write_fresh(seed: u64, json: &str) -> Result<(PathBuf, String), String> {
    let first = PathBuf::from(format!("shrunk-{seed}.json"));
    for n in 1..=FRESH_NAMES_MAX {
        let path =
            if n == 1 { first.clone() } else { PathBuf::from(format!("shrunk-{seed}-{n}.json")) };
        let shown = path.display();
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot write the replay file {shown}: {e}")),
        };
        file.write_all(json.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| format!("cannot write the replay file {shown}: {e}"))?;
        let note = if n == 1 {
            format!("wrote replay file {shown}")
        } else {
            format!(
                "wrote replay file {shown} ({} exists, from an earlier shrink)",
                first.display()
            )
        };
        return Ok((path, note));
    }
    Err(format!(
        "shrunk-{seed}.json to shrunk-{seed}-{FRESH_NAMES_MAX}.json all exist: name the file with --out"
    ))
}
