//! What can go wrong in a run: the fault families and the mix a run draws of them (swarm
//! testing), the shapes a partition takes, and the ledger of fault events a shrink can
//! take back one by one ([`FaultSchedule`], [`FaultLedger`]). The nemesis that acts on the
//! mix (partitions, crashes, the long isolation) is `world::nemesis`; each message's fate
//! is `world::network`'s.
//!
//! Each run draws which fault families are on, some fully off, and their rates, from its
//! own `faults` stream: a sweep thereby explores runs with many faults of one kind as well
//! as runs with a little of everything, which finds more bugs than one fixed mix.
//! `--faults` can fix the families (`none`, `all`, or a list such as `drop,partition`);
//! the rates still come from the seed.
//!
//! Two families are not about the network. `expiry` gives the store short TTLs and has
//! clients abandon or stall some transactions, so that expiry happens within a run;
//! `quirks` gives some clients the protocol's freedoms (leaving reads out of
//! `read_versions`, naming their own transaction ids), so that the store's recorded
//! reads and stateless validation are exercised. They are drawn from a stream of their
//! own (`faults/later`), after the first five, so adding them left the first five's draws
//! as they were.
//!
//! Two more are about durability, drawn from `faults/durable` for the same reason:
//! `crash` crashes the store node and restarts it after a drawn downtime (it loses its
//! volatile state and whatever its disk had not synced); `disk` makes the disk slow and
//! faulty (syncs that take long, unsynced writes that survive a crash whole or torn, reads
//! that come back with a bit flipped).
//!
//! A run with both `partition` and `expiry` may also cut one node off for longer than the
//! store's TTLs ([`Isolation`]): what a node learns only after its peers forgot it is
//! tested nowhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A probability as a ratio of integers: no floats reach a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub numerator: u32,
    pub denominator: u32,
}

impl Ratio {
    pub fn new(numerator: u32, denominator: u32) -> Ratio {
        assert!(denominator > 0 && numerator <= denominator, "bad ratio {numerator}/{denominator}");
        Ratio { numerator, denominator }
    }

    pub fn sample(self, rng: &mut ChaCha8Rng) -> bool {
        self.numerator > 0 && rng.gen_ratio(self.numerator, self.denominator)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// The fault families a run can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Drop,
    Duplicate,
    Delay,
    Partition,
    Clock,
    Expiry,
    Quirks,
    Crash,
    Disk,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::Drop,
        Family::Duplicate,
        Family::Delay,
        Family::Partition,
        Family::Clock,
        Family::Expiry,
        Family::Quirks,
        Family::Crash,
        Family::Disk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Drop => "drop",
            Family::Duplicate => "duplicate",
            Family::Delay => "delay",
            Family::Partition => "partition",
            Family::Clock => "clock",
            Family::Expiry => "expiry",
            Family::Quirks => "quirks",
            Family::Crash => "crash",
            Family::Disk => "disk",
        }
    }
}

/// What `--faults` asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultSpec {
    /// The seed decides which families are on (the default).
    Swarm,
    /// Exactly these families (empty: a clean run).
    Families(Vec<Family>),
}

impl FaultSpec {
    pub fn parse(text: &str) -> Result<FaultSpec, String> {
        match text {
            "swarm" => return Ok(FaultSpec::Swarm),
            "none" => return Ok(FaultSpec::Families(Vec::new())),
            "all" => return Ok(FaultSpec::Families(Family::ALL.to_vec())),
            _ => {}
        }
        let mut families = Vec::new();
        for name in text.split(',') {
            let family = Family::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
                format!(
                    "unknown fault family `{name}`: expected swarm, none, all, or a \
                     comma-separated list of drop, duplicate, delay, partition, clock, \
                     expiry, quirks, crash, disk"
                )
            })?;
            if !families.contains(&family) {
                families.push(family);
            }
        }
        families.sort();
        Ok(FaultSpec::Families(families))
    }

    /// The flag value that reproduces this spec.
    pub fn flag(&self) -> String {
        match self {
            FaultSpec::Swarm => "swarm".into(),
            FaultSpec::Families(f) if f.is_empty() => "none".into(),
            FaultSpec::Families(f) => f.iter().map(|f| f.name()).collect::<Vec<_>>().join(","),
        }
    }
}

/// Messages held back far longer than usual, so they arrive after later ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelaySpikes {
    pub ratio: Ratio,
    pub delay_us_max: u64,
}

/// Partitions start after a quiet interval and heal after a duration, both drawn per
/// partition up to these bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionSchedule {
    pub interval_us_max: u64,
    pub duration_us_max: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSkew {
    pub offset_us_max: u64,
    pub drift_ppm_max: i64,
}

/// Short TTLs in the store, and clients that leave transactions for them to expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub txn_ttl_us: u64,
    pub outcome_ttl_us: u64,
    /// Transactions a client begins, reads in, and then leaves without a commit.
    pub abandon: Ratio,
    /// Commits a client holds back until the transaction's TTL has passed.
    pub stall: Ratio,
}

/// Clients using the protocol's freedoms: each client is quirky with this ratio, and
/// then draws its quirk (see `workloads::client::Quirk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quirks {
    pub clients: Ratio,
}

/// One long isolation in a run: at `at_us`, a store node is cut off (from everyone, or
/// in a cluster sometimes from one other node only) for `duration_us`, longer than the
/// store's transaction and outcome TTLs, then healed. What a node learns only after its
/// peers forgot it (a decision, an outcome) is tested nowhere else: partitions, crashes
/// and delay spikes all end well within the shortest TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isolation {
    pub at_us: u64,
    pub duration_us: u64,
}

/// The store node crashes after up to `interval_us_max` of uptime and restarts after up to
/// `downtime_us_max`, both drawn per crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crashes {
    pub interval_us_max: u64,
    pub downtime_us_max: u64,
}

/// A slow and faulty disk (see `world::disk`): at a crash each unsynced write is kept
/// whole with `kept`, else torn with `torn`, else lost; a read comes back with one bit
/// flipped with `corrupt_read`; a sync takes up to `slow_sync_us_max` with `slow_sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskFaults {
    pub kept: Ratio,
    pub torn: Ratio,
    pub corrupt_read: Ratio,
    pub slow_sync: Ratio,
    pub slow_sync_us_max: u64,
}

/// The faults of one run. `None` means the family is off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultMix {
    pub drop: Option<Ratio>,
    pub duplicate: Option<Ratio>,
    pub delay: Option<DelaySpikes>,
    pub partition: Option<PartitionSchedule>,
    pub clock: Option<ClockSkew>,
    pub expiry: Option<Expiry>,
    pub quirks: Option<Quirks>,
    pub crash: Option<Crashes>,
    pub disk: Option<DiskFaults>,
    /// Drawn for one seed in three that has both `partition` and `expiry` (whose short
    /// TTLs a run can outlast).
    pub isolation: Option<Isolation>,
}

impl FaultMix {
    /// Draws the mix of run `seed` from its `faults` and `faults/later` streams.
    pub fn draw(spec: &FaultSpec, seed: u64) -> FaultMix {
        let mut mix =
            FaultMix::draw_first(spec, &mut crate::world::streams::stream(seed, "faults"));
        let later = &mut crate::world::streams::stream(seed, "faults/later");
        let on = [later.gen_ratio(1, 2), later.gen_ratio(1, 2)];
        let txn_ttl_us = later.gen_range(200_000..=2_000_000);
        let expiry = Expiry {
            txn_ttl_us,
            // Longer than any client's commit retries plus the network's worst delay: a
            // retry past the window of an id the store did not issue is validated anew,
            // which may contradict the first answer. The protocol asks clients not to.
            outcome_ttl_us: later.gen_range(500_000..=2_000_000),
            abandon: Ratio::new(later.gen_range(1..=10), 100),
            stall: Ratio::new(later.gen_range(1..=10), 100),
        };
        let quirks = Quirks { clients: Ratio::new(later.gen_range(1..=4), 4) };
        let is_on = |family: Family, swarm_on: bool| match spec {
            FaultSpec::Swarm => swarm_on,
            FaultSpec::Families(families) => families.contains(&family),
        };
        mix.expiry = is_on(Family::Expiry, on[0]).then_some(expiry);
        mix.quirks = is_on(Family::Quirks, on[1]).then_some(quirks);
        let durable = &mut crate::world::streams::stream(seed, "faults/durable");
        let on = [durable.gen_ratio(1, 2), durable.gen_ratio(1, 2)];
        // A default run's fault phase lasts a few hundred ms: several crashes fit in it.
        let crash = Crashes {
            interval_us_max: durable.gen_range(100_000..=1_000_000),
            downtime_us_max: durable.gen_range(1_000..=100_000),
        };
        let disk = DiskFaults {
            kept: Ratio::new(durable.gen_range(1..=30), 100),
            torn: Ratio::new(durable.gen_range(1..=50), 100),
            // At most 1/4: recovery re-reads a bad range 32 times, so synced records are
            // lost to transient faults with odds below 4^-32 per recovery.
            corrupt_read: Ratio::new(durable.gen_range(1..=25), 100),
            slow_sync: Ratio::new(durable.gen_range(1..=10), 100),
            slow_sync_us_max: durable.gen_range(1_000..=20_000),
        };
        mix.crash = is_on(Family::Crash, on[0]).then_some(crash);
        mix.disk = is_on(Family::Disk, on[1]).then_some(disk);
        let long = &mut crate::world::streams::stream(seed, "faults/isolation");
        let isolation = Isolation {
            at_us: long.gen_range(10_000..=100_000),
            duration_us: expiry.txn_ttl_us.max(expiry.outcome_ttl_us)
                + long.gen_range(100_000..=1_000_000),
        };
        let isolated = long.gen_ratio(1, 3) && mix.partition.is_some() && mix.expiry.is_some();
        mix.isolation = isolated.then_some(isolation);
        mix
    }

    /// The network and clock families, from the `faults` stream as they always were.
    fn draw_first(spec: &FaultSpec, rng: &mut ChaCha8Rng) -> FaultMix {
        // Always draw every family's switch and rates, so that fixing one family with a
        // flag leaves the rates of the others as the seed would have drawn them.
        let mut on = [false; 5];
        for slot in &mut on {
            *slot = rng.gen_ratio(1, 2);
        }
        let drop = Ratio::new(rng.gen_range(1..=10), 100);
        let duplicate = Ratio::new(rng.gen_range(1..=10), 100);
        let delay = DelaySpikes {
            ratio: Ratio::new(rng.gen_range(1..=10), 100),
            delay_us_max: rng.gen_range(10_000..=100_000),
        };
        let partition = PartitionSchedule {
            interval_us_max: rng.gen_range(20_000..=300_000),
            duration_us_max: rng.gen_range(20_000..=200_000),
        };
        let clock = ClockSkew {
            offset_us_max: rng.gen_range(0..=50_000),
            drift_ppm_max: rng.gen_range(100..=20_000),
        };
        let is_on = |family: Family| match spec {
            FaultSpec::Swarm => on[family as usize],
            FaultSpec::Families(families) => families.contains(&family),
        };
        FaultMix {
            drop: is_on(Family::Drop).then_some(drop),
            duplicate: is_on(Family::Duplicate).then_some(duplicate),
            delay: is_on(Family::Delay).then_some(delay),
            partition: is_on(Family::Partition).then_some(partition),
            clock: is_on(Family::Clock).then_some(clock),
            expiry: None,
            quirks: None,
            crash: None,
            disk: None,
            isolation: None,
        }
    }

    pub fn is_clean(&self) -> bool {
        *self == FaultMix::default()
    }

    /// The families this mix has on: the same run as swarm drew it, spelled out (a shrink
    /// starts from it to take families out one at a time). Exhaustive, so that a new
    /// family cannot be left out (the crash and disk families once were, and every shrink
    /// of a durability bug started from a run without crashes).
    pub fn families(&self) -> Vec<Family> {
        Family::ALL
            .into_iter()
            .filter(|family| match family {
                Family::Drop => self.drop.is_some(),
                Family::Duplicate => self.duplicate.is_some(),
                Family::Delay => self.delay.is_some(),
                Family::Partition => self.partition.is_some(),
                Family::Clock => self.clock.is_some(),
                Family::Expiry => self.expiry.is_some(),
                Family::Quirks => self.quirks.is_some(),
                Family::Crash => self.crash.is_some(),
                Family::Disk => self.disk.is_some(),
            })
            .collect()
    }
}

impl fmt::Display for FaultMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let off = || "off".to_string();
        let drop = self.drop.map_or_else(off, |r| format!("{r} of messages"));
        let duplicate = self.duplicate.map_or_else(off, |r| format!("{r} of messages"));
        let delay = self.delay.map_or_else(off, |d| {
            format!("{} of messages held up to {}ms", d.ratio, d.delay_us_max / 1000)
        });
        let partition = self.partition.map_or_else(off, |p| {
            let long = self.isolation.map_or_else(String::new, |i| {
                format!(
                    ", and a node cut off for {}ms from {}ms",
                    i.duration_us / 1000,
                    i.at_us / 1000
                )
            });
            format!(
                "every <={}ms, lasting <={}ms{long}",
                p.interval_us_max / 1000,
                p.duration_us_max / 1000
            )
        });
        let clock = self.clock.map_or_else(off, |c| {
            format!("offset <={}ms, drift <={}ppm", c.offset_us_max / 1000, c.drift_ppm_max)
        });
        let expiry = self.expiry.map_or_else(off, |e| {
            format!(
                "store TTLs {}ms (open transactions) and {}ms (outcomes), {} of transactions abandoned, {} stalled past the TTL",
                e.txn_ttl_us / 1000,
                e.outcome_ttl_us / 1000,
                e.abandon,
                e.stall
            )
        });
        let quirks = self.quirks.map_or_else(off, |q| format!("{} of clients", q.clients));
        let crash = self.crash.map_or_else(off, |c| {
            format!(
                "the store every <={}ms, down <={}ms",
                c.interval_us_max / 1000,
                c.downtime_us_max / 1000
            )
        });
        let disk = self.disk.map_or_else(off, |d| {
            format!(
                "unsynced writes kept {}, torn {}; {} of reads corrupted; {} of syncs slow (<={}ms)",
                d.kept,
                d.torn,
                d.corrupt_read,
                d.slow_sync,
                d.slow_sync_us_max / 1000
            )
        });
        write!(
            f,
            "drop: {drop}; duplicate: {duplicate}; delay: {delay}; partition: {partition}; \
             clock: {clock}; expiry: {expiry}; quirks: {quirks}; crash: {crash}; disk: {disk}"
        )
    }
}

/// One kind of fault event: a single decision of the network or the nemesis that a
/// shrink can take back. Each run numbers the events of each kind from 0 in the order
/// they would happen (see [`FaultLedger`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultEvent {
    /// A message lost.
    Drop,
    /// A message delivered twice.
    Duplicate,
    /// A message held back by a delay spike (both copies, if duplicated).
    Delay,
    /// A partition, or the long isolation, cutting links.
    Partition,
    /// A store node crashed (and restarted after its downtime).
    Crash,
}

impl FaultEvent {
    pub const ALL: [FaultEvent; 5] = [
        FaultEvent::Drop,
        FaultEvent::Duplicate,
        FaultEvent::Delay,
        FaultEvent::Partition,
        FaultEvent::Crash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultEvent::Drop => "drop",
            FaultEvent::Duplicate => "duplicate",
            FaultEvent::Delay => "delay",
            FaultEvent::Partition => "partition",
            FaultEvent::Crash => "crash",
        }
    }

    pub fn parse(name: &str) -> Option<FaultEvent> {
        FaultEvent::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// Which fault events of a run happen, set by the shrinker. Every draw is made as before
/// and a suppressed event is then ignored, so the events that stay keep their draws (a
/// crash its time and downtime, a message its delays) and a run without a schedule is
/// the run it always was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSchedule {
    /// Per kind, the ordinals of the events that happen; a kind not listed keeps all.
    pub kept: BTreeMap<FaultEvent, BTreeSet<u64>>,
    /// The nemesis's waits (to the next crash, the next partition, the long isolation)
    /// are divided by this (1: as drawn). A failure that needs a crash needs only the
    /// transactions that run before it: a crash drawn at 800 ms kept 80 of them alive.
    pub hurry: u32,
    /// How long each partition lasts is divided by this (1: as drawn; the long isolation
    /// keeps its length, which must outlast the TTLs). Clients retry what a partition
    /// fails, and each retry is a transaction. Not crash downtimes: made brief under a
    /// hurried nemesis they became a storm of crashes and recoveries, a run of seconds.
    pub brief: u32,
}

impl Default for FaultSchedule {
    fn default() -> Self {
        FaultSchedule { kept: BTreeMap::new(), hurry: 1, brief: 1 }
    }
}

/// A fault event that happened: its kind, its ordinal, when, and to which process (the
/// node crashed, the sender of the message; `None` for a partition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Happened {
    pub event: FaultEvent,
    pub ordinal: u64,
    pub time_us: u64,
    pub process: Option<usize>,
    /// The message's receiver (a network event), else `None`.
    pub target: Option<usize>,
}

/// Numbers a run's fault events as they come and says which of them happen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultLedger {
    schedule: Option<FaultSchedule>,
    /// Events of each kind the run came to (kept or not), in [`FaultEvent::ALL`]'s order.
    pub drawn: [u64; 5],
    /// The events that happened, in order; listed only under a schedule (a shrink's
    /// runs), so that a sweep's runs spend nothing on it.
    pub happened: Vec<Happened>,
}

impl FaultLedger {
    pub fn new(schedule: Option<FaultSchedule>) -> FaultLedger {
        FaultLedger { schedule, ..FaultLedger::default() }
    }

    /// The nemesis's wait, hurried if the schedule says so.
    pub fn wait_us(&self, drawn_us: u64) -> u64 {
        match &self.schedule {
            Some(schedule) if schedule.hurry > 1 => (drawn_us / u64::from(schedule.hurry)).max(1),
            _ => drawn_us,
        }
    }

    /// How long a partition lasts, made brief if the schedule says so.
    pub fn lasting_us(&self, drawn_us: u64) -> u64 {
        match &self.schedule {
            Some(schedule) if schedule.brief > 1 => (drawn_us / u64::from(schedule.brief)).max(1),
            _ => drawn_us,
        }
    }

    /// An event of `event`'s kind is due: numbers it, and says whether it happens.
    pub fn happens(
        &mut self,
        event: FaultEvent,
        time_us: u64,
        process: Option<usize>,
        target: Option<usize>,
    ) -> bool {
        let slot = event as usize;
        let ordinal = self.drawn[slot];
        self.drawn[slot] += 1;
        let Some(schedule) = &self.schedule else { return true };
        let kept = schedule.kept.get(&event).is_none_or(|kept| kept.contains(&ordinal));
        if kept {
            self.happened.push(Happened { event, ordinal, time_us, process, target });
        }
        kept
    }
}

/// The shapes a partition takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKind {
    /// Two groups that cannot talk to each other.
    Symmetric,
    /// Messages from one group to the other are lost; the other way works.
    OneWay,
    /// One process cut off from everyone.
    Isolate,
    /// Every client cut off from every node.
    ClientsFromNodes,
    /// A store node cut off from everyone for longer than the store's TTLs.
    LongIsolation,
    /// A store node cut off from one other node for longer than the store's TTLs.
    LongCutFromPeer,
}

impl PartitionKind {
    pub fn name(self) -> &'static str {
        match self {
            PartitionKind::Symmetric => "symmetric",
            PartitionKind::OneWay => "one-way",
            PartitionKind::Isolate => "isolate",
            PartitionKind::ClientsFromNodes => "clients-from-nodes",
            PartitionKind::LongIsolation => "long isolation",
            PartitionKind::LongCutFromPeer => "long cut from a peer",
        }
    }
}

/// Which directed links a partition cuts, stored in O(processes) (a list of cut links
/// is O(processes²): 1,000 clients made it half a million pairs) and asked about one link
/// in O(1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Links between the two sides are cut; `one_way`: only those leaving side `true`.
    Sides { side: Vec<bool>, one_way: bool },
    /// Every link to and from one process.
    Isolate { lonely: usize },
    /// Every link between a node and a client.
    ClientsFromNodes { is_node: Vec<bool> },
    /// The links between two processes, both ways.
    Pair { a: usize, b: usize },
}

/// A partition the nemesis drew: its kind and the links it cuts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub kind: PartitionKind,
    pub shape: Shape,
    /// Processes it was drawn over: links of processes at or past this are never cut.
    pub processes: usize,
}

impl Partition {
    /// Does the partition cut the link from `source` to `target`?
    pub fn cuts(&self, source: usize, target: usize) -> bool {
        if source >= self.processes || target >= self.processes {
            return false;
        }
        match &self.shape {
            Shape::Sides { side, one_way } => {
                side[source] != side[target] && (!*one_way || side[source])
            }
            Shape::Isolate { lonely } => {
                source != target && (source == *lonely || target == *lonely)
            }
            Shape::ClientsFromNodes { is_node } => is_node[source] != is_node[target],
            Shape::Pair { a, b } => (source, target) == (*a, *b) || (source, target) == (*b, *a),
        }
    }

    /// Every cut link `(source, target)`, in the order of a walk over sources then targets
    /// (for the isolated process: each other process, both directions). Only a trace needs
    /// the list; a run asks [`Partition::cuts`].
    pub fn links(&self) -> Vec<(usize, usize)> {
        let n = self.processes;
        match &self.shape {
            Shape::Isolate { lonely } => (0..n)
                .filter(|&o| o != *lonely)
                .flat_map(|other| [(*lonely, other), (other, *lonely)])
                .collect(),
            _ => (0..n)
                .flat_map(|source| (0..n).map(move |target| (source, target)))
                .filter(|&(source, target)| self.cuts(source, target))
                .collect(),
        }
    }
}

/// Draws a partition over `processes` (their node-ness given).
pub fn draw_partition(rng: &mut ChaCha8Rng, is_node: &[bool]) -> Partition {
    let n = is_node.len();
    let kind = match rng.gen_range(0..4) {
        0 => PartitionKind::Symmetric,
        1 => PartitionKind::OneWay,
        2 => PartitionKind::Isolate,
        _ => PartitionKind::ClientsFromNodes,
    };
    let shape = match kind {
        PartitionKind::Symmetric | PartitionKind::OneWay => {
            let side: Vec<bool> = (0..n).map(|_| rng.gen_ratio(1, 2)).collect();
            Shape::Sides { side, one_way: kind == PartitionKind::OneWay }
        }
        PartitionKind::Isolate => {
            // In a cluster, half the time one node alone: cut off from clients and the
            // other nodes (a draw a single node never makes, so its runs are as before).
            let nodes: Vec<usize> = (0..n).filter(|&i| is_node[i]).collect();
            let lonely = match nodes.len() > 1 && rng.gen_ratio(1, 2) {
                true => nodes[rng.gen_range(0..nodes.len())],
                false => rng.gen_range(0..n),
            };
            Shape::Isolate { lonely }
        }
        PartitionKind::ClientsFromNodes => Shape::ClientsFromNodes { is_node: is_node.to_vec() },
        PartitionKind::LongIsolation | PartitionKind::LongCutFromPeer => {
            unreachable!("the long isolation is drawn by the nemesis, never here")
        }
    };
    Partition { kind, shape, processes: n }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::streams::stream;

    #[test]
    fn spec_parses_families_and_rejects_unknown_ones() {
        assert_eq!(FaultSpec::parse("none"), Ok(FaultSpec::Families(vec![])));
        assert_eq!(
            FaultSpec::parse("partition,drop"),
            Ok(FaultSpec::Families(vec![Family::Drop, Family::Partition]))
        );
        let error = FaultSpec::parse("drop,lightning").unwrap_err();
        assert!(error.contains("`lightning`"), "{error}");
    }

    #[test]
    fn none_draws_a_clean_mix_and_all_draws_every_family() {
        assert!(FaultMix::draw(&FaultSpec::parse("none").unwrap(), 1).is_clean());
        let all = FaultMix::draw(&FaultSpec::parse("all").unwrap(), 1);
        assert!(all.drop.is_some() && all.duplicate.is_some() && all.delay.is_some());
        assert!(all.partition.is_some() && all.clock.is_some());
        assert!(all.expiry.is_some() && all.quirks.is_some());
        assert!(all.crash.is_some() && all.disk.is_some());
    }

    #[test]
    fn the_durability_families_leave_every_earlier_draw_as_it_was() {
        // Seeds keep their meaning: turning crash and disk on changes nothing else.
        for seed in 0..50 {
            let with = FaultMix::draw(&FaultSpec::Swarm, seed);
            let without = FaultMix { crash: None, disk: None, ..with.clone() };
            let fixed = FaultMix::draw(&FaultSpec::Families(without.families()), seed);
            assert_eq!(fixed, without, "seed {seed}");
        }
    }

    #[test]
    fn swarm_turns_families_off_on_some_seeds_and_on_on_others() {
        let mixes: Vec<FaultMix> = (0..64).map(|s| FaultMix::draw(&FaultSpec::Swarm, s)).collect();
        assert!(mixes.iter().any(|m| m.expiry.is_none()));
        assert!(mixes.iter().any(|m| m.quirks.is_some()));
        assert!(mixes.iter().any(|m| m.drop.is_none()));
        assert!(mixes.iter().any(|m| m.drop.is_some()));
        assert!(mixes.iter().any(|m| m.partition.is_none()));
        assert!(mixes.iter().any(|m| m.partition.is_some()));
    }

    /// The cut links as the old drawing listed them: every ordered pair the shape blocks.
    fn listed_the_old_way(kind: PartitionKind, shape: &Shape, n: usize) -> Vec<(usize, usize)> {
        let mut cut = Vec::new();
        match shape {
            Shape::Sides { side, .. } => {
                for source in 0..n {
                    for target in 0..n {
                        let crosses = side[source] != side[target];
                        let blocked = match kind {
                            PartitionKind::OneWay => crosses && side[source],
                            _ => crosses,
                        };
                        if blocked {
                            cut.push((source, target));
                        }
                    }
                }
            }
            Shape::Isolate { lonely } => {
                for other in (0..n).filter(|o| o != lonely) {
                    cut.push((*lonely, other));
                    cut.push((other, *lonely));
                }
            }
            Shape::ClientsFromNodes { is_node } => {
                for source in 0..n {
                    for target in 0..n {
                        if is_node[source] != is_node[target] {
                            cut.push((source, target));
                        }
                    }
                }
            }
            Shape::Pair { a, b } => cut.extend([(*a.min(b), *a.max(b)), (*a.max(b), *a.min(b))]),
        }
        cut
    }

    #[test]
    fn a_pair_cut_blocks_both_directions_between_two_processes_only() {
        let cut = Partition {
            kind: PartitionKind::LongCutFromPeer,
            shape: Shape::Pair { a: 2, b: 0 },
            processes: 4,
        };
        assert_eq!(cut.links(), vec![(0, 2), (2, 0)]);
        for (source, target) in [(0, 1), (1, 2), (2, 3), (3, 0), (2, 2)] {
            assert!(!cut.cuts(source, target), "{source}->{target}");
        }
    }

    #[test]
    fn a_long_isolation_outlasts_the_drawn_ttls_in_a_third_of_the_seeds_that_can_have_one() {
        let both = FaultSpec::parse("partition,expiry").unwrap();
        let mixes: Vec<FaultMix> = (0..3000).map(|s| FaultMix::draw(&both, s)).collect();
        let isolated = mixes.iter().filter(|m| m.isolation.is_some()).count();
        assert!((900..=1100).contains(&isolated), "{isolated} of 3000");
        for mix in &mixes {
            let (Some(isolation), Some(expiry)) = (mix.isolation, mix.expiry) else { continue };
            assert!(isolation.duration_us > expiry.txn_ttl_us.max(expiry.outcome_ttl_us));
        }
        let partition_only = FaultSpec::parse("partition").unwrap();
        assert!((0..300).all(|s| FaultMix::draw(&partition_only, s).isolation.is_none()));
    }

    #[test]
    fn a_compact_partition_cuts_exactly_the_links_a_list_did() {
        // Same draws, same cut links in the same order as the quadratic list it replaced,
        // and `cuts` agrees with the list on every pair (and beyond the processes).
        let mut rng = stream(3, "nemesis");
        let mut kinds = Vec::new();
        for n in [1, 2, 3, 7, 12] {
            let is_node: Vec<bool> = (0..n).map(|i| i == 0).collect();
            for _ in 0..40 {
                let partition = draw_partition(&mut rng, &is_node);
                let listed = listed_the_old_way(partition.kind, &partition.shape, n);
                assert_eq!(partition.links(), listed, "{partition:?}");
                for source in 0..=n {
                    for target in 0..=n {
                        let expected = listed.contains(&(source, target));
                        assert_eq!(partition.cuts(source, target), expected, "{partition:?}");
                    }
                }
                kinds.push(partition.kind);
            }
        }
        for kind in [
            PartitionKind::Symmetric,
            PartitionKind::OneWay,
            PartitionKind::Isolate,
            PartitionKind::ClientsFromNodes,
        ] {
            assert!(kinds.contains(&kind), "{kind:?} never drawn");
        }
    }
}
