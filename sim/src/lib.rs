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
pub mod clock;
pub mod conformance;
pub mod elle;
pub mod faults;
pub mod fingerprint;
pub mod invariants;
pub mod network;
pub mod outcome;
pub mod panics;
pub mod queue;
pub mod render;
pub mod replay_file;
pub mod report;
pub mod seeds;
pub mod shrink;
pub mod streams;
pub mod sweep;
pub mod world;
