//! A store written in Rust as a state machine over `node`'s step API: what the world runs
//! in process, on the simulated disk, with virtual time. The shipped store (`node::Node`)
//! is one; any Rust type that implements [`Machine`] is tested the same way, through
//! [`crate::world::store::StoreSpec::Custom`] (see `sim/examples/rust_store.rs`).

use node::io::{Input, Output};
use node::marks::Marks;
use node::protocol::Envelope;
use node::storage::{self, RecoverError, Storage};
use node::{Node, NodeConfig, TableSizes};

/// One node of a store, as a pure state machine: messages, ticks and finished syncs in;
/// messages to send, log appends and sync requests out (`node::io`). It must hold back a
/// reply until the records it depends on are synced (persist before send), and rebuild
/// itself from its log after a crash.
pub trait Machine: Sized {
    /// What every node of a run is built from.
    type Config: Clone;

    /// A node that has never run: no log yet.
    fn start(config: &Self::Config) -> Self;

    /// The node rebuilt at `now_us` after a crash from its log, as the disk gives it back
    /// (what was synced, and what the crash kept of the rest); what recovery found, in a
    /// sentence and in records and log bytes. `Err` says why the log is refused.
    fn recover(
        config: &Self::Config,
        log: &mut dyn Storage,
        now_us: u64,
    ) -> Result<(Self, Recovery), String>;

    fn step(&mut self, now_us: u64, input: Input, outputs: &mut Vec<Output>);

    /// When the node next wants an `Input::Tick`, on its clock (never, by default).
    fn next_deadline(&self) -> Option<u64> {
        None
    }

    /// Optional observations, `None` where a store offers none (see
    /// [`crate::world::store::Store`]).
    fn marks(&self) -> Option<Marks> {
        None
    }
    fn table_sizes(&self) -> Option<TableSizes> {
        None
    }
    /// The replies held for a sync, lost with the node when it crashes.
    fn held_replies(&self) -> Vec<Envelope> {
        Vec::new()
    }
    fn unresolved(&self) -> Option<(usize, usize)> {
        None
    }
    /// Whether its nodes speak the shipped store's cluster protocol to each other.
    fn speaks_cluster_protocol() -> bool {
        false
    }
}

/// What a recovery found.
pub struct Recovery {
    pub found: String,
    pub records: u64,
    pub log_bytes: u64,
}

impl Machine for Node {
    type Config = NodeConfig;

    fn start(config: &NodeConfig) -> Node {
        Node::new(config.clone())
    }

    fn recover(
        config: &NodeConfig,
        log: &mut dyn Storage,
        now_us: u64,
    ) -> Result<(Node, Recovery), String> {
        match storage::recover(log, config.bug) {
            Ok(recovered) => {
                let found = Recovery {
                    found: recovered.summary(),
                    records: recovered.frames as u64,
                    log_bytes: recovered.log_len,
                };
                Ok((Node::recover(config.clone(), recovered, now_us), found))
            }
            Err(RecoverError::Damaged(damage)) => Err(damage.to_string()),
            Err(RecoverError::Io(e)) => panic!("the simulated disk does not fail: {e}"),
        }
    }

    fn step(&mut self, now_us: u64, input: Input, outputs: &mut Vec<Output>) {
        Node::step(self, now_us, input, outputs)
    }

    fn next_deadline(&self) -> Option<u64> {
        Node::next_deadline(self)
    }

    fn marks(&self) -> Option<Marks> {
        Some(Node::marks(self))
    }

    fn table_sizes(&self) -> Option<TableSizes> {
        Some(Node::table_sizes(self))
    }

    fn held_replies(&self) -> Vec<Envelope> {
        Node::held_replies(self).cloned().collect()
    }

    fn unresolved(&self) -> Option<(usize, usize)> {
        Some(Node::unresolved(self))
    }

    fn speaks_cluster_protocol() -> bool {
        true
    }
}
