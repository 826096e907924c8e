//! `sim bugs`: the planted bugs `--bug` can switch on, one line each.

use std::process::ExitCode;

use node::Bug;

pub fn run() -> ExitCode {
    for bug in Bug::ALL {
        crate::cli::emit(&format!("{:<28} {}\n", bug.name(), bug.description()));
    }
    ExitCode::SUCCESS
}
