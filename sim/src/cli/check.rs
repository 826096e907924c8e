//! `sim check FILE [--model serializable|strict-serializable] [--json]`; FILE `-` is stdin.
//!
//! Exit codes: 0 valid, 1 anomalies found, 2 the history could not be checked (unreadable
//! file, malformed history, an empty history: nothing to check; clap reports bad flags with
//! 2 as well). Error messages quote at most 200 bytes of any piece of the input.
//! `--html FILE` is opened before the history is read; a page that then cannot be written
//! is said on stderr after the verdict, which keeps its exit code 1 (a valid history: 2).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use node::clip::clip_quoted;

use crate::check::{check_with_budget, Model};
use crate::cli::{open_output, vet_outputs, Output};
use crate::explain::html::history_html;

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
    /// Write the verdict as one self-contained HTML page: the anomaly's cycle and each
    /// key's versions (a history has no messages to draw).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Steps the search over ambiguous indeterminate transactions may take before the
    /// verdict is unknown (exit 3); see docs/history-format.md, "Verdicts".
    #[arg(long, value_name = "STEPS", default_value_t = crate::check::STEP_BUDGET)]
    pub search_budget: u64,
    /// Overwrite the --html FILE if it exists (without it an existing file is refused).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &CheckArgs) -> ExitCode {
    let html = vet_outputs(&[("the HTML report", args.html.as_deref())], args.force)
        .and_then(|()| open_output("the HTML report", args.html.as_deref()));
    let html = match html {
        Ok(html) => html,
        Err(message) => {
            eprintln!("sim check: {message}");
            return ExitCode::from(2);
        }
    };
    let discard = |html: Option<Output>| {
        if let Some(html) = html {
            html.discard();
        }
    };
    let (file, events) = match crate::cli::read_history(&args.file, "sim check") {
        Ok(read) => read,
        Err(code) => {
            discard(html);
            return code;
        }
    };
    let model = match args.model {
        ModelArg::Serializable => Model::Serializable,
        ModelArg::StrictSerializable => Model::StrictSerializable,
    };
    let verdict = match check_with_budget(&events, model, args.search_budget) {
        Ok(verdict) => verdict,
        Err(e) => {
            discard(html);
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
    let mut output_failed = false;
    if let Some(html) = html {
        let source = args.file.display().to_string();
        let page = history_html(&source, model, &events, &verdict);
        if let Err(message) = html.write(|out| out.write_all(page.as_bytes())) {
            eprintln!("sim check: {message}");
            output_failed = true;
        }
    }
    match (verdict.valid, output_failed) {
        // Undecided within the budget: neither valid nor shown invalid.
        _ if verdict.is_unknown() => ExitCode::from(3),
        (true, false) => ExitCode::SUCCESS,
        (true, true) => ExitCode::from(2),
        (false, _) => ExitCode::from(1),
    }
}
