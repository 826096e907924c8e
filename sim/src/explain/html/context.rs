//! What every section of a page shares: the history's transactions under their one
//! name, the anomaly in focus (its transactions highlighted in every view, its keys shown
//! first), and the window of time drawn.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use workloads::history::{Event, EventKind};

use super::esc;
use crate::check::report::{format_ms, txn_title};
use crate::check::{Anomaly, Verdict};
use crate::explain::render::ops;
use crate::explain::scene::map_words;

/// A transaction of the history: its invocation and, unless still open, its completion.
pub(super) struct Txn<'h> {
    pub invoke: &'h Event,
    pub end: Option<&'h Event>,
}

impl Txn<'_> {
    pub fn outcome(&self) -> &'static str {
        match self.end.map(|e| e.kind) {
            Some(EventKind::Ok) => "ok",
            Some(EventKind::Fail) => "fail",
            Some(EventKind::Info) => "info",
            Some(EventKind::Invoke) | None => "open",
        }
    }

    pub fn txn_id(&self) -> Option<&str> {
        self.end.and_then(|e| e.txn_id.as_deref()).or(self.invoke.txn_id.as_deref())
    }

    /// When it completed; an open transaction lasts to `last_us`.
    pub fn end_us(&self, last_us: u64) -> u64 {
        self.end.map_or(last_us, |e| e.time)
    }
}

/// The span of virtual time the page draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub from_us: u64,
    pub to_us: u64,
    /// Nothing was left out.
    pub whole: bool,
}

impl Window {
    pub fn contains(&self, from_us: u64, to_us: u64) -> bool {
        self.whole || (from_us <= self.to_us && to_us >= self.from_us)
    }
}

/// What every section shares: the transactions by name, which are in focus (the anomaly's,
/// highlighted in every view), where processes ran, and the window drawn.
pub(super) struct Context<'h> {
    pub txns: BTreeMap<u64, Txn<'h>>,
    pub focus: BTreeSet<u64>,
    /// The keys of the anomaly in focus, shown first in the timeline.
    pub focus_keys: Vec<String>,
    pub host: &'h dyn Fn(u64) -> Option<String>,
    pub window: Window,
    /// The last event's time: where open transactions end.
    pub last_us: u64,
}

impl<'h> Context<'h> {
    pub(super) fn new(
        history: &'h [Event],
        host: &'h dyn Fn(u64) -> Option<String>,
        verdict: Option<&Verdict>,
    ) -> Context<'h> {
        let mut txns = BTreeMap::new();
        let mut open: BTreeMap<u64, u64> = BTreeMap::new();
        for event in history {
            if event.kind == EventKind::Invoke {
                open.insert(event.process, event.index);
                txns.insert(event.index, Txn { invoke: event, end: None });
            } else if let Some(n) = open.remove(&event.process) {
                if let Some(txn) = txns.get_mut(&n) {
                    txn.end = Some(event);
                }
            }
        }
        let last_us = history.last().map_or(0, |e| e.time);
        let mut ctx = Context {
            txns,
            focus: BTreeSet::new(),
            focus_keys: Vec::new(),
            host,
            window: Window { from_us: 0, to_us: last_us, whole: true },
            last_us,
        };
        if let Some(anomaly) = verdict.and_then(focus_anomaly) {
            ctx.focus = anomaly.txns.iter().filter_map(|t| t.invoke_index).collect();
            ctx.focus_keys = anomaly_keys(anomaly);
        }
        ctx
    }

    /// `T583 = txn t321, process 4 on client c5`.
    pub fn title(&self, n: u64) -> String {
        match self.txns.get(&n) {
            Some(t) => txn_title(
                &format!("T{n}"),
                t.txn_id(),
                t.invoke.process,
                (self.host)(t.invoke.process).as_deref(),
            ),
            None => format!("T{n}"),
        }
    }

    /// The title, when it was invoked and completed: what the side panel shows of it.
    pub fn info(&self, n: u64) -> String {
        let Some(t) = self.txns.get(&n) else { return format!("T{n}") };
        let mut info = format!("{}: invoked {}", self.title(n), format_ms(t.invoke.time));
        match t.end {
            Some(end) => {
                let _ = write!(info, ", {} {}", t.outcome(), format_ms(end.time));
            }
            None => info.push_str(", never completed"),
        }
        if t.invoke.final_read {
            info.push_str(" (the final read)");
        }
        let done = t.end.unwrap_or(t.invoke);
        let _ = write!(info, "\n{}", ops(&done.ops, t.end.is_some()));
        info
    }

    /// ` class="CLASS f" data-txn="T<n>"`: the attributes that tie an element to its
    /// transaction (` f` when in focus), for the script's highlighting.
    pub fn txn_attrs(&self, class: &str, n: u64) -> String {
        let focus = if self.focus.contains(&n) { " f" } else { "" };
        format!(" class=\"{class}{focus}\" data-txn=\"T{n}\"")
    }

    /// `text`, escaped, with every `T<n>` of a transaction made a link to it. Escaping
    /// first keeps every word whole (it only turns `&<>"'` into entities), so the words
    /// are the text's own.
    pub fn linked(&self, text: &str) -> String {
        map_words(&esc(text), |word| {
            let n = word.strip_prefix('T').filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
            let n = n.parse::<u64>().ok().filter(|n| self.txns.contains_key(n))?;
            Some(format!("<span{}>{word}</span>", self.txn_attrs("txn", n)))
        })
    }
}

/// The anomaly the page is about: the first cycle (they explain themselves edge by edge),
/// else the first anomaly.
pub(super) fn focus_anomaly(verdict: &Verdict) -> Option<&Anomaly> {
    verdict.anomalies.iter().find(|a| !a.cycle.is_empty()).or(verdict.anomalies.first())
}

/// The keys an anomaly is about: its cycle's edges' keys, else the keys its transactions'
/// shown ops touch.
fn anomaly_keys(anomaly: &Anomaly) -> Vec<String> {
    let mut keys: Vec<String> = anomaly.cycle.iter().filter_map(|e| e.key.clone()).collect();
    if keys.is_empty() {
        keys = anomaly.txns.iter().flat_map(|t| t.ops.iter().map(|o| o.key.clone())).collect();
    }
    let mut seen = BTreeSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys
}

/// For a history without messages: all of it, or `txns_max` transactions (in invocation
/// order) around the anomaly's, or the first ones when there is none.
pub(super) fn history_window(ctx: &Context, txns_max: usize) -> Window {
    let order: Vec<u64> = ctx.txns.keys().copied().collect();
    if order.len() <= txns_max || txns_max == 0 {
        return Window { from_us: 0, to_us: ctx.last_us, whole: true };
    }
    let (start, end) = around(&order, |n| ctx.focus.contains(n), txns_max);
    let shown = &order[start..end];
    let from_us = ctx.txns[&shown[0]].invoke.time;
    let to_us = shown.iter().map(|n| ctx.txns[n].end_us(ctx.last_us)).max().unwrap_or(from_us);
    Window { from_us, to_us, whole: false }
}

/// The range of at most `max` items (`max` > 0) that holds the first to the last `wanted`
/// one with as many others before as after (the first `max` when none is wanted, or as
/// many as fit from the first wanted one when they span more).
pub(super) fn around<T>(items: &[T], wanted: impl Fn(&T) -> bool, max: usize) -> (usize, usize) {
    if items.len() <= max {
        return (0, items.len());
    }
    let Some(first) = items.iter().position(&wanted) else { return (0, max) };
    let last = items.iter().rposition(&wanted).unwrap_or(first);
    if last - first + 1 >= max {
        return (first, first + max);
    }
    let pad = (max - (last - first + 1)) / 2;
    let start = first.saturating_sub(pad).min(items.len() - max);
    (start, start + max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_centres_on_what_is_wanted() {
        // Wanted items 10..=12 of 100 in a window of 9: 3 before, 3 after.
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(around(&items, |i| (10..=12).contains(i), 9), (7, 16));
        assert_eq!(around(&items, |_| false, 9), (0, 9));
        assert_eq!(around(&items, |i| *i >= 98, 9), (91, 100));
        assert_eq!(around(&items, |i| *i == 0, 9), (0, 9));
        assert_eq!(around(&items, |i| *i == 5 || *i == 50, 9), (5, 14));
        assert_eq!(around(&items[..5], |_| true, 9), (0, 5));
    }
}
