//! Version bookkeeping without a graph, and the exact dependency edges it implies.
//!
//! Each key's committed versions must be exactly `1..=N`, one installer each. `ok`
//! transactions say which version they installed; the versions nobody claims ("holes")
//! must be explained by indeterminate (`info`) transactions, attributed by value:
//!
//! - A committed read of a hole `k@v` with value `X` names its installer among the `info`
//!   transactions whose last write of `k` is `X` (the candidates). Per key and value, with
//!   `H` holes read as `X` and `W` candidates: `H = W = 1` attributes the hole to that
//!   transaction; `H = W > 1` proves all candidates committed without saying which is
//!   which; `H < W` is ambiguous and proves nothing; `W = 0` makes the reads garbage
//!   (`G1a` or `G1b` when the value comes from an aborted or intermediate write), and
//!   `H > W > 0` makes some of them garbage. Repeated values never produce an anomaly
//!   on their own: only counts that cannot add up do.
//! - Holes nobody read can be filled by any `info` writer of the key not used above; if
//!   there are more holes than such writers, that is a `version-gap`; if exactly as many,
//!   every `info` writer of the key must have committed.
//! - An `info` transaction proved committed this way counts as committed: its reads are
//!   checked and give edges, and its attributed writes give edges. All-or-nothing: when a
//!   key it wrote has a final read, some version of that key must be left for it
//!   (`incompatible-info` otherwise). Proofs feed each other (a committed `info`'s reads can
//!   prove another committed), so the analysis repeats until nothing new is proved.
//!
//! Only committed reads (of `ok` transactions and of `info` transactions proved
//! committed) are checked or used: an aborted transaction may have seen anything.
//!
//! Final reads: a read of `k` from the store in an `ok` transaction marked final
//! (`"final": true`). The mark is the history's promise that the read began after every
//! other transaction completed and nothing was in flight, so no indeterminate commit can
//! still land after it: the final version `F` is a fact, not an inference from timing.
//! Every final read of `k` must see `F`, and no `ok` transaction may have installed `k`
//! above `F` (`final-version-mismatch`); versions up to `F` are held to the rules above,
//! so `F` equals the number of committed writes of `k`.
//!
//! Nothing here is inferred from time. An `info` transaction's completion is only when
//! its client gave up: its commit may land at any later moment, so it sets no deadline.
//! And under plain serializability a read invoked after a write completed may still
//! order before it, so "read after every write completed" proves nothing either. A
//! history without marked final reads gets no final-version rule; under strict
//! serializability the real-time edges of the graph say all that timing can prove.

use super::bucket;
use super::intern::{Value, NULL, UNKNOWN};
use super::txns::{COp, Effect, History, Outcome, NONE, NO_VERSION};

/// What a dependency edge says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EdgeKind {
    /// Installer of `k@v` -> installer of `k@v+1`.
    Ww = 0,
    /// Installer of `k@v` -> reader of `k@v`.
    Wr = 1,
    /// Reader of `k@v` -> installer of `k@v+1`.
    Rw = 2,
    /// Completed before the other was invoked (through time-chain nodes).
    Rt = 3,
}

impl EdgeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Rt => "realtime",
        }
    }

    pub(crate) fn from_bits(bits: u32) -> EdgeKind {
        match bits {
            0 => EdgeKind::Ww,
            1 => EdgeKind::Wr,
            2 => EdgeKind::Rw,
            _ => EdgeKind::Rt,
        }
    }
}

/// A graph edge, 12 bytes: key id in the low 30 bits, kind in the top 2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub(crate) source: u32,
    pub(crate) target: u32,
    key_kind: u32,
}

const KEY_MASK: u32 = (1 << 30) - 1;

impl Edge {
    pub(crate) fn new(source: u32, target: u32, kind: EdgeKind, key: u32) -> Edge {
        Edge { source, target, key_kind: (key & KEY_MASK) | ((kind as u32) << 30) }
    }

    pub(crate) fn kind(&self) -> EdgeKind {
        EdgeKind::from_bits(self.key_kind >> 30)
    }

    /// The key justifying the edge ([`NONE`] for real-time edges).
    pub(crate) fn key(&self) -> u32 {
        let key = self.key_kind & KEY_MASK;
        if key == KEY_MASK {
            NONE
        } else {
            key
        }
    }
}

/// A node standing for the unknown installer of versions `low..=high` of `key` (an
/// indeterminate transaction, or the store skipping versions). Its edges are real
/// constraints on whoever installed those versions, so cycles through it are real.
#[derive(Clone, Debug)]
pub(crate) struct Placeholder {
    pub(crate) key: u32,
    pub(crate) low: u64,
    pub(crate) high: u64,
    /// Up to four `info` transactions that may be it.
    pub(crate) candidates: Vec<u32>,
}

/// A rule broken, found without the graph.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) name: &'static str,
    /// The key whose rule is broken.
    pub(crate) key: u32,
    pub(crate) lines: Vec<String>,
    pub(crate) txns: Vec<u32>,
}

pub(crate) struct Analysis {
    /// Per transaction: `ok`, or `info` proved committed.
    pub(crate) committed: Vec<bool>,
    /// `(txn, key, version)` for `info` transactions attributed a version, sorted.
    pub(crate) attributed: Vec<(u32, u32, u64)>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) placeholders: Vec<Placeholder>,
}

impl Analysis {
    /// The version of `key` that `txn` installed, if known.
    pub(crate) fn installed(&self, h: &History, txn: u32, key: u32) -> Option<u64> {
        let t = &h.txns[txn as usize];
        match t.effect {
            Effect::Commits => h
                .ops(txn)
                .iter()
                .rev()
                .find(|op| op.write && op.key == key && op.version != NO_VERSION)
                .map(|op| op.version),
            _ => {
                let i = self.attributed.partition_point(|&(t2, k2, _)| (t2, k2) < (txn, key));
                self.attributed
                    .get(i)
                    .filter(|&&(t2, k2, _)| t2 == txn && k2 == key)
                    .map(|&(_, _, v)| v)
            }
        }
    }
}

/// A committed read of `key` from the store.
#[derive(Clone, Copy, Debug)]
struct ReadRec {
    key: u32,
    version: u64,
    txn: u32,
    value: Value,
    final_read: bool,
}

/// An `ok` transaction's installed version.
#[derive(Clone, Copy, Debug)]
struct Install {
    key: u32,
    version: u64,
    txn: u32,
    value: Value,
}

/// A transaction's write buffer while its ops are replayed in program order, and the
/// versions its last writes installed. Linear for small transactions, a map for big ones.
#[derive(Default)]
struct Buffer {
    small: Vec<(u32, Option<Value>, u64)>,
    big: std::collections::BTreeMap<u32, (Option<Value>, u64)>,
    use_big: bool,
}

impl Buffer {
    /// Starts a transaction; `installs` says whether its writes carry versions (`ok`).
    fn reset(&mut self, ops: &[COp], installs: bool, keep: &Keep) {
        self.small.clear();
        self.big.clear();
        self.use_big = ops.len() > 32;
        for op in ops.iter().filter(|op| op.write && op.last_write && keep.has(op.key)) {
            let version = if installs { op.version } else { NO_VERSION };
            if self.use_big {
                self.big.insert(op.key, (None, version));
            } else {
                self.small.push((op.key, None, version));
            }
        }
    }

    fn write(&mut self, key: u32, value: Value) {
        if self.use_big {
            if let Some(slot) = self.big.get_mut(&key) {
                slot.0 = Some(value);
            }
        } else if let Some(slot) = self.small.iter_mut().find(|s| s.0 == key) {
            slot.1 = Some(value);
        }
    }

    /// The value this transaction last wrote to `key` so far, if any.
    fn value(&self, key: u32) -> Option<Value> {
        // None inside: the key is written later in the transaction, not yet.
        if self.use_big {
            self.big.get(&key).and_then(|s| s.0)
        } else {
            self.small.iter().find(|s| s.0 == key).and_then(|s| s.1)
        }
    }

    /// The version this `ok` transaction installed for `key`.
    fn installed(&self, key: u32) -> Option<u64> {
        let version = if self.use_big {
            self.big.get(&key).map(|s| s.1)
        } else {
            self.small.iter().find(|s| s.0 == key).map(|s| s.2)
        };
        version.filter(|&v| v != NO_VERSION)
    }
}

/// Precomputed facts that do not change between passes.
struct Facts {
    installs: Vec<Install>,
    /// `(key, value, txn)`: the last write of each key of each `info` transaction.
    info_writes: Vec<(u32, Value, u32)>,
    /// `(key, value)` written as the last write of a key by `ok`/`info` transactions.
    written_final: Vec<(u32, Value)>,
    /// `(key, value)` written at all by `ok`/`info` transactions.
    written_any: Vec<(u32, Value)>,
    /// `(key, value)` written by failed transactions.
    written_failed: Vec<(u32, Value)>,
    read_only: Vec<bool>,
}

fn contains(set: &[(u32, Value)], item: (u32, Value)) -> bool {
    set.binary_search(&item).is_ok()
}

fn facts(h: &History, keep: &Keep, findings: &mut Vec<Finding>) -> Facts {
    let mut f = Facts {
        installs: Vec::new(),
        info_writes: Vec::new(),
        written_final: Vec::new(),
        written_any: Vec::new(),
        written_failed: Vec::new(),
        read_only: vec![true; h.txns.len()],
    };
    for txn in keep.txns(h.txns.len()) {
        let t = &h.txns[txn as usize];
        let ops = h.ops(txn);
        f.read_only[txn as usize] = !ops.iter().any(|op| op.write && keep.has(op.key));
        for op in ops {
            if !op.write || !keep.has(op.key) {
                continue;
            }
            let last = op.last_write;
            match t.effect {
                Effect::None => f.written_failed.push((op.key, op.value)),
                Effect::Commits | Effect::Maybe => {
                    f.written_any.push((op.key, op.value));
                    if last {
                        f.written_final.push((op.key, op.value));
                    }
                }
            }
            if !last {
                continue;
            }
            match t.effect {
                Effect::Commits if op.version == 0 => findings.push(installed_zero(h, txn, op)),
                Effect::Commits => f.installs.push(Install {
                    key: op.key,
                    version: op.version,
                    txn,
                    value: op.value,
                }),
                Effect::Maybe => f.info_writes.push((op.key, op.value, txn)),
                Effect::None => {}
            }
        }
    }
    f.sort(h.keys.len());
    f
}

/// `wrong-version-bump`: no transaction installs `k@0`, the version of an absent key.
fn installed_zero(h: &History, txn: u32, op: &COp) -> Finding {
    Finding {
        name: "wrong-version-bump",
        key: op.key,
        lines: vec![format!(
            "{} says it installed {}@0, but versions start at 0 for an absent key and every committed write bumps them",
            label(h, txn),
            h.keys.name(op.key)
        )],
        txns: vec![txn],
    }
}

impl Facts {
    /// Sorts every array by key id (of `keys`), then within each key; the value sets
    /// lose their duplicates.
    fn sort(&mut self, keys: usize) {
        // Counting sorts by key, then sorts of each key's few items: the same order as one
        // sort of the whole array ((key, version, txn) is unique), in linear passes.
        let (mut installs, offsets) = bucket::by_id(&self.installs, keys, |i| i.key);
        bucket::sort_runs(&mut installs, &offsets, |run| {
            run.sort_unstable_by_key(|i| (i.version, i.txn))
        });
        self.installs = installs;
        self.info_writes.sort_unstable();
        // Each set's unsorted array becomes the next one's output: no fresh memory per set.
        let mut spare: Vec<(u32, Value)> = Vec::new();
        for set in [&mut self.written_final, &mut self.written_any, &mut self.written_failed] {
            let offsets = bucket::by_id_into(set, keys, |x| x.0, &mut spare);
            bucket::sort_runs(&mut spare, &offsets, |run| run.sort_unstable());
            spare.dedup();
            std::mem::swap(set, &mut spare);
        }
    }
}

pub(crate) fn label(h: &History, txn: u32) -> String {
    format!("T{}", h.events[h.txns[txn as usize].invoke as usize].index)
}

pub(crate) fn value_text(h: &History, value: Value) -> String {
    match h.values.text(value) {
        None => "null".to_string(),
        Some(text) => format!("{text:?}"),
    }
}

/// Runs the version rules until no more `info` transactions are proved committed.
pub(crate) fn analyze(h: &History) -> Analysis {
    analyze_keys(h, &Keep::All)
}

/// Which keys an analysis looks at.
pub(crate) enum Keep {
    All,
    /// Only the keys marked: the ops of other keys are as good as absent. Every rule is
    /// per key, and a transaction's writes count only for the keys it writes, so a kept
    /// key's results are those of the whole analysis whenever no `info` transaction that
    /// touches a kept key touches another (see `view`). `txns`: the transactions that
    /// touch a kept key (ascending), the only ones looked at.
    Some {
        keys: Vec<bool>,
        txns: Vec<u32>,
    },
}

impl Keep {
    fn has(&self, key: u32) -> bool {
        match self {
            Keep::All => true,
            Keep::Some { keys, .. } => keys[key as usize],
        }
    }

    /// The transactions to look at, of `n`, ascending.
    fn txns(&self, n: usize) -> impl Iterator<Item = u32> + '_ {
        let (all, some) = match self {
            Keep::All => (0..n as u32, &[][..]),
            Keep::Some { txns, .. } => (0..0, &txns[..]),
        };
        all.chain(some.iter().copied())
    }
}

/// [`analyze`], only for the keys `keep` keeps.
pub(crate) fn analyze_keys(h: &History, keep: &Keep) -> Analysis {
    let mut base_findings = Vec::new();
    let facts = facts(h, keep, &mut base_findings);
    let mut committed: Vec<bool> = h.txns.iter().map(|t| t.effect == Effect::Commits).collect();
    // The big arrays of a pass that proved something, reused by the next pass.
    let mut spare = Spare::default();
    loop {
        let mut pass = Pass {
            h,
            facts: &facts,
            keep,
            committed: &committed,
            newly_committed: Vec::new(),
            attributed: Vec::new(),
            findings: base_findings.clone(),
            edges: std::mem::take(&mut spare.edges),
            placeholders: Vec::new(),
            garbage: Vec::new(),
            incompatible: Vec::new(),
            spare: std::mem::take(&mut spare),
        };
        pass.edges.clear();
        pass.run();
        let Pass { newly_committed, attributed, findings, mut edges, placeholders, .. } = pass;
        spare = pass.spare;
        let mut changed = false;
        for txn in newly_committed {
            if !committed[txn as usize] {
                committed[txn as usize] = true;
                changed = true;
            }
        }
        if !changed {
            let mut attributed = attributed;
            attributed.sort_unstable();
            return Analysis { committed, attributed, findings, edges, placeholders };
        }
        spare.edges = std::mem::take(&mut edges);
    }
}

/// Arrays of one pass kept for the next, so that a big history's second pass does not
/// get (and fault in) fresh memory for them.
#[derive(Default)]
struct Spare {
    edges: Vec<Edge>,
    /// Store reads in transaction order, before sorting.
    unsorted: Vec<ReadRec>,
    reads: Vec<ReadRec>,
}

struct Pass<'p, 'a> {
    h: &'p History<'a>,
    facts: &'p Facts,
    keep: &'p Keep,
    committed: &'p [bool],
    newly_committed: Vec<u32>,
    attributed: Vec<(u32, u32, u64)>,
    findings: Vec<Finding>,
    edges: Vec<Edge>,
    placeholders: Vec<Placeholder>,
    /// Indexes (into the sorted reads) of reads found garbage: they give no edges.
    garbage: Vec<bool>,
    /// `(key, final version, info txns)` breaking all-or-nothing, explained after every
    /// key was attributed.
    incompatible: Vec<(u32, u64, Vec<u32>)>,
    spare: Spare,
}

/// One version of a key as the edge walk sees it.
struct Point {
    version: u64,
    /// Graph node installing it (`NONE`: version 0 or nobody known).
    installer: u32,
    /// Range into the reads of non-garbage readers.
    readers: std::ops::Range<usize>,
}

/// One key's share of a pass's inputs: what each of its version rules reads.
struct KeyItems<'k> {
    key: u32,
    kname: String,
    /// The pass's store reads, sorted by (key, version, txn); this key's are `range`.
    /// Rules name a read by its index here (see [`Pass::garbage`]).
    reads: &'k [ReadRec],
    range: std::ops::Range<usize>,
    /// The key's `ok` installs, sorted by (version, txn).
    installs: &'k [Install],
    /// `(key, value, txn)`: the last writes of the key by `info` transactions, sorted.
    info_writes: &'k [(u32, Value, u32)],
}

impl KeyItems<'_> {
    /// The key's store reads.
    fn key_reads(&self) -> &[ReadRec] {
        &self.reads[self.range.clone()]
    }

    /// The first `ok` install of version `v`.
    fn installer_of(&self, v: u64) -> Option<&Install> {
        let idx = self.installs.partition_point(|x| x.version < v);
        self.installs.get(idx).filter(|x| x.version == v)
    }

    /// Every `ok` install of version `v` (more than one: a duplicate version).
    fn claimants(&self, v: u64) -> &[Install] {
        let lo = self.installs.partition_point(|x| x.version < v);
        &self.installs[lo..lo + self.installs[lo..].partition_point(|x| x.version == v)]
    }

    /// The versions installed by `ok` transactions or read, ascending, each once.
    fn known_versions(&self) -> Vec<u64> {
        let mut known: Vec<u64> = self.installs.iter().map(|x| x.version).collect();
        known.extend(self.key_reads().iter().map(|r| r.version));
        known.sort_unstable();
        known.dedup();
        known
    }
}

/// A version of a key that no `ok` transaction installed, read with one non-null value:
/// `(value, version, range of its reads)`.
type ValuedHole = (Value, u64, std::ops::Range<usize>);

/// What attributing a key's read holes to `info` writers found.
#[derive(Default)]
struct Attribution {
    /// Read holes matched with a writer: `min(H, W)` summed over values.
    matched: u64,
    /// Info txns placed (or possibly placed) in a read hole of this key.
    in_valued_group: Vec<u32>,
    /// `(version, installer, candidates)` per attributed hole, by version: the
    /// installer, or [`NONE`] and up to four `info` transactions that may be it.
    hole_installer: Vec<(u64, u32, Vec<u32>)>,
}

impl Pass<'_, '_> {
    fn finding(&mut self, key: u32, name: &'static str, lines: Vec<String>, txns: Vec<u32>) {
        self.findings.push(Finding { name, key, lines, txns });
    }

    fn key(&self, key: u32) -> &str {
        self.h.keys.name(key)
    }

    fn run(&mut self) {
        let reads = self.txn_rules();
        self.garbage = vec![false; reads.len()];
        let installs = &self.facts.installs;
        let info_writes = &self.facts.info_writes;
        let (mut r, mut i, mut w) = (0, 0, 0);
        for key in 0..self.h.keys.len() as u32 {
            if !self.keep.has(key) {
                continue;
            }
            // Linear advances, not binary searches: a search per key over the whole
            // remaining array is O(keys * log) with a cache miss per probe.
            let r_end = r + reads[r..].iter().take_while(|x| x.key == key).count();
            let i_end = i + installs[i..].iter().take_while(|x| x.key == key).count();
            let w_end = w + info_writes[w..].iter().take_while(|x| x.0 == key).count();
            self.key_rules(&KeyItems {
                key,
                kname: self.key(key).to_string(),
                reads: &reads,
                range: r..r_end,
                installs: &installs[i..i_end],
                info_writes: &info_writes[w..w_end],
            });
            (r, i, w) = (r_end, i_end, w_end);
        }
        // Version bumps of info transactions, now that their versions are attributed.
        let attributed = std::mem::take(&mut self.attributed);
        for &(txn, key, installed) in &attributed {
            for op in self.h.ops(txn) {
                if !op.write && op.key == key && op.version != NO_VERSION {
                    self.bump_rule(txn, op, installed);
                }
            }
        }
        self.attributed = attributed;
        self.explain_incompatible(&reads);
        self.spare.reads = reads;
    }

    /// `incompatible-info`: an info transaction proved committed, with a write that no
    /// version of a key with a final read can be.
    fn explain_incompatible(&mut self, reads: &[ReadRec]) {
        let h = self.h;
        let mut attributed = self.attributed.clone();
        attributed.sort_unstable();
        for (key, last, txns) in std::mem::take(&mut self.incompatible) {
            let kname = self.key(key).to_string();
            let mut lines = Vec::new();
            for &t in &txns {
                let at = attributed.partition_point(|x| x.0 < t);
                let evidence: Vec<String> = attributed[at..]
                    .iter()
                    .take_while(|x| x.0 == t)
                    .take(2)
                    .map(|&(_, k, v)| {
                        let r = reads.partition_point(|x| (x.key, x.version) < (k, v));
                        let reader = reads.get(r).filter(|x| x.key == k && x.version == v);
                        let by = reader
                            .map_or(String::new(), |x| format!(" read by {}", label(h, x.txn)));
                        format!("{}@{v}{by}", self.key(k))
                    })
                    .collect();
                let why = if evidence.is_empty() {
                    "the versions of a key it wrote cannot be explained without it".to_string()
                } else {
                    format!("its writes were observed as {}", evidence.join(", "))
                };
                lines.push(format!(
                    "{} (indeterminate) committed ({why}), so its write of {kname} committed too; but the versions of {kname} up to the final read {kname}@{last} leave no room for it (each was installed by, or read from, another transaction)",
                    label(h, t)
                ));
            }
            self.finding(key, "incompatible-info", lines, txns);
        }
    }

    /// Per committed transaction, its ops replayed in program order: the `internal`
    /// rule and version bumps. Returns the committed store reads, sorted by (key,
    /// version, txn).
    fn txn_rules(&mut self) -> Vec<ReadRec> {
        let h = self.h;
        let mut reads = std::mem::take(&mut self.spare.unsorted);
        reads.clear();
        let mut buffer = Buffer::default();
        for txn in self.keep.txns(h.txns.len()) {
            if self.committed[txn as usize] {
                self.replay(txn, &mut buffer, &mut reads);
            }
        }
        // By key, then by (version, txn) within each key; reads were pushed in txn order,
        // so a transaction's reads of one version stay in program order.
        let mut sorted = std::mem::take(&mut self.spare.reads);
        let offsets = bucket::by_id_into(&reads, h.keys.len(), |r| r.key, &mut sorted);
        bucket::sort_runs(&mut sorted, &offsets, |run| run.sort_by_key(|r| (r.version, r.txn)));
        self.spare.unsorted = reads;
        sorted
    }

    /// One committed transaction's ops in program order: writes fill its write buffer;
    /// a read from the buffer, or after the transaction's own write, is held to the
    /// `internal` rule; a read from the store goes to `reads`, and to the bump rule
    /// when the transaction wrote that key.
    fn replay(&mut self, txn: u32, buffer: &mut Buffer, reads: &mut Vec<ReadRec>) {
        let h = self.h;
        let t = h.txns[txn as usize];
        let ops = h.ops(txn);
        let read_only = self.facts.read_only[txn as usize];
        if !read_only {
            buffer.reset(ops, t.effect == Effect::Commits, self.keep);
        }
        for op in ops {
            if !self.keep.has(op.key) {
                continue;
            }
            if op.write {
                buffer.write(op.key, op.value);
                continue;
            }
            if op.value == UNKNOWN && op.version == NO_VERSION {
                // A read that ran unreported: its result is unknown, not wrong.
                continue;
            }
            let own = if read_only { None } else { buffer.value(op.key) };
            if op.version == NO_VERSION || own.is_some() {
                self.internal_rule(txn, op, own);
                continue;
            }
            // Final reads are read-only (the history's well-formedness says so).
            let final_read = t.final_read && t.outcome == Outcome::Ok;
            reads.push(ReadRec {
                key: op.key,
                version: op.version,
                txn,
                value: op.value,
                final_read,
            });
            if let Some(installed) = if read_only { None } else { buffer.installed(op.key) } {
                self.bump_rule(txn, op, installed);
            }
        }
    }

    /// `internal`: a read agrees with its transaction's own earlier write of the key
    /// (`own`): read back from the write buffer it returns that write, it cannot come
    /// from the buffer without one, and after one it does not go to the store.
    fn internal_rule(&mut self, txn: u32, op: &COp, own: Option<Value>) {
        let h = self.h;
        let line = match (op.version == NO_VERSION, own) {
            (true, Some(own)) if own != op.value => format!(
                "{} wrote {} = {} and then read it back from its write buffer as {}",
                label(h, txn),
                self.key(op.key),
                value_text(h, own),
                value_text(h, op.value)
            ),
            (true, None) => format!(
                "{} read {} = {} from its write buffer, but it had not written {}",
                label(h, txn),
                self.key(op.key),
                value_text(h, op.value),
                self.key(op.key)
            ),
            (false, Some(own)) => format!(
                "{} wrote {} = {} and then read {}@{} = {} from the store instead of its own write",
                label(h, txn),
                self.key(op.key),
                value_text(h, own),
                self.key(op.key),
                op.version,
                value_text(h, op.value)
            ),
            // Read back as written, or a store read with no write before it: no rule.
            (true, Some(_)) | (false, None) => return,
        };
        self.finding(op.key, "internal", vec![line], vec![txn]);
    }

    /// `wrong-version-bump`: a transaction that read `k@v` from the store and wrote `k`
    /// installed `k@v+1`.
    fn bump_rule(&mut self, txn: u32, read: &COp, installed: u64) {
        let h = self.h;
        if installed != 0 && installed != read.version.saturating_add(1) {
            self.finding(
                read.key,
                "wrong-version-bump",
                vec![format!(
                    "{} read {}@{} and then installed {}@{}, not {}@{}",
                    label(h, txn),
                    self.key(read.key),
                    read.version,
                    self.key(read.key),
                    installed,
                    self.key(read.key),
                    read.version.saturating_add(1)
                )],
                vec![txn],
            );
        }
    }

    /// Names a read whose value no installer of its version wrote.
    fn bad_read_name(&self, key: u32, value: Value, installer: Option<u32>) -> &'static str {
        let f = self.facts;
        if value != NULL {
            if !contains(&f.written_any, (key, value)) && contains(&f.written_failed, (key, value))
            {
                return "G1a";
            }
            let intermediate_of_installer = installer.is_some_and(|t| {
                self.h
                    .ops(t)
                    .iter()
                    .any(|op| op.write && !op.last_write && op.key == key && op.value == value)
            });
            if intermediate_of_installer
                || (contains(&f.written_any, (key, value))
                    && !contains(&f.written_final, (key, value)))
            {
                return "G1b";
            }
        }
        "garbage-read"
    }

    fn bad_read_why(&self, name: &str) -> &'static str {
        match name {
            "G1a" => " (that value was written only by transactions that failed)",
            "G1b" => " (that value was only ever an intermediate write, overwritten in the same transaction)",
            _ => "",
        }
    }

    /// The version rules of one key, each its own pass below, in the order their
    /// findings are reported; later rules build on what earlier ones learned. Then the
    /// key's edges.
    fn key_rules(&mut self, k: &KeyItems) {
        let (claimed, ok_max) = self.duplicate_version_rule(k);
        let final_version = self.final_version_rule(k, ok_max);
        let max_read = k.key_reads().iter().map(|r| r.version).max().unwrap_or(0);
        let max_known = ok_max.max(max_read);
        let (valued_holes, read_hole_versions) = self.read_rules(k);
        let mut found = self.attribute_valued_holes(k, valued_holes);
        // Versions up to the highest known that no `ok` transaction claimed and nobody read.
        let unread_holes = max_known - claimed - read_hole_versions;
        self.version_gap_rule(k, max_known, unread_holes, &mut found);
        if final_version == Some(max_known) {
            self.all_or_nothing_rule(k, max_known, unread_holes, &mut found.in_valued_group);
        }
        self.key_edges(k, &found.hole_installer);
    }

    /// `duplicate-version`: two `ok` transactions installed the same `k@v`. Returns how
    /// many versions `ok` transactions claimed, and the highest (0 for none).
    fn duplicate_version_rule(&mut self, k: &KeyItems) -> (u64, u64) {
        let (h, installs, kname) = (self.h, k.installs, &k.kname);
        let mut claimed = 0u64;
        let mut ok_max = 0u64;
        let mut j = 0;
        while j < installs.len() {
            let v = installs[j].version;
            let end = j + installs[j..].partition_point(|x| x.version == v);
            claimed += 1;
            ok_max = v;
            if end - j > 1 {
                let txns: Vec<u32> = installs[j..end].iter().map(|x| x.txn).collect();
                let lines = txns
                    .iter()
                    .zip(&installs[j..end])
                    .map(|(&t, x)| {
                        format!(
                            "{} installed {kname}@{v} = {}",
                            label(h, t),
                            value_text(h, x.value)
                        )
                    })
                    .collect();
                self.finding(k.key, "duplicate-version", lines, txns);
            }
            j = end;
        }
        (claimed, ok_max)
    }

    /// `final-version-mismatch`: the marked final reads of `k` all see one version `F`,
    /// and nothing committed above it: no `ok` transaction installed `k` above `F` (the
    /// highest `ok` version is `ok_max`) and no committed read saw a version above it.
    /// Returns `F`, when `k` has final reads.
    fn final_version_rule(&mut self, k: &KeyItems, ok_max: u64) -> Option<u64> {
        let (h, key, kname) = (self.h, k.key, &k.kname);
        let finals: Vec<&ReadRec> = k.key_reads().iter().filter(|r| r.final_read).collect();
        let f = finals.iter().map(|r| r.version).max()?;
        let reader = finals.iter().find(|r| r.version == f).expect("max exists");
        if let Some(r) = finals.iter().find(|r| r.version != f) {
            self.finding(
                key,
                "final-version-mismatch",
                vec![
                    format!("{} read {kname}@{} in the final read", label(h, r.txn), r.version),
                    format!("{} read {kname}@{f} in the final read", label(h, reader.txn)),
                ],
                vec![r.txn, reader.txn],
            );
        }
        if ok_max > f {
            let last = k.installer_of(ok_max).expect("claimed");
            self.finding(
                key,
                "final-version-mismatch",
                vec![
                    format!("{} committed, installing {kname}@{ok_max}", label(h, last.txn)),
                    format!(
                        "{} then read {kname}@{f} in the final read, with nothing left in flight: the final version should be {ok_max} (committed writes above {f} are missing)",
                        label(h, reader.txn)
                    ),
                ],
                vec![last.txn, reader.txn],
            );
        } else if let Some(above) = k.key_reads().iter().find(|r| r.version > f) {
            // A committed read of a version the final read does not reach: whoever
            // installed it committed a write the final state does not hold.
            self.finding(
                key,
                "final-version-mismatch",
                vec![
                    format!(
                        "{} read {kname}@{} = {}, so a committed write installed {kname}@{}",
                        label(h, above.txn),
                        above.version,
                        value_text(h, above.value),
                        above.version
                    ),
                    format!(
                        "{} then read {kname}@{f} in the final read, with nothing left in flight: that committed write is missing",
                        label(h, reader.txn)
                    ),
                ],
                vec![above.txn, reader.txn],
            );
        }
        Some(f)
    }

    /// The read rules, version by version: each committed read of `k@v` must be able to
    /// be `k@v` (`garbage-read`, or `G1a`/`G1b` by where its value came from, otherwise).
    /// Returns the holes (versions no `ok` transaction claimed) read with one non-null
    /// value, to attribute to `info` writers, and how many hole versions were read.
    fn read_rules(&mut self, k: &KeyItems) -> (Vec<ValuedHole>, u64) {
        let (reads, range) = (k.reads, k.range.clone());
        let mut valued_holes = Vec::new();
        let mut read_hole_versions = 0u64;
        let mut a = range.start;
        while a < range.end {
            let v = reads[a].version;
            let b = a + reads[a..range.end].partition_point(|x| x.version == v);
            if v == 0 {
                self.version_zero_rule(k, a..b);
            } else if let Some(&installer) = k.installer_of(v) {
                self.installed_read_rule(k, installer, a..b);
            } else {
                read_hole_versions += 1;
                valued_holes.extend(self.hole_read_rule(k, v, a..b));
            }
            a = b;
        }
        (valued_holes, read_hole_versions)
    }

    /// `garbage-read`: version 0 means absent, and reads null.
    fn version_zero_rule(&mut self, k: &KeyItems, of_v0: std::ops::Range<usize>) {
        let (h, kname) = (self.h, &k.kname);
        for idx in of_v0 {
            let rd = k.reads[idx];
            if rd.value != NULL {
                self.garbage[idx] = true;
                self.finding(
                    k.key,
                    "garbage-read",
                    vec![format!(
                        "{} read {kname}@0 = {}, but version 0 means absent and reads null",
                        label(h, rd.txn),
                        value_text(h, rd.value)
                    )],
                    vec![rd.txn],
                );
            }
        }
    }

    /// `garbage-read` (`G1a`, `G1b`): a read of a version an `ok` transaction installed
    /// returns the value it installed. With a duplicate version, a read matching any of
    /// its claimants is not garbage: `duplicate-version` already says what is wrong.
    fn installed_read_rule(&mut self, k: &KeyItems, inst: Install, of_v: std::ops::Range<usize>) {
        let (h, key, kname, v) = (self.h, k.key, &k.kname, inst.version);
        let claimants = k.claimants(v);
        for idx in of_v {
            let rd = k.reads[idx];
            if claimants.iter().all(|c| c.value != rd.value) {
                self.garbage[idx] = true;
                let name = self.bad_read_name(key, rd.value, Some(inst.txn));
                let why = self.bad_read_why(name);
                self.finding(
                    key,
                    name,
                    vec![
                        format!(
                            "{} installed {kname}@{v} = {}",
                            label(h, inst.txn),
                            value_text(h, inst.value)
                        ),
                        format!(
                            "{} read {kname}@{v} = {}{why}",
                            label(h, rd.txn),
                            value_text(h, rd.value)
                        ),
                    ],
                    vec![inst.txn, rd.txn],
                );
            }
        }
    }

    /// `garbage-read`: the reads of a hole `k@v` (a version no `ok` transaction
    /// installed) agree on one value, and it is not null (only version 0 is absent).
    /// Returns the hole with its value when they do.
    fn hole_read_rule(
        &mut self,
        k: &KeyItems,
        v: u64,
        of_v: std::ops::Range<usize>,
    ) -> Option<ValuedHole> {
        let (h, key, kname, reads) = (self.h, k.key, &k.kname, k.reads);
        let (a, b) = (of_v.start, of_v.end);
        let first = reads[a].value;
        if let Some(idx) = (a..b).find(|&idx| reads[idx].value != first) {
            self.garbage[a..b].fill(true);
            self.finding(
                key,
                "garbage-read",
                vec![
                    format!(
                        "{} read {kname}@{v} = {}",
                        label(h, reads[a].txn),
                        value_text(h, first)
                    ),
                    format!(
                        "{} read {kname}@{v} = {}: one version cannot hold two values",
                        label(h, reads[idx].txn),
                        value_text(h, reads[idx].value)
                    ),
                ],
                vec![reads[a].txn, reads[idx].txn],
            );
            None
        } else if first == NULL {
            self.garbage[a..b].fill(true);
            self.finding(
                key,
                "garbage-read",
                vec![format!(
                    "{} read {kname}@{v} = null, but only version 0 is absent",
                    label(h, reads[a].txn)
                )],
                vec![reads[a].txn],
            );
            None
        } else {
            Some((first, v, of_v))
        }
    }

    /// Attributes the read holes to `info` writers, value by value: with `H` holes read
    /// as `X` and `W` `info` transactions whose last write of `k` is `X`, `W = 0` makes
    /// the reads garbage, `H > W > 0` makes some of them garbage and proves every writer
    /// committed, `H = W = 1` attributes the hole to the writer, `H = W > 1` proves all
    /// writers committed without saying which is which, and `H < W` proves nothing.
    fn attribute_valued_holes(
        &mut self,
        k: &KeyItems,
        mut valued_holes: Vec<ValuedHole>,
    ) -> Attribution {
        valued_holes.sort_unstable_by_key(|x| (x.0, x.1));
        let info_writes = k.info_writes;
        let mut found = Attribution::default();
        let mut g = 0;
        while g < valued_holes.len() {
            let value = valued_holes[g].0;
            let g_end = g + valued_holes[g..].partition_point(|x| x.0 == value);
            let holes = &valued_holes[g..g_end];
            let lo = info_writes.partition_point(|x| x.1 < value);
            let hi = info_writes.partition_point(|x| x.1 <= value);
            let writers: Vec<u32> = info_writes[lo..hi].iter().map(|x| x.2).collect();
            let (nh, nw) = (holes.len(), writers.len());
            found.matched += nh.min(nw) as u64;
            found.in_valued_group.extend(&writers);
            if nw == 0 {
                self.unwritten_value_rule(k, value, holes);
            } else if nh > nw {
                self.too_few_writers_rule(k, value, holes, nw);
                self.newly_committed.extend(&writers);
            } else if nh == 1 && nw == 1 {
                let (_, v, _) = holes[0];
                self.attributed.push((writers[0], k.key, v));
                self.newly_committed.push(writers[0]);
                found.hole_installer.push((v, writers[0], Vec::new()));
            } else {
                if nh == nw {
                    self.newly_committed.extend(&writers);
                }
                for (_, v, _) in holes {
                    let candidates = writers.iter().copied().take(4).collect();
                    found.hole_installer.push((*v, NONE, candidates));
                }
            }
            g = g_end;
        }
        found.hole_installer.sort_unstable_by_key(|x| x.0);
        found
    }

    /// `garbage-read` (`G1a`, `G1b`): holes read as a value that no `info` transaction
    /// wrote last to `k` (`W = 0`): nobody who may have committed installed it.
    fn unwritten_value_rule(&mut self, k: &KeyItems, value: Value, holes: &[ValuedHole]) {
        let (h, key, kname) = (self.h, k.key, &k.kname);
        for (_, v, rr) in holes.iter().cloned() {
            let name = self.bad_read_name(key, value, None);
            let why = self.bad_read_why(name);
            self.garbage[rr.clone()].fill(true);
            let mut txns: Vec<u32> = k.reads[rr.clone()].iter().map(|x| x.txn).collect();
            txns.truncate(4);
            self.finding(
                key,
                name,
                vec![format!(
                    "{} read {kname}@{v} = {}, but no committed or indeterminate transaction installed {kname}@{v} with that value{why}",
                    label(h, k.reads[rr.start].txn),
                    value_text(h, value)
                )],
                txns,
            );
        }
    }

    /// `garbage-read`: more holes read as a value (`H`) than `info` transactions wrote it
    /// last to `k` (`W`, at least one): the reads cannot all be right.
    fn too_few_writers_rule(
        &mut self,
        k: &KeyItems,
        value: Value,
        holes: &[ValuedHole],
        nw: usize,
    ) {
        let (h, kname, reads) = (self.h, &k.kname, k.reads);
        let mut lines: Vec<String> = holes
            .iter()
            .map(|(_, v, rr)| {
                format!(
                    "{} read {kname}@{v} = {}",
                    label(h, reads[rr.start].txn),
                    value_text(h, value)
                )
            })
            .collect();
        lines.push(format!(
            "but only {nw} indeterminate transaction(s) wrote {kname} = {} and no ok transaction installed those versions",
            value_text(h, value)
        ));
        for (_, _, rr) in holes {
            self.garbage[rr.clone()].fill(true);
        }
        let txns = holes.iter().map(|(_, _, rr)| reads[rr.start].txn).take(4).collect();
        self.finding(k.key, "garbage-read", lines, txns);
    }

    /// `version-gap`: the versions up to the highest known that no `ok` transaction
    /// claimed and nobody read (`unread_holes`) need as many `info` writers of `k` left
    /// over by the read holes. When exactly as many are left, every `info` writer of `k`
    /// committed; and a lone one, in no read hole, installed the lone unread version.
    fn version_gap_rule(
        &mut self,
        k: &KeyItems,
        max_known: u64,
        unread_holes: u64,
        found: &mut Attribution,
    ) {
        let available = k.info_writes.len() as u64 - found.matched;
        if unread_holes > available {
            self.version_gap_finding(k, max_known, unread_holes, available);
        } else if unread_holes > 0 && unread_holes == available {
            self.newly_committed.extend(k.info_writes.iter().map(|x| x.2));
            if unread_holes == 1 && k.info_writes.len() == 1 && found.in_valued_group.is_empty() {
                let known = k.known_versions();
                let hole = (1..=max_known).find(|v| known.binary_search(v).is_err());
                if let Some(v) = hole {
                    let writer = k.info_writes[0].2;
                    self.attributed.push((writer, k.key, v));
                    found.hole_installer.push((v, writer, Vec::new()));
                    found.hole_installer.sort_unstable_by_key(|x| x.0);
                }
            }
        }
    }

    /// The `version-gap` finding: which versions are missing (the first four runs), and
    /// how few `info` writers are left to explain them.
    fn version_gap_finding(
        &mut self,
        k: &KeyItems,
        max_known: u64,
        unread_holes: u64,
        available: u64,
    ) {
        let kname = &k.kname;
        let mut missing = Vec::new();
        let mut next = 1u64;
        let mut known = k.known_versions();
        known.push(max_known + 1);
        for &v in &known {
            if v > next && missing.len() < 4 {
                missing.push(if v - 1 == next {
                    format!("{next}")
                } else {
                    format!("{next}..{}", v - 1)
                });
            }
            next = next.max(v + 1);
        }
        let mut lines = vec![format!(
            "{kname} has versions up to {max_known}, but {unread_holes} of them (versions {}) were installed by no ok transaction and nobody read them",
            missing.join(", ")
        )];
        lines.push(format!(
            "only {available} indeterminate transaction(s) writing {kname} are left to explain them"
        ));
        let txns = k.installs.iter().rev().take(1).map(|x| x.txn).collect();
        self.finding(k.key, "version-gap", lines, txns);
    }

    /// `incompatible-info` (explained once every key is done, see
    /// [`Pass::explain_incompatible`]): all or nothing. When a final read caps `k` at
    /// its highest known version, every `info` writer of `k` proved committed and not
    /// placed in a read hole needs an unread version of its own.
    fn all_or_nothing_rule(
        &mut self,
        k: &KeyItems,
        max_known: u64,
        unread_holes: u64,
        in_valued_group: &mut [u32],
    ) {
        in_valued_group.sort_unstable();
        let mut required: Vec<u32> = k
            .info_writes
            .iter()
            .map(|x| x.2)
            .filter(|&t| self.committed[t as usize] && in_valued_group.binary_search(&t).is_err())
            .collect();
        required.sort_unstable();
        if required.len() as u64 > unread_holes {
            required.truncate(4);
            self.incompatible.push((k.key, max_known, required));
        }
    }

    /// Emits ww, wr and rw edges for one key, walking its versions in order.
    fn key_edges(&mut self, k: &KeyItems, hole_installer: &[(u64, u32, Vec<u32>)]) {
        let points = self.key_points(k, hole_installer);
        self.link_points(k, &points, hole_installer);
    }

    /// The key's versions that something installed or read, ascending, each with its
    /// installer: an `ok` one, an attributed `info` one, or a placeholder node for a
    /// read hole that several `info` transactions may have installed.
    fn key_points(&mut self, k: &KeyItems, hole_installer: &[(u64, u32, Vec<u32>)]) -> Vec<Point> {
        let (key, reads, range, installs) = (k.key, k.reads, k.range.clone(), k.installs);
        let n_txns = self.h.txns.len() as u32;
        let mut points: Vec<Point> = Vec::new();
        let (mut i, mut r) = (0usize, range.start);
        // Versions nobody read, attributed to one writer: points of their own.
        let unread: Vec<(u64, u32)> = hole_installer
            .iter()
            .filter(|x| x.1 != NONE)
            .filter(|x| {
                let of_key = &reads[range.clone()];
                of_key
                    .get(of_key.partition_point(|r| r.version < x.0))
                    .is_none_or(|r| r.version != x.0)
            })
            .map(|x| (x.0, x.1))
            .collect();
        let mut u = 0usize;
        while i < installs.len() || r < range.end || u < unread.len() {
            let vi = installs.get(i).map_or(u64::MAX, |x| x.version);
            let vr = if r < range.end { reads[r].version } else { u64::MAX };
            let vu = unread.get(u).map_or(u64::MAX, |x| x.0);
            let v = vi.min(vr).min(vu);
            if vu == v {
                u += 1;
            }
            let mut installer = NONE;
            if vi == v {
                installer = installs[i].txn;
                i += installs[i..].partition_point(|x| x.version == v);
            }
            let r_start = r;
            if vr == v {
                r += reads[r..range.end].partition_point(|x| x.version == v);
            }
            if installer == NONE && v > 0 {
                let idx = hole_installer.partition_point(|x| x.0 < v);
                match hole_installer.get(idx).filter(|x| x.0 == v) {
                    Some(&(_, t, _)) if t != NONE => installer = t,
                    Some((_, _, candidates)) => {
                        installer = n_txns + self.placeholders.len() as u32;
                        self.placeholders.push(Placeholder {
                            key,
                            low: v,
                            high: v,
                            candidates: candidates.clone(),
                        });
                    }
                    // A hole whose reads were garbage: no edges through it.
                    None => {}
                }
            }
            points.push(Point { version: v, installer, readers: r_start..r });
        }
        points
    }

    /// Links consecutive points: ww from one installer to the next, rw from each reader
    /// to the next installer, wr from each installer to its readers. Between points a
    /// version apart stands a placeholder for the unread, unclaimed versions; garbage
    /// reads give no edges.
    fn link_points(
        &mut self,
        k: &KeyItems,
        points: &[Point],
        hole_installer: &[(u64, u32, Vec<u32>)],
    ) {
        let (key, reads) = (k.key, k.reads);
        let n_txns = self.h.txns.len() as u32;
        let mut prev: Option<usize> = None;
        for c in 0..points.len() {
            let cur_installer = points[c].installer;
            if let Some(p) = prev {
                let (pv, p_inst) = (points[p].version, points[p].installer);
                let target = if points[c].version == pv + 1 {
                    cur_installer
                } else {
                    // An unread, unclaimed run of versions: one placeholder stands for it.
                    let node = n_txns + self.placeholders.len() as u32;
                    let candidates = k
                        .info_writes
                        .iter()
                        .map(|x| x.2)
                        .filter(|&t| !hole_installer.iter().any(|h| h.1 == t))
                        .take(4)
                        .collect();
                    self.placeholders.push(Placeholder {
                        key,
                        low: pv + 1,
                        high: points[c].version - 1,
                        candidates,
                    });
                    self.link(node, cur_installer, EdgeKind::Ww, key);
                    node
                };
                self.link(p_inst, target, EdgeKind::Ww, key);
                for idx in points[p].readers.clone() {
                    if !self.garbage[idx] {
                        self.link(reads[idx].txn, target, EdgeKind::Rw, key);
                    }
                }
            }
            for idx in points[c].readers.clone() {
                if !self.garbage[idx] {
                    self.link(cur_installer, reads[idx].txn, EdgeKind::Wr, key);
                }
            }
            prev = Some(c);
        }
    }

    fn link(&mut self, source: u32, target: u32, kind: EdgeKind, key: u32) {
        if source != NONE && target != NONE && source != target {
            self.edges.push(Edge::new(source, target, kind, key));
        }
    }
}
