//! The `sim` command line: shared argument types and one module per subcommand;
//! `main.rs` only parses and dispatches.

pub mod args;
pub mod bugs;
pub mod check;
pub mod replay;
pub mod run;
pub mod shrink;
pub mod sweep;

use std::io::{ErrorKind, Write as _};

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
