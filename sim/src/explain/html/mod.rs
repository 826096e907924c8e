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

mod anomaly;
mod context;
mod lamport;
mod marks;
mod timeline;

use context::{history_window, Context};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use workloads::history::Event;

use crate::check::report::format_ms;
use crate::check::{Model, Verdict};
use crate::explain::report::{Repro, RunCounts, TxnNames};
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
    /// A default run's page is 1.2 to 2.0 MB with every message drawn (seeds 0 to 9); a
    /// window of 5,000 messages about 2.5 MB.
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

/// `text` made safe as a single-quoted attribute value: JSON keeps its double quotes
/// (a message body is most of a page; `&quot;` would make it half again as long).
pub fn esc_single_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
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
                "workload {}{}, {} clients, {} txns, {} keys per family",
                c.workload.name(),
                if c.nodes > 1 { format!(", {} nodes", c.nodes) } else { String::new() },
                c.clients,
                c.txns,
                c.keys
            )),
            Side::Left,
        ),
    ];
    if c.nodes > 1 {
        rows.push(("node_ids".into(), esc(&sim.node_ids.join(", ")), Side::Left));
    }
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
    if (sim.mix.crash.is_some() || sim.mix.disk.is_some()) && !sim.config.store.is_binary() {
        let d = &sim.disk;
        rows.push((
            "store's disk".into(),
            esc(&format!(
                "{} syncs, {} crashes ({} messages arrived while it was down); unsynced writes \
                 at the crashes: {} lost, {} torn, {} kept whole; {} corrupted reads",
                d.syncs,
                d.crashes,
                n.undelivered,
                d.lost_writes,
                d.torn_writes,
                d.kept_writes,
                d.corrupted_reads
            )),
            Side::Right,
        ));
    }
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
    if let Some(record) = &repro.record {
        let (label, text) = record.label_and_text();
        rows.push((label.into(), format!("<code>{}</code>", esc(&text)), Side::Wide));
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
            (v.name.to_string(), explanation, txns)
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
            failures.push(format!("{label}: {}", text.in_ms()));
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
        // The panel's first words are a short key to the drawing, until something is
        // hovered or clicked.
        out.push_str(
            "<aside id=\"details\"><h2>Details</h2><p id=\"details-what\" class=\"note\">Hover \
             or click a message for its body; click a transaction (T&lt;n&gt;) to highlight it \
             in every view, an anomaly to put its transactions in focus.</p>\
             <pre id=\"details-body\"></pre>\
             <ul class=\"key-to\"><li><span class=\"f-key\">orange</span>: the anomaly's \
             transactions</li><li><span class=\"lost-key\">✕</span>: a lost message (dropped \
             or cut by a partition)</li><li>dashed: the second copy of a duplicated \
             message</li><li>bars: transactions on their client's column (green ok, grey \
             fail, amber info)</li><li>shaded band: a partition; red band on a column: the \
             process was down, crashed until it restarted; dashed line: the fault phase \
             ends</li></ul></aside>\n</div>\n",
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
         partition; a red band on one column, a process that was down (from its crash to its \
         restart: the messages that reached it meanwhile are crossed out); a dashed line, the \
         end of the fault phase.</li>\n\
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
        assert_eq!(esc_single_quoted("{\"k\":\"'<b>&\"}"), "{\"k\":\"&#39;&lt;b&gt;&amp;\"}");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
