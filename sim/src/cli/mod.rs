//! The `sim` command line: shared argument types and one module per subcommand;
//! `main.rs` only parses and dispatches.

pub mod args;
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

/// `Ok(None)` when the flag was not given; `Err` names the file and the OS's reason.
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
