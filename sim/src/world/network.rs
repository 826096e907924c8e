//! The virtual network: decides, per message, whether and when it arrives.
//!
//! Every message gets a delay drawn uniformly from a base range (so messages between the
//! same pair reorder freely), and, while the fault phase lasts, may be dropped,
//! duplicated, held back by a delay spike, or lost to a partition. All draws come from
//! the network's own stream.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::world::faults::{FaultEvent, FaultLedger, FaultMix, FaultSchedule, Partition};
use crate::world::streams::stream;

/// Base one-way delay: every message, faults or not.
pub const DELAY_US_MIN: u64 = 100;
pub const DELAY_US_MAX: u64 = 1_000;

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    Dropped,
    Partitioned,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::Dropped => "dropped",
            Loss::Partitioned => "partitioned",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub partitioned: u64,
    pub duplicated: u64,
    /// Copies that arrived at a process that was down (a crashed node), and were lost.
    pub undelivered: u64,
    /// The run's fault events, the nemesis's too: kept here, where the world reaches
    /// it from every fault and whence it travels out with the run, so that the world
    /// needs no other field for it.
    pub faults: FaultLedger,
}

/// Memory is linear in the processes: a run's messages take only the links between each
/// client and the node, so the streams live in a map of the links used, and a partition is
/// kept in its compact form (a square table of either took 1,000 clients to 335 MB).
pub struct Network {
    mix: FaultMix,
    seed: u64,
    /// One stream per directed link `(source, target)`, created on first use.
    links: BTreeMap<(usize, usize), ChaCha8Rng>,
    partition: Option<Partition>,
    /// The long isolation (see [`crate::world::faults::Isolation`]), if one is on.
    isolation: Option<Partition>,
    faults_active: bool,
    pub stats: NetworkStats,
}

/// The fate of one sent message: the delays of the copies that will arrive, or why none
/// will.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    Arrives(Vec<u64>),
    Lost(Loss),
}

impl Network {
    pub fn new(mix: FaultMix, seed: u64) -> Network {
        Network {
            mix,
            seed,
            links: BTreeMap::new(),
            partition: None,
            isolation: None,
            faults_active: true,
            stats: NetworkStats::default(),
        }
    }

    /// The fault events the shrinker keeps (`None`: all of them, as drawn).
    pub fn with_schedule(mut self, schedule: Option<FaultSchedule>) -> Network {
        self.stats.faults = FaultLedger::new(schedule);
        self
    }

    /// Decides what happens to a message sent at `now_us` from `source` to `target`.
    pub fn send(&mut self, now_us: u64, source: usize, target: usize) -> Fate {
        self.stats.sent += 1;
        if self.is_cut(source, target) {
            self.stats.partitioned += 1;
            return Fate::Lost(Loss::Partitioned);
        }
        let (mix, faults_active) = (self.mix.clone(), self.faults_active);
        let rng = self.link(source, target);
        // Every message draws the same numbers whatever happens to it, so one message's
        // fate never shifts the draws of the next on its link.
        let dropped = mix.drop.is_some_and(|r| r.sample(rng));
        let duplicated = mix.duplicate.is_some_and(|r| r.sample(rng));
        let first = delay_us(rng, &mix);
        let second = delay_us(rng, &mix);
        // A fault the schedule suppresses was drawn all the same, and is then ignored.
        let (at, ledger) = ((Some(source), Some(target)), &mut self.stats.faults);
        let dropped =
            faults_active && dropped && ledger.happens(FaultEvent::Drop, now_us, at.0, at.1);
        if dropped {
            self.stats.dropped += 1;
            return Fate::Lost(Loss::Dropped);
        }
        let duplicated = faults_active
            && duplicated
            && ledger.happens(FaultEvent::Duplicate, now_us, at.0, at.1);
        let spikes = faults_active
            && (first.1 > 0 || (duplicated && second.1 > 0))
            && ledger.happens(FaultEvent::Delay, now_us, at.0, at.1);
        let spiked = |(base, spike): (u64, u64)| if spikes { base + spike } else { base };
        if duplicated {
            self.stats.duplicated += 1;
            return Fate::Arrives(vec![spiked(first), spiked(second)]);
        }
        Fate::Arrives(vec![spiked(first)])
    }

    fn link(&mut self, source: usize, target: usize) -> &mut ChaCha8Rng {
        let seed = self.seed;
        self.links
            .entry((source, target))
            .or_insert_with(|| stream(seed, &format!("network/{source}->{target}")))
    }

    pub fn is_cut(&self, source: usize, target: usize) -> bool {
        [&self.partition, &self.isolation]
            .into_iter()
            .any(|cut| cut.as_ref().is_some_and(|p| p.cuts(source, target)))
    }

    /// Sets or ends the run's long isolation, which lasts across partitions.
    pub fn set_isolation(&mut self, isolation: Option<Partition>) {
        self.isolation = isolation;
    }

    /// Replaces the current partition (`None` heals it).
    pub fn set_partition(&mut self, partition: Option<Partition>) {
        self.partition = partition;
    }

    /// Ends the fault phase: no more drops, duplicates, spikes or partitions.
    pub fn heal(&mut self) {
        self.faults_active = false;
        self.set_partition(None);
        self.set_isolation(None);
    }
}

/// A base delay and, if a spike hits this message, the extra hold-up.
fn delay_us(rng: &mut ChaCha8Rng, mix: &FaultMix) -> (u64, u64) {
    let base = rng.gen_range(DELAY_US_MIN..=DELAY_US_MAX);
    let spike = match mix.delay {
        Some(spike) if spike.ratio.sample(rng) => rng.gen_range(0..=spike.delay_us_max),
        _ => 0,
    };
    (base, spike)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::faults::{FaultSpec, PartitionKind, Ratio, Shape};
    use crate::world::streams::stream;

    #[test]
    fn a_clean_network_delivers_everything_once_within_the_base_delay() {
        let mut net = Network::new(FaultMix::default(), 1);
        for _ in 0..1000 {
            match net.send(0, 0, 1) {
                Fate::Arrives(d) => {
                    assert_eq!(d.len(), 1);
                    assert!((DELAY_US_MIN..=DELAY_US_MAX).contains(&d[0]));
                }
                lost => panic!("clean network lost a message: {lost:?}"),
            }
        }
    }

    #[test]
    fn partitions_cut_only_their_links_and_heal() {
        let mut net = Network::new(FaultMix::default(), 1);
        let side = vec![true, false, true];
        let shape = Shape::Sides { side, one_way: true };
        net.set_partition(Some(Partition { kind: PartitionKind::OneWay, shape, processes: 3 }));
        assert_eq!(net.send(0, 0, 1), Fate::Lost(Loss::Partitioned));
        assert!(matches!(net.send(0, 1, 0), Fate::Arrives(_)), "one-way cut blocked the reverse");
        assert!(matches!(net.send(0, 0, 2), Fate::Arrives(_)), "same side");
        net.heal();
        assert!(matches!(net.send(0, 0, 1), Fate::Arrives(_)));
    }

    #[test]
    fn drop_and_duplicate_rates_apply_until_healed() {
        let mix = FaultMix {
            drop: Some(Ratio::new(1, 4)),
            duplicate: Some(Ratio::new(1, 4)),
            ..FaultMix::draw(&FaultSpec::Families(vec![]), 0)
        };
        let mut net = Network::new(mix, 2);
        (0..4000).for_each(|_| drop(net.send(0, 0, 1)));
        assert!((800..1200).contains(&net.stats.dropped), "{:?}", net.stats);
        assert!((500..1000).contains(&net.stats.duplicated), "{:?}", net.stats);
        net.heal();
        let before = net.stats.clone();
        (0..1000).for_each(|_| drop(net.send(0, 0, 1)));
        assert_eq!((net.stats.dropped, net.stats.duplicated), (before.dropped, before.duplicated));
    }

    #[test]
    fn streams_exist_only_for_the_links_used_and_match_their_names() {
        // Memory follows the links used, not processes²; each link's stream is still the
        // one named after it, so runs (and fingerprints) are what they were.
        let mut net = Network::new(FaultMix::default(), 9);
        for (source, target) in [(0, 1000), (1000, 0), (0, 1000), (5, 0)] {
            drop(net.send(0, source, target));
        }
        assert_eq!(net.links.keys().copied().collect::<Vec<_>>(), [(0, 1000), (5, 0), (1000, 0)]);
        let mut fresh = stream(9, "network/5->0");
        let first = fresh.gen_range(DELAY_US_MIN..=DELAY_US_MAX);
        let mut replay = Network::new(FaultMix::default(), 9);
        assert_eq!(replay.send(0, 5, 0), Fate::Arrives(vec![first]));
    }
}
