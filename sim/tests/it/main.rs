//! Integration tests of the `sim` crate, one module per topic.

mod black_box;
mod browser;
mod bugs;
mod check;
mod determinism;
mod docs;
mod export;
mod final_read;
mod html;
mod layers;
mod oracle;
mod reports;
mod run_cli;
mod scene;
mod shrink_cli;
mod snapshots;
mod sweep_cli;
