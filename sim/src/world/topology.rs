//! What the processes of a run are and how each is built: the store nodes first (a lone
//! node is `n1`; a cluster's names and the order `init` gives them are drawn, see
//! [`Membership`]), then the clients, then the final reader (dormant until the end). Every
//! process has a typed [`Role`]; nothing asks a name's first letter what a process is.

use node::{LogConfig, NodeConfig};
use rand::Rng;
use workloads::client::{Client, ClientConfig, Neglect, Quirk};

use crate::world::disk::Disk;
use crate::world::faults::FaultMix;
use crate::world::machine::Machine;
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

/// A cluster's node names are drawn from `n1` to `n<NODE_NUMBERS_MAX>` (or twice the
/// nodes, if more): a range wider than any cluster, so that names skip numbers and sort
/// otherwise than their numbers (`"n12" < "n7"`).
pub const NODE_NUMBERS_MAX: u32 = 40;

/// Who the store nodes are: their names, in process order, and `node_ids` as the
/// simulator's `init` hands them to every node (the shard map's order: a key's owner is
/// a position in it).
///
/// A node alone is `n1`, as it always was (nothing is drawn). A cluster's are drawn per
/// seed from the `membership` stream (its own, so no other draw moves): distinct numbers
/// from 1 to [`NODE_NUMBERS_MAX`], named in process order by increasing number, and a
/// shuffle of them for `init`. The protocol lets `init` name the nodes in any order, and
/// code that assumed process order, sorted order or `n1..nN` would pass every run of the
/// old fixed shape (`n1..nN` in order, where the three agree below 10 nodes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// Node names by process index.
    pub names: Vec<String>,
    /// The same names in `init`'s order.
    pub node_ids: Vec<String>,
}

impl Membership {
    pub fn draw(nodes: u32, seed: u64) -> Membership {
        if nodes < 2 {
            let names: Vec<String> = (1..=nodes).map(|n| format!("n{n}")).collect();
            return Membership { node_ids: names.clone(), names };
        }
        let mut draws = stream(seed, "membership");
        let mut numbers: Vec<u32> = (1..=NODE_NUMBERS_MAX.max(2 * nodes)).collect();
        // A partial Fisher-Yates shuffle: the first `nodes` numbers are a uniform draw.
        for i in 0..nodes as usize {
            let j = draws.gen_range(i..numbers.len());
            numbers.swap(i, j);
        }
        numbers.truncate(nodes as usize);
        numbers.sort_unstable();
        let names: Vec<String> = numbers.iter().map(|n| format!("n{n}")).collect();
        let mut node_ids = names.clone();
        for i in (1..node_ids.len()).rev() {
            let j = draws.gen_range(0..=i);
            node_ids.swap(i, j);
        }
        Membership { names, node_ids }
    }
}

/// The processes of a run with the store nodes `names` and `clients` clients, by index:
/// `(name, role)`. Nodes are processes `0..names.len()`.
pub fn layout(names: &[String], clients: u32) -> Vec<(String, Role)> {
    let mut processes: Vec<(String, Role)> =
        names.iter().map(|name| (name.clone(), Role::Node)).collect();
    processes.extend((1..=clients).map(|c| (format!("c{c}"), Role::Client)));
    processes.push((format!("c{}", clients + 1), Role::FinalReader));
    processes
}

/// The store's timing shape as the shrinker chose it, over what the seed drew (issue 20):
/// a shorter snapshot interval or shorter TTLs let a durability or expiry bug show with
/// fewer transactions. Applied after every draw, so that each draw happens as it would,
/// and a field left `None` (or a TTL whose `expiry` family is off) changes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Replaces the drawn `LogConfig::snapshot_min_bytes`.
    pub snapshot_min_bytes: Option<u64>,
    /// Replaces the drawn `LogConfig::snapshot_chunk_bytes`: smaller chunks split even a
    /// small state's snapshot into several frames, which a crash can then tear apart.
    pub snapshot_chunk_bytes: Option<u64>,
    /// Replaces the store's `NodeConfig::query_after_us` (100 ms), how long a participant
    /// waits for a decision before it asks: a doubt then shows after fewer transactions.
    pub query_after_us: Option<u64>,
    /// Replace the `expiry` family's drawn TTLs (nothing without the family).
    pub txn_ttl_us: Option<u64>,
    pub outcome_ttl_us: Option<u64>,
}

impl Shape {
    /// The shape in a short line for reports: "snapshots every 128 bytes, txn TTL 200ms".
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(bytes) = self.snapshot_min_bytes {
            parts.push(format!("snapshots every {bytes} bytes"));
        }
        if let Some(bytes) = self.snapshot_chunk_bytes {
            parts.push(format!("snapshot chunks of {bytes} bytes"));
        }
        if let Some(us) = self.query_after_us {
            parts.push(format!("a participant in doubt asks after {}ms", us as f64 / 1000.0));
        }
        if let Some(ttl_us) = self.txn_ttl_us {
            parts.push(format!("txn TTL {}ms", ttl_us / 1000));
        }
        if let Some(ttl_us) = self.outcome_ttl_us {
            parts.push(format!("outcome TTL {}ms", ttl_us / 1000));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// `mix` with the TTLs of this shape, where its `expiry` family is on. Only the store
    /// and the clients' stalls read the TTLs after the draw; an isolation drawn to outlast
    /// them outlasts the shorter ones too.
    pub fn apply_to_mix(&self, mix: &mut FaultMix) {
        if let Some(expiry) = &mut mix.expiry {
            expiry.txn_ttl_us = self.txn_ttl_us.unwrap_or(expiry.txn_ttl_us);
            expiry.outcome_ttl_us = self.outcome_ttl_us.unwrap_or(expiry.outcome_ttl_us);
        }
    }
}

/// The store's configuration: default TTLs, or short ones under the `expiry` family, and
/// always a log, with a snapshot interval drawn small so that runs take snapshots and
/// compact (from a stream of its own: no other draw moves). `shape` overrides the drawn
/// interval (the TTLs come in `mix`, see [`Shape::apply_to_mix`]).
pub(crate) fn node_config(
    mix: &FaultMix,
    bug: Option<node::Bug>,
    seed: u64,
    shape: Option<&Shape>,
) -> NodeConfig {
    let mut draws = stream(seed, "node/log");
    let snapshot_min_bytes = draws.gen_range(512..=4_096);
    // Chunks small enough that snapshots span several frames, which crashes then tear.
    let snapshot_chunk_bytes = draws.gen_range(256..=2_048);
    let snapshot_min_bytes = shape.and_then(|s| s.snapshot_min_bytes).unwrap_or(snapshot_min_bytes);
    let snapshot_chunk_bytes =
        shape.and_then(|s| s.snapshot_chunk_bytes).unwrap_or(snapshot_chunk_bytes);
    let log = Some(LogConfig { snapshot_min_bytes, snapshot_chunk_bytes });
    let mut config = NodeConfig { bug, log, ..NodeConfig::default() };
    if let Some(e) = mix.expiry {
        (config.txn_ttl_us, config.outcome_ttl_us) = (e.txn_ttl_us, e.outcome_ttl_us);
    }
    if let Some(us) = shape.and_then(|s| s.query_after_us) {
        config.query_after_us = us;
    }
    config
}

/// A store node's disk and how long its syncs take: at once without the `crash` and
/// `disk` families (so runs without them keep their timing), else 20-300 us, and under
/// `disk` faults sometimes up to their slow bound.
pub(crate) fn node_host<M: Machine>(
    mix: &FaultMix,
    config: M::Config,
    seed: u64,
    name: &str,
) -> NodeHost<M> {
    let disk = Disk::new(mix.disk, stream(seed, &format!("disk/{name}")));
    let timing = (mix.crash.is_some() || mix.disk.is_some()).then_some(SyncTiming {
        us_min: 20,
        us_max: 300,
        slow: mix.disk,
    });
    NodeHost::new(config, disk, timing, stream(seed, &format!("disk/{name}/latency")))
}

/// The node client `slot` (from 0) talks to first, of the nodes `names` (in process
/// order): clients are dealt over the nodes in turn, so each node coordinates some of the
/// work.
pub(crate) fn home_node(slot: u64, names: &[String]) -> String {
    names[(slot % names.len() as u64) as usize].clone()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_alone_is_n1_as_always() {
        for seed in 0..20 {
            let alone = Membership::draw(1, seed);
            assert_eq!((alone.names, alone.node_ids), (vec!["n1".into()], vec!["n1".into()]));
        }
    }

    #[test]
    fn a_clusters_names_and_init_order_are_drawn_per_seed() {
        // Distinct names from the wider range, in process order by number; init's order a
        // shuffle of them. Over a few seeds: init's order differs from process order and
        // from the names' sorted order, and some names sort otherwise than their numbers.
        let (mut shuffled, mut unsorted, mut sort_unlike_numbers) = (0, 0, 0);
        for seed in 0..100 {
            for nodes in [2, 3, 10, 16] {
                let m = Membership::draw(nodes, seed);
                assert_eq!(m, Membership::draw(nodes, seed), "the same for a seed");
                let number = |name: &String| name[1..].parse::<u32>().expect("n<number>");
                let numbers: Vec<u32> = m.names.iter().map(number).collect();
                assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{m:?}");
                assert!(numbers.iter().all(|n| (1..=NODE_NUMBERS_MAX).contains(n)), "{m:?}");
                let mut ids = m.node_ids.clone();
                let mut sorted_names = m.names.clone();
                ids.sort();
                sorted_names.sort();
                assert_eq!(ids, sorted_names, "init names every node once: {m:?}");
                shuffled += usize::from(m.node_ids != m.names);
                unsorted += usize::from(m.node_ids != sorted_names);
                sort_unlike_numbers += usize::from(sorted_names != m.names);
            }
        }
        assert!(shuffled > 300 && unsorted > 300, "{shuffled} {unsorted}");
        assert!(sort_unlike_numbers > 100, "{sort_unlike_numbers}");
    }
}
