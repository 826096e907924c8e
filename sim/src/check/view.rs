//! The version analysis of the views the exact layer builds, from the fast path's.
//!
//! A view differs from the fast path's only in what the members did (see `resolve`).
//! Every version rule is per key, and a transaction's committed status is proved only by
//! the keys it writes; so the keys whose results can differ between views are few: the
//! *local* keys, those a member touches, closed under "an `info` transaction touching a
//! local key makes all its keys local" (then whatever decides its status, and whatever
//! its status decides, is local too). The other keys, and every transaction touching
//! none of the local keys, come out of the analysis of any view exactly as out of the
//! fast path's. So a view's analysis is the fast path's for the other keys, and a run of
//! `versions` on the local keys alone: a big history with a few ambiguous transactions
//! is not analysed whole once per view.
//!
//! The pieces are put together in the order the whole analysis makes them (keys
//! ascending, placeholders numbered in that order), so the result is the same,
//! field for field, as [`versions::analyze`] of the view.

use super::txns::{COp, Effect, History, NONE};
use super::versions::{self, Analysis, Edge, Keep, Placeholder};

pub(crate) struct Views {
    /// The local keys.
    keep: Keep,
    /// Per transaction: indeterminate in the fast view and touches a local key (its
    /// committed status is the local analysis's).
    local: Vec<bool>,
    /// The fast path's results for the other keys: committed statuses, and the edges
    /// (placeholder nodes numbered into `placeholders`), placeholders and attributions
    /// of the other keys, each in the whole analysis's order.
    fast_committed: Vec<bool>,
    edges: Vec<Edge>,
    placeholders: Vec<Placeholder>,
    attributed: Vec<(u32, u32, u64)>,
}

impl Views {
    /// From the fast path's analysis (its edges taken), for the members of `members`;
    /// `None` when the fast path found anomalies (their order among a view's would have
    /// to be kept too: views are then analysed whole).
    pub(crate) fn new(h: &History, fast: &mut Analysis, members: &[u32]) -> Option<Views> {
        if !fast.findings.is_empty() {
            return None;
        }
        let (kept, local) = local_keys(h, members);
        // Whatever touches a local key (what the local analysis looks at).
        let txns = (0..h.txns.len() as u32)
            .filter(|&t| invoked(h, t).iter().any(|op| kept[op.key as usize]))
            .collect();
        let (placeholders, edges) = far_graph(h, fast, &kept);
        let attributed =
            fast.attributed.iter().copied().filter(|&(_, key, _)| !kept[key as usize]).collect();
        Some(Views {
            keep: Keep::Some { keys: kept, txns },
            local,
            fast_committed: fast.committed.clone(),
            edges,
            placeholders,
            attributed,
        })
    }

    /// The version analysis of the view `h` now holds (members changed, nothing else).
    pub(crate) fn analyze(&self, h: &History) -> Analysis {
        self.combine(h, self.near(h), true)
    }

    /// The version analysis of the view `h` holds, for the local keys alone.
    pub(crate) fn near(&self, h: &History) -> Analysis {
        versions::analyze_keys(h, &self.keep)
    }

    /// Whether `key` is local.
    pub(crate) fn kept(&self, key: u32) -> bool {
        match &self.keep {
            Keep::Some { keys, .. } => keys[key as usize],
            Keep::All => true,
        }
    }

    /// Whether transaction `t` is local (its committed status may differ between views).
    pub(crate) fn local(&self, t: u32) -> bool {
        self.local[t as usize]
    }

    /// How many edges the other keys give.
    pub(crate) fn far_edges(&self) -> usize {
        self.edges.len()
    }

    /// The whole view's analysis from its local analysis `near`; without edges when
    /// `edges` is false (for a view judged without building its graph).
    pub(crate) fn combine(&self, h: &History, near: Analysis, edges: bool) -> Analysis {
        let n_txns = h.txns.len() as u32;
        let committed = (0..h.txns.len())
            .map(|t| if self.local[t] { near.committed[t] } else { self.fast_committed[t] })
            .collect();
        // Placeholders by key, as the whole analysis numbers them; where each list's
        // placeholder went.
        let (far_p, near_p) = (&self.placeholders, &near.placeholders);
        let mut placeholders = Vec::with_capacity(far_p.len() + near_p.len());
        let mut far_to = Vec::with_capacity(far_p.len());
        let mut near_to = Vec::with_capacity(near_p.len());
        let (mut i, mut j) = (0, 0);
        while i < far_p.len() || j < near_p.len() {
            let take_far = j == near_p.len() || (i < far_p.len() && far_p[i].key < near_p[j].key);
            if take_far {
                far_to.push(placeholders.len() as u32);
                placeholders.push(far_p[i].clone());
                i += 1;
            } else {
                near_to.push(placeholders.len() as u32);
                placeholders.push(near_p[j].clone());
                j += 1;
            }
        }
        let node =
            |n: u32, to: &[u32]| if n < n_txns { n } else { n_txns + to[(n - n_txns) as usize] };
        // Edges by key, as the whole analysis emits them.
        let (far_e, near_e) =
            if edges { (&self.edges[..], &near.edges[..]) } else { (&[][..], &[][..]) };
        // Room for the real-time edges a graph adds (at most two per event): no copy.
        let room = if far_e.is_empty() { 0 } else { 2 * h.events.len() };
        let mut edges = Vec::with_capacity(far_e.len() + near_e.len() + room);
        let (mut i, mut j) = (0, 0);
        while i < far_e.len() || j < near_e.len() {
            let take_far =
                j == near_e.len() || (i < far_e.len() && far_e[i].key() < near_e[j].key());
            let (e, to) = if take_far {
                i += 1;
                (far_e[i - 1], &far_to)
            } else {
                j += 1;
                (near_e[j - 1], &near_to)
            };
            edges.push(Edge::new(node(e.source, to), node(e.target, to), e.kind(), e.key()));
        }
        let mut attributed = self.attributed.clone();
        attributed.extend_from_slice(&near.attributed);
        attributed.sort_unstable();
        Analysis { committed, attributed, findings: near.findings, edges, placeholders }
    }
}

/// The ops transaction `t` invoked (reported or not).
fn invoked<'h>(h: &'h History, t: u32) -> &'h [COp] {
    let t = &h.txns[t as usize];
    &h.ops[t.ops_start as usize..t.ops_invoked as usize]
}

/// The local keys and transactions: the members' keys, closed under "an `info`
/// transaction touching a local key makes all its keys local". Returns `(per key: local,
/// per transaction: local)`.
fn local_keys(h: &History, members: &[u32]) -> (Vec<bool>, Vec<bool>) {
    let mut kept = vec![false; h.keys.len()];
    let mut local = vec![false; h.txns.len()];
    for &m in members {
        local[m as usize] = true;
        for op in invoked(h, m) {
            kept[op.key as usize] = true;
        }
    }
    // A fixed point: each round adds a transaction or ends.
    loop {
        let mut grew = false;
        for (t, is_local) in local.iter_mut().enumerate() {
            if *is_local || h.txns[t].effect != Effect::Maybe {
                continue;
            }
            if invoked(h, t as u32).iter().any(|op| kept[op.key as usize]) {
                *is_local = true;
                grew = true;
                for op in invoked(h, t as u32) {
                    kept[op.key as usize] = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    (kept, local)
}

/// The fast path's placeholders and edges of the keys not `kept`, placeholders
/// renumbered among themselves (the edges' nodes with them); the edges are taken from
/// `fast`.
fn far_graph(h: &History, fast: &mut Analysis, kept: &[bool]) -> (Vec<Placeholder>, Vec<Edge>) {
    let n_txns = h.txns.len();
    let mut renumber = vec![NONE; fast.placeholders.len()];
    let mut placeholders = Vec::new();
    for (i, p) in fast.placeholders.iter().enumerate() {
        if !kept[p.key as usize] {
            renumber[i] = placeholders.len() as u32;
            placeholders.push(p.clone());
        }
    }
    let node = |n: u32| {
        if (n as usize) < n_txns {
            n
        } else {
            let to = renumber[n as usize - n_txns];
            assert!(to != NONE, "a far edge's placeholder is a far key's");
            n_txns as u32 + to
        }
    };
    let edges: Vec<Edge> = std::mem::take(&mut fast.edges)
        .into_iter()
        .filter(|e| !kept[e.key() as usize])
        .map(|e| Edge::new(node(e.source), node(e.target), e.kind(), e.key()))
        .collect();
    (placeholders, edges)
}
