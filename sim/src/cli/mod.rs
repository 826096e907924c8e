//! Subcommands of the `sim` binary, one module each; `main.rs` only parses and dispatches.

pub mod check;
