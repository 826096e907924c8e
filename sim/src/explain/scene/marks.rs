//! What a run's drawings show besides messages: a [`Mark`] across the whole diagram (a
//! partition, the heal) or on one process's column, which may open or close a [`Span`]
//! drawn as a band until it closes. [`mark_of`] maps each kind of trace event to its
//! mark; a new kind (a crash, a restart, a disk event) is one more arm there, and both
//! the text diagrams and the Lamport diagram draw it with no other change.

use crate::world::TraceEvent;

/// Where a mark is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Across every column.
    World,
    /// On one process's column (its index in `Simulation::names`).
    Process(usize),
}

/// Whether a mark starts or ends a band (named, so that its close finds it).
// Every mark of today's trace opens or closes a band; a plain marker is for what will not.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    None,
    Opens(&'static str),
    Closes(&'static str),
}

/// Something that happened to the world or to one process, labelled in the gutter.
#[derive(Clone, Debug)]
pub struct Mark {
    pub scope: Scope,
    /// CSS class: `partition`, `heal`, `phase`, ...
    pub class: &'static str,
    /// What happened, without the process it happened to: `crashed: ...`.
    pub label: String,
    pub span: Span,
    /// For a partition: what kind, and the links it cuts (source, target).
    pub cut: Option<(&'static str, Vec<(usize, usize)>)>,
}

impl Mark {
    /// The label with a partition naming only the links between processes `shown`
    /// keeps (`none of these links` when it keeps none): what a diagram of a few
    /// columns says.
    pub fn label_among(&self, names: &[String], shown: impl Fn(usize) -> bool) -> String {
        let Some((kind, cut)) = &self.cut else { return self.label.clone() };
        let links: Vec<(usize, usize)> =
            cut.iter().copied().filter(|&(s, t)| shown(s) && shown(t)).collect();
        match links.is_empty() {
            true => format!("partition ({kind}) cuts none of these links"),
            false => cuts(kind, &links, names),
        }
    }
}

/// `partition (long) cuts n1->c2 c2->n1`.
fn cuts(kind: &str, links: &[(usize, usize)], names: &[String]) -> String {
    let links: Vec<String> =
        links.iter().map(|(s, t)| format!("{}->{}", names[*s], names[*t])).collect();
    format!("partition ({kind}) cuts {}", links.join(" "))
}

/// The mark a trace event draws, and when; `None` for messages (a message a down process
/// could not take is drawn with its message). Exhaustive on purpose: a new kind of trace
/// event must say here how it is drawn.
pub fn mark_of(event: &TraceEvent, names: &[String]) -> Option<(u64, Mark)> {
    match event {
        TraceEvent::Send { .. } | TraceEvent::Deliver { .. } | TraceEvent::Undelivered { .. } => {
            None
        }
        TraceEvent::Crash { time_us, process, damage, held } => Some((
            *time_us,
            Mark {
                scope: Scope::Process(*process),
                class: "crash",
                label: format!("crashed: {damage}; {held} replies held for a sync lost"),
                span: Span::Opens("down"),
                cut: None,
            },
        )),
        TraceEvent::Restart { time_us, process, recovered } => Some((
            *time_us,
            Mark {
                scope: Scope::Process(*process),
                class: "restart",
                label: format!("restarted: {recovered}"),
                span: Span::Closes("down"),
                cut: None,
            },
        )),
        TraceEvent::Partition { time_us, kind, cut } => {
            let label = cuts(kind, cut, names);
            let span = if kind.starts_with("long") { "isolated" } else { "cut" };
            Some((
                *time_us,
                Mark {
                    scope: Scope::World,
                    class: "partition",
                    label,
                    span: Span::Opens(span),
                    cut: Some((kind, cut.clone())),
                },
            ))
        }
        TraceEvent::PartitionHealed { time_us, kind } => Some((
            *time_us,
            Mark {
                scope: Scope::World,
                class: "healed",
                label: format!("{kind} healed"),
                span: Span::Closes(if *kind == "partition" { "cut" } else { "isolated" }),
                cut: None,
            },
        )),
        TraceEvent::Heal { time_us } => Some((
            *time_us,
            Mark {
                scope: Scope::World,
                class: "phase",
                label: "fault phase over: network healed".into(),
                span: Span::Closes("cut"),
                cut: None,
            },
        )),
    }
}
