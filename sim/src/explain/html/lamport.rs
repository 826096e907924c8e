//! The Lamport diagram of a run's messages: one column per process, virtual time
//! downwards, an arrow per message copy from its send to its delivery.
//!
//! Time runs down in slots, not at a fixed scale: every send, history event (a
//! transaction's invocation or completion) and world event gets a row of its own, in time
//! order, so that no two labels share a row; a delivery lands on the first row at its
//! time (where the receiver's answer, sent at that instant, starts). Arrows therefore
//! slant by how much happened in between, and the order of events is exact.
//!
//! What it draws comes from the run's [`Scene`]: the messages with their transactions,
//! deliveries and labels, and the marks (across the whole diagram or on one process's
//! column, possibly opening or closing a band).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use workloads::history::OpKind;

use super::context::{around, Context, Window};
use super::{clip, esc, esc_single_quoted, Budget};
use crate::check::report::format_ms;
use crate::explain::scene::{Mark, Message, Scene, Scope, Span, TxnNames};
use crate::world::topology::Role;
use crate::world::Simulation;

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
    if sim.trace.is_empty() {
        return Diagram {
            html: "<p class=\"note\">No messages were recorded for this run.</p>\n".into(),
            window: Window { from_us: 0, to_us: sim.virtual_duration_us, whole: true },
        };
    }
    draw(sim, names, ctx, budget, &Scene::of(sim, names))
}

/// The diagram of `scene`, `sim`'s messages and marks (in time order).
fn draw(
    sim: &Simulation,
    names: &TxnNames,
    ctx: &Context,
    budget: &Budget,
    scene: &Scene,
) -> Diagram {
    let shown = Shown::choose(sim, ctx, budget, &scene.messages);
    let layout = Layout::of(sim, ctx, scene, &shown);
    let mut out = String::with_capacity((shown.end - shown.start) * 320 + 4096);
    let _ = writeln!(
        out,
        "<p class=\"note\" id=\"lamport-window\">{}</p>",
        shown.note(ctx, &scene.messages)
    );
    out.push_str("<div id=\"lamport-box\">\n");
    column_heads(&mut out, sim, &layout);
    let _ = writeln!(
        out,
        "<svg id=\"lamport\" width=\"{}\" height=\"{}\">",
        layout.width, layout.height
    );
    out.push_str(ARROW_HEADS);
    // Bands first, behind everything.
    bands(&mut out, &layout, &scene.marks);
    for &c in &layout.columns {
        let _ = writeln!(
            out,
            "<line class=\"col\" x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"{1}\"/>",
            layout.x(c),
            layout.height
        );
    }
    bars(&mut out, ctx, &layout);
    time_labels(&mut out, &layout);
    for (slot, s) in layout.slots.iter().enumerate() {
        match s.item {
            Item::Mark(i) => mark(&mut out, sim, &layout, slot, &scene.marks[i].1),
            Item::Invoke(n) => invocation(&mut out, ctx, &layout, slot, n),
            Item::End(n) => {
                let _ = writeln!(
                    out,
                    "<text{} x=\"{}\" y=\"{}\">T{n} {}</text>",
                    ctx.txn_attrs("hl", n),
                    layout.label_x,
                    y(slot) + 4,
                    ctx.txns[&n].outcome()
                );
            }
            Item::Send(i) => {
                let g = layout.geometry(&scene.messages[i], slot);
                message(&mut out, scene, i, names, ctx, &sim.names, &g);
            }
            Item::Gap => {}
        }
    }
    out.push_str("</svg>\n</div>\n");
    Diagram { html: out, window: shown.window }
}

/// The arrow heads: plain, in focus, selected, and the ✕ of a lost message.
const ARROW_HEADS: &str = "<defs>\
     <marker id=\"h\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
     markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6b7a90\"/></marker>\
     <marker id=\"hf\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
     markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#e8590c\"/></marker>\
     <marker id=\"hs\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
     markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1c7ed6\"/></marker>\
     <marker id=\"x\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerWidth=\"9\" \
     markerHeight=\"9\"><path d=\"M1,1 L9,9 M9,1 L1,9\" stroke=\"#c92a2a\" stroke-width=\"2.5\"/></marker>\
     </defs>\n";

/// Which messages are drawn: `start..end` of the scene's, and the time they span.
struct Shown {
    start: usize,
    end: usize,
    window: Window,
    /// The run stopped (stuck, panicked) rather than finished.
    stopped: bool,
}

impl Shown {
    /// At most the budget's messages: a window around the anomaly's transactions; a run
    /// that stopped without an anomaly to centre on, where it stopped; one that passed,
    /// from its start.
    fn choose(sim: &Simulation, ctx: &Context, budget: &Budget, msgs: &[Message]) -> Shown {
        let wanted = |m: &Message| m.txn.is_some_and(|t| ctx.focus.contains(&t));
        let max = budget.messages_max.max(1);
        let stopped = sim.liveness_failure.is_some()
            || sim.node_panic.is_some()
            || sim.internal_error.is_some();
        let (start, end) = if ctx.focus.is_empty() && stopped && msgs.len() > max {
            (msgs.len() - max, msgs.len())
        } else {
            around(msgs, wanted, max)
        };
        let whole = start == 0 && end == msgs.len();
        let window = if whole || msgs.is_empty() {
            Window { from_us: 0, to_us: sim.virtual_duration_us, whole: true }
        } else {
            Window { from_us: msgs[start].time_us, to_us: msgs[end - 1].time_us, whole: false }
        };
        Shown { start, end, window, stopped }
    }

    fn whole(&self, msgs: &[Message]) -> bool {
        self.start == 0 && self.end == msgs.len()
    }

    /// What the diagram shows of the run's messages, and what it left out.
    fn note(&self, ctx: &Context, msgs: &[Message]) -> String {
        let (start, end, total) = (self.start, self.end, msgs.len());
        if self.whole(msgs) {
            return format!(
                "All {total} messages of the run, sent from {} to {}.",
                format_ms(msgs.first().map_or(0, |m| m.time_us)),
                format_ms(msgs.last().map_or(0, |m| m.time_us))
            );
        }
        let around = match (ctx.focus.is_empty(), self.stopped) {
            (false, _) => "the window around the anomaly's transactions",
            (true, true) => "the end of the run, where it stopped",
            (true, false) => "the start of the run",
        };
        format!(
            "Messages {} to {end} of {total}, sent from {} to {}: {around}. Left out: {start} \
             messages before and {} after (<code>--trace FILE</code> writes them all); the \
             version timeline below covers the same span.",
            start + 1,
            format_ms(self.window.from_us),
            format_ms(self.window.to_us),
            total - end
        )
    }
}

/// Where everything goes: the slots (rows) in time order, the columns, and the bars and
/// bands that cross slots.
struct Layout {
    slots: Vec<Slot>,
    /// Bands open when the window starts (a partition that began before it): scope,
    /// name, and the mark that opened it.
    open_before: Vec<(Scope, &'static str, usize)>,
    /// Transactions drawn as bars: `n` of `T<n>`, and its client's column.
    bars: Vec<(u64, usize)>,
    columns: Vec<usize>,
    x_of: BTreeMap<usize, i64>,
    label_x: i64,
    height: i64,
    width: i64,
}

/// The middle of slot `slot`.
fn y(slot: usize) -> i64 {
    PAD + slot as i64 * ROW + ROW / 2
}

impl Layout {
    fn of(sim: &Simulation, ctx: &Context, scene: &Scene, shown: &Shown) -> Layout {
        let msgs = &scene.messages[shown.start..shown.end];
        let window = shown.window;
        // Slots: every shown send, mark and history event in the window gets its own.
        let mut slots: Vec<Slot> = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            slots.push(Slot {
                time_us: m.time_us,
                seq: i as u64,
                item: Item::Send(shown.start + i),
            });
        }
        let open_before = mark_slots(&mut slots, &scene.marks, window);
        let bars = txn_slots(&mut slots, sim, ctx, window);
        // A delivery at an instant nothing else happened gets a slot of its own.
        let taken: BTreeSet<u64> = slots.iter().map(|s| s.time_us).collect();
        let gaps: BTreeSet<u64> = msgs
            .iter()
            .flat_map(|m| m.delivered.iter().chain(&m.undelivered).copied())
            .filter(|t| !taken.contains(t))
            .collect();
        slots.extend(gaps.into_iter().map(|time_us| Slot { time_us, seq: 0, item: Item::Gap }));
        slots.sort_by_key(|s| (s.time_us, s.item.rank(), s.seq));

        // Columns: the store, then every process with something shown, in name order.
        let mut columns: BTreeSet<usize> = BTreeSet::from([0]);
        columns.extend(msgs.iter().flat_map(|m| [m.source, m.target]));
        columns.extend(bars.iter().map(|b| b.1));
        for (_, mark) in &scene.marks {
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
        let x_of: BTreeMap<usize, i64> = columns
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, TIME_X + 34 + i as i64 * column_w))
            .collect();
        let label_x = x_of[columns.last().unwrap_or(&0)] + 30;
        let height = 2 * PAD + slots.len() as i64 * ROW;
        Layout { slots, open_before, bars, columns, x_of, label_x, height, width: label_x + 760 }
    }

    fn x(&self, process: usize) -> i64 {
        self.x_of[&process]
    }

    /// The first and the last column's x.
    fn x_span(&self) -> (i64, i64) {
        (self.x(self.columns[0]), self.x(*self.columns.last().unwrap_or(&0)))
    }

    /// The first slot at `time_us`: where a delivery at that instant lands.
    fn slot_of(&self, time_us: u64) -> usize {
        self.slots.partition_point(|s| s.time_us < time_us)
    }

    /// Where message `m`, sent in slot `slot`, is drawn.
    fn geometry(&self, m: &Message, slot: usize) -> Geometry {
        Geometry {
            x_source: self.x(m.source),
            x_target: self.x(m.target),
            y_send: y(slot),
            y_delivered: m.delivered.iter().map(|&t| y(self.slot_of(t))).collect(),
            y_undelivered: m.undelivered.iter().map(|&t| y(self.slot_of(t))).collect(),
            label_x: self.label_x,
        }
    }
}

/// A slot for each mark in `window`; returns the bands the marks before it left open.
fn mark_slots(
    slots: &mut Vec<Slot>,
    marks: &[(u64, Mark)],
    window: Window,
) -> Vec<(Scope, &'static str, usize)> {
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
    open_before
}

/// A slot for each invocation and completion in `window`; returns the transactions
/// that ran in it (a bar each) and their clients' columns.
fn txn_slots(
    slots: &mut Vec<Slot>,
    sim: &Simulation,
    ctx: &Context,
    window: Window,
) -> Vec<(u64, usize)> {
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
    bars
}

/// The process names above the columns (a strip of its own, kept in view on scrolling).
fn column_heads(out: &mut String, sim: &Simulation, layout: &Layout) {
    let _ = write!(out, "<div class=\"cols\"><svg width=\"{}\" height=\"22\">", layout.width);
    for &c in &layout.columns {
        let final_read = sim.roles[c] == Role::FinalReader;
        let title = if final_read { " (the final read)" } else { "" };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"15\">{}<title>{}{title}</title></text>",
            layout.x(c),
            esc(&sim.names[c]),
            esc(&sim.names[c])
        );
    }
    out.push_str("</svg></div>\n");
}

/// A band for each span a mark opens, to the mark that closes it or to the end.
fn bands(out: &mut String, layout: &Layout, marks: &[(u64, Mark)]) {
    let (x_first, x_last) = layout.x_span();
    let band = |out: &mut String, scope: Scope, class: &str, y1: i64, y2: i64| {
        let (left, right) = match scope {
            Scope::World => (x_first - 18, x_last + 18),
            Scope::Process(p) => (layout.x(p) - 10, layout.x(p) + 10),
        };
        let _ = writeln!(
            out,
            "<rect class=\"band {class}\" x=\"{left}\" y=\"{y1}\" width=\"{}\" height=\"{}\"/>",
            right - left,
            (y2 - y1).max(2)
        );
    };
    let mut open: Vec<(Scope, &'static str, &'static str, i64)> = layout
        .open_before
        .iter()
        .map(|&(scope, name, i)| (scope, name, marks[i].1.class, PAD))
        .collect();
    for (slot, s) in layout.slots.iter().enumerate() {
        let Item::Mark(i) = s.item else { continue };
        let mark = &marks[i].1;
        match mark.span {
            Span::Opens(name) => open.push((mark.scope, name, mark.class, y(slot))),
            Span::Closes(name) => {
                let (closed, still): (Vec<_>, Vec<_>) = open.into_iter().partition(|o| {
                    o.1 == name && (mark.scope == Scope::World || o.0 == mark.scope)
                });
                for (scope, _, class, from) in closed {
                    band(out, scope, class, from, y(slot));
                }
                open = still;
            }
            Span::None => {}
        }
    }
    for (scope, _, class, from) in open {
        band(out, scope, class, from, layout.height - PAD);
    }
}

/// Transactions as bars on their client's column, from invocation to completion.
fn bars(out: &mut String, ctx: &Context, layout: &Layout) {
    let item_slots: BTreeMap<(u8, u64), usize> = layout
        .slots
        .iter()
        .enumerate()
        .filter_map(|(slot, s)| match s.item {
            Item::Invoke(n) => Some(((0, n), slot)),
            Item::End(n) => Some(((1, n), slot)),
            _ => None,
        })
        .collect();
    for &(n, index) in &layout.bars {
        let top = item_slots.get(&(0, n)).map_or(PAD, |&s| y(s));
        let bottom = item_slots.get(&(1, n)).map_or(layout.height - PAD, |&s| y(s));
        let outcome = ctx.txns[&n].outcome();
        let _ = writeln!(
            out,
            "<rect{} data-info=\"{}\" x=\"{}\" y=\"{top}\" width=\"6\" height=\"{}\"/>",
            ctx.txn_attrs(&format!("tx {outcome}"), n),
            esc(&ctx.info(n)),
            layout.x(index) - 3,
            (bottom - top).max(2)
        );
    }
}

/// Time labels, once per instant.
fn time_labels(out: &mut String, layout: &Layout) {
    let mut last_time = None;
    for (slot, s) in layout.slots.iter().enumerate() {
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
}

/// A mark: a line across the diagram or a marker on its process's column, and its label.
fn mark(out: &mut String, sim: &Simulation, layout: &Layout, slot: usize, mark: &Mark) {
    let (yy, label_x) = (y(slot), layout.label_x);
    match mark.scope {
        Scope::World => {
            let _ = writeln!(
                out,
                "<line class=\"wl {}\" x1=\"{}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\"/>",
                mark.class,
                layout.x_span().0 - 18,
                label_x - 6
            );
        }
        Scope::Process(p) => {
            let _ = writeln!(
                out,
                "<rect class=\"pm {}\" x=\"{}\" y=\"{}\" width=\"12\" height=\"12\"/>",
                mark.class,
                layout.x(p) - 6,
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
        "<text class=\"ml {}\" x=\"{label_x}\" y=\"{}\">~ {}</text>",
        mark.class,
        yy + 4,
        esc(&clip(&format!("{who}{}", mark.label), LABEL_CHARS_MAX))
    );
}

/// `T12 invoked: r x w y=3`.
fn invocation(out: &mut String, ctx: &Context, layout: &Layout, slot: usize, n: u64) {
    let ops: Vec<String> = ctx.txns[&n]
        .invoke
        .ops
        .iter()
        .map(|op| match (&op.value, op.f) {
            (Some(v), OpKind::Write) => format!("w {}={v}", op.key),
            (None, OpKind::Write) => format!("w {}", op.key),
            (_, OpKind::Read) => format!("r {}", op.key),
        })
        .collect();
    let label = format!("T{n} invoked: {}", ops.join(" "));
    let _ = writeln!(
        out,
        "<text{} x=\"{}\" y=\"{}\">{}</text>",
        ctx.txn_attrs("hl", n),
        layout.label_x,
        y(slot) + 4,
        esc(&clip(&label, LABEL_CHARS_MAX))
    );
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
    scene: &Scene,
    i: usize,
    names: &TxnNames,
    ctx: &Context,
    process_names: &[String],
    g: &Geometry,
) {
    let m = &scene.messages[i];
    let label = scene.label(i, names, process_names);
    let class = match (m.gone(), m.fate == "duplicated") {
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
        esc(&journey(m, process_names))
    );
    let (xs, xt, ys) = (g.x_source, g.x_target, g.y_send);
    if m.lost() {
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

/// `c1 → n1, sent 1.000ms, delivered 1.500ms`: where a message went and what became of
/// it, for the side panel.
fn journey(m: &Message, process_names: &[String]) -> String {
    let mut info = format!(
        "{} → {}, sent {}",
        process_names[m.source],
        process_names[m.target],
        format_ms(m.time_us)
    );
    if m.lost() {
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
    info
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
        let mut scene = Scene::of(&sim, &names);
        let mark = |class, label: &str, span| Mark {
            scope: Scope::Process(1),
            class,
            label: label.into(),
            span,
            cut: None,
        };
        let (crash_us, restart_us) = (scene.messages[3].time_us, scene.messages[9].time_us);
        scene.marks.push((crash_us, mark("crash", "crashed", Span::Opens("down"))));
        scene.marks.push((restart_us, mark("restart", "restarted", Span::Closes("down"))));
        scene.marks.sort_by_key(|(time_us, _)| *time_us);
        let html = draw(&sim, &names, &ctx, &Budget::DEFAULT, &scene).html;
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
