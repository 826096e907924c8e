//! The nemesis: the faults the world injects into a run besides each message's fate.
//! Partitions (drawn from the `nemesis` stream) cut links for a while and heal; crashes
//! (from `nemesis/crash`, so that partitions draw as they did before crashes existed) take
//! a store node down and restart it after a drawn downtime. Both stop at the heal.

use rand::Rng;

use node::protocol::{Envelope, Payload};

use crate::world::faults::{draw_partition, FaultEvent, Partition, PartitionKind, Shape};
use crate::world::store::{RestartFailure, Restarted};
use crate::world::timed_text::TimedText;
use crate::world::topology::Role;
use crate::world::{Action, Actor, TraceEvent, World};

impl World {
    pub(super) fn partition_start(&mut self, now_us: u64) {
        let Some(schedule) = self.mix.partition else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        let is_node: Vec<bool> = self.processes.iter().map(|p| p.role == Role::Node).collect();
        let partition = draw_partition(&mut self.nemesis, &is_node);
        let duration = self.nemesis.gen_range(1..=schedule.duration_us_max);
        let duration = self.network.stats.faults.lasting_us(duration);
        self.queue.push(now_us + duration, Action::PartitionEnd);
        if !self.network.stats.faults.happens(FaultEvent::Partition, now_us, None, None) {
            // Drawn and ignored: the links stay up, the nemesis's draws go on as before.
            return;
        }
        let kind = partition.kind;
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str(kind.name());
        if self.config.record_trace {
            // Only a trace lists the cut links (quadratic in the processes).
            let cut = partition.links();
            self.trace.push(TraceEvent::Partition { time_us: now_us, kind: kind.name(), cut });
        }
        self.network.set_partition(Some(partition));
    }

    pub(super) fn partition_end(&mut self, now_us: u64) {
        let Some(schedule) = self.mix.partition else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        self.network.set_partition(None);
        if self.config.record_trace {
            self.trace.push(TraceEvent::PartitionHealed { time_us: now_us, kind: "partition" });
        }
        let quiet = self.nemesis.gen_range(1..=schedule.interval_us_max);
        let quiet = self.network.stats.faults.wait_us(quiet);
        self.queue.push(now_us + quiet, Action::PartitionStart);
    }

    /// The long isolation's time came: a store node is cut off from everyone, or (in a
    /// cluster, half the time) the nemesis waits for the next commit decision a
    /// coordinator sends and cuts its participant off from it just before it leaves (see
    /// [`World::isolate_on_decision`]), the moment a participant is left in doubt.
    pub(super) fn isolation_start(&mut self, now_us: u64) {
        if self.mix.isolation.is_none() || self.healed_at_us.is_some() {
            return;
        }
        let nodes = self.config.nodes as usize;
        let rng = &mut self.isolation_nemesis;
        if nodes > 1 && rng.gen_ratio(1, 2) {
            self.isolation_waits_for_decision = true;
            return;
        }
        let lonely = rng.gen_range(0..nodes);
        self.isolate(now_us, PartitionKind::LongIsolation, Shape::Isolate { lonely }, lonely);
    }

    /// Called as `envelope` leaves node `source` for `target` (a node's own message, never
    /// one the simulator sends in a node's name): if the nemesis waits
    /// for a commit decision and this is one, `target` is cut off from `source` now, and
    /// the decision with it.
    pub(super) fn isolate_on_decision(
        &mut self,
        now_us: u64,
        source: usize,
        target: usize,
        envelope: &Envelope,
    ) {
        let between_nodes = [source, target].iter().all(|&i| self.processes[i].role == Role::Node);
        if !self.isolation_waits_for_decision
            || !between_nodes
            || !matches!(envelope.body.payload, Payload::TxnDecide { committed: true, .. })
        {
            return;
        }
        self.isolation_waits_for_decision = false;
        let shape = Shape::Pair { a: target, b: source };
        self.isolate(now_us, PartitionKind::LongCutFromPeer, shape, target);
    }

    /// Cuts what `shape` says until the long isolation's drawn duration has passed.
    fn isolate(&mut self, now_us: u64, kind: PartitionKind, shape: Shape, lonely: usize) {
        let Some(isolation) = self.mix.isolation else { return };
        if !self.network.stats.faults.happens(FaultEvent::Partition, now_us, Some(lonely), None) {
            return;
        }
        let cut = Partition { kind, shape, processes: self.processes.len() };
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str(kind.name());
        self.fingerprint.write_u64(lonely as u64);
        if self.config.record_trace {
            let links = cut.links();
            self.trace.push(TraceEvent::Partition {
                time_us: now_us,
                kind: kind.name(),
                cut: links,
            });
        }
        self.network.set_isolation(Some(cut));
        self.queue.push(now_us + isolation.duration_us, Action::IsolationEnd);
    }

    pub(super) fn isolation_end(&mut self, now_us: u64) {
        if self.healed_at_us.is_some() {
            return;
        }
        self.network.set_isolation(None);
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str("isolation healed");
        if self.config.record_trace {
            let kind = "long isolation";
            self.trace.push(TraceEvent::PartitionHealed { time_us: now_us, kind });
        }
    }

    /// Schedules the next crash of node `index`, up to the family's interval after `now`
    /// (none without the `crash` family, or once the faults healed).
    pub(super) fn schedule_crash(&mut self, now_us: u64, index: usize) {
        let Some(crashes) = self.mix.crash else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        let after_us = self.crash_nemesis.gen_range(1..=crashes.interval_us_max);
        let after_us = self.network.stats.faults.wait_us(after_us);
        self.queue.push(now_us + after_us, Action::Crash { process: index });
    }

    /// The nemesis crashes node `index`: it loses its volatile state and the writes its
    /// disk lets go; it restarts after a drawn downtime. Most crashes aim at a moment the
    /// durability of what the node just did is at stake, rather than land where a crash
    /// can only lose volatile state: half of them, when the disk has nothing unsynced,
    /// wait for the next write; half of the rest wait for the node to release messages
    /// while its disk holds unsynced writes (see [`CrashAim`]).
    pub(super) fn crash(&mut self, index: usize, now_us: u64) {
        let Some(crashes) = self.mix.crash else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        let process = &mut self.processes[index];
        let Actor::Node(host) = &mut process.actor else { return };
        // A store whose disk the harness cannot see is crashed where the crash falls:
        // between two of its steps, every moment is as good as another.
        if let (None, true, Some(unsynced)) =
            (process.crash_aim, host.is_up(), host.has_unsynced_writes())
        {
            if !unsynced && self.crash_nemesis.gen_ratio(1, 2) {
                process.crash_aim = Some(CrashAim::NextWrite);
                return;
            }
            if self.crash_aim.gen_ratio(1, 2) {
                process.crash_aim = Some(CrashAim::EarlyRelease);
                return;
            }
        }
        let ledger = &mut self.network.stats.faults;
        if host.is_up() && !ledger.happens(FaultEvent::Crash, now_us, Some(index), None) {
            // Drawn and ignored: the node stays up, and the restart it would have had
            // schedules its next crash, so the nemesis draws in the order it always did.
            process.crash_aim = None;
            let downtime_us = self.crash_nemesis.gen_range(1..=crashes.downtime_us_max);
            self.queue.push(now_us + downtime_us, Action::Restart { process: index });
            return;
        }
        process.crash_aim = None;
        let Some(crashed) = host.crash() else { return };
        let held = crashed.held.len();
        self.conformance.lost_unsent(&crashed.held);
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str("crash");
        let damage = crashed.damage.clone().unwrap_or_default();
        for count in [damage.lost, damage.kept, damage.torn, held as u64] {
            self.fingerprint.write_u64(count);
        }
        if self.config.record_trace {
            let damage = crashed.describe();
            self.trace.push(TraceEvent::Crash { time_us: now_us, process: index, damage, held });
        }
        let downtime_us = self.crash_nemesis.gen_range(1..=crashes.downtime_us_max);
        self.queue.push(now_us + downtime_us, Action::Restart { process: index });
        self.reschedule(index, now_us);
    }

    /// Node `index` restarts: recovery rebuilds it from its disk, the simulator
    /// initialises it again, and (while faults last) its next crash is scheduled.
    pub(super) fn restart(&mut self, index: usize, now_us: u64) {
        let local_us = self.processes[index].clock.local(now_us);
        let Actor::Node(host) = &mut self.processes[index].actor else { return };
        if host.is_up() {
            // The heal restarted it already (then no crash is scheduled), or the crash
            // was suppressed by the run's fault schedule.
            self.schedule_crash(now_us, index);
            return;
        }
        let Restarted { found: recovered, records, log_bytes: log_len } =
            match host.restart(local_us) {
                Ok(found) => found,
                Err(RestartFailure::Panic(message)) => {
                    let name = &self.processes[index].name;
                    self.node_panic = Some(
                        TimedText::from(format!("{name} panicked at "))
                            .time_us(now_us)
                            .words(format!(" recovering from its log: {message}")),
                    );
                    return;
                }
                Err(RestartFailure::Refused(message)) => {
                    let name = &self.processes[index].name;
                    self.node_refused = Some(
                        TimedText::from(format!("{name} at "))
                            .time_us(now_us)
                            .words(format!(": its log is {message}")),
                    );
                    return;
                }
                Err(RestartFailure::Process(message)) => {
                    let name = &self.processes[index].name;
                    self.process_error = Some(
                        TimedText::from(format!("{name} could not be restarted at "))
                            .time_us(now_us)
                            .words(format!(": {message}")),
                    );
                    return;
                }
            };
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str("restart");
        self.fingerprint.write_u64(records);
        self.fingerprint.write_u64(log_len);
        if self.config.record_trace {
            self.trace.push(TraceEvent::Restart { time_us: now_us, process: index, recovered });
        }
        self.conformance.restarted(index);
        self.init_node(index, now_us);
        self.schedule_crash(now_us, index);
    }
}

/// A crash held back for the moment the durability of what the node just did is at
/// stake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashAim {
    /// Right after the node's next write, before it is synced.
    NextWrite,
    /// Right after the node releases messages while its disk holds unsynced writes: a
    /// release that ran ahead of the sync covering it (a group-commit race) is caught
    /// there, in the few microseconds before the next sync.
    EarlyRelease,
}

impl CrashAim {
    /// Whether the crash lands now, after a step that released `released` messages.
    pub fn is_now(self, released: bool, pending: bool) -> bool {
        match self {
            CrashAim::NextWrite => pending,
            CrashAim::EarlyRelease => released && pending,
        }
    }
}
