//! Finding every cyclic strongly connected component and naming its cycle as Adya and
//! Elle do.
//!
//! Per component, the search goes from the strongest claim to the weakest and reports
//! the first cycle it finds: a cycle of ww edges only (`G0`); of ww and wr edges
//! (`G1c`); with exactly one rw edge (`G-single`); otherwise the shortest cycle found,
//! named `G-nonadjacent` when no two rw edges are consecutive and `G2-item` when some
//! are. Under strict serializability, components of the dependency graph are reported
//! first; a component of the full graph (with real-time edges) that contains no
//! dependency cycle needs a real-time edge, and its name gets `-realtime`.
//!
//! "Shortest" is exact for components of up to [`EXACT_LIMIT`] nodes (every node, and
//! every rw edge, is tried as a start); above that, the number of starts shrinks with the
//! component's size so that the work per component stays linear in its size (a broken
//! store can produce many components, or one with a million nodes), and the report
//! gives the shortest cycle among those tried. Which starts are tried is deterministic.

use super::graph::{weight, Components, Graph, Search, Step, RT, RW, WR, WW};
use super::txns::NONE;
use super::versions::EdgeKind;

/// Components up to this many nodes get an exhaustive shortest-cycle search.
pub(crate) const EXACT_LIMIT: usize = 64;
/// Above [`EXACT_LIMIT`], a component of `n` nodes gets `WORK / n` searches (at least one).
const WORK: usize = EXACT_LIMIT * EXACT_LIMIT;

/// How many searches (each linear in the component) a component of `n` nodes gets.
fn tries(n: usize) -> usize {
    if n <= EXACT_LIMIT {
        usize::MAX
    } else {
        (WORK / n).max(1)
    }
}

pub(crate) struct Cycle {
    pub(crate) name: String,
    /// Edges in order; a real-time edge through chain nodes is one step.
    pub(crate) steps: Vec<Step>,
}

pub(crate) fn find_cycles(g: &Graph, strict: bool) -> Vec<Cycle> {
    let dep = WW | WR | RW;
    // Under strict serializability the full graph goes first: when it has no cycle, the
    // dependency graph inside it has none either, and one pass over a big graph is enough
    // (the usual case: a valid history).
    let full = strict.then(|| g.components(dep | RT));
    if full.as_ref().is_some_and(|full| full.cyclic.is_empty()) {
        return Vec::new();
    }
    let mut search = Search::new(g.nodes());
    let mut cycles = Vec::new();
    let dep_comps = g.components(dep);
    if !dep_comps.cyclic.is_empty() {
        let ww = g.components(WW);
        let g1 = g.components(WW | WR);
        for members in &dep_comps.cyclic {
            cycles.push(ladder(g, &dep_comps, members, [&ww, &g1], 0, &mut search));
        }
    }
    if let Some(full) = full {
        let needs_rt: Vec<&Vec<u32>> = full
            .cyclic
            .iter()
            .filter(|members| {
                members
                    .iter()
                    .all(|&v| dep_comps.cyclic_index[dep_comps.of[v as usize] as usize] == NONE)
            })
            .collect();
        if !needs_rt.is_empty() {
            let ww = g.components(WW | RT);
            let g1 = g.components(WW | WR | RT);
            for members in needs_rt {
                cycles.push(ladder(g, &full, members, [&ww, &g1], RT, &mut search));
            }
        }
    }
    cycles
}

fn ladder(
    g: &Graph,
    comps: &Components,
    members: &[u32],
    sub: [&Components; 2],
    base: u8,
    search: &mut Search,
) -> Cycle {
    let comp = comps.of[members[0] as usize];
    for (sub, mask) in sub.into_iter().zip([WW | base, WW | WR | base]) {
        let inner = members.iter().find_map(|&v| {
            let i = sub.cyclic_index[sub.of[v as usize] as usize];
            (i != NONE).then_some(i)
        });
        if let Some(i) = inner {
            let inner_members = &sub.cyclic[i as usize];
            let inner_comp = sub.of[inner_members[0] as usize];
            let steps = shortest_cycle(g, sub, inner_comp, inner_members, mask, search)
                .expect("a cyclic component has a cycle");
            return named(g, steps);
        }
    }
    // Exactly one rw edge: rw a -> b, then back from b to a without rw.
    let rws = g.internal_edges(members, comps, comp, RW);
    let mut best: Option<Vec<Step>> = None;
    for rw in rws.iter().take(tries(members.len())) {
        if let Some(mut path) = search.path(g, comps, comp, WW | WR | base, rw.target, rw.source) {
            path.insert(0, *rw);
            if best.as_ref().is_none_or(|b| weight(g, &path) < weight(g, b)) {
                let done = weight(g, &path) == 2;
                best = Some(path);
                if done {
                    break;
                }
            }
        }
    }
    if let Some(steps) = best {
        return named(g, steps);
    }
    let steps = shortest_cycle(g, comps, comp, members, WW | WR | RW | base, search)
        .expect("a cyclic component has a cycle");
    named(g, steps)
}

fn shortest_cycle(
    g: &Graph,
    comps: &Components,
    comp: u32,
    members: &[u32],
    mask: u8,
    search: &mut Search,
) -> Option<Vec<Step>> {
    let mut best: Option<Vec<Step>> = None;
    for &start in members.iter().filter(|&&v| v < g.chain_start).take(tries(members.len())) {
        if let Some(path) = search.path(g, comps, comp, mask, start, start) {
            if best.as_ref().is_none_or(|b| weight(g, &path) < weight(g, b)) {
                let done = weight(g, &path) == 2;
                best = Some(path);
                if done {
                    break;
                }
            }
        }
    }
    best
}

/// Compresses chain hops into single real-time steps, rotates the cycle to start at its
/// smallest node, and names it.
fn named(g: &Graph, raw: Vec<Step>) -> Cycle {
    let mut steps: Vec<Step> = Vec::new();
    let mut rt_from = NONE;
    for s in raw {
        if s.target >= g.chain_start {
            if s.source < g.chain_start {
                rt_from = s.source;
            }
            continue;
        }
        if s.source >= g.chain_start {
            steps.push(Step { source: rt_from, target: s.target, kind: EdgeKind::Rt, key: NONE });
        } else {
            steps.push(s);
        }
    }
    if let Some(first) = (0..steps.len()).min_by_key(|&i| steps[i].source) {
        steps.rotate_left(first);
    }
    Cycle { name: name(&steps), steps }
}

pub(crate) fn name(steps: &[Step]) -> String {
    let n = steps.len();
    let rw = steps.iter().filter(|s| s.kind == EdgeKind::Rw).count();
    let realtime = steps.iter().any(|s| s.kind == EdgeKind::Rt);
    let base = match rw {
        0 if steps.iter().all(|s| matches!(s.kind, EdgeKind::Ww | EdgeKind::Rt)) => "G0",
        0 => "G1c",
        1 => "G-single",
        _ if (0..n)
            .any(|i| steps[i].kind == EdgeKind::Rw && steps[(i + 1) % n].kind == EdgeKind::Rw) =>
        {
            "G2-item"
        }
        _ => "G-nonadjacent",
    };
    if realtime {
        format!("{base}-realtime")
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kinds: &[EdgeKind], expect: &str) {
        let steps: Vec<Step> = kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| Step {
                source: i as u32,
                target: ((i + 1) % kinds.len()) as u32,
                kind,
                key: 0,
            })
            .collect();
        assert_eq!(name(&steps), expect, "{kinds:?}");
    }

    #[test]
    fn names_cycles_like_adya() {
        use EdgeKind::*;
        check(&[Ww, Ww], "G0");
        check(&[Ww, Wr], "G1c");
        check(&[Wr, Wr], "G1c");
        check(&[Rw, Wr], "G-single");
        check(&[Rw, Wr, Rw, Ww], "G-nonadjacent");
        check(&[Rw, Rw], "G2-item");
        check(&[Rw, Wr, Rw], "G2-item");
        check(&[Ww, Rt], "G0-realtime");
        check(&[Wr, Rt], "G1c-realtime");
        check(&[Rw, Rt], "G-single-realtime");
        check(&[Rw, Rt, Rw, Rt], "G-nonadjacent-realtime");
        check(&[Rw, Rw, Rt], "G2-item-realtime");
    }
}
