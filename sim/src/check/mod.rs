//! `sim check`: proves a history serializable (or strictly serializable) with exact
//! dependency edges taken from the versions the store reports, or names what is wrong.
//!
//! The pipeline, one module per job:
//! - [`history`]: text to events, errors with line numbers;
//! - `txns`: invocations paired with completions, well-formedness, interning;
//! - `versions`: per-key version rules, attribution of indeterminate commits, and the
//!   ww/wr/rw edges those versions prove;
//! - `graph`: the graph in CSR form, iterative Tarjan, 0-1 BFS shortest cycles;
//! - `classify`: every cyclic component, named as Adya/Elle do;
//! - [`report`]: the verdict as text and JSON.
//!
//! Cost is linear in the history (plus sorting): no HashMap with random state, no
//! per-edge allocation, real-time order through a chain of time nodes.

pub mod generate;
pub mod history;
pub mod report;

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
    let h = txns::pair(events)?;
    let mut analysis = versions::analyze(&h);
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
    let graph = graph::Graph::new(nodes, chain_start, &edges);
    drop(edges);
    let cycles = classify::find_cycles(&graph, model == Model::StrictSerializable);
    Ok(report::build(&h, &analysis, cycles, model, graph.nodes(), graph.edges()))
}
