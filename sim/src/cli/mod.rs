//! The `sim` command line: shared argument types and one module per subcommand;
//! `main.rs` only parses and dispatches.

pub mod bugs;
pub mod check;
pub mod export;
pub mod replay;
pub mod run;
pub mod selfcheck;
pub mod shrink;
pub mod sweep;

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use node::clip::clip_quoted;
use workloads::history::Event;

use crate::check::LINE_BYTES_MAX;

/// An output file, created before the work, so that a bad path fails at once (exit 2).
pub(crate) struct Output {
    what: &'static str,
    path: PathBuf,
    file: File,
    /// It did not exist before: [`Output::discard`] may remove it.
    created: bool,
}

/// The one rule for every output flag of every command, checked before any file is
/// opened: two outputs never name one file (they would be written into each other), and
/// an existing regular file is overwritten only with `--force`, since a report or a
/// history kept from an earlier run may be what its user meant to keep. Devices and pipes
/// (`/dev/null`, `/dev/stdout`) are always written. `Err` says which flags and why.
pub(crate) fn vet_outputs(outputs: &[(&str, Option<&Path>)], force: bool) -> Result<(), String> {
    let mut seen: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for &(what, path) in outputs {
        let Some(path) = path else { continue };
        let metadata = std::fs::metadata(path).ok();
        if metadata.as_ref().is_some_and(|m| !m.is_file() && !m.is_dir()) {
            continue;
        }
        if metadata.as_ref().is_some_and(std::fs::Metadata::is_file) && !force {
            return Err(format!(
                "{} exists: pass --force to overwrite it with {what}, or name another file",
                path.display()
            ));
        }
        let same = same_file_key(path);
        if let Some((other, other_path, _)) = seen.iter().find(|(_, _, key)| *key == same) {
            return Err(format!(
                "{other} ({}) and {what} ({}) are one file: each output needs its own",
                other_path.display(),
                path.display()
            ));
        }
        seen.push((what, path, same));
    }
    Ok(())
}

/// What two paths share when they name one file: the canonical path of the file, or of
/// the directory it would be created in, joined with its name.
fn same_file_key(path: &Path) -> PathBuf {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return canonical;
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    parent.join(path.file_name().unwrap_or(path.as_os_str()))
}

/// `Ok(None)` when the flag was not given; `Err` names the file and the OS's reason.
/// Call [`vet_outputs`] on every output of the command first.
pub(crate) fn open_output(
    what: &'static str,
    path: Option<&Path>,
) -> Result<Option<Output>, String> {
    let Some(path) = path else { return Ok(None) };
    let created = !path.exists();
    match File::create(path) {
        Ok(file) => Ok(Some(Output { what, path: path.to_path_buf(), file, created })),
        Err(e) => Err(format!("cannot write {what} to {}: {e}", path.display())),
    }
}

impl Output {
    /// Fills the file; `Err` names it and the OS's reason.
    pub(crate) fn write(
        self,
        fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), String> {
        let mut out = BufWriter::new(self.file);
        fill(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write {} to {}: {e}", self.what, self.path.display()))
    }

    /// The work ended without anything to write: leave no empty file behind (one that
    /// existed before, `/dev/null` say, is left alone).
    pub(crate) fn discard(self) {
        if self.created {
            drop(self.file);
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads a history file for `command` (`-` is stdin): its name for messages and its
/// events, read one bounded line at a time ([`crate::check::read_history`]). An
/// unreadable, malformed or empty one is said on stderr (`sim check: FILE:LINE: why`)
/// and ends the command with exit 2: a truncated or mistyped file must never pass for
/// an empty, valid history.
pub fn read_history(path: &Path, command: &str) -> Result<(String, Vec<Event>), ExitCode> {
    let stdin = path.as_os_str() == "-";
    let name = if stdin { "<stdin>".into() } else { path.display().to_string() };
    let read = if stdin {
        crate::check::read_history(std::io::stdin().lock(), LINE_BYTES_MAX)
    } else {
        match File::open(path) {
            Ok(file) => crate::check::read_history(std::io::BufReader::new(file), LINE_BYTES_MAX),
            Err(e) => {
                eprintln!("{command}: {name}: {e}");
                return Err(ExitCode::from(2));
            }
        }
    };
    match read {
        Err(e) => {
            eprintln!("{command}: {name}:{}: {}", e.line, clip_quoted(&e.message));
            Err(ExitCode::from(2))
        }
        Ok(events) if events.is_empty() => {
            eprintln!("{command}: history {name} is empty: nothing to check");
            Err(ExitCode::from(2))
        }
        Ok(events) => Ok((name, events)),
    }
}

/// Writes to stdout. If stdout fails the command ends at once with exit code 2, the output
/// not delivered, and says so on stderr (`sim: writing stdout: No space left on device`),
/// except when the reader went away (`sim ... | head` closed the pipe): that is the
/// reader's choice, and it ends the command quietly, as it ends other tools.
pub fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        if e.kind() != ErrorKind::BrokenPipe {
            let _ = writeln!(std::io::stderr(), "sim: writing stdout: {e}");
        }
        std::process::exit(2);
    }
}
