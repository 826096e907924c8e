//! The nemesis: the faults the world injects into a run besides each message's fate.
//! Partitions (drawn from the `nemesis` stream) cut links for a while and heal; crashes
//! (from `nemesis/crash`, so that partitions draw as they did before crashes existed) take
//! a store node down and restart it after a drawn downtime. Both stop at the heal.

use crate::world::node_host::RestartFailure;
use rand::Rng;

use crate::world::faults::draw_partition;
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
        let kind = partition.kind;
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str(kind.name());
        if self.config.record_trace {
            // Only a trace lists the cut links (quadratic in the processes).
            let cut = partition.links();
            self.trace.push(TraceEvent::Partition { time_us: now_us, kind: kind.name(), cut });
        }
        self.network.set_partition(Some(partition));
        let duration = self.nemesis.gen_range(1..=schedule.duration_us_max);
        self.queue.push(now_us + duration, Action::PartitionEnd);
    }

    pub(super) fn partition_end(&mut self, now_us: u64) {
        let Some(schedule) = self.mix.partition else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        self.network.set_partition(None);
        if self.config.record_trace {
            self.trace.push(TraceEvent::PartitionHealed { time_us: now_us });
        }
        let quiet = self.nemesis.gen_range(1..=schedule.interval_us_max);
        self.queue.push(now_us + quiet, Action::PartitionStart);
    }

    /// Schedules the next crash of node `index`, up to the family's interval after `now`
    /// (none without the `crash` family, or once the faults healed).
    pub(super) fn schedule_crash(&mut self, now_us: u64, index: usize) {
        let Some(crashes) = self.mix.crash else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        let after_us = self.crash_nemesis.gen_range(1..=crashes.interval_us_max);
        self.queue.push(now_us + after_us, Action::Crash { process: index });
    }

    /// The nemesis crashes node `index`: it loses its volatile state and the writes its
    /// disk lets go; it restarts after a drawn downtime. Half the crashes aim: when the
    /// disk has nothing unsynced, they wait for the next write (the moment the durability
    /// of what the node just did is at stake) rather than land where a crash can only
    /// lose volatile state.
    pub(super) fn crash(&mut self, index: usize, now_us: u64) {
        let Some(crashes) = self.mix.crash else { return };
        if self.healed_at_us.is_some() {
            return;
        }
        let Actor::Node(host) = &mut self.processes[index].actor else { return };
        if !host.crash_armed && !host.disk.has_pending() && self.crash_nemesis.gen_ratio(1, 2) {
            host.crash_armed = host.is_up();
            return;
        }
        let Some((damage, unsent)) = host.crash() else { return };
        let held = unsent.len();
        self.conformance.lost_unsent(&unsent);
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str("crash");
        for count in [damage.lost, damage.kept, damage.torn, held as u64] {
            self.fingerprint.write_u64(count);
        }
        if self.config.record_trace {
            let damage = damage.describe();
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
            // The heal restarted it already.
            return;
        }
        let (recovered, records, log_len) = match host.restart(local_us) {
            Ok(found) => found,
            Err(RestartFailure::Panic(message)) => {
                self.node_panic = Some(format!(
                    "{} panicked at {now_us}us recovering from its log: {message}",
                    self.processes[index].name
                ));
                return;
            }
            Err(RestartFailure::Refused(message)) => {
                self.node_refused = Some(format!(
                    "{} at {now_us}us: its log is {message}",
                    self.processes[index].name
                ));
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
