//! The `sim` command line: shared argument types and one module per subcommand;
//! `main.rs` only parses and dispatches.

pub mod args;
pub mod bugs;
pub mod check;
pub mod replay;
pub mod run;
pub mod shrink;
pub mod sweep;
