//! Clients and workloads of the harness: transaction generators, the client state machine
//! that runs them against the store, and the history format both record.
//!
//! Like the store, everything here is a pure state machine driven by the simulator: no
//! clock, no threads, no I/O, no randomness but the seeded stream each client is handed.

pub mod client;
pub mod history;
pub mod workload;
