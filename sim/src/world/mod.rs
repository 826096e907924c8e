//! The simulated world: processes (store nodes and clients), the event queue, the
//! network, the nemesis and the clocks, stepped one event at a time.
//!
//! Nodes run the real `node` state machine through its public step API; clients run the
//! `workloads` client. Every message is encoded and decoded by the same codec `occ-node`
//! uses, so what is simulated is what ships. A run has two phases: faults, then (once most
//! of the work is done, or a time cap passes) everything heals and the clients must finish
//! within a bound. Once every client is done and nothing is left in flight, a final read
//! of every key closes the history, marked final: what it reads is each key's end state.

pub mod black_box;
pub mod clock;
pub mod conformance;
pub mod cost;
pub mod disk;
pub mod faults;
pub mod fingerprint;
pub mod liveness;
pub mod machine;
pub mod membership;
mod nemesis;
pub mod network;
pub mod node_host;
pub mod panics;
pub mod queue;
pub mod reservations;
pub mod store;
pub mod streams;
pub mod timed_text;
pub mod topology;

pub use liveness::{EVENTS_PER_INSTANT_MAX, FINAL_READ_KEYS_MAX, STALL_BOUND_US};

use std::collections::{BTreeMap, BTreeSet};

use node::codec;
use node::marks::Marks;
use node::protocol::{Body, Envelope, KeyValue, Payload};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use workloads::client::{Client, ClientStats, Record, Source};
use workloads::history::Event;
use workloads::workload::{Generator, Workload};

use crate::check::invariants::Violation;
use crate::world::black_box::ProcessHost;
use crate::world::clock::Clock;
use crate::world::conformance::Conformance;
use crate::world::disk::DiskStats;
use crate::world::faults::{FaultMix, FaultSpec};
use crate::world::fingerprint::Fingerprint;
use crate::world::nemesis::CrashAim;
use crate::world::network::{Fate, Network, NetworkStats};
use crate::world::node_host::SyncInFlight;
use crate::world::queue::EventQueue;
use crate::world::store::{Delivery, Sent, Stepped, Store, StoreSpec};
use crate::world::streams::stream;
use crate::world::timed_text::TimedText;
use crate::world::topology::{
    client_config, home_node, layout, node_config, node_host, with_whims, Membership, Role, Shape,
};

/// Where the simulator's own `init` comes from; replies to it are not routed.
const CONTROLLER: &str = "sim";

/// What a run is asked to do (the CLI's run flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunConfig {
    pub seed: u64,
    pub workload: Workload,
    /// Store nodes, each the owner of a shard of the keys (1: a single node, as always).
    pub nodes: u32,
    pub clients: u32,
    /// Logical transactions in all, spread over the clients.
    pub txns: u64,
    /// Keys per key family of the workload.
    pub keys: u32,
    pub faults: FaultSpec,
    /// A planted bug switched on in the store (`--bug`); `None` tests the real store.
    pub bug: Option<node::Bug>,
    /// Keep every message event (for `--trace` and failure reports).
    pub record_trace: bool,
    /// Run only these programs: client number (from 1) -> indices of its generated
    /// programs to run (the others are drawn and skipped). `None` runs everything. Set by
    /// the shrinker; a run that uses it is reproduced from a replay file, not flags.
    pub keep: Option<BTreeMap<u32, BTreeSet<u64>>>,
    /// Which store the run tests: the shipped one, or a binary (`--bin`).
    pub store: StoreSpec,
    /// Which fault events happen, and how soon the nemesis strikes (see
    /// [`faults::FaultSchedule`]). `None`: all, as drawn. Set by the shrinker.
    pub schedule: Option<faults::FaultSchedule>,
    /// The store's snapshot interval and TTLs, over what the seed drew (see [`Shape`]).
    /// `None`: as drawn. Set by the shrinker.
    pub shape: Option<Shape>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 0,
            workload: Workload::Mixed,
            nodes: 1,
            clients: 5,
            txns: 300,
            keys: 5,
            faults: FaultSpec::Swarm,
            bug: None,
            record_trace: false,
            keep: None,
            store: StoreSpec::Builtin,
            schedule: None,
            shape: None,
        }
    }
}

/// One entry of the message trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    Send {
        time_us: u64,
        source: usize,
        target: usize,
        wire: String,
        fate: String,
    },
    Deliver {
        time_us: u64,
        source: usize,
        target: usize,
        wire: String,
    },
    Partition {
        time_us: u64,
        kind: &'static str,
        cut: Vec<(usize, usize)>,
    },
    /// A partition (`kind` "partition") or the long isolation ended.
    PartitionHealed {
        time_us: u64,
        kind: &'static str,
    },
    Heal {
        time_us: u64,
    },
    /// A store node crashed; `damage` says what became of its unsynced writes, `held` how
    /// many replies it was holding for a sync (lost with it).
    Crash {
        time_us: u64,
        process: usize,
        damage: String,
        held: usize,
    },
    /// A store node restarted; `recovered` says what recovery found in its log.
    Restart {
        time_us: u64,
        process: usize,
        recovered: String,
    },
    /// A message reached a process that was down, and was lost.
    Undelivered {
        time_us: u64,
        source: usize,
        target: usize,
        wire: String,
    },
}

/// What a run produced, before checking.
pub struct Simulation {
    pub config: RunConfig,
    pub mix: FaultMix,
    /// Process names by index: the nodes first, then the clients, then the final reader.
    pub names: Vec<String>,
    /// The store nodes' `node_ids` in the order the simulator's `init` named them (drawn
    /// in a cluster: see [`Membership`]).
    pub node_ids: Vec<String>,
    /// What each process is, by the same index.
    pub roles: Vec<Role>,
    pub history: Vec<Event>,
    /// Which simulated process (index into `names`) each history process ran on.
    pub process_index: BTreeMap<u64, usize>,
    pub trace: Vec<TraceEvent>,
    pub clients: ClientStats,
    pub network: NetworkStats,
    pub fingerprint: u64,
    pub virtual_duration_us: u64,
    pub healed_at_us: Option<u64>,
    /// Set when work could not finish within its bound.
    pub liveness_failure: Option<TimedText>,
    /// Set when the simulator itself hit something impossible (e.g. a codec round trip
    /// failed): the run's verdict cannot be trusted.
    pub internal_error: Option<TimedText>,
    /// Set when the store panicked: the message and where. The run stops there.
    pub node_panic: Option<TimedText>,
    /// Set when a node's recovery refused its log (damage it must not cut): for the
    /// correct store, whose disk only ever loses unsynced writes, always a bug. The run
    /// stops there.
    pub node_refused: Option<TimedText>,
    /// Set when a store's process misbehaved as a process (see [`Stepped`]): no verdict
    /// about the store's transactions. The run stops there.
    pub process_error: Option<TimedText>,
    /// What the store's messages broke of the protocol (see `conformance`).
    pub protocol_violations: Vec<Violation>,
    /// The store's coverage marks (all nodes together): which interesting branches this
    /// run took, how often.
    pub marks: Marks,
    /// The nodes' disks together: syncs, crashes and what they did to unsynced writes.
    pub disk: DiskStats,
    /// Commits a store binary answered without per-key versions: `(derived, not
    /// provable)` (see `workloads::client::derive_versions`).
    pub versions_derived: (u64, u64),
}

enum Actor {
    Node(Box<dyn Store>),
    Client(Box<Client>),
    /// The final reader before it is spawned.
    Dormant,
}

struct Process {
    name: String,
    role: Role,
    clock: Clock,
    actor: Actor,
    /// Bumped whenever the scheduled tick changes, so superseded ticks are ignored.
    tick_generation: u64,
    tick_at_us: Option<u64>,
    /// The moment the nemesis waits for to crash this node, if it waits (see
    /// `World::crash`).
    crash_aim: Option<CrashAim>,
}

enum Action {
    Deliver {
        source: usize,
        target: usize,
        wire: String,
    },
    Tick {
        process: usize,
        generation: u64,
    },
    PartitionStart,
    PartitionEnd,
    /// The long isolation of one store node starts, and ends.
    IsolationStart,
    IsolationEnd,
    /// The simulator initialises a store node (at time 0, or later under `quirks`).
    Init {
        process: usize,
    },
    /// A store node's sync finished (if the node has not crashed since).
    SyncDone {
        process: usize,
        incarnation: u64,
        sync: SyncInFlight,
    },
    /// The nemesis crashes a store node, and later restarts it.
    Crash {
        process: usize,
    },
    Restart {
        process: usize,
    },
    /// Under `quirks` in a cluster: a request for a key its recipient does not own, sent
    /// in another node's name (see [`World::misroute`]).
    Misroute,
}

struct World {
    config: RunConfig,
    mix: FaultMix,
    processes: Vec<Process>,
    by_name: BTreeMap<String, usize>,
    /// The cluster's `node_ids`, in `init`'s order (see [`Membership`]).
    node_ids: Vec<String>,
    queue: EventQueue<Action>,
    network: Network,
    nemesis: ChaCha8Rng,
    /// Crash times and downtimes: a stream of their own, so partitions draw as before.
    crash_nemesis: ChaCha8Rng,
    /// Which held-back crashes wait for an early release: a stream of its own, so that
    /// the crash times drawn from `crash_nemesis` stay what they were.
    crash_aim: ChaCha8Rng,
    /// Which node the long isolation cuts off, and from whom.
    isolation_nemesis: ChaCha8Rng,
    /// The long isolation waits for the next commit decision to cut it off.
    isolation_waits_for_decision: bool,
    fingerprint: Fingerprint,
    history: Vec<Event>,
    process_index: BTreeMap<u64, usize>,
    trace: Vec<TraceEvent>,
    outbox: Vec<Envelope>,
    /// What a node sent in its step, reused from step to step.
    node_outbox: Vec<Sent>,
    records: Vec<Record>,
    healed_at_us: Option<u64>,
    final_reader: usize,
    final_spawned: bool,
    internal_error: Option<TimedText>,
    node_panic: Option<TimedText>,
    node_refused: Option<TimedText>,
    process_error: Option<TimedText>,
    conformance: Conformance,
    last_us: u64,
    /// Events handled at `last_us` so far (see [`EVENTS_PER_INSTANT_MAX`]).
    events_this_instant: u64,
    /// Logical transactions finished by all clients.
    finished: u64,
    /// When a client last got an answer that moved its work on (or the heal, if later):
    /// the liveness clock. A long scan makes progress read by read, not only when it ends.
    last_progress_us: u64,
    /// Message copies scheduled for delivery and not yet delivered: the final read waits
    /// for zero, so no commit still in the network can land after it.
    in_flight: u64,
    /// Draws of the misrouted requests (`quirks` in a cluster only): a stream of their
    /// own, so nothing else draws otherwise.
    misroute: Option<ChaCha8Rng>,
    /// Misrouted requests sent so far (their `msg_id`s count up from
    /// [`MISROUTE_MSG_ID_BASE`]).
    misroutes_sent: u64,
}

/// The first `msg_id` of the misrouted requests the simulator sends in a node's name:
/// above any a node uses (a restarted node numbers from its log's next LSN times 2^32, and
/// no run appends 2^30 records), so that their answers are told from the answers to the
/// node's own requests, and taken out of the network.
pub const MISROUTE_MSG_ID_BASE: u64 = 1 << 62;

/// The most time between two misrouted requests.
const MISROUTE_INTERVAL_US_MAX: u64 = 50_000;

/// Runs one simulated test to completion (or to its liveness bound).
pub fn simulate(config: &RunConfig) -> Simulation {
    simulate_observed(config, u64::MAX, &mut |_| {})
}

/// How far a run has got, for a progress bar: logical transactions finished of those
/// planned, and the virtual time.
#[derive(Clone, Copy, Debug)]
pub struct RunProgress {
    pub finished: u64,
    pub planned: u64,
    pub virtual_us: u64,
}

/// Events between two calls of a progress bar's observer: rare enough to cost nothing.
pub const OBSERVE_EVERY: u64 = 1 << 16;

/// [`simulate`], calling `observe` every `every` events. The observer only reads, so the
/// run is the same with or without one.
pub fn simulate_observed(
    config: &RunConfig,
    every: u64,
    observe: &mut dyn FnMut(&RunProgress),
) -> Simulation {
    let mut world = World::new(config.clone());
    let liveness_failure = world.run(every.max(1), observe);
    world.finish_stores();
    let virtual_duration_us = world.last_us;
    let clients = world.client_stats();
    let versions_derived = world.versions_derived();
    let (mut marks, mut disk) = (Marks::default(), DiskStats::default());
    for process in &world.processes {
        if let Actor::Node(host) = &process.actor {
            marks.add(&host.marks().unwrap_or_default());
            disk.add(&host.disk_stats().unwrap_or_default());
        }
    }
    Simulation {
        config: world.config,
        mix: world.mix,
        names: world.processes.iter().map(|p| p.name.clone()).collect(),
        node_ids: world.node_ids,
        roles: world.processes.iter().map(|p| p.role).collect(),
        history: world.history,
        process_index: world.process_index,
        trace: world.trace,
        clients,
        network: world.network.stats,
        fingerprint: world.fingerprint.finish(),
        virtual_duration_us,
        healed_at_us: world.healed_at_us,
        liveness_failure,
        internal_error: world.internal_error,
        node_panic: world.node_panic,
        node_refused: world.node_refused,
        process_error: world.process_error,
        protocol_violations: world.conformance.finish(),
        marks,
        disk,
        versions_derived,
    }
}

impl World {
    fn new(config: RunConfig) -> World {
        assert!(config.clients > 0, "a run needs at least one client");
        let mix = mix_of(&config);
        let membership = Membership::draw(config.nodes, config.seed);
        let processes = processes_of(&config, &mix, &membership);
        let final_reader = processes.len() - 1;
        assert_eq!(
            processes[final_reader].role,
            Role::FinalReader,
            "the final reader is the last process"
        );
        let by_name = processes.iter().enumerate().map(|(i, p)| (p.name.clone(), i)).collect();
        let network = Network::new(mix.clone(), config.seed).with_schedule(config.schedule.clone());
        let process_count = processes.len();
        let node_config = node_config(&mix, config.bug, config.seed, config.shape.as_ref());
        let misroute = (mix.quirks.is_some() && config.nodes > 1 && config.store.is_builtin())
            .then(|| stream(config.seed, "quirks/misroute"));
        let mut world = World {
            nemesis: stream(config.seed, "nemesis"),
            crash_nemesis: stream(config.seed, "nemesis/crash"),
            crash_aim: stream(config.seed, "nemesis/crash-aim"),
            isolation_nemesis: stream(config.seed, "nemesis/isolation"),
            isolation_waits_for_decision: false,
            mix,
            processes,
            by_name,
            node_ids: membership.node_ids.clone(),
            queue: EventQueue::default(),
            network,
            fingerprint: Fingerprint::default(),
            history: Vec::new(),
            process_index: BTreeMap::new(),
            trace: Vec::new(),
            outbox: Vec::new(),
            node_outbox: Vec::new(),
            records: Vec::new(),
            healed_at_us: None,
            final_reader,
            final_spawned: false,
            internal_error: None,
            node_panic: None,
            node_refused: None,
            process_error: None,
            conformance: conformance_of(&config, &membership, process_count, &node_config),
            last_us: 0,
            events_this_instant: 0,
            finished: 0,
            last_progress_us: 0,
            in_flight: 0,
            misroute,
            misroutes_sent: 0,
            config,
        };
        world.start();
        world
    }

    fn start(&mut self) {
        let config =
            node_config(&self.mix, self.config.bug, self.config.seed, self.config.shape.as_ref());
        // With quirky clients each node is initialised up to 1ms late, so that requests
        // reach it before `init` (and must be refused with error 11).
        let mut init_delays = stream(self.config.seed, "node/init");
        for index in self.node_indices() {
            let name = &self.processes[index].name;
            let host: Box<dyn Store> = match &self.config.store {
                StoreSpec::Builtin => Box::new(node_host::<node::Node>(
                    &self.mix,
                    config.clone(),
                    self.config.seed,
                    name,
                )),
                StoreSpec::Custom(custom) => custom.build(&self.mix, self.config.seed, name),
                StoreSpec::Binary(spec) => match ProcessHost::start(name, spec.clone()) {
                    Ok(host) => Box::new(host),
                    Err(message) => {
                        self.process_error = Some(format!("{name}: {message}").into());
                        return;
                    }
                },
            };
            self.processes[index].actor = Actor::Node(host);
            let init_us = match self.mix.quirks {
                Some(_) => init_delays.gen_range(0..=1_000),
                None => 0,
            };
            if init_us == 0 {
                self.init_node(index, 0);
            } else {
                self.queue.push(init_us, Action::Init { process: index });
            }
        }
        for index in 0..self.processes.len() {
            self.reschedule(index, 0);
        }
        if let Some(schedule) = self.mix.partition {
            let first = self.nemesis.gen_range(1..=schedule.interval_us_max);
            self.queue.push(self.network.stats.faults.wait_us(first), Action::PartitionStart);
        }
        for index in self.node_indices() {
            self.schedule_crash(0, index);
        }
        if let Some(isolation) = self.mix.isolation {
            let at_us = self.network.stats.faults.wait_us(isolation.at_us);
            self.queue.push(at_us, Action::IsolationStart);
        }
        if let Some(rng) = &mut self.misroute {
            let first_us = rng.gen_range(1..=MISROUTE_INTERVAL_US_MAX);
            self.queue.push(first_us, Action::Misroute);
        }
    }

    /// Sends a node, in another node's name, a request naming a key the node does not
    /// own, as a node with another shard map would (nodes told the same ids in another
    /// order): a read, a one-phase commit, or a prepare followed by its decision. The node
    /// must refuse it with error 22 and do nothing of it (conformance's
    /// `unowned-key-served`); its answer is taken out of the network, so the node whose
    /// name was borrowed never sees it. Only in the fault phase, so that the final read
    /// waits for nothing of it.
    fn misroute(&mut self, now_us: u64) {
        let Some(rng) = &mut self.misroute else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        let nodes = self.config.nodes as usize;
        let target = rng.gen_range(0..nodes);
        let source = (target + rng.gen_range(1..nodes)) % nodes;
        let kind = rng.gen_range(0..3);
        let first_key = rng.gen_range(0..self.config.keys);
        let next_us = now_us + rng.gen_range(1..=MISROUTE_INTERVAL_US_MAX);
        self.queue.push(next_us, Action::Misroute);
        let (src, dest) =
            (self.processes[source].name.clone(), self.processes[target].name.clone());
        let node_ids = self.node_ids();
        let unowned = (first_key..first_key + 1_000).map(|k| format!("r{k}"));
        let Some(key) = unowned.into_iter().find(|key| membership::owner(key, &node_ids) != dest)
        else {
            return;
        };
        let owner = membership::owner(&key, &node_ids).to_owned();
        let txn_id = format!("misrouted{}.{src}", self.misroutes_sent);
        let write = vec![KeyValue { key: key.clone(), value: "misrouted".into() }];
        let mut requests = match kind {
            0 => vec![Payload::OccRead { txn_id, key: key.clone() }],
            1 => vec![Payload::OccCommit { txn_id, writes: write, read_versions: Vec::new() }],
            _ => vec![
                Payload::TxnPrepare {
                    txn_id: txn_id.clone(),
                    writes: write,
                    read_versions: Vec::new(),
                },
                // A decision names no key: its answer is not judged, but it must apply
                // nothing, since nothing was prepared.
                Payload::TxnDecide { txn_id, committed: true },
            ],
        };
        for (i, payload) in requests.drain(..).enumerate() {
            let msg_id = MISROUTE_MSG_ID_BASE + self.misroutes_sent;
            self.misroutes_sent += 1;
            let body = Body { msg_id: Some(msg_id), in_reply_to: None, payload };
            let envelope = Envelope { src: src.clone(), dest: dest.clone(), body };
            if i == 0 {
                self.conformance.misrouted(target, &envelope, &key, &owner);
            }
            self.transmit(now_us, source, envelope);
        }
    }

    /// The cluster's `node_ids`, in the order `init` names them (the shard map's): drawn,
    /// not the nodes' process order. Code that needs a node's process index looks its
    /// name up, never its position in this list.
    fn node_ids(&self) -> Vec<String> {
        self.node_ids.clone()
    }

    /// The store nodes' process indices (the first processes).
    fn node_indices(&self) -> std::ops::Range<usize> {
        0..self.config.nodes as usize
    }

    /// The workload clients' process indices (after the nodes).
    fn client_indices(&self) -> std::ops::Range<usize> {
        let nodes = self.config.nodes as usize;
        nodes..nodes + self.config.clients as usize
    }

    /// The simulator's own `init` of node `index`, naming every node of the cluster (in
    /// order: the shard map comes from it); replies to it go nowhere.
    fn init_node(&mut self, index: usize, now_us: u64) {
        let node_id = self.processes[index].name.clone();
        let node_ids = self.node_ids();
        let init = Envelope {
            src: CONTROLLER.into(),
            dest: node_id.clone(),
            body: Body {
                msg_id: Some(0),
                in_reply_to: None,
                payload: Payload::Init { node_id: node_id.clone(), node_ids },
            },
        };
        let local_us = self.processes[index].clock.local(now_us);
        let wire = codec::encode_to_string(&init);
        let Actor::Node(host) = &mut self.processes[index].actor else { return };
        // Replies to it go nowhere; a sync it needs is the host's business.
        let delivery = Delivery::Message { envelope: init, wire: &wire };
        let stepped = host.step(local_us, delivery, &mut Vec::new());
        let sizes = host.table_sizes().unwrap_or_default();
        if let Some(message) = stepped.panic {
            self.node_panic = Some(format!("{node_id} panicked on init: {message}").into());
        }
        if let Some(message) = stepped.process_error {
            self.process_error = Some(format!("{node_id} on init: {message}").into());
        }
        self.schedule_sync(index, now_us, stepped.sync);
        self.conformance.initialised(index, local_us, sizes);
        self.reschedule(index, now_us);
    }

    /// Steps events until the final read completes. Returns a liveness failure, if any.
    fn run(&mut self, every: u64, observe: &mut dyn FnMut(&RunProgress)) -> Option<TimedText> {
        let mut events = 0u64;
        while let Some((now_us, action)) = self.queue.pop() {
            events += 1;
            if events.is_multiple_of(every) {
                let finished = self.client_stats().finished;
                observe(&RunProgress { finished, planned: self.config.txns, virtual_us: now_us });
            }
            if self.internal_error.is_some()
                || self.node_panic.is_some()
                || self.node_refused.is_some()
                || self.process_error.is_some()
            {
                return None;
            }
            if self.healed_at_us.is_some() && now_us > self.last_progress_us + STALL_BOUND_US {
                return Some(self.liveness_report(now_us));
            }
            if now_us == self.last_us {
                self.events_this_instant += 1;
                if self.events_this_instant > EVENTS_PER_INSTANT_MAX {
                    return Some(self.time_stopped_report(now_us, &action));
                }
            } else {
                self.events_this_instant = 1;
            }
            self.last_us = now_us;
            match action {
                Action::Deliver { source, target, wire } => {
                    self.in_flight -= 1;
                    self.deliver(now_us, source, target, wire)
                }
                Action::Tick { process, generation } => {
                    if self.processes[process].tick_generation == generation {
                        self.processes[process].tick_at_us = None;
                        self.step(process, now_us, None);
                    }
                }
                Action::PartitionStart => self.partition_start(now_us),
                Action::PartitionEnd => self.partition_end(now_us),
                Action::IsolationStart => self.isolation_start(now_us),
                Action::IsolationEnd => self.isolation_end(now_us),
                Action::Init { process } => self.init_node(process, now_us),
                Action::SyncDone { process, incarnation, sync } => {
                    self.sync_done(process, now_us, incarnation, sync)
                }
                Action::Crash { process } => self.crash(process, now_us),
                Action::Restart { process } => self.restart(process, now_us),
                Action::Misroute => self.misroute(now_us),
            }
            self.advance_phase(now_us);
            if self.final_spawned && self.is_done(self.final_reader) {
                return self.final_read_failure();
            }
        }
        Some(
            TimedText::from("nothing left to happen at ")
                .time_us(self.last_us)
                .words(" but the run has not finished: ")
                .then(self.stuck_clients()),
        )
    }
}

impl Process {
    fn new(name: String, role: Role, clock: Clock, actor: Actor) -> Process {
        Process { name, role, clock, actor, tick_generation: 0, tick_at_us: None, crash_aim: None }
    }
}

/// The faults a run draws from its seed, less the disk's where the store is a process:
/// it writes to a real disk, which the simulated one's faults cannot reach.
fn mix_of(config: &RunConfig) -> FaultMix {
    let mut mix = FaultMix::draw(&config.faults, config.seed);
    if config.store.is_binary() {
        mix.disk = None;
    }
    if let Some(shape) = &config.shape {
        shape.apply_to_mix(&mut mix);
    }
    mix
}

/// The store's configuration in run `config`: its drawn TTLs and snapshot interval, with
/// the config's shape over them.
pub fn store_config_of(config: &RunConfig) -> node::NodeConfig {
    node_config(&mix_of(config), config.bug, config.seed, config.shape.as_ref())
}

/// Every process of the run, in layout order (the nodes, the clients, the final reader),
/// each with its clock: the workload clients ready to run, the rest dormant until the
/// run starts or ends.
fn processes_of(config: &RunConfig, mix: &FaultMix, membership: &Membership) -> Vec<Process> {
    let clock_of = |name: &str| match mix.clock {
        None => Clock::default(),
        Some(skew) => {
            let mut rng = stream(config.seed, &format!("clock/{name}"));
            let drift = rng.gen_range(-skew.drift_ppm_max..=skew.drift_ppm_max);
            Clock::new(rng.gen_range(0..=skew.offset_us_max), drift)
        }
    };
    // In layout order, so that clocks draw as they always did.
    let mut processes = Vec::new();
    for (name, role) in layout(&membership.names, config.clients) {
        let clock = clock_of(&name);
        let actor = match role {
            Role::Client => {
                let slot = (processes.len() - config.nodes as usize) as u64;
                let client = workload_client(config, mix, membership, name.clone(), slot);
                Actor::Client(Box::new(client))
            }
            Role::Node | Role::FinalReader => Actor::Dormant,
        };
        processes.push(Process::new(name, role, clock, actor));
    }
    processes
}

/// The protocol checker of a run of `processes` processes: it knows the TTLs of
/// `node_config`, the membership's ids and names, and whether the store is a process,
/// whose answers may leave out versions and whose versions may go unseen.
fn conformance_of(
    config: &RunConfig,
    membership: &Membership,
    processes: usize,
    node_config: &node::NodeConfig,
) -> Conformance {
    Conformance::new(
        processes,
        config.nodes as usize,
        node_config.txn_ttl_us,
        node_config.outcome_ttl_us,
    )
    .with_node_ids(membership.node_ids.clone())
    .with_optional_versions(config.store.is_binary())
    .with_unseen_versions(config.store.is_binary())
    .with_node_names(&membership.names)
    .with_known_reservations(config.store.is_builtin())
}

/// Workload client `slot + 1` (from 0), with its programs, timing and whims drawn from
/// its own streams. Its home node is dealt in process order; it fails over (and its
/// membership probes name the cluster) in `init`'s order.
fn workload_client(
    config: &RunConfig,
    mix: &FaultMix,
    membership: &Membership,
    name: String,
    slot: u64,
) -> Client {
    let clients = u64::from(config.clients);
    let programs = stream(config.seed, &format!("client/{}", slot + 1));
    let mut timing = stream(config.seed, &format!("client/{}/timing", slot + 1));
    let count = config.txns / clients + u64::from(slot < config.txns % clients);
    let mut client_config = client_config(mix);
    // The shipped store must name each written key's version; a binary may answer as the
    // task this protocol comes from does, without them.
    client_config.versions_optional = config.store.is_binary();
    let start_at_us = timing.gen_range(0..=client_config.think_us_max);
    let keep =
        config.keep.as_ref().map(|keep| keep.get(&(slot as u32 + 1)).cloned().unwrap_or_default());
    let client = Client::new(
        name,
        home_node(slot, &membership.names),
        slot,
        clients,
        client_config,
        programs,
        timing,
        Source::Generated { generator: Generator::new(config.workload, config.keys), count, keep },
        start_at_us,
    )
    .with_failover(membership.node_ids.clone());
    with_whims(client, mix, config.seed, slot + 1)
}

impl World {
    /// Feeds one input (a message, or `None` for "time passed") to a process, then sends
    /// what it produced and schedules its next tick.
    fn step(&mut self, index: usize, now_us: u64, input: Option<Envelope>) {
        if matches!(self.processes[index].actor, Actor::Node(_)) {
            // Messages reach a node through `deliver`; here only time passes.
            debug_assert!(input.is_none(), "a node's messages come with their lines");
            self.step_node(index, now_us, Delivery::Tick);
            return;
        }
        let local_us = self.processes[index].clock.local(now_us);
        let mut outbox = std::mem::take(&mut self.outbox);
        let mut records = std::mem::take(&mut self.records);
        if let Actor::Client(client) = &mut self.processes[index].actor {
            let finished_before = client.stats().finished;
            // A reply the client acts on (its next request, or a completion) is
            // progress; a stale or duplicate reply produces nothing, a resend is a tick.
            let answered = match input {
                Some(envelope) => {
                    client.handle(local_us, envelope, &mut outbox, &mut records);
                    !outbox.is_empty() || !records.is_empty()
                }
                None => {
                    client.tick(local_us, &mut outbox, &mut records);
                    false
                }
            };
            let finished_now = client.stats().finished;
            self.finished += finished_now - finished_before;
            if answered || finished_now > finished_before {
                self.last_progress_us = now_us;
            }
        }
        let final_read = index == self.final_reader;
        for record in records.drain(..) {
            self.process_index.insert(record.process, index);
            self.record(now_us, record, final_read);
        }
        for envelope in outbox.drain(..) {
            self.transmit(now_us, index, envelope);
        }
        self.outbox = outbox;
        self.records = records;
        self.reschedule(index, now_us);
    }

    /// Feeds one input to a store node's host: sends what it released, schedules the
    /// sync it started and its next tick, and checks its tables' bound.
    fn step_node(&mut self, index: usize, now_us: u64, delivery: Delivery<'_>) {
        let local_us = self.processes[index].clock.local(now_us);
        if let Delivery::Message { envelope, .. } = &delivery {
            self.conformance.delivered(index, envelope, local_us);
        }
        let Actor::Node(host) = &mut self.processes[index].actor else { return };
        let mut sends = std::mem::take(&mut self.node_outbox);
        let stepped = host.step(local_us, delivery, &mut sends);
        self.after_node_step(index, now_us, stepped, sends);
    }

    /// Sends what a node's host released (handing the buffer back to `outbox`), schedules
    /// the sync it started, crashes it if the nemesis was waiting for this moment.
    fn after_node_step(
        &mut self,
        index: usize,
        now_us: u64,
        stepped: Stepped,
        mut sends: Vec<Sent>,
    ) {
        if let Some(message) = stepped.panic {
            let name = &self.processes[index].name;
            self.node_panic = Some(
                TimedText::from(format!("{name} panicked at "))
                    .time_us(now_us)
                    .words(format!(": {message}")),
            );
            return;
        }
        if let Some(message) = stepped.process_error {
            let name = &self.processes[index].name;
            self.process_error = Some(
                TimedText::from(format!("{name} at "))
                    .time_us(now_us)
                    .words(format!(": {message}")),
            );
            return;
        }
        let released = !sends.is_empty();
        for Sent { envelope, wire } in sends.drain(..) {
            if let Some(&target) = self.by_name.get(&envelope.dest) {
                self.isolate_on_decision(now_us, index, target, &envelope);
            }
            self.transmit_wire(now_us, index, envelope, wire);
        }
        self.node_outbox = sends;
        self.schedule_sync(index, now_us, stepped.sync);
        let aim = self.processes[index].crash_aim;
        if matches!(&self.processes[index].actor,
            Actor::Node(h) if aim.is_some_and(|aim| aim.is_now(released, h.has_unsynced_writes() == Some(true))))
        {
            // The crash the nemesis held back for this moment: writes are in flight.
            self.crash(index, now_us);
            return;
        }
        let local_us = self.processes[index].clock.local(now_us);
        if let Actor::Node(host) = &self.processes[index].actor {
            if let Some(sizes) = host.table_sizes() {
                // After the replies, so that a begin answered now counts in the bound.
                self.conformance.table_sizes(index, local_us, sizes);
            }
        }
        self.reschedule(index, now_us);
    }

    /// Schedules the completion of a sync a node's host started, in true time (the
    /// latency was drawn as a duration).
    fn schedule_sync(&mut self, index: usize, now_us: u64, sync: Option<(SyncInFlight, u64)>) {
        let Some((sync, delay_us)) = sync else { return };
        let Actor::Node(host) = &self.processes[index].actor else { return };
        let incarnation = host.incarnation();
        self.queue.push(now_us + delay_us, Action::SyncDone { process: index, incarnation, sync });
    }

    fn sync_done(&mut self, index: usize, now_us: u64, incarnation: u64, sync: SyncInFlight) {
        let local_us = self.processes[index].clock.local(now_us);
        let Actor::Node(host) = &mut self.processes[index].actor else { return };
        let mut sends = std::mem::take(&mut self.node_outbox);
        let stepped = host.sync_done(local_us, incarnation, sync, &mut sends);
        self.after_node_step(index, now_us, stepped, sends);
    }

    /// Stamps a client's record with its index and the true time, into the history.
    fn record(&mut self, now_us: u64, record: Record, final_read: bool) {
        let event = Event {
            index: self.history.len() as u64,
            time: now_us,
            process: record.process,
            kind: record.kind,
            txn_id: record.txn_id,
            ops: record.ops,
            final_read,
        };
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_u64(event.process);
        self.fingerprint.write_u64(event.kind as u64);
        self.history.push(event);
    }

    fn reschedule(&mut self, index: usize, now_us: u64) {
        let deadline_local = match &self.processes[index].actor {
            Actor::Node(host) => match host.next_deadline() {
                Ok(deadline) => deadline,
                Err(message) => {
                    let name = &self.processes[index].name;
                    self.node_panic = Some(
                        TimedText::from(format!("{name} panicked at "))
                            .time_us(now_us)
                            .words(format!(" in next_deadline: {message}")),
                    );
                    None
                }
            },
            Actor::Client(client) => client.next_deadline(),
            Actor::Dormant => None,
        };
        let process = &mut self.processes[index];
        let due_us = deadline_local.map(|local| process.clock.true_time_at(local).max(now_us));
        if due_us == process.tick_at_us {
            return;
        }
        process.tick_generation += 1;
        process.tick_at_us = due_us;
        if let Some(due_us) = due_us {
            let generation = process.tick_generation;
            self.queue.push(due_us, Action::Tick { process: index, generation });
        }
    }

    /// Encodes a message exactly as `occ-node` would and hands it to the network.
    fn transmit(&mut self, now_us: u64, source: usize, envelope: Envelope) {
        self.transmit_wire(now_us, source, envelope, None);
    }

    /// Hands a message to the network as its line `wire` (a process's own line), or
    /// encoded by the codec when `None`.
    fn transmit_wire(
        &mut self,
        now_us: u64,
        source: usize,
        envelope: Envelope,
        wire: Option<String>,
    ) {
        let target = self.by_name.get(&envelope.dest).copied();
        if self.answers_misrouted(source, target, &envelope) {
            // The answer to a request the simulator sent in the target's name: judged,
            // and delivered nowhere.
            self.conformance.misrouted_answer(source, &envelope);
            self.fingerprint.write_u64(now_us);
            self.fingerprint.write_str(&codec::encode_to_string(&envelope));
            return;
        }
        self.judge_sent(now_us, source, target, &envelope);
        let wire = wire.unwrap_or_else(|| codec::encode_to_string(&envelope));
        let Some(target) = target else {
            // Replies to the simulator's own `init` have nowhere to go; nothing else
            // should be addressed outside the world.
            if envelope.dest != CONTROLLER {
                self.internal_error = Some(TimedText::from(format!(
                    "{} sent a message to unknown process `{}`: {wire}",
                    self.processes[source].name, envelope.dest
                )));
            }
            return;
        };
        self.send_on_network(now_us, source, target, wire);
    }

    /// Whether node `source` sends `envelope` to node `target` in answer to a request the
    /// simulator sent in the target's name (see [`MISROUTE_MSG_ID_BASE`]).
    fn answers_misrouted(&self, source: usize, target: Option<usize>, envelope: &Envelope) -> bool {
        let is_node = |index: usize| self.processes[index].role == Role::Node;
        let misrouted = envelope.body.in_reply_to.is_some_and(|id| id >= MISROUTE_MSG_ID_BASE);
        misrouted && is_node(source) && target.is_some_and(is_node)
    }

    /// Shows the protocol checker a message as it is sent: a reply of a node to a client,
    /// a client's request to a node, or a node's message to another.
    fn judge_sent(
        &mut self,
        now_us: u64,
        source: usize,
        target: Option<usize>,
        envelope: &Envelope,
    ) {
        let is_node = |index: usize| self.processes[index].role == Role::Node;
        match target {
            // A store's messages to its peers are judged only where they are the shipped
            // store's cluster protocol; another store's are its own affair.
            Some(target) if is_node(source) && is_node(target) => {
                let cluster_protocol = matches!(&self.processes[source].actor,
                    Actor::Node(host) if host.speaks_cluster_protocol());
                if cluster_protocol {
                    self.conformance.between_nodes(source, envelope);
                }
            }
            Some(target) if is_node(source) => {
                let local_us = self.processes[source].clock.local(now_us);
                self.conformance.set_history_len(self.history.len() as u64);
                self.conformance.reply(source, target, envelope, local_us);
            }
            Some(target) if is_node(target) => {
                let reliable = self.healed_at_us.is_some();
                self.conformance.request(source, envelope, reliable);
            }
            _ => {}
        }
    }

    /// Sends `wire` from `source` to `target`: the network decides its fate (lost, or
    /// arriving once or more, each copy after its delay), and the fingerprint and the
    /// trace record it.
    fn send_on_network(&mut self, now_us: u64, source: usize, target: usize, wire: String) {
        let fate = self.network.send(now_us, source, target);
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_u64(source as u64);
        self.fingerprint.write_u64(target as u64);
        self.fingerprint.write_str(&wire);
        let fate_text = match &fate {
            Fate::Arrives(delays) => {
                delays.iter().for_each(|d| self.fingerprint.write_u64(*d));
                if delays.len() > 1 {
                    "duplicated".to_string()
                } else {
                    "sent".to_string()
                }
            }
            Fate::Lost(loss) => {
                self.fingerprint.write_str(loss.name());
                loss.name().to_string()
            }
        };
        if let Fate::Arrives(delays) = fate {
            for delay_us in delays {
                let deliver = Action::Deliver { source, target, wire: wire.clone() };
                self.queue.push(now_us + delay_us, deliver);
                self.in_flight += 1;
            }
        }
        if self.config.record_trace {
            self.trace.push(TraceEvent::Send {
                time_us: now_us,
                source,
                target,
                wire,
                fate: fate_text,
            });
        }
    }

    fn deliver(&mut self, now_us: u64, source: usize, target: usize, wire: String) {
        if matches!(&self.processes[target].actor, Actor::Node(host) if !host.is_up()) {
            self.network.stats.undelivered += 1;
            self.fingerprint.write_u64(now_us);
            self.fingerprint.write_str("undelivered");
            if self.config.record_trace {
                self.trace.push(TraceEvent::Undelivered { time_us: now_us, source, target, wire });
            }
            return;
        }
        match codec::decode(&wire) {
            Ok(envelope) => {
                self.network.stats.delivered += 1;
                if self.config.record_trace {
                    let wire = wire.clone();
                    self.trace.push(TraceEvent::Deliver { time_us: now_us, source, target, wire });
                }
                if self.processes[target].role == Role::Node {
                    self.step_node(target, now_us, Delivery::Message { envelope, wire: &wire });
                } else {
                    self.step(target, now_us, Some(envelope));
                }
            }
            Err(error) => {
                self.internal_error = Some(
                    format!("the codec could not decode what it encoded ({error}): {wire}").into(),
                );
            }
        }
    }

    /// Tells every store the run is over; a process's trouble then (see
    /// [`Store::finish`]) stops the run as any other.
    fn finish_stores(&mut self) {
        for index in self.node_indices() {
            let Actor::Node(host) = &mut self.processes[index].actor else { continue };
            if let Some(message) = host.finish() {
                let name = &self.processes[index].name;
                self.process_error
                    .get_or_insert(format!("{name} at the end of the run: {message}").into());
            }
        }
    }

    /// Commits answered without per-key versions, over every workload client.
    fn versions_derived(&self) -> (u64, u64) {
        let mut total = (0, 0);
        for process in &self.processes[self.client_indices()] {
            if let Actor::Client(client) = &process.actor {
                let (derived, unproved) = client.versions_derived();
                total = (total.0 + derived, total.1 + unproved);
            }
        }
        total
    }

    /// Statistics of the workload clients (the final read is not counted).
    fn client_stats(&self) -> ClientStats {
        let mut total = ClientStats::default();
        for process in &self.processes[self.client_indices()] {
            if let Actor::Client(client) = &process.actor {
                let stats = client.stats();
                total.committed += stats.committed;
                total.aborted += stats.aborted;
                total.failed += stats.failed;
                total.indeterminate += stats.indeterminate;
                total.finished += stats.finished;
            }
        }
        total
    }
}
