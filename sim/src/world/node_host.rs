//! A store node written in Rust as the world runs it: its state machine (a [`Machine`]:
//! the shipped store, or any Rust store; absent while the node is down), the disk under
//! its log, and the sync in flight.
//!
//! The host is the node's driver, as `occ-node`'s loop is: it carries out the node's
//! outputs (appends on the disk, syncs, compactions) and hands back the messages to send.
//! Without the `crash` and `disk` families the disk syncs at once, inside the step that
//! asked, so replies leave exactly when they would without a log and runs keep the
//! timing (and fingerprints) they had before the log existed. With either family a sync
//! takes virtual time: one is in flight at a time, and what is appended meanwhile waits for
//! the next (group commit), as on a real disk.

use node::io::{Input, Output};
use node::marks::Marks;
use node::storage::Storage;
use node::{Node, TableSizes};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::world::disk::{Disk, DiskStats};
use crate::world::faults::DiskFaults;
use crate::world::machine::Machine;
use crate::world::panics;
use crate::world::store::{Crashed, Delivery, RestartFailure, Restarted, Sent, Stepped, Store};

/// How long a sync takes, when it takes time at all.
#[derive(Clone, Copy, Debug)]
pub struct SyncTiming {
    pub us_min: u64,
    pub us_max: u64,
    /// Under `disk` faults: some syncs are slow.
    pub slow: Option<DiskFaults>,
}

/// A sync the disk is working on: it covers the disk's writes up to `point` and the node's
/// records up to `lsn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncInFlight {
    pub point: u64,
    pub lsn: u64,
}

pub struct NodeHost<M: Machine = Node> {
    pub node: Option<Box<M>>,
    pub disk: Disk,
    config: M::Config,
    timing: Option<SyncTiming>,
    latency: ChaCha8Rng,
    in_flight: Option<SyncInFlight>,
    /// The largest LSN the node asked to have synced that no sync covers yet.
    wanted: Option<u64>,
    /// Crashes so far: a sync that completes after a crash belongs to no one.
    pub incarnation: u64,
    /// Coverage marks of the incarnations before this one (if the machine keeps any).
    past_marks: Option<Marks>,
    /// The node's outputs, reused from step to step.
    outputs: Vec<Output>,
}

impl<M: Machine> NodeHost<M> {
    pub fn new(
        config: M::Config,
        disk: Disk,
        timing: Option<SyncTiming>,
        latency: ChaCha8Rng,
    ) -> NodeHost<M> {
        NodeHost {
            node: Some(Box::new(M::start(&config))),
            disk,
            config,
            timing,
            latency,
            in_flight: None,
            wanted: None,
            incarnation: 0,
            past_marks: None,
            outputs: Vec::new(),
        }
    }

    /// Feeds `input` to the node (if it is up) and carries out what it asks; the
    /// messages to send go onto `sends`. An instant disk completes each sync at once and
    /// feeds the completion back within this step.
    fn feed(&mut self, local_us: u64, input: Input, sends: &mut Vec<Sent>) -> Stepped {
        let mut stepped = Stepped::default();
        let mut next = Some(input);
        let mut outputs = std::mem::take(&mut self.outputs);
        while let Some(input) = next.take() {
            let Some(node) = self.node.as_mut() else { break };
            if let Err(message) = panics::catch(|| node.step(local_us, input, &mut outputs)) {
                stepped.panic = Some(message);
                outputs.clear();
                break;
            }
            for output in outputs.drain(..) {
                match output {
                    Output::Send(envelope) => sends.push(Sent { envelope, wire: None }),
                    Output::Append { bytes, .. } => self.disk.append_owned(bytes),
                    Output::Sync { lsn } => self.wanted = self.wanted.max(Some(lsn)),
                    Output::Compact { head, keep_from } => self
                        .disk
                        .compact(&head, keep_from)
                        .expect("the simulated disk does not fail"),
                }
            }
            if self.timing.is_none() {
                if let Some(lsn) = self.wanted.take() {
                    self.disk.sync().expect("the simulated disk does not fail");
                    next = Some(Input::Synced { lsn });
                }
            }
        }
        self.outputs = outputs;
        if stepped.panic.is_none() {
            stepped.sync = self.start_sync();
        }
        stepped
    }

    /// Starts a sync of everything appended so far, if the node wants one and none is in
    /// flight: the sync and how long it takes.
    fn start_sync(&mut self) -> Option<(SyncInFlight, u64)> {
        let timing = self.timing?;
        if self.in_flight.is_some() {
            return None;
        }
        let lsn = self.wanted.take()?;
        let sync = SyncInFlight { point: self.disk.sync_point(), lsn };
        self.in_flight = Some(sync);
        let mut delay_us = self.latency.gen_range(timing.us_min..=timing.us_max);
        if let Some(slow) = timing.slow {
            if slow.slow_sync.sample(&mut self.latency) {
                delay_us = self.latency.gen_range(delay_us..=slow.slow_sync_us_max.max(delay_us));
            }
        }
        Some((sync, delay_us))
    }
}

impl<M: Machine> Store for NodeHost<M> {
    fn is_up(&self) -> bool {
        self.node.is_some()
    }

    fn step(&mut self, local_us: u64, delivery: Delivery<'_>, sends: &mut Vec<Sent>) -> Stepped {
        let input = match delivery {
            Delivery::Message { envelope, .. } => Input::Message(envelope),
            Delivery::Tick => Input::Tick,
        };
        self.feed(local_us, input, sends)
    }

    /// A sync finished (if it belongs to this incarnation): its writes are durable and the
    /// node is told, which may release replies and start the next sync.
    fn sync_done(
        &mut self,
        local_us: u64,
        incarnation: u64,
        sync: SyncInFlight,
        sends: &mut Vec<Sent>,
    ) -> Stepped {
        if incarnation != self.incarnation || self.in_flight != Some(sync) {
            return Stepped::default();
        }
        self.in_flight = None;
        self.disk.complete_sync(sync.point);
        self.feed(local_us, Input::Synced { lsn: sync.lsn }, sends)
    }

    fn next_deadline(&self) -> Result<Option<u64>, String> {
        match &self.node {
            Some(node) => panics::catch(|| node.next_deadline()),
            None => Ok(None),
        }
    }

    /// The node crashed: its volatile state is gone (the replies it held for a sync with
    /// it: returned, never sent) and the disk decides what became of the writes it had not
    /// synced.
    fn crash(&mut self) -> Option<Crashed> {
        let node = self.node.take()?;
        self.past_marks = sum(self.past_marks, node.marks());
        let held = node.held_replies();
        self.incarnation += 1;
        self.in_flight = None;
        self.wanted = None;
        Some(Crashed { damage: Some(self.disk.crash()), held })
    }

    /// The node restarts at `local_us`: recovery reads its log (through the disk's
    /// faults) and rebuilds it.
    fn restart(&mut self, local_us: u64) -> Result<Restarted, RestartFailure> {
        assert!(self.node.is_none(), "only a node that is down restarts");
        let (config, disk) = (&self.config, &mut self.disk);
        let rebuilt = panics::catch(|| M::recover(config, disk, local_us));
        let (node, found) =
            rebuilt.map_err(RestartFailure::Panic)?.map_err(RestartFailure::Refused)?;
        self.node = Some(Box::new(node));
        Ok(Restarted { found: found.found, records: found.records, log_bytes: found.log_bytes })
    }

    fn incarnation(&self) -> u64 {
        self.incarnation
    }

    fn has_unsynced_writes(&self) -> Option<bool> {
        Some(self.disk.has_pending())
    }

    /// Every incarnation's coverage marks.
    fn marks(&self) -> Option<Marks> {
        sum(self.past_marks, self.node.as_ref().and_then(|node| node.marks()))
    }

    fn table_sizes(&self) -> Option<TableSizes> {
        self.node.as_ref().and_then(|node| node.table_sizes())
    }

    fn disk_stats(&self) -> Option<DiskStats> {
        Some(self.disk.stats.clone())
    }

    fn unresolved(&self) -> Option<(usize, usize)> {
        self.node.as_ref().and_then(|node| node.unresolved())
    }

    fn speaks_cluster_protocol(&self) -> bool {
        M::speaks_cluster_protocol()
    }
}

/// Marks of two incarnations together; `None` if neither kept any.
fn sum(a: Option<Marks>, b: Option<Marks>) -> Option<Marks> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.add(&b);
            Some(a)
        }
        (a, b) => a.or(b),
    }
}
