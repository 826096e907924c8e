//! The Lamport diagram of a run's messages: one column per process, virtual time
//! downwards, an arrow per message copy from its send to its delivery.
//!
//! Time runs down in slots, not at a fixed scale: every send, history event (a
//! transaction's invocation or completion) and world event gets a row of its own, in time
//! order, so that no two labels share a row; a delivery lands on the first row at its
//! time (where the receiver's answer, sent at that instant, starts). Arrows therefore
//! slant by how much happened in between, and the order of events is exact.
//!
//! Everything that is not a message is a mark (`marks`): across the whole diagram or on
//! one process's column, possibly opening or closing a band.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use node::codec;
use node::protocol::Payload;

use super::context::{around, Context, Window};
use super::marks::{mark_of, Mark, Scope, Span};
use super::{clip, esc, esc_single_quoted, Budget};
use crate::check::report::format_ms;
use crate::explain::report::{describe, TxnNames};
use crate::world::topology::Role;
use crate::world::{Simulation, TraceEvent};

/// Height of one slot, px.
const ROW: i64 = 16;
/// Space above the first slot and below the last.
const PAD: i64 = 10;
/// Right edge of the time labels.
const TIME_X: i64 = 76;
/// Labels longer than this are cut (the side panel shows the whole message).
const LABEL_CHARS_MAX: usize = 110;

/// The diagram's HTML, and the span of time it covers (which the timeline shows too).
pub(super) struct Diagram {
    pub html: String,
    pub window: Window,
}

/// One message as sent.
struct Msg<'t> {
    time_us: u64,
    source: usize,
    target: usize,
    wire: &'t str,
    fate: &'t str,
    /// The transaction it belongs to (`T<n>`), as the text report's diagrams name it.
    txn: Option<u64>,
    /// For a reply: the position in `msgs` of the request it answers.
    request: Option<usize>,
    /// When its copies were delivered (two for a duplicated message).
    delivered: Vec<u64>,
    /// When a copy reached its target while that was down, and was lost.
    undelivered: Vec<u64>,
}

/// What a slot holds.
#[derive(Clone, Copy, Debug)]
enum Item {
    Mark(usize),
    Invoke(u64),
    End(u64),
    Send(usize),
    /// Only deliveries at this time.
    Gap,
}

impl Item {
    /// At one instant: world events first, then what clients recorded, then sends.
    fn rank(self) -> u8 {
        match self {
            Item::Mark(_) => 0,
            Item::Invoke(_) | Item::End(_) => 1,
            Item::Send(_) => 2,
            Item::Gap => 3,
        }
    }
}

struct Slot {
    time_us: u64,
    seq: u64,
    item: Item,
}

/// The diagram of `sim`'s messages within `budget`.
pub(super) fn render(
    sim: &Simulation,
    names: &TxnNames,
    ctx: &Context,
    budget: &Budget,
) -> Diagram {
    let whole_run = Window { from_us: 0, to_us: sim.virtual_duration_us, whole: true };
    if sim.trace.is_empty() {
        return Diagram {
            html: "<p class=\"note\">No messages were recorded for this run.</p>\n".into(),
            window: whole_run,
        };
    }
    let (msgs, marks) = messages(sim, names);
    draw(sim, names, ctx, budget, &msgs, &marks)
}

/// The diagram of `msgs` and `marks` (in time order), `sim`'s messages and marks.
fn draw(
    sim: &Simulation,
    names: &TxnNames,
    ctx: &Context,
    budget: &Budget,
    msgs: &[Msg],
    marks: &[(u64, Mark)],
) -> Diagram {
    let whole_run = Window { from_us: 0, to_us: sim.virtual_duration_us, whole: true };
    let wanted = |m: &Msg| m.txn.is_some_and(|t| ctx.focus.contains(&t));
    let max = budget.messages_max.max(1);
    // A run that stopped (stuck, panicked) without an anomaly to centre on is shown where
    // it stopped; one that passed, from its start.
    let stopped =
        sim.liveness_failure.is_some() || sim.node_panic.is_some() || sim.internal_error.is_some();
    let (start, end) = if ctx.focus.is_empty() && stopped && msgs.len() > max {
        (msgs.len() - max, msgs.len())
    } else {
        around(msgs, wanted, max)
    };
    let whole = start == 0 && end == msgs.len();
    let window = if whole || msgs.is_empty() {
        whole_run
    } else {
        Window { from_us: msgs[start].time_us, to_us: msgs[end - 1].time_us, whole: false }
    };
    let shown = &msgs[start..end];

    // Slots: every shown send, mark and history event in the window gets its own.
    let mut slots: Vec<Slot> = Vec::new();
    for (i, m) in shown.iter().enumerate() {
        slots.push(Slot { time_us: m.time_us, seq: i as u64, item: Item::Send(start + i) });
    }
    // Bands open when the window starts (a partition that began before it).
    let mut open_before: Vec<(Scope, &'static str, usize)> = Vec::new();
    for (i, (time_us, mark)) in marks.iter().enumerate() {
        if window.contains(*time_us, *time_us) {
            slots.push(Slot { time_us: *time_us, seq: i as u64, item: Item::Mark(i) });
        } else if *time_us < window.from_us {
            match mark.span {
                Span::Opens(name) => open_before.push((mark.scope, name, i)),
                Span::Closes(name) => open_before.retain(|(s, n, _)| {
                    !(*n == name && (mark.scope == Scope::World || *s == mark.scope))
                }),
                Span::None => {}
            }
        }
    }
    let mut bars: Vec<(u64, usize)> = Vec::new();
    for (&n, txn) in &ctx.txns {
        let Some(&index) = sim.process_index.get(&txn.invoke.process) else { continue };
        let end_us = txn.end_us(ctx.last_us);
        if !window.contains(txn.invoke.time, end_us) {
            continue;
        }
        bars.push((n, index));
        if window.contains(txn.invoke.time, txn.invoke.time) {
            slots.push(Slot { time_us: txn.invoke.time, seq: n, item: Item::Invoke(n) });
        }
        if let Some(e) = txn.end.filter(|e| window.contains(e.time, e.time)) {
            slots.push(Slot { time_us: e.time, seq: e.index, item: Item::End(n) });
        }
    }
    let taken: BTreeSet<u64> = slots.iter().map(|s| s.time_us).collect();
    let gaps: BTreeSet<u64> = shown
        .iter()
        .flat_map(|m| m.delivered.iter().chain(&m.undelivered).copied())
        .filter(|t| !taken.contains(t))
        .collect();
    slots.extend(gaps.into_iter().map(|time_us| Slot { time_us, seq: 0, item: Item::Gap }));
    slots.sort_by_key(|s| (s.time_us, s.item.rank(), s.seq));
    let slot_of = |time_us: u64| slots.partition_point(|s| s.time_us < time_us);

    // Columns: the store, then every process with something shown, in name order.
    let mut columns: BTreeSet<usize> = BTreeSet::from([0]);
    columns.extend(shown.iter().flat_map(|m| [m.source, m.target]));
    columns.extend(bars.iter().map(|b| b.1));
    for (_, mark) in marks {
        if let Scope::Process(p) = mark.scope {
            columns.insert(p);
        }
    }
    let columns: Vec<usize> = columns.into_iter().collect();
    // Narrow enough that the labels stay in view beside a handful of processes.
    let column_w: i64 = match columns.len() {
        0..=8 => 72,
        9..=40 => 48,
        _ => 28,
    };
    let x_of: BTreeMap<usize, i64> =
        columns.iter().enumerate().map(|(i, &c)| (c, TIME_X + 34 + i as i64 * column_w)).collect();
    let x = |process: usize| x_of[&process];
    let (x_first, x_last) = (x(columns[0]), x(*columns.last().unwrap_or(&0)));
    let label_x = x_last + 30;
    let y = |slot: usize| PAD + slot as i64 * ROW + ROW / 2;
    let height = 2 * PAD + slots.len() as i64 * ROW;
    let width = label_x + 760;

    let mut out = String::with_capacity(shown.len() * 320 + 4096);
    let _ = writeln!(out, "<p class=\"note\" id=\"lamport-window\">{}</p>", {
        let total = msgs.len();
        if whole {
            format!(
                "All {total} messages of the run, sent from {} to {}.",
                format_ms(msgs.first().map_or(0, |m| m.time_us)),
                format_ms(msgs.last().map_or(0, |m| m.time_us))
            )
        } else {
            let around = match (ctx.focus.is_empty(), stopped) {
                (false, _) => "the window around the anomaly's transactions",
                (true, true) => "the end of the run, where it stopped",
                (true, false) => "the start of the run",
            };
            format!(
                "Messages {} to {end} of {total}, sent from {} to {}: {around}. Left out: {start} \
                 messages before and {} after (<code>--trace FILE</code> writes them all); the \
                 version timeline below covers the same span.",
                start + 1,
                format_ms(window.from_us),
                format_ms(window.to_us),
                total - end
            )
        }
    });
    out.push_str("<div id=\"lamport-box\">\n");
    let _ = write!(out, "<div class=\"cols\"><svg width=\"{width}\" height=\"22\">");
    for &c in &columns {
        let final_read = sim.roles[c] == Role::FinalReader;
        let title = if final_read { " (the final read)" } else { "" };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"15\">{}<title>{}{title}</title></text>",
            x(c),
            esc(&sim.names[c]),
            esc(&sim.names[c])
        );
    }
    out.push_str("</svg></div>\n");
    let _ = writeln!(out, "<svg id=\"lamport\" width=\"{width}\" height=\"{height}\">");
    out.push_str(
        "<defs>\
         <marker id=\"h\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6b7a90\"/></marker>\
         <marker id=\"hf\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#e8590c\"/></marker>\
         <marker id=\"hs\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1c7ed6\"/></marker>\
         <marker id=\"x\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerWidth=\"9\" \
         markerHeight=\"9\"><path d=\"M1,1 L9,9 M9,1 L1,9\" stroke=\"#c92a2a\" stroke-width=\"2.5\"/></marker>\
         </defs>\n",
    );

    // Bands first, behind everything.
    let band = |out: &mut String, scope: Scope, class: &str, y1: i64, y2: i64| {
        let (left, right) = match scope {
            Scope::World => (x_first - 18, x_last + 18),
            Scope::Process(p) => (x(p) - 10, x(p) + 10),
        };
        let _ = writeln!(
            out,
            "<rect class=\"band {class}\" x=\"{left}\" y=\"{y1}\" width=\"{}\" height=\"{}\"/>",
            right - left,
            (y2 - y1).max(2)
        );
    };
    let mut open: Vec<(Scope, &'static str, &'static str, i64)> =
        open_before.iter().map(|&(scope, name, i)| (scope, name, marks[i].1.class, PAD)).collect();
    for (slot, s) in slots.iter().enumerate() {
        let Item::Mark(i) = s.item else { continue };
        let mark = &marks[i].1;
        match mark.span {
            Span::Opens(name) => open.push((mark.scope, name, mark.class, y(slot))),
            Span::Closes(name) => {
                let (closed, still): (Vec<_>, Vec<_>) = open.into_iter().partition(|o| {
                    o.1 == name && (mark.scope == Scope::World || o.0 == mark.scope)
                });
                for (scope, _, class, from) in closed {
                    band(&mut out, scope, class, from, y(slot));
                }
                open = still;
            }
            Span::None => {}
        }
    }
    for (scope, _, class, from) in open {
        band(&mut out, scope, class, from, height - PAD);
    }
    for &c in &columns {
        let _ = writeln!(
            out,
            "<line class=\"col\" x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"{height}\"/>",
            x(c)
        );
    }
    // Transactions as bars on their client's column.
    let item_slots: BTreeMap<(u8, u64), usize> = slots
        .iter()
        .enumerate()
        .filter_map(|(slot, s)| match s.item {
            Item::Invoke(n) => Some(((0, n), slot)),
            Item::End(n) => Some(((1, n), slot)),
            _ => None,
        })
        .collect();
    for &(n, index) in &bars {
        let top = item_slots.get(&(0, n)).map_or(PAD, |&s| y(s));
        let bottom = item_slots.get(&(1, n)).map_or(height - PAD, |&s| y(s));
        let outcome = ctx.txns[&n].outcome();
        let _ = writeln!(
            out,
            "<rect{} data-info=\"{}\" x=\"{}\" y=\"{top}\" width=\"6\" height=\"{}\"/>",
            ctx.txn_attrs(&format!("tx {outcome}"), n),
            esc(&ctx.info(n)),
            x(index) - 3,
            (bottom - top).max(2)
        );
    }
    // Time labels, once per instant.
    let mut last_time = None;
    for (slot, s) in slots.iter().enumerate() {
        if matches!(s.item, Item::Gap) || last_time == Some(s.time_us) {
            continue;
        }
        last_time = Some(s.time_us);
        let _ = writeln!(
            out,
            "<text class=\"t\" x=\"{TIME_X}\" y=\"{}\">{}</text>",
            y(slot) + 4,
            format_ms(s.time_us)
        );
    }
    for (slot, s) in slots.iter().enumerate() {
        let (yy, label_y) = (y(slot), y(slot) + 4);
        match s.item {
            Item::Mark(i) => {
                let mark = &marks[i].1;
                match mark.scope {
                    Scope::World => {
                        let _ = writeln!(
                            out,
                            "<line class=\"wl {}\" x1=\"{}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\"/>",
                            mark.class,
                            x_first - 18,
                            label_x - 6
                        );
                    }
                    Scope::Process(p) => {
                        let _ = writeln!(
                            out,
                            "<rect class=\"pm {}\" x=\"{}\" y=\"{}\" width=\"12\" height=\"12\"/>",
                            mark.class,
                            x(p) - 6,
                            yy - 6
                        );
                    }
                }
                let who = match mark.scope {
                    Scope::World => String::new(),
                    Scope::Process(p) => format!("{}: ", sim.names[p]),
                };
                let _ = writeln!(
                    out,
                    "<text class=\"ml {}\" x=\"{label_x}\" y=\"{label_y}\">~ {}</text>",
                    mark.class,
                    esc(&clip(&format!("{who}{}", mark.label), LABEL_CHARS_MAX))
                );
            }
            Item::Invoke(n) => {
                let ops: Vec<String> = ctx.txns[&n]
                    .invoke
                    .ops
                    .iter()
                    .map(|op| match (&op.value, op.f) {
                        (Some(v), workloads::history::OpKind::Write) => format!("w {}={v}", op.key),
                        (None, workloads::history::OpKind::Write) => format!("w {}", op.key),
                        (_, workloads::history::OpKind::Read) => format!("r {}", op.key),
                    })
                    .collect();
                let label = format!("T{n} invoked: {}", ops.join(" "));
                let _ = writeln!(
                    out,
                    "<text{} x=\"{label_x}\" y=\"{label_y}\">{}</text>",
                    ctx.txn_attrs("hl", n),
                    esc(&clip(&label, LABEL_CHARS_MAX))
                );
            }
            Item::End(n) => {
                let _ = writeln!(
                    out,
                    "<text{} x=\"{label_x}\" y=\"{label_y}\">T{n} {}</text>",
                    ctx.txn_attrs("hl", n),
                    ctx.txns[&n].outcome()
                );
            }
            Item::Send(i) => message(
                &mut out,
                msgs,
                i,
                names,
                ctx,
                &sim.names,
                &Geometry {
                    x_source: x(msgs[i].source),
                    x_target: x(msgs[i].target),
                    y_send: yy,
                    y_delivered: msgs[i].delivered.iter().map(|&t| y(slot_of(t))).collect(),
                    y_undelivered: msgs[i].undelivered.iter().map(|&t| y(slot_of(t))).collect(),
                    label_x,
                },
            ),
            Item::Gap => {}
        }
    }
    out.push_str("</svg>\n</div>\n");
    Diagram { html: out, window }
}

/// Where one message is drawn.
struct Geometry {
    x_source: i64,
    x_target: i64,
    y_send: i64,
    y_delivered: Vec<i64>,
    /// Copies that reached a process that was down.
    y_undelivered: Vec<i64>,
    label_x: i64,
}

/// One message: its arrows (one per delivered copy; a lost one stops half way at a ✕),
/// its label in the gutter, and its body for the side panel.
fn message(
    out: &mut String,
    msgs: &[Msg],
    i: usize,
    names: &TxnNames,
    ctx: &Context,
    process_names: &[String],
    g: &Geometry,
) {
    let m = &msgs[i];
    let body = codec::decode(m.wire).ok().map(|e| e.body);
    let request: Option<Payload> =
        m.request.and_then(|r| codec::decode(msgs[r].wire).ok()).map(|e| e.body.payload);
    let mut label = match &body {
        Some(body) => {
            let what =
                describe(&body.payload, request.as_ref(), m.txn.and_then(|t| names.txn_id(t)));
            let mut label = match m.txn {
                Some(t) => format!("T{t} {what}"),
                None => what,
            };
            match (body.msg_id, body.in_reply_to) {
                (_, Some(reply)) => {
                    let _ = write!(label, " (re {reply})");
                }
                (Some(id), None) => {
                    let _ = write!(label, " (msg {id})");
                }
                _ => {}
            }
            label
        }
        None => "(a message the codec cannot read)".to_string(),
    };
    let lost = m.fate != "sent" && m.fate != "duplicated";
    if m.fate != "sent" {
        let _ = write!(label, " [{}]", m.fate);
    }
    if !m.undelivered.is_empty() {
        let _ = write!(label, " [undelivered: {} was down]", process_names[m.target]);
    }
    let mut info = format!(
        "{} → {}, sent {}",
        process_names[m.source],
        process_names[m.target],
        format_ms(m.time_us)
    );
    if lost {
        let _ = write!(info, ", {}: never delivered", m.fate);
    } else if m.delivered.is_empty() && m.undelivered.is_empty() {
        info.push_str(", not delivered when the run ended");
    } else {
        if !m.delivered.is_empty() {
            let times: Vec<String> = m.delivered.iter().map(|&t| format_ms(t)).collect();
            let _ = write!(info, ", delivered {}", times.join(" and "));
        }
        for &t in &m.undelivered {
            let _ = write!(
                info,
                ", reached {} at {} while it was down: lost",
                process_names[m.target],
                format_ms(t)
            );
        }
    }
    // Lost on the way, or every copy reached a process that was down.
    let gone = lost || (m.delivered.is_empty() && !m.undelivered.is_empty());
    let class = match (gone, m.fate == "duplicated") {
        (true, _) => "m lost",
        (false, true) => "m dup",
        (false, false) => "m",
    };
    let attrs = match m.txn {
        Some(t) => ctx.txn_attrs(class, t),
        None => format!(" class=\"{class}\""),
    };
    let _ = write!(
        out,
        "<g{attrs} data-body='{}' data-info=\"{}\">",
        esc_single_quoted(m.wire),
        esc(&info)
    );
    let (xs, xt, ys) = (g.x_source, g.x_target, g.y_send);
    if lost {
        let _ = write!(
            out,
            "<line class=\"a\" x1=\"{xs}\" y1=\"{ys}\" x2=\"{}\" y2=\"{}\"/>",
            xs + (xt - xs) / 2,
            ys + ROW
        );
    }
    for yd in &g.y_undelivered {
        let _ =
            write!(out, "<line class=\"a u\" x1=\"{xs}\" y1=\"{ys}\" x2=\"{xt}\" y2=\"{yd}\"/>");
    }
    for (copy, yd) in g.y_delivered.iter().enumerate() {
        let class = if copy == 0 { "a" } else { "a d2" };
        let _ = write!(
            out,
            "<line class=\"{class}\" x1=\"{xs}\" y1=\"{ys}\" x2=\"{xt}\" y2=\"{yd}\"/>"
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\">{}</text></g>",
        g.label_x,
        ys + 4,
        esc(&clip(&label, LABEL_CHARS_MAX))
    );
}

/// Every message of the trace with its transaction and deliveries, and every mark.
fn messages<'t>(sim: &'t Simulation, names: &TxnNames) -> (Vec<Msg<'t>>, Vec<(u64, Mark)>) {
    let mut msgs: Vec<Msg> = Vec::new();
    let mut marks = Vec::new();
    // Requests by (sender, msg_id): their transaction and position, so that a reply
    // (which carries neither) is named and described too.
    let mut requests: BTreeMap<(usize, u64), (Option<u64>, usize)> = BTreeMap::new();
    // Copies in flight by (source, target, wire), oldest first.
    let mut in_flight: BTreeMap<(usize, usize, &str), VecDeque<usize>> = BTreeMap::new();
    for event in &sim.trace {
        match event {
            TraceEvent::Send { time_us, source, target, wire, fate } => {
                let body = codec::decode(wire).ok().map(|e| e.body);
                let (txn, request) = match body.as_ref().map(|b| (b.msg_id, b.in_reply_to)) {
                    Some((_, Some(reply))) => match requests.get(&(*target, reply)) {
                        Some(&(txn, position)) => (txn, Some(position)),
                        None => (None, None),
                    },
                    Some((msg_id, None)) => {
                        // A node's own request belongs to the transaction it names.
                        let txn = match sim.roles[*source] {
                            Role::Node => body
                                .as_ref()
                                .and_then(|b| crate::explain::report::payload_txn_id(&b.payload))
                                .and_then(|id| names.of_txn_id(id)),
                            _ => names.running(*source, *time_us),
                        };
                        if let Some(id) = msg_id {
                            requests.insert((*source, id), (txn, msgs.len()));
                        }
                        (txn, None)
                    }
                    None => (None, None),
                };
                let copies = match fate.as_str() {
                    "sent" => 1,
                    "duplicated" => 2,
                    _ => 0,
                };
                if copies > 0 {
                    let queue = in_flight.entry((*source, *target, wire.as_str())).or_default();
                    queue.extend(std::iter::repeat_n(msgs.len(), copies));
                }
                msgs.push(Msg {
                    time_us: *time_us,
                    source: *source,
                    target: *target,
                    wire,
                    fate,
                    txn,
                    request,
                    delivered: Vec::new(),
                    undelivered: Vec::new(),
                });
            }
            TraceEvent::Deliver { time_us, source, target, wire }
            | TraceEvent::Undelivered { time_us, source, target, wire } => {
                let key = (*source, *target, wire.as_str());
                if let Some(queue) = in_flight.get_mut(&key) {
                    if let Some(i) = queue.pop_front() {
                        match event {
                            TraceEvent::Deliver { .. } => msgs[i].delivered.push(*time_us),
                            _ => msgs[i].undelivered.push(*time_us),
                        }
                    }
                    if queue.is_empty() {
                        in_flight.remove(&key);
                    }
                }
            }
            other => marks.extend(mark_of(other, &sim.names)),
        }
    }
    (msgs, marks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::faults::FaultSpec;
    use crate::world::{simulate, RunConfig};

    #[test]
    fn a_process_mark_draws_a_marker_on_its_column_and_a_band_until_it_closes() {
        // The per-process path a crash and its restart will take, fed two marks by hand: a
        // marker and a label each, and one band on c1's column alone between them.
        let none = FaultSpec::parse("none").expect("a fault spec");
        let config = RunConfig {
            seed: 1,
            clients: 2,
            txns: 6,
            faults: none,
            record_trace: true,
            ..RunConfig::default()
        };
        let sim = simulate(&config);
        let names = TxnNames::of(&sim);
        let host = |_: u64| None;
        let ctx = Context::new(&sim.history, &host, None);
        let (msgs, mut marks) = messages(&sim, &names);
        let mark = |class, label: &str, span| Mark {
            scope: Scope::Process(1),
            class,
            label: label.into(),
            span,
        };
        marks.push((msgs[3].time_us, mark("crash", "crashed", Span::Opens("down"))));
        marks.push((msgs[9].time_us, mark("restart", "restarted", Span::Closes("down"))));
        marks.sort_by_key(|(time_us, _)| *time_us);
        let html = draw(&sim, &names, &ctx, &Budget::DEFAULT, &msgs, &marks).html;
        assert_eq!(html.matches("<rect class=\"pm crash\"").count(), 1, "{html}");
        assert_eq!(html.matches("<rect class=\"pm restart\"").count(), 1);
        assert!(html.contains(">~ c1: crashed</text>") && html.contains(">~ c1: restarted</text>"));
        let bands: Vec<&str> =
            html.lines().filter(|l| l.starts_with("<rect class=\"band")).collect();
        assert_eq!(bands.len(), 1, "{bands:?}");
        assert!(
            bands[0].starts_with("<rect class=\"band crash\"") && bands[0].contains("width=\"20\"")
        );
    }
}
