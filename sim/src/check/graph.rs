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
        /// A node's Tarjan state in one place, so that looking at an edge's target costs
        /// one cache line, not one per array. On the stack exactly when it has an index
        /// and no component yet.
        #[derive(Clone, Copy)]
        struct State {
            index: u32,
            low: u32,
            comp: u32,
        }
        let n = self.nodes();
        let mut state = vec![State { index: NONE, low: 0, comp: NONE }; n];
        let mut stack: Vec<u32> = Vec::new();
        // (node, next edge to look at): edge ids fit in u32 (the offsets are u32).
        let mut calls: Vec<(u32, u32)> = Vec::new();
        let mut cyclic = Vec::new();
        let mut cyclic_index = Vec::new();
        let mut next_index = 0u32;
        let mut next_comp = 0u32;
        for root in 0..n as u32 {
            if state[root as usize].index != NONE {
                continue;
            }
            state[root as usize].index = next_index;
            state[root as usize].low = next_index;
            next_index += 1;
            stack.push(root);
            calls.push((root, self.offsets[root as usize]));
            while let Some(&mut (v, ref mut at)) = calls.last_mut() {
                let end = self.offsets[v as usize + 1];
                if *at < end {
                    let e = *at as usize;
                    *at += 1;
                    if !self.in_mask(e, mask) {
                        continue;
                    }
                    let w = self.target(e);
                    let sw = state[w as usize];
                    if sw.index == NONE {
                        state[w as usize] =
                            State { index: next_index, low: next_index, comp: NONE };
                        next_index += 1;
                        stack.push(w);
                        calls.push((w, self.offsets[w as usize]));
                    } else if sw.comp == NONE {
                        let sv = &mut state[v as usize];
                        sv.low = sv.low.min(sw.index);
                    }
                    continue;
                }
                calls.pop();
                let sv = state[v as usize];
                if let Some(&(parent, _)) = calls.last() {
                    let sp = &mut state[parent as usize];
                    sp.low = sp.low.min(sv.low);
                }
                if sv.low == sv.index {
                    // Nearly every component is one node: no allocation for those.
                    if stack.last() == Some(&v) {
                        stack.pop();
                        state[v as usize].comp = next_comp;
                        cyclic_index.push(NONE);
                        next_comp += 1;
                        continue;
                    }
                    let mut members = Vec::new();
                    loop {
                        let w = stack.pop().expect("v is on the stack");
                        state[w as usize].comp = next_comp;
                        members.push(w);
                        if w == v {
                            break;
                        }
                    }
                    members.reverse();
                    cyclic_index.push(cyclic.len() as u32);
                    cyclic.push(members);
                    next_comp += 1;
                }
            }
        }
        let of = state.iter().map(|s| s.comp).collect();
        Components { of, cyclic, cyclic_index }
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
        for &t in &self.touched {
            self.dist[t as usize] = u32::MAX;
            self.parent[t as usize] = (NONE, NONE);
        }
        self.touched.clear();
        self.queue.clear();
        self.dist[source as usize] = 0;
        self.touched.push(source);
        self.queue.push_back(source);
        // (length, node before goal, edge into goal)
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
                    if weight == 0 {
                        self.queue.push_front(w);
                    } else {
                        self.queue.push_back(w);
                    }
                }
            }
        }
        let (_, mut at, edge) = best?;
        let mut steps = vec![Step {
            source: at,
            target: goal,
            kind: g.kind(edge as usize),
            key: g.keys[edge as usize],
        }];
        while at != source {
            let (p, e) = self.parent[at as usize];
            steps.push(Step {
                source: p,
                target: at,
                kind: g.kind(e as usize),
                key: g.keys[e as usize],
            });
            at = p;
        }
        steps.reverse();
        Some(steps)
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
