//! The run's phases and its liveness bound. The fault phase lasts until most of the work is
//! done (or it stalls, or a time cap passes); the heal ends every fault and restarts every
//! node that is down; then work must progress within [`STALL_BOUND_US`], and once every
//! client is done, nothing is in flight and (in a cluster) no node holds a two-phase
//! commit unresolved, a final read of every key, through any node, closes the history.
//! A run that cannot get there is a liveness failure, said with what each client (and
//! each node holding a doubt) was doing.

use std::collections::BTreeMap;

use rand::Rng;

use workloads::client::{Client, ClientConfig, Source};
use workloads::history::EventKind;
use workloads::workload::{key_space, Instr, Program};

use crate::world::streams::stream;
use crate::world::timed_text::TimedText;
use crate::world::{Action, Actor, TraceEvent, World};

/// Progress bound: a client gives up on a transaction within well under a second of
/// virtual time (bounded resends and attempts), so this long without any logical
/// transaction finishing means the system is stuck. During the fault phase a stall ends
/// the phase early (faults may be the cause); after healing it is a liveness failure.
pub const STALL_BOUND_US: u64 = 10_000_000;
/// Events at one virtual instant before the run is declared stuck: a process that keeps
/// asking to be woken "now" (or two that ping-pong without delay) would otherwise spin
/// forever without virtual time advancing. Far above anything a correct run does at one
/// microsecond.
pub const EVENTS_PER_INSTANT_MAX: u64 = 100_000;
/// Keys per final-read transaction: a read of every key in one transaction would outlive
/// the store's transaction TTL once the key space is large.
pub const FINAL_READ_KEYS_MAX: usize = 50;

impl World {
    /// Heals once most of the work is done (or the fault phase's cap passes), and starts
    /// the final read once every client has finished.
    pub(super) fn advance_phase(&mut self, now_us: u64) {
        if self.healed_at_us.is_none() {
            let mostly_done = self.finished * 5 >= self.planned_txns() * 4;
            let stalled = now_us > self.last_progress_us + STALL_BOUND_US;
            if mostly_done || stalled || self.client_indices().all(|i| self.is_done(i)) {
                self.heal(now_us);
            }
        }
        let quiescent = self.in_flight == 0;
        if !self.final_spawned
            && quiescent
            && self.client_indices().all(|i| self.is_done(i))
            && self.unresolved().is_empty()
        {
            self.spawn_final_reader(now_us);
        }
    }

    pub(super) fn heal(&mut self, now_us: u64) {
        self.healed_at_us = Some(now_us);
        // The liveness phase runs with every node up: one that is down restarts now.
        let down: Vec<usize> = (0..self.processes.len())
            .filter(|&i| matches!(&self.processes[i].actor, Actor::Node(host) if !host.is_up()))
            .collect();
        for index in down {
            self.restart(index, now_us);
        }
        // The liveness bound counts from the heal: a stall during the faults, which may
        // be what ended them, is not the healed system's fault.
        self.last_progress_us = now_us;
        self.network.heal();
        self.fingerprint.write_u64(now_us);
        self.fingerprint.write_str("heal");
        if self.config.record_trace {
            self.trace.push(TraceEvent::Heal { time_us: now_us });
        }
    }

    /// A fresh process reads every key of the workload (in transactions of at most
    /// [`FINAL_READ_KEYS_MAX`] keys), after all other work finished and every message in
    /// flight arrived or was lost: the checker compares these final versions with the
    /// committed writes.
    pub(super) fn spawn_final_reader(&mut self, now_us: u64) {
        self.final_spawned = true;
        let process = self
            .client_indices()
            .filter_map(|i| match &self.processes[i].actor {
                Actor::Client(c) => Some(c.process()),
                _ => None,
            })
            .max()
            .unwrap_or(0)
            + 1;
        let keys = key_space(self.config.workload, self.config.keys);
        let programs = keys
            .chunks(FINAL_READ_KEYS_MAX)
            .map(|chunk| Program { instrs: chunk.iter().cloned().map(Instr::Read).collect() })
            .collect();
        let index = self.final_reader;
        let name = self.processes[index].name.clone();
        let start_local = self.processes[index].clock.local(now_us);
        // Through any node: in a cluster it forwards reads and runs two-phase commit like
        // any other, and the node is drawn (a stream of its own; one node draws nothing).
        let nodes = self.config.nodes;
        let node = match nodes {
            1 => 0,
            _ => stream(self.config.seed, "final-reader/node").gen_range(0..nodes),
        };
        let client = Client::new(
            name,
            self.processes[node as usize].name.clone(),
            process,
            1,
            ClientConfig { max_attempts: 1, ..ClientConfig::default() },
            stream(self.config.seed, "final-reader"),
            stream(self.config.seed, "final-reader/timing"),
            Source::Fixed(programs),
            start_local,
        );
        self.processes[index].actor = Actor::Client(Box::new(client));
        self.reschedule(index, now_us);
    }

    /// The two-phase commits some node holds unresolved, one line each (none on a single
    /// node): a node down counts as unresolved too, since what it holds is unknown.
    pub(super) fn unresolved(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for index in self.node_indices() {
            let Actor::Node(host) = &self.processes[index].actor else { continue };
            let name = &self.processes[index].name;
            if !host.is_up() {
                lines.push(format!("{name} is down"));
                continue;
            }
            match host.unresolved() {
                None => {}
                Some(unresolved) => match unresolved {
                    (0, 0) => {}
                    (prepared, decisions) => lines.push(format!(
                        "{name} holds {prepared} prepared transactions undecided and {decisions} \
                         decisions not acknowledged"
                    )),
                },
            }
        }
        lines
    }

    /// Logical transactions the clients will run: all of them, or only those kept.
    pub(super) fn planned_txns(&self) -> u64 {
        match &self.config.keep {
            None => self.config.txns,
            Some(keep) => keep.values().map(|programs| programs.len() as u64).sum(),
        }
    }

    pub(super) fn is_done(&self, index: usize) -> bool {
        match &self.processes[index].actor {
            Actor::Client(client) => client.is_done(),
            _ => false,
        }
    }

    /// After healing the store must make progress: the final read must commit (without
    /// it the checker cannot compare final versions), and if clients began transactions
    /// after the heal, at least one of them must commit. Clients always finish (they give
    /// up after bounded retries), so finishing alone proves nothing.
    pub(super) fn final_read_failure(&self) -> Option<TimedText> {
        let chunks =
            key_space(self.config.workload, self.config.keys).len().div_ceil(FINAL_READ_KEYS_MAX);
        let final_process = match &self.processes[self.final_reader].actor {
            Actor::Client(client) if client.stats().committed == chunks as u64 => client.process(),
            _ => {
                return Some(
                    "the final read of every key did not commit after the network healed".into(),
                )
            }
        };
        let healed_us = self.healed_at_us?;
        let mut invoked_at: BTreeMap<u64, u64> = BTreeMap::new();
        let (mut began, mut committed) = (0u64, 0u64);
        for event in self.history.iter().filter(|e| e.process != final_process) {
            match event.kind {
                EventKind::Invoke => {
                    invoked_at.insert(event.process, event.time);
                    began += u64::from(event.time > healed_us);
                }
                EventKind::Ok => {
                    let invoked = invoked_at.get(&event.process).copied().unwrap_or(0);
                    committed += u64::from(invoked > healed_us);
                }
                _ => {}
            }
        }
        (began > 0 && committed == 0).then(|| {
            TimedText::from("after the faults healed at ")
                .time_us(healed_us)
                .words(format!(", clients began {began} transactions and not one committed"))
        })
    }

    /// One line on what an event was about to do, for "time stopped" reports.
    pub(super) fn describe_action(&self, action: &Action) -> String {
        match action {
            Action::Deliver { source, target, .. } => format!(
                "a message from {} to {}",
                self.processes[*source].name, self.processes[*target].name
            ),
            Action::Tick { process, .. } => {
                format!("a tick {} asked for", self.processes[*process].name)
            }
            Action::PartitionStart => "a partition starting".to_string(),
            Action::PartitionEnd => "a partition healing".to_string(),
            Action::IsolationStart => "a node's long isolation starting".to_string(),
            Action::IsolationEnd => "a node's long isolation ending".to_string(),
            Action::Init { process } => format!("{}'s init", self.processes[*process].name),
            Action::SyncDone { process, .. } => {
                format!("a sync of {}'s log completing", self.processes[*process].name)
            }
            Action::Crash { process } => format!("a crash of {}", self.processes[*process].name),
            Action::Restart { process } => {
                format!("a restart of {}", self.processes[*process].name)
            }
            Action::Misroute => "a request sent to a node that does not own its key".to_string(),
        }
    }

    /// What every unfinished client is doing and, in a cluster, what every node holds
    /// undecided, joined by `; `.
    pub(super) fn stuck_clients(&self) -> TimedText {
        let mut stuck: Vec<TimedText> = self
            .processes
            .iter()
            .filter_map(|p| match &p.actor {
                Actor::Client(c) if !c.is_done() => Some(c.describe()),
                _ => None,
            })
            .map(|(what, until_us)| match until_us {
                Some(us) => TimedText::from(what).words(" until ").time_us(us),
                None => TimedText::from(what),
            })
            .collect();
        if self.config.nodes > 1 {
            stuck.extend(self.unresolved().into_iter().map(TimedText::from));
        }
        let mut joined = TimedText::default();
        for (index, line) in stuck.into_iter().enumerate() {
            if index > 0 {
                joined = joined.words("; ");
            }
            joined = joined.then(line);
        }
        joined
    }

    /// More than [`EVENTS_PER_INSTANT_MAX`] events at `now_us`, `action` the last.
    pub(super) fn time_stopped_report(&self, now_us: u64, action: &Action) -> TimedText {
        TimedText::from(format!("virtual time stopped: {EVENTS_PER_INSTANT_MAX} events at "))
            .time_us(now_us)
            .words(format!(
                " without time advancing (the last one: {})",
                self.describe_action(action)
            ))
    }

    pub(super) fn liveness_report(&self, now_us: u64) -> TimedText {
        TimedText::from(format!("no transaction finished for {}ms", STALL_BOUND_US / 1000))
            .words(" after the faults healed at ")
            .time_us(self.healed_at_us.unwrap_or(0))
            .words(" (last progress at ")
            .time_us(self.last_progress_us)
            .words(", now ")
            .time_us(now_us)
            .words("): ")
            .then(self.stuck_clients())
    }
}
