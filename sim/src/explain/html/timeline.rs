//! Each key's versions in order: who installed each one and when it committed, and who
//! read it. Built from the history alone (the versions the store reported), so a history
//! without messages (`sim check`) gets it too.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use workloads::history::{EventKind, OpKind};

use super::context::Context;
use super::{clip, esc, Budget};
use crate::check::report::format_ms;

/// Readers listed per version; the rest are counted.
const READERS_MAX: usize = 12;
/// Values longer than this are cut.
const VALUE_CHARS_MAX: usize = 24;

/// One version of one key, as the history tells it.
#[derive(Default)]
struct Version<'h> {
    /// Committed transactions that reported installing it (more than one is an anomaly).
    installers: Vec<u64>,
    /// What the first installer wrote, else what the first reader read.
    value: Option<&'h str>,
    readers: Vec<u64>,
}

/// A key's versions by number.
type Versions<'h> = BTreeMap<u64, Version<'h>>;

/// The "Versions" section.
pub(super) fn render(ctx: &Context, budget: &Budget) -> String {
    let keys = versions_by_key(ctx);
    // The anomaly's keys first, then the others in order.
    let mut order: Vec<&str> =
        ctx.focus_keys.iter().map(String::as_str).filter(|k| keys.contains_key(k)).collect();
    order.extend(keys.keys().copied().filter(|k| !ctx.focus_keys.iter().any(|f| f == k)));
    let keys_max = budget.keys_max.max(1);
    let mut out = String::from("<section id=\"versions\">\n<h2>Versions</h2>\n");
    let versions: usize = keys.values().map(BTreeMap::len).sum();
    let _ = write!(
        out,
        "<p class=\"note\" id=\"versions-window\">{} keys, {versions} versions. ",
        keys.len()
    );
    if !ctx.window.whole {
        let _ = write!(
            out,
            "Shown: the versions installed or read by transactions that ran between {} and {}, \
             the span of the messages above. ",
            format_ms(ctx.window.from_us),
            format_ms(ctx.window.to_us)
        );
    }
    if order.len() > keys_max {
        let _ = write!(
            out,
            "Shown: {keys_max} keys (the anomaly's first); {} keys left out.",
            order.len() - keys_max
        );
    }
    out.push_str("</p>\n");
    for key in order.into_iter().take(keys_max) {
        key_html(&mut out, ctx, key, &keys[key]);
    }
    out.push_str("</section>\n");
    out
}

/// Every key's versions, as the completed transactions reported installing and reading
/// them.
fn versions_by_key<'h>(ctx: &Context<'h>) -> BTreeMap<&'h str, Versions<'h>> {
    let mut keys: BTreeMap<&str, Versions> = BTreeMap::new();
    for (&n, txn) in &ctx.txns {
        let Some(end) = txn.end else { continue };
        for op in &end.ops {
            let Some(version) = op.version else { continue };
            let v = keys.entry(op.key.as_str()).or_default().entry(version).or_default();
            match op.f {
                OpKind::Write if end.kind == EventKind::Ok => {
                    if v.installers.is_empty() {
                        v.value = op.value.as_deref();
                    }
                    v.installers.push(n);
                }
                OpKind::Write => {}
                OpKind::Read => {
                    if v.installers.is_empty() && v.value.is_none() {
                        v.value = op.value.as_deref();
                    }
                    if v.readers.last() != Some(&n) {
                        v.readers.push(n);
                    }
                }
            }
        }
    }
    keys
}

/// One key: its name and count, and the versions that transactions in the window
/// installed or read.
fn key_html(out: &mut String, ctx: &Context, key: &str, versions: &Versions) {
    let touches = |n: &u64| {
        ctx.txns.get(n).is_some_and(|t| ctx.window.contains(t.invoke.time, t.end_us(ctx.last_us)))
    };
    let shown: Vec<(u64, &Version)> = versions
        .iter()
        .filter(|(_, v)| v.installers.iter().chain(&v.readers).any(touches))
        .map(|(&number, v)| (number, v))
        .collect();
    let in_focus = ctx.focus_keys.iter().any(|k| k == key);
    let _ = write!(
        out,
        "<div class=\"key{}\" data-key=\"{}\"><div class=\"kn\">{}<small>{} versions",
        if in_focus { " fk" } else { "" },
        esc(key),
        esc(key),
        versions.len()
    );
    if shown.len() < versions.len() {
        let _ = write!(out, ", {} left out", versions.len() - shown.len());
    }
    out.push_str("</small></div><div class=\"vs\">");
    for (number, v) in shown {
        version_html(out, ctx, key, number, v);
    }
    out.push_str("</div></div>\n");
}

fn version_html(out: &mut String, ctx: &Context, key: &str, number: u64, v: &Version) {
    // On the anomaly's keys, a version its transactions installed or read is on the
    // cycle; elsewhere it is only something they touched.
    let touched = v.installers.iter().chain(&v.readers).any(|n| ctx.focus.contains(n));
    let mut class = String::from("v");
    if touched && ctx.focus_keys.iter().any(|k| k == key) {
        class.push_str(" f");
    } else if touched {
        class.push_str(" ft");
    }
    if v.installers.len() > 1 {
        class.push_str(" twice");
    }
    if v.installers.is_empty() && number > 0 {
        class.push_str(" unknown");
    }
    let _ = write!(out, "<div class=\"{class}\"><b>{}@{number}</b>", esc(key));
    match v.value {
        Some(value) => {
            let _ = write!(out, " = <q>{}</q>", esc(&clip(value, VALUE_CHARS_MAX)));
        }
        None if number == 0 => out.push_str(" absent"),
        None => {}
    }
    if number > 0 {
        out.push_str("<br>");
    }
    if number > 0 && v.installers.is_empty() {
        out.push_str("installer unknown (no ok transaction reported it)");
    }
    for (i, &n) in v.installers.iter().enumerate() {
        if i > 0 {
            out.push_str(" and ");
        } else {
            out.push_str("by ");
        }
        let when = ctx.txns.get(&n).and_then(|t| t.end).map(|e| format_ms(e.time));
        let _ = write!(
            out,
            "<span{}>T{n}</span> <span class=\"t\">ok {}</span>",
            ctx.txn_attrs("txn", n),
            when.unwrap_or_default()
        );
    }
    if v.installers.len() > 1 {
        out.push_str(" (installed twice)");
    }
    if !v.readers.is_empty() {
        out.push_str("<br><span class=\"rd\">read by");
        for &n in v.readers.iter().take(READERS_MAX) {
            let outcome = ctx.txns.get(&n).map_or("open", |t| t.outcome());
            let _ =
                write!(out, " <span{}>T{n}</span>", ctx.txn_attrs(&format!("txn r{outcome}"), n));
        }
        if v.readers.len() > READERS_MAX {
            let _ = write!(out, " +{} more", v.readers.len() - READERS_MAX);
        }
        out.push_str("</span>");
    }
    out.push_str("</div>");
}
