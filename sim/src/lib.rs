//! The harness: a deterministic simulator of a faulty world around the store, and the
//! checker that judges the histories it records.
//!
//! Nothing on the simulated path reads a wall clock, draws OS randomness, spawns a thread
//! or iterates a randomly seeded hash map: one seed fixes the whole run. The checker is an
//! observer: it reads a history (the format of `docs/history-format.md`, the types of
//! `workloads::history`) and never looks inside the store; the same history gives a
//! byte-identical report on every run and machine.

pub mod check;
pub mod cli;
pub mod explain;
pub mod hunt;
pub mod oracle;
pub mod world;
