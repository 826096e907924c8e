//! What the Lamport diagram draws besides messages: a [`Mark`] across the whole diagram
//! (a partition, the heal) or on one process's column, which may open or close a [`Span`]
//! drawn as a band until it closes. [`mark_of`] maps each kind of trace event to its
//! mark; a new kind (a crash, a restart, a disk event) is one more arm there, and the
//! diagram draws it with no other change.

use crate::world::TraceEvent;

/// Where a mark is drawn.
// Nothing in today's trace happens to one process alone; crashes and restarts will.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Scope {
    /// Across every column.
    World,
    /// On one process's column (its index in `Simulation::names`).
    Process(usize),
}

/// Whether a mark starts or ends a band (named, so that its close finds it).
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

/// The mark a trace event draws, and when; `None` for messages. Exhaustive on purpose: a
/// new kind of trace event must say here how it is drawn. A crash would be
/// `Mark { scope: Scope::Process(process), class: "crash", label: "crashed".into(),
/// span: Span::Opens("down") }`, and its restart the same with `Span::Closes("down")`.
pub(super) fn mark_of(event: &TraceEvent, names: &[String]) -> Option<(u64, Mark)> {
    match event {
        TraceEvent::Send { .. } | TraceEvent::Deliver { .. } => None,
        TraceEvent::Partition { time_us, kind, cut } => {
            let links: Vec<String> =
                cut.iter().map(|(s, t)| format!("{}->{}", names[*s], names[*t])).collect();
            let label = format!("partition ({kind}) cuts {}", links.join(" "));
            Some((
                *time_us,
                Mark { scope: Scope::World, class: "partition", label, span: Span::Opens("cut") },
            ))
        }
        TraceEvent::PartitionHealed { time_us } => Some((
            *time_us,
            Mark {
                scope: Scope::World,
                class: "healed",
                label: "partition healed".into(),
                span: Span::Closes("cut"),
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
