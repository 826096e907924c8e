//! What the Lamport diagram draws besides messages: a [`Mark`] across the whole diagram
//! (a partition, the heal) or on one process's column, which may open or close a [`Span`]
//! drawn as a band until it closes. [`mark_of`] maps each kind of trace event to its
//! mark; a new kind (a crash, a restart, a disk event) is one more arm there, and the
//! diagram draws it with no other change.

use crate::world::TraceEvent;

/// Where a mark is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Scope {
    /// Across every column.
    World,
    /// On one process's column (its index in `Simulation::names`).
    Process(usize),
}

/// Whether a mark starts or ends a band (named, so that its close finds it).
// Every mark of today's trace opens or closes a band; a plain marker is for what will not.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Span {
    None,
    Opens(&'static str),
    Closes(&'static str),
}

/// Something that happened to the world or to one process, labelled in the gutter.
pub(super) struct Mark {
    pub scope: Scope,
    /// CSS class: `partition`, `heal`, `phase`, ...
    pub class: &'static str,
    pub label: String,
    pub span: Span,
}

/// The mark a trace event draws, and when; `None` for messages (a message a down process
/// could not take is drawn with its message). Exhaustive on purpose: a new kind of trace
/// event must say here how it is drawn.
pub(super) fn mark_of(event: &TraceEvent, names: &[String]) -> Option<(u64, Mark)> {
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
            },
        )),
        TraceEvent::Restart { time_us, process, recovered } => Some((
            *time_us,
            Mark {
                scope: Scope::Process(*process),
                class: "restart",
                label: format!("restarted: {recovered}"),
                span: Span::Closes("down"),
            },
        )),
        TraceEvent::Partition { time_us, kind, cut } => {
            let links: Vec<String> =
                cut.iter().map(|(s, t)| format!("{}->{}", names[*s], names[*t])).collect();
            let label = format!("partition ({kind}) cuts {}", links.join(" "));
            let span = if kind.starts_with("long") { "isolated" } else { "cut" };
            Some((
                *time_us,
                Mark { scope: Scope::World, class: "partition", label, span: Span::Opens(span) },
            ))
        }
        TraceEvent::PartitionHealed { time_us, kind } => Some((
            *time_us,
            Mark {
                scope: Scope::World,
                class: "healed",
                label: format!("{kind} healed"),
                span: Span::Closes(if *kind == "partition" { "cut" } else { "isolated" }),
            },
        )),
        TraceEvent::Heal { time_us } => Some((
            *time_us,
            Mark {
                scope: Scope::World,
                class: "phase",
                label: "fault phase over: network healed".into(),
                span: Span::Closes("cut"),
            },
        )),
    }
}
