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
    Ids { up_to: u64 },
    Snapshot(Snapshot),
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

/// The framed snapshot record: `keys` sorted by key, `outcomes` in deadline order.
pub fn encode_snapshot<'a>(
    lsn: u64,
    ids_up_to: u64,
    keys: &[(&str, &str, u64)],
    outcomes: impl ExactSizeIterator<Item = (&'a TxnKey, &'a Outcome, u64)>,
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
            Record::Snapshot(Snapshot { ids_up_to, keys, outcomes })
        }
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
        };
        let mut bytes =
            encode_commit(1, &commit.txn, 99, &commit.outcome, &[kv("x", "a"), kv("y", "b")]);
        bytes.extend(encode_commit(2, &abort.txn, 100, &abort.outcome, &[]));
        bytes.extend(encode_ids(3, 2000));
        let keys: Vec<(&str, &str, u64)> =
            snapshot.keys.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n)).collect();
        let outcomes = snapshot.outcomes.iter().map(|(t, o, d)| (t, o, *d));
        bytes.extend(encode_snapshot(4, 2000, &keys, outcomes));
        let records = vec![
            Logged { lsn: 1, record: Record::Commit(commit) },
            Logged { lsn: 2, record: Record::Commit(abort) },
            Logged { lsn: 3, record: Record::Ids { up_to: 2000 } },
            Logged { lsn: 4, record: Record::Snapshot(snapshot) },
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
        assert_eq!(snapshots, [false, false, false, true]);
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
