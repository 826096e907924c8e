//! The node's step contract: what goes in, what comes out, and the rule that binds them.
//!
//! A driver feeds [`Input`]s to [`crate::Node::step`] and carries out the [`Output`]s it
//! pushes, in order. Inputs: a message arrived, time passed, or the storage finished a
//! sync. Outputs: send a message, append a record to the log, sync the log up to a record,
//! or cut the log's head off (compaction).
//!
//! **Persist before send.** A logging node (`NodeConfig::log` set) sends no message
//! before every record appended before it is durable: a reply produced while records are
//! unsynced waits in the node until an `Input::Synced` covers them, then comes out as an
//! `Output::Send` (replies leave in the order they were produced). So whatever a client
//! learns (a commit, a version it read, the txn id it was given) survives a crash. This is
//! raft-rs's rule: persist what `Ready` holds, then send and `advance`.
//!
//! Drivers may batch: carry out every `Append` of a batch of inputs, sync once, and feed
//! one `Synced` with the largest LSN the sync covered (group commit). `Synced { lsn }`
//! promises that every record up to `lsn` is durable.

use std::io;

use crate::protocol::Envelope;
use crate::storage::Storage;

/// What a node is fed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A message arrived.
    Message(Envelope),
    /// Time passed: the driver saw [`crate::Node::next_deadline`] go by.
    Tick,
    /// The storage made every record up to `lsn` durable.
    Synced { lsn: u64 },
}

/// What a node asks its driver to do, in the order pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send this message.
    Send(Envelope),
    /// Append this framed record (see [`crate::wal`]) at the end of the log.
    Append { lsn: u64, bytes: Vec<u8> },
    /// Make every record up to `lsn` durable, then feed back `Input::Synced` for it (or
    /// a later LSN).
    Sync { lsn: u64 },
    /// Replace the log's first `keep_from` bytes with `head`, its new header (see
    /// [`Storage::compact`]); with `keep_from` 0 on an empty log: create the log.
    Compact { head: Vec<u8>, keep_from: u64 },
}

/// Steps `node` with `input` and carries out its outputs on `storage` at once, feeding
/// every sync's completion straight back, until only messages are left to send: the
/// simplest driver (tests, benches, the fuzz test). Returns the messages, in order.
pub fn step_synced(
    node: &mut crate::Node,
    now_us: u64,
    input: Input,
    storage: &mut dyn Storage,
) -> io::Result<Vec<Envelope>> {
    let mut sends = Vec::new();
    let mut outputs = Vec::new();
    let mut input = Some(input);
    while let Some(next) = input.take() {
        node.step(now_us, next, &mut outputs);
        let mut synced = None;
        for output in outputs.drain(..) {
            match output {
                Output::Send(envelope) => sends.push(envelope),
                Output::Append { bytes, .. } => storage.append(&bytes)?,
                Output::Sync { lsn } => synced = synced.max(Some(lsn)),
                Output::Compact { head, keep_from } => storage.compact(&head, keep_from)?,
            }
        }
        if let Some(lsn) = synced {
            storage.sync()?;
            input = Some(Input::Synced { lsn });
        }
    }
    Ok(sends)
}
