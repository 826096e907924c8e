//! The write-ahead log: its records, their framing, and the scan that finds a log's valid
//! prefix.
//!
//! Every change to the node's durable state is one record, appended before any reply
//! that depends on it may leave (see [`crate::io`]):
//! - [`Record::Commit`]: a commit's outcome (committed or aborted, remembered for
//!   retries), and for a committed one the value and version installed at each key;
//! - [`Record::Ids`]: transaction ids up to `up_to` may be issued (the high-water mark, so
//!   that no id is issued twice across restarts);
//! - [`Record::Snapshot`]: the whole durable state, so that the log can be cut. A
//!   snapshot of any size is written as a run of frames (chunks of at most
//!   `LogConfig::snapshot_chunk_bytes` of its encoding, each its own LSN): no frame ever
//!   comes near [`RECORD_BYTES_MAX`], whatever the state holds;
//! - in a cluster, a participant's [`Record::Prepared`] (durable before its yes vote) and
//!   [`Record::Resolved`], and a coordinator's [`Record::Decided`] (durable before anyone
//!   hears "commit"), [`Record::Outcome`] and [`Record::Forgotten`]. A snapshot's
//!   trailing cluster section holds what of these is still open, and is written only when
//!   not empty, so a lone node's log is what it was before clusters.
//!
//! Each record carries its log sequence number (LSN): consecutive, from the one the log's
//! header names (1 for a new log). Recovery rebuilds the state from the last snapshot and
//! applies each record after it once, in LSN order; the records before that snapshot are
//! already in it and are not even decoded.
//!
//! **The log's header.** A log starts with a header ([`LogHeader`]): a magic string, the
//! format version ([`FORMAT_VERSION`]), the LSN of the first frame after it, and the
//! identity of the node that owns the log (its node id and its cluster's node ids). The
//! driver writes it atomically when the log is created (at the node's first `init`) and
//! again, with the new first LSN, when compaction cuts the log's head off.
//!
//! **Framing.** `[payload length: u32][LSN: u64][synced through: u64][CRC-32 of the
//! payload: u32][CRC-32 of the 24 bytes before it: u32][payload]`, integers little-endian.
//! *Synced through* is the LSN up to which the log was known durable when the frame was
//! written (the last completed sync): recovery uses it to tell a torn or lost unsynced
//! tail from damage to synced records (see [`crate::storage`]). The header's own checksum
//! lets a scan recognise a frame at any offset cheaply. A frame is valid when both
//! checksums match, the length fits in what is left and its LSN is the next one
//! expected. The scan does not decode payloads: recovery decodes the records it rebuilds
//! from, and a payload that does not decode completely ends the prefix there. The first
//! invalid frame ends the valid prefix: a torn last write, zeros where a lost write left a
//! hole, or a corrupted read (which recovery re-reads before it believes it).
//!
//! The payload is a small binary encoding (integers little-endian, strings as a u32
//! length and UTF-8 bytes): a record is written for every commit, so it must be cheap.

use crate::outcomes::{Outcome, TxnKey};
use crate::protocol::{Conflict, KeyValue, KeyVersion};

/// Bytes of a frame's header: length, LSN, synced-through and two checksums.
pub const FRAME_HEADER_BYTES: usize = 28;
/// The longest payload a frame may claim; a longer length is corruption, not a record.
/// Nothing the node writes comes near it: a snapshot is chunked, and a commit is bounded
/// (see `crate::limits`).
pub const RECORD_BYTES_MAX: u32 = 1 << 28;
/// The first bytes of every log.
pub const LOG_MAGIC: &[u8; 8] = b"OCC-WAL\n";
/// The log format this build writes and reads. (Version 1 had no header.)
pub const FORMAT_VERSION: u32 = 2;
/// The longest header body a log may claim (its node ids are bounded by a line).
const HEADER_BODY_BYTES_MAX: u32 = 1 << 27;

const KIND_COMMIT: u8 = 1;
const KIND_IDS: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;
const KIND_PREPARED: u8 = 4;
const KIND_RESOLVED: u8 = 5;
const KIND_DECIDED: u8 = 6;
const KIND_OUTCOME: u8 = 7;
const KIND_FORGOTTEN: u8 = 8;
/// A chunk of a snapshot that continues in the next frame; `KIND_SNAPSHOT` is its last.
const KIND_SNAPSHOT_PART: u8 = 9;
const TXN_OWN: u8 = 0;
const TXN_FOREIGN: u8 = 1;
const OUTCOME_COMMITTED: u8 = 0;
const OUTCOME_ABORTED: u8 = 1;

/// Where a frame goes: its LSN, and the LSN through which the log was durable when it
/// was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub lsn: u64,
    pub synced: u64,
}

/// A frame written with nothing known durable (tests, tools).
impl From<u64> for At {
    fn from(lsn: u64) -> At {
        At { lsn, synced: 0 }
    }
}

/// Who owns a log: the node it was written by and the cluster that node belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub node_id: String,
    pub node_ids: Vec<String>,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<_> = self.node_ids.iter().map(|id| crate::clip::clip(id)).collect();
        write!(f, "node `{}` of [{}]", crate::clip::clip(&self.node_id), ids.join(", "))
    }
}

/// What a log starts with (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogHeader {
    /// The LSN of the first frame after the header.
    pub first_lsn: u64,
    pub identity: Identity,
}

/// The header's bytes: `[magic: 8][version: u32][body length: u32][CRC-32 of version,
/// length and body: u32][body: first LSN, node id, node ids]`.
pub fn encode_header(header: &LogHeader) -> Vec<u8> {
    let mut body = FrameWriter { bytes: Vec::new(), at: At::from(0), chunks: None };
    body.u64(header.first_lsn);
    body.str(&header.identity.node_id);
    body.count(header.identity.node_ids.len());
    for id in &header.identity.node_ids {
        body.str(id);
    }
    let body = body.bytes;
    let len = u32::try_from(body.len()).expect("a header is shorter than 4 GiB");
    assert!(len <= HEADER_BODY_BYTES_MAX, "a {len}-byte log header is longer than allowed");
    let mut bytes = LOG_MAGIC.to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    let crc = checksum(&[&bytes[8..16], &body]);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

/// Bytes of a header before its body.
const LOG_HEADER_FIXED_BYTES: usize = 20;

/// The header at the start of `bytes` and its length, or what was found instead.
pub fn decode_header(bytes: &[u8]) -> Result<(LogHeader, u64), String> {
    if bytes.len() < LOG_MAGIC.len() || &bytes[..LOG_MAGIC.len()] != LOG_MAGIC {
        return Err(format!("no occ-node log header: it starts with {}", describe(bytes)));
    }
    if bytes.len() < LOG_HEADER_FIXED_BYTES {
        return Err(format!("a log header cut short ({} bytes)", bytes.len()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    let stored = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    if len > HEADER_BODY_BYTES_MAX || LOG_HEADER_FIXED_BYTES + len as usize > bytes.len() {
        return Err(format!("a log header claiming {len} bytes with {} left", bytes.len() - 20));
    }
    let end = LOG_HEADER_FIXED_BYTES + len as usize;
    let body = &bytes[LOG_HEADER_FIXED_BYTES..end];
    if stored != checksum(&[&bytes[8..16], body]) {
        return Err("a log header whose checksum does not match".to_string());
    }
    if version != FORMAT_VERSION {
        return Err(format!(
            "log format version {version}; this occ-node reads version {FORMAT_VERSION}"
        ));
    }
    let mut r = Reader { bytes: body };
    let parse = |r: &mut Reader| -> Decoded<LogHeader> {
        let first_lsn = r.u64()?;
        let node_id = r.str()?;
        let node_ids = r.strings()?;
        Ok(LogHeader { first_lsn, identity: Identity { node_id, node_ids } })
    };
    let header = parse(&mut r).map_err(|why| format!("a log header with {why}"))?;
    if !r.bytes.is_empty() {
        return Err("a log header with bytes left over".to_string());
    }
    Ok((header, end as u64))
}

/// What the first bytes of a file look like, for a person: text or hex.
fn describe(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing (it is empty)".to_string();
    }
    let head = &bytes[..bytes.len().min(16)];
    match std::str::from_utf8(head) {
        Ok(text) if text.chars().all(|c| !c.is_control() || c == '\n') => {
            format!("the text {:?}", text)
        }
        _ => {
            let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("the bytes {}", hex.join(" "))
        }
    }
}

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

/// Builds one framed record, or (for a snapshot) a run of chunk frames.
struct FrameWriter {
    bytes: Vec<u8>,
    at: At,
    /// For a chunked record: the most payload bytes of data per frame, and the frames
    /// finished so far.
    chunks: Option<(usize, Vec<Vec<u8>>)>,
}

impl FrameWriter {
    fn new(kind: u8, at: At) -> FrameWriter {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
        bytes.push(kind);
        FrameWriter { bytes, at, chunks: None }
    }

    /// A record written as chunks of at most `chunk_bytes` bytes of data each.
    fn chunked(kind: u8, at: At, chunk_bytes: usize) -> FrameWriter {
        let mut frame = FrameWriter::new(kind, at);
        frame.chunks = Some((chunk_bytes.max(1), Vec::new()));
        frame
    }

    /// Once the frame being built holds a whole chunk, finishes it as a part and starts
    /// the next (at the next LSN) with what is left over.
    fn cut(&mut self) {
        let Some((chunk_bytes, _)) = self.chunks else { return };
        let end = FRAME_HEADER_BYTES + 1 + chunk_bytes;
        while self.bytes.len() > end {
            let rest = self.bytes.split_off(end);
            let mut next = Vec::with_capacity(end.min(rest.len() + FRAME_HEADER_BYTES + 1));
            next.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
            next.push(self.bytes[FRAME_HEADER_BYTES]);
            next.extend_from_slice(&rest);
            let mut done = std::mem::replace(&mut self.bytes, next);
            done[FRAME_HEADER_BYTES] = KIND_SNAPSHOT_PART;
            seal(&mut done, self.at);
            self.at.lsn += 1;
            if let Some((_, frames)) = &mut self.chunks {
                frames.push(done);
            }
        }
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
        assert!(self.chunks.is_none(), "a chunked record ends with finish_chunks");
        seal(&mut self.bytes, self.at);
        self.bytes
    }

    /// The frames of a chunked record, in order: parts, then the last under its kind.
    fn finish_chunks(mut self) -> Vec<Vec<u8>> {
        self.cut();
        let (_, mut frames) = self.chunks.take().expect("a chunked record");
        seal(&mut self.bytes, self.at);
        frames.push(self.bytes);
        frames
    }
}

/// Fills in a frame's header: length, LSN, synced-through and both checksums.
fn seal(bytes: &mut [u8], at: At) {
    let payload_len = bytes.len() - FRAME_HEADER_BYTES;
    let len = u32::try_from(payload_len).expect("a record is shorter than 4 GiB");
    assert!(len <= RECORD_BYTES_MAX, "a {len}-byte record is longer than the log allows");
    bytes[..4].copy_from_slice(&len.to_le_bytes());
    bytes[4..12].copy_from_slice(&at.lsn.to_le_bytes());
    bytes[12..20].copy_from_slice(&at.synced.to_le_bytes());
    let crc = checksum(&[&bytes[FRAME_HEADER_BYTES..]]);
    bytes[20..24].copy_from_slice(&crc.to_le_bytes());
    let crc = checksum(&[&bytes[..24]]);
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
}

fn checksum(parts: &[&[u8]]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}

/// The framed commit record of `outcome` for `txn`. `writes` are what a committed outcome
/// installed, one per version and in the same (key) order; empty for an abort.
pub fn encode_commit(
    at: impl Into<At>,
    txn: &TxnKey,
    deadline_us: u64,
    outcome: &Outcome,
    writes: &[KeyValue],
) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_COMMIT, at.into());
    frame.txn(txn);
    frame.u64(deadline_us);
    let values: Vec<&str> = writes.iter().map(|w| w.value.as_str()).collect();
    if let Outcome::Committed(versions) = outcome {
        assert_eq!(versions.len(), values.len(), "a value for every installed version");
    }
    frame.outcome(outcome, Some(&values));
    frame.finish()
}

pub fn encode_ids(at: impl Into<At>, up_to: u64) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_IDS, at.into());
    frame.u64(up_to);
    frame.finish()
}

pub fn encode_prepared(at: impl Into<At>, txn_id: &str, prepared: &PreparedTxn) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_PREPARED, at.into());
    frame.prepared(txn_id, prepared);
    frame.finish()
}

pub fn encode_resolved(
    at: impl Into<At>,
    txn_id: &str,
    committed: bool,
    deadline_us: u64,
) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_RESOLVED, at.into());
    frame.str(txn_id);
    frame.u8(u8::from(committed));
    frame.u64(deadline_us);
    frame.finish()
}

pub fn encode_decided(
    at: impl Into<At>,
    txn: &TxnKey,
    txn_id: &str,
    participants: &[String],
    versions: &[KeyVersion],
    deadline_us: u64,
) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_DECIDED, at.into());
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

pub fn encode_outcome(
    at: impl Into<At>,
    txn: &TxnKey,
    deadline_us: u64,
    outcome: &Outcome,
) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_OUTCOME, at.into());
    frame.txn(txn);
    frame.u64(deadline_us);
    frame.outcome(outcome, None);
    frame.finish()
}

pub fn encode_forgotten(at: impl Into<At>, txn_id: &str) -> Vec<u8> {
    let mut frame = FrameWriter::new(KIND_FORGOTTEN, at.into());
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

/// The snapshot's frames, in order: its encoding (`keys` sorted by key, `outcomes` in
/// deadline order) in chunks of at most `chunk_bytes` bytes each, at consecutive LSNs
/// from `at`'s. The snapshot's LSN is its last frame's.
pub fn encode_snapshot<'a>(
    at: impl Into<At>,
    chunk_bytes: usize,
    ids_up_to: u64,
    keys: &[(&str, &str, u64)],
    outcomes: impl ExactSizeIterator<Item = (&'a TxnKey, &'a Outcome, u64)>,
    cluster: ClusterState<'_>,
) -> Vec<Vec<u8>> {
    let mut frame = FrameWriter::chunked(KIND_SNAPSHOT, at.into(), chunk_bytes);
    frame.u64(ids_up_to);
    frame.count(keys.len());
    for (key, value, version) in keys {
        frame.str(key);
        frame.str(value);
        frame.u64(*version);
        frame.cut();
    }
    frame.count(outcomes.len());
    for (txn, outcome, deadline_us) in outcomes {
        frame.txn(txn);
        frame.u64(deadline_us);
        frame.outcome(outcome, None);
        frame.cut();
    }
    let ClusterState { prepared, decisions, participated } = cluster;
    if !(prepared.is_empty() && decisions.is_empty() && participated.is_empty()) {
        frame.count(prepared.len());
        for (txn_id, p) in prepared {
            frame.prepared(txn_id, p);
            frame.cut();
        }
        frame.count(decisions.len());
        for (txn_id, participants) in decisions {
            frame.str(txn_id);
            frame.count(participants.len());
            for p in *participants {
                frame.str(p);
            }
            frame.cut();
        }
        frame.count(participated.len());
        for (txn, outcome, deadline_us) in participated {
            frame.txn(txn);
            frame.u64(*deadline_us);
            frame.outcome(outcome, None);
            frame.cut();
        }
    }
    frame.finish_chunks()
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

fn decode_payload(lsn: u64, payload: &[u8]) -> Decoded<Logged> {
    let mut r = Reader { bytes: payload };
    let kind = r.u8()?;
    let record = match kind {
        KIND_COMMIT => {
            let txn = r.txn()?;
            let deadline_us = r.u64()?;
            let (outcome, values) = r.outcome(true)?;
            Record::Commit(CommitRecord { txn, deadline_us, outcome, values })
        }
        KIND_IDS => Record::Ids { up_to: r.u64()? },
        KIND_SNAPSHOT => Record::Snapshot(decode_snapshot(r.bytes)?),
        KIND_SNAPSHOT_PART => return Err("a snapshot part outside its snapshot"),
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
    if !r.bytes.is_empty() && !matches!(record, Record::Snapshot(_)) {
        return Err("bytes left over after the record");
    }
    Ok(Logged { lsn, record })
}

/// A snapshot's encoding, its chunks put back together.
fn decode_snapshot(bytes: &[u8]) -> Decoded<Snapshot> {
    let mut r = Reader { bytes };
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
    if !r.bytes.is_empty() {
        return Err("bytes left over after the snapshot");
    }
    Ok(snapshot)
}

/// One valid frame of a log: where it is and what its header says. Its payload is
/// decoded only when recovery needs it ([`decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub offset: u64,
    /// The frame's length, header included.
    pub len: u64,
    pub lsn: u64,
    /// The LSN through which the log was durable when the frame was written.
    pub synced: u64,
    /// The last (or only) frame of a snapshot.
    pub is_snapshot: bool,
    /// A snapshot's chunk that continues in the next frame.
    pub is_part: bool,
}

/// What a scan found: the valid frames, where the valid prefix ends, and why it ended
/// before the end of the bytes (if it did).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every valid frame, in log order. The last is never a snapshot's part: a snapshot
    /// cut short ends the prefix where it began.
    pub frames: Vec<Frame>,
    /// Offset just past the last valid frame.
    pub valid_len: u64,
    /// Why the frame at `valid_len` is not a record, when the bytes go on past it.
    pub stop: Option<String>,
}

/// Scans `bytes`, which start at log offset `offset`, for consecutive valid frames: a
/// length that fits, matching checksums, the next LSN (`next_lsn` for the first: `None`
/// takes any). Payloads are not decoded (a frame whose checksum matches holds what was
/// written), except when `verify_checksums` is false (a planted bug), where decoding is
/// all that is left to tell a record from garbage.
pub fn scan(bytes: &[u8], offset: u64, next_lsn: Option<u64>, verify_checksums: bool) -> Scan {
    let mut scan = Scan { valid_len: offset, ..Scan::default() };
    let mut expected = next_lsn;
    let mut at = 0usize;
    // The first frame of the snapshot being read, while its parts go on.
    let mut parts_from: Option<usize> = None;
    while at < bytes.len() {
        match frame_at(&bytes[at..], expected, verify_checksums) {
            Ok(header)
                if parts_from.is_some()
                    && header.kind != KIND_SNAPSHOT_PART
                    && header.kind != KIND_SNAPSHOT =>
            {
                scan.stop = Some(format!("a record of kind {} inside a snapshot", header.kind));
                break;
            }
            Ok(header) => {
                expected = Some(header.lsn + 1);
                let is_part = header.kind == KIND_SNAPSHOT_PART;
                if is_part && parts_from.is_none() {
                    parts_from = Some(scan.frames.len());
                } else if !is_part {
                    parts_from = None;
                }
                let frame = Frame {
                    offset: offset + at as u64,
                    len: header.len as u64,
                    lsn: header.lsn,
                    synced: header.synced,
                    is_snapshot: header.kind == KIND_SNAPSHOT,
                    is_part,
                };
                scan.frames.push(frame);
                at += header.len;
                scan.valid_len = offset + at as u64;
            }
            Err(why) => {
                scan.stop = Some(why);
                break;
            }
        }
    }
    if let Some(first) = parts_from {
        let parts = scan.frames.len() - first;
        scan.valid_len = scan.frames[first].offset;
        scan.frames.truncate(first);
        let plural = if parts == 1 { "" } else { "s" };
        let why = format!("a snapshot cut short after {parts} chunk{plural}");
        scan.stop = Some(match scan.stop {
            Some(after) => format!("{why}, then {after}"),
            None => why,
        });
    }
    scan
}

/// The record in `frame`, whose bytes start at `bytes[0]` (log offset `base`). A snapshot
/// is decoded from all of its frames ([`decode_snapshot_frames`]).
pub fn decode(bytes: &[u8], base: u64, frame: &Frame) -> Result<Logged, String> {
    let start = (frame.offset - base) as usize + FRAME_HEADER_BYTES;
    let end = (frame.offset - base + frame.len) as usize;
    decode_payload(frame.lsn, &bytes[start..end]).map_err(|why| format!("a payload with {why}"))
}

/// The snapshot whose frames are `frames` (its parts, then its last frame), their bytes
/// starting at `bytes[0]` (log offset `base`).
pub fn decode_snapshot_frames(bytes: &[u8], base: u64, frames: &[Frame]) -> Result<Logged, String> {
    let last = frames.last().ok_or("a snapshot of no frames")?;
    if frames.len() == 1 {
        return decode(bytes, base, last);
    }
    let data_len: u64 = frames.iter().map(|f| f.len - FRAME_HEADER_BYTES as u64 - 1).sum();
    let mut data = Vec::with_capacity(usize::try_from(data_len).unwrap_or(0));
    for frame in frames {
        let start = (frame.offset - base) as usize + FRAME_HEADER_BYTES + 1;
        let end = (frame.offset - base + frame.len) as usize;
        data.extend_from_slice(&bytes[start..end]);
    }
    let snapshot = decode_snapshot(&data).map_err(|why| format!("a snapshot with {why}"))?;
    Ok(Logged { lsn: last.lsn, record: Record::Snapshot(snapshot) })
}

/// What a frame's header says.
struct FrameHeader {
    lsn: u64,
    synced: u64,
    kind: u8,
    /// The frame's length, header included.
    len: usize,
}

/// The header of the frame at the start of `bytes`, or why there is none.
fn frame_at(bytes: &[u8], expected: Option<u64>, verify: bool) -> Result<FrameHeader, String> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(format!("a partial frame header ({} bytes)", bytes.len()));
    }
    let len = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    let lsn = u64::from_le_bytes(bytes[4..12].try_into().expect("8 bytes"));
    let synced = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let payload_crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    let header_crc = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
    if verify && header_crc != checksum(&[&bytes[..24]]) {
        if bytes[..FRAME_HEADER_BYTES].iter().all(|&b| b == 0) {
            return Err("zeros where a frame should be".to_string());
        }
        return Err("a frame header whose checksum does not match".to_string());
    }
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
    if verify && payload_crc != checksum(&[payload]) {
        return Err(format!("LSN {lsn}'s payload checksum does not match"));
    }
    let kind = payload[0];
    if !verify && kind != KIND_SNAPSHOT_PART {
        decode_payload(lsn, payload).map_err(|why| format!("a payload with {why}"))?;
    }
    if let Some(want) = expected {
        if lsn != want {
            return Err(format!("LSN {lsn} where {want} was next"));
        }
    }
    Ok(FrameHeader { lsn, synced, kind, len: end })
}

/// The first frame at or after `bytes[0]` (log offset `offset`) whose header is intact
/// and says it was written with the log durable through `lsn` or later: proof that the
/// record at `lsn` had been synced. Candidates are sifted cheaply (an LSN past `lsn` and
/// within what the bytes could hold, synced-through below its own LSN) before the
/// header's checksum is computed, so a scan of a gigabyte takes seconds.
pub fn synced_past(bytes: &[u8], offset: u64, lsn: u64) -> Option<Frame> {
    let mut at = 0usize;
    let lsn_max = lsn.saturating_add(bytes.len() as u64 / (FRAME_HEADER_BYTES as u64 + 1) + 1);
    while at + FRAME_HEADER_BYTES <= bytes.len() {
        let b = &bytes[at..];
        let frame_lsn = u64::from_le_bytes(b[4..12].try_into().expect("8 bytes"));
        let synced = u64::from_le_bytes(b[12..20].try_into().expect("8 bytes"));
        if frame_lsn > lsn
            && frame_lsn <= lsn_max
            && synced >= lsn
            && synced < frame_lsn
            && u32::from_le_bytes(b[24..28].try_into().expect("4 bytes")) == checksum(&[&b[..24]])
        {
            let len = u32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
            return Some(Frame {
                offset: offset + at as u64,
                len: FRAME_HEADER_BYTES as u64 + u64::from(len),
                lsn: frame_lsn,
                synced,
                is_snapshot: false,
                is_part: false,
            });
        }
        at += 1;
    }
    None
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

    /// A log of one record of each kind, as bytes and as the records they decode to.
    fn sample_log() -> (Vec<u8>, Vec<Logged>) {
        let records = sample_records();
        let bytes = records.iter().flat_map(encode_logged).collect();
        (bytes, records)
    }

    /// One record of each kind, at LSNs 1 to 10: a commit, an abort, an id block, a
    /// single node's snapshot, then the cluster's records and a cluster snapshot.
    fn sample_records() -> Vec<Logged> {
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
        let resolved =
            Record::Resolved { txn_id: "t3.n2".into(), committed: true, deadline_us: 80 };
        let decided = Record::Decided {
            txn: TxnKey::Own(9),
            txn_id: "t9.n1".into(),
            participants: vec!["n2".into()],
            versions: vec![KeyVersion { key: "x".into(), version: 4 }],
            deadline_us: 90,
        };
        let aborted = Outcome::Aborted(vec![]);
        let records = [
            Record::Commit(commit),
            Record::Commit(abort),
            Record::Ids { up_to: 2000 },
            Record::Snapshot(snapshot),
            Record::Prepared { txn_id: "t4.n2".into(), prepared },
            resolved,
            decided,
            Record::Outcome { txn: TxnKey::Own(10), deadline_us: 91, outcome: aborted },
            Record::Forgotten { txn_id: "t9.n1".into() },
            Record::Snapshot(cluster_snapshot),
        ];
        (1..).zip(records).map(|(lsn, record)| Logged { lsn, record }).collect()
    }

    /// `logged` framed by the encoder the node writes its kind with (a snapshot in one
    /// chunk).
    fn encode_logged(logged: &Logged) -> Vec<u8> {
        let lsn = logged.lsn;
        match &logged.record {
            Record::Commit(CommitRecord { txn, deadline_us, outcome, values }) => {
                let installed: Vec<KeyValue> = match outcome {
                    Outcome::Committed(versions) => {
                        versions.iter().zip(values).map(|(v, value)| kv(&v.key, value)).collect()
                    }
                    Outcome::Aborted(_) => Vec::new(),
                };
                encode_commit(lsn, txn, *deadline_us, outcome, &installed)
            }
            Record::Ids { up_to } => encode_ids(lsn, *up_to),
            Record::Snapshot(snapshot) => encode_sample_snapshot(lsn, snapshot),
            Record::Prepared { txn_id, prepared } => encode_prepared(lsn, txn_id, prepared),
            Record::Resolved { txn_id, committed, deadline_us } => {
                encode_resolved(lsn, txn_id, *committed, *deadline_us)
            }
            Record::Decided { txn, txn_id, participants, versions, deadline_us } => {
                encode_decided(lsn, txn, txn_id, participants, versions, *deadline_us)
            }
            Record::Outcome { txn, deadline_us, outcome } => {
                encode_outcome(lsn, txn, *deadline_us, outcome)
            }
            Record::Forgotten { txn_id } => encode_forgotten(lsn, txn_id),
        }
    }

    /// `snapshot` at `lsn`, in one chunk, borrowed the way the node hands its state over.
    fn encode_sample_snapshot(lsn: u64, snapshot: &Snapshot) -> Vec<u8> {
        let Snapshot { ids_up_to, keys, outcomes, prepared, decisions, participated } = snapshot;
        let keys: Vec<(&str, &str, u64)> =
            keys.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n)).collect();
        let outcomes = outcomes.iter().map(|(t, o, d)| (t, o, *d));
        let prepared: Vec<(&str, &PreparedTxn)> =
            prepared.iter().map(|(id, p)| (id.as_str(), p)).collect();
        let decisions: Vec<(&str, &[String])> =
            decisions.iter().map(|(id, w)| (id.as_str(), &w[..])).collect();
        let participated: Vec<(&TxnKey, &Outcome, u64)> =
            participated.iter().map(|(t, o, d)| (t, o, *d)).collect();
        let cluster = ClusterState {
            prepared: &prepared,
            decisions: &decisions,
            participated: &participated,
        };
        encode_snapshot(lsn, 1 << 20, *ids_up_to, &keys, outcomes, cluster).concat()
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
        assert_eq!(scan_zeros.stop.as_deref(), Some("zeros where a frame should be"));
        let skipped = scan(&encode_ids(5, 1), 0, Some(4), true);
        assert_eq!(skipped.stop.as_deref(), Some("LSN 5 where 4 was next"));
    }

    #[test]
    fn a_snapshot_larger_than_a_chunk_spans_frames_none_larger_than_a_chunk() {
        // The state is cut into chunks of at most `chunk` bytes each (one frame per chunk,
        // consecutive LSNs), and put back together whole.
        let keys: Vec<(String, String, u64)> =
            (0..200).map(|i| (format!("key{i:03}"), "v".repeat(i % 40), i as u64)).collect();
        let borrowed: Vec<(&str, &str, u64)> =
            keys.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n)).collect();
        for chunk in [1, 7, 100, 1000, 1 << 20] {
            let at = At { lsn: 5, synced: 3 };
            let frames = encode_snapshot(
                at,
                chunk,
                9,
                &borrowed,
                std::iter::empty(),
                ClusterState::default(),
            );
            for frame in &frames {
                assert!(frame.len() <= FRAME_HEADER_BYTES + 1 + chunk, "chunk {chunk}");
            }
            let bytes = frames.concat();
            let found = scan(&bytes, 0, Some(5), true);
            assert_eq!((found.stop.clone(), found.frames.len()), (None, frames.len()));
            assert!(found.frames.iter().all(|f| f.synced == 3));
            let last = found.frames.last().unwrap();
            assert!(last.is_snapshot && found.frames.iter().rev().skip(1).all(|f| f.is_part));
            let logged = decode_snapshot_frames(&bytes, 0, &found.frames).expect("decodes");
            assert_eq!(logged.lsn, 5 + frames.len() as u64 - 1, "chunk {chunk}");
            let Record::Snapshot(snapshot) = logged.record else { panic!("a snapshot") };
            assert_eq!((snapshot.ids_up_to, snapshot.keys), (9, keys.clone()));
            // Cut short, it is no snapshot: the prefix ends where it began.
            if frames.len() > 1 {
                let cut = scan(&bytes[..bytes.len() - 1], 0, Some(5), true);
                assert_eq!((cut.valid_len, cut.frames.len()), (0, 0));
                assert!(cut.stop.unwrap().contains("a snapshot cut short"));
            }
        }
    }

    #[test]
    fn a_header_names_its_node_and_cluster_and_refuses_anything_else() {
        let header = LogHeader {
            first_lsn: 17,
            identity: Identity { node_id: "n2".into(), node_ids: vec!["n1".into(), "n2".into()] },
        };
        let bytes = encode_header(&header);
        assert_eq!(decode_header(&bytes), Ok((header.clone(), bytes.len() as u64)));
        assert_eq!(header.identity.to_string(), "node `n2` of [n1, n2]");
        let text = decode_header(b"hello world, not a log").unwrap_err();
        assert!(text.contains("the text \"hello world, not"), "{text}");
        let binary = decode_header(&[0xff, 0, 3]).unwrap_err();
        assert!(binary.contains("the bytes ff 00 03"), "{binary}");
        assert!(decode_header(&[]).unwrap_err().contains("empty"));
        for byte in 8..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[byte] ^= 4;
            assert!(decode_header(&flipped).is_err(), "byte {byte}");
        }
        let mut v1 = bytes.clone();
        v1[8] = 1;
        let crc = checksum(&[&v1[8..16], &v1[20..]]);
        v1[16..20].copy_from_slice(&crc.to_le_bytes());
        assert!(decode_header(&v1).unwrap_err().contains("version 1"));
    }

    #[test]
    fn a_frame_written_after_a_sync_is_found_past_damage_and_nothing_else_is() {
        // Frames 1-3 written with nothing synced, 4 once 2 was synced: damage at LSN 2 is
        // proved synced by frame 4, damage at LSN 3 is not.
        let mut bytes = Vec::new();
        for lsn in 1..=3 {
            bytes.extend(encode_ids(At { lsn, synced: 0 }, lsn));
        }
        let fourth = bytes.len() as u64;
        bytes.extend(encode_ids(At { lsn: 4, synced: 2 }, 4));
        let frame_len = fourth / 3;
        let mut damaged = bytes.clone();
        damaged[frame_len as usize + 3] ^= 1;
        let proof = synced_past(&damaged[frame_len as usize..], frame_len, 2).expect("found");
        assert_eq!((proof.offset, proof.lsn, proof.synced), (fourth, 4, 2));
        assert_eq!(synced_past(&damaged, 0, 3), None);
        // Random bytes prove nothing.
        let noise: Vec<u8> =
            (0..100_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        assert_eq!(synced_past(&noise, 0, 1), None);
    }

    #[test]
    fn offsets_count_from_where_the_bytes_start() {
        let (bytes, _) = sample_log();
        let scan = scan(&bytes, 1000, Some(1), true);
        assert_eq!(scan.frames[0].offset, 1000);
        assert_eq!(scan.valid_len, 1000 + bytes.len() as u64);
    }
}
