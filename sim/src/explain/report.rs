//! Reports a person can follow without the harness's source: what the run was, what it
//! counted, what broke, the transactions involved, and the messages of just those
//! transactions drawn as a text sequence diagram (processes as columns, messages as
//! arrows, losses and partitions marked).
//!
//! One name per transaction everywhere: `T<n>`, the transaction invoked at history event
//! `n`, as the checker names it. The store's txn id, the history process and the
//! simulated client are attached to that name once, where the transaction is listed
//! (`T583 = txn t321, process 4 on client c5`); diagram rows carry the name too. One unit
//! of time: milliseconds of virtual time, with three decimals.
//!
//! The words come from the run's [`Scene`] and [`Summary`], which the HTML page draws
//! too: this module only picks the rows a diagram shows and draws them as text.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::check::report::TextOptions;
use crate::check::{Anomaly, Verdict};
use crate::explain::render::format_ms;
use crate::explain::scene::{Mark, Row, Scene, Scope, Summary, TxnNames, Violation};
use crate::hunt::outcome::RunOutcome;
use crate::world::black_box::shell_quote;
use crate::world::store::StoreSpec;
use crate::world::topology::Role;
use crate::world::Simulation;

/// Width of one process column of a sequence diagram.
const COLUMN: usize = 12;
/// Network events (partitions, heal) shown before and after the involved transactions.
const MARGIN_US: u64 = 2_000;
/// At most this many rows per diagram; the rest is summarised.
const ROWS_MAX: usize = 80;

/// What a cluster's diagrams add; printed after [`DIAGRAM_LEGEND`] for a run of several
/// nodes.
pub const CLUSTER_LEGEND: &[&str] =
    &["  a cluster: n1..nN each own a shard of the keys; a client's node coordinates its \
     transaction, and the messages between nodes are drawn too: occ_read and occ_commit \
     forwarded to a key's owner, txn_prepare w[..] rv[..] -> txn_prepare_ok YES, will \
     install [k@v ..] or NO, txn_decide COMMIT/ABORT -> txn_decide_ok, and txn_query (a \
     participant in doubt asking the coordinator) -> txn_query_ok"];

/// How to read a sequence diagram; printed once, above the first one.
pub const DIAGRAM_LEGEND: &[&str] = &[
    "how to read the message diagrams:",
    "  one column per process (n1: the store; c<k>: simulated client k, the last one runs the \
     final read); one row per message, at the time it was sent (ms of virtual time)",
    "  |--->|: delivered to the column the head points at; |--X  |: lost, [dropped] by the \
     network, cut by a [partitioned] link, or [undelivered] because it arrived while the \
     store was down; [duplicated]: delivered twice",
    "  each row starts with the name of the transaction the message belongs to; (msg N): the \
     sender's message id; (re N): a reply to message N",
    "  occ_read k -> occ_read_ok k@v=x: the store holds value x at version v of key k \
     (null@0: absent)",
    "  occ_commit w[k=x ...] rv[k@v ...]: the writes, and the versions read that must still \
     be current; occ_commit_ok committed [k@v ...]: the versions installed; ABORTED (k read \
     @v, now @w): the conflicts",
    "  ~~~: a network event (a partition starts or heals, the fault phase ends), or the \
     store crashing (what became of its unsynced writes, the replies it held for a sync) \
     or restarting (what recovery found in its log)",
];

/// How much a report shows.
#[derive(Clone, Copy, Debug)]
pub struct Detail {
    /// Anomalies explained in full per name.
    pub per_kind: usize,
    /// Draw the messages of every anomaly shown, or of the first one only.
    pub all_diagrams: bool,
    /// Workload invariant violations listed.
    pub violations: usize,
    /// Where the ones left out can be seen.
    pub more_hint: &'static str,
}

impl Detail {
    /// What `sim run` prints.
    pub const STDOUT: Detail = Detail {
        per_kind: 3,
        all_diagrams: false,
        violations: 5,
        more_hint: "rerun with --report FILE for all",
    };
    /// Everything: the `--report` file.
    pub const FULL: Detail =
        Detail { per_kind: usize::MAX, all_diagrams: true, violations: usize::MAX, more_hint: "" };
    /// A shrunk run: small, so every anomaly shown gets its diagram.
    pub const SHRUNK: Detail = Detail {
        per_kind: 3,
        all_diagrams: true,
        violations: 5,
        more_hint: "run the reproduce command with --report FILE for all",
    };
}

/// How to rerun a run: the command, and for a failing run flags can reproduce, where to
/// keep it.
pub struct Repro {
    pub command: String,
    pub record: Option<crate::hunt::flags::Record>,
}

/// The report of a run: configuration and fault mix, counts, the verdict with its
/// anomalies explained (and the messages of their transactions drawn), invariants,
/// liveness, the fingerprint and, on failure, how to reproduce it.
pub fn run_report(outcome: &RunOutcome, repro: &Repro, detail: &Detail) -> String {
    let sim = &outcome.sim;
    let names = TxnNames::of(sim);
    let summary = Summary::of(outcome, &names);
    let mut out = String::new();
    header(&mut out, sim, &summary);
    match &outcome.verdict {
        Ok(verdict) => out.push_str(&verdict_with_diagrams(sim, &names, verdict, detail)),
        Err(error) => {
            let _ = writeln!(out, "valid: unknown (the history could not be checked: {error})");
        }
    }
    violations(&mut out, &names, &summary.violations, detail);
    footer(&mut out, outcome, &summary, repro);
    out
}

/// What was run, and what it counted.
fn header(out: &mut String, sim: &Simulation, summary: &Summary) {
    let c = &sim.config;
    let _ = writeln!(out, "seed {}: {}", c.seed, summary.run);
    if c.nodes > 1 {
        // Drawn per seed: what a shard map's bug depends on.
        let _ = writeln!(out, "membership: init's node_ids [{}]", sim.node_ids.join(", "));
    }
    let (faults, mix) = &summary.faults;
    let _ = writeln!(out, "{faults}: {mix}");
    store(out, sim);
    out.push_str(&summary.counts.render());
    let _ = writeln!(out, "messages: {}", summary.messages);
    if let Some(disk) = &summary.disk {
        let _ = writeln!(out, "store's disk: {disk}");
    }
    let _ = writeln!(out, "virtual time: {}", summary.virtual_time);
}

/// The store, unless it is the shipped one; for a binary, what it leaves out and which
/// checks are weaker.
fn store(out: &mut String, sim: &Simulation) {
    let c = &sim.config;
    if let StoreSpec::Custom(custom) = &c.store {
        let _ = writeln!(out, "store: {} (a Rust store, in process)", custom.name);
    }
    let StoreSpec::Binary(spec) = &c.store else { return };
    let _ = writeln!(
        out,
        "store: --bin {} ({} process{}, lockstep); left out for a binary: the disk fault \
         family (the simulated disk is the shipped store's; crash kills the process), \
         coverage marks, the bound on its tables' sizes, judging its messages to its \
         peers (its own protocol), and whether a version an abort names was ever \
         announced (its peers' messages and held replies are unseen)",
        shell_quote(&spec.command),
        c.nodes,
        if c.nodes == 1 { "" } else { "es" }
    );
    let (derived, unproved) = sim.versions_derived;
    if derived + unproved > 0 {
        let _ = writeln!(
            out,
            "weaker checks: {} commit answers named no per-key versions (as the task this \
             protocol comes from shows them): {derived} had their versions derived from \
             the versions they read (each +1) and new_version, {unproved} could not be and \
             count as indeterminate (may or may not have committed); an abort that names \
             no conflicts is not checked for being spurious",
            derived + unproved
        );
    }
}

/// The verdict with its anomalies explained, the first (or each) drawn as a sequence
/// diagram below it, the legend above the first diagram.
fn verdict_with_diagrams(
    sim: &Simulation,
    names: &TxnNames,
    verdict: &Verdict,
    detail: &Detail,
) -> String {
    // Built at the first diagram: a report without one never decodes the trace.
    let mut scene: Option<Scene> = None;
    let mut below = |shown: usize, anomaly: &Anomaly| {
        if shown > 0 && !detail.all_diagrams {
            return None;
        }
        let scene = scene.get_or_insert_with(|| Scene::of(sim, names));
        let diagram = diagram_of(sim, names, scene, anomaly)?;
        let mut text = String::new();
        if shown == 0 {
            for line in DIAGRAM_LEGEND {
                let _ = writeln!(text, "{line}");
            }
            if sim.config.nodes > 1 {
                for line in CLUSTER_LEGEND {
                    let _ = writeln!(text, "{line}");
                }
            }
        }
        let _ = writeln!(text, "messages of these transactions:");
        text.push_str(&diagram);
        Some(text)
    };
    verdict.render_text_with(TextOptions {
        per_kind: detail.per_kind,
        host: &|process| names.host(process),
        below: &mut below,
        more_hint: detail.more_hint,
    })
}

/// The invariant violations, each with the transactions it names.
fn violations(out: &mut String, names: &TxnNames, violations: &[Violation], detail: &Detail) {
    if !violations.is_empty() {
        let _ = writeln!(out);
    }
    for violation in violations.iter().take(detail.violations) {
        let _ = writeln!(out, "{}: {}", violation.name, violation.explanation);
        for txn in &violation.txns {
            let _ = writeln!(out, "  where {}", names.title(*txn));
        }
    }
    if violations.len() > detail.violations {
        let _ = writeln!(
            out,
            "... and {} more invariant violations ({})",
            violations.len() - detail.violations,
            detail.more_hint
        );
    }
}

/// How the run stopped if it did not finish, its fingerprint, and on failure the
/// headline and how to reproduce it.
fn footer(out: &mut String, outcome: &RunOutcome, summary: &Summary, repro: &Repro) {
    for stop in &summary.failures {
        let _ = writeln!(out, "{stop}");
    }
    let failure = outcome.failure();
    if failure.is_some() {
        out.push('\n');
    }
    let _ = writeln!(out, "fingerprint: {:016x}", outcome.sim.fingerprint);
    if let Some(failure) = failure {
        let _ = writeln!(out, "FAILED: {}", failure.headline());
        let _ = writeln!(out, "reproduce: {}", repro.command);
        if let Some(record) = &repro.record {
            let (label, text) = record.label_and_text();
            let _ = writeln!(out, "{label}: {text}");
        }
    }
}

/// The diagram of the messages of an anomaly's transactions. Needs a run recorded with
/// `record_trace`.
pub fn sequence_diagram(sim: &Simulation, anomaly: &Anomaly) -> Option<String> {
    let names = TxnNames::of(sim);
    diagram_of(sim, &names, &Scene::of(sim, &names), anomaly)
}

/// What a diagram of one anomaly shows: its transactions' messages, on the columns of
/// their clients and every node, and the marks of their span of time with a margin.
struct Frame {
    involved: BTreeSet<u64>,
    columns: Vec<usize>,
    from_us: u64,
    to_us: u64,
}

impl Frame {
    /// `None` when none of the anomaly's transactions ran on a simulated process.
    fn of(sim: &Simulation, anomaly: &Anomaly) -> Option<Frame> {
        let mut involved: BTreeSet<u64> = BTreeSet::new();
        let mut columns: BTreeSet<usize> = BTreeSet::new();
        let (mut start_us, mut end_us) = (u64::MAX, 0);
        for txn in &anomaly.txns {
            let Some(index) = txn.process.and_then(|p| sim.process_index.get(&p)) else {
                continue;
            };
            let Some(invoked) = txn.invoke_index else { continue };
            involved.insert(invoked);
            columns.insert(*index);
            start_us = start_us.min(txn.invoke_time.unwrap_or(0));
            end_us = end_us.max(txn.completion_time.unwrap_or(sim.virtual_duration_us));
        }
        if columns.is_empty() {
            return None;
        }
        columns.extend((0..sim.names.len()).filter(|i| sim.roles[*i] == Role::Node));
        Some(Frame {
            involved,
            columns: columns.into_iter().collect(),
            from_us: start_us.saturating_sub(MARGIN_US),
            to_us: end_us + MARGIN_US,
        })
    }
}

fn diagram_of(
    sim: &Simulation,
    names: &TxnNames,
    scene: &Scene,
    anomaly: &Anomaly,
) -> Option<String> {
    let frame = Frame::of(sim, anomaly)?;
    let rows: Vec<String> = scene
        .rows
        .iter()
        .filter_map(|row| match *row {
            Row::Message(i) => message_row(sim, names, scene, &frame, i),
            Row::Mark(i) => mark_row(sim, &frame, &scene.marks[i]),
        })
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:>12} ", "sent at");
    for &c in &frame.columns {
        let _ = write!(out, "{:<COLUMN$}", sim.names[c]);
    }
    out.push('\n');
    let shown = rows.len().min(ROWS_MAX);
    for row in &rows[..shown] {
        out.push_str(row);
        out.push('\n');
    }
    if rows.len() > shown {
        let _ = writeln!(out, "... {} more messages (see --trace for all)", rows.len() - shown);
    }
    Some(out)
}

/// Message `i` as an arrow, if it belongs to one of the frame's transactions and was
/// sent before the frame ends.
fn message_row(
    sim: &Simulation,
    names: &TxnNames,
    scene: &Scene,
    frame: &Frame,
    i: usize,
) -> Option<String> {
    let m = &scene.messages[i];
    m.txn.filter(|t| frame.involved.contains(t))?;
    if m.time_us > frame.to_us {
        return None;
    }
    let (a, b) = (position(&frame.columns, m.source)?, position(&frame.columns, m.target)?);
    let label = scene.label(i, names, &sim.names);
    Some(arrow_row(m.time_us, frame.columns.len(), a, b, m.gone(), &label))
}

/// A mark within the frame's span as a banner across the columns: `n1 crashed: ...`.
fn mark_row(sim: &Simulation, frame: &Frame, (time_us, mark): &(u64, Mark)) -> Option<String> {
    if !(frame.from_us..=frame.to_us).contains(time_us) {
        return None;
    }
    let label = mark.label_among(&sim.names, |p| frame.columns.contains(&p));
    let label = match mark.scope {
        Scope::World => label,
        Scope::Process(p) => format!("{} {label}", sim.names[p]),
    };
    Some(banner_row(*time_us, frame.columns.len(), &label))
}

fn position(columns: &[usize], process: usize) -> Option<usize> {
    columns.iter().position(|c| *c == process)
}

/// `   12.345ms |---------->|           |   T3 occ_read x`: an arrow from column `a` to
/// column `b`; a lost message stops short with `X`.
fn arrow_row(time_us: u64, width: usize, a: usize, b: usize, lost: bool, label: &str) -> String {
    let mut line: Vec<char> = vec![' '; width * COLUMN];
    for c in 0..width {
        line[c * COLUMN] = '|';
    }
    let (left, right) = (a.min(b) * COLUMN, a.max(b) * COLUMN);
    for cell in line.iter_mut().take(right).skip(left + 1) {
        *cell = '-';
    }
    if a < b {
        line[right - 1] = '>';
    } else {
        line[left + 1] = '<';
    }
    if lost {
        let mut middle = (left + right) / 2;
        if middle % COLUMN == 0 {
            // Not on a bystander's column line.
            middle += 1;
        }
        line[middle] = 'X';
        let (keep_from, keep_to) = if a < b { (left + 1, middle) } else { (middle + 1, right) };
        for (i, cell) in line.iter_mut().enumerate().take(right).skip(left + 1) {
            if (i < keep_from || i >= keep_to) && i != middle {
                *cell = ' ';
            }
        }
    }
    let drawn: String = line.into_iter().collect();
    format!("{:>12} {drawn} {label}", format_ms(time_us))
}

fn banner_row(time_us: u64, width: usize, label: &str) -> String {
    let drawn: String = "~".repeat(width.saturating_sub(1) * COLUMN + 1);
    format!("{:>12} {drawn} {label}", format_ms(time_us))
}
