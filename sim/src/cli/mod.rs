//! The `sim` command line: shared argument types and one module per subcommand;
//! `main.rs` only parses and dispatches.

pub mod args;
pub mod bugs;
pub mod check;
pub mod replay;
pub mod run;
pub mod shrink;
pub mod sweep;

use std::io::Write as _;

/// Writes to stdout. If stdout is gone (`sim ... | head` closed the pipe) the command ends
/// with exit code 2 and no panic: the output could not be delivered.
pub fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        std::process::exit(2);
    }
}
