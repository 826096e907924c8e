//! The one seam between the world and a store node: everything the world does to a node
//! goes through [`Store`], whatever the node is; [`StoreSpec`] says which store a run
//! tests (the shipped one, a [`CustomStore`] written in Rust, or a binary).
//!
//! Two implementations: [`crate::world::node_host::NodeHost`], a Rust state machine (the
//! shipped store, or any [`Machine`]) on the simulated disk, and
//! [`crate::world::black_box::ProcessHost`], a store binary in any language driven in
//! lockstep over its stdin and stdout. The world gives a store messages, timer ticks,
//! finished syncs, crashes, restarts and the end of the run ([`Store::finish`]), and
//! takes back the messages it sends and what went wrong in a step ([`Stepped`]: a panic,
//! a process's misbehaviour). What only some stores can tell (coverage marks, table
//! sizes, the disk's writes and counts, the two-phase commits they hold, a process's
//! stderr) are optional observations, `None` where a store offers none, and the report
//! says which checks that left out.

use node::marks::Marks;
use node::protocol::Envelope;
use node::TableSizes;

use std::sync::Arc;

use crate::world::disk::{CrashDamage, DiskStats};
use crate::world::faults::FaultMix;
use crate::world::machine::Machine;
use crate::world::node_host::SyncInFlight;
use crate::world::topology::node_host;

/// Which store a run tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreSpec {
    /// The shipped store's state machine, in process, on the simulated disk.
    #[default]
    Builtin,
    /// A store binary, one process per node, driven in lockstep (`--bin`).
    Binary(BinarySpec),
    /// A store written in Rust (a [`Machine`]), in process, on the simulated disk.
    Custom(CustomStore),
}

impl StoreSpec {
    pub fn is_builtin(&self) -> bool {
        matches!(self, StoreSpec::Builtin)
    }

    /// Whether the store runs as processes, beyond the simulated disk's reach.
    pub fn is_binary(&self) -> bool {
        matches!(self, StoreSpec::Binary(_))
    }
}

/// A store written in Rust, run in process like the shipped one: how each of its nodes is
/// built (see [`CustomStore::machine`]).
#[derive(Clone)]
pub struct CustomStore {
    /// What reports call it.
    pub name: String,
    build: Arc<BuildNode>,
}

/// Builds node `name`'s host for a run of `seed` with fault mix `mix`.
type BuildNode = dyn Fn(&FaultMix, u64, &str) -> Box<dyn Store> + Send + Sync;

impl CustomStore {
    /// Every node a [`Machine`] `M` built from `config`, on the simulated disk.
    pub fn machine<M>(name: &str, config: M::Config) -> CustomStore
    where
        M: Machine + 'static,
        M::Config: Send + Sync + 'static,
    {
        let build = move |mix: &FaultMix, seed: u64, node: &str| -> Box<dyn Store> {
            Box::new(node_host::<M>(mix, config.clone(), seed, node))
        };
        CustomStore { name: name.to_owned(), build: Arc::new(build) }
    }

    pub fn build(&self, mix: &FaultMix, seed: u64, node: &str) -> Box<dyn Store> {
        (self.build)(mix, seed, node)
    }
}

impl std::fmt::Debug for CustomStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustomStore({})", self.name)
    }
}

/// Two custom stores are the same store when they have the same name.
impl PartialEq for CustomStore {
    fn eq(&self, other: &CustomStore) -> bool {
        self.name == other.name
    }
}

impl Eq for CustomStore {}

/// How to start a store binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinarySpec {
    /// A shell command line (`sh -c`), run in the node's working directory.
    pub command: String,
}

/// A message as it crosses the seam: its decoded form, for the world's routing and
/// conformance, and its exact line when a process wrote it (a store's private messages
/// to its peers pass through verbatim, fields the codec does not know included).
pub struct Sent {
    pub envelope: Envelope,
    /// `None`: the world encodes `envelope` with the codec, as `occ-node` would.
    pub wire: Option<String>,
}

/// What a store is given.
pub enum Delivery<'a> {
    /// A message, decoded and as its line.
    Message { envelope: Envelope, wire: &'a str },
    /// The store's timer is due (see [`Store::next_deadline`]).
    Tick,
}

/// What one step of a store produced for the world, besides the messages it sent.
#[derive(Default)]
pub struct Stepped {
    /// A sync to schedule: it completes after `delay_us` (see [`Store::sync_done`]).
    pub sync: Option<(SyncInFlight, u64)>,
    /// The store panicked: the message and where. The run stops.
    pub panic: Option<String>,
    /// The store's process misbehaved as a process (exited, hung, never flushed, wrote
    /// what is not a message): said in words a person can act on, never as an anomaly.
    /// The run stops.
    pub process_error: Option<String>,
}

impl Stepped {
    /// Whether the run must stop here.
    pub fn is_fatal(&self) -> bool {
        self.panic.is_some() || self.process_error.is_some()
    }
}

/// What a crash did: the disk's damage to unsynced writes (a store on the simulated disk)
/// and the replies the node held for a sync, lost with it.
pub struct Crashed {
    pub damage: Option<CrashDamage>,
    pub held: Vec<Envelope>,
}

impl Crashed {
    /// A sentence for the trace: what became of the node's unsynced writes.
    pub fn describe(&self) -> String {
        match &self.damage {
            Some(damage) => damage.describe(),
            None => "the process group was killed (SIGKILL) between two steps".to_string(),
        }
    }
}

/// What a restart found: a sentence, and the records and log bytes recovery read (zero
/// for a store whose log the harness cannot see).
pub struct Restarted {
    pub found: String,
    pub records: u64,
    pub log_bytes: u64,
}

/// Why a node did not come back up.
pub enum RestartFailure {
    /// The store panicked recovering.
    Panic(String),
    /// Recovery refused the log (see `node::storage`): what it found.
    Refused(String),
    /// The store's process could not be started again.
    Process(String),
}

/// A store node, as the world drives it.
pub trait Store {
    /// Whether the node is running: a crashed node is down until it restarts.
    fn is_up(&self) -> bool;

    /// Gives the node (if it is up) one message or tick at `local_us` on its clock; the
    /// messages it sends go onto `sends`.
    fn step(&mut self, local_us: u64, delivery: Delivery<'_>, sends: &mut Vec<Sent>) -> Stepped;

    /// A sync the store asked for through [`Stepped::sync`] finished (if it belongs to
    /// this incarnation).
    fn sync_done(
        &mut self,
        local_us: u64,
        incarnation: u64,
        sync: SyncInFlight,
        sends: &mut Vec<Sent>,
    ) -> Stepped;

    /// When the node next wants a [`Delivery::Tick`], on its local clock; `Err` if the
    /// store panicked saying so.
    fn next_deadline(&self) -> Result<Option<u64>, String>;

    /// Crashes (kills) the node; `None` if it was down already.
    fn crash(&mut self) -> Option<Crashed>;

    /// Restarts a node that is down, at `local_us`; the world then sends `init` again.
    fn restart(&mut self, local_us: u64) -> Result<Restarted, RestartFailure>;

    /// Crashes so far: a sync that completes after a crash belongs to no one.
    fn incarnation(&self) -> u64;

    /// Whether the node's disk holds writes not yet synced; `None` if the harness cannot
    /// see its disk (a crash then lands wherever it falls, never aimed).
    fn has_unsynced_writes(&self) -> Option<bool> {
        None
    }

    /// Coverage marks of every incarnation so far.
    fn marks(&self) -> Option<Marks> {
        None
    }

    /// The sizes of the node's tables, for the memory bound; `None` while it is down.
    fn table_sizes(&self) -> Option<TableSizes> {
        None
    }

    /// What the simulated disk did under this node.
    fn disk_stats(&self) -> Option<DiskStats> {
        None
    }

    /// Two-phase commits the node holds unresolved (prepared, decisions), if it can say.
    fn unresolved(&self) -> Option<(usize, usize)> {
        None
    }

    /// Whether this store speaks the shipped store's cluster protocol between its nodes
    /// (so the world may judge those messages and send misrouted ones).
    fn speaks_cluster_protocol(&self) -> bool {
        false
    }

    /// The last lines of what the node wrote on stderr, for reports.
    fn stderr_tail(&self) -> Option<String> {
        None
    }

    /// The run is over: what the store did then that is wrong as a process (a binary
    /// that wrote lines only once its input closed never flushed), if anything.
    fn finish(&mut self) -> Option<String> {
        None
    }
}
