//! The write-ahead log: its records, their framing, and the scan that finds a log's valid
//! prefix.
//!
//! Every change to the node's durable state is one record, appended before any reply
//! that depends on it may leave (see [`crate::io`]):
//! - [`Record::Commit`]: a commit's outcome (committed or aborted, remembered for
//!   retries), and for a committed one the value and version installed at each key;
//! - [`Record::Ids`]: transaction ids up to `up_to` may be issued (the high-water mark, so
//!   that no id is issued twice across restarts);
//! - [`Record::Snapshot`]: the whole durable state, so that the log can be cut.
//!
//! Each record carries its log sequence number (LSN): consecutive, from 1. Recovery
//! applies a record only if its LSN is past what the state already holds, so a record
//! that appears twice in the log (before and after a snapshot that includes it) is
//! applied once.
//!
//! **Framing.** `[payload length: u32 LE][CRC-32 of length and payload: u32 LE][payload]`.
//! A frame is valid when the length fits in what is left, the checksum matches, the payload
//! decodes completely and its LSN is the next one expected. The first invalid frame ends
//! the valid prefix: a torn last write, zeros where a lost write left a hole, or a
//! corrupted read (which recovery re-reads before it believes it; see [`crate::storage`]).
//!
//! The payload is a small binary encoding (integers little-endian, strings as a u32
//! length and UTF-8 bytes): a record is written for every commit, so it must be cheap.

use crate::outcomes::{Outcome, TxnKey};
use crate::protocol::{Conflict, KeyValue, KeyVersion};

/// Bytes of a frame's header: length and checksum.
pub const FRAME_HEADER_BYTES: usize = 8;
/// The longest payload a frame may claim; a longer length is corruption, not a record.
pub const RECORD_BYTES_MAX: u32 = 1 << 28;

const KIND_COMMIT: u8 = 1;
const KIND_IDS: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;
const KIND_PREPARED: u8 = 4;
const KIND_RESOLVED: u8 = 5;
const KIND_DECIDED: u8 = 6;
const KIND_OUTCOME: u8 = 7;
const KIND_FORGOTTEN: u8 = 8;
const TXN_OWN: u8 = 0;
const TXN_FOREIGN: u8 = 1;
const OUTCOME_COMMITTED: u8 = 0;
const OUTCOME_ABORTED: u8 = 1;

/// One record and its log sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub lsn: u64,
    pub record: Record,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Commit(CommitRecord),
    Ids {
        up_to: u64,
    },
    Snapshot(Snapshot),
    /// A participant prepared `txn_id` (see `node::participant`): it voted yes only after
    /// this record was durable, and holds the reservations it names until the decision.
    Prepared {
        txn_id: String,
        prepared: PreparedTxn,
    },
    /// A participant applied (`committed`) or released a prepared transaction; its answer
    /// is remembered until `deadline_us`, for a prepare or decision that arrives again.
    Resolved {
        txn_id: String,
        committed: bool,
        deadline_us: u64,
    },
    /// A coordinator decided to commit `txn_id` (its own transaction `txn`): durable
    /// before any participant is told. `versions` are what the commit installs, across
    /// every participant; the decision is driven until every participant acknowledged it.
    Decided {
        txn: TxnKey,
        txn_id: String,
        participants: Vec<String>,
        versions: Vec<KeyVersion>,
        deadline_us: u64,
    },
    /// A coordinator's answer to a commit that other nodes carried out (a one-phase commit
    /// forwarded to the key's owner, or an abort): remembered for retries, nothing installed.
    Outcome {
        txn: TxnKey,
        deadline_us: u64,
        outcome: Outcome,
    },
    /// Every participant acknowledged the decision on `txn_id`: it need not be driven again.
    Forgotten {
        txn_id: String,
    },
}

/// What a participant validated and reserved for a prepared transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreparedTxn {
    pub coordinator: String,
    /// The versions of this participant's keys the transaction read.
    pub reads: Vec<KeyVersion>,
    /// Its writes to this participant's keys, one per key, sorted by key.
    pub writes: Vec<KeyValue>,
    /// The version each write will install (current + 1, held by the reservation).
    pub versions: Vec<KeyVersion>,
}

/// What a record leaves behind when recovery takes its snapshot out.
impl Default for Record {
    fn default() -> Record {
        Record::Ids { up_to: 0 }
    }
}

/// A commit's outcome, and what a committed one installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRecord {
    pub txn: TxnKey,
    /// When the remembered outcome expires, on the node's clock.
    pub deadline_us: u64,
    pub outcome: Outcome,
    /// For a committed outcome: the value installed at each of its versions, in the same
    /// order. Empty for an abort.
    pub values: Vec<String>,
}

/// The whole durable state as of the snapshot record's own LSN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub ids_up_to: u64,
    /// `(key, value, version)`, sorted by key.
    pub keys: Vec<(String, String, u64)>,
    /// `(txn, outcome, deadline_us)` of every remembered outcome, in deadline order.
    pub outcomes: Vec<(TxnKey, Outcome, u64)>,
    /// A cluster's nodes also keep: the transactions prepared here and not yet decided,
    /// the commit decisions not yet acknowledged by every participant, and the answers
    /// given as a participant. (Written only when one is not empty, so that a single
    /// node's log is what it was before the cluster existed.)
    pub prepared: Vec<(String, PreparedTxn)>,
    pub decisions: Vec<(String, Vec<String>)>,
    pub participated: Vec<(TxnKey, Outcome, u64)>,
}

/// Builds one framed record.
struct FrameWriter {
    bytes: Vec<u8>,
}

impl FrameWriter {
    fn new(kind: u8, lsn: u64) -> FrameWriter {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
        bytes.push(kind);
        bytes.extend_from_slice(&lsn.to_le_bytes());
        FrameWriter { bytes }
    }

    fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn count(&mut self, count: usize) {
        let count = u32::try_from(count).expect("a record lists fewer than 2^32 items");
        self.bytes.extend_from_slice(&count.to_le_bytes());
    }

    fn str(&mut self, value: &str) {
        self.count(value.len());
        self.bytes.extend_from_slice(value.as_bytes());
    }

    fn txn(&mut self, txn: &TxnKey) {
        match txn {
            TxnKey::Own(n) => {
                self.u8(TXN_OWN);
                self.u64(*n);
            }
            TxnKey::Foreign(id) => {
                self.u8(TXN_FOREIGN);
                self.str(id);
            }
        }
    }

    /// An outcome; for a committed one, with `values[i]` installed at its `i`-th version.
    fn outcome(&mut self, outcome: &Outcome, values: Option<&[&str]>) {
        match outcome {
            Outcome::Committed(versions) => {
                self.u8(OUTCOME_COMMITTED);
                self.count(versions.len());
                for (i, v) in versions.iter().enumerate() {
                    self.str(&v.key);
                    self.u64(v.version);
                    if let Some(values) = values {
                        self.str(values[i]);
                    }
                }
            }
            Outcome::Aborted(conflicts) => {
                self.u8(OUTCOME_ABORTED);
                self.count(conflicts.len());
                for c in conflicts {
                    self.str(&c.key);
                    self.u64(c.expected);
                    self.u64(c.actual);
                }
            }
        }
    }

    fn key_versions(&mut self, items: &[KeyVersion]) {
        self.count(items.len());
        for kv in items {
            self.str(&kv.key);
            self.u64(kv.version);
        }
    }

    fn key_values(&mut self, items: &[KeyValue]) {
        self.count(items.len());
        for kv in items {
            self.str(&kv.key);
            self.str(&kv.value);
        }
    }

    fn prepared(&mut self, txn_id: &str, prepared: &PreparedTxn) {
        self.str(txn_id);
        self.str(&prepared.coordinator);
        self.key_versions(&prepared.reads);
        self.key_values(&prepared.writes);
        self.key_versions(&prepared.versions);
    }

    fn finish(mut self) -> Vec<u8> {
        let payload_len = self.bytes.len() - FRAME_HEADER_BYTES;
        let len = u32::try_from(payload_len).expect("a record is shorter than 4 GiB");
        assert!(len <= RECORD_BYTES_MAX, "a {len}-byte record is longer than the log allows");
        self.bytes[..4].copy_from_slice(&len.to_le_bytes());
        let crc = checksum(&self.bytes[..4], &self.bytes[FRAME_HEADER_BYTES..]);
        self.bytes[4..8].copy_from_slice(&crc.to_le_bytes());
        self.bytes
    }
}

fn checksum(len: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(len);
    hasher.update(payload);
    hasher.finalize()
}

/// The framed commit record of `outcome` for `txn`. `writes` are what a committed outcome
/// installed, one per version and in the same (key) order; empty for an abort.
pub fn encode_commit(
    lsn: u64,
    txn: &TxnKey,
    deadline_us: u64,
    outcome: &Outcome,
    writes: &[KeyValue],
) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_COMMIT, lsn);
    frame.txn(txn);
    frame.u64(deadline_us);
    let values: Vec<&str> = writes.iter().map(|w| w.value.as_str()).collect();
    if let Outcome::Committed(versions) = outcome {
        assert_eq!(versions.len(), values.len(), "a value for every installed version");
    }
    frame.outcome(outcome, Some(&values));
    frame.finish()
}

pub fn encode_ids(lsn: u64, up_to: u64) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_IDS, lsn);
    frame.u64(up_to);
    frame.finish()
}

pub fn encode_prepared(lsn: u64, txn_id: &str, prepared: &PreparedTxn) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_PREPARED, lsn);
    frame.prepared(txn_id, prepared);
    frame.finish()
}

pub fn encode_resolved(lsn: u64, txn_id: &str, committed: bool, deadline_us: u64) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_RESOLVED, lsn);
    frame.str(txn_id);
    frame.u8(u8::from(committed));
    frame.u64(deadline_us);
    frame.finish()
}

pub fn encode_decided(
    lsn: u64,
    txn: &TxnKey,
    txn_id: &str,
    participants: &[String],
    versions: &[KeyVersion],
    deadline_us: u64,
) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_DECIDED, lsn);
    frame.txn(txn);
    frame.str(txn_id);
    frame.count(participants.len());
    for p in participants {
        frame.str(p);
    }
    frame.key_versions(versions);
    frame.u64(deadline_us);
    frame.finish()
}

pub fn encode_outcome(lsn: u64, txn: &TxnKey, deadline_us: u64, outcome: &Outcome) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_OUTCOME, lsn);
    frame.txn(txn);
    frame.u64(deadline_us);
    frame.outcome(outcome, None);
    frame.finish()
}

pub fn encode_forgotten(lsn: u64, txn_id: &str) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_FORGOTTEN, lsn);
    frame.str(txn_id);
    frame.finish()
}

/// A cluster node's part of a snapshot (see [`Snapshot`]).
#[derive(Clone, Copy, Default)]
pub struct ClusterState<'a> {
    pub prepared: &'a [(&'a str, &'a PreparedTxn)],
    pub decisions: &'a [(&'a str, &'a [String])],
    pub participated: &'a [(&'a TxnKey, &'a Outcome, u64)],
}

/// The framed snapshot record: `keys` sorted by key, `outcomes` in deadline order.
pub fn encode_snapshot<'a>(
    lsn: u64,
    ids_up_to: u64,
    keys: &[(&str, &str, u64)],
    outcomes: impl ExactSizeIterator<Item = (&'a TxnKey, &'a Outcome, u64)>,
    cluster: ClusterState<'_>,
) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_SNAPSHOT, lsn);
    frame.u64(ids_up_to);
    frame.count(keys.len());
    for (key, value, version) in keys {
        frame.str(key);
        frame.str(value);
        frame.u64(*version);
    }
    frame.count(outcomes.len());
    for (txn, outcome, deadline_us) in outcomes {
        frame.txn(txn);
        frame.u64(deadline_us);
        frame.outcome(outcome, None);
    }
    let ClusterState { prepared, decisions, participated } = cluster;
    if !(prepared.is_empty() && decisions.is_empty() && participated.is_empty()) {
        frame.count(prepared.len());
        for (txn_id, p) in prepared {
            frame.prepared(txn_id, p);
        }
        frame.count(decisions.len());
        for (txn_id, participants) in decisions {
            frame.str(txn_id);
            frame.count(participants.len());
            for p in *participants {
                frame.str(p);
            }
        }
        frame.count(participated.len());
        for (txn, outcome, deadline_us) in participated {
            frame.txn(txn);
            frame.u64(*deadline_us);
            frame.outcome(outcome, None);
        }
    }
    frame.finish()
}

/// Reads a payload; every method fails rather than reading past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

type Decoded<T> = Result<T, &'static str>;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        if self.bytes.len() < n {
            return Err("the payload ends early");
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Decoded<u8> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Decoded<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    /// A count of items each at least `item_bytes` long: never more than could fit.
    fn count(&mut self, item_bytes: usize) -> Decoded<usize> {
        let count = u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize;
        if count.saturating_mul(item_bytes) > self.bytes.len() {
            return Err("a count larger than the payload");
        }
        Ok(count)
    }

    fn str(&mut self) -> Decoded<String> {
        let len = self.count(1)?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| "a string that is not UTF-8")
    }

    fn key_versions(&mut self) -> Decoded<Vec<KeyVersion>> {
        let count = self.count(12)?;
        (0..count).map(|_| Ok(KeyVersion { key: self.str()?, version: self.u64()? })).collect()
    }

    fn key_values(&mut self) -> Decoded<Vec<KeyValue>> {
        let count = self.count(8)?;
        (0..count).map(|_| Ok(KeyValue { key: self.str()?, value: self.str()? })).collect()
    }

    fn strings(&mut self) -> Decoded<Vec<String>> {
        let count = self.count(4)?;
        (0..count).map(|_| self.str()).collect()
    }

    fn prepared(&mut self) -> Decoded<(String, PreparedTxn)> {
        let txn_id = self.str()?;
        let coordinator = self.str()?;
        let reads = self.key_versions()?;
        let writes = self.key_values()?;
        let versions = self.key_versions()?;
        Ok((txn_id, PreparedTxn { coordinator, reads, writes, versions }))
    }

    fn txn(&mut self) -> Decoded<TxnKey> {
        match self.u8()? {
            TXN_OWN => Ok(TxnKey::Own(self.u64()?)),
            TXN_FOREIGN => Ok(TxnKey::Foreign(self.str()?)),
            _ => Err("an unknown transaction tag"),
        }
    }

    /// An outcome, and for a committed one with `with_values`, the installed values.
    fn outcome(&mut self, with_values: bool) -> Decoded<(Outcome, Vec<String>)> {
        match self.u8()? {
            OUTCOME_COMMITTED => {
                let count = self.count(12)?;
                let mut versions = Vec::with_capacity(count);
                let mut values = Vec::new();
                for _ in 0..count {
                    let key = self.str()?;
                    let version = self.u64()?;
                    versions.push(KeyVersion { key, version });
                    if with_values {
                        values.push(self.str()?);
                    }
                }
                Ok((Outcome::Committed(versions), values))
            }
            OUTCOME_ABORTED => {
                let count = self.count(20)?;
                let mut conflicts = Vec::with_capacity(count);
                for _ in 0..count {
                    let key = self.str()?;
                    let (expected, actual) = (self.u64()?, self.u64()?);
                    conflicts.push(Conflict { key, expected, actual });
                }
                Ok((Outcome::Aborted(conflicts), Vec::new()))
            }
            _ => Err("an unknown outcome tag"),
        }
    }
}

fn decode_payload(payload: &[u8]) -> Decoded<Logged> {
    let mut r = Reader { bytes: payload };
    let kind = r.u8()?;
    let lsn = r.u64()?;
    let record = match kind {
        KIND_COMMIT => {
            let txn = r.txn()?;
            let deadline_us = r.u64()?;
            let (outcome, values) = r.outcome(true)?;
            Record::Commit(CommitRecord { txn, deadline_us, outcome, values })
        }
        KIND_IDS => Record::Ids { up_to: r.u64()? },
        KIND_SNAPSHOT => {
            let ids_up_to = r.u64()?;
            let count = r.count(16)?;
            let mut keys = Vec::with_capacity(count);
            for _ in 0..count {
                let (key, value) = (r.str()?, r.str()?);
                keys.push((key, value, r.u64()?));
            }
            let count = r.count(10)?;
            let mut outcomes = Vec::with_capacity(count);
            for _ in 0..count {
                let txn = r.txn()?;
                let deadline_us = r.u64()?;
                outcomes.push((txn, r.outcome(false)?.0, deadline_us));
            }
            let mut snapshot = Snapshot { ids_up_to, keys, outcomes, ..Snapshot::default() };
            if !r.bytes.is_empty() {
                let count = r.count(8)?;
                snapshot.prepared = (0..count).map(|_| r.prepared()).collect::<Decoded<_>>()?;
                let count = r.count(8)?;
                for _ in 0..count {
                    let txn_id = r.str()?;
                    snapshot.decisions.push((txn_id, r.strings()?));
                }
                let count = r.count(10)?;
                for _ in 0..count {
                    let txn = r.txn()?;
                    let deadline_us = r.u64()?;
                    snapshot.participated.push((txn, r.outcome(false)?.0, deadline_us));
                }
            }
            Record::Snapshot(snapshot)
        }
        KIND_PREPARED => {
            let (txn_id, prepared) = r.prepared()?;
            Record::Prepared { txn_id, prepared }
        }
        KIND_RESOLVED => {
            let txn_id = r.str()?;
            let committed = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err("a resolution that is neither commit nor abort"),
            };
            Record::Resolved { txn_id, committed, deadline_us: r.u64()? }
        }
        KIND_DECIDED => {
            let txn = r.txn()?;
            let txn_id = r.str()?;
            let participants = r.strings()?;
            let versions = r.key_versions()?;
            Record::Decided { txn, txn_id, participants, versions, deadline_us: r.u64()? }
        }
        KIND_OUTCOME => {
            let txn = r.txn()?;
            let deadline_us = r.u64()?;
            Record::Outcome { txn, deadline_us, outcome: r.outcome(false)?.0 }
        }
        KIND_FORGOTTEN => Record::Forgotten { txn_id: r.str()? },
        _ => return Err("an unknown record kind"),
    };
    if !r.bytes.is_empty() {
        return Err("bytes left over after the record");
    }
    Ok(Logged { lsn, record })
}

/// One valid frame of a log: where it is and what its header says. Its payload is
/// decoded only when recovery needs it ([`decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub offset: u64,
    /// The frame's length, header included.
    pub len: u64,
    pub lsn: u64,
    pub is_snapshot: bool,
}

/// What a scan found: the valid frames, where the valid prefix ends, and why it ended
/// before the end of the bytes (if it did).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every valid frame, in log order.
    pub frames: Vec<Frame>,
    /// Offset just past the last valid frame.
    pub valid_len: u64,
    /// Why the frame at `valid_len` is not a record, when the bytes go on past it.
    pub stop: Option<String>,
}

/// Scans `bytes`, which start at log offset `offset`, for consecutive valid frames: a
/// length that fits, a matching checksum, the next LSN (`next_lsn` for the first: `None`
/// takes any). Payloads are not decoded (a frame whose checksum matches holds what was
/// written), except when `verify_checksums` is false (a planted bug), where decoding is
/// all that is left to tell a record from garbage.
pub fn scan(bytes: &[u8], offset: u64, next_lsn: Option<u64>, verify_checksums: bool) -> Scan {
    let mut scan = Scan { valid_len: offset, ..Scan::default() };
    let mut expected = next_lsn;
    let mut at = 0usize;
    while at < bytes.len() {
        match frame_at(&bytes[at..], expected, verify_checksums) {
            Ok((lsn, is_snapshot, len)) => {
                expected = Some(lsn + 1);
                let frame = Frame { offset: offset + at as u64, len: len as u64, lsn, is_snapshot };
                scan.frames.push(frame);
                at += len;
                scan.valid_len = offset + at as u64;
            }
            Err(why) => {
                scan.stop = Some(why);
                break;
            }
        }
    }
    scan
}

/// The record in `frame`, whose bytes start at `bytes[0]` (log offset `base`).
pub fn decode(bytes: &[u8], base: u64, frame: &Frame) -> Result<Logged, String> {
    let start = (frame.offset - base) as usize + FRAME_HEADER_BYTES;
    let end = (frame.offset - base + frame.len) as usize;
    decode_payload(&bytes[start..end]).map_err(|why| format!("a payload with {why}"))
}

/// The LSN, snapshot-ness and length of the frame at the start of `bytes`, or why there
/// is none.
fn frame_at(
    bytes: &[u8],
    expected: Option<u64>,
    verify: bool,
) -> Result<(u64, bool, usize), String> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(format!("a partial frame header ({} bytes)", bytes.len()));
    }
    let len = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    if len == 0 || len > RECORD_BYTES_MAX {
        return Err(format!("a frame length of {len}"));
    }
    let end = FRAME_HEADER_BYTES + len as usize;
    if end > bytes.len() {
        return Err(format!(
            "a frame of {len} bytes with only {} left",
            bytes.len() - FRAME_HEADER_BYTES
        ));
    }
    let payload = &bytes[FRAME_HEADER_BYTES..end];
    let stored = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if verify && stored != checksum(&bytes[..4], payload) {
        return Err("a checksum mismatch".to_string());
    }
    if !verify {
        decode_payload(payload).map_err(|why| format!("a payload with {why}"))?;
    }
    let mut header = Reader { bytes: payload };
    let kind = header.u8().map_err(|why| format!("a payload with {why}"))?;
    let lsn = header.u64().map_err(|why| format!("a payload with {why}"))?;
    if let Some(want) = expected {
        if lsn != want {
            return Err(format!("LSN {lsn} where {want} was next"));
        }
    }
    Ok((lsn, kind == KIND_SNAPSHOT, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue { key: key.into(), value: value.into() }
    }

    fn committed(pairs: &[(&str, u64)]) -> Outcome {
        Outcome::Committed(
            pairs.iter().map(|(k, v)| KeyVersion { key: (*k).into(), version: *v }).collect(),
        )
    }

    /// A log of one record of each kind.
    fn sample_log() -> (Vec<u8>, Vec<Logged>) {
        let commit = CommitRecord {
            txn: TxnKey::Own(7),
            deadline_us: 99,
            outcome: committed(&[("x", 3), ("y", 1)]),
            values: vec!["a".into(), "b".into()],
        };
        let abort = CommitRecord {
            txn: TxnKey::Foreign("c1-4".into()),
            deadline_us: 100,
            outcome: Outcome::Aborted(vec![Conflict { key: "x".into(), expected: 1, actual: 3 }]),
            values: vec![],
        };
        let snapshot = Snapshot {
            ids_up_to: 2000,
            keys: vec![("x".into(), "a".into(), 3), ("y".into(), "b".into(), 1)],
            outcomes: vec![(TxnKey::Own(7), committed(&[("x", 3), ("y", 1)]), 99)],
            ..Snapshot::default()
        };
        let prepared = PreparedTxn {
            coordinator: "n2".into(),
            reads: vec![KeyVersion { key: "x".into(), version: 3 }],
            writes: vec![kv("y", "c")],
            versions: vec![KeyVersion { key: "y".into(), version: 2 }],
        };
        let cluster_snapshot = Snapshot {
            prepared: vec![("t4.n2".into(), prepared.clone())],
            decisions: vec![("t9.n1".into(), vec!["n2".into(), "n3".into()])],
            participated: vec![(TxnKey::Foreign("t3.n2".into()), committed(&[("y", 1)]), 80)],
            ..snapshot.clone()
        };
        let mut bytes =
            encode_commit(1, &commit.txn, 99, &commit.outcome, &[kv("x", "a"), kv("y", "b")]);
        bytes.extend(encode_commit(2, &abort.txn, 100, &abort.outcome, &[]));
        bytes.extend(encode_ids(3, 2000));
        let keys: Vec<(&str, &str, u64)> =
            snapshot.keys.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n)).collect();
        let outcomes = snapshot.outcomes.iter().map(|(t, o, d)| (t, o, *d));
        bytes.extend(encode_snapshot(4, 2000, &keys, outcomes, ClusterState::default()));
        bytes.extend(encode_prepared(5, "t4.n2", &prepared));
        bytes.extend(encode_resolved(6, "t3.n2", true, 80));
        let versions = [KeyVersion { key: "x".into(), version: 4 }];
        let participants = ["n2".to_string()];
        bytes.extend(encode_decided(7, &TxnKey::Own(9), "t9.n1", &participants, &versions, 90));
        let aborted = Outcome::Aborted(vec![]);
        bytes.extend(encode_outcome(8, &TxnKey::Own(10), 91, &aborted));
        bytes.extend(encode_forgotten(9, "t9.n1"));
        let outcomes = cluster_snapshot.outcomes.iter().map(|(t, o, d)| (t, o, *d));
        let prepared_list = [("t4.n2", &prepared)];
        let decisions = [("t9.n1", &cluster_snapshot.decisions[0].1[..])];
        let (txn, outcome, deadline) = &cluster_snapshot.participated[0];
        let participated = [(txn, outcome, *deadline)];
        let cluster = ClusterState {
            prepared: &prepared_list,
            decisions: &decisions,
            participated: &participated,
        };
        bytes.extend(encode_snapshot(10, 2000, &keys, outcomes, cluster));
        let records = vec![
            Logged { lsn: 1, record: Record::Commit(commit) },
            Logged { lsn: 2, record: Record::Commit(abort) },
            Logged { lsn: 3, record: Record::Ids { up_to: 2000 } },
            Logged { lsn: 4, record: Record::Snapshot(snapshot) },
            Logged { lsn: 5, record: Record::Prepared { txn_id: "t4.n2".into(), prepared } },
            Logged {
                lsn: 6,
                record: Record::Resolved {
                    txn_id: "t3.n2".into(),
                    committed: true,
                    deadline_us: 80,
                },
            },
            Logged {
                lsn: 7,
                record: Record::Decided {
                    txn: TxnKey::Own(9),
                    txn_id: "t9.n1".into(),
                    participants: participants.to_vec(),
                    versions: versions.to_vec(),
                    deadline_us: 90,
                },
            },
            Logged {
                lsn: 8,
                record: Record::Outcome { txn: TxnKey::Own(10), deadline_us: 91, outcome: aborted },
            },
            Logged { lsn: 9, record: Record::Forgotten { txn_id: "t9.n1".into() } },
            Logged { lsn: 10, record: Record::Snapshot(cluster_snapshot) },
        ];
        (bytes, records)
    }

    #[test]
    fn every_record_kind_round_trips() {
        let (bytes, records) = sample_log();
        let scan = scan(&bytes, 0, Some(1), true);
        assert_eq!(scan.stop, None);
        assert_eq!(scan.valid_len, bytes.len() as u64);
        let got: Vec<Logged> =
            scan.frames.iter().map(|f| decode(&bytes, 0, f).expect("decodes")).collect();
        assert_eq!(got, records);
        let snapshots: Vec<bool> = scan.frames.iter().map(|f| f.is_snapshot).collect();
        let expected: Vec<bool> = (1..=10).map(|lsn| lsn == 4 || lsn == 10).collect();
        assert_eq!(snapshots, expected);
    }

    #[test]
    fn a_log_cut_anywhere_keeps_exactly_the_whole_records_before_the_cut() {
        let (bytes, _) = sample_log();
        let ends: Vec<u64> = scan(&bytes, 0, None, true).frames.iter().map(|f| f.offset).collect();
        for cut in 0..bytes.len() {
            let scan = scan(&bytes[..cut], 0, None, true);
            let whole = ends.iter().skip(1).filter(|&&start| start <= cut as u64).count()
                + usize::from(cut == bytes.len());
            assert_eq!(scan.frames.len(), whole, "cut at {cut}");
            assert_eq!(scan.stop.is_some(), (scan.valid_len as usize) < cut, "cut at {cut}");
        }
    }

    #[test]
    fn any_flipped_bit_ends_the_valid_prefix_at_its_record() {
        // CRC-32 catches every single-bit error: the prefix ends exactly at the record
        // holding the flipped bit, never later.
        let (bytes, _) = sample_log();
        let starts: Vec<u64> =
            scan(&bytes, 0, None, true).frames.iter().map(|f| f.offset).collect();
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[byte] ^= 1 << bit;
                let scan = scan(&flipped, 0, Some(1), true);
                let record_start = *starts.iter().rfind(|&&s| s <= byte as u64).unwrap();
                assert_eq!(scan.valid_len, record_start, "bit {bit} of byte {byte}");
                assert!(scan.stop.is_some());
            }
        }
    }

    #[test]
    fn zeros_and_a_wrong_lsn_end_the_prefix() {
        let (mut bytes, _) = sample_log();
        let len = bytes.len() as u64;
        bytes.extend([0u8; 64]);
        let scan_zeros = scan(&bytes, 0, None, true);
        assert_eq!(scan_zeros.valid_len, len);
        assert_eq!(scan_zeros.stop.as_deref(), Some("a frame length of 0"));
        let skipped = scan(&encode_ids(5, 1), 0, Some(4), true);
        assert_eq!(skipped.stop.as_deref(), Some("LSN 5 where 4 was next"));
    }

    #[test]
    fn offsets_count_from_where_the_bytes_start() {
        let (bytes, _) = sample_log();
        let scan = scan(&bytes, 1000, Some(1), true);
        assert_eq!(scan.frames[0].offset, 1000);
        assert_eq!(scan.valid_len, 1000 + bytes.len() as u64);
    }
}
