//! Failure reports a person can follow without the harness's source: what broke, the
//! transactions involved, and the messages of just those transactions drawn as a text
//! sequence diagram (processes as columns, messages as arrows, losses and partitions
//! marked).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use node::codec;
use node::protocol::Payload;

use crate::check::Anomaly;
use crate::outcome::RunOutcome;
use crate::render::format_ms;
use crate::world::{Simulation, TraceEvent};

/// Width of one process column of a sequence diagram.
const COLUMN: usize = 12;
/// Messages shown before and after the involved transactions' lifetimes.
const MARGIN_US: u64 = 2_000;
/// At most this many rows per diagram; the rest is summarised.
const ROWS_MAX: usize = 80;

/// The diagram of the messages of an anomaly's transactions. Needs a run recorded with
/// `record_trace`.
pub fn sequence_diagram(sim: &Simulation, anomaly: &Anomaly) -> Option<String> {
    let mut columns: BTreeSet<usize> = BTreeSet::new();
    let (mut start_us, mut end_us) = (u64::MAX, 0);
    for txn in &anomaly.txns {
        let Some(index) = txn.process.and_then(|p| sim.process_index.get(&p)) else { continue };
        columns.insert(*index);
        start_us = start_us.min(txn.invoke_time.unwrap_or(0));
        end_us = end_us.max(txn.completion_time.unwrap_or(sim.virtual_duration_us));
    }
    if columns.is_empty() {
        return None;
    }
    let clients: BTreeSet<usize> = columns.clone();
    let nodes: Vec<usize> =
        (0..sim.names.len()).filter(|i| sim.names[*i].starts_with('n')).collect();
    columns.extend(nodes);
    let columns: Vec<usize> = columns.into_iter().collect();
    let (from_us, to_us) = (start_us.saturating_sub(MARGIN_US), end_us + MARGIN_US);
    let mut rows = Vec::new();
    for event in &sim.trace {
        let row = match event {
            TraceEvent::Send { time_us, source, target, wire, fate } => {
                let involved = clients.contains(source) || clients.contains(target);
                if !involved || *time_us < from_us || *time_us > to_us {
                    continue;
                }
                let (Some(a), Some(b)) = (position(&columns, *source), position(&columns, *target))
                else {
                    continue;
                };
                let mark = match fate.as_str() {
                    "sent" => String::new(),
                    other => format!(" [{other}]"),
                };
                arrow_row(
                    *time_us,
                    columns.len(),
                    a,
                    b,
                    fate != "sent" && fate != "duplicated",
                    &format!("{}{mark}", describe(wire)),
                )
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
            TraceEvent::PartitionHealed { time_us } if (from_us..=to_us).contains(time_us) => {
                banner_row(*time_us, columns.len(), "partition healed")
            }
            TraceEvent::Heal { time_us } if (from_us..=to_us).contains(time_us) => {
                banner_row(*time_us, columns.len(), "fault phase over: network healed")
            }
            _ => continue,
        };
        rows.push(row);
    }
    let mut out = String::new();
    let _ = write!(out, "{:>12} ", "time");
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

fn position(columns: &[usize], process: usize) -> Option<usize> {
    columns.iter().position(|c| *c == process)
}

/// `   12.345ms |---------->|           |   occ_read t3 x`: an arrow from column `a` to
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

/// A message in a few words: `occ_commit t5 w x=3 rv x@2`.
fn describe(wire: &str) -> String {
    let Ok(envelope) = codec::decode(wire) else { return wire.to_string() };
    let body = &envelope.body;
    let text = match &body.payload {
        Payload::OccBegin => "occ_begin".to_string(),
        Payload::OccBeginOk { txn_id } => format!("occ_begin_ok {txn_id}"),
        Payload::OccRead { txn_id, key } => format!("occ_read {txn_id} {key}"),
        Payload::OccReadOk { value, version } => {
            format!("occ_read_ok {}@{version}", value.as_deref().unwrap_or("null"))
        }
        Payload::OccCommit { txn_id, writes, read_versions } => {
            let writes: Vec<String> =
                writes.iter().map(|w| format!("{}={}", w.key, w.value)).collect();
            let reads: Vec<String> =
                read_versions.iter().map(|r| format!("{}@{}", r.key, r.version)).collect();
            format!("occ_commit {txn_id} w[{}] rv[{}]", writes.join(" "), reads.join(" "))
        }
        Payload::OccCommitOk { committed: true, versions, .. } => {
            let versions: Vec<String> =
                versions.iter().map(|v| format!("{}@{}", v.key, v.version)).collect();
            format!("occ_commit_ok committed [{}]", versions.join(" "))
        }
        Payload::OccCommitOk { committed: false, conflicts, .. } => {
            let conflicts: Vec<String> = conflicts
                .iter()
                .map(|c| format!("{} expected {} actual {}", c.key, c.expected, c.actual))
                .collect();
            format!("occ_commit_ok ABORTED ({})", conflicts.join(", "))
        }
        Payload::Error { code, text } => format!("error {code}: {text}"),
        other => format!("{other:?}"),
    };
    match (body.msg_id, body.in_reply_to) {
        (_, Some(reply)) => format!("{text} (re {reply})"),
        (Some(id), None) => format!("{text} (msg {id})"),
        _ => text,
    }
}

/// The whole report of a failed run: header, verdict, invariants, liveness, and a
/// sequence diagram per shown anomaly.
pub fn failure_report(outcome: &RunOutcome, repro: &str, anomalies_max: usize) -> String {
    let mut out = String::new();
    let Some(failure) = outcome.failure() else {
        return "the run passed: nothing to report\n".to_string();
    };
    let _ = writeln!(out, "FAILED: {}", failure.headline());
    let _ = writeln!(out, "reproduce: {repro}");
    let _ = writeln!(out, "fingerprint: {:016x}", outcome.sim.fingerprint);
    if let Ok(verdict) = &outcome.verdict {
        for (i, anomaly) in verdict.anomalies.iter().take(anomalies_max).enumerate() {
            let _ = writeln!(
                out,
                "\n--- anomaly {} of {}: {}",
                i + 1,
                verdict.anomalies.len(),
                anomaly.name
            );
            for line in &anomaly.explanation {
                let _ = writeln!(out, "  {line}");
            }
            if let Some(diagram) = sequence_diagram(&outcome.sim, anomaly) {
                let _ = writeln!(out, "\n  messages of these transactions:");
                for line in diagram.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
    for violation in &outcome.violations {
        let _ = writeln!(out, "\n--- {}: {}", violation.name, violation.explanation);
    }
    if let Some(liveness) = &outcome.sim.liveness_failure {
        let _ = writeln!(out, "\n--- liveness: {liveness}");
    }
    out
}
