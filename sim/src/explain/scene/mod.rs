//! One scene, two renderers: what a run shows a person, computed once, which the text
//! report ([`crate::explain::report`]) and the HTML page ([`crate::explain::html`]) only
//! draw.
//!
//! A [`Scene`] is the run's trace as ordered rows: every message sent, under the
//! transaction it belongs to (`T<n>`, a reply named by the request it answers) with its
//! deliveries and the copies that reached a process that was down, and every mark (a
//! partition, the heal, a crash and its restart, opening or closing a [`Span`]). A
//! message's label (`T3 occ_read x (msg 4) [dropped]`) is worded here, from [`describe`].
//! [`TxnNames`] gives the `T<n>` names and what is attached to them; [`Summary`] the
//! sentences of the header and footer (the counts, the network's and the disk's, the
//! violations renamed, how a run stopped).
//!
//! Which rows a drawing shows (a text diagram the involved transactions' messages, the
//! page a window of a budget's size), and how, is the renderer's.

mod describe;
mod marks;
mod names;
mod summary;

pub(crate) use describe::{describe, payload_txn_id};
pub use marks::{mark_of, Mark, Scope, Span};
pub(crate) use names::map_words;
pub use names::TxnNames;
pub use summary::{RunCounts, Summary, Violation};

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use node::codec;
use node::protocol::Payload;

use crate::explain::render::format_ms;
use crate::world::topology::Role;
use crate::world::{Simulation, TraceEvent};

/// One message as sent.
#[derive(Clone, Debug)]
pub struct Message<'t> {
    pub time_us: u64,
    pub source: usize,
    pub target: usize,
    pub wire: &'t str,
    /// `sent`, `duplicated`, or how it was lost (`dropped`, `partitioned`).
    pub fate: &'t str,
    /// The transaction it belongs to (`T<n>`).
    pub txn: Option<u64>,
    /// For a reply: the position in [`Scene::messages`] of the request it answers.
    pub request: Option<usize>,
    /// When its copies were delivered (two for a duplicated message).
    pub delivered: Vec<u64>,
    /// When a copy reached its target while that was down, and was lost.
    pub undelivered: Vec<u64>,
}

impl Message<'_> {
    /// Lost on the way: dropped by the network or cut by a partition.
    pub fn lost(&self) -> bool {
        self.fate != "sent" && self.fate != "duplicated"
    }

    /// Lost on the way, or every copy reached a process that was down.
    pub fn gone(&self) -> bool {
        self.lost() || (self.delivered.is_empty() && !self.undelivered.is_empty())
    }
}

/// A row of the scene: a message or a mark, by position in its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    Message(usize),
    Mark(usize),
}

/// A run's trace as rows, in the trace's order (deliveries are attached to their
/// messages).
pub struct Scene<'t> {
    pub messages: Vec<Message<'t>>,
    /// Marks and when they happened, in time order.
    pub marks: Vec<(u64, Mark)>,
    pub rows: Vec<Row>,
}

impl<'t> Scene<'t> {
    /// The scene of `sim`'s trace (empty for a run recorded without one).
    pub fn of(sim: &'t Simulation, names: &TxnNames) -> Scene<'t> {
        let mut builder = Builder {
            sim,
            names,
            scene: Scene { messages: Vec::new(), marks: Vec::new(), rows: Vec::new() },
            requests: BTreeMap::new(),
            in_flight: BTreeMap::new(),
        };
        for event in &sim.trace {
            match event {
                TraceEvent::Send { time_us, source, target, wire, fate } => {
                    builder.send(*time_us, *source, *target, wire, fate);
                }
                TraceEvent::Deliver { time_us, source, target, wire } => {
                    if let Some(m) = builder.arrive(*source, *target, wire) {
                        m.delivered.push(*time_us);
                    }
                }
                TraceEvent::Undelivered { time_us, source, target, wire } => {
                    if let Some(m) = builder.arrive(*source, *target, wire) {
                        m.undelivered.push(*time_us);
                    }
                }
                other => {
                    if let Some(mark) = mark_of(other, &sim.names) {
                        builder.scene.rows.push(Row::Mark(builder.scene.marks.len()));
                        builder.scene.marks.push(mark);
                    }
                }
            }
        }
        builder.scene
    }

    /// `T3 occ_read x (msg 4) [dropped] [undelivered: n1 was down]`: message `i` in words,
    /// under its transaction's name, with its id (or the id of the request it answers)
    /// and what became of it.
    pub fn label(&self, i: usize, names: &TxnNames, process_names: &[String]) -> String {
        let m = &self.messages[i];
        let mut label = match codec::decode(m.wire) {
            Ok(envelope) => {
                let body = envelope.body;
                let request: Option<Payload> = m
                    .request
                    .and_then(|r| codec::decode(self.messages[r].wire).ok())
                    .map(|e| e.body.payload);
                let own_id = m.txn.and_then(|t| names.txn_id(t));
                let what = describe(&body.payload, request.as_ref(), own_id);
                let mut label = match m.txn {
                    Some(t) => format!("T{t} {what}"),
                    None => what,
                };
                match (body.msg_id, body.in_reply_to) {
                    (_, Some(reply)) => {
                        let _ = write!(label, " (re {reply})");
                    }
                    (Some(id), None) => {
                        let _ = write!(label, " (msg {id})");
                    }
                    _ => {}
                }
                label
            }
            Err(_) => "(a message the codec cannot read)".to_string(),
        };
        if m.fate != "sent" {
            let _ = write!(label, " [{}]", m.fate);
        }
        if !m.undelivered.is_empty() {
            let _ = write!(label, " [undelivered: {} was down]", process_names[m.target]);
        }
        label
    }

    /// Every row as its renderers see it, in words: what a scene snapshot shows.
    pub fn drawn(&self, names: &TxnNames, process_names: &[String]) -> Vec<Drawn> {
        let ms = |times: &[u64]| times.iter().map(|&t| format_ms(t)).collect();
        let drawn = |row: &Row| match *row {
            Row::Message(i) => {
                let m = &self.messages[i];
                Drawn::Message {
                    at: format_ms(m.time_us),
                    from: process_names[m.source].clone(),
                    to: process_names[m.target].clone(),
                    label: self.label(i, names, process_names),
                    delivered: ms(&m.delivered),
                    undelivered: ms(&m.undelivered),
                    gone: m.gone(),
                }
            }
            Row::Mark(i) => {
                let (time_us, mark) = &self.marks[i];
                Drawn::Mark {
                    at: format_ms(*time_us),
                    on: match mark.scope {
                        Scope::World => None,
                        Scope::Process(p) => Some(process_names[p].clone()),
                    },
                    label: mark.label.clone(),
                    span: mark.span,
                }
            }
        };
        self.rows.iter().map(drawn).collect()
    }
}

/// A row in words (times in ms, processes by name).
#[derive(Clone, Debug)]
pub enum Drawn {
    Message {
        at: String,
        from: String,
        to: String,
        label: String,
        delivered: Vec<String>,
        undelivered: Vec<String>,
        gone: bool,
    },
    Mark {
        at: String,
        /// The process it happened to; `None`: across the world.
        on: Option<String>,
        label: String,
        span: Span,
    },
}

/// What building a scene keeps besides the scene.
struct Builder<'t, 'n> {
    sim: &'t Simulation,
    names: &'n TxnNames<'n>,
    scene: Scene<'t>,
    /// Requests by (sender, msg_id): their transaction and position, so that a reply
    /// (which carries neither) is named and described too.
    requests: BTreeMap<(usize, u64), (Option<u64>, usize)>,
    /// Copies in flight by (source, target, wire), oldest first.
    in_flight: BTreeMap<(usize, usize, &'t str), VecDeque<usize>>,
}

impl<'t> Builder<'t, '_> {
    fn send(&mut self, time_us: u64, source: usize, target: usize, wire: &'t str, fate: &'t str) {
        let position = self.scene.messages.len();
        let body = codec::decode(wire).ok().map(|e| e.body);
        let (txn, request) = match body.as_ref().map(|b| (b.msg_id, b.in_reply_to)) {
            Some((_, Some(reply))) => match self.requests.get(&(target, reply)) {
                Some(&(txn, request)) => (txn, Some(request)),
                None => (None, None),
            },
            Some((msg_id, None)) => {
                // A node's own request (a forwarded read or commit, a prepare, a
                // decision) belongs to the transaction it names; a client sends only for
                // the transaction it is running.
                let txn = match self.sim.roles[source] {
                    Role::Node => body
                        .as_ref()
                        .and_then(|b| payload_txn_id(&b.payload))
                        .and_then(|id| self.names.of_txn_id(id)),
                    _ => self.names.running(source, time_us),
                };
                if let Some(id) = msg_id {
                    self.requests.insert((source, id), (txn, position));
                }
                (txn, None)
            }
            None => (None, None),
        };
        let copies = match fate {
            "sent" => 1,
            "duplicated" => 2,
            _ => 0,
        };
        if copies > 0 {
            let queue = self.in_flight.entry((source, target, wire)).or_default();
            queue.extend(std::iter::repeat_n(position, copies));
        }
        self.scene.rows.push(Row::Message(position));
        self.scene.messages.push(Message {
            time_us,
            source,
            target,
            wire,
            fate,
            txn,
            request,
            delivered: Vec::new(),
            undelivered: Vec::new(),
        });
    }

    /// The message whose oldest copy in flight from `source` to `target` just arrived
    /// (delivered, or reached a process that was down).
    fn arrive(&mut self, source: usize, target: usize, wire: &'t str) -> Option<&mut Message<'t>> {
        let key = (source, target, wire);
        let queue = self.in_flight.get_mut(&key)?;
        let position = queue.pop_front();
        if queue.is_empty() {
            self.in_flight.remove(&key);
        }
        Some(&mut self.scene.messages[position?])
    }
}
