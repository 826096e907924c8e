//! The `sim` command line: argument types and one module per subcommand.

pub mod args;
pub mod run;
