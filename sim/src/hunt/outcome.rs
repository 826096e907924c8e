//! One run, judged: the simulation plus the checker's verdict and the workload's
//! invariants, and the one word that sums it up.

use crate::check::invariants::{self, Violation};
use crate::check::{self, HistoryError, Model, Verdict};
use crate::world::timed_text::TimedText;
use crate::world::{simulate_observed, RunConfig, RunProgress, Simulation};

pub struct RunOutcome {
    pub sim: Simulation,
    /// `Err` only if the simulator recorded a history the checker cannot read: a bug in
    /// the harness, reported as an internal error.
    pub verdict: Result<Verdict, HistoryError>,
    pub violations: Vec<Violation>,
}

/// Where nondeterminism in a store binary usually comes from.
pub const NONDETERMINISM_HINT: &str = "the usual suspects: the wall clock (use the `now` \
     the harness writes on every line, and tick_at/tick for timers: docs/protocol.md, \
     \"Virtual time\"), unseeded randomness (Python's random, Go's math/rand, Math.random), \
     hash or map iteration order (Go maps; Python's PYTHONHASHSEED is fixed at 0 but a node \
     may reseed), threads whose interleaving decides what is written, and files left from \
     an earlier run";

/// Why a run failed, most fundamental first. The simulator's sentences keep their
/// virtual times typed ([`TimedText`]) until [`Failure::headline`] writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The harness itself misbehaved; nothing else about the run can be trusted.
    Internal(TimedText),
    /// The store panicked: the run stopped there.
    Panic(TimedText),
    /// A node's recovery refused its log as damaged where records had been synced: the
    /// run stopped there.
    Refused(TimedText),
    /// A store's process misbehaved as a process (exited, hung, never flushed, answered
    /// outside a step, wrote what is not a message): the run stopped there, with no
    /// verdict about its transactions.
    Process(TimedText),
    /// A store binary ran the same seed twice differently: its output is not a function
    /// of its input, so no failure it shows can be reproduced (see [`NONDETERMINISM_HINT`]).
    /// Its sentence quotes both runs' headlines, already printed.
    Nondeterministic(String),
    /// Work could not finish after the faults healed.
    Liveness(TimedText),
    /// The history breaks serializability, version rules or a workload invariant; the
    /// names of what was found, sorted and deduplicated.
    Anomalies(Vec<String>),
}

impl Failure {
    /// One line: `anomaly G-single, G2-item`, `liveness: ...`.
    /// Times in it are in ms, the reports' one unit (the simulator counts µs).
    pub fn headline(&self) -> String {
        match self {
            Failure::Internal(e) => format!("internal error: {}", e.in_ms()),
            Failure::Panic(e) => format!("the store panicked: {}", e.in_ms()),
            Failure::Refused(e) => format!("a node refused to start: {}", e.in_ms()),
            Failure::Process(e) => format!("the store's process: {}", e.in_ms()),
            Failure::Nondeterministic(e) => {
                format!("NONDETERMINISM: {e}; {NONDETERMINISM_HINT}")
            }
            Failure::Liveness(e) => format!("liveness failure: {}", e.in_ms()),
            Failure::Anomalies(names) => format!("anomalies: {}", names.join(", ")),
        }
    }

    /// Short names for tables and seeds/ notes.
    pub fn names(&self) -> Vec<String> {
        match self {
            Failure::Internal(_) => vec!["internal-error".into()],
            Failure::Panic(_) => vec!["panic".into()],
            Failure::Refused(_) => vec!["refused-to-start".into()],
            Failure::Process(_) => vec!["process".into()],
            Failure::Nondeterministic(_) => vec!["nondeterminism".into()],
            Failure::Liveness(_) => vec!["liveness".into()],
            Failure::Anomalies(names) => names.clone(),
        }
    }
}

/// Simulates `config` and checks what it recorded.
pub fn evaluate(config: &RunConfig) -> RunOutcome {
    evaluate_observed(config, u64::MAX, &mut |_| {})
}

/// [`evaluate`] with the checker held to `steps` search steps (see
/// [`check::STEP_BUDGET`]): past them the verdict is unknown, which no shrink takes for
/// the failure it keeps. A shrink's candidates can be pathological (a node crashed every
/// millisecond leaves most commits in doubt), and one of them once held a shrink for
/// minutes in the checker's search.
pub fn evaluate_within(config: &RunConfig, steps: u64) -> RunOutcome {
    let sim = simulate_observed(config, u64::MAX, &mut |_| {});
    let verdict = check::check_with_budget(&sim.history, Model::StrictSerializable, steps);
    let mut violations = invariants::check(&sim.history, config.workload, config.keys);
    violations.extend(sim.protocol_violations.iter().cloned());
    RunOutcome { sim, verdict, violations }
}

/// [`evaluate`], with an observer of the simulation's progress (see
/// [`crate::world::simulate_observed`]).
pub fn evaluate_observed(
    config: &RunConfig,
    every: u64,
    observe: &mut dyn FnMut(&RunProgress),
) -> RunOutcome {
    let sim = simulate_observed(config, every, observe);
    let verdict = check::check(&sim.history, Model::StrictSerializable);
    let mut violations = invariants::check(&sim.history, config.workload, config.keys);
    violations.extend(sim.protocol_violations.iter().cloned());
    RunOutcome { sim, verdict, violations }
}

impl RunOutcome {
    pub fn failure(&self) -> Option<Failure> {
        if let Some(error) = &self.sim.internal_error {
            return Some(Failure::Internal(error.clone()));
        }
        // What was recorded before the panic is still checked below only if nothing
        // panicked: a history cut short says nothing about the final state.
        if let Some(message) = &self.sim.node_panic {
            return Some(Failure::Panic(message.clone()));
        }
        if let Some(message) = &self.sim.node_refused {
            return Some(Failure::Refused(message.clone()));
        }
        if let Some(message) = &self.sim.process_error {
            return Some(Failure::Process(message.clone()));
        }
        let verdict = match &self.verdict {
            Ok(verdict) => verdict,
            Err(error) => {
                return Some(Failure::Internal(
                    format!("the checker rejected the simulator's own history: {error}").into(),
                ))
            }
        };
        let mut names: Vec<String> = verdict.anomalies.iter().map(|a| a.name.clone()).collect();
        // A verdict the checker could not reach within its budget is no pass: it is
        // reported under its own name, with the reason in the report.
        if verdict.is_unknown() {
            names.push("checker-unknown".to_string());
        }
        // A stuck store leaves requests unanswered: that is its liveness failure, said
        // once, not an anomaly besides.
        let stuck = self.sim.liveness_failure.is_some();
        names.extend(
            self.violations
                .iter()
                .filter(|v| !(stuck && v.name == "request-unanswered"))
                .map(|v| v.name.to_string()),
        );
        names.sort();
        names.dedup();
        if !names.is_empty() {
            return Some(Failure::Anomalies(names));
        }
        if let Some(liveness) = &self.sim.liveness_failure {
            return Some(Failure::Liveness(liveness.clone()));
        }
        None
    }
}
