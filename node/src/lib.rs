//! The store: an optimistic-concurrency-control (OCC) transactional key-value node, as a
//! pure state machine.
//!
//! Clients `occ_begin` a transaction, `occ_read` keys (each read returns the value and the
//! key's version), then `occ_commit` their writes together with the versions they read.
//! The node commits only if every version the transaction relied on is still current, and
//! then bumps each written key's version by exactly one. Commits are idempotent per
//! transaction id for as long as the node remembers the outcome (see [`NodeConfig`]).
//!
//! [`Node`] is a value, not a process: [`Node::handle`] takes a message and the current
//! virtual time, [`Node::tick`] takes the passing of time, [`Node::next_deadline`] says
//! when it next wants a tick, and replies go into an outbox the caller drains. The same API
//! is driven by the `occ-node` binary (stdin/stdout, wall clock) and by the simulator.
//!
//! What this library must never do, so that a simulation is reproducible bit for bit:
//! read a clock, draw randomness, spawn threads, do I/O, iterate a randomly seeded hash
//! map, or panic on any input. The root `clippy.toml` forbids the clock, randomness, thread
//! and hash-map slips; I/O and panics are kept out by review and the fuzz test.
//!
//! Modules: [`protocol`] (typed messages), [`codec`] (JSON lines), [`clip`] (bounded quotes
//! of input in error messages), `store` (versioned map,
//! validate/apply), `txns` (open transactions, outcomes, expiry), `node` (dispatch), [`marks`]
//! (coverage marks on the interesting branches),
//! `fxmap` (a fixed-hasher hash map, the only one allowed, for tables never iterated).

pub mod bugs;
pub mod clip;
pub mod codec;
pub mod fxmap;
pub mod marks;
mod node;
pub mod protocol;
mod store;
mod txns;

pub use bugs::Bug;
pub use node::{Node, NodeConfig};
