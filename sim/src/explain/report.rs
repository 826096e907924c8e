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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use node::codec;
use node::protocol::{Conflict, KeyValue, KeyVersion, Payload};
use workloads::history::EventKind;

use crate::check::report::{txn_title, TextOptions};
use crate::check::Anomaly;
use crate::explain::render::format_ms;
use crate::hunt::outcome::RunOutcome;
use crate::world::black_box::shell_quote;
use crate::world::store::StoreSpec;
use crate::world::topology::Role;
use crate::world::{Simulation, TraceEvent};

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

/// The names the harness gives a run's transactions, and what is attached to them.
pub struct TxnNames<'s> {
    sim: &'s Simulation,
    /// The store's txn id -> `T<n>` (from the history's completions).
    by_txn_id: BTreeMap<&'s str, u64>,
    /// `n` of `T<n>` -> (history process, store txn id).
    txns: BTreeMap<u64, (u64, Option<&'s str>)>,
    /// Per simulated process (index into `names`): its invocations, (time, `n`), in order.
    invocations: BTreeMap<usize, Vec<(u64, u64)>>,
}

impl<'s> TxnNames<'s> {
    pub fn of(sim: &'s Simulation) -> TxnNames<'s> {
        let mut names = TxnNames {
            sim,
            by_txn_id: BTreeMap::new(),
            txns: BTreeMap::new(),
            invocations: BTreeMap::new(),
        };
        let mut open: BTreeMap<u64, u64> = BTreeMap::new();
        for event in &sim.history {
            if event.kind == EventKind::Invoke {
                open.insert(event.process, event.index);
                names.txns.insert(event.index, (event.process, None));
                if let Some(&index) = sim.process_index.get(&event.process) {
                    names.invocations.entry(index).or_default().push((event.time, event.index));
                }
                continue;
            }
            let Some(txn) = open.remove(&event.process) else { continue };
            if let Some(id) = event.txn_id.as_deref() {
                names.by_txn_id.insert(id, txn);
                names.txns.insert(txn, (event.process, Some(id)));
            }
        }
        names
    }

    /// Where a history process ran: `client c3` (or `client c6, the final read`).
    pub fn host(&self, process: u64) -> Option<String> {
        let index = *self.sim.process_index.get(&process)?;
        let name = &self.sim.names[index];
        Some(if self.sim.roles[index] == Role::FinalReader {
            format!("client {name}, the final read")
        } else {
            format!("client {name}")
        })
    }

    /// `T583 = txn t321, process 4 on client c5`.
    pub fn title(&self, txn: u64) -> String {
        let (process, id) = self.txns.get(&txn).copied().unwrap_or((0, None));
        txn_title(&format!("T{txn}"), id, process, self.host(process).as_deref())
    }

    /// `text` with every store txn id of a transaction in the history replaced by its
    /// `T<n>`, and the `n`s it named.
    pub fn rename(&self, text: &str) -> (String, Vec<u64>) {
        rename_ids(text, |word| self.by_txn_id.get(word).copied())
    }

    /// `T<n>` of the transaction the store knows as `txn_id`.
    pub(crate) fn of_txn_id(&self, txn_id: &str) -> Option<u64> {
        self.by_txn_id.get(txn_id).copied()
    }

    /// The store's txn id of `T<n>`, when it completed with one.
    pub(crate) fn txn_id(&self, txn: u64) -> Option<&'s str> {
        self.txns.get(&txn).and_then(|t| t.1)
    }

    /// The transaction a simulated process was running at `time_us`: its latest
    /// invocation at or before then. A client sends only for the transaction in progress,
    /// and it never sends and completes at the same instant (every message takes at least
    /// the network's base delay).
    pub(crate) fn running(&self, index: usize, time_us: u64) -> Option<u64> {
        let invocations = self.invocations.get(&index)?;
        let after = invocations.partition_point(|(time, _)| *time <= time_us);
        after.checked_sub(1).map(|i| invocations[i].1)
    }
}

/// `text` with every word (a run of ASCII letters and digits) that `txn_of` knows as a
/// store txn id replaced by `T<n>`, and the `n`s, in order of mention.
fn rename_ids(text: &str, txn_of: impl Fn(&str) -> Option<u64>) -> (String, Vec<u64>) {
    let mut named = Vec::new();
    let out = map_words(text, |word| {
        let txn = txn_of(word)?;
        named.push(txn);
        Some(format!("T{txn}"))
    });
    // A cluster's ids name their coordinator (`t57.n2`): two words around a dot.
    let out = match out.contains('.') {
        true => map_dotted_pairs(&out, |pair| {
            let txn = txn_of(pair)?;
            named.push(txn);
            Some(format!("T{txn}"))
        }),
        false => out,
    };
    (out, named)
}

/// `text` with each `word.word` (runs of ASCII letters and digits joined by one dot)
/// replaced by what `replace` makes of it, or kept when it makes nothing.
fn map_dotted_pairs(text: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let bytes = text.as_bytes();
    let word_end = |from: usize| {
        (from..bytes.len()).find(|&i| !bytes[i].is_ascii_alphanumeric()).unwrap_or(bytes.len())
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = bytes[i].is_ascii_alphanumeric()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'.');
        if starts_word {
            let first = word_end(i);
            if bytes.get(first) == Some(&b'.')
                && bytes.get(first + 1).is_some_and(u8::is_ascii_alphanumeric)
            {
                let second = word_end(first + 1);
                if let Some(replaced) = replace(&text[i..second]) {
                    out.push_str(&replaced);
                    i = second;
                    continue;
                }
            }
            out.push_str(&text[i..first]);
            i = first;
            continue;
        }
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

/// `text` with each word (a run of ASCII letters and digits) replaced by what `replace`
/// makes of it, or kept when it makes nothing.
fn map_words(text: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let len = match rest.find(|c: char| !c.is_ascii_alphanumeric()) {
            Some(0) => first.len_utf8(),
            Some(len) => len,
            None => rest.len(),
        };
        let (word, after) = rest.split_at(len);
        match replace(word).filter(|_| first.is_ascii_alphanumeric()) {
            Some(replaced) => out.push_str(&replaced),
            None => out.push_str(word),
        }
        rest = after;
    }
    out
}

/// Counts of a run in two units, and how they add up to what the checker counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Logical transactions the clients were to run.
    pub planned: u64,
    /// Of those: committed, indeterminate (each ends its program), given up after the last
    /// attempt aborted or failed, never finished (only when the run got stuck).
    pub committed: u64,
    pub indeterminate: u64,
    pub given_up: u64,
    pub unfinished: u64,
    /// Attempts: every invocation of the workload's clients in the history (a retry is a
    /// new attempt). Each ended committed (`ok`), aborted by a conflict or failed
    /// otherwise (both `fail`), indeterminate (`info`), or is still open.
    pub attempts: u64,
    pub aborted: u64,
    pub failed: u64,
    pub open: u64,
    /// The final read's transactions (marked `final` in the history), which read every
    /// key once the clients are done and the network is quiescent.
    pub final_reads: u64,
    /// The history's transactions by type, as the checker counts them (open ones count
    /// as `info`): the attempts' outcomes plus the final read's.
    pub history_ok: u64,
    pub history_fail: u64,
    pub history_info: u64,
}

impl RunCounts {
    pub fn of(sim: &Simulation) -> RunCounts {
        let s = &sim.clients;
        // The final read's events are marked; everything else is a client's attempt.
        let (mut attempts, mut final_reads) = (0, 0);
        let (mut final_ok, mut final_fail) = (0, 0);
        for event in &sim.history {
            match (event.final_read, event.kind) {
                (false, EventKind::Invoke) => attempts += 1,
                (true, EventKind::Invoke) => final_reads += 1,
                (true, kind) => {
                    final_ok += u64::from(kind == EventKind::Ok);
                    final_fail += u64::from(kind == EventKind::Fail);
                }
                (false, _) => {}
            }
        }
        let planned = match &sim.config.keep {
            None => sim.config.txns,
            Some(keep) => keep.values().map(|programs| programs.len() as u64).sum(),
        };
        let open = attempts - s.attempts();
        RunCounts {
            planned,
            committed: s.committed,
            indeterminate: s.indeterminate,
            given_up: s.given_up(),
            unfinished: planned - s.finished,
            attempts,
            aborted: s.aborted,
            failed: s.failed,
            open,
            final_reads,
            history_ok: s.committed + final_ok,
            history_fail: s.aborted + s.failed + final_fail,
            history_info: s.indeterminate + open + (final_reads - final_ok - final_fail),
        }
    }

    /// Three lines: logical transactions, attempts, and the history the checker reads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "logical transactions: {} planned: {} committed, {} indeterminate, {} given up (the last \
             attempt failed, or was abandoned)",
            self.planned, self.committed, self.indeterminate, self.given_up
        );
        if self.unfinished > 0 {
            let _ = write!(out, ", {} never finished", self.unfinished);
        }
        let answered = self.committed + self.aborted;
        let abort_permille = (self.aborted * 1000).checked_div(answered).unwrap_or(0);
        let _ = write!(
            out,
            "\nattempts (a retry after an abort or failure is a new one): {}: {} committed, {} \
             aborted by a conflict, {} failed (unanswered, refused or abandoned), {} indeterminate",
            self.attempts, self.committed, self.aborted, self.failed, self.indeterminate
        );
        if self.open > 0 {
            let _ = write!(out, ", {} still open", self.open);
        }
        let _ = writeln!(
            out,
            "; {}.{}% of answered commits aborted",
            abort_permille / 10,
            abort_permille % 10
        );
        let _ = writeln!(
            out,
            "history: {} transactions = {} attempts + {} final read{}, as the checker counts \
             them: ok {}, fail {}, info {}",
            self.attempts + self.final_reads,
            self.attempts,
            self.final_reads,
            if self.final_reads == 1 { "" } else { "s" },
            self.history_ok,
            self.history_fail,
            self.history_info
        );
        out
    }
}

/// The report of a run: configuration and fault mix, counts, the verdict with its
/// anomalies explained (and the messages of their transactions drawn), invariants,
/// liveness, the fingerprint and, on failure, how to reproduce it.
pub fn run_report(outcome: &RunOutcome, repro: &Repro, detail: &Detail) -> String {
    let sim = &outcome.sim;
    let names = TxnNames::of(sim);
    let c = &sim.config;
    let mut out = String::new();
    let cluster = match c.nodes {
        1 => String::new(),
        n => format!(", {n} nodes"),
    };
    let _ = writeln!(
        out,
        "seed {}: workload {}{cluster}, {} clients, {} txns, {} keys per family",
        c.seed,
        c.workload.name(),
        c.clients,
        c.txns,
        c.keys
    );
    if c.nodes > 1 {
        // Drawn per seed: what a shard map's bug depends on.
        let _ = writeln!(out, "membership: init's node_ids [{}]", sim.node_ids.join(", "));
    }
    let _ = writeln!(out, "faults ({}): {}", c.faults.flag(), sim.mix);
    if let StoreSpec::Custom(custom) = &c.store {
        let _ = writeln!(out, "store: {} (a Rust store, in process)", custom.name);
    }
    if let StoreSpec::Binary(spec) = &c.store {
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
    out.push_str(&RunCounts::of(sim).render());
    let n = &sim.network;
    let _ = writeln!(
        out,
        "messages: {} sent, {} delivered, {} dropped, {} lost to partitions, {} duplicated",
        n.sent, n.delivered, n.dropped, n.partitioned, n.duplicated
    );
    // A binary's disk is its own: the harness saw no syncs to count.
    if (sim.mix.crash.is_some() || sim.mix.disk.is_some()) && !c.store.is_binary() {
        let d = &sim.disk;
        let _ = writeln!(
            out,
            "store's disk: {} syncs, {} crashes ({} messages arrived while it was down); \
             unsynced writes at the crashes: {} lost, {} torn, {} kept whole; {} corrupted reads",
            d.syncs,
            d.crashes,
            n.undelivered,
            d.lost_writes,
            d.torn_writes,
            d.kept_writes,
            d.corrupted_reads
        );
    }
    let healed = sim.healed_at_us.map_or("never".to_string(), format_ms);
    let _ = writeln!(
        out,
        "virtual time: {} (faults healed at {healed})",
        format_ms(sim.virtual_duration_us)
    );
    match &outcome.verdict {
        Ok(verdict) => {
            let mut below = |shown: usize, anomaly: &Anomaly| {
                if shown > 0 && !detail.all_diagrams {
                    return None;
                }
                let diagram = sequence_diagram_named(sim, &names, anomaly)?;
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
            out.push_str(&verdict.render_text_with(TextOptions {
                per_kind: detail.per_kind,
                host: &|process| names.host(process),
                below: &mut below,
                more_hint: detail.more_hint,
            }));
        }
        Err(error) => {
            let _ = writeln!(out, "valid: unknown (the history could not be checked: {error})");
        }
    }
    let violations = &outcome.violations;
    if !violations.is_empty() {
        let _ = writeln!(out);
    }
    for violation in violations.iter().take(detail.violations) {
        // A protocol violation names the store's txn ids; the report names T<n>.
        let (explanation, mut txns) = names.rename(&violation.explanation);
        txns.extend(violation.invoke_index);
        txns.sort_unstable();
        txns.dedup();
        let _ = writeln!(out, "{}: {}", violation.name, explanation);
        for txn in txns {
            let _ = writeln!(out, "  where {}", names.title(txn));
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
    if let Some(error) = &sim.internal_error {
        let _ = writeln!(out, "internal error: {}", error.in_ms());
    }
    if let Some(panic) = &sim.node_panic {
        let _ = writeln!(out, "the store panicked: {}", panic.in_ms());
    }
    if let Some(failure) = &sim.liveness_failure {
        let _ = writeln!(out, "liveness failure: {}", failure.in_ms());
    }
    let failure = outcome.failure();
    if failure.is_some() {
        out.push('\n');
    }
    let _ = writeln!(out, "fingerprint: {:016x}", sim.fingerprint);
    if let Some(failure) = failure {
        let _ = writeln!(out, "FAILED: {}", failure.headline());
        let _ = writeln!(out, "reproduce: {}", repro.command);
        if let Some(record) = &repro.record {
            let (label, text) = record.label_and_text();
            let _ = writeln!(out, "{label}: {text}");
        }
    }
    out
}

/// The diagram of the messages of an anomaly's transactions. Needs a run recorded with
/// `record_trace`.
pub fn sequence_diagram(sim: &Simulation, anomaly: &Anomaly) -> Option<String> {
    sequence_diagram_named(sim, &TxnNames::of(sim), anomaly)
}

fn sequence_diagram_named(sim: &Simulation, names: &TxnNames, anomaly: &Anomaly) -> Option<String> {
    let mut involved: BTreeSet<u64> = BTreeSet::new();
    let mut columns: BTreeSet<usize> = BTreeSet::new();
    let (mut start_us, mut end_us) = (u64::MAX, 0);
    for txn in &anomaly.txns {
        let Some(index) = txn.process.and_then(|p| sim.process_index.get(&p)) else { continue };
        let Some(invoked) = txn.invoke_index else { continue };
        involved.insert(invoked);
        columns.insert(*index);
        start_us = start_us.min(txn.invoke_time.unwrap_or(0));
        end_us = end_us.max(txn.completion_time.unwrap_or(sim.virtual_duration_us));
    }
    if columns.is_empty() {
        return None;
    }
    let nodes: Vec<usize> = (0..sim.names.len()).filter(|i| sim.roles[*i] == Role::Node).collect();
    columns.extend(nodes);
    let columns: Vec<usize> = columns.into_iter().collect();
    let (from_us, to_us) = (start_us.saturating_sub(MARGIN_US), end_us + MARGIN_US);
    // Copies that arrived while their target was down, by (source, target, wire).
    let mut undelivered: BTreeMap<(usize, usize, &str), u32> = BTreeMap::new();
    for event in &sim.trace {
        if let TraceEvent::Undelivered { source, target, wire, .. } = event {
            *undelivered.entry((*source, *target, wire.as_str())).or_default() += 1;
        }
    }
    // Requests by (sender, msg_id): their transaction and what they asked for, so that a
    // reply (which carries neither) is named and described too.
    let mut requests: BTreeMap<(usize, u64), (u64, Payload)> = BTreeMap::new();
    let mut rows = Vec::new();
    for event in &sim.trace {
        let row = match event {
            TraceEvent::Send { time_us, source, target, wire, fate } => {
                let Ok(envelope) = codec::decode(wire) else { continue };
                let body = envelope.body;
                let txn = match body.in_reply_to {
                    Some(reply) => requests.get(&(*target, reply)).map(|r| r.0),
                    // A node's own request (a forwarded read or commit, a prepare, a
                    // decision) belongs to the transaction it names.
                    None if sim.roles[*source] == Role::Node => {
                        let txn = payload_txn_id(&body.payload).and_then(|id| names.of_txn_id(id));
                        if let (Some(txn), Some(id)) = (txn, body.msg_id) {
                            requests.insert((*source, id), (txn, body.payload.clone()));
                        }
                        txn
                    }
                    None => {
                        let txn = names.running(*source, *time_us);
                        if let (Some(txn), Some(id)) = (txn, body.msg_id) {
                            requests.insert((*source, id), (txn, body.payload.clone()));
                        }
                        txn
                    }
                };
                let Some(txn) = txn.filter(|t| involved.contains(t)) else { continue };
                if *time_us > to_us {
                    continue;
                }
                let (Some(a), Some(b)) = (position(&columns, *source), position(&columns, *target))
                else {
                    continue;
                };
                let request = body.in_reply_to.and_then(|r| requests.get(&(*target, r)));
                let mut label = format!(
                    "T{txn} {}",
                    describe(&body.payload, request.map(|r| &r.1), names.txn_id(txn))
                );
                match (body.msg_id, body.in_reply_to) {
                    (_, Some(reply)) => {
                        let _ = write!(label, " (re {reply})");
                    }
                    (Some(id), None) => {
                        let _ = write!(label, " (msg {id})");
                    }
                    _ => {}
                }
                let copies = if fate == "duplicated" { 2 } else { u32::from(fate == "sent") };
                let arrived_down = undelivered.get(&(*source, *target, wire.as_str())).copied();
                let arrived_down = arrived_down.unwrap_or(0).min(copies);
                if fate != "sent" {
                    let _ = write!(label, " [{fate}]");
                }
                if arrived_down > 0 {
                    let _ = write!(label, " [undelivered: {} was down]", sim.names[*target]);
                }
                let lost = (fate != "sent" && fate != "duplicated") || arrived_down == copies;
                arrow_row(*time_us, columns.len(), a, b, lost, &label)
            }
            TraceEvent::Partition { time_us, kind, cut } if (from_us..=to_us).contains(time_us) => {
                let links: Vec<String> = cut
                    .iter()
                    .filter(|(s, t)| columns.contains(s) && columns.contains(t))
                    .map(|(s, t)| format!("{}->{}", sim.names[*s], sim.names[*t]))
                    .collect();
                banner_row(
                    *time_us,
                    columns.len(),
                    &format!(
                        "partition ({kind}) cuts {}",
                        if links.is_empty() {
                            "none of these links".to_string()
                        } else {
                            links.join(" ")
                        }
                    ),
                )
            }
            TraceEvent::PartitionHealed { time_us, kind }
                if (from_us..=to_us).contains(time_us) =>
            {
                banner_row(*time_us, columns.len(), &format!("{kind} healed"))
            }
            TraceEvent::Heal { time_us } if (from_us..=to_us).contains(time_us) => {
                banner_row(*time_us, columns.len(), "fault phase over: network healed")
            }
            TraceEvent::Crash { time_us, process, damage, held }
                if (from_us..=to_us).contains(time_us) =>
            {
                let label = format!(
                    "{} crashed: {damage}; {held} replies held for a sync lost",
                    sim.names[*process]
                );
                banner_row(*time_us, columns.len(), &label)
            }
            TraceEvent::Restart { time_us, process, recovered }
                if (from_us..=to_us).contains(time_us) =>
            {
                banner_row(
                    *time_us,
                    columns.len(),
                    &format!("{} restarted: {recovered}", sim.names[*process]),
                )
            }
            _ => continue,
        };
        rows.push(row);
    }
    let mut out = String::new();
    let _ = write!(out, "{:>12} ", "sent at");
    for &c in &columns {
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

/// The transaction a message names, if its type carries one.
pub(crate) fn payload_txn_id(payload: &Payload) -> Option<&str> {
    match payload {
        Payload::OccRead { txn_id, .. }
        | Payload::OccCommit { txn_id, .. }
        | Payload::TxnPrepare { txn_id, .. }
        | Payload::TxnPrepareOk { txn_id, .. }
        | Payload::TxnDecide { txn_id, .. }
        | Payload::TxnDecideOk { txn_id }
        | Payload::TxnQuery { txn_id }
        | Payload::TxnQueryOk { txn_id, .. } => Some(txn_id),
        _ => None,
    }
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

/// A message in a few words, its transaction named by the caller: `occ_read x`,
/// `occ_read_ok x@4=3.1` (`request` is what a reply answers), `occ_commit w[x=3] rv[x@2]`.
/// The store's txn id is shown only where it is news: the reply that hands it out, and
/// any id other than the one the transaction went on to use (`own_id`).
pub(crate) fn describe(
    payload: &Payload,
    request: Option<&Payload>,
    own_id: Option<&str>,
) -> String {
    let foreign = |id: &str| match own_id {
        Some(own) if own == id => String::new(),
        _ => format!(" (txn {id})"),
    };
    match payload {
        Payload::OccBegin => "occ_begin".to_string(),
        Payload::OccBeginOk { txn_id } if own_id == Some(txn_id.as_str()) => {
            format!("occ_begin_ok {txn_id}")
        }
        Payload::OccBeginOk { txn_id } => format!("occ_begin_ok {txn_id} (not used)"),
        Payload::OccRead { txn_id, key } => format!("occ_read {key}{}", foreign(txn_id)),
        Payload::OccReadOk { value, version } => {
            let key = match request {
                Some(Payload::OccRead { key, .. }) => key.as_str(),
                _ => "?",
            };
            format!("occ_read_ok {key}@{version}={}", value.as_deref().unwrap_or("null"))
        }
        Payload::OccCommit { txn_id, writes, read_versions } => {
            format!("occ_commit {}{}", writes_and_reads(writes, read_versions), foreign(txn_id))
        }
        Payload::OccCommitOk { committed: true, versions, .. } => {
            format!("occ_commit_ok committed [{}]", key_versions(versions))
        }
        Payload::OccCommitOk { committed: false, conflicts, .. } => {
            format!("occ_commit_ok ABORTED ({})", conflict_list(conflicts))
        }
        Payload::Error { code, text } => format!("error {code}: {text}"),
        Payload::TxnPrepare { txn_id, writes, read_versions } => {
            format!("txn_prepare {}{}", writes_and_reads(writes, read_versions), foreign(txn_id))
        }
        Payload::TxnPrepareOk { vote: true, versions, .. } => {
            format!("txn_prepare_ok YES, will install [{}]", key_versions(versions))
        }
        Payload::TxnPrepareOk { vote: false, conflicts, .. } if conflicts.is_empty() => {
            "txn_prepare_ok NO (a key is reserved)".to_string()
        }
        Payload::TxnPrepareOk { vote: false, conflicts, .. } => {
            format!("txn_prepare_ok NO ({})", conflict_list(conflicts))
        }
        Payload::TxnDecide { committed, .. } => {
            format!("txn_decide {}", if *committed { "COMMIT" } else { "ABORT" })
        }
        Payload::TxnQueryOk { committed, .. } => {
            format!("txn_query_ok {}", if *committed { "COMMIT" } else { "ABORT" })
        }
        other => other.type_name().to_string(),
    }
}

/// `w[k=x ...] rv[k@v ...]`: a commit's or a prepare's writes and the versions it read.
fn writes_and_reads(writes: &[KeyValue], read_versions: &[KeyVersion]) -> String {
    let writes: Vec<String> = writes.iter().map(|w| format!("{}={}", w.key, w.value)).collect();
    format!("w[{}] rv[{}]", writes.join(" "), key_versions(read_versions))
}

/// `k@v k@v ...`.
fn key_versions(versions: &[KeyVersion]) -> String {
    let versions: Vec<String> =
        versions.iter().map(|v| format!("{}@{}", v.key, v.version)).collect();
    versions.join(" ")
}

/// `k read @v, now @w, ...`: why a commit or a vote said no.
fn conflict_list(conflicts: &[Conflict]) -> String {
    let conflicts: Vec<String> = conflicts
        .iter()
        .map(|c| format!("{} read @{}, now @{}", c.key, c.expected, c.actual))
        .collect();
    conflicts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_txn_ids_in_a_sentence_become_t_names() {
        // Whole words only: t5 becomes T12, t55 and `at5` stay, other text is untouched.
        let txn_of = |word: &str| (word == "t5").then_some(12);
        let (text, named) = rename_ids("the store aborted t5 (t55, at5, t5é): é ok", txn_of);
        assert_eq!(text, "the store aborted T12 (t55, at5, T12é): é ok");
        assert_eq!(named, [12, 12]);
    }
}
