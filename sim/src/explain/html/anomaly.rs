//! The anomaly section: the anomaly in focus (a cycle edge by edge, in the text report's
//! words, with each edge's kind), then folded, the others found and the invariant
//! violations, each able to put its transactions in focus.

use std::fmt::Write as _;

use super::context::{focus_anomaly, Context};
use super::{esc, Page, ANOMALIES_PER_KIND, VIOLATIONS_MAX};
use crate::check::report::txn_line;
use crate::check::{Anomaly, Verdict};

impl Page<'_> {
    pub(super) fn anomalies(&self, out: &mut String, ctx: &Context) {
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
        let others = others(verdict, focus);
        // The rest, folded: the page opens on the anomaly and its messages. Without one,
        // the invariant violations are what the page is about, and stay open.
        let folded = focus.is_some() && (!others.is_empty() || !self.violations.is_empty());
        if folded {
            also_found(out, others.len(), self.violations.len());
        }
        for (number, count, anomaly) in others {
            anomaly_html(out, ctx, anomaly, number, count, false);
        }
        let left_out: usize =
            verdict.counts.values().map(|&c| c.saturating_sub(ANOMALIES_PER_KIND)).sum();
        if left_out > 0 {
            let _ = writeln!(
                out,
                "<p class=\"note\">… and {left_out} more anomalies (<code>--report FILE</code> \
                 explains them all).</p>"
            );
        }
        self.violations_html(out, ctx, focus.is_none());
        if folded {
            out.push_str("</details>\n");
        }
        for failure in &self.failures {
            let _ = writeln!(out, "<p class=\"bad\">{}</p>", ctx.linked(failure));
        }
        out.push_str("</section>\n");
    }

    /// The invariant violations, each with its transactions; the first is current when
    /// there is no anomaly in focus.
    fn violations_html(&self, out: &mut String, ctx: &Context, first_current: bool) {
        for (i, violation) in self.violations.iter().take(VIOLATIONS_MAX).enumerate() {
            let names: Vec<String> = violation.txns.iter().map(|n| format!("T{n}")).collect();
            let class = if first_current && i == 0 { "anomaly current" } else { "anomaly" };
            let _ = writeln!(
                out,
                "<article class=\"{class}\" data-focus=\"{}\">\n<h3>{}</h3>\n<p>{}</p>",
                names.join(" "),
                esc(&violation.name),
                ctx.linked(&violation.explanation)
            );
            where_list(out, violation.txns.iter().map(|&n| ctx.linked(&ctx.title(n))));
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
    }
}

/// The anomalies shown besides the one in focus, at most [`ANOMALIES_PER_KIND`] of each
/// name: (number among its name, how many of its name, the anomaly).
fn others<'v>(verdict: &'v Verdict, focus: Option<&Anomaly>) -> Vec<(usize, usize, &'v Anomaly)> {
    verdict
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
        .collect()
}

/// `Also found: 2 more anomalies, 1 invariant violation`: the fold's summary.
fn also_found(out: &mut String, others: usize, violations: usize) {
    let mut what: Vec<String> = Vec::new();
    if others > 0 {
        what.push(format!("{others} more {}", if others == 1 { "anomaly" } else { "anomalies" }));
    }
    if violations > 0 {
        what.push(format!(
            "{violations} invariant violation{}",
            if violations == 1 { "" } else { "s" }
        ));
    }
    let _ =
        writeln!(out, "<details id=\"also\"><summary>Also found: {}</summary>", what.join(", "));
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
    where_list(out, anomaly.txns.iter().map(|t| ctx.linked(&txn_line(t, ctx.host))));
    out.push_str("</article>\n");
}

fn where_list(out: &mut String, lines: impl Iterator<Item = String>) {
    out.push_str("<p class=\"where\">where</p>\n<ul class=\"where\">\n");
    for line in lines {
        let _ = writeln!(out, "<li>{line}</li>");
    }
    out.push_str("</ul>\n");
}
