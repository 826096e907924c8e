//! The sentences a run's header and footer say, the same in the text report and on the
//! page: what was run, what it counted (in two units that reconcile with the checker's),
//! the network's and the disk's counts, the invariant violations under their `T<n>`
//! names, and how the run stopped when it did not finish.

use std::fmt::Write as _;

use workloads::history::EventKind;

use super::TxnNames;
use crate::explain::render::format_ms;
use crate::hunt::outcome::RunOutcome;
use crate::world::Simulation;

/// What both renderers say of a run besides its anomalies, in words.
#[derive(Clone, Debug)]
pub struct Summary {
    /// `workload mixed, 3 nodes, 5 clients, 300 txns, 5 keys per family`.
    pub run: String,
    /// `faults (swarm)`, and the mix the seed drew.
    pub faults: (String, String),
    pub counts: RunCounts,
    /// `N sent, N delivered, N dropped, ...`.
    pub messages: String,
    /// The store's disk, when crashes or disk faults ran against the shipped store (a
    /// binary's disk is its own: the harness saw no syncs to count).
    pub disk: Option<String>,
    /// `1234.567ms (faults healed at 800.000ms)`.
    pub virtual_time: String,
    /// Workload invariant and protocol violations, in the order found.
    pub violations: Vec<Violation>,
    /// How a run that did not finish stopped: `internal error: ...`, `the store panicked:
    /// ...`, `liveness failure: ...`.
    pub failures: Vec<String>,
}

/// An invariant or protocol violation, its store txn ids renamed to `T<n>`.
#[derive(Clone, Debug)]
pub struct Violation {
    pub name: String,
    /// Times in ms.
    pub explanation: String,
    /// The transactions it names, in order, each once.
    pub txns: Vec<u64>,
}

impl Summary {
    pub fn of(outcome: &RunOutcome, names: &TxnNames) -> Summary {
        let sim = &outcome.sim;
        let c = &sim.config;
        let cluster = match c.nodes {
            1 => String::new(),
            n => format!(", {n} nodes"),
        };
        let n = &sim.network;
        let healed = sim.healed_at_us.map_or("never".to_string(), format_ms);
        Summary {
            run: format!(
                "workload {}{cluster}, {} clients, {} txns, {} keys per family",
                c.workload.name(),
                c.clients,
                c.txns,
                c.keys
            ),
            faults: (format!("faults ({})", c.faults.flag()), sim.mix.to_string()),
            counts: RunCounts::of(sim),
            messages: format!(
                "{} sent, {} delivered, {} dropped, {} lost to partitions, {} duplicated",
                n.sent, n.delivered, n.dropped, n.partitioned, n.duplicated
            ),
            disk: disk_sentence(sim),
            virtual_time: format!(
                "{} (faults healed at {healed})",
                format_ms(sim.virtual_duration_us)
            ),
            violations: violations(outcome, names),
            failures: failures(sim),
        }
    }
}

fn disk_sentence(sim: &Simulation) -> Option<String> {
    if (sim.mix.crash.is_none() && sim.mix.disk.is_none()) || sim.config.store.is_binary() {
        return None;
    }
    let (d, n) = (&sim.disk, &sim.network);
    Some(format!(
        "{} syncs, {} crashes ({} messages arrived while it was down); unsynced writes at the \
         crashes: {} lost, {} torn, {} kept whole; {} corrupted reads",
        d.syncs,
        d.crashes,
        n.undelivered,
        d.lost_writes,
        d.torn_writes,
        d.kept_writes,
        d.corrupted_reads
    ))
}

/// A protocol violation names the store's txn ids; the reports name `T<n>`.
fn violations(outcome: &RunOutcome, names: &TxnNames) -> Vec<Violation> {
    let renamed = |v: &crate::check::invariants::Violation| {
        let (explanation, mut txns) = names.rename(&v.explanation);
        txns.extend(v.invoke_index);
        txns.sort_unstable();
        txns.dedup();
        Violation { name: v.name.to_string(), explanation, txns }
    };
    outcome.violations.iter().map(renamed).collect()
}

fn failures(sim: &Simulation) -> Vec<String> {
    let stops = [
        ("internal error", &sim.internal_error),
        ("the store panicked", &sim.node_panic),
        ("liveness failure", &sim.liveness_failure),
    ];
    stops
        .into_iter()
        .filter_map(|(label, text)| Some(format!("{label}: {}", text.as_ref()?.in_ms())))
        .collect()
}

/// Counts of a run in two units, and how they add up to what the checker counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Logical transactions the clients were to run.
    pub planned: u64,
    /// Of those: committed, indeterminate (each ends its program), given up after the last
    /// attempt aborted or failed, never finished (only when the run got stuck).
    pub committed: u64,
    pub indeterminate: u64,
    pub given_up: u64,
    pub unfinished: u64,
    /// Attempts: every invocation of the workload's clients in the history (a retry is a
    /// new attempt). Each ended committed (`ok`), aborted by a conflict or failed
    /// otherwise (both `fail`), indeterminate (`info`), or is still open.
    pub attempts: u64,
    pub aborted: u64,
    pub failed: u64,
    pub open: u64,
    /// The final read's transactions (marked `final` in the history), which read every
    /// key once the clients are done and the network is quiescent.
    pub final_reads: u64,
    /// The history's transactions by type, as the checker counts them (open ones count
    /// as `info`): the attempts' outcomes plus the final read's.
    pub history_ok: u64,
    pub history_fail: u64,
    pub history_info: u64,
}

impl RunCounts {
    pub fn of(sim: &Simulation) -> RunCounts {
        let s = &sim.clients;
        // The final read's events are marked; everything else is a client's attempt.
        let (mut attempts, mut final_reads) = (0, 0);
        let (mut final_ok, mut final_fail) = (0, 0);
        for event in &sim.history {
            match (event.final_read, event.kind) {
                (false, EventKind::Invoke) => attempts += 1,
                (true, EventKind::Invoke) => final_reads += 1,
                (true, kind) => {
                    final_ok += u64::from(kind == EventKind::Ok);
                    final_fail += u64::from(kind == EventKind::Fail);
                }
                (false, _) => {}
            }
        }
        let planned = match &sim.config.keep {
            None => sim.config.txns,
            Some(keep) => keep.values().map(|programs| programs.len() as u64).sum(),
        };
        let open = attempts - s.attempts();
        RunCounts {
            planned,
            committed: s.committed,
            indeterminate: s.indeterminate,
            given_up: s.given_up(),
            unfinished: planned - s.finished,
            attempts,
            aborted: s.aborted,
            failed: s.failed,
            open,
            final_reads,
            history_ok: s.committed + final_ok,
            history_fail: s.aborted + s.failed + final_fail,
            history_info: s.indeterminate + open + (final_reads - final_ok - final_fail),
        }
    }

    /// Three lines: logical transactions, attempts, and the history the checker reads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "logical transactions: {} planned: {} committed, {} indeterminate, {} given up (the last \
             attempt failed, or was abandoned)",
            self.planned, self.committed, self.indeterminate, self.given_up
        );
        if self.unfinished > 0 {
            let _ = write!(out, ", {} never finished", self.unfinished);
        }
        let answered = self.committed + self.aborted;
        let abort_permille = (self.aborted * 1000).checked_div(answered).unwrap_or(0);
        let _ = write!(
            out,
            "\nattempts (a retry after an abort or failure is a new one): {}: {} committed, {} \
             aborted by a conflict, {} failed (unanswered, refused or abandoned), {} indeterminate",
            self.attempts, self.committed, self.aborted, self.failed, self.indeterminate
        );
        if self.open > 0 {
            let _ = write!(out, ", {} still open", self.open);
        }
        let _ = writeln!(
            out,
            "; {}.{}% of answered commits aborted",
            abort_permille / 10,
            abort_permille % 10
        );
        let _ = writeln!(
            out,
            "history: {} transactions = {} attempts + {} final read{}, as the checker counts \
             them: ok {}, fail {}, info {}",
            self.attempts + self.final_reads,
            self.attempts,
            self.final_reads,
            if self.final_reads == 1 { "" } else { "s" },
            self.history_ok,
            self.history_fail,
            self.history_info
        );
        out
    }
}
