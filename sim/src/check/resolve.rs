//! The exact layer: where indeterminate transactions leave a history ambiguous, try
//! their possibilities, and only theirs.
//!
//! `versions` decides most histories alone: every version is claimed by an `ok` write or
//! pinned to one indeterminate writer, and nothing else is in doubt. What it cannot
//! decide, because a graph edge cannot say "one of these":
//! - a version several indeterminate transactions could have installed (a placeholder);
//! - an indeterminate transaction proved committed, with a write nobody observed: the
//!   version it installed is one of the key's unclaimed ones, or above them all;
//! - an indeterminate transaction that may have run more than it reported (its
//!   unreported writes, some with values nobody knows).
//!
//! Those transactions (the *members*), and every indeterminate writer of the keys they
//! touch, are decided here by a depth-first search: each member commits (with how far
//! it ran, and the version each of its writes installed) or does not. Cheap local rules
//! prune it (a version has one installer; a writer that read `k@v` from the store
//! installed `k@v+1`; the value read at a version is the value its installer wrote;
//! every unclaimed version needs a member that can still fill it). Each complete choice
//! is a view with no ambiguity left, which `versions` and the graph judge exactly. The
//! history is valid iff some view is; when none is, the first view tried explains why;
//! when the budget runs out first, the verdict is unknown.
//!
//! Nothing here runs when nothing is ambiguous, so a history the fast path decides costs
//! what it always did.

use std::collections::BTreeMap;

use super::intern::{Value, NULL, UNKNOWN};
use super::txns::{COp, Effect, History, Outcome, Txn, NONE, NO_VERSION};
use super::versions::{label, Analysis, Edge};

/// A write placed above every known version of its key, its exact version chosen last.
const TOP: u64 = u64::MAX;

/// How far the quick pass looks for a cycle before it assumes there is none.
const QUICK_VISITS: u32 = 4096;
/// The key of the `place`-th node of the search's order: a gap before the first too.
fn order_key(place: u64) -> u64 {
    (place + 1) << ORDER_GAP_BITS
}

/// The keys of the search's order start this many bits apart: room for nodes moved
/// between two neighbours many times over before the keys are spread out again.
const ORDER_GAP_BITS: u32 = 24;

/// Steps the search may take: one per choice tried, per candidate weighed for a
/// version, per edge weighed for a placement and per node visited looking for a cycle,
/// plus one per history event for each complete choice judged. Every loop of the search
/// counts, so the budget bounds its time (a crash storm's history once spent 449 s
/// under a budget of 1,000,000 steps that counted only the choices).
pub const STEP_BUDGET: u64 = 50_000_000;

/// What a member may do.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// How many of its unreported ops it ran.
    ran_unreported: u32,
    /// Its installing writes: `(key, value, version it must install if it read the key)`.
    writes: Vec<(u32, Value, Option<u64>)>,
}

#[derive(Clone, Debug)]
struct Member {
    txn: u32,
    /// Proved committed by the fast path (only trusted when nothing is uncertain).
    forced: bool,
    plans: Vec<Plan>,
}

/// One ambiguous key's versions, as far as non-members fix them.
#[derive(Clone, Debug)]
struct KeySlots {
    key: u32,
    /// Versions up to the highest known that nobody outside the members installed.
    holes: Vec<u64>,
    /// Highest version known from outside the members.
    known: u64,
    /// Whether a final read caps the key at `known`.
    capped: bool,
    /// `version -> value` read there by committed transactions outside the members.
    read_value: BTreeMap<u64, Value>,
}

/// A member's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    Out,
    In { plan: usize, versions: Vec<u64> },
}

/// How the search ended.
pub(crate) enum Resolution {
    /// A view with no anomaly: the history is valid.
    Witness(Vec<(u32, Choice)>),
    /// No view is valid; the first one judged (if any reached judgement) explains why.
    Refuted { first: Option<Vec<(u32, Choice)>>, only_way: bool },
    /// Out of budget.
    Unknown { reason: String, txns: Vec<u32> },
}

/// Which transactions are ambiguous after the fast path; empty when it decided.
pub(crate) fn members(h: &History, fast: &Analysis) -> Vec<u32> {
    if !h.txns.iter().any(|t| t.effect == Effect::Maybe) {
        return Vec::new();
    }
    // The keys in doubt, from which the members grow.
    let mut bad = vec![false; h.keys.len()];
    for p in &fast.placeholders {
        bad[p.key as usize] = true;
    }
    mark_unclaimed_versions(h, fast, &mut bad);
    mark_doubtful_writes(h, fast, &mut bad);
    if !bad.iter().any(|&b| b) {
        return Vec::new();
    }
    let member = grow_members(h, fast, bad);
    (0..h.txns.len() as u32).filter(|&t| member[t as usize]).collect()
}

/// Marks the keys with a version below the highest known that nobody is known to have
/// installed (the walk that makes placeholders starts at the first version seen, so
/// count).
fn mark_unclaimed_versions(h: &History, fast: &Analysis, bad: &mut [bool]) {
    let mut highest = vec![0u64; bad.len()];
    let mut claimed = vec![0u64; bad.len()];
    for (txn, t) in h.txns.iter().enumerate() {
        if !fast.committed[txn] {
            continue;
        }
        for op in h.ops(txn as u32) {
            let k = op.key as usize;
            if op.write && op.last_write && t.effect == Effect::Commits {
                claimed[k] += 1;
                highest[k] = highest[k].max(op.version);
            } else if !op.write && op.version != NO_VERSION {
                highest[k] = highest[k].max(op.version);
            }
        }
    }
    for &(_, key, _) in &fast.attributed {
        claimed[key as usize] += 1;
    }
    for k in 0..bad.len() {
        if claimed[k] < highest[k] {
            bad[k] = true;
        }
    }
}

/// Marks the keys an indeterminate transaction leaves in doubt: every key it may have
/// written, if it may have run more than it reported; each write it made without an
/// installed version, if it is proved committed.
fn mark_doubtful_writes(h: &History, fast: &Analysis, bad: &mut [bool]) {
    for (txn, t) in h.txns.iter().enumerate() {
        let txn = txn as u32;
        if t.effect != Effect::Maybe {
            continue;
        }
        if h.uncertain(txn) {
            for op in h.ops(txn).iter().chain(h.unreported(txn)).filter(|op| op.write) {
                bad[op.key as usize] = true;
            }
        }
        if fast.committed[txn as usize] {
            for op in h.ops(txn).iter().filter(|op| op.write && op.last_write) {
                if fast.installed(h, txn, op.key).is_none() {
                    bad[op.key as usize] = true;
                }
            }
        }
    }
}

/// The members, per transaction: every indeterminate transaction that may write a key in
/// doubt and is not settled, its keys then in doubt too, to a fixed point.
fn grow_members(h: &History, fast: &Analysis, mut bad: Vec<bool>) -> Vec<bool> {
    let uncertain_any = (0..h.txns.len() as u32).any(|t| h.uncertain(t));
    // Settled: proved committed with every write attributed, where the proofs can be
    // trusted (no transaction may have written more than it reported).
    let settled = |txn: u32| {
        !uncertain_any
            && fast.committed[txn as usize]
            && h.ops(txn)
                .iter()
                .filter(|op| op.write && op.last_write)
                .all(|op| fast.installed(h, txn, op.key).is_some())
    };
    let mut member = vec![false; h.txns.len()];
    loop {
        let mut grew = false;
        for (txn, t) in h.txns.iter().enumerate() {
            let txn = txn as u32;
            if t.effect != Effect::Maybe || member[txn as usize] || settled(txn) {
                continue;
            }
            let writes = || h.ops(txn).iter().chain(h.unreported(txn)).filter(|op| op.write);
            if writes().any(|op| bad[op.key as usize]) {
                member[txn as usize] = true;
                grew = true;
                for op in writes() {
                    bad[op.key as usize] = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    member
}

/// The plans of a member: for each number of unreported ops it may have run, its
/// installing writes; plans that write the same as a shorter one are left out, and so are
/// plans that write nothing (not committing explains at least as much).
fn plans(h: &History, txn: u32) -> Vec<Plan> {
    let t = h.txns[txn as usize];
    let mut plans: Vec<Plan> = Vec::new();
    for p in 0..=(t.ops_invoked - t.ops_end) {
        let ran = &h.ops[t.ops_start as usize..(t.ops_end + p) as usize];
        let mut writes: Vec<(u32, Value, Option<u64>)> = Vec::new();
        for (i, op) in ran.iter().enumerate() {
            if !op.write {
                continue;
            }
            let later = ran[i + 1..].iter().any(|o| o.write && o.key == op.key);
            if later {
                continue;
            }
            // A store read before its first write of the key fixes the version.
            let read = ran
                .iter()
                .take_while(|o| !(o.write && o.key == op.key))
                .find(|o| !o.write && o.key == op.key && o.version != NO_VERSION);
            writes.push((op.key, op.value, read.map(|r| r.version.saturating_add(1))));
        }
        writes.sort_unstable();
        if writes.is_empty() || plans.last().is_some_and(|last| last.writes == writes) {
            continue;
        }
        plans.push(Plan { ran_unreported: p, writes });
    }
    plans
}

/// The keys some member's plan writes, each with its slot index (in order of first
/// appearance, member by member, plan by plan).
fn written_keys(members: &[Member]) -> BTreeMap<u32, usize> {
    let mut key_index = BTreeMap::new();
    for m in members {
        for plan in &m.plans {
            for &(key, _, _) in &plan.writes {
                let next = key_index.len();
                key_index.entry(key).or_insert(next);
            }
        }
    }
    key_index
}

/// What non-members fix of each key slot: the highest version known, the values read at
/// versions, whether a final read caps the key; and per slot, the versions non-members
/// installed (unsorted). Holes are left for [`find_holes`].
fn fixed_by_others(
    h: &History,
    fast: &Analysis,
    is_member: &[bool],
    key_index: &BTreeMap<u32, usize>,
) -> (Vec<KeySlots>, Vec<Vec<u64>>) {
    let mut keys: Vec<KeySlots> = vec![
        KeySlots {
            key: NONE,
            holes: Vec::new(),
            known: 0,
            capped: false,
            read_value: BTreeMap::new(),
        };
        key_index.len()
    ];
    for (&key, &i) in key_index {
        keys[i].key = key;
    }
    // (Every op of the history is looked up: by an array, not the map.)
    let mut slot_of = vec![NONE; h.keys.len()];
    for (&key, &k) in key_index {
        slot_of[key as usize] = k as u32;
    }
    let mut installed: Vec<Vec<u64>> = vec![Vec::new(); keys.len()];
    for (txn, t) in h.txns.iter().enumerate() {
        let txn32 = txn as u32;
        let committed = t.effect == Effect::Commits || fast.committed[txn];
        if is_member[txn] || !committed {
            continue;
        }
        for op in h.ops(txn32) {
            let k = slot_of[op.key as usize] as usize;
            if k == NONE as usize {
                continue;
            }
            if op.write && op.last_write {
                if let Some(v) = fast.installed(h, txn32, op.key) {
                    installed[k].push(v);
                    keys[k].known = keys[k].known.max(v);
                }
            } else if !op.write && op.version != NO_VERSION && op.value != UNKNOWN {
                keys[k].known = keys[k].known.max(op.version);
                keys[k].read_value.entry(op.version).or_insert(op.value);
                if t.final_read && t.outcome == Outcome::Ok {
                    keys[k].capped = true;
                }
            }
        }
    }
    (keys, installed)
}

/// Per key slot: the members that may write the key.
fn writers_of(keys: &[KeySlots], members: &[Member]) -> Vec<Vec<usize>> {
    keys.iter()
        .map(|slots| {
            (0..members.len())
                .filter(|&i| {
                    members[i].plans.iter().any(|p| p.writes.iter().any(|w| w.0 == slots.key))
                })
                .collect()
        })
        .collect()
}

/// Fills each slot's holes: the versions up to the known one that no non-member
/// installed. `false` when some key has more holes than members that may write it: no
/// choice can fill them (and they are not worth listing: a version may be near 2^64).
fn find_holes(
    keys: &mut [KeySlots],
    mut installed: Vec<Vec<u64>>,
    writers_of: &[Vec<usize>],
) -> bool {
    let mut fillable = true;
    for (k, slots) in keys.iter_mut().enumerate() {
        installed[k].sort_unstable();
        installed[k].dedup();
        let below = installed[k].iter().filter(|&&v| (1..=slots.known).contains(&v)).count();
        let holes = slots.known - below as u64;
        if holes > writers_of[k].len() as u64 {
            fillable = false;
            continue;
        }
        slots.holes =
            (1..=slots.known).filter(|v| installed[k].binary_search(v).is_err()).collect();
        assert_eq!(slots.holes.len() as u64, holes, "the holes counted are the holes listed");
    }
    fillable
}

/// Per member and plan: its store reads `(key, version)`.
fn store_reads(h: &History, members: &[Member]) -> Vec<Vec<Vec<(u32, u64)>>> {
    members
        .iter()
        .map(|m| {
            let t = h.txns[m.txn as usize];
            m.plans
                .iter()
                .map(|p| {
                    h.ops[t.ops_start as usize..(t.ops_end + p.ran_unreported) as usize]
                        .iter()
                        .filter(|op| !op.write && op.version != NO_VERSION)
                        .map(|op| (op.key, op.version))
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// The view where no member commits, as the search's cycle pruning sees it: its graph
/// (real-time chain included), who installed and who read each version.
pub(crate) struct BaseGraph {
    /// The edges, by source: node `n`'s successors are `targets[offsets[n]..offsets[n +
    /// 1]]`, in the order the view's edges were made (one array, not a list per node:
    /// a big history's graph has millions of nodes).
    offsets: Vec<u32>,
    targets: Vec<u32>,
    /// Per edge of `targets`: local (see [`acyclic_with`]).
    local: Vec<bool>,
    /// The first time-chain node, and how many real-time edges there are, and how many of
    /// them are local (into a local transaction).
    chain_start: u32,
    rt_edges: usize,
    local_rt: usize,
    /// Per transaction: the chain node its invocation hangs off (strict), or `NONE`.
    rt_pred: Vec<u32>,
    installer: BTreeMap<(u32, u64), u32>,
    readers: BTreeMap<(u32, u64), Vec<u32>>,
    /// See [`topological_rank`]; and the nodes by rank.
    rank: Vec<u32>,
    by_rank: Vec<u32>,
    /// The edges backwards, for the search's order upkeep: node `n`'s predecessors are
    /// `reverse_sources[reverse_offsets[n]..reverse_offsets[n + 1]]`.
    reverse_offsets: Vec<u32>,
    reverse_sources: Vec<u32>,
    reverse_local: Vec<bool>,
}

/// What [`BaseGraph::new`] is told of the base view's graph besides its edges.
pub(crate) struct Shape {
    pub(crate) nodes: usize,
    pub(crate) chain_start: u32,
    pub(crate) rt_edges: usize,
    pub(crate) local_rt: usize,
}

impl BaseGraph {
    /// `members`: whose keys (written or read) the maps are kept for.
    /// `edges` and, per edge, whether it is `local`.
    pub(crate) fn new(
        h: &History,
        analysis: &Analysis,
        shape: Shape,
        edges: &[Edge],
        local: &[bool],
        rt_pred: Vec<u32>,
        members: &[u32],
    ) -> BaseGraph {
        let nodes = shape.nodes;
        let mut wanted = vec![false; h.keys.len()];
        for &m in members {
            let t = h.txns[m as usize];
            for op in &h.ops[t.ops_start as usize..t.ops_invoked as usize] {
                wanted[op.key as usize] = true;
            }
        }
        let mut installer = BTreeMap::new();
        let mut readers: BTreeMap<(u32, u64), Vec<u32>> = BTreeMap::new();
        for txn in 0..h.txns.len() as u32 {
            if !analysis.committed[txn as usize] {
                continue;
            }
            for op in h.ops(txn).iter().filter(|op| wanted[op.key as usize]) {
                if op.write && op.last_write {
                    if let Some(v) = analysis.installed(h, txn, op.key) {
                        installer.insert((op.key, v), txn);
                    }
                } else if !op.write && op.version != NO_VERSION && op.value != UNKNOWN {
                    readers.entry((op.key, op.version)).or_default().push(txn);
                }
            }
        }
        // Transactions as early as their invocations allow, so that the order follows time
        // and a member (no base edges: it may go anywhere) starts where its edges will be.
        let invoked = |n: u32| h.txns.get(n as usize).map_or(0, |t| t.invoke);
        let (offsets, targets, local) =
            by_first(nodes, edges.len(), |i| (edges[i].source, edges[i].target, local[i]));
        let mut graph = BaseGraph {
            offsets,
            targets,
            local,
            chain_start: shape.chain_start,
            rt_edges: shape.rt_edges,
            local_rt: shape.local_rt,
            rt_pred,
            installer,
            readers,
            rank: Vec::new(),
            by_rank: Vec::new(),
            reverse_offsets: Vec::new(),
            reverse_sources: Vec::new(),
            reverse_local: Vec::new(),
        };
        (graph.reverse_offsets, graph.reverse_sources, graph.reverse_local) = graph.reversed();
        (graph.rank, graph.by_rank) = topological_rank(&graph, invoked);
        graph
    }

    pub(crate) fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    pub(crate) fn chain_start(&self) -> u32 {
        self.chain_start
    }

    pub(crate) fn rt_edges(&self) -> usize {
        self.rt_edges
    }

    pub(crate) fn local_rt(&self) -> usize {
        self.local_rt
    }

    /// The chain node transaction `t`'s invocation hangs off (strict), or `NONE`.
    pub(crate) fn rt_pred(&self, t: u32) -> u32 {
        self.rt_pred[t as usize]
    }

    /// Node `n`'s successors.
    fn out(&self, n: usize) -> &[u32] {
        &self.targets[self.offsets[n] as usize..self.offsets[n + 1] as usize]
    }

    /// The edges backwards, grouped by target, each target's sources ascending (the
    /// order a walk over the edges by source finds them in): offsets, sources, and per
    /// edge whether it is local. A counting sort straight off the forward arrays.
    fn reversed(&self) -> (Vec<u32>, Vec<u32>, Vec<bool>) {
        let nodes = self.nodes();
        let mut offsets = vec![0u32; nodes + 1];
        for &t in &self.targets {
            offsets[t as usize + 1] += 1;
        }
        for n in 0..nodes {
            offsets[n + 1] += offsets[n];
        }
        let mut fill = offsets.clone();
        let mut sources = vec![0u32; self.targets.len()];
        let mut local = vec![false; self.targets.len()];
        for n in 0..nodes {
            for e in self.offsets[n] as usize..self.offsets[n + 1] as usize {
                let at = &mut fill[self.targets[e] as usize];
                sources[*at as usize] = n as u32;
                local[*at as usize] = self.local[e];
                *at += 1;
            }
        }
        (offsets, sources, local)
    }

    /// How many edges come into node `n` (once the reverse arrays are built).
    fn in_degree(&self, n: usize) -> u32 {
        self.reverse_offsets[n + 1] - self.reverse_offsets[n]
    }
}

/// Items `0..len`, each `(a, b, flag)` over `nodes` nodes, grouped by `a`, stably (a
/// counting sort): offsets, and the `b`s and flags in arrays.
fn by_first(
    nodes: usize,
    len: usize,
    item: impl Fn(usize) -> (u32, u32, bool),
) -> (Vec<u32>, Vec<u32>, Vec<bool>) {
    let mut offsets = vec![0u32; nodes + 1];
    for i in 0..len {
        offsets[item(i).0 as usize + 1] += 1;
    }
    for n in 0..nodes {
        offsets[n + 1] += offsets[n];
    }
    let mut fill = offsets.clone();
    let mut seconds = vec![0u32; len];
    let mut flags = vec![false; len];
    for i in 0..len {
        let (a, b, flag) = item(i);
        seconds[fill[a as usize] as usize] = b;
        flags[fill[a as usize] as usize] = flag;
        fill[a as usize] += 1;
    }
    (offsets, seconds, flags)
}

/// Judges views' graphs from the base graph's order, without building them (see
/// [`ViewGraphs::acyclic_with`]).
pub(crate) struct ViewGraphs<'b> {
    base: &'b BaseGraph,
    /// The order kept from one view to the next: once a view's edges are taken out
    /// again, it is an order of the base graph without its local edges, where the next
    /// view starts (a fresh one per view would cost arrays over every node).
    dag: std::cell::RefCell<Option<Dag<'b>>>,
}

impl<'b> ViewGraphs<'b> {
    pub(crate) fn new(base: &'b BaseGraph) -> ViewGraphs<'b> {
        ViewGraphs { base, dag: std::cell::RefCell::new(None) }
    }

    /// Whether a view's graph is acyclic. It is the base graph without its local edges
    /// (those of the local keys, and the real-time edges into local transactions: the
    /// only ones views change, see `view`), plus `added`, over the base graph's nodes and
    /// `new_nodes` more (the view's placeholders of local keys). Each added edge keeps a
    /// topological order as the search does (see [`Search::keep_order`]), so a cycle is
    /// found exactly, at the cost of the edges added, not of the graph. `None` when the
    /// base graph has a cycle of its own (no order to start from).
    pub(crate) fn acyclic_with(&self, new_nodes: usize, added: &[(u32, u32)]) -> Option<bool> {
        let base = self.base;
        if base.rank.contains(&u32::MAX) {
            return None;
        }
        let mut dag = self.dag.borrow_mut();
        if dag.as_ref().is_none_or(|d| d.stamp.len() < base.nodes() + new_nodes) {
            // New nodes go at the end (between views they have no edges), with room to
            // spare for the next views'.
            let nodes = base.nodes() + 2 * new_nodes.max(64);
            *dag = Some(Dag {
                base,
                order: Order::new(&base.rank, &base.by_rank, nodes - base.nodes()),
                out: BTreeMap::new(),
                into: BTreeMap::new(),
                stamp: vec![0; nodes],
                epoch: 0,
            });
        }
        let dag = dag.as_mut().expect("made above");
        let mut acyclic = true;
        for &(u, v) in added {
            dag.out.entry(u).or_default().push(v);
            dag.into.entry(v).or_default().push(u);
            if u == v || !dag.keep_order(u, v) {
                acyclic = false;
                break;
            }
        }
        dag.out.clear();
        dag.into.clear();
        Some(acyclic)
    }
}

/// The graph [`ViewGraphs::acyclic_with`] keeps an order of.
struct Dag<'b> {
    base: &'b BaseGraph,
    order: Order,
    /// The added edges, by source and by target.
    out: BTreeMap<u32, Vec<u32>>,
    into: BTreeMap<u32, Vec<u32>>,
    stamp: Vec<u32>,
    epoch: u32,
}

impl Dag<'_> {
    /// Node `n`'s successors that stay: its base edges but the local ones, and the added.
    fn successors(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        let base = self.base;
        let range = if (n as usize) < base.nodes() {
            base.offsets[n as usize] as usize..base.offsets[n as usize + 1] as usize
        } else {
            0..0
        };
        let kept = range.filter(|&e| !base.local[e]).map(|e| base.targets[e]);
        kept.chain(self.out.get(&n).into_iter().flatten().copied())
    }

    /// Node `n`'s predecessors that stay.
    fn predecessors(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        let base = self.base;
        let range = if (n as usize) < base.nodes() {
            base.reverse_offsets[n as usize] as usize..base.reverse_offsets[n as usize + 1] as usize
        } else {
            0..0
        };
        let kept = range.filter(|&e| !base.reverse_local[e]).map(|e| base.reverse_sources[e]);
        kept.chain(self.into.get(&n).into_iter().flatten().copied())
    }

    /// [`Search::keep_order`] over this graph: after adding `u -> v`, moves the smaller
    /// side into the gap by the other end; `false` if `v` reaches `u`.
    fn keep_order(&mut self, u: u32, v: u32) -> bool {
        let (upper, lower) = (self.order.key(u), self.order.key(v));
        if lower > upper {
            return true;
        }
        // Forward from `v` below `upper`, backward from `u` above `lower`, a node each
        // in turn, until one side is done or they meet.
        self.epoch += 2;
        let (forward_mark, backward_mark) = (self.epoch - 1, self.epoch);
        let (mut forward, mut backward) = (vec![v], vec![u]);
        self.stamp[v as usize] = forward_mark;
        self.stamp[u as usize] = backward_mark;
        let (mut f, mut b) = (0, 0);
        let (mut moved, after_u) = loop {
            if f == forward.len() {
                break (forward, true);
            }
            let n = forward[f];
            f += 1;
            let next: Vec<u32> = self.successors(n).collect();
            for next in next {
                if self.stamp[next as usize] == backward_mark {
                    return false;
                }
                if self.order.key(next) < upper && self.stamp[next as usize] != forward_mark {
                    self.stamp[next as usize] = forward_mark;
                    forward.push(next);
                }
            }
            if b == backward.len() {
                break (backward, false);
            }
            let n = backward[b];
            b += 1;
            let previous: Vec<u32> = self.predecessors(n).collect();
            for prev in previous {
                if self.stamp[prev as usize] == forward_mark {
                    return false;
                }
                if self.order.key(prev) > lower && self.stamp[prev as usize] != backward_mark {
                    self.stamp[prev as usize] = backward_mark;
                    backward.push(prev);
                }
            }
        };
        if !self.order.move_into_gap(&mut moved, after_u, upper, lower) {
            return self.keep_order(u, v);
        }
        true
    }
}

/// Each node's place in a topological order of the graph (Kahn's, taking the ready node
/// of the smallest `key` first), or `u32::MAX` for nodes on or behind a cycle. Paths in
/// the graph only climb in rank: the quick pass looks for a path back to a transaction
/// only below the highest rank it must reach.
/// The reverse arrays must be built (they give the in-degrees).
fn topological_rank(graph: &BaseGraph, key: impl Fn(u32) -> u32) -> (Vec<u32>, Vec<u32>) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut indegree: Vec<u32> = (0..graph.nodes()).map(|n| graph.in_degree(n)).collect();
    let mut rank = vec![u32::MAX; graph.nodes()];
    // `(key, node)` packed in one word, ordered as the pair: a cheaper heap.
    let packed = |n: u32| u64::from(key(n)) << 32 | u64::from(n);
    // Nodes without edges (every transaction that did not commit) wait in a sorted list
    // beside the heap, not in it: the same order, from a much smaller heap.
    let mut ready: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
    let mut idle: Vec<u64> = Vec::new();
    for n in 0..graph.nodes() as u32 {
        if indegree[n as usize] != 0 {
            continue;
        }
        if graph.out(n as usize).is_empty() {
            idle.push(packed(n));
        } else {
            ready.push(Reverse(packed(n)));
        }
    }
    idle.sort_unstable();
    let mut idle = idle.into_iter().peekable();
    let mut next = 0u32;
    let mut by_rank = Vec::with_capacity(graph.nodes());
    loop {
        let n = match (ready.peek(), idle.peek()) {
            (Some(&Reverse(r)), Some(&i)) if i < r => idle.next().expect("peeked"),
            (Some(_), _) => ready.pop().expect("peeked").0,
            (None, Some(_)) => idle.next().expect("peeked"),
            (None, None) => break,
        } as u32;
        rank[n as usize] = next;
        by_rank.push(n);
        next += 1;
        for &t in graph.out(n as usize) {
            indegree[t as usize] -= 1;
            if indegree[t as usize] == 0 {
                ready.push(Reverse(packed(t)));
            }
        }
    }
    (rank, by_rank)
}

/// A search over the members' choices.
pub(crate) struct Search<'s, 'h> {
    h: &'s mut History<'h>,
    members: Vec<Member>,
    keys: Vec<KeySlots>,
    /// Key id -> index into `keys`.
    key_index: BTreeMap<u32, usize>,
    /// `(slot key index, version)` taken by a member in the current partial choice.
    taken: BTreeMap<(usize, u64), usize>,
    /// Per key slot: the members placed above its known versions, in the order chosen.
    tops: Vec<Vec<usize>>,
    /// Per member: decided in the current partial choice.
    decided: Vec<bool>,
    choices: Vec<Choice>,
    steps: u64,
    budget: u64,
    events: u64,
    views: u64,
    first: Option<Vec<(u32, Choice)>>,
    plans: BTreeMap<u32, Vec<Plan>>,
    /// The graph for cycle pruning (`None`: no pruning).
    graph: Option<&'s BaseGraph>,
    /// The quick pass: a complete choice is taken without judging it (the caller
    /// judges the one it returns).
    pub(crate) quick: bool,
    /// Choices the quick pass must not make again: `(txn, choice)`, versions above the
    /// known ones standing for any place up there.
    pub(crate) banned: Vec<(u32, Choice)>,
    /// Per transaction: a member of this search.
    is_member: Vec<bool>,
    /// Per key slot: the members that may write the key.
    writers_of: Vec<Vec<usize>>,
    /// Edges of the members placed so far: node `n`'s targets and sources are
    /// `extra_lists[extra_slot[n]]`, or none while its slot is `NONE` (few nodes have
    /// any: two lists per node would cost millions of allocations on a big history).
    extra_slot: Vec<u32>,
    extra_lists: Vec<(Vec<u32>, Vec<u32>)>,
    /// A topological order of the base graph and the edges placed so far, kept as edges
    /// are added (see [`Search::keep_order`]): `order[n]` is node `n`'s key, and
    /// `by_order` the nodes by key. An edge that closes a cycle is found exactly, by a
    /// search only between its two ends' places; removing edges keeps an order valid,
    /// so backtracking costs nothing. Empty when the base graph has a cycle of its own
    /// (then [`Search::reaches_itself`] looks for cycles instead).
    order: Order,
    /// Store reads `(key, version) -> member txns` of the members placed so far.
    placed_reads: BTreeMap<(u32, u64), Vec<u32>>,
    /// Per member and plan: its store reads.
    plan_reads: Vec<Vec<Vec<(u32, u64)>>>,
    /// Visit marks for the cycle search.
    stamp: Vec<u32>,
    epoch: u32,
    /// Ways found by the pass that ignores the rules (it stops at two).
    ways: u32,
    /// Some key has more unclaimed versions than members to install them.
    impossible: bool,
    /// The valid view's decisions, once found.
    witness: Option<Vec<(u32, Choice)>>,
    /// Local pruning on (off for the pass that only looks for a view to explain).
    strict_prune: bool,
}

/// What follows once a member's versions are chosen.
#[derive(Clone, Copy)]
enum Next {
    Fill,
    Forced,
}

enum Flow {
    Continue,
    Found,
    OutOfBudget,
}

impl<'s, 'h> Search<'s, 'h> {
    pub(crate) fn new(
        h: &'s mut History<'h>,
        fast: &Analysis,
        members: &[u32],
        graph: Option<&'s BaseGraph>,
        budget: u64,
    ) -> Self {
        let uncertain_any = (0..h.txns.len() as u32).any(|t| h.uncertain(t));
        let members: Vec<Member> = members
            .iter()
            .map(|&txn| Member {
                txn,
                forced: !uncertain_any && fast.committed[txn as usize],
                plans: plans(h, txn),
            })
            .collect();
        let mut is_member = vec![false; h.txns.len()];
        for m in &members {
            is_member[m.txn as usize] = true;
        }
        let key_index = written_keys(&members);
        let (mut keys, installed) = fixed_by_others(h, fast, &is_member, &key_index);
        let writers_of = writers_of(&keys, &members);
        let impossible = !find_holes(&mut keys, installed, &writers_of);
        let plan_reads = store_reads(h, &members);
        let nodes = graph.as_ref().map_or(0, |g| g.nodes());
        let order = graph
            .as_ref()
            .filter(|g| g.rank.iter().all(|&r| r != u32::MAX))
            .map_or_else(Order::default, |g| Order::new(&g.rank, &g.by_rank, 0));
        Search {
            ways: 0,
            impossible,
            plans: members.iter().map(|m| (m.txn, m.plans.clone())).collect(),
            graph,
            quick: false,
            banned: Vec::new(),
            is_member,
            writers_of,
            extra_slot: vec![NONE; nodes],
            extra_lists: Vec::new(),
            order,
            placed_reads: BTreeMap::new(),
            plan_reads,
            stamp: vec![0; nodes],
            epoch: 0,
            witness: None,
            events: h.events.len() as u64,
            h,
            choices: vec![Choice::Out; members.len()],
            decided: vec![false; members.len()],
            tops: vec![Vec::new(); keys.len()],
            members,
            keys,
            key_index,
            taken: BTreeMap::new(),
            steps: 0,
            budget,
            views: 0,
            first: None,
            strict_prune: true,
        }
    }

    /// Runs the search; `judge` says whether a complete view is valid.
    pub(crate) fn run(&mut self, judge: &mut dyn FnMut(&History) -> bool) -> Resolution {
        if self.impossible {
            return Resolution::Refuted { first: None, only_way: false };
        }
        let flow = self.dfs(judge);

        let resolution = match flow {
            Flow::Found => Resolution::Witness(self.witness.take().expect("found at a leaf")),
            Flow::OutOfBudget => Resolution::Unknown {
                reason: format!(
                    "{} indeterminate transactions could have committed in too many ways to try within the checker's budget of {} steps ({} complete possibilities judged)",
                    self.members.len(),
                    self.budget,
                    self.views
                ),
                txns: self.members.iter().map(|m| m.txn).take(8).collect(),
            },
            Flow::Continue => {
                // Count the ways the members could have installed the versions at all,
                // rules aside (up to two): one way is "the only way", and keep one to
                // explain if no view was judged.
                self.strict_prune = false;
                let mut never = |_: &History| false;
                self.steps = 0;
                let counted = !matches!(self.dfs(&mut never), Flow::OutOfBudget);
                Resolution::Refuted {
                    first: self.first.take(),
                    only_way: counted && self.ways == 1,
                }
            }
        };
        resolution
    }

    fn decisions(&self) -> Vec<(u32, Choice)> {
        self.members.iter().zip(&self.choices).map(|(m, c)| (m.txn, c.clone())).collect()
    }

    /// Whether member `i`'s write `(key, value, must)` may install `v` of key slot `k`.
    fn fits(&self, k: usize, v: u64, write: (u32, Value, Option<u64>)) -> bool {
        if self.taken.contains_key(&(k, v)) {
            return false;
        }
        if !self.strict_prune {
            return true;
        }
        let (_, value, must) = write;
        if v == TOP {
            // Above every known version, unread: one that read the key first must have
            // read the highest known version (its place among the others comes later).
            return must.is_none_or(|m| m > self.keys[k].known);
        }
        if must.is_some_and(|m| m != v) {
            return false;
        }
        // An unknown value is some string: never the null of an absent key.
        match self.keys[k].read_value.get(&v) {
            None => true,
            Some(&read) => read == value || (value == UNKNOWN && read != NULL),
        }
    }

    /// Fills the unfilled version with the fewest possible installers first (each must
    /// have one), then places the members proved committed that fill none, then judges.
    fn dfs(&mut self, judge: &mut dyn FnMut(&History) -> bool) -> Flow {
        self.steps += 1;
        if self.steps > self.budget {
            return Flow::OutOfBudget;
        }
        let best = self.emptiest_hole();
        // A member proved committed must go somewhere: the one with the fewest places
        // left, when it has fewer than the emptiest version has candidates.
        if let Some((places, i)) = self.tightest_forced() {
            if places == 0 {
                return Flow::Continue;
            }
            if best.is_none_or(|b| places < b.0) {
                return self.branch_on_forced(i, judge);
            }
        }
        let Some((count, k, v)) = best else {
            return self.place_forced(judge);
        };
        if count == 0 {
            return Flow::Continue;
        }
        self.branch_on_hole(k, v, judge)
    }

    /// The hole with the fewest candidates, the first of them in key slot and version
    /// order: `(candidates, key slot, version)`; `None` when every hole is taken.
    fn emptiest_hole(&mut self) -> Option<(usize, usize, u64)> {
        let mut best: Option<(usize, usize, u64)> = None;
        for k in 0..self.keys.len() {
            for h in 0..self.keys[k].holes.len() {
                let v = self.keys[k].holes[h];
                if self.taken.contains_key(&(k, v)) {
                    continue;
                }
                let count = self.hole_candidates(k, v);
                if best.is_none_or(|b| count < b.0) {
                    best = Some((count, k, v));
                }
            }
        }
        best
    }

    /// How many undecided members could install `v` of key slot `k` with some plan.
    fn hole_candidates(&mut self, k: usize, v: u64) -> usize {
        let key = self.keys[k].key;
        let mut count = 0;
        for j in 0..self.writers_of[k].len() {
            let i = self.writers_of[k][j];
            if self.decided[i] {
                continue;
            }
            let mut can = false;
            for plan in 0..self.members[i].plans.len() {
                // Weighing a candidate is a step: the budget bounds the time of the
                // choices counted, not only their number.
                self.steps += 1;
                let writes = &self.members[i].plans[plan].writes;
                let Some(w) = writes.iter().position(|w| w.0 == key) else { continue };
                // (The quick pass counts without looking for cycles: it looks once it
                // places.)
                if self.fits(k, v, writes[w]) && (self.quick || !self.closes_cycle(i, plan, w, v)) {
                    can = true;
                    break;
                }
            }
            count += usize::from(can);
        }
        count
    }

    /// The undecided member proved committed with the fewest places left, the first of
    /// them: `(places, member)`; the first with none at once (the choice so far is
    /// dead). Never one in the quick pass: it leaves them to the end (counting places
    /// costs).
    fn tightest_forced(&mut self) -> Option<(usize, usize)> {
        let mut forced: Option<(usize, usize)> = None;
        for i in 0..self.members.len() {
            if self.quick || self.decided[i] || !self.members[i].forced {
                continue;
            }
            let places = self.places(i);
            if places == 0 {
                return Some((0, i));
            }
            if forced.is_none_or(|f| places < f.0) {
                forced = Some((places, i));
            }
        }
        forced
    }

    /// Tries each plan of forced member `i` (it cannot stay out), then backtracks.
    fn branch_on_forced(&mut self, i: usize, judge: &mut dyn FnMut(&History) -> bool) -> Flow {
        assert!(self.members[i].forced, "only a member proved committed is forced");
        assert!(!self.decided[i], "a forced member is branched on while undecided");
        self.decided[i] = true;
        for plan in 0..self.members[i].plans.len() {
            let mut versions = vec![0; self.members[i].plans[plan].writes.len()];
            let flow = self.assign(i, plan, 0, None, &mut versions, Next::Fill, judge);
            if !matches!(flow, Flow::Continue) {
                self.decided[i] = false;
                return flow;
            }
        }
        self.decided[i] = false;
        self.choices[i] = Choice::Out;
        Flow::Continue
    }

    /// Tries each candidate installer of `v` of key slot `k` (see
    /// [`Search::candidate_order`]) with each plan that fits, then backtracks.
    fn branch_on_hole(
        &mut self,
        k: usize,
        v: u64,
        judge: &mut dyn FnMut(&History) -> bool,
    ) -> Flow {
        let key = self.keys[k].key;
        for i in self.candidate_order(key, v) {
            for plan in 0..self.members[i].plans.len() {
                let writes = self.members[i].plans[plan].writes.clone();
                let Some(w) = writes.iter().position(|w| w.0 == key) else { continue };
                if !self.fits(k, v, writes[w]) {
                    continue;
                }
                self.decided[i] = true;
                let mut versions = vec![0; writes.len()];
                versions[w] = v;
                self.take(k, v, i);
                let flow = self.assign(i, plan, 0, Some(w), &mut versions, Next::Fill, judge);
                self.untake(k, v);
                self.decided[i] = false;
                self.choices[i] = Choice::Out;
                if !matches!(flow, Flow::Continue) {
                    return flow;
                }
            }
        }
        Flow::Continue
    }

    /// How many ways member `i` could still be placed (each write alone: a version that
    /// fits without closing a cycle, or above the known ones), summed over its plans.
    fn places(&mut self, i: usize) -> usize {
        let mut total = 0usize;
        for plan in 0..self.members[i].plans.len() {
            let mut product = 1usize;
            for w in 0..self.members[i].plans[plan].writes.len() {
                let write = self.members[i].plans[plan].writes[w];
                let k = self.key_index[&write.0];
                let mut options = 0usize;
                for h in 0..self.keys[k].holes.len() {
                    let v = self.keys[k].holes[h];
                    self.steps += 1;
                    if self.fits(k, v, write) && !self.closes_cycle(i, plan, w, v) {
                        options += 1;
                    }
                }
                if !self.keys[k].capped && self.fits(k, TOP, write) {
                    options += 1;
                }
                product = product.saturating_mul(options);
                if product == 0 {
                    break;
                }
            }
            total = total.saturating_add(product);
        }
        total
    }

    /// The undecided members, most likely installers of `key@v` first: those invoked
    /// before the version's first sign of life (a completed read of it, or the
    /// completion of the next version's installer), latest first, then the rest. A
    /// correct store's histories are found on the first path this way; the order
    /// changes only how soon, never what is found.
    fn candidate_order(&self, key: u32, v: u64) -> Vec<usize> {
        let h = &*self.h;
        let completion = |t: u32| {
            let t = &h.txns[t as usize];
            if t.complete == NONE {
                u32::MAX
            } else {
                t.complete
            }
        };
        let mut anchor = u32::MAX;
        for r in self.readers(key, v) {
            anchor = anchor.min(completion(r));
        }
        if let Some(next) = self.installer(key, v + 1) {
            anchor = anchor.min(completion(next));
        }
        let k = self.key_index[&key];
        let mut order: Vec<(bool, u32, usize)> = self.writers_of[k]
            .iter()
            .copied()
            .filter(|&i| !self.decided[i])
            .map(|i| {
                let invoke = h.txns[self.members[i].txn as usize].invoke;
                (invoke > anchor, if invoke > anchor { invoke } else { u32::MAX - invoke }, i)
            })
            .collect();
        order.sort_unstable();
        order.into_iter().map(|x| x.2).collect()
    }

    /// Every version is filled: members proved committed that are still undecided
    /// install above the known versions; the rest did not commit (committing would only
    /// add constraints).
    fn place_forced(&mut self, judge: &mut dyn FnMut(&History) -> bool) -> Flow {
        let next = (0..self.members.len())
            .find(|&i| !self.decided[i] && (self.members[i].forced || self.needed(i)));
        let Some(i) = next else {
            return self.leaf(judge);
        };
        self.decided[i] = true;
        for plan in 0..self.members[i].plans.len() {
            let n = self.members[i].plans[plan].writes.len();
            let mut versions = vec![0; n];
            let flow = self.assign(i, plan, 0, None, &mut versions, Next::Forced, judge);
            if !matches!(flow, Flow::Continue) {
                self.decided[i] = false;
                return flow;
            }
        }
        self.choices[i] = Choice::Out;
        if !self.members[i].forced {
            // Needed only to explain a read by another member: that one may be wrong.
            let flow = self.place_forced(judge);
            if !matches!(flow, Flow::Continue) {
                self.decided[i] = false;
                return flow;
            }
        }
        self.decided[i] = false;
        Flow::Continue
    }

    /// Whether a placed member read a version of a key member `i` may write that is
    /// above every version known from outside the members: only a member can have
    /// installed it.
    fn needed(&self, i: usize) -> bool {
        self.members[i].plans.iter().flat_map(|p| &p.writes).any(|w| {
            let known = self.keys[self.key_index[&w.0]].known;
            self.placed_reads.range((w.0, known + 1)..(w.0 + 1, 0)).any(|(_, r)| !r.is_empty())
        })
    }

    /// The installer of `key@v` so far: a placed member, or the base view's.
    fn installer(&self, key: u32, v: u64) -> Option<u32> {
        if let Some(&k) = self.key_index.get(&key) {
            if let Some(&i) = self.taken.get(&(k, v)) {
                return Some(self.members[i].txn);
            }
        }
        self.graph.as_ref().and_then(|g| g.installer.get(&(key, v)).copied())
    }

    fn readers(&self, key: u32, v: u64) -> impl Iterator<Item = u32> + '_ {
        let fixed =
            self.graph.as_ref().and_then(|g| g.readers.get(&(key, v))).into_iter().flatten();
        let placed = self.placed_reads.get(&(key, v)).into_iter().flatten();
        fixed.chain(placed).copied()
    }

    /// Adds member `i`'s edges for its plan's writes `(index, version)` (all of them, or
    /// one to look ahead), its reads and real time; `None` (and nothing added) when they
    /// close a cycle.
    fn add_edges(
        &mut self,
        i: usize,
        plan: usize,
        writes: &[(usize, u64)],
    ) -> Option<Vec<(u32, u32)>> {
        if self.graph.is_none() {
            return Some(Vec::new());
        }
        let txn = self.members[i].txn;
        let mut preds: Vec<u32> = Vec::new();
        let mut succs: Vec<u32> = Vec::new();
        for &(w, v) in writes {
            let key = self.members[i].plans[plan].writes[w].0;
            if v == TOP {
                // After everything known of the key; its place among the others that
                // go above is chosen last (see `order_tops`).
                let known = self.keys[self.key_index[&key]].known;
                if known > 0 {
                    preds.extend(self.installer(key, known));
                }
                preds.extend(self.readers(key, known));
                continue;
            }
            if v > 1 {
                preds.extend(self.installer(key, v - 1));
                preds.extend(self.readers(key, v - 1));
            }
            succs.extend(self.installer(key, v + 1));
            succs.extend(self.readers(key, v));
        }
        for &(key, u) in &self.plan_reads[i][plan] {
            if u > 0 {
                preds.extend(self.installer(key, u));
            }
            succs.extend(self.installer(key, u + 1));
        }
        let rt = self.graph.as_ref().map_or(NONE, |g| g.rt_pred[txn as usize]);
        if rt != NONE {
            preds.push(rt);
        }
        // Each edge weighed is work the budget must see (a key read by many leaves many).
        self.steps += (preds.len() + succs.len()) as u64;
        let bound = preds.iter().map(|&p| self.rank_bound(p)).max().unwrap_or(0);
        let mut added = Vec::new();
        let edges = preds.into_iter().map(|p| (p, txn)).chain(succs.into_iter().map(|s| (txn, s)));
        for (source, target) in edges.filter(|&(s, t)| s != t) {
            if !self.add_edge(source, target, &mut added) {
                self.remove_edges(&added);
                return None;
            }
        }
        if self.strict_prune && self.order.is_empty() && self.reaches_itself(txn, bound) {
            self.remove_edges(&added);
            return None;
        }
        Some(added)
    }

    /// Whether member `i` installing `v` with its plan's write `w` closes a cycle with
    /// what is placed so far (its other writes would only add edges).
    fn closes_cycle(&mut self, i: usize, plan: usize, w: usize, v: u64) -> bool {
        match self.add_edges(i, plan, &[(w, v)]) {
            Some(added) => {
                self.remove_edges(&added);
                false
            }
            None => true,
        }
    }

    /// Places member `i` with its plan and versions: its edges, then its reads.
    fn place(&mut self, i: usize, plan: usize, versions: &[u64]) -> Option<Vec<(u32, u32)>> {
        let writes: Vec<(usize, u64)> = versions.iter().copied().enumerate().collect();
        let added = self.add_edges(i, plan, &writes)?;
        let txn = self.members[i].txn;
        for &(key, u) in &self.plan_reads[i][plan] {
            self.placed_reads.entry((key, u)).or_default().push(txn);
        }
        Some(added)
    }

    fn unplace(&mut self, i: usize, plan: usize, added: Vec<(u32, u32)>) {
        self.remove_edges(&added);
        for &(key, u) in &self.plan_reads[i][plan] {
            if let Some(list) = self.placed_reads.get_mut(&(key, u)) {
                list.pop();
            }
        }
    }

    fn remove_edges(&mut self, added: &[(u32, u32)]) {
        for &(source, target) in added.iter().rev() {
            self.extra_lists[self.extra_slot[source as usize] as usize].0.pop();
            self.extra_lists[self.extra_slot[target as usize] as usize].1.pop();
        }
    }

    /// Node `n`'s slot in `extra_lists`, made if it has none yet.
    fn extra_slot(&mut self, n: u32) -> usize {
        if self.extra_slot[n as usize] == NONE {
            self.extra_slot[n as usize] = self.extra_lists.len() as u32;
            self.extra_lists.push((Vec::new(), Vec::new()));
        }
        self.extra_slot[n as usize] as usize
    }

    /// Adds the edge `source -> target` (onto `added`) and keeps the order; `false`, with
    /// the edge added still, when it closes a cycle and cycles are pruned.
    fn add_edge(&mut self, source: u32, target: u32, added: &mut Vec<(u32, u32)>) -> bool {
        let slot = self.extra_slot(source);
        self.extra_lists[slot].0.push(target);
        let slot = self.extra_slot(target);
        self.extra_lists[slot].1.push(source);
        added.push((source, target));
        if self.order.is_empty() || !self.strict_prune {
            return true;
        }
        self.keep_order(source, target)
    }

    /// After adding `u -> v`: if `v` came before `u` in the order, one side of the edge
    /// moves (Pearce and Kelly's dynamic order, with keys that leave gaps): the nodes
    /// reachable from `v` that come before `u` move, in their order, into the gap right
    /// after `u`; or the nodes reaching `u` that come after `v` move into the gap right
    /// before `v`. Both searches stay between the two keys and run a step each in turn;
    /// the side that is done first (the smaller) moves. The order stays topological:
    /// whatever reaches a moved node comes before it still, whatever it reaches after.
    /// `false` if `v` reaches `u`: the edge closes a cycle (the order is left as it was).
    fn keep_order(&mut self, u: u32, v: u32) -> bool {
        let (upper, lower) = (self.order.key(u), self.order.key(v));
        if lower > upper {
            return true;
        }
        let Some(graph) = self.graph else { return true };
        let side = self.smaller_side(graph, u, v, upper, lower);
        let Some((mut moved, after_u)) = side else { return false };
        if !self.order.move_into_gap(&mut moved, after_u, upper, lower) {
            return self.keep_order(u, v);
        }
        true
    }

    /// Searches forward from `v` (keys below `upper`) and backward from `u` (keys above
    /// `lower`) a node at a time each, until one is done: its nodes, and whether they are
    /// the forward side (to go after `u`). `None` if the searches meet: a cycle.
    fn smaller_side(
        &mut self,
        graph: &BaseGraph,
        u: u32,
        v: u32,
        upper: u64,
        lower: u64,
    ) -> Option<(Vec<u32>, bool)> {
        self.epoch += 2;
        let (forward_mark, backward_mark) = (self.epoch - 1, self.epoch);
        let (mut forward, mut backward) = (vec![v], vec![u]);
        self.stamp[v as usize] = forward_mark;
        self.stamp[u as usize] = backward_mark;
        let (mut f, mut b) = (0, 0);
        loop {
            if f == forward.len() {
                return Some((forward, true));
            }
            let n = forward[f] as usize;
            f += 1;
            self.steps += 1;
            let (extra, _) = extra_of(&self.extra_slot, &self.extra_lists, n);
            for &next in graph.out(n).iter().chain(extra) {
                if self.stamp[next as usize] == backward_mark {
                    return None;
                }
                if self.order.key(next) < upper && self.stamp[next as usize] != forward_mark {
                    self.stamp[next as usize] = forward_mark;
                    forward.push(next);
                }
            }
            if b == backward.len() {
                return Some((backward, false));
            }
            let n = backward[b] as usize;
            b += 1;
            self.steps += 1;
            let (from, to) =
                (graph.reverse_offsets[n] as usize, graph.reverse_offsets[n + 1] as usize);
            let (_, extra) = extra_of(&self.extra_slot, &self.extra_lists, n);
            for &prev in graph.reverse_sources[from..to].iter().chain(extra) {
                if self.stamp[prev as usize] == forward_mark {
                    return None;
                }
                if self.order.key(prev) > lower && self.stamp[prev as usize] != backward_mark {
                    self.stamp[prev as usize] = backward_mark;
                    backward.push(prev);
                }
            }
        }
    }

    /// The highest rank a path must climb to reach `node`: its own, or anything for a
    /// member (members are placed with edges of their own).
    fn rank_bound(&self, node: u32) -> u32 {
        let Some(g) = &self.graph else { return u32::MAX };
        if (node as usize) < self.h.txns.len() && self.is_member[node as usize] {
            return u32::MAX;
        }
        g.rank[node as usize]
    }

    /// Whether a path leaves `txn` and comes back to it. The quick pass only follows
    /// nodes ranked at most `bound` (see [`topological_rank`]) and only so far.
    fn reaches_itself(&mut self, txn: u32, bound: u32) -> bool {
        self.epoch += 1;
        let mut stack: Vec<u32> = vec![txn];
        let mut visits = 0u32;
        while let Some(node) = stack.pop() {
            self.steps += 1;
            visits += 1;
            if self.quick && visits > QUICK_VISITS {
                // The quick pass looks near: a long cycle it misses, the judge finds.
                return false;
            }
            let n = node as usize;
            let base = self.graph.as_ref().map_or(&[][..], |g| g.out(n));
            let (extra, _) = extra_of(&self.extra_slot, &self.extra_lists, n);
            for &next in base.iter().chain(extra) {
                if self.quick && next != txn && self.rank_bound(next) > bound {
                    continue;
                }
                if next == txn {
                    return true;
                }
                if self.stamp[next as usize] != self.epoch {
                    self.stamp[next as usize] = self.epoch;
                    stack.push(next);
                }
            }
        }
        false
    }

    fn take(&mut self, k: usize, v: u64, i: usize) {
        if v == TOP {
            self.tops[k].push(i);
        } else {
            self.taken.insert((k, v), i);
        }
    }

    fn untake(&mut self, k: usize, v: u64) {
        if v == TOP {
            self.tops[k].pop();
        } else {
            self.taken.remove(&(k, v));
        }
    }

    /// Chooses versions for member `i`'s plan's writes from `w` on (skipping `fixed`,
    /// already placed), then continues with `next`.
    #[allow(clippy::too_many_arguments)]
    fn assign(
        &mut self,
        i: usize,
        plan: usize,
        w: usize,
        fixed: Option<usize>,
        versions: &mut Vec<u64>,
        next: Next,
        judge: &mut dyn FnMut(&History) -> bool,
    ) -> Flow {
        let writes_len = self.members[i].plans[plan].writes.len();
        if w == writes_len {
            if self.is_banned(i, plan, versions) {
                return Flow::Continue;
            }
            let Some(added) = self.place(i, plan, versions) else {
                return Flow::Continue;
            };
            self.choices[i] = Choice::In { plan, versions: versions.clone() };
            let flow = match next {
                Next::Fill => self.dfs(judge),
                Next::Forced => self.place_forced(judge),
            };
            self.unplace(i, plan, added);
            return flow;
        }
        if fixed == Some(w) {
            return self.assign(i, plan, w + 1, fixed, versions, next, judge);
        }
        let write = self.members[i].plans[plan].writes[w];
        let k = self.key_index[&write.0];
        let slots = &self.keys[k];
        let top = (!slots.capped).then_some(TOP);
        let candidates: Vec<u64> = slots.holes.iter().copied().chain(top).collect();
        for v in candidates {
            if !self.fits(k, v, write) {
                continue;
            }
            self.steps += 1;
            if self.steps > self.budget {
                return Flow::OutOfBudget;
            }
            self.take(k, v, i);
            versions[w] = v;
            let flow = self.assign(i, plan, w + 1, fixed, versions, next, judge);
            versions[w] = 0;
            self.untake(k, v);
            match flow {
                Flow::Continue => {}
                flow => return flow,
            }
        }
        Flow::Continue
    }

    /// A complete choice: the versions above the known ones must follow on without a
    /// gap; then the view is judged.
    fn leaf(&mut self, judge: &mut dyn FnMut(&History) -> bool) -> Flow {
        self.order_tops(0, 0, judge)
    }

    /// Orders the members that install above key slot `k`'s known versions, from
    /// position `pos` on (each order is one more view; a cycle prunes it at once), then
    /// the next key's; then judges the view.
    fn order_tops(
        &mut self,
        k: usize,
        pos: usize,
        judge: &mut dyn FnMut(&History) -> bool,
    ) -> Flow {
        if k == self.keys.len() {
            return self.judge_leaf(judge);
        }
        let n = self.tops[k].len();
        if pos == n {
            return self.order_tops(k + 1, 0, judge);
        }
        let key = self.keys[k].key;
        let version = self.keys[k].known.saturating_add(1 + pos as u64).min(TOP - 1);
        let previous = (pos > 0).then(|| self.members[self.tops[k][pos - 1]].txn);
        for j in pos..n {
            let i = self.tops[k][j];
            let txn = self.members[i].txn;
            let Choice::In { plan, .. } = self.choices[i] else { continue };
            let w = self.members[i].plans[plan]
                .writes
                .iter()
                .position(|w| w.0 == key)
                .expect("writes the key");
            let must = self.members[i].plans[plan].writes[w].2;
            if self.strict_prune && must.is_some_and(|m| m != version) {
                continue;
            }
            self.steps += 1;
            if self.steps > self.budget {
                return Flow::OutOfBudget;
            }
            let mut added = Vec::new();
            if let Some(prev) = previous {
                let bound = self.rank_bound(prev);
                let closes = !self.add_edge(prev, txn, &mut added)
                    || self.strict_prune
                        && self.order.is_empty()
                        && self.reaches_itself(txn, bound);
                if closes {
                    self.remove_edges(&added);
                    continue;
                }
            }
            self.tops[k].swap(pos, j);
            if let Choice::In { versions, .. } = &mut self.choices[i] {
                versions[w] = version;
            }
            let flow = self.order_tops(k, pos + 1, judge);
            if let Choice::In { versions, .. } = &mut self.choices[i] {
                versions[w] = TOP;
            }
            self.tops[k].swap(pos, j);
            self.remove_edges(&added);
            match flow {
                Flow::Continue => {}
                flow => return flow,
            }
        }
        Flow::Continue
    }

    fn judge_leaf(&mut self, judge: &mut dyn FnMut(&History) -> bool) -> Flow {
        self.steps += self.events;
        if self.steps > self.budget {
            return Flow::OutOfBudget;
        }
        let decisions = self.decisions();
        if !self.strict_prune {
            // The pass that counts the ways (up to two) and keeps one to explain.
            self.ways += 1;
            if self.first.is_none() {
                self.first = Some(decisions);
            }
            return if self.ways >= 2 { Flow::Found } else { Flow::Continue };
        }
        if self.quick {
            self.witness = Some(decisions);
            return Flow::Found;
        }
        self.views += 1;
        let saved = apply(self.h, &self.plans, &decisions);
        let valid = judge(self.h);
        restore(self.h, saved);
        if valid {
            self.witness = Some(decisions);
            return Flow::Found;
        }
        if self.first.is_none() {
            self.first = Some(decisions);
        }
        Flow::Continue
    }

    /// Why no choice fills the versions, for a history where none does: the unclaimed
    /// versions per key and who could have installed them. The anomaly's name is
    /// `incompatible-info` when a final read caps one of the keys (some writer would
    /// have to commit on some keys and not others), `version-gap` otherwise.
    pub(crate) fn unfillable(&self) -> (&'static str, Vec<String>, Vec<u32>) {
        let h = &*self.h;
        let mut lines = Vec::new();
        let mut capped = false;
        for slots in &self.keys {
            let name = h.keys.name(slots.key);
            let writers: Vec<String> = self
                .members
                .iter()
                .filter(|m| m.plans.iter().any(|p| p.writes.iter().any(|w| w.0 == slots.key)))
                .map(|m| label(h, m.txn))
                .collect();
            let holes: Vec<String> =
                slots.holes.iter().take(8).map(|v| format!("{name}@{v}")).collect();
            let cap = if slots.capped {
                capped = true;
                format!(", and the final read caps {name} at {name}@{}", slots.known)
            } else {
                String::new()
            };
            let unclaimed = if holes.is_empty() {
                format!("no version of {name} is left unclaimed")
            } else {
                format!(
                    "{} must have been installed by indeterminate transactions",
                    holes.join(", ")
                )
            };
            lines
                .push(format!("{unclaimed}{cap}; those that wrote {name}: {}", writers.join(", ")));
        }
        lines.push(
            "a transaction commits all its writes or none, and each version has one installer: no choice of which of them committed installs every unclaimed version exactly once".to_string(),
        );
        let name = if capped { "incompatible-info" } else { "version-gap" };
        (name, lines, self.members.iter().map(|m| m.txn).take(8).collect())
    }

    /// Whether member `i`'s plan with these versions (`TOP` above the known ones) is a
    /// choice the quick pass banned.
    fn is_banned(&self, i: usize, plan: usize, versions: &[u64]) -> bool {
        let txn = self.members[i].txn;
        self.banned.iter().any(|(t, choice)| {
            let Choice::In { plan: p, versions: banned } = choice else { return false };
            *t == txn
                && *p == plan
                && banned.iter().zip(versions).zip(&self.members[i].plans[plan].writes).all(
                    |((&b, &v), w)| {
                        let known = self.keys[self.key_index[&w.0]].known;
                        if b > known {
                            v == TOP
                        } else {
                            b == v
                        }
                    },
                )
        })
    }

    /// The members' plans, for [`apply_decisions`] and [`describe`].
    pub(crate) fn plan_table(&self) -> BTreeMap<u32, Vec<Plan>> {
        self.plans.clone()
    }
}

/// The search's topological order (see `Search::order`): each node's key, and the
/// nodes by key. Nodes start at the keys of their places `0..` (`order_key`); only the
/// few the search moves are kept in a map, the rest stay where an array puts them (a map
/// of every node would cost a big history's search seconds to build).
#[derive(Default)]
struct Order {
    /// Per node, its key.
    keys: Vec<u64>,
    /// Per node, its place; per place, its node: the node is there while its key is the
    /// place's.
    place_of: Vec<u32>,
    at_place: Vec<u32>,
    /// Key -> node, for the nodes away from their places.
    moved: BTreeMap<u64, u32>,
}

impl Order {
    /// Node `n` at place `rank[n]` (a permutation of `0..n`, `by_rank` its inverse),
    /// and `extra` more nodes after them.
    fn new(rank: &[u32], by_rank: &[u32], extra: usize) -> Order {
        let more = rank.len() as u32..(rank.len() + extra) as u32;
        let place_of: Vec<u32> = rank.iter().copied().chain(more.clone()).collect();
        Order {
            keys: place_of.iter().map(|&p| order_key(u64::from(p))).collect(),
            place_of,
            at_place: by_rank.iter().copied().chain(more).collect(),
            moved: BTreeMap::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn key(&self, n: u32) -> u64 {
        self.keys[n as usize]
    }

    /// Whether the node at place `p` is still there.
    fn held(&self, p: usize) -> bool {
        self.keys[self.at_place[p] as usize] == order_key(p as u64)
    }

    /// The smallest key above `key`.
    fn after(&self, key: u64) -> Option<u64> {
        let moved = self.moved.range(key + 1..).next().map(|(&k, _)| k);
        // Places from the first whose key is above `key`.
        let first = (key >> ORDER_GAP_BITS) as usize;
        let placed = (first..self.at_place.len()).find(|&p| self.held(p));
        let placed = placed.map(|p| order_key(p as u64));
        match (moved, placed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The largest key below `key`.
    fn before(&self, key: u64) -> Option<u64> {
        let moved = self.moved.range(..key).next_back().map(|(&k, _)| k);
        // Places up to the last whose key is below `key`.
        let end = ((key.saturating_sub(1) >> ORDER_GAP_BITS) as usize).min(self.at_place.len());
        let placed = (0..end).rev().find(|&p| self.held(p));
        let placed = placed.map(|p| order_key(p as u64));
        match (moved, placed) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves node `n` to `key` (no other node's).
    /// Moves `moved`, in their present order, into the gap right after key `upper` (with
    /// `after`) or right before key `lower`. `false` if the gap was too narrow: the keys
    /// were renumbered, and the move must be tried again.
    fn move_into_gap(&mut self, moved: &mut [u32], after: bool, upper: u64, lower: u64) -> bool {
        moved.sort_unstable_by_key(|&n| self.key(n));
        let (from, to) = if after {
            (upper, self.after(upper).unwrap_or(u64::MAX))
        } else {
            (self.before(lower).unwrap_or(0), lower)
        };
        let step = (to - from) / (moved.len() as u64 + 1);
        if step == 0 {
            self.renumber();
            return false;
        }
        for (i, &node) in moved.iter().enumerate() {
            self.set(node, from + step * (i as u64 + 1));
        }
        true
    }

    fn set(&mut self, n: u32, key: u64) {
        let old = self.keys[n as usize];
        if old != order_key(u64::from(self.place_of[n as usize])) {
            self.moved.remove(&old);
        }
        self.keys[n as usize] = key;
        if key != order_key(u64::from(self.place_of[n as usize])) {
            self.moved.insert(key, n);
        }
    }

    /// Spreads the keys out again, in the same order, when a gap ran out: the nodes
    /// take the places `0..` in their order.
    fn renumber(&mut self) {
        let mut nodes: Vec<u32> = Vec::with_capacity(self.keys.len());
        let mut moved = std::mem::take(&mut self.moved).into_iter().peekable();
        for p in 0..self.at_place.len() {
            let key = order_key(p as u64);
            if !self.held(p) {
                continue;
            }
            while let Some((_, n)) = moved.next_if(|&(k, _)| k < key) {
                nodes.push(n);
            }
            nodes.push(self.at_place[p]);
        }
        nodes.extend(moved.map(|(_, n)| n));
        for (p, &n) in nodes.iter().enumerate() {
            self.keys[n as usize] = order_key(p as u64);
            self.place_of[n as usize] = p as u32;
        }
        self.at_place = nodes;
    }
}

/// Node `n`'s placed edges (see `Search::extra_slot`): its targets and its sources.
fn extra_of<'a>(
    slot: &[u32],
    lists: &'a [(Vec<u32>, Vec<u32>)],
    n: usize,
) -> (&'a [u32], &'a [u32]) {
    match slot[n] {
        NONE => (&[], &[]),
        i => (&lists[i as usize].0, &lists[i as usize].1),
    }
}

/// What [`apply`] changed, to put back.
pub(crate) struct Saved {
    txns: Vec<(u32, Txn)>,
    ops: Vec<(usize, COp)>,
}

/// Turns the view into the one the decisions describe: a member that commits ran its
/// plan's ops and installed its chosen versions (unknown values take the value read at
/// that version, if anyone read it); one that does not has no effect.
fn apply(h: &mut History, plans: &BTreeMap<u32, Vec<Plan>>, decisions: &[(u32, Choice)]) -> Saved {
    let mut saved = Saved { txns: Vec::new(), ops: Vec::new() };
    let mut installed: BTreeMap<(u32, u64), (usize, Value)> = BTreeMap::new();
    for (txn, choice) in decisions {
        let t = h.txns[*txn as usize];
        saved.txns.push((*txn, t));
        for pos in t.ops_start as usize..t.ops_invoked as usize {
            saved.ops.push((pos, h.ops[pos]));
        }
        match choice {
            Choice::Out => h.txns[*txn as usize].effect = Effect::None,
            Choice::In { plan, versions } => {
                let plan = &plans[txn][*plan];
                let tm = &mut h.txns[*txn as usize];
                tm.effect = Effect::Commits;
                tm.ops_end = t.ops_end + plan.ran_unreported;
                h.mark_last_writes(*txn);
                for pos in t.ops_start as usize..(t.ops_end + plan.ran_unreported) as usize {
                    let op = &mut h.ops[pos];
                    if op.write && op.last_write {
                        let i = plan.writes.iter().position(|w| w.0 == op.key).expect("planned");
                        op.version = versions[i];
                        installed.insert((op.key, versions[i]), (pos, op.value));
                    } else if !op.write && pos >= t.ops_end as usize {
                        // An unreported read that ran: its result is unknown.
                        op.value = UNKNOWN;
                        op.version = NO_VERSION;
                    }
                }
            }
        }
    }
    // Unknown values written at a version someone read take that value.
    let unknown: Vec<((u32, u64), usize)> = installed
        .iter()
        .filter(|(_, &(_, value))| value == UNKNOWN)
        .map(|(&kv, &(pos, _))| (kv, pos))
        .collect();
    if !unknown.is_empty() {
        // Reads of committed transactions first; then of indeterminate ones (a read of
        // one the view proves committed must match too, and for one that did not commit
        // the value is as good as any).
        let mut bind: Vec<(usize, Value)> = Vec::new();
        let order = (0..h.txns.len() as u32)
            .filter(|&t| h.txns[t as usize].effect == Effect::Commits)
            .chain(
                (0..h.txns.len() as u32).filter(|&t| h.txns[t as usize].effect == Effect::Maybe),
            );
        let order: Vec<u32> = order.collect();
        for t in order {
            for op in h.ops(t) {
                if op.write || op.version == NO_VERSION || op.value == UNKNOWN || op.value == NULL {
                    continue;
                }
                if let Some(&(_, pos)) = unknown.iter().find(|(kv, _)| *kv == (op.key, op.version))
                {
                    if !bind.iter().any(|b| b.0 == pos) {
                        bind.push((pos, op.value));
                    }
                }
            }
        }
        for (pos, value) in bind {
            h.ops[pos].value = value;
        }
    }
    saved
}

pub(crate) fn restore(h: &mut History, saved: Saved) {
    for (txn, t) in saved.txns {
        h.txns[txn as usize] = t;
    }
    for (pos, op) in saved.ops {
        h.ops[pos] = op;
    }
}

/// Applies decisions for good (the view a verdict is then built from).
pub(crate) fn apply_decisions(
    h: &mut History,
    plans: &BTreeMap<u32, Vec<Plan>>,
    decisions: &[(u32, Choice)],
) -> Saved {
    apply(h, plans, decisions)
}

/// "T0 committed, installing x@1 and z@2; T3 did not commit".
pub(crate) fn describe(
    h: &History,
    plans: &BTreeMap<u32, Vec<Plan>>,
    decisions: &[(u32, Choice)],
) -> String {
    let parts: Vec<String> = decisions
        .iter()
        .map(|(txn, choice)| match choice {
            Choice::Out => format!("{} did not commit", label(h, *txn)),
            Choice::In { plan, versions } => {
                let plan = &plans[txn][*plan];
                let installs: Vec<String> = plan
                    .writes
                    .iter()
                    .zip(versions)
                    .map(|(w, v)| format!("{}@{v}", h.keys.name(w.0)))
                    .collect();
                let ran = if plan.ran_unreported > 0 {
                    format!(" (running {} op(s) it did not report)", plan.ran_unreported)
                } else {
                    String::new()
                };
                format!("{} committed{ran}, installing {}", label(h, *txn), installs.join(", "))
            }
        })
        .collect();
    parts.join("; ")
}
