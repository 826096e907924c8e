//! `sim export --format elle HISTORY`: the history as Jepsen/Elle JSON on stdout (see
//! `sim::explain::elle` and docs/history-format.md), for elle-cli's `rw-register` checker.
//!
//! Exit codes: 0 written; 2 the history could not be read or is not well formed (clap
//! reports an unknown format with 2 as well).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use node::clip::clip_quoted;

use crate::check::{check, Model};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Jepsen/Elle JSON, one operation per line (rw-register).
    Elle,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// What to write.
    #[arg(long, value_enum)]
    pub format: Format,
    /// History file in the format of docs/history-format.md; `-` reads stdin.
    pub file: PathBuf,
}

pub fn run(args: &ExportArgs) -> ExitCode {
    let (file, events) = match crate::cli::read_history(&args.file, "sim export") {
        Ok(read) => read,
        Err(code) => return code,
    };
    // Only a well-formed history is exported: Elle would misread a broken one silently.
    match check(&events, Model::Serializable) {
        Ok(_) => {
            crate::cli::emit(&match args.format {
                Format::Elle => crate::explain::elle::export(&events),
            });
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sim export: {file}:{}: {}", e.line, clip_quoted(&e.message));
            ExitCode::from(2)
        }
    }
}
