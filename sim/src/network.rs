//! The virtual network: decides, per message, whether and when it arrives.
//!
//! Every message gets a delay drawn uniformly from a base range (so messages between the
//! same pair reorder freely), and, while the fault phase lasts, may be dropped,
//! duplicated, held back by a delay spike, or lost to a partition. All draws come from
//! the network's own stream.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::faults::FaultMix;

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
}

pub struct Network {
    mix: FaultMix,
    rng: ChaCha8Rng,
    processes: usize,
    /// `cut[source * processes + target]`: the link is partitioned.
    cut: Vec<bool>,
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
    pub fn new(mix: FaultMix, rng: ChaCha8Rng, processes: usize) -> Network {
        Network {
            mix,
            rng,
            processes,
            cut: vec![false; processes * processes],
            faults_active: true,
            stats: NetworkStats::default(),
        }
    }

    /// Decides what happens to a message sent now from `source` to `target`.
    pub fn send(&mut self, source: usize, target: usize) -> Fate {
        self.stats.sent += 1;
        if self.is_cut(source, target) {
            self.stats.partitioned += 1;
            return Fate::Lost(Loss::Partitioned);
        }
        if self.faults_active && self.mix.drop.is_some_and(|r| r.sample(&mut self.rng)) {
            self.stats.dropped += 1;
            return Fate::Lost(Loss::Dropped);
        }
        let mut delays = vec![self.delay_us()];
        if self.faults_active && self.mix.duplicate.is_some_and(|r| r.sample(&mut self.rng)) {
            self.stats.duplicated += 1;
            delays.push(self.delay_us());
        }
        Fate::Arrives(delays)
    }

    fn delay_us(&mut self) -> u64 {
        let base = self.rng.gen_range(DELAY_US_MIN..=DELAY_US_MAX);
        match self.mix.delay {
            Some(spike) if self.faults_active && spike.ratio.sample(&mut self.rng) => {
                base + self.rng.gen_range(0..=spike.delay_us_max)
            }
            _ => base,
        }
    }

    pub fn is_cut(&self, source: usize, target: usize) -> bool {
        self.cut.get(source * self.processes + target).copied().unwrap_or(false)
    }

    /// Replaces the current partition (an empty list heals it).
    pub fn set_partition(&mut self, links: &[(usize, usize)]) {
        self.cut.iter_mut().for_each(|c| *c = false);
        for &(source, target) in links {
            if source < self.processes && target < self.processes {
                self.cut[source * self.processes + target] = true;
            }
        }
    }

    /// Ends the fault phase: no more drops, duplicates, spikes or partitions.
    pub fn heal(&mut self) {
        self.faults_active = false;
        self.set_partition(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{FaultSpec, Ratio};
    use crate::streams::stream;

    #[test]
    fn a_clean_network_delivers_everything_once_within_the_base_delay() {
        let mut net = Network::new(FaultMix::default(), stream(1, "network"), 2);
        for _ in 0..1000 {
            match net.send(0, 1) {
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
        let mut net = Network::new(FaultMix::default(), stream(1, "network"), 3);
        net.set_partition(&[(0, 1)]);
        assert_eq!(net.send(0, 1), Fate::Lost(Loss::Partitioned));
        assert!(matches!(net.send(1, 0), Fate::Arrives(_)), "one-way cut blocked the reverse");
        assert!(matches!(net.send(0, 2), Fate::Arrives(_)));
        net.heal();
        assert!(matches!(net.send(0, 1), Fate::Arrives(_)));
    }

    #[test]
    fn drop_and_duplicate_rates_apply_until_healed() {
        let mix = FaultMix {
            drop: Some(Ratio::new(1, 4)),
            duplicate: Some(Ratio::new(1, 4)),
            ..FaultMix::draw(&FaultSpec::Families(vec![]), &mut stream(0, "faults"))
        };
        let mut net = Network::new(mix, stream(2, "network"), 2);
        (0..4000).for_each(|_| drop(net.send(0, 1)));
        assert!((800..1200).contains(&net.stats.dropped), "{:?}", net.stats);
        assert!((500..1000).contains(&net.stats.duplicated), "{:?}", net.stats);
        net.heal();
        let before = net.stats.clone();
        (0..1000).for_each(|_| drop(net.send(0, 1)));
        assert_eq!((net.stats.dropped, net.stats.duplicated), (before.dropped, before.duplicated));
    }
}
