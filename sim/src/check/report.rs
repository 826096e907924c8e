//! The verdict: what was found, in text for a person and JSON for a machine. Both come
//! from the same structures, so they say the same thing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use workloads::history::{Op, OpKind};

use super::classify::Cycle;
use super::graph::Step;
use super::txns::{History, Outcome, NONE};
use super::versions::{label, Analysis, EdgeKind, Finding};
use super::Model;

/// The checker's answer for one history.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub valid: bool,
    pub model: Model,
    /// Number of anomalies per name.
    pub counts: BTreeMap<String, usize>,
    pub stats: Stats,
    /// Every anomaly, grouped by name (names in `counts` order), then in the order found.
    pub anomalies: Vec<Anomaly>,
    /// Set when the checker could not decide within its budget (then `valid` is false
    /// and there are no anomalies): never a silent "valid".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<Unknown>,
}

/// Why a verdict is unknown.
#[derive(Clone, Debug, Serialize)]
pub struct Unknown {
    pub reason: String,
    /// The indeterminate transactions whose possibilities were searched (at most 8).
    pub txns: Vec<TxnRef>,
}

impl Verdict {
    /// A verdict the checker could not reach.
    pub(crate) fn unknown(
        model: Model,
        stats: Stats,
        reason: String,
        txns: Vec<TxnRef>,
    ) -> Verdict {
        Verdict {
            valid: false,
            model,
            counts: BTreeMap::new(),
            stats,
            anomalies: Vec::new(),
            unknown: Some(Unknown { reason, txns }),
        }
    }

    /// Neither valid nor shown invalid: the checker ran out of budget.
    pub fn is_unknown(&self) -> bool {
        self.unknown.is_some()
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub txns: usize,
    pub committed: usize,
    pub failed: usize,
    /// Indeterminate: `info`, or still open when the history ended.
    pub info: usize,
    /// Indeterminate transactions proved committed by what others observed.
    pub info_committed: usize,
    pub keys: usize,
    pub graph_nodes: usize,
    pub graph_edges: usize,
}

/// One broken rule or one cycle.
#[derive(Clone, Debug, Serialize)]
pub struct Anomaly {
    pub name: String,
    /// Sentences a person can follow without the source; for a cycle, one per edge.
    pub explanation: Vec<String>,
    /// The transactions involved (for a cycle: in cycle order).
    pub txns: Vec<TxnRef>,
    /// For a cycle: its edges in order (empty for a version rule).
    pub cycle: Vec<CycleEdge>,
}

/// A transaction as the history recorded it.
#[derive(Clone, Debug, Serialize)]
pub struct TxnRef {
    /// `T<index of its invocation>`, or `?key@version` for an unknown installer.
    pub name: String,
    pub process: Option<u64>,
    pub txn_id: Option<String>,
    /// `ok`, `fail`, `info`, `open` (never completed) or `unknown`.
    pub outcome: String,
    pub invoke_index: Option<u64>,
    pub invoke_time: Option<u64>,
    pub invoke_line: Option<usize>,
    pub completion_index: Option<u64>,
    pub completion_time: Option<u64>,
    pub completion_line: Option<usize>,
    /// Its ops in program order; for a transaction of more than [`OPS_SHOWN`] ops, only
    /// those on the keys the anomaly is about (up to that many).
    pub ops: Vec<Op>,
    /// How many ops the transaction has (more than `ops.len()` when some are left out).
    pub ops_total: usize,
    /// For an unknown installer: what is known of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CycleEdge {
    pub from: String,
    pub to: String,
    /// `ww`, `wr`, `rw` or `realtime`.
    pub kind: String,
    pub key: Option<String>,
    pub explanation: String,
}

/// Microseconds of virtual time as milliseconds with three decimals (`3180.727ms`): the
/// one unit of time in every text the harness prints.
pub fn format_ms(us: u64) -> String {
    format!("{}.{:03}ms", us / 1000, us % 1000)
}

/// How to read the names and notations of a verdict's text; printed above the anomalies.
pub const LEGEND: &[&str] = &[
    "T<n>: the transaction invoked at history event n (line n+1 of a history sim wrote); \
     `T<n> = txn <id>, process <p>` attaches the store's txn id and the history's process; \
     ?k@v: an unknown transaction that installed k@v",
    "k@v: key k at version v (0: absent); r k@v = \"x\": read x at version v; \
     r k = \"x\" (own write): read from its own write buffer; r k = ?: result unknown; \
     w k@v = \"x\": wrote x, installing v; w k = \"x\": wrote x, no version known",
    "ok / fail / info: committed / not committed / unknown; edges: ww (overwrote), wr \
     (read what the other wrote), rw (overwrote what the other read), realtime (completed \
     before the other was invoked); times: ms of virtual time since the run began",
];

/// How [`Verdict::render_text_with`] lays out its text.
pub struct TextOptions<'a> {
    /// Anomalies explained in full per name.
    pub per_kind: usize,
    /// Where a history process ran, attached to its transactions' names (`client c3`).
    pub host: &'a dyn Fn(u64) -> Option<String>,
    /// Text to print under an anomaly (its number among those shown, from 0), such as the
    /// simulator's sequence diagram of its messages.
    pub below: &'a mut dyn FnMut(usize, &Anomaly) -> Option<String>,
    /// Where a reader finds the anomalies left out (`see --json for all`).
    pub more_hint: &'a str,
}

impl Verdict {
    /// The verdict for a person: verdict line, counts, then up to `max_per_kind`
    /// anomalies of each name, explained.
    pub fn render_text(&self, max_per_kind: usize) -> String {
        self.render_text_with(TextOptions {
            per_kind: max_per_kind,
            host: &|_| None,
            below: &mut |_, _| None,
            more_hint: "see --json for all",
        })
    }

    /// [`Verdict::render_text`], laid out as `options` say.
    pub fn render_text_with(&self, options: TextOptions) -> String {
        let TextOptions { per_kind, host, below, more_hint } = options;
        let mut out = String::new();
        let s = &self.stats;
        if let Some(unknown) = &self.unknown {
            let _ = writeln!(out, "valid: unknown");
            let _ = writeln!(out, "model: {}", self.model.name());
            let _ = writeln!(out, "unknown: {}", unknown.reason);
            for t in &unknown.txns {
                let _ = writeln!(out, "  {}", t.name);
            }
            return out;
        }
        let _ = writeln!(out, "valid: {}", self.valid);
        let _ = writeln!(out, "model: {}", self.model.name());
        let _ = writeln!(
            out,
            "txns: {} in the history (ok {}, fail {}, info {} of which {} proved committed), keys: {}",
            s.txns, s.committed, s.failed, s.info, s.info_committed, s.keys
        );
        if self.counts.is_empty() {
            let _ = writeln!(out, "anomalies: none");
            return out;
        }
        let counts: Vec<String> = self.counts.iter().map(|(n, c)| format!("{n} {c}")).collect();
        let _ = writeln!(out, "anomalies: {}", counts.join(", "));
        let _ = writeln!(out, "how to read them:");
        for line in LEGEND {
            let _ = writeln!(out, "  {line}");
        }
        let mut shown_so_far = 0;
        for (name, &count) in &self.counts {
            let shown = count.min(per_kind);
            for (i, a) in self.anomalies.iter().filter(|a| &a.name == name).take(shown).enumerate()
            {
                let _ = writeln!(out);
                let _ = writeln!(out, "{name} #{} of {count}:", i + 1);
                for line in &a.explanation {
                    let _ = writeln!(out, "  {line}");
                }
                if !a.txns.is_empty() {
                    let _ = writeln!(out, "  where");
                    for t in &a.txns {
                        let _ = writeln!(out, "    {}", txn_line(t, host));
                    }
                }
                if let Some(text) = below(shown_so_far, a) {
                    let _ = writeln!(out);
                    for line in text.lines() {
                        let _ = writeln!(out, "  {line}");
                    }
                }
                shown_so_far += 1;
            }
            if count > shown {
                let _ = writeln!(out);
                let _ = writeln!(out, "... and {} more {name} ({more_hint})", count - shown);
            }
        }
        out
    }

    /// The same content as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a verdict is plain data")
    }
}

/// A transaction's name with what else identifies it: `T594 = txn t360, process 7`.
pub fn txn_title(name: &str, txn_id: Option<&str>, process: u64, host: Option<&str>) -> String {
    let mut title = format!("{name} = ");
    if let Some(id) = txn_id {
        let _ = write!(title, "txn {id}, ");
    }
    let _ = write!(title, "process {process}");
    if let Some(host) = host {
        let _ = write!(title, " on {host}");
    }
    title
}

/// A transaction of an anomaly in one line: its title, when it was invoked and completed
/// (with history lines) and its ops, as the verdict's `where` block lists it.
pub fn txn_line(t: &TxnRef, host: &dyn Fn(u64) -> Option<String>) -> String {
    if let Some(note) = &t.note {
        return format!("{}: {note}", t.name);
    }
    let process = t.process.unwrap_or(0);
    let mut line = txn_title(&t.name, t.txn_id.as_deref(), process, host(process).as_deref());
    let _ = write!(
        line,
        ": invoked {} (line {})",
        format_ms(t.invoke_time.unwrap_or(0)),
        t.invoke_line.unwrap_or(0)
    );
    match (t.completion_time, t.completion_line) {
        (Some(time), Some(l)) => {
            let _ = write!(line, ", {} {} (line {l})", t.outcome, format_ms(time));
        }
        _ => {
            let _ = write!(line, ", never completed");
        }
    }
    let ops: Vec<String> = t.ops.iter().map(op_text).collect();
    let _ = write!(line, ": {}", ops.join(", "));
    if t.ops_total > t.ops.len() {
        let _ = write!(line, " ({} other ops not shown)", t.ops_total - t.ops.len());
    }
    line
}

fn op_text(op: &Op) -> String {
    let value = op.value.as_ref().map_or("null".to_string(), |v| format!("{v:?}"));
    match (op.f, op.version) {
        (OpKind::Read, Some(v)) => format!("r {}@{v} = {value}", op.key),
        (OpKind::Read, None) if op.value.is_none() => format!("r {} = ?", op.key),
        (OpKind::Read, None) => format!("r {} = {value} (own write)", op.key),
        (OpKind::Write, Some(v)) => format!("w {}@{v} = {value}", op.key),
        (OpKind::Write, None) => format!("w {} = {value}", op.key),
    }
}

/// Big transactions (a final read of every key) show only the ops that matter.
pub const OPS_SHOWN: usize = 16;

/// A transaction's ops, or for a big one the ops on `keys` (the anomaly's keys).
fn shown_ops(h: &History, txn: u32, keys: &[u32]) -> Vec<Op> {
    let event = h.last_event(txn);
    if event.ops.len() <= OPS_SHOWN {
        return event.ops.clone();
    }
    let ops = h.ops(txn);
    event
        .ops
        .iter()
        .zip(ops)
        .filter(|(_, op)| keys.contains(&op.key))
        .map(|(op, _)| op.clone())
        .take(OPS_SHOWN)
        .collect()
}

/// A transaction as the history recorded it, with all its ops.
pub(crate) fn txn_ref_of(h: &History, txn: u32) -> TxnRef {
    txn_ref(h, txn, &[])
}

pub(crate) fn txn_ref(h: &History, txn: u32, keys: &[u32]) -> TxnRef {
    let t = &h.txns[txn as usize];
    let invoke = &h.events[t.invoke as usize];
    let done = (t.complete != NONE).then(|| &h.events[t.complete as usize]);
    TxnRef {
        name: label(h, txn),
        process: Some(t.process),
        txn_id: done.and_then(|e| e.txn_id.clone()).or_else(|| invoke.txn_id.clone()),
        outcome: match (t.outcome, done) {
            (Outcome::Ok, _) => "ok",
            (Outcome::Fail, _) => "fail",
            (Outcome::Info, Some(_)) => "info",
            (Outcome::Info, None) => "open",
        }
        .to_string(),
        invoke_index: Some(invoke.index),
        invoke_time: Some(invoke.time),
        invoke_line: Some(t.invoke as usize + 1),
        completion_index: done.map(|e| e.index),
        completion_time: done.map(|e| e.time),
        completion_line: done.map(|_| t.complete as usize + 1),
        ops: shown_ops(h, txn, keys),
        ops_total: h.last_event(txn).ops.len(),
        note: None,
    }
}

/// Names and describes graph nodes (transactions or unknown installers).
pub(crate) struct Namer<'r, 'a> {
    pub(crate) h: &'r History<'a>,
    pub(crate) analysis: &'r Analysis,
}

impl Namer<'_, '_> {
    fn n_txns(&self) -> u32 {
        self.h.txns.len() as u32
    }

    pub(crate) fn name(&self, node: u32) -> String {
        if node < self.n_txns() {
            return label(self.h, node);
        }
        let p = &self.analysis.placeholders[(node - self.n_txns()) as usize];
        let key = self.h.keys.name(p.key);
        if p.low == p.high {
            format!("?{key}@{}", p.low)
        } else {
            format!("?{key}@{}..{}", p.low, p.high)
        }
    }

    pub(crate) fn node_ref(&self, node: u32, keys: &[u32]) -> TxnRef {
        if node < self.n_txns() {
            return txn_ref(self.h, node, keys);
        }
        let p = &self.analysis.placeholders[(node - self.n_txns()) as usize];
        let key = self.h.keys.name(p.key);
        let versions = if p.low == p.high {
            format!("{key}@{}", p.low)
        } else {
            format!("{key}@{}..{}", p.low, p.high)
        };
        let who = if p.candidates.is_empty() {
            "no indeterminate transaction wrote it".to_string()
        } else {
            let names: Vec<String> = p.candidates.iter().map(|&t| label(self.h, t)).collect();
            format!("one of the indeterminate {}", names.join(", "))
        };
        TxnRef {
            name: self.name(node),
            process: None,
            txn_id: None,
            outcome: "unknown".to_string(),
            invoke_index: None,
            invoke_time: None,
            invoke_line: None,
            completion_index: None,
            completion_time: None,
            completion_line: None,
            ops: Vec::new(),
            ops_total: 0,
            note: Some(format!("an unknown installer of {versions} ({who})")),
        }
    }

    /// The version of `key` installed by a node, as text (`x@5` or `x@5..7`).
    fn installed(&self, node: u32, key: u32) -> String {
        let kname = self.h.keys.name(key);
        if node >= self.n_txns() {
            let p = &self.analysis.placeholders[(node - self.n_txns()) as usize];
            return if p.low == p.high {
                format!("{kname}@{}", p.low)
            } else {
                format!("{kname}@{}..{}", p.low, p.high)
            };
        }
        match self.analysis.installed(self.h, node, key) {
            Some(v) => format!("{kname}@{v}"),
            None => format!("{kname}@?"),
        }
    }

    /// The version of `key` a transaction read from the store, preferring `want`.
    fn read(&self, node: u32, key: u32, want: Option<u64>) -> String {
        let kname = self.h.keys.name(key);
        let versions: Vec<u64> = self
            .h
            .ops(node)
            .iter()
            .filter(|op| !op.write && op.key == key && op.version != super::txns::NO_VERSION)
            .map(|op| op.version)
            .collect();
        let v = want.filter(|w| versions.contains(w)).or(versions.first().copied());
        match v {
            Some(v) => format!("{kname}@{v}"),
            None => format!("{kname}@?"),
        }
    }

    fn installed_version(&self, node: u32, key: u32) -> Option<u64> {
        if node >= self.n_txns() {
            return Some(self.analysis.placeholders[(node - self.n_txns()) as usize].low);
        }
        self.analysis.installed(self.h, node, key)
    }

    pub(crate) fn edge(&self, step: &Step) -> CycleEdge {
        let (a, b) = (self.name(step.source), self.name(step.target));
        let key = (step.key != NONE).then(|| self.h.keys.name(step.key).to_string());
        let explanation = match step.kind {
            EdgeKind::Ww => format!(
                "{a} installed {}; {b} installed {} (ww)",
                self.installed(step.source, step.key),
                self.installed(step.target, step.key)
            ),
            EdgeKind::Wr => {
                let v = self.installed_version(step.source, step.key);
                format!(
                    "{a} installed {}; {b} read {} (wr)",
                    self.installed(step.source, step.key),
                    self.read(step.target, step.key, v)
                )
            }
            EdgeKind::Rw => {
                let v = self.installed_version(step.target, step.key).map(|v| v.saturating_sub(1));
                format!(
                    "{a} read {}; {b} installed {} (rw)",
                    self.read(step.source, step.key, v),
                    self.installed(step.target, step.key)
                )
            }
            EdgeKind::Rt => {
                let ta = &self.h.txns[step.source as usize];
                let tb = &self.h.txns[step.target as usize];
                let done = &self.h.events[ta.complete as usize];
                let invoked = &self.h.events[tb.invoke as usize];
                format!(
                    "{a} completed at {} (line {}); {b} was invoked later at {} (line {}) (realtime)",
                    format_ms(done.time),
                    ta.complete + 1,
                    format_ms(invoked.time),
                    tb.invoke + 1
                )
            }
        };
        CycleEdge { from: a, to: b, kind: step.kind.name().to_string(), key, explanation }
    }
}

pub(crate) fn build(
    h: &History,
    analysis: &Analysis,
    cycles: Vec<Cycle>,
    model: Model,
    graph_nodes: usize,
    graph_edges: usize,
) -> Verdict {
    let namer = Namer { h, analysis };
    let mut anomalies: Vec<Anomaly> = Vec::new();
    for Finding { name, key, lines, txns } in &analysis.findings {
        anomalies.push(Anomaly {
            name: name.to_string(),
            explanation: lines.clone(),
            txns: txns.iter().map(|&t| txn_ref(h, t, &[*key])).collect(),
            cycle: Vec::new(),
        });
    }
    for cycle in cycles {
        let edges: Vec<CycleEdge> = cycle.steps.iter().map(|s| namer.edge(s)).collect();
        let mut explanation = vec![format!(
            "a cycle of {} transactions: {}",
            cycle.steps.len(),
            cycle.steps.iter().map(|s| namer.name(s.source)).collect::<Vec<_>>().join(" -> ")
                + " -> "
                + &namer.name(cycle.steps[0].source)
        )];
        explanation.extend(edges.iter().map(|e| e.explanation.clone()));
        anomalies.push(Anomaly {
            name: cycle.name,
            explanation,
            txns: {
                let keys: Vec<u32> = cycle.steps.iter().map(|s| s.key).collect();
                cycle.steps.iter().map(|s| namer.node_ref(s.source, &keys)).collect()
            },
            cycle: edges,
        });
    }
    anomalies.sort_by(|a, b| a.name.cmp(&b.name));
    let mut counts = BTreeMap::new();
    for a in &anomalies {
        *counts.entry(a.name.clone()).or_insert(0) += 1;
    }
    let mut stats = Stats {
        txns: h.txns.len(),
        keys: h.keys.len(),
        graph_nodes,
        graph_edges,
        ..Stats::default()
    };
    for (i, t) in h.txns.iter().enumerate() {
        match t.outcome {
            Outcome::Ok => stats.committed += 1,
            Outcome::Fail => stats.failed += 1,
            Outcome::Info => {
                stats.info += 1;
                if analysis.committed[i] {
                    stats.info_committed += 1;
                }
            }
        }
    }
    Verdict { valid: anomalies.is_empty(), model, counts, stats, anomalies, unknown: None }
}
