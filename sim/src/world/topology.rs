//! What the processes of a run are and how each is built: the store nodes first (`n1` to
//! `nN`), then the clients, then the final reader (dormant until the end). Every process
//! has a typed [`Role`]; nothing asks a name's first letter what a process is.

use node::{LogConfig, NodeConfig};
use rand::Rng;
use workloads::client::{Client, ClientConfig, Neglect, Quirk};

use crate::world::disk::Disk;
use crate::world::faults::FaultMix;
use crate::world::node_host::{NodeHost, SyncTiming};
use crate::world::streams::stream;

/// What a simulated process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A store node.
    Node,
    /// A client running the workload.
    Client,
    /// The client that reads every key once the run is over.
    FinalReader,
}

/// The processes of a run with `nodes` store nodes and `clients` clients, by index:
/// `(name, role)`. Nodes are processes `0..nodes`.
pub fn layout(nodes: u32, clients: u32) -> Vec<(String, Role)> {
    let mut processes: Vec<(String, Role)> =
        (1..=nodes).map(|n| (format!("n{n}"), Role::Node)).collect();
    processes.extend((1..=clients).map(|c| (format!("c{c}"), Role::Client)));
    processes.push((format!("c{}", clients + 1), Role::FinalReader));
    processes
}

/// The store's configuration: default TTLs, or short ones under the `expiry` family, and
/// always a log, with a snapshot interval drawn small so that runs take snapshots and
/// compact (from a stream of its own: no other draw moves).
pub(crate) fn node_config(mix: &FaultMix, bug: Option<node::Bug>, seed: u64) -> NodeConfig {
    let mut draws = stream(seed, "node/log");
    let snapshot_min_bytes = draws.gen_range(512..=4_096);
    // Chunks small enough that snapshots span several frames, which crashes then tear.
    let snapshot_chunk_bytes = draws.gen_range(256..=2_048);
    let log = Some(LogConfig { snapshot_min_bytes, snapshot_chunk_bytes });
    match mix.expiry {
        Some(e) => {
            NodeConfig { txn_ttl_us: e.txn_ttl_us, outcome_ttl_us: e.outcome_ttl_us, bug, log }
        }
        None => NodeConfig { bug, log, ..NodeConfig::default() },
    }
}

/// A store node's disk and how long its syncs take: at once without the `crash` and
/// `disk` families (so runs without them keep their timing), else 20-300 us, and under
/// `disk` faults sometimes up to their slow bound.
pub(crate) fn node_host(mix: &FaultMix, config: NodeConfig, seed: u64, name: &str) -> NodeHost {
    let disk = Disk::new(mix.disk, stream(seed, &format!("disk/{name}")));
    let timing = (mix.crash.is_some() || mix.disk.is_some()).then_some(SyncTiming {
        us_min: 20,
        us_max: 300,
        slow: mix.disk,
    });
    NodeHost::new(config, disk, timing, stream(seed, &format!("disk/{name}/latency")))
}

/// The node client `slot` (from 0) talks to first: clients are dealt over the nodes in
/// turn, so each node coordinates some of the work.
pub(crate) fn home_node(slot: u64, nodes: u32) -> String {
    format!("n{}", slot % u64::from(nodes) + 1)
}

/// How clients resend: as always, or, when the store may crash, more often, so that a
/// commit whose store went down is resent under the same id after the restart (and
/// answered from the outcome the store recovered). Patience stays within bounds the
/// protocol sets: 6 resends 40 ms apart outlast the longest downtime the `crash` family
/// draws (100 ms), and with the network's worst delay still end well inside the shortest
/// outcome window (500 ms, under `expiry`); a retry of a client-chosen id after that
/// window would be validated anew.
pub(crate) fn client_config(mix: &FaultMix) -> ClientConfig {
    match mix.crash {
        None => ClientConfig::default(),
        Some(_) => {
            ClientConfig { max_resends: 4, max_commit_resends: 6, ..ClientConfig::default() }
        }
    }
}

/// A workload client's quirk and neglect, drawn from its own `client/N/whims` stream when
/// the `quirks` or `expiry` family is on (so plain runs draw nothing new).
pub(crate) fn with_whims(client: Client, mix: &FaultMix, seed: u64, number: u64) -> Client {
    if mix.quirks.is_none() && mix.expiry.is_none() {
        return client;
    }
    let mut whims = stream(seed, &format!("client/{number}/whims"));
    let quirk = match mix.quirks {
        Some(q) if q.clients.sample(&mut whims) => {
            [Quirk::EchoSome, Quirk::EchoNone, Quirk::OwnIds, Quirk::Prober][whims.gen_range(0..4)]
        }
        _ => Quirk::Plain,
    };
    let neglect = match mix.expiry {
        // Past the TTL on the store's clock whatever the two clocks' drift (at most 2%).
        Some(e) => Neglect {
            abandon_percent: e.abandon.numerator * 100 / e.abandon.denominator,
            stall_percent: e.stall.numerator * 100 / e.stall.denominator,
            stall_us: e.txn_ttl_us + e.txn_ttl_us / 10 + 10_000,
        },
        None => Neglect::default(),
    };
    client.with_whims(quirk, neglect, whims)
}
