//! The store: an optimistic-concurrency-control (OCC) transactional key-value node, as a
//! pure state machine, durable through a write-ahead log.
//!
//! Clients `occ_begin` a transaction, `occ_read` keys (each read returns the value and the
//! key's version), then `occ_commit` their writes together with the versions they read.
//! The node commits only if every version the transaction relied on is still current, and
//! then bumps each written key's version by exactly one. Commits are idempotent per
//! transaction id for as long as the node remembers the outcome (see [`NodeConfig`]).
//! Several nodes form a cluster (`init`'s `node_ids`): each owns a shard of the keys
//! ([`shard`]), forwards what it does not own, and a commit across shards runs two-phase
//! commit between the owners.
//!
//! [`Node`] is a value, not a process: [`Node::step`] takes an [`io::Input`] (a message,
//! the passing of time, or a finished sync) and the current virtual time, and pushes
//! [`io::Output`]s (send a message, append a log record, sync, compact) for its driver to
//! carry out; [`Node::next_deadline`] says when it next wants a tick. A logging node sends
//! nothing before the records it depends on are durable (persist before send, see
//! [`io`]), and is rebuilt after a crash by [`Node::recover`] from what
//! [`storage::recover`] reads back through the [`storage::Storage`] seam. The same API is
//! driven by the `occ-node` binary (stdin/stdout, wall clock, a real file) and by the
//! simulator (virtual time, a simulated disk that loses and tears what it may).
//!
//! What this library must never do, so that a simulation is reproducible bit for bit:
//! read a clock, draw randomness, spawn threads, do I/O of its own (storage is the
//! driver's, reached only through the trait), iterate a randomly seeded hash map, or panic
//! on any input. The root `clippy.toml` forbids the clock, randomness, thread and hash-map
//! slips; I/O and panics are kept out by review and the fuzz test.
//!
//! Modules: [`protocol`] (typed messages), [`codec`] (JSON lines), [`clip`] (bounded quotes of
//! input in error messages), [`io`] (the step contract), [`wal`] (log records and their framing),
//! [`storage`] (the storage trait and recovery), [`limits`] (what a request may carry), `store`
//! (versioned map, validate/apply), `outcomes` (remembered commit outcomes: durable), `txns` (open
//! transactions and the id counter: volatile), `node` (dispatch and the log's policy;
//! `node::coordinator` and `node::participant`, the cluster's two halves), [`shard`] (a key's
//! owner), [`marks`] (coverage marks on the interesting branches), [`bugs`] (the planted-bug
//! catalogue), `fxmap` (a fixed-hasher hash map, the only one allowed, for tables never iterated).

pub mod bugs;
pub mod clip;
pub mod codec;
pub mod fxmap;
pub mod io;
pub mod limits;
pub mod marks;
mod node;
mod outcomes;
pub mod protocol;
pub mod shard;
pub mod storage;
mod store;
mod txns;
pub mod wal;

pub use bugs::Bug;
pub use node::{
    LogConfig, Node, NodeConfig, TableSizes, IDS_PER_RECORD, PREPARE_TIMEOUT_US, RESEND_US,
};
pub use outcomes::{own_id_number, Outcome, TxnKey};
