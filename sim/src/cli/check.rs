//! `sim check FILE [--model serializable|strict-serializable] [--json]`; FILE `-` is stdin.
//!
//! Exit codes: 0 valid, 1 anomalies found, 2 the history could not be checked (unreadable
//! file, malformed history, an empty history: nothing to check; clap reports bad flags with
//! 2 as well). Error messages quote at most 200 bytes of any piece of the input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use node::clip::clip_quoted;

use crate::check::{check, parse_history, Model};

/// How many anomalies of each kind the text report explains in full.
const SHOWN_PER_KIND: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    Serializable,
    StrictSerializable,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// History file: one JSON event per line (see docs/history-format.md); `-` reads
    /// stdin. An empty history has nothing to check: exit 2.
    pub file: PathBuf,
    /// Consistency model to check.
    #[arg(long, value_enum, default_value = "strict-serializable")]
    pub model: ModelArg,
    /// Print the verdict as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &CheckArgs) -> ExitCode {
    let (file, text) = match crate::cli::read_history(&args.file, "sim check") {
        Ok(read) => read,
        Err(code) => return code,
    };
    let model = match args.model {
        ModelArg::Serializable => Model::Serializable,
        ModelArg::StrictSerializable => Model::StrictSerializable,
    };
    let verdict = parse_history(&text).and_then(|events| {
        drop(text);
        check(&events, model)
    });
    let verdict = match verdict {
        Ok(verdict) => verdict,
        Err(e) => {
            // The checker's messages quote keys and values of the history: bound them.
            eprintln!("sim check: {file}:{}: {}", e.line, clip_quoted(&e.message));
            return ExitCode::from(2);
        }
    };
    let out = if args.json {
        format!("{}\n", verdict.to_json())
    } else {
        verdict.render_text(SHOWN_PER_KIND)
    };
    crate::cli::emit(&out);
    if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
