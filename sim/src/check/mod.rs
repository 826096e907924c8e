//! `sim check`: proves a history serializable (or strictly serializable) with exact
//! dependency edges taken from the versions the store reports, or names what is wrong.
//!
//! The pipeline, one module per job:
//! - [`history`]: text to events, errors with line numbers;
//! - `txns`: invocations paired with completions, well-formedness, interning;
//! - `versions`: per-key version rules, attribution of indeterminate commits, and the
//!   ww/wr/rw edges those versions prove;
//! - `bucket`: stable counting sorts by key id, for the analysis's big arrays;
//! - `graph`: the graph in CSR form, iterative Tarjan, 0-1 BFS shortest cycles;
//! - `classify`: every cyclic component, named as Adya/Elle do;
//! - [`report`]: the verdict as text and JSON.
//!
//! Cost is linear in the history: big arrays are sorted by counting on dense key ids
//! (comparison sorts only within one key's few items), no HashMap with random state, no
//! per-edge or per-transaction allocation, real-time order through a chain of time nodes.
//! What still grows faster than the history is the cache: the graph search and the key
//! table are random accesses into arrays that outgrow it (`cargo bench -p sim --bench
//! check` prints each phase's growth).
//!
//! # Anomaly names
//!
//! Version rules (checked per key, without the graph; "committed" means `ok`, or `info`
//! proved committed, see `versions`):
//! - `duplicate-version`: two `ok` transactions installed the same `k@v`.
//! - `version-gap`: some versions of `k` below the highest one known were installed by
//!   no `ok` transaction, nobody read them, and too few `info` writers of `k` remain to
//!   have installed them.
//! - `garbage-read`: a committed read of `k@v` returned a value that `k@v`'s installer
//!   did not write (or non-null at version 0, null above it, two values for one version,
//!   or a value no indeterminate transaction could have installed there).
//! - `G1a` (aborted read): such a read returned a value written only by failed
//!   transactions.
//! - `G1b` (intermediate read): such a read returned a value its writer overwrote in the
//!   same transaction.
//! - `wrong-version-bump`: a committed transaction read `k@v` from the store and wrote
//!   `k`, but installed a version other than `v+1` (or any transaction installed `k@0`).
//! - `internal`: a read inside a committed transaction disagrees with the transaction's
//!   own earlier write of that key (or claims its write buffer without one, or went to the
//!   store after writing the key).
//! - `final-version-mismatch`: marked final reads (`"final": true`) of `k` disagree, or
//!   the final version is below a version an `ok` transaction installed (committed
//!   writes are missing).
//! - `incompatible-info`: an indeterminate transaction proved committed (its write was
//!   observed) wrote a key whose versions, up to its final read, leave no room for that
//!   write: it took effect on some keys and not others.
//!
//! Cycles in the dependency graph (ww, wr, rw edges from versions; plus real-time edges
//! under strict serializability), named after the cycle reported for each strongly
//! connected component: `G0` (ww edges only), `G1c` (ww and wr, at least one wr),
//! `G-single` (exactly one rw), `G-nonadjacent` (several rw, no two consecutive),
//! `G2-item` (some two rw consecutive); each with `-realtime` when the cycle needs a
//! real-time edge (the component has no cycle without one).

//!
//! # Which rule belongs to which model
//!
//! Two mistakes make false alarms, and no rule makes them: reasoning about real time
//! under plain serializability, and giving an `info` transaction a deadline (its
//! completion is only when the client gave up; its commit may land at any later moment).
//!
//! | rule | serializable | strict-serializable | uses time? |
//! |---|---|---|---|
//! | duplicate-version, version-gap, garbage-read, G1a, G1b, wrong-version-bump, internal | yes | yes | no |
//! | final-version-mismatch, incompatible-info | with marked final reads | with marked final reads | no: the `"final"` mark is the history's promise of quiescence, not a time |
//! | G0, G1c, G-single, G-nonadjacent, G2-item (ww, wr, rw edges) | yes | yes | no |
//! | the same with `-realtime` | no | yes | an `ok` transaction's completion precedes every later invocation; an `info` or open transaction gets no completion edge, only its invocation |
//!
//! An `info` transaction counts as committed only when something observed its effect (a
//! read of its value, or versions no other transaction can explain), never because time
//! passed.

pub mod generate;
pub mod history;
pub mod invariants;
pub mod report;

mod bucket;
mod classify;
mod graph;
mod intern;
mod txns;
mod versions;

use serde::Serialize;
use workloads::history::{Event, EventKind};

pub use history::{parse_history, HistoryError};
pub use report::{Anomaly, CycleEdge, Stats, TxnRef, Verdict};

use txns::{Outcome, NONE};
use versions::{Edge, EdgeKind};

/// Which consistency model to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    Serializable,
    /// Serializable, and the serial order respects real time: a transaction that completed
    /// before another was invoked comes first.
    StrictSerializable,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::Serializable => "serializable",
            Model::StrictSerializable => "strict-serializable",
        }
    }
}

/// Checks a history. A history that is not well formed (see `txns`) is an error, not a
/// verdict; the error's line is the event's position plus one.
pub fn check(events: &[Event], model: Model) -> Result<Verdict, HistoryError> {
    check_phased(events, model, &mut |_| {})
}

/// The phases of [`check`], in order, as [`check_phased`] reports them.
pub const PHASES: [&str; 6] = ["pair", "versions", "realtime", "graph", "cycles", "report"];

/// [`check`], calling `phase_done` with each name of [`PHASES`] as that phase ends. The
/// checker reads no clock; this lets a benchmark time the phases.
pub fn check_phased(
    events: &[Event],
    model: Model,
    phase_done: &mut dyn FnMut(&'static str),
) -> Result<Verdict, HistoryError> {
    let h = txns::pair(events)?;
    phase_done(PHASES[0]);
    let mut analysis = versions::analyze(&h);
    phase_done(PHASES[1]);
    let mut edges: Vec<Edge> = std::mem::take(&mut analysis.edges);
    let chain_start = (h.txns.len() + analysis.placeholders.len()) as u32;
    let mut nodes = chain_start;
    if model == Model::StrictSerializable {
        let mut last_chain = NONE;
        for (pos, event) in events.iter().enumerate() {
            let txn = h.event_txn[pos];
            if !analysis.committed[txn as usize] {
                continue;
            }
            if event.kind == EventKind::Invoke {
                if last_chain != NONE {
                    edges.push(Edge::new(last_chain, txn, EdgeKind::Rt, NONE));
                }
            } else if h.txns[txn as usize].outcome == Outcome::Ok {
                let chain = nodes;
                nodes += 1;
                edges.push(Edge::new(txn, chain, EdgeKind::Rt, NONE));
                if last_chain != NONE {
                    edges.push(Edge::new(last_chain, chain, EdgeKind::Rt, NONE));
                }
                last_chain = chain;
            }
        }
    }
    phase_done(PHASES[2]);
    let graph = graph::Graph::new(nodes, chain_start, &edges);
    drop(edges);
    phase_done(PHASES[3]);
    let cycles = classify::find_cycles(&graph, model == Model::StrictSerializable);
    phase_done(PHASES[4]);
    let verdict = report::build(&h, &analysis, cycles, model, graph.nodes(), graph.edges());
    phase_done(PHASES[5]);
    Ok(verdict)
}
