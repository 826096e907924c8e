//! `sim check`: proves a history serializable (or strictly serializable) with exact
//! dependency edges taken from the versions the store reports, or names what is wrong.
//!
//! The pipeline, one module per job:
//! - [`history`]: text to events, errors with line numbers;
//! - `txns`: invocations paired with completions, well-formedness, interning;
//! - `versions`: per-key version rules, attribution of indeterminate commits, and the
//!   ww/wr/rw edges those versions prove;
//! - `bucket`: stable counting sorts by key id, for the analysis's big arrays;
//! - `resolve`: the exact layer, where indeterminate transactions leave a history
//!   ambiguous: a search over what they did, each complete choice a view judged;
//! - `view`: a view's version analysis from the fast path's, rerunning only the keys
//!   the ambiguous transactions touch (views are judged at the cost of what they
//!   change, not of the history);
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
mod resolve;
mod txns;
mod versions;
mod view;

use std::collections::BTreeMap;

use serde::Serialize;
use workloads::history::{Event, EventKind};

pub use history::{parse_history, read_history, HistoryError, LINE_BYTES_MAX};
pub use report::{Anomaly, CycleEdge, Stats, TxnRef, Unknown, Verdict};
pub use resolve::STEP_BUDGET;
pub use txns::VERSION_MAX;

use txns::{History, Outcome, NONE};
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
    check_with_budget(events, model, STEP_BUDGET)
}

/// [`check`] with another budget of search steps (see [`STEP_BUDGET`]): past it, the
/// verdict on an ambiguous history is unknown.
pub fn check_with_budget(
    events: &[Event],
    model: Model,
    budget: u64,
) -> Result<Verdict, HistoryError> {
    check_budgeted(events, model, budget, &mut |_| {})
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
    check_budgeted(events, model, STEP_BUDGET, phase_done)
}

fn check_budgeted(
    events: &[Event],
    model: Model,
    budget: u64,
    phase_done: &mut dyn FnMut(&'static str),
) -> Result<Verdict, HistoryError> {
    let mut h = txns::pair(events)?;
    phase_done(PHASES[0]);
    let analysis = versions::analyze(&h);
    phase_done(PHASES[1]);
    let mut fast = judge_view(&h, analysis, model, phase_done);
    let uncertain = (0..h.txns.len() as u32).any(|t| h.uncertain(t));
    // Anomalies the fast path proves stand, unless a transaction may have run more than
    // it reported (the fast path leaves such ops out, so they could explain them).
    let members =
        if fast.valid() || uncertain { resolve::members(&h, &fast.analysis) } else { Vec::new() };
    if members.is_empty() {
        let verdict = fast.build(&h, model);
        phase_done(PHASES[5]);
        return Ok(verdict);
    }
    // Every view from here on differs from the fast one only in the members: analyse
    // only what that can change (see `view`).
    let views = view::Views::new(&h, &mut fast.analysis, &members);
    let analyze = |h: &History| match &views {
        Some(views) => views.analyze(h),
        None => versions::analyze(h),
    };
    let base = base_graph(&mut h, &members, model, views.as_ref(), &analyze);
    let graphs = resolve::ViewGraphs::new(&base);
    let judge = |h: &History| judge(h, views.as_ref(), &base, &graphs, model);
    let ambiguous = Ambiguous { members: &members, base: &base, budget, judge: &judge };
    let verdict = match ambiguous.quick_passes(&mut h, &fast.analysis) {
        Some(view) => view.build(&h, model),
        None => ambiguous.full_search(&mut h, fast, model),
    };
    phase_done(PHASES[5]);
    Ok(verdict)
}

/// Quick passes tried before the full search (see [`Ambiguous::quick_passes`]).
const QUICK_ROUNDS: usize = 8;

/// A history the fast path left ambiguous: what the exact layer's passes share.
struct Ambiguous<'a> {
    /// The transactions whose choices are searched, ascending.
    members: &'a [u32],
    /// The graph of the view where no member commits.
    base: &'a resolve::BaseGraph,
    budget: u64,
    /// Judges the view a history holds.
    judge: &'a dyn Fn(&History) -> Judged,
}

impl Ambiguous<'_> {
    /// First quick passes: one choice that keeps every local rule (cycles looked for
    /// nearby only), judged once; a choice whose view has a cycle through members is
    /// banned and another tried. A correct store's history is nearly always done here;
    /// only if these fail does the search that judges every complete choice begin.
    /// Returns the valid view found, `h` left holding it; `None` with `h` as it was.
    fn quick_passes(&self, h: &mut History, fast: &versions::Analysis) -> Option<Judged> {
        let mut banned: Vec<(u32, resolve::Choice)> = Vec::new();
        for _ in 0..QUICK_ROUNDS {
            let mut quick =
                resolve::Search::new(h, fast, self.members, Some(self.base), self.budget);
            quick.quick = true;
            quick.banned = banned.clone();
            let found = match quick.run(&mut |_| true) {
                resolve::Resolution::Witness(decisions) => Some((decisions, quick.plan_table())),
                _ => None,
            };
            let (decisions, plans) = found?;
            let saved = resolve::apply_decisions(h, &plans, &decisions);
            let view = (self.judge)(h);
            if view.valid() && resolve::members(h, &view.analysis).is_empty() {
                return Some(view);
            }
            let on_cycle = self.members_on_cycles(&view);
            resolve::restore(h, saved);
            if on_cycle.is_empty() || !view.analysis.findings.is_empty() {
                return None;
            }
            banned.extend(decisions.into_iter().filter(|(t, _)| on_cycle.contains(t)));
        }
        None
    }

    /// The members that are the source of some step of the view's reported cycles.
    fn members_on_cycles(&self, view: &Judged) -> Vec<u32> {
        view.cycles
            .iter()
            .flat_map(|c| c.steps.iter().map(|step| step.source))
            .filter(|t| self.members.binary_search(t).is_ok())
            .collect()
    }

    /// The search that judges every complete choice, and the verdict its end gives.
    fn full_search(&self, h: &mut History, fast: Judged, model: Model) -> Verdict {
        let mut search =
            resolve::Search::new(h, &fast.analysis, self.members, Some(self.base), self.budget);
        let mut valid = |view: &History| {
            let judged = (self.judge)(view);
            judged.valid() && resolve::members(view, &judged.analysis).is_empty()
        };
        let resolution = search.run(&mut valid);
        let plans = search.plan_table();
        let unfillable = search.unfillable();
        drop(search);
        match resolution {
            resolve::Resolution::Witness(decisions) => {
                resolve::apply_decisions(h, &plans, &decisions);
                (self.judge)(h).build(h, model)
            }
            resolve::Resolution::Refuted { first: Some(decisions), only_way } => {
                self.refuted_by_view(h, &plans, &decisions, only_way, model)
            }
            resolve::Resolution::Refuted { first: None, .. } => {
                unfillable_verdict(h, fast, unfillable, model)
            }
            resolve::Resolution::Unknown { reason, txns } => {
                let stats = fast.build(h, model).stats;
                let refs = txns.iter().map(|&t| report::txn_ref_of(h, t)).collect();
                Verdict::unknown(model, stats, reason, refs)
            }
        }
    }

    /// No view is valid: the first one judged explains why, each anomaly prefixed with
    /// the choice that view assumed.
    fn refuted_by_view(
        &self,
        h: &mut History,
        plans: &BTreeMap<u32, Vec<resolve::Plan>>,
        decisions: &[(u32, resolve::Choice)],
        only_way: bool,
        model: Model,
    ) -> Verdict {
        resolve::apply_decisions(h, plans, decisions);
        let view = (self.judge)(h);
        let assumed = resolve::describe(h, plans, decisions);
        let mut verdict = view.build(h, model);
        let because = if only_way {
            format!("the only way the indeterminate transactions could have left these versions: {assumed}")
        } else {
            format!("none of the ways the indeterminate transactions could have committed explains the history; for example: {assumed}")
        };
        for anomaly in &mut verdict.anomalies {
            anomaly.explanation.insert(0, because.clone());
        }
        if verdict.valid {
            // The view judged to explain the refutation has no anomaly of its own:
            // say so rather than guess.
            verdict = Verdict::unknown(
                model,
                verdict.stats,
                format!("no way the indeterminate transactions could have committed fits every rule, but the view built to explain it shows no anomaly ({assumed})"),
                Vec::new(),
            );
        }
        verdict
    }
}

/// No view is valid and none reached judgement: the fast path's verdict, with the
/// search's reason (`unfillable`: name, explanation, transactions) when it found none.
fn unfillable_verdict(
    h: &History,
    fast: Judged,
    unfillable: (&'static str, Vec<String>, Vec<u32>),
    model: Model,
) -> Verdict {
    let mut verdict = fast.build(h, model);
    if verdict.valid {
        let (name, explanation, txns) = unfillable;
        verdict.valid = false;
        verdict.counts.insert(name.to_string(), 1);
        verdict.anomalies.push(Anomaly {
            name: name.to_string(),
            explanation,
            txns: txns.iter().map(|&t| report::txn_ref_of(h, t)).collect(),
            cycle: Vec::new(),
        });
    }
    verdict
}

/// One view of a history judged: its version analysis (its edges kept, for [`view`])
/// and the graph's cycles.
struct Judged {
    analysis: versions::Analysis,
    cycles: Vec<classify::Cycle>,
    nodes: usize,
    edges: usize,
}

impl Judged {
    fn valid(&self) -> bool {
        self.analysis.findings.is_empty() && self.cycles.is_empty()
    }

    fn build(self, h: &History, model: Model) -> Verdict {
        report::build(h, &self.analysis, self.cycles, model, self.nodes, self.edges)
    }
}

/// Judges the view `h` holds, one the exact layer built (the members changed). With
/// `views` (the fast path found nothing), its version analysis is local, and a view
/// with no local finding has its graph checked from the base graph's order, not built
/// (see [`resolve::ViewGraphs::acyclic_with`]): the same verdict, at the cost of what the members
/// changed. A view that fails is judged whole again, for the cycles to report.
fn judge(
    h: &History,
    views: Option<&view::Views>,
    base: &resolve::BaseGraph,
    graphs: &resolve::ViewGraphs,
    model: Model,
) -> Judged {
    let Some(views) = views else {
        return judge_view(h, versions::analyze(h), model, &mut |_| {});
    };
    let near = views.near(h);
    if near.findings.is_empty() {
        if let Some(judged) = judge_from_base(h, views, base, graphs, near, model) {
            return judged;
        }
    }
    judge_view(h, views.analyze(h), model, &mut |_| {})
}

/// [`judge`] from the base graph, for a view with no finding: `None` unless its graph
/// is acyclic. The view's graph is the base graph's but for the local edges: those of
/// the local keys (`near`'s, its placeholders new nodes after the base graph's) and the
/// real-time edges into local transactions (those committed here). Its size, for the
/// verdict's statistics, is counted the same way.
fn judge_from_base(
    h: &History,
    views: &view::Views,
    base: &resolve::BaseGraph,
    graphs: &resolve::ViewGraphs,
    near: versions::Analysis,
    model: Model,
) -> Option<Judged> {
    let n_txns = h.txns.len() as u32;
    let node = |n: u32| if n < n_txns { n } else { base.nodes() as u32 + (n - n_txns) };
    let mut added: Vec<(u32, u32)> =
        near.edges.iter().map(|e| (node(e.source), node(e.target))).collect();
    let (near_edges, new_nodes) = (near.edges.len(), near.placeholders.len());
    let analysis = views.combine(h, near, false);
    let mut local_rt = 0;
    if model == Model::StrictSerializable {
        for t in 0..n_txns {
            let chain = base.rt_pred(t);
            if views.local(t) && analysis.committed[t as usize] && chain != NONE {
                added.push((chain, t));
                local_rt += 1;
            }
        }
    }
    if graphs.acyclic_with(new_nodes, &added) != Some(true) {
        return None;
    }
    let chains = base.nodes() - base.chain_start() as usize;
    let nodes = h.txns.len() + analysis.placeholders.len() + chains;
    let edges = views.far_edges() + near_edges + base.rt_edges() - base.local_rt() + local_rt;
    Some(Judged { analysis, cycles: Vec::new(), nodes, edges })
}

/// Real-time edges (strict only), the graph and its cycles, for one view.
fn judge_view(
    h: &History,
    mut analysis: versions::Analysis,
    model: Model,
    phase_done: &mut dyn FnMut(&'static str),
) -> Judged {
    let mut edges: Vec<Edge> = std::mem::take(&mut analysis.edges);
    let version_edges = edges.len();
    let chain_start = (h.txns.len() + analysis.placeholders.len()) as u32;
    let nodes =
        realtime_edges(h, &analysis.committed, model, chain_start, &mut edges, &mut |_, _| {});
    phase_done(PHASES[2]);
    let graph = graph::Graph::new(nodes, chain_start, &edges);
    edges.truncate(version_edges);
    analysis.edges = edges;
    phase_done(PHASES[3]);
    let cycles = classify::find_cycles(&graph, model == Model::StrictSerializable);
    phase_done(PHASES[4]);
    Judged { analysis, cycles, nodes: graph.nodes(), edges: graph.edges() }
}

/// Under strict serializability, appends the real-time edges of the committed
/// transactions through a chain of time nodes numbered from `chain_start` (an `ok`
/// completion starts a new one; an invocation hangs off the latest), and returns the
/// node count. `at_invoke(txn, chain)` hears, for every invocation, the chain node it
/// hangs off ([`NONE`] before the first completion), committed or not.
fn realtime_edges(
    h: &History,
    committed: &[bool],
    model: Model,
    chain_start: u32,
    edges: &mut Vec<Edge>,
    at_invoke: &mut dyn FnMut(u32, u32),
) -> u32 {
    let mut nodes = chain_start;
    if model != Model::StrictSerializable {
        return nodes;
    }
    let mut last_chain = NONE;
    for (pos, event) in h.events.iter().enumerate() {
        let txn = h.event_txn[pos];
        if event.kind == EventKind::Invoke {
            at_invoke(txn, last_chain);
        }
        if !committed[txn as usize] {
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
    nodes
}

/// The graph of the view where no member commits, for the search's cycle pruning:
/// its edges, and each transaction's real-time predecessor (a chain node).
fn base_graph(
    h: &mut History,
    members: &[u32],
    model: Model,
    views: Option<&view::Views>,
    analyze: &dyn Fn(&History) -> versions::Analysis,
) -> resolve::BaseGraph {
    let saved: Vec<(u32, txns::Effect)> =
        members.iter().map(|&t| (t, h.txns[t as usize].effect)).collect();
    for &t in members {
        h.txns[t as usize].effect = txns::Effect::None;
    }
    let mut analysis = analyze(h);
    let mut edges = std::mem::take(&mut analysis.edges);
    let version_edges = edges.len();
    let chain_start = (h.txns.len() + analysis.placeholders.len()) as u32;
    let mut rt_pred = vec![NONE; h.txns.len()];
    let nodes =
        realtime_edges(h, &analysis.committed, model, chain_start, &mut edges, &mut |t, c| {
            rt_pred[t as usize] = c
        });
    // The edges views change (see `judge_from_base`).
    let n_txns = h.txns.len() as u32;
    let local = |i: usize, e: &Edge| {
        views.is_some_and(|v| {
            if i < version_edges {
                v.kept(e.key())
            } else {
                e.target < n_txns && v.local(e.target)
            }
        })
    };
    let local: Vec<bool> = edges.iter().enumerate().map(|(i, e)| local(i, e)).collect();
    let shape = resolve::Shape {
        nodes: nodes as usize,
        chain_start,
        rt_edges: edges.len() - version_edges,
        local_rt: local[version_edges..].iter().filter(|&&l| l).count(),
    };
    let base = resolve::BaseGraph::new(h, &analysis, shape, &edges, &local, rt_pred, members);
    for (t, effect) in saved {
        h.txns[t as usize].effect = effect;
    }
    base
}
