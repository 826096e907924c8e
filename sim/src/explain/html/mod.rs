//! The report as one self-contained HTML page (`--html FILE` of `sim run`, `sim shrink`
//! and `sim check`): a header (the run, its counts, the verdict, the command that
//! reproduces it), the anomaly's cycle edge by edge in the text report's words, a Lamport
//! diagram of the messages ([`lamport`]) and each key's versions: who installed each one,
//! when, and who read it ([`timeline`]).
//!
//! One file that fetches nothing: the style and the script are inline, the drawings inline
//! SVG. Names and units are the text report's: `T<n>` is the transaction invoked at
//! history event `n`, times are ms of virtual time. Every piece of text that comes from a
//! run or a history (keys, values, message bodies, file names) goes through [`esc`].
//!
//! Deterministic: ordered collections only, coordinates computed and printed as integers,
//! no clock; the same run gives the same bytes. Bounded: at most [`Budget`]'s messages,
//! transactions and keys are drawn (a window around the anomaly, or the start of a run
//! that passed), and the page says what it left out.

mod lamport;
mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use workloads::history::{Event, EventKind};

use crate::check::report::{format_ms, txn_line, txn_title};
use crate::check::{Anomaly, Model, Verdict};
use crate::explain::render::ops;
use crate::explain::report::{in_ms, Repro, RunCounts, TxnNames};
use crate::hunt::outcome::RunOutcome;

/// What a page draws at most. A default run (5 clients, 300 transactions, about 4,000
/// messages) fits whole; a bigger one is shown as a window around its anomaly.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Messages drawn in the Lamport diagram.
    pub messages_max: usize,
    /// Transactions of a history without messages (`sim check`) taken into the window.
    pub txns_max: usize,
    /// Keys in the version timeline.
    pub keys_max: usize,
}

impl Budget {
    /// About 1 MB for a default run, and at most about 3 MB for any run.
    pub const DEFAULT: Budget = Budget { messages_max: 5_000, txns_max: 2_000, keys_max: 60 };
}

/// Anomalies explained per name, as `sim run` prints them.
const ANOMALIES_PER_KIND: usize = 3;
/// Invariant violations listed.
const VIOLATIONS_MAX: usize = 5;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// `text` made safe as HTML content and as a double-quoted attribute value.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON made safe inside a `<script>` element: `<`, `>` and `&` occur in JSON only within
/// strings, where their `\u` escapes mean the same, so no `</script>` can end it early.
fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// At most `max` characters of `text`, cut with `…`.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The page of a simulated run (`sim run`, `sim shrink`): everything the text report says,
/// drawn. `notes` are extra header rows (`sim shrink` says what it shrank).
pub fn run_html(outcome: &RunOutcome, repro: &Repro, notes: &[(&str, String)]) -> String {
    run_html_with(outcome, repro, notes, &Budget::DEFAULT)
}

/// [`run_html`] within `budget`.
pub fn run_html_with(
    outcome: &RunOutcome,
    repro: &Repro,
    notes: &[(&str, String)],
    budget: &Budget,
) -> String {
    let sim = &outcome.sim;
    let names = TxnNames::of(sim);
    let c = &sim.config;
    let failure = outcome.failure();
    let verdict_text = match &failure {
        Some(failure) => format!("FAILED: {}", failure.headline()),
        None => "valid".to_string(),
    };
    let mut rows: Vec<(String, String, Side)> = vec![
        ("seed".into(), esc(&c.seed.to_string()), Side::Left),
        (
            "run".into(),
            esc(&format!(
                "workload {}, {} clients, {} txns, {} keys per family",
                c.workload.name(),
                c.clients,
                c.txns,
                c.keys
            )),
            Side::Left,
        ),
    ];
    if let Some(bug) = c.bug {
        rows.push(("planted bug".into(), esc(bug.name()), Side::Left));
    }
    if c.keep.is_some() {
        rows.push(("programs".into(), "only those the replay file keeps".into(), Side::Left));
    }
    rows.push((format!("faults ({})", c.faults.flag()), esc(&sim.mix.to_string()), Side::Left));
    for (name, value) in notes {
        rows.push((name.to_string(), esc(value), Side::Left));
    }
    rows.push(("verdict".into(), verdict_html(&verdict_text, failure.is_some()), Side::Right));
    let counts = RunCounts::of(sim).render();
    let counts = counts.lines().map(esc).collect::<Vec<_>>().join("<br>");
    rows.push(("counts".into(), counts, Side::Right));
    let n = &sim.network;
    rows.push((
        "messages".into(),
        esc(&format!(
            "{} sent, {} delivered, {} dropped, {} lost to partitions, {} duplicated",
            n.sent, n.delivered, n.dropped, n.partitioned, n.duplicated
        )),
        Side::Right,
    ));
    let healed = sim.healed_at_us.map_or("never".to_string(), format_ms);
    rows.push((
        "virtual time".into(),
        esc(&format!("{} (faults healed at {healed})", format_ms(sim.virtual_duration_us))),
        Side::Right,
    ));
    rows.push((
        "fingerprint".into(),
        format!("<code>{:016x}</code>", sim.fingerprint),
        Side::Right,
    ));
    if let Some(line) = &repro.seeds_line {
        rows.push(("add to seeds/".into(), format!("<code>{}</code>", esc(line)), Side::Wide));
    }
    let host = |process: u64| names.host(process);
    let mut ctx = Context::new(&sim.history, &host, outcome.verdict.as_ref().ok());
    // Protocol violations name the store's txn ids; the page names T<n>, as the text does.
    let violations: Vec<(String, String, Vec<u64>)> = outcome
        .violations
        .iter()
        .map(|v| {
            let (explanation, mut txns) = names.rename(&v.explanation);
            txns.extend(v.invoke_index);
            txns.sort_unstable();
            txns.dedup();
            (v.name.to_string(), in_ms(&explanation), txns)
        })
        .collect();
    if ctx.focus.is_empty() {
        if let Some((_, _, txns)) = violations.first() {
            ctx.focus = txns.iter().copied().collect();
        }
    }
    let diagram = lamport::render(sim, &names, &ctx, budget);
    ctx.window = diagram.window;
    let mut failures = Vec::new();
    for (label, text) in [
        ("internal error", &sim.internal_error),
        ("the store panicked", &sim.node_panic),
        ("liveness failure", &sim.liveness_failure),
    ] {
        if let Some(text) = text {
            failures.push(format!("{label}: {}", in_ms(text)));
        }
    }
    let page = Page {
        title: format!("seed {}: {verdict_text}", c.seed),
        rows,
        repro: Some(repro.command.clone()),
        verdict: outcome.verdict.as_ref().ok(),
        unchecked: outcome.verdict.as_ref().err().map(|e| e.to_string()),
        violations,
        failures,
        lamport: diagram.html,
    };
    page.render(&ctx, budget)
}

/// The page of a history alone (`sim check --html`): the verdict, the anomaly and the key
/// timeline; without messages the Lamport diagram says it has none to draw.
pub fn history_html(source: &str, model: Model, history: &[Event], verdict: &Verdict) -> String {
    history_html_with(source, model, history, verdict, &Budget::DEFAULT)
}

/// [`history_html`] within `budget`.
pub fn history_html_with(
    source: &str,
    model: Model,
    history: &[Event],
    verdict: &Verdict,
    budget: &Budget,
) -> String {
    let host = |_: u64| None;
    let mut ctx = Context::new(history, &host, Some(verdict));
    ctx.window = history_window(&ctx, budget.txns_max);
    let verdict_text = if verdict.valid {
        "valid".to_string()
    } else {
        let names: Vec<&str> = verdict.counts.keys().map(String::as_str).collect();
        format!("FAILED: anomalies: {}", names.join(", "))
    };
    let s = &verdict.stats;
    let rows = vec![
        ("history".into(), format!("<code>{}</code>", esc(source)), Side::Left),
        ("model".into(), esc(model.name()), Side::Left),
        ("verdict".into(), verdict_html(&verdict_text, !verdict.valid), Side::Right),
        (
            "counts".into(),
            esc(&format!(
                "txns: {} in the history (ok {}, fail {}, info {} of which {} proved committed), \
                 keys: {}",
                s.txns, s.committed, s.failed, s.info, s.info_committed, s.keys
            )),
            Side::Right,
        ),
    ];
    let repro = format!("cargo run -p sim -- check {source} --model {}", model.name());
    let lamport = "<p class=\"note\">No messages to draw: a history records transactions, not \
                   the messages that ran them. <code>sim run --seed N --html FILE</code> draws \
                   a simulated run's messages.</p>"
        .to_string();
    let page = Page {
        title: format!("{source}: {verdict_text}"),
        rows,
        repro: Some(repro),
        verdict: Some(verdict),
        unchecked: None,
        violations: Vec::new(),
        failures: Vec::new(),
        lamport,
    };
    page.render(&ctx, budget)
}

fn verdict_html(text: &str, failed: bool) -> String {
    let class = if failed { "bad" } else { "good" };
    format!("<strong class=\"{class}\">{}</strong>", esc(text))
}

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
    fn new(
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

    /// `text`, escaped, with every `T<n>` of a transaction made a link to it.
    pub fn linked(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 32);
        let mut rest = text;
        while let Some(first) = rest.chars().next() {
            let len = match rest.find(|c: char| !c.is_ascii_alphanumeric()) {
                Some(0) => first.len_utf8(),
                Some(len) => len,
                None => rest.len(),
            };
            let (word, after) = rest.split_at(len);
            let txn = word
                .strip_prefix('T')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u64>().ok())
                .filter(|n| self.txns.contains_key(n));
            match txn {
                Some(n) => {
                    let _ = write!(out, "<span{}>{word}</span>", self.txn_attrs("txn", n));
                }
                None => out.push_str(&esc(word)),
            }
            rest = after;
        }
        out
    }
}

/// The anomaly the page is about: the first cycle (they explain themselves edge by edge),
/// else the first anomaly.
fn focus_anomaly(verdict: &Verdict) -> Option<&Anomaly> {
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
fn history_window(ctx: &Context, txns_max: usize) -> Window {
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

/// Where a header row goes: what was run on the left, what came of it on the right, long
/// lines (the commands) across.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Wide,
}

/// The parts of a page, each already rendered or ready to be.
struct Page<'v> {
    title: String,
    /// Header rows: a name, its value (already HTML) and where it goes.
    rows: Vec<(String, String, Side)>,
    repro: Option<String>,
    verdict: Option<&'v Verdict>,
    /// Why the history could not be checked.
    unchecked: Option<String>,
    /// Workload invariant and protocol violations: name, explanation, transactions.
    violations: Vec<(String, String, Vec<u64>)>,
    /// Internal errors, panics, liveness failures.
    failures: Vec<String>,
    lamport: String,
}

impl Page<'_> {
    fn render(&self, ctx: &Context, budget: &Budget) -> String {
        let mut out = String::with_capacity(1 << 20);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        let _ = writeln!(out, "<title>{}</title>", esc(&self.title));
        let _ = writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>");
        // First in the body, so that an error anywhere after it is caught and shown.
        out.push_str(
            "<div id=\"script-errors\" hidden></div>\n<script>\n\
             window.addEventListener('error', function (e) {\n  \
             var box = document.getElementById('script-errors');\n  \
             box.hidden = false;\n  \
             box.textContent += 'script error: ' + e.message + ' (line ' + e.lineno + ')\\n';\n\
             });\n</script>\n",
        );
        self.header(&mut out);
        self.anomalies(&mut out, ctx);
        out.push_str("<div class=\"views\">\n<section id=\"messages\">\n<h2>Messages</h2>\n");
        out.push_str(&self.lamport);
        out.push_str("</section>\n");
        out.push_str(
            "<aside id=\"details\"><h2>Details</h2><p id=\"details-what\" class=\"note\">Hover \
             or click a message for its body; click a transaction to highlight it \
             everywhere.</p><pre id=\"details-body\"></pre></aside>\n</div>\n",
        );
        out.push_str(&timeline::render(ctx, budget));
        legend(&mut out);
        // What the panel says of a transaction when it is clicked: those the page shows.
        let info: BTreeMap<String, String> = ctx
            .txns
            .iter()
            .filter(|(n, t)| {
                ctx.focus.contains(n) || ctx.window.contains(t.invoke.time, t.end_us(ctx.last_us))
            })
            .map(|(&n, _)| (format!("T{n}"), ctx.info(n)))
            .collect();
        let _ = writeln!(
            out,
            "<script type=\"application/json\" id=\"txn-info\">{}</script>",
            script_json(&serde_json::to_string(&info).expect("strings serialize"))
        );
        let _ = write!(out, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
        out
    }

    fn header(&self, out: &mut String) {
        let _ = writeln!(out, "<header>\n<h1>{}</h1>\n<div class=\"rows\">", esc(&self.title));
        for side in [Side::Left, Side::Right] {
            out.push_str("<dl>\n");
            for (name, value, _) in self.rows.iter().filter(|r| r.2 == side) {
                let _ = writeln!(out, "<dt>{}</dt><dd>{value}</dd>", esc(name));
            }
            out.push_str("</dl>\n");
        }
        out.push_str("</div>\n<dl class=\"wide\">\n");
        if let Some(repro) = &self.repro {
            let _ = writeln!(
                out,
                "<dt>reproduce</dt><dd><code id=\"repro\">{}</code> <button id=\"copy\" \
                 type=\"button\">copy</button></dd>",
                esc(repro)
            );
        }
        for (name, value, _) in self.rows.iter().filter(|r| r.2 == Side::Wide) {
            let _ = writeln!(out, "<dt>{}</dt><dd>{value}</dd>", esc(name));
        }
        out.push_str("</dl>\n</header>\n");
    }

    fn anomalies(&self, out: &mut String, ctx: &Context) {
        out.push_str("<section id=\"anomaly\">\n<h2>The anomaly</h2>\n");
        if let Some(error) = &self.unchecked {
            let _ = writeln!(
                out,
                "<p class=\"bad\">The history could not be checked: {}</p>",
                esc(error)
            );
        }
        let Some(verdict) = self.verdict else {
            out.push_str("</section>\n");
            return;
        };
        let focus = focus_anomaly(verdict);
        if verdict.anomalies.is_empty() {
            let _ = writeln!(
                out,
                "<p class=\"note\">The checker found no anomaly: the history is {}.</p>",
                esc(verdict.model.name())
            );
        }
        if let Some(anomaly) = focus {
            let count = verdict.counts.get(&anomaly.name).copied().unwrap_or(1);
            let position = verdict
                .anomalies
                .iter()
                .filter(|a| a.name == anomaly.name)
                .position(|a| std::ptr::eq(a, anomaly));
            anomaly_html(out, ctx, anomaly, position.unwrap_or(0) + 1, count, true);
        }
        let others: Vec<(usize, usize, &Anomaly)> = verdict
            .counts
            .iter()
            .flat_map(|(name, &count)| {
                verdict
                    .anomalies
                    .iter()
                    .filter(move |a| &a.name == name)
                    .take(ANOMALIES_PER_KIND)
                    .enumerate()
                    .map(move |(i, a)| (i + 1, count, a))
            })
            .filter(|(_, _, a)| !focus.is_some_and(|f| std::ptr::eq(*a, f)))
            .collect();
        let left_out: usize =
            verdict.counts.values().map(|&c| c.saturating_sub(ANOMALIES_PER_KIND)).sum();
        // The rest, folded: the page opens on the anomaly and its messages.
        let folded = !others.is_empty() || !self.violations.is_empty();
        if folded {
            let mut what: Vec<String> = Vec::new();
            if !others.is_empty() {
                what.push(format!(
                    "{} more {}",
                    others.len(),
                    if others.len() == 1 { "anomaly" } else { "anomalies" }
                ));
            }
            if !self.violations.is_empty() {
                what.push(format!(
                    "{} invariant violation{}",
                    self.violations.len(),
                    if self.violations.len() == 1 { "" } else { "s" }
                ));
            }
            let _ = writeln!(
                out,
                "<details id=\"also\"><summary>Also found: {}</summary>",
                what.join(", ")
            );
        }
        for (number, count, anomaly) in others {
            anomaly_html(out, ctx, anomaly, number, count, false);
        }
        if left_out > 0 {
            let _ = writeln!(
                out,
                "<p class=\"note\">… and {left_out} more anomalies (<code>--report FILE</code> \
                 explains them all).</p>"
            );
        }
        for (name, explanation, txns) in self.violations.iter().take(VIOLATIONS_MAX) {
            let focus: Vec<String> = txns.iter().map(|n| format!("T{n}")).collect();
            let _ = writeln!(
                out,
                "<article class=\"anomaly\" data-focus=\"{}\">\n<h3>{}</h3>\n<p>{}</p>",
                focus.join(" "),
                esc(name),
                ctx.linked(explanation)
            );
            where_list(out, ctx, txns.iter().map(|&n| ctx.linked(&ctx.title(n))));
            out.push_str("</article>\n");
        }
        if self.violations.len() > VIOLATIONS_MAX {
            let _ = writeln!(
                out,
                "<p class=\"note\">… and {} more invariant violations (<code>--report \
                 FILE</code> lists them all).</p>",
                self.violations.len() - VIOLATIONS_MAX
            );
        }
        if folded {
            out.push_str("</details>\n");
        }
        for failure in &self.failures {
            let _ = writeln!(out, "<p class=\"bad\">{}</p>", ctx.linked(failure));
        }
        out.push_str("</section>\n");
    }
}

/// One anomaly: its name and number, its explanation (a cycle edge by edge, with each
/// edge's kind), and its transactions. `current` marks the one in focus.
fn anomaly_html(
    out: &mut String,
    ctx: &Context,
    anomaly: &Anomaly,
    number: usize,
    count: usize,
    current: bool,
) {
    let focus: Vec<String> =
        anomaly.txns.iter().filter_map(|t| t.invoke_index).map(|n| format!("T{n}")).collect();
    let class = if current { "anomaly current" } else { "anomaly" };
    let _ = writeln!(
        out,
        "<article class=\"{class}\" data-focus=\"{}\">\n<h3>{} #{number} of {count}</h3>",
        focus.join(" "),
        esc(&anomaly.name)
    );
    let mut lines = anomaly.explanation.iter();
    if anomaly.cycle.is_empty() {
        for line in lines {
            let _ = writeln!(out, "<p>{}</p>", ctx.linked(line));
        }
    } else {
        if let Some(first) = lines.next() {
            let _ = writeln!(out, "<p class=\"cycle\">{}</p>", ctx.linked(first));
        }
        out.push_str("<ol class=\"edges\">\n");
        for edge in &anomaly.cycle {
            let _ = writeln!(
                out,
                "<li class=\"edge\"><span class=\"kind {0}\">{0}</span> {1}</li>",
                esc(&edge.kind),
                ctx.linked(&edge.explanation)
            );
        }
        out.push_str("</ol>\n");
    }
    where_list(out, ctx, anomaly.txns.iter().map(|t| ctx.linked(&txn_line(t, ctx.host))));
    out.push_str("</article>\n");
}

fn where_list(out: &mut String, _ctx: &Context, lines: impl Iterator<Item = String>) {
    out.push_str("<p class=\"where\">where</p>\n<ul class=\"where\">\n");
    for line in lines {
        let _ = writeln!(out, "<li>{line}</li>");
    }
    out.push_str("</ul>\n");
}

/// How to read the drawings.
fn legend(out: &mut String) {
    out.push_str(
        "<section id=\"legend\">\n<h2>How to read this page</h2>\n<ul>\n\
         <li><b>T&lt;n&gt;</b>: the transaction invoked at history event n (line n+1 of the \
         history); times are ms of virtual time since the run began.</li>\n\
         <li><b>Messages</b>: one column per process (n1: the store; c&lt;k&gt;: simulated \
         client k, the last one runs the final read), time downwards. An arrow goes from a \
         message's send to its delivery; <span class=\"lost-key\">✕</span> a message lost \
         (dropped by the network or cut by a partition); a dashed second arrow, the copy of a \
         duplicated one. A bar on a client's column is a transaction, from its invocation to \
         its completion (green ok, grey fail, amber info or open). A shaded band is a \
         partition; a dashed line, the end of the fault phase.</li>\n\
         <li><b>Versions</b>: per key, each version (k@v, 0: absent) with the transaction \
         that installed it and when it committed, and the transactions that read it.</li>\n\
         <li><span class=\"f-key\">Orange</span>: the transactions of the anomaly; click an \
         anomaly to put its transactions in focus, a transaction to select it \
         (<span class=\"sel-key\">blue</span>) everywhere.</li>\n\
         </ul>\n</section>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }

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
