//! The dependency graph in compressed (CSR) form: strongly connected components by an
//! iterative Tarjan (no recursion, so a million-node component cannot blow the stack),
//! and shortest paths by 0-1 BFS restricted to one component.
//!
//! Node ids: transactions first, then placeholders (unknown installers), then time-chain
//! nodes. Real-time order is encoded without quadratic blow-up: each committed completion
//! gets a chain node `C`, the transaction points to its `C`, each `C` points to the next,
//! and each `C` points to the transactions invoked after it and before the next
//! completion. So `T1` reaches `T2` through the chain exactly when `T1` completed before
//! `T2` was invoked, with O(1) edges per transaction. "Before" is line order: times never
//! decrease down the file, and when two events share a `time` the earlier line happened
//! first (the simulator writes events in the order it processed them). Edges leaving a chain node weigh 0,
//! so path lengths count transaction-level edges only.

use std::collections::VecDeque;

use super::txns::NONE;
use super::versions::{Edge, EdgeKind};

pub(crate) const WW: u8 = 1 << EdgeKind::Ww as u8;
pub(crate) const WR: u8 = 1 << EdgeKind::Wr as u8;
pub(crate) const RW: u8 = 1 << EdgeKind::Rw as u8;
pub(crate) const RT: u8 = 1 << EdgeKind::Rt as u8;

pub(crate) struct Graph {
    /// Nodes at or above this id are time-chain nodes.
    pub(crate) chain_start: u32,
    offsets: Vec<u32>,
    /// Per edge, its target in the low 30 bits and its kind in the top 2: one array to
    /// read, not two, in the searches' inner loops.
    targets: Vec<u32>,
    keys: Vec<u32>,
}

const TARGET_BITS: u32 = 30;
const TARGET_MASK: u32 = (1 << TARGET_BITS) - 1;

/// A step of a path: the edge `source -> target` of `kind`, justified by `key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) source: u32,
    pub(crate) target: u32,
    pub(crate) kind: EdgeKind,
    pub(crate) key: u32,
}

/// Strongly connected components of a masked graph.
pub(crate) struct Components {
    /// Component id per node.
    pub(crate) of: Vec<u32>,
    /// Members of each component with more than one node, in discovery order.
    pub(crate) cyclic: Vec<Vec<u32>>,
    /// For each component id, its index in `cyclic`, or `NONE`.
    pub(crate) cyclic_index: Vec<u32>,
}

impl Graph {
    /// Builds the CSR arrays by counting sort on the source (stable: edge order within a
    /// node follows emission order, which is deterministic).
    pub(crate) fn new(nodes: u32, chain_start: u32, edges: &[Edge]) -> Graph {
        assert!(nodes <= TARGET_MASK, "a graph has fewer than 2^30 nodes");
        let n = nodes as usize;
        let mut offsets = vec![0u32; n + 1];
        for e in edges {
            offsets[e.source as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; edges.len()];
        let mut keys = vec![0u32; edges.len()];
        for e in edges {
            let at = fill[e.source as usize] as usize;
            fill[e.source as usize] += 1;
            targets[at] = e.target | ((e.kind() as u32) << TARGET_BITS);
            keys[at] = e.key();
        }
        Graph { chain_start, offsets, targets, keys }
    }

    pub(crate) fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    pub(crate) fn edges(&self) -> usize {
        self.targets.len()
    }

    fn target(&self, edge: usize) -> u32 {
        self.targets[edge] & TARGET_MASK
    }

    fn kind(&self, edge: usize) -> EdgeKind {
        EdgeKind::from_bits(self.targets[edge] >> TARGET_BITS)
    }

    /// Whether the edge's kind is in `mask`.
    fn in_mask(&self, edge: usize, mask: u8) -> bool {
        mask & (1 << (self.targets[edge] >> TARGET_BITS)) != 0
    }

    fn out(&self, node: u32) -> std::ops::Range<usize> {
        self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize
    }

    /// Iterative Tarjan over the edges whose kind is in `mask`.
    pub(crate) fn components(&self, mask: u8) -> Components {
        let mut tarjan = Tarjan::new(self.nodes());
        for root in 0..self.nodes() as u32 {
            if tarjan.state[root as usize].index != NONE {
                continue;
            }
            tarjan.discover(root, self.offsets[root as usize]);
            // The recursion, unrolled: the top call looks at its next edge, or returns.
            while let Some(&mut (v, ref mut at)) = tarjan.calls.last_mut() {
                if *at < self.offsets[v as usize + 1] {
                    let e = *at as usize;
                    *at += 1;
                    if self.in_mask(e, mask) {
                        let w = self.target(e);
                        tarjan.look_at(v, w, self.offsets[w as usize]);
                    }
                    continue;
                }
                tarjan.finish(v);
            }
            assert!(tarjan.stack.is_empty(), "every node a root reaches ends in a component");
        }
        tarjan.into_components()
    }

    /// All edges of `mask` between members of component `comp`.
    pub(crate) fn internal_edges(
        &self,
        members: &[u32],
        comps: &Components,
        comp: u32,
        mask: u8,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        for &u in members {
            for e in self.out(u) {
                let w = self.target(e);
                if self.in_mask(e, mask) && comps.of[w as usize] == comp {
                    steps.push(Step {
                        source: u,
                        target: w,
                        kind: self.kind(e),
                        key: self.keys[e],
                    });
                }
            }
        }
        steps
    }
}

/// A node's Tarjan state in one place, so that looking at an edge's target costs one
/// cache line, not one per array. On the stack exactly when it has an index and no
/// component yet.
#[derive(Clone, Copy)]
struct TarjanState {
    index: u32,
    low: u32,
    comp: u32,
}

/// Iterative Tarjan's bookkeeping (see [`Graph::components`]).
struct Tarjan {
    state: Vec<TarjanState>,
    /// Nodes discovered and not yet in a component.
    stack: Vec<u32>,
    /// The unrolled recursion: (node, next edge to look at); edge ids fit in u32 (the
    /// offsets are u32).
    calls: Vec<(u32, u32)>,
    cyclic: Vec<Vec<u32>>,
    cyclic_index: Vec<u32>,
    next_index: u32,
    next_comp: u32,
}

impl Tarjan {
    fn new(nodes: usize) -> Tarjan {
        Tarjan {
            state: vec![TarjanState { index: NONE, low: 0, comp: NONE }; nodes],
            stack: Vec::new(),
            calls: Vec::new(),
            cyclic: Vec::new(),
            cyclic_index: Vec::new(),
            next_index: 0,
            next_comp: 0,
        }
    }

    /// Gives `v` its index and calls into it, its edges starting at `first_edge`.
    fn discover(&mut self, v: u32, first_edge: u32) {
        self.state[v as usize] =
            TarjanState { index: self.next_index, low: self.next_index, comp: NONE };
        self.next_index += 1;
        self.stack.push(v);
        self.calls.push((v, first_edge));
    }

    /// The edge `v -> w`: a new node is called into; one still on the stack lowers
    /// `v`'s low link; one already in a component is ignored.
    fn look_at(&mut self, v: u32, w: u32, w_first_edge: u32) {
        let sw = self.state[w as usize];
        if sw.index == NONE {
            self.discover(w, w_first_edge);
        } else if sw.comp == NONE {
            let sv = &mut self.state[v as usize];
            sv.low = sv.low.min(sw.index);
        }
    }

    /// `v` has no edge left: returns to its caller, passing its low link up, and closes
    /// its component if it is the component's root.
    fn finish(&mut self, v: u32) {
        self.calls.pop();
        let sv = self.state[v as usize];
        if let Some(&(parent, _)) = self.calls.last() {
            let sp = &mut self.state[parent as usize];
            sp.low = sp.low.min(sv.low);
        }
        if sv.low == sv.index {
            self.close_component(v);
        }
    }

    /// Pops the component rooted at `v` off the stack.
    fn close_component(&mut self, v: u32) {
        // Nearly every component is one node: no allocation for those.
        if self.stack.last() == Some(&v) {
            self.stack.pop();
            self.state[v as usize].comp = self.next_comp;
            self.cyclic_index.push(NONE);
            self.next_comp += 1;
            return;
        }
        let mut members = Vec::new();
        loop {
            let w = self.stack.pop().expect("v is on the stack");
            self.state[w as usize].comp = self.next_comp;
            members.push(w);
            if w == v {
                break;
            }
        }
        members.reverse();
        self.cyclic_index.push(self.cyclic.len() as u32);
        self.cyclic.push(members);
        self.next_comp += 1;
    }

    fn into_components(self) -> Components {
        assert!(self.calls.is_empty(), "every call returned");
        let of = self.state.iter().map(|s| s.comp).collect();
        Components { of, cyclic: self.cyclic, cyclic_index: self.cyclic_index }
    }
}

/// Scratch space for repeated searches, reset only where it was touched.
pub(crate) struct Search {
    dist: Vec<u32>,
    parent: Vec<(u32, u32)>,
    touched: Vec<u32>,
    queue: VecDeque<u32>,
}

impl Search {
    pub(crate) fn new(nodes: usize) -> Search {
        Search {
            dist: vec![u32::MAX; nodes],
            parent: vec![(NONE, NONE); nodes],
            touched: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    /// Shortest path (in transaction-level edges) from `source` to `goal` over edges of
    /// `mask` staying inside component `comp`; a cycle when `source == goal`.
    pub(crate) fn path(
        &mut self,
        g: &Graph,
        comps: &Components,
        comp: u32,
        mask: u8,
        source: u32,
        goal: u32,
    ) -> Option<Vec<Step>> {
        self.reset();
        let (_, before_goal, edge) = self.search(g, comps, comp, mask, source, goal)?;
        Some(self.steps_back(g, source, goal, before_goal, edge))
    }

    /// Forgets the last search, where it went.
    fn reset(&mut self) {
        for &t in &self.touched {
            self.dist[t as usize] = u32::MAX;
            self.parent[t as usize] = (NONE, NONE);
        }
        self.touched.clear();
        self.queue.clear();
    }

    /// The 0-1 BFS of [`Search::path`]: the shortest way into `goal`, as `(length, node
    /// before goal, edge into goal)`, each node reached keeping its parent.
    fn search(
        &mut self,
        g: &Graph,
        comps: &Components,
        comp: u32,
        mask: u8,
        source: u32,
        goal: u32,
    ) -> Option<(u32, u32, u32)> {
        self.dist[source as usize] = 0;
        self.touched.push(source);
        self.queue.push_back(source);
        let mut best: Option<(u32, u32, u32)> = None;
        while let Some(u) = self.queue.pop_front() {
            let du = self.dist[u as usize];
            if best.is_some_and(|(len, _, _)| du >= len) {
                break;
            }
            let weight = u32::from(u < g.chain_start);
            for e in g.out(u) {
                if !g.in_mask(e, mask) {
                    continue;
                }
                let w = g.target(e);
                if comps.of[w as usize] != comp {
                    continue;
                }
                let dw = du + weight;
                if w == goal {
                    if best.is_none_or(|(len, _, _)| dw < len) {
                        best = Some((dw, u, e as u32));
                    }
                    continue;
                }
                if dw < self.dist[w as usize] {
                    if self.dist[w as usize] == u32::MAX {
                        self.touched.push(w);
                    }
                    self.dist[w as usize] = dw;
                    self.parent[w as usize] = (u, e as u32);
                    // Weightless edges (out of chain nodes) go first: 0-1 BFS.
                    if weight == 0 {
                        self.queue.push_front(w);
                    } else {
                        self.queue.push_back(w);
                    }
                }
            }
        }
        best
    }

    /// The path the search found, from `source` to `goal` through `edge` from `at`,
    /// followed back by parents.
    fn steps_back(&self, g: &Graph, source: u32, goal: u32, mut at: u32, edge: u32) -> Vec<Step> {
        let step = |source: u32, target: u32, e: u32| Step {
            source,
            target,
            kind: g.kind(e as usize),
            key: g.keys[e as usize],
        };
        let mut steps = vec![step(at, goal, edge)];
        while at != source {
            let (p, e) = self.parent[at as usize];
            assert!(p != NONE, "a node the search reached has a parent");
            steps.push(step(p, at, e));
            at = p;
        }
        steps.reverse();
        steps
    }
}

/// Length of a path in transaction-level edges (chain hops are free).
pub(crate) fn weight(g: &Graph, steps: &[Step]) -> usize {
    steps.iter().filter(|s| s.source < g.chain_start).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: u32, edges: &[(u32, u32, EdgeKind)]) -> Graph {
        let edges: Vec<Edge> = edges.iter().map(|&(s, t, k)| Edge::new(s, t, k, 0)).collect();
        Graph::new(n, n, &edges)
    }

    #[test]
    fn finds_components_and_the_shortest_cycle() {
        use EdgeKind::*;
        // 0 -> 1 -> 2 -> 0 and a long way 0 -> 3 -> 4 -> 5 -> 0; 6 alone.
        let g = graph(
            7,
            &[(0, 3, Ww), (3, 4, Ww), (4, 5, Ww), (5, 0, Ww), (0, 1, Wr), (1, 2, Rw), (2, 0, Ww)],
        );
        let comps = g.components(WW | WR | RW);
        assert_eq!(comps.cyclic.len(), 1);
        assert_eq!(comps.cyclic[0].len(), 6);
        let comp = comps.of[0];
        let mut search = Search::new(g.nodes());
        let cycle = search.path(&g, &comps, comp, WW | WR | RW, 0, 0).unwrap();
        assert_eq!(cycle.iter().map(|s| s.source).collect::<Vec<_>>(), vec![0, 1, 2]);
        let ww_only = search.path(&g, &comps, comp, WW, 0, 0).unwrap();
        assert_eq!(ww_only.len(), 4);
        assert!(g.components(WW | WR).cyclic.iter().all(|c| !c.contains(&1)));
    }

    #[test]
    fn tarjan_survives_a_long_chain() {
        let n = 200_000u32;
        let mut edges: Vec<(u32, u32, EdgeKind)> =
            (0..n - 1).map(|i| (i, i + 1, EdgeKind::Ww)).collect();
        edges.push((n - 1, 0, EdgeKind::Rw));
        let g = graph(n, &edges);
        let comps = g.components(WW | RW);
        assert_eq!(comps.cyclic.len(), 1);
        assert_eq!(comps.cyclic[0].len(), n as usize);
        assert!(g.components(WW).cyclic.is_empty());
    }
}
