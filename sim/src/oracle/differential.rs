//! Holds `sim::check` to the oracle's verdict on generated histories: compares the two on
//! one history, shrinks a history they disagree on to a minimal one, and sweeps ranges of
//! seeds. A disagreement means one of the two is wrong; the shrunk history, a few lines
//! long, is small enough to judge by hand against the doc.

use std::fmt::Write as _;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use workloads::history::Event;

use super::generate::small_history;
use super::mutate::{remove_op, remove_reported, renumber};
use super::wellformed::well_formed;
use super::{judge, pairs, Judgement};
use crate::check::{check, Model};

/// How many shrunk disagreements a sweep keeps.
pub const EXAMPLES_KEPT: usize = 5;

/// How the checker and the oracle disagree on a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disagreement {
    /// The checker refused as ill-formed a history that keeps the doc's rules.
    CheckerRefused { message: String },
    /// The checker judged a history that breaks the doc's rule `rule`.
    CheckerAccepted { rule: String, checker_valid: bool },
    /// The checker panicked.
    CheckerPanicked { message: String },
    /// The checker ran out of budget on a history small enough for the oracle.
    CheckerUnknown { reason: String },
    /// Opposite verdicts.
    Verdicts { checker_valid: bool, checker_anomalies: Vec<String>, oracle: Judgement },
}

impl Disagreement {
    /// Whether `other` is the same disagreement, for the shrinker to keep.
    fn same_kind(&self, other: &Disagreement) -> bool {
        use Disagreement::*;
        match (self, other) {
            (CheckerRefused { .. }, CheckerRefused { .. })
            | (CheckerAccepted { .. }, CheckerAccepted { .. })
            | (CheckerPanicked { .. }, CheckerPanicked { .. })
            | (CheckerUnknown { .. }, CheckerUnknown { .. }) => true,
            (Verdicts { checker_valid: a, .. }, Verdicts { checker_valid: b, .. }) => a == b,
            _ => false,
        }
    }

    pub fn checker_said(&self) -> String {
        match self {
            Disagreement::CheckerRefused { message } => format!("ill-formed: {message}"),
            Disagreement::CheckerAccepted { checker_valid, .. } => {
                verdict_name(*checker_valid).into()
            }
            Disagreement::CheckerPanicked { message } => format!("panicked: {message}"),
            Disagreement::CheckerUnknown { reason } => format!("unknown: {reason}"),
            Disagreement::Verdicts { checker_valid: true, .. } => "valid".into(),
            Disagreement::Verdicts { checker_valid: false, checker_anomalies, .. } => {
                format!("invalid ({})", checker_anomalies.join(", "))
            }
        }
    }

    pub fn oracle_said(&self) -> String {
        match self {
            Disagreement::CheckerAccepted { rule, .. } => format!("ill-formed: {rule}"),
            Disagreement::Verdicts { oracle: Judgement::Valid { order }, .. } => {
                let names: Vec<String> = order.iter().map(|t| format!("T{t}")).collect();
                format!("valid (serial order {})", names.join(" "))
            }
            Disagreement::Verdicts { oracle, .. } => verdict_name(oracle.is_valid()).into(),
            Disagreement::CheckerRefused { .. } | Disagreement::CheckerPanicked { .. } => {
                "well-formed".into()
            }
            Disagreement::CheckerUnknown { .. } => "decided".into(),
        }
    }
}

fn verdict_name(valid: bool) -> &'static str {
    if valid {
        "valid"
    } else {
        "invalid"
    }
}

pub fn model_name(model: Model) -> &'static str {
    match model {
        Model::Serializable => "serializable",
        Model::StrictSerializable => "strict-serializable",
    }
}

/// Both judges on one history: the oracle's judgement (`None` if ill-formed) and how
/// they disagree, if they do.
struct Compared {
    judgement: Option<Judgement>,
    disagreement: Option<Disagreement>,
}

fn compared(events: &[Event], model: Model) -> Compared {
    let checked = catch_unwind(AssertUnwindSafe(|| check(events, model)));
    let verdict = match checked {
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            let disagreement = Some(Disagreement::CheckerPanicked { message });
            return Compared { judgement: None, disagreement };
        }
        Ok(verdict) => verdict,
    };
    let verdict = match (verdict, well_formed(events)) {
        (Ok(verdict), Ok(())) => verdict,
        (Err(_), Err(_)) => return Compared { judgement: None, disagreement: None },
        (Ok(verdict), Err(rule)) => {
            let disagreement = Disagreement::CheckerAccepted { rule, checker_valid: verdict.valid };
            return Compared { judgement: None, disagreement: Some(disagreement) };
        }
        (Err(e), Ok(())) => {
            let disagreement = Disagreement::CheckerRefused { message: e.to_string() };
            return Compared { judgement: None, disagreement: Some(disagreement) };
        }
    };
    let judgement = judge(events, model);
    let disagreement = match &judgement {
        Judgement::TooBig => None,
        _ if verdict.is_unknown() => {
            let reason = verdict.unknown.as_ref().map(|u| u.reason.clone()).unwrap_or_default();
            Some(Disagreement::CheckerUnknown { reason })
        }
        judgement if judgement.is_valid() == verdict.valid => None,
        judgement => Some(Disagreement::Verdicts {
            checker_valid: verdict.valid,
            checker_anomalies: verdict.counts.keys().cloned().collect(),
            oracle: judgement.clone(),
        }),
    };
    Compared { judgement: Some(judgement), disagreement }
}

/// How `sim::check` and the oracle disagree on `events` under `model`, if they do. A
/// history too big for the oracle is no disagreement.
pub fn compare(events: &[Event], model: Model) -> Option<Disagreement> {
    compared(events, model).disagreement
}

/// A minimal history on which the two disagree the same way as on `events`: whole
/// transactions removed first, then ops, then final marks, while the disagreement stays.
/// `events` itself if they agree on it.
pub fn shrink(events: &[Event], model: Model) -> Vec<Event> {
    let Some(target) = compare(events, model) else { return events.to_vec() };
    let mut current = events.to_vec();
    'smaller: loop {
        for candidate in smaller(&current) {
            if compare(&candidate, model).is_some_and(|d| d.same_kind(&target)) {
                current = candidate;
                continue 'smaller;
            }
        }
        return current;
    }
}

/// Every history one step smaller than `events`, biggest steps first.
fn smaller(events: &[Event]) -> Vec<Vec<Event>> {
    let txns = pairs(events);
    let mut candidates = Vec::new();
    for &(inv, done) in &txns {
        let mut fewer = events.to_vec();
        if let Some(done) = done {
            fewer.remove(done);
        }
        fewer.remove(inv);
        if !fewer.is_empty() {
            renumber(&mut fewer);
            candidates.push(fewer);
        }
    }
    for &(inv, done) in &txns {
        for j in (0..events[inv].ops.len()).filter(|_| events[inv].ops.len() > 1) {
            let mut fewer = events.to_vec();
            remove_op(&mut fewer, inv, done, j);
            candidates.push(fewer);
        }
        if let Some(done) = done.filter(|&d| !events[d].ops.is_empty()) {
            let mut fewer = events.to_vec();
            let last = fewer[done].ops.len() - 1;
            remove_reported(&mut fewer[done], last);
            candidates.push(fewer);
        }
    }
    for &(inv, done) in txns.iter().filter(|(inv, _)| events[*inv].final_read) {
        let mut unmarked = events.to_vec();
        unmarked[inv].final_read = false;
        if let Some(done) = done {
            unmarked[done].final_read = false;
        }
        candidates.push(unmarked);
    }
    candidates
}

/// A history as `sim check` reads it: one JSON event per line.
pub fn to_jsonl(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        let line = serde_json::to_string(event).expect("an event serializes");
        let _ = writeln!(text, "{line}");
    }
    text
}

/// One disagreement of a sweep, shrunk.
#[derive(Clone, Debug)]
pub struct Example {
    pub seed: u64,
    pub model: Model,
    /// How they disagree on the shrunk history.
    pub disagreement: Disagreement,
    /// The shrunk history, as JSON lines.
    pub history: String,
}

#[derive(Clone, Debug, Default)]
pub struct SweepReport {
    pub histories: u64,
    pub models: usize,
    /// Judgements (one per history and model) the oracle gave.
    pub valid: u64,
    pub invalid: u64,
    pub too_big: u64,
    /// (history, model) pairs the two disagree on.
    pub disagreements: u64,
    /// The first [`EXAMPLES_KEPT`] of them, shrunk.
    pub examples: Vec<Example>,
}

impl SweepReport {
    /// `selfcheck: N histories x M models, V valid, I invalid by the oracle, D disagreements`.
    pub fn summary(&self) -> String {
        let too_big = match self.too_big {
            0 => String::new(),
            n => format!(", {n} too big"),
        };
        format!(
            "selfcheck: {} histories x {} models, {} valid, {} invalid by the oracle{too_big}, {} disagreements",
            self.histories, self.models, self.valid, self.invalid, self.disagreements
        )
    }
}

/// Generates the history of every seed in `seeds` and compares the two judges on it
/// under each of `models`.
pub fn sweep(seeds: Range<u64>, models: &[Model]) -> SweepReport {
    let mut report = SweepReport { models: models.len(), ..SweepReport::default() };
    for seed in seeds {
        let events = small_history(seed);
        report.histories += 1;
        for &model in models {
            let compared = compared(&events, model);
            match compared.judgement {
                Some(Judgement::Valid { .. }) => report.valid += 1,
                Some(Judgement::Invalid) => report.invalid += 1,
                Some(Judgement::TooBig) => report.too_big += 1,
                None => {}
            }
            if compared.disagreement.is_none() {
                continue;
            }
            report.disagreements += 1;
            if report.examples.len() < EXAMPLES_KEPT {
                let shrunk = shrink(&events, model);
                let disagreement = compare(&shrunk, model).expect("the shrunk history disagrees");
                let history = to_jsonl(&shrunk);
                report.examples.push(Example { seed, model, disagreement, history });
            }
        }
    }
    report
}
