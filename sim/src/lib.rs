//! The simulation harness for the OCC key-value store: for now, the history checker
//! (`sim check`).
//!
//! The checker is an observer: it reads a history (the format of DESIGN.md, the types of
//! `workloads::history`) and never looks inside the store. It must be deterministic:
//! the same history gives a byte-identical report on every run and machine, so nothing
//! here iterates a randomly seeded hash map or reads a clock.

pub mod check;
pub mod cli;
