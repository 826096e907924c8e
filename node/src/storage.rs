//! The storage seam: one trait for the log, whatever holds it, and recovery through it.
//!
//! The node never does I/O: it asks for appends, syncs and compactions as
//! [`crate::io::Output`]s, and its driver carries them out on a [`Storage`]: a real file
//! with fsync in `occ-node --data-dir`, the simulator's disk (which loses, tears and
//! corrupts what it may) in `sim`, or [`MemLog`] in tests. After a restart the driver calls
//! [`recover`] on the same storage and builds the node from what it returns
//! ([`crate::Node::recover`]).
//!
//! **Recovery.** A log starts with its header ([`crate::wal::LogHeader`]): a log that
//! does not (random bytes, a text file, another format, a header that fails its checksum)
//! is never changed: recovery refuses it ([`RecoverError::Damaged`]). An empty log is a
//! new one (the header is written at the node's first `init`).
//!
//! Then the frames are scanned ([`crate::wal::scan`]). Where a frame is invalid, the range
//! from there on is read again, up to [`REREADS_MAX`] times: a read that came back
//! corrupted (a transient fault) reads clean the next time, while a torn tail, a hole
//! left by a lost write, or damage on the disk reads the same every time.
//!
//! **A torn tail or damage to synced records?** Each frame says through which LSN the
//! log was durable when it was written (the last completed sync). Say the frame that
//! stays invalid would have been LSN `L`. If some later frame with an intact header says
//! the log was synced through `L` or further when it was written, then `L` had been
//! synced, and what is damaged is acknowledged data: recovery refuses, changing nothing
//! (`occ-node` exits 1 and names the file, the offset and what it found; `--repair` moves
//! the file aside and keeps the valid prefix). Otherwise everything from `L` on was
//! written after the last sync that completed before the crash: a torn or lost tail, or
//! unsynced writes kept after a lost one (a hole). That tail is cut off (`truncate`), so
//! that new records follow the valid prefix; nothing cut off was acknowledged, and the
//! count of bytes is reported ([`Recovered::discarded_bytes`]).
//!
//! This is sound for the simulator's disk, which only ever damages unsynced writes: every
//! frame written after an unsynced write at `L` was written before `L`'s sync completed,
//! so it says less than `L`. (A driver must only report a sync once the bytes are
//! durable, and what recovery read it must make durable before new frames say so:
//! `occ-node` fsyncs after recovery.) What it cannot see: damage to the last synced
//! records when no frame was written after their sync. Those read like a torn tail and
//! are cut; only a second copy (replicas) could tell.
//!
//! **A snapshot that does not decode.** The state is rebuilt from the last snapshot and
//! every record after it. A snapshot whose frames pass their checksums can still fail to
//! decode (a writer's bug, or damage a 32-bit checksum missed). It is then passed over,
//! not cut: the latest snapshot before it that decodes is the base, or the log's start
//! when none does and the log was never compacted (a compacted log starts with the
//! snapshot it was cut to), and every record after the base is replayed, those after the
//! bad snapshot too. Nothing is lost: a snapshot only restates the base and the records
//! between. The bad snapshot stays in the log but is not reported
//! ([`Recovered::snapshots`]), so the node never compacts its log to start there. A log
//! with no such base (compacted, and none of its snapshots decodes) is refused
//! ([`RecoverError::Damaged`]): no whole state could be rebuilt.
//!
//! What a re-read brought back is written back over the log (`rewrite`) before the node
//! goes on: the node must believe exactly what the disk says. A faulty read can even turn
//! a torn record back into the whole one it was meant to be (one flipped bit, in the
//! simulator); that record was never synced, so keeping it is harmless, but only if the
//! disk holds it too. Otherwise the node would append after a record the next recovery
//! reads as torn, and cut off everything synced after it.

use std::io;

use crate::bugs::Bug;
use crate::wal::{self, LogHeader, Logged};

/// Re-reads of one invalid range before it is taken for the end of the log. A transient
/// read fault that survives this many re-reads in a row is, in the simulator, rarer than
/// one run in 2^64.
pub const REREADS_MAX: u32 = 32;

/// Where the log lives. Every method may fail with an I/O error, which ends the node's
/// driver (a store that cannot write its log must not answer as if it had).
pub trait Storage {
    /// The log's length in bytes, synced or not.
    fn size(&mut self) -> io::Result<u64>;
    /// `len` bytes from `offset` (fewer at the end of the log). What comes back may be corrupted (a faulty read);
    /// recovery re-reads what fails its checksum.
    fn read(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>>;
    /// Appends bytes at the end. Not durable until a [`Storage::sync`] after it.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes every append so far durable.
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the log to its first `len` bytes, durably (recovery drops a torn tail).
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Writes `bytes` over the log at `offset`, in place and durably (recovery writes back
    /// what it read clean only on a re-read). Never shortens the log.
    fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Replaces the log's first `keep_from` bytes with `head` (a new header), atomically
    /// and durably: after a crash the log is either as before or `head` and the rest of
    /// it, whole, with every earlier append durable. On an empty log with `keep_from` 0
    /// this creates the log with its header.
    fn compact(&mut self, head: &[u8], keep_from: u64) -> io::Result<()>;
}

/// Where one snapshot lies in the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotAt {
    /// Its first frame's offset and LSN, and its last frame's LSN (the snapshot's).
    pub offset: u64,
    pub first_lsn: u64,
    pub lsn: u64,
    /// Bytes of all its frames.
    pub len: u64,
}

/// Why recovery would not go on.
#[derive(Debug)]
pub enum RecoverError {
    Io(io::Error),
    /// The log is damaged where cutting it would lose synced records, or it is not a log
    /// at all. Nothing was changed.
    Damaged(Damage),
}

/// Damage recovery will not cut off by itself (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Where it starts, and what was found there.
    pub offset: u64,
    pub found: String,
    /// Why it cannot be a torn tail.
    pub why: String,
    /// The valid prefix before it (0 if the header is what is damaged): what a repair
    /// keeps.
    pub valid_len: u64,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "damaged at offset {}: {}; {}", self.offset, self.found, self.why)
    }
}

impl std::fmt::Display for RecoverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoverError::Io(e) => write!(f, "{e}"),
            RecoverError::Damaged(damage) => write!(f, "{damage}"),
        }
    }
}

impl std::error::Error for RecoverError {}

impl From<io::Error> for RecoverError {
    fn from(e: io::Error) -> RecoverError {
        RecoverError::Io(e)
    }
}

/// What recovery found in a log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// `(offset, record)` of the records the state is rebuilt from: the last snapshot in
    /// the valid prefix that decodes and every record after it, but for the snapshots
    /// that do not (every record, without a snapshot that decodes; from the first
    /// snapshot, for `Bug::ReplayTwice`). Records before that were superseded by the
    /// snapshot and are not decoded.
    pub records: Vec<(u64, Logged)>,
    /// The last two snapshots, oldest first, leaving out any that did not decode.
    pub snapshots: Vec<SnapshotAt>,
    /// The log's header (`None`: the log is empty, a new one).
    pub header: Option<LogHeader>,
    /// Frames in the valid prefix, and the LSN of the first.
    pub frames: usize,
    pub first_lsn: Option<u64>,
    /// The log's length after recovery: the end of the valid prefix.
    pub log_len: u64,
    /// Bytes cut off after the valid prefix (a torn or lost tail).
    pub discarded_bytes: u64,
    /// Reads repeated because a frame failed its check.
    pub rereads: u32,
    /// Re-reads that got back a record the read before it could not (a corrupted read).
    pub repaired_reads: u32,
    /// Why the log ended before its last byte, if it did.
    pub stop: Option<String>,
}

impl Recovered {
    /// One line for a person: `recovered 120 records (8412 bytes); cut 37 bytes after
    /// them: a checksum mismatch; 3 re-reads`.
    pub fn summary(&self) -> String {
        let plural = if self.frames == 1 { "" } else { "s" };
        let (count, bytes) = (self.frames, self.log_len);
        let mut line = format!("recovered {count} record{plural} ({bytes} bytes)");
        if let Some(why) = &self.stop {
            line.push_str(&format!("; cut {} bytes after them: {why}", self.discarded_bytes));
        }
        if self.rereads > 0 {
            line.push_str(&format!("; {} re-reads", self.rereads));
        }
        line
    }
}

/// Reads the log on `storage`, keeps its valid prefix and cuts off an unsynced tail, or
/// refuses damage it must not cut (see the module docs). `bug` plants a recovery bug:
/// `TrustTornTail` skips the checksums, `TruncateOnReadError` believes the first read
/// (and cuts whatever it did not like), `ReplayTwice` decodes from the first snapshot.
pub fn recover(storage: &mut dyn Storage, bug: Option<Bug>) -> Result<Recovered, RecoverError> {
    let len = storage.size()?;
    if len == 0 {
        return Ok(Recovered::default());
    }
    let mut reader = Reader {
        storage,
        len,
        verify: bug != Some(Bug::TrustTornTail),
        reread: bug != Some(Bug::TruncateOnReadError),
        rereads: 0,
        repaired_reads: 0,
    };
    let (mut bytes, header, header_len) = reader.header()?;
    let first = header.first_lsn;
    let (mut found, reread_from) = reader.frames(&mut bytes, header_len, first)?;
    let mut base = replay_base(&bytes, &found.frames, first, bug)?;
    let records = decode_records(&bytes, &mut found, &mut base);
    if bug != Some(Bug::TruncateOnReadError) {
        refuse_synced_damage(&bytes, &mut found, first)?;
    }
    // The disk must hold exactly what the node is about to believe: what only a re-read
    // got right is written back, and the tail past the valid prefix is cut.
    if let Some(from) = reread_from.filter(|&from| from < found.valid_len) {
        reader.storage.rewrite(from, &bytes[from as usize..found.valid_len as usize])?;
    }
    assert!(
        found.valid_len <= len,
        "a valid prefix of {} bytes in a log of {len}",
        found.valid_len
    );
    let discarded_bytes = len - found.valid_len;
    if discarded_bytes > 0 {
        reader.storage.truncate(found.valid_len)?;
    }
    let snapshots = snapshots_in(&found.frames, &base.undecodable);
    Ok(Recovered {
        records,
        snapshots: snapshots[snapshots.len().saturating_sub(2)..].to_vec(),
        header: Some(header),
        frames: found.frames.len(),
        first_lsn: found.frames.first().map(|f| f.lsn),
        log_len: found.valid_len,
        discarded_bytes,
        rereads: reader.rereads,
        repaired_reads: reader.repaired_reads,
        stop: found.stop,
    })
}

/// Recovery's reads of one log of `len` bytes, each invalid range re-read up to
/// [`REREADS_MAX`] times in a row (`reread`, false only for `Bug::TruncateOnReadError`)
/// before it is believed; `verify`: checksums are checked (false only for
/// `Bug::TrustTornTail`).
struct Reader<'a> {
    storage: &'a mut dyn Storage,
    len: u64,
    verify: bool,
    reread: bool,
    rereads: u32,
    repaired_reads: u32,
}

impl Reader<'_> {
    /// The whole log, its header and the header's length, or the refusal of a log whose
    /// header stays invalid through every re-read.
    fn header(&mut self) -> Result<(Vec<u8>, LogHeader, u64), RecoverError> {
        let mut bytes = self.storage.read(0, self.len)?;
        let mut header = wal::decode_header(&bytes);
        let mut rereads_here = 0;
        while header.is_err() && self.reread && rereads_here < REREADS_MAX {
            bytes = self.storage.read(0, self.len)?;
            self.rereads += 1;
            rereads_here += 1;
            header = wal::decode_header(&bytes);
        }
        let (header, header_len) = header.map_err(|found| {
            RecoverError::Damaged(Damage {
                offset: 0,
                found,
                why: "a log starts with an occ-node log header, so this is not a log or its \
                      head is damaged"
                    .to_string(),
                valid_len: 0,
            })
        })?;
        Ok((bytes, header, header_len))
    }

    /// The valid frames after the header (LSNs from `first`), where the first invalid one
    /// is read again until it reads the same [`REREADS_MAX`] times in a row. What a
    /// re-read got further with replaces the tail of `bytes`; the offset where that first
    /// happened comes back too: from there on the node believes what a re-read said, which
    /// must be written back.
    fn frames(
        &mut self,
        bytes: &mut Vec<u8>,
        header_len: u64,
        first: u64,
    ) -> Result<(wal::Scan, Option<u64>), RecoverError> {
        let mut found =
            wal::scan(&bytes[header_len as usize..], header_len, Some(first), self.verify);
        let mut reread_from = None;
        let mut rereads_here = 0;
        while found.stop.is_some() && self.reread && rereads_here < REREADS_MAX {
            let from = found.valid_len;
            let again = self.storage.read(from, self.len - from)?;
            self.rereads += 1;
            rereads_here += 1;
            let next_lsn = found.frames.last().map_or(first, |f| f.lsn + 1);
            let more = wal::scan(&again, from, Some(next_lsn), self.verify);
            if more.valid_len > from {
                reread_from = reread_from.or(Some(from));
                bytes.truncate(from as usize);
                bytes.extend_from_slice(&again);
                found.frames.extend(more.frames);
                found.valid_len = more.valid_len;
                found.stop = more.stop;
                self.repaired_reads += 1;
                rereads_here = 0;
            }
        }
        debug_assert!(
            (1..found.frames.len()).all(|i| found.frames[i].lsn == found.frames[i - 1].lsn + 1),
            "the frames a re-read appended must go on at the next LSN"
        );
        Ok((found, reread_from))
    }
}

/// Where the state is rebuilt from: the last snapshot that decodes, then every record
/// after it (see the module docs).
struct Base {
    /// The first frame decoded after the base.
    from: usize,
    /// `(offset, record)` of the snapshot the state starts from, already decoded (`None`:
    /// from the log's start, or for `Bug::ReplayTwice` from `from`).
    snapshot: Option<(u64, Logged)>,
    /// The last frames of the snapshots after the base that do not decode, oldest first:
    /// passed over, since the base and the records between say all they would.
    undecodable: Vec<usize>,
}

/// The base recovery rebuilds from: the last snapshot, or the latest before it that
/// decodes when it does not, or the log's start when none does and the log was never
/// compacted (a compacted log starts with the snapshot it was cut to, so it holds every
/// record from its start only if its first frame is not a snapshot's). A log with no such
/// base is refused: there is no whole state to start from. `Bug::ReplayTwice` starts
/// from the first snapshot, decoded with the rest. `first` is the LSN the header names.
fn replay_base(
    bytes: &[u8],
    frames: &[wal::Frame],
    first: u64,
    bug: Option<Bug>,
) -> Result<Base, RecoverError> {
    let ends: Vec<usize> = (0..frames.len()).filter(|&i| frames[i].is_snapshot).collect();
    if bug == Some(Bug::ReplayTwice) {
        let from = ends.first().map_or(0, |&end| snapshot_start(frames, end));
        return Ok(Base { from, snapshot: None, undecodable: Vec::new() });
    }
    let mut undecodable = Vec::new();
    let mut last_why = None;
    for &end in ends.iter().rev() {
        let start = snapshot_start(frames, end);
        match wal::decode_snapshot_frames(bytes, 0, &frames[start..=end]) {
            Ok(snapshot) => {
                undecodable.reverse();
                let snapshot = Some((frames[start].offset, snapshot));
                return Ok(Base { from: end + 1, snapshot, undecodable });
            }
            Err(why) => {
                last_why = last_why.or(Some(why));
                undecodable.push(end);
            }
        }
    }
    undecodable.reverse();
    let compacted = frames.first().is_some_and(|f| f.is_part || f.is_snapshot);
    let (Some(why), true) = (last_why, compacted) else {
        return Ok(Base { from: 0, snapshot: None, undecodable });
    };
    let last = ends[ends.len() - 1];
    let start = &frames[snapshot_start(frames, last)];
    let lsn = frames[last].lsn;
    let frames_from = if start.lsn == lsn {
        String::new()
    } else {
        format!(" (in frames from LSN {})", start.lsn)
    };
    let older = match ends.len() {
        1 => "no older snapshot is in the log".to_string(),
        n => format!("no older snapshot decodes either ({} more tried)", n - 1),
    };
    Err(RecoverError::Damaged(Damage {
        offset: start.offset,
        found: format!(
            "the snapshot at LSN {lsn}{frames_from} passes its checksums but does not decode: \
             {why}"
        ),
        why: format!(
            "the state is rebuilt from a snapshot, {older}, and the log does not hold the \
             records before it (it was compacted to start with a snapshot at LSN {first}): \
             no whole state can be rebuilt"
        ),
        // What a repair keeps: nothing from the first snapshot on, none of which decodes.
        valid_len: frames[0].offset,
    }))
}

/// The index of the first frame of the snapshot whose last frame is `frames[end]`.
fn snapshot_start(frames: &[wal::Frame], end: usize) -> usize {
    end - frames[..end].iter().rev().take_while(|f| f.is_part).count()
}

/// `(offset, record)` of the base's snapshot (taken out of `base`) and every record after
/// it, a snapshot decoded from all of its frames, the base's undecodable ones passed over. A frame whose
/// checksum matched but whose payload does not decode (garbage that passed a 32-bit
/// check, or a writer's bug) ends the log there, like any other bad frame: `found` is cut
/// back to it.
fn decode_records(bytes: &[u8], found: &mut wal::Scan, base: &mut Base) -> Vec<(u64, Logged)> {
    let mut records = Vec::with_capacity(found.frames.len() - base.from + 1);
    // Taken, not cloned: a snapshot may hold gigabytes.
    records.extend(base.snapshot.take());
    let mut i = base.from;
    while i < found.frames.len() {
        let frame = found.frames[i];
        let end = if frame.is_part {
            (i..found.frames.len()).find(|&j| found.frames[j].is_snapshot).unwrap_or(i)
        } else {
            i
        };
        if base.undecodable.contains(&end) {
            i = end + 1;
            continue;
        }
        let decoded = if frame.is_part {
            wal::decode_snapshot_frames(bytes, 0, &found.frames[i..=end])
        } else {
            wal::decode(bytes, 0, &frame)
        };
        match decoded {
            Ok(record) => records.push((frame.offset, record)),
            Err(why) => {
                found.stop = Some(why);
                found.valid_len = frame.offset;
                found.frames.truncate(i);
                break;
            }
        }
        i = end + 1;
    }
    records
}

/// Refuses to cut the log at an invalid frame when a later frame proves the log had been
/// synced past it: what would be cut is acknowledged data (see the module docs).
fn refuse_synced_damage(
    bytes: &[u8],
    found: &mut wal::Scan,
    first: u64,
) -> Result<(), RecoverError> {
    if found.stop.is_none() {
        return Ok(());
    }
    let at = found.valid_len;
    let lsn = found.frames.last().map_or(first, |f| f.lsn + 1);
    let Some(proof) = wal::synced_past(&bytes[at as usize..], at, lsn) else { return Ok(()) };
    Err(RecoverError::Damaged(Damage {
        offset: at,
        found: found.stop.take().unwrap_or_default(),
        why: format!(
            "LSN {lsn} belongs here, and the frame at offset {} (LSN {}) was written once the \
             log was synced through LSN {}: the damage lies in synced records",
            proof.offset, proof.lsn, proof.synced
        ),
        valid_len: at,
    }))
}

/// Where each snapshot of the valid prefix lies, oldest first, but for those that do not
/// decode (`undecodable`, their last frames): the node must never compact its log to
/// start at one.
fn snapshots_in(frames: &[wal::Frame], undecodable: &[usize]) -> Vec<SnapshotAt> {
    let ends = frames.iter().enumerate();
    let ends = ends.filter(|&(i, f)| f.is_snapshot && !undecodable.contains(&i));
    ends.map(|(i, last)| {
        let start = &frames[snapshot_start(frames, i)];
        SnapshotAt {
            offset: start.offset,
            first_lsn: start.lsn,
            lsn: last.lsn,
            len: last.offset + last.len - start.offset,
        }
    })
    .collect()
}

/// A log in memory that never fails and makes everything durable at once: for tests,
/// benches and the fuzz test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemLog {
    pub bytes: Vec<u8>,
}

impl Storage for MemLog {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn read(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.bytes.len());
        let end = start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(self.bytes[start..end.min(self.bytes.len())].to_vec())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.bytes.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(())
    }

    fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX).min(self.bytes.len());
        let end = (offset + bytes.len()).min(self.bytes.len());
        self.bytes[offset..end].copy_from_slice(&bytes[..end - offset]);
        Ok(())
    }

    fn compact(&mut self, head: &[u8], keep_from: u64) -> io::Result<()> {
        let keep_from = usize::try_from(keep_from).unwrap_or(usize::MAX).min(self.bytes.len());
        self.bytes.splice(..keep_from, head.iter().copied());
        Ok(())
    }
}

/// A log crafted record by record, for recovery's tests (here and in `node`).
#[cfg(test)]
pub(crate) struct CraftedLog {
    pub log: MemLog,
    /// The LSN the next record gets.
    pub lsn: u64,
}

#[cfg(test)]
impl CraftedLog {
    /// A log of a header alone whose first record will be LSN `first_lsn` (above 1: a
    /// compacted log, which starts with a snapshot).
    pub fn new(first_lsn: u64) -> CraftedLog {
        let header = LogHeader { first_lsn, ..LogHeader::default() };
        CraftedLog { log: MemLog { bytes: wal::encode_header(&header) }, lsn: first_lsn }
    }

    /// x = a1, a snapshot of it that decodes, y = b1, then a snapshot of both that passes
    /// its checks and does not decode (in 16-byte chunks): the log both storage's and
    /// `node`'s tests of the fallback to an older snapshot start from.
    pub fn with_an_undecodable_last_snapshot() -> CraftedLog {
        let mut crafted = CraftedLog::new(1);
        crafted
            .commit(0, 1, ("x", "a1", 1))
            .snapshot(1, &[("x", "a1", 1)], 1 << 20, true)
            .commit(2, 2, ("y", "b1", 1))
            .snapshot(3, &[("x", "a1", 1), ("y", "b1", 1)], 16, false);
        crafted
    }

    /// Appends own transaction `id`'s commit of `key = value` at `version`, written once
    /// the log was synced through `synced`.
    pub fn commit(&mut self, synced: u64, id: u64, write: (&str, &str, u64)) -> &mut CraftedLog {
        use crate::outcomes::{Outcome, TxnKey};
        use crate::protocol::{KeyValue, KeyVersion};
        let (key, value, version) = write;
        let outcome = Outcome::Committed(vec![KeyVersion { key: key.into(), version }]);
        let writes = [KeyValue { key: key.into(), value: value.into() }];
        let at = wal::At { lsn: self.lsn, synced };
        self.log.bytes.extend(wal::encode_commit(
            at,
            &TxnKey::Own(id),
            u64::MAX,
            &outcome,
            &writes,
        ));
        self.lsn += 1;
        self
    }

    /// Appends a snapshot of `keys` in chunks of `chunk_bytes`, written once the log was
    /// synced through `synced`. `decodes` false: its first frame's key count is made
    /// larger than the payload and both checksums computed again, so that every frame
    /// passes its checks and the snapshot still does not decode (a writer's bug, or
    /// damage a 32-bit checksum missed).
    pub fn snapshot(
        &mut self,
        synced: u64,
        keys: &[(&str, &str, u64)],
        chunk_bytes: usize,
        decodes: bool,
    ) -> &mut CraftedLog {
        let at = wal::At { lsn: self.lsn, synced };
        let empty = std::iter::empty();
        let mut frames =
            wal::encode_snapshot(at, chunk_bytes, 0, keys, empty, wal::ClusterState::default());
        if !decodes {
            // The payload: its kind, then `ids_up_to` (8 bytes), then the key count.
            let first = &mut frames[0];
            let count = wal::FRAME_HEADER_BYTES + 1 + 8;
            first[count..count + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            let crc = crc32fast::hash(&first[wal::FRAME_HEADER_BYTES..]);
            first[20..24].copy_from_slice(&crc.to_le_bytes());
            let crc = crc32fast::hash(&first[..24]);
            first[24..28].copy_from_slice(&crc.to_le_bytes());
        }
        self.lsn += frames.len() as u64;
        self.log.bytes.extend(frames.concat());
        self
    }

    /// The log crafted so far.
    pub fn log(&self) -> MemLog {
        self.log.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log whose first `corrupt_reads` reads flip one bit at `flip_at`.
    struct Flaky {
        log: MemLog,
        corrupt_reads: u32,
        flip_at: usize,
    }

    impl Storage for Flaky {
        fn size(&mut self) -> io::Result<u64> {
            self.log.size()
        }
        fn read(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
            let mut bytes = self.log.read(offset, len)?;
            if self.corrupt_reads > 0 {
                self.corrupt_reads -= 1;
                if let Some(byte) = (self.flip_at as u64).checked_sub(offset) {
                    if let Some(b) = bytes.get_mut(byte as usize) {
                        *b ^= 0x10;
                    }
                }
            }
            Ok(bytes)
        }
        fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.log.append(bytes)
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.log.truncate(len)
        }
        fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
            self.log.rewrite(offset, bytes)
        }
        fn compact(&mut self, head: &[u8], keep_from: u64) -> io::Result<()> {
            self.log.compact(head, keep_from)
        }
    }

    /// Bytes of the header `three_records` starts with.
    fn header_len() -> usize {
        wal::encode_header(&LogHeader { first_lsn: 1, ..LogHeader::default() }).len()
    }

    /// Bytes of one `Ids` frame.
    const IDS_FRAME: usize = wal::FRAME_HEADER_BYTES + 9;

    /// A header and three records, each written once the one before it was synced.
    fn three_records() -> MemLog {
        let header = LogHeader { first_lsn: 1, ..LogHeader::default() };
        let mut log = MemLog { bytes: wal::encode_header(&header) };
        for lsn in 1..=3 {
            log.bytes.extend(wal::encode_ids(wal::At { lsn, synced: lsn - 1 }, lsn * 1000));
        }
        log
    }

    fn damage(result: Result<Recovered, RecoverError>) -> Damage {
        match result {
            Err(RecoverError::Damaged(damage)) => damage,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn what_is_not_a_log_is_refused_and_left_as_it_was() {
        let noise: Vec<u8> =
            (0..10_000u32).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8).collect();
        for bytes in [noise, b"just some text\n".to_vec(), three_records().bytes[1..].to_vec()] {
            let mut log = MemLog { bytes: bytes.clone() };
            let refused = damage(recover(&mut log, None));
            assert_eq!((refused.offset, refused.valid_len), (0, 0));
            assert!(refused.to_string().contains("occ-node log header"), "{refused}");
            assert_eq!(log.bytes, bytes, "nothing was changed");
        }
        let empty = recover(&mut MemLog::default(), None).expect("an empty log is a new one");
        assert_eq!(empty.header, None);
    }

    #[test]
    fn damage_to_synced_records_is_refused_and_an_unsynced_tail_is_cut() {
        // A flipped bit in record 2: record 3 was written once 2 was synced, so the damage
        // lies in synced records. Refused, nothing changed.
        let mut log = three_records();
        let second = header_len() + IDS_FRAME;
        log.bytes[second + 30] ^= 1;
        let before = log.bytes.clone();
        let refused = damage(recover(&mut log, None));
        assert_eq!((refused.offset, refused.valid_len), (second as u64, second as u64));
        assert!(refused.why.contains("synced through LSN 2"), "{refused}");
        assert_eq!(log.bytes, before);
        // The same damage in record 3, the last: nothing says it was synced. Cut.
        let mut log = three_records();
        let third = header_len() + 2 * IDS_FRAME;
        log.bytes[third + 30] ^= 1;
        assert_eq!(recover(&mut log, None).expect("a tail").records.len(), 2);
        assert_eq!(log.bytes.len(), third);
        // A hole (a lost unsynced write) before a kept one written before any later sync:
        // cut, as the simulator's disk makes them.
        let mut log = three_records();
        log.bytes.extend([0u8; IDS_FRAME]);
        log.bytes.extend(wal::encode_ids(wal::At { lsn: 5, synced: 3 }, 5000));
        let recovered = recover(&mut log, None).expect("an unsynced tail");
        assert_eq!((recovered.records.len(), recovered.discarded_bytes), (3, 2 * IDS_FRAME as u64));
        // The planted bug cuts even synced damage.
        let mut log = three_records();
        log.bytes[second + 30] ^= 1;
        let cut = recover(&mut log, Some(Bug::TruncateOnReadError)).expect("cut");
        assert_eq!(cut.records.len(), 1);
    }

    #[test]
    fn a_corrupted_read_is_read_again_and_nothing_is_lost() {
        let log = three_records();
        let len = log.bytes.len();
        let mut flaky = Flaky { log, corrupt_reads: 5, flip_at: header_len() + 20 };
        let recovered = recover(&mut flaky, None).expect("recovers");
        assert_eq!(recovered.records.len(), 3);
        assert_eq!((recovered.log_len, recovered.discarded_bytes), (len as u64, 0));
        assert_eq!((recovered.rereads, recovered.repaired_reads), (5, 1));
        assert_eq!(flaky.log.bytes.len(), len, "nothing was cut");
    }

    #[test]
    fn a_torn_tail_is_cut_off_after_its_rereads() {
        let mut log = three_records();
        let whole = log.bytes.len();
        log.bytes.extend(&wal::encode_ids(4, 4000)[..10]);
        let recovered = recover(&mut log, None).expect("recovers");
        assert_eq!(recovered.records.len(), 3);
        assert_eq!(recovered.discarded_bytes, 10);
        assert_eq!(recovered.rereads, REREADS_MAX);
        assert_eq!(log.bytes.len(), whole, "the tail is gone, so appends follow the prefix");
        assert!(recovered.summary().contains("cut 10 bytes"), "{}", recovered.summary());
    }

    #[test]
    fn planted_recovery_bugs_lose_or_trust_what_they_should_not() {
        // Believing one corrupted read cuts synced records off.
        // The flipped byte is in the second record.
        let flip_at = header_len() + IDS_FRAME + 5;
        let mut flaky = Flaky { log: three_records(), corrupt_reads: 1, flip_at };
        let recovered = recover(&mut flaky, Some(Bug::TruncateOnReadError)).expect("recovers");
        assert_eq!(recovered.records.len(), 1, "the second record was read corrupted once");
        // Skipping checksums takes a torn record whose payload still parses.
        let mut log = three_records();
        let mut torn = wal::encode_ids(4, 4000);
        torn[FRAME_CRC] ^= 0xff;
        log.bytes.extend(torn);
        assert_eq!(recover(&mut log.clone(), None).expect("recovers").records.len(), 3);
        let trusting = recover(&mut log, Some(Bug::TrustTornTail)).expect("recovers");
        assert_eq!(trusting.records.len(), 4);
    }

    #[test]
    fn a_record_a_re_read_repaired_is_written_back_so_the_disk_agrees() {
        // A torn last record one bit from whole, and a re-read whose fault flips that very
        // bit: recovery keeps the record, and the disk must hold it too, or the next
        // recovery would cut it (and whatever was appended after it) off.
        let mut log = three_records();
        let torn_byte = log.bytes.len() + 18;
        log.bytes.extend(wal::encode_ids(4, 4096));
        log.bytes[torn_byte] ^= 0x10;
        let mut plain =
            FlakyAfter { log: log.clone(), clean: u32::MAX, flips: 0, flip_at: torn_byte };
        assert_eq!(recover(&mut plain, None).expect("recovers").records.len(), 3, "cut when torn");
        let mut lucky = FlakyAfter { log, clean: 1, flips: 1, flip_at: torn_byte };
        let recovered = recover(&mut lucky, None).expect("recovers");
        assert_eq!(recovered.records.len(), 4, "the re-read brought the record back whole");
        let again = recover(&mut lucky.log, None).expect("recovers");
        assert_eq!(again.records.len(), 4, "the disk holds what recovery believed");
    }

    /// A log whose first `clean` reads are clean and whose next `flips` reads flip one bit.
    struct FlakyAfter {
        log: MemLog,
        clean: u32,
        flips: u32,
        flip_at: usize,
    }

    impl Storage for FlakyAfter {
        fn size(&mut self) -> io::Result<u64> {
            self.log.size()
        }
        fn read(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
            let mut bytes = self.log.read(offset, len)?;
            if self.clean > 0 {
                self.clean -= 1;
            } else if self.flips > 0 {
                self.flips -= 1;
                if let Some(b) = bytes.get_mut(self.flip_at - offset as usize) {
                    *b ^= 0x10;
                }
            }
            Ok(bytes)
        }
        fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.log.append(bytes)
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.log.truncate(len)
        }
        fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
            self.log.rewrite(offset, bytes)
        }
        fn compact(&mut self, head: &[u8], keep_from: u64) -> io::Result<()> {
            self.log.compact(head, keep_from)
        }
    }

    /// The payload checksum's first byte in a frame.
    const FRAME_CRC: usize = 20;

    /// `(LSN, kind)` of each record recovery rebuilds from.
    fn replayed(recovered: &Recovered) -> Vec<(u64, &'static str)> {
        let kind = |record: &wal::Record| match record {
            wal::Record::Snapshot(_) => "snapshot",
            wal::Record::Commit(_) => "commit",
            _ => "other",
        };
        recovered.records.iter().map(|(_, r)| (r.lsn, kind(&r.record))).collect()
    }

    #[test]
    fn an_undecodable_last_snapshot_falls_back_to_the_one_before_and_nothing_is_lost() {
        // Proves the state is rebuilt from the older snapshot and every record after it,
        // the undecodable one passed over (and kept), whether or not a later record
        // proves that it was synced.
        for synced_after_lsn in [3, 4] {
            let mut crafted = CraftedLog::with_an_undecodable_last_snapshot();
            let last = crafted.lsn;
            assert!(last > 5, "the undecodable snapshot is in chunks");
            crafted.commit(synced_after_lsn, 3, ("x", "a2", 2));
            let mut log = crafted.log();
            let before = log.bytes.clone();
            let recovered = recover(&mut log, None).expect("an older snapshot to start from");
            let lsns = vec![(2, "snapshot"), (3, "commit"), (last, "commit")];
            assert_eq!(replayed(&recovered), lsns, "synced through {synced_after_lsn}");
            let wal::Record::Snapshot(base) = &recovered.records[0].1.record else {
                panic!("the first record is the older snapshot")
            };
            assert_eq!(base.keys, vec![("x".to_string(), "a1".to_string(), 1)]);
            let snapshot_lsns: Vec<u64> = recovered.snapshots.iter().map(|s| s.lsn).collect();
            assert_eq!(snapshot_lsns, vec![2], "only a snapshot that decodes is one to keep");
            assert_eq!(recovered.discarded_bytes, 0);
            assert_eq!(log.bytes, before, "nothing was cut");
        }
    }

    #[test]
    fn an_undecodable_only_snapshot_falls_back_to_the_log_s_start_and_nothing_is_lost() {
        // Proves a log that was never compacted rebuilds from every record in it when its
        // one snapshot does not decode, instead of starting empty.
        for synced_after_lsn in [2, 3] {
            let mut crafted = CraftedLog::new(1);
            crafted
                .commit(0, 1, ("x", "a1", 1))
                .commit(1, 2, ("y", "b1", 1))
                .snapshot(2, &[("x", "a1", 1), ("y", "b1", 1)], 1 << 20, false)
                .commit(synced_after_lsn, 3, ("x", "a2", 2));
            let mut log = crafted.log();
            let before = log.bytes.clone();
            let recovered = recover(&mut log, None).expect("the log's start to rebuild from");
            let lsns = vec![(1, "commit"), (2, "commit"), (4, "commit")];
            assert_eq!(replayed(&recovered), lsns, "synced through {synced_after_lsn}");
            assert_eq!(recovered.snapshots, vec![]);
            assert_eq!((recovered.first_lsn, recovered.discarded_bytes), (Some(1), 0));
            assert_eq!(log.bytes, before, "nothing was cut");
        }
    }

    #[test]
    fn an_undecodable_snapshot_with_no_complete_state_before_it_is_refused() {
        // Proves a compacted log whose snapshots all fail to decode is refused, naming the
        // snapshot and why, and left as it was: no state it could start from is whole.
        let head = wal::encode_header(&LogHeader { first_lsn: 5, ..LogHeader::default() });
        let head_len = head.len() as u64;
        for synced_after_lsn in [4, 5] {
            let mut crafted = CraftedLog::new(5);
            crafted.snapshot(4, &[("x", "a1", 1)], 1 << 20, false).commit(
                synced_after_lsn,
                3,
                ("x", "a2", 2),
            );
            let mut log = crafted.log();
            let before = log.bytes.clone();
            let refused = damage(recover(&mut log, None));
            assert_eq!((refused.offset, refused.valid_len), (head_len, head_len));
            assert!(refused.found.contains("snapshot at LSN 5"), "{refused}");
            assert!(refused.found.contains("does not decode"), "{refused}");
            assert!(refused.why.contains("no older snapshot"), "{refused}");
            assert!(refused.why.contains("LSN 5"), "{refused}");
            assert_eq!(log.bytes, before, "nothing was changed");
        }
        // Two snapshots, neither decodes: refused at the last, a repair keeping only what
        // comes before the first.
        let mut crafted = CraftedLog::new(5);
        crafted.snapshot(4, &[("x", "a1", 1)], 1 << 20, false).commit(5, 3, ("x", "a2", 2));
        let second = crafted.log.bytes.len() as u64;
        crafted.snapshot(6, &[("x", "a2", 2)], 1 << 20, false).commit(7, 4, ("x", "a3", 3));
        let refused = damage(recover(&mut crafted.log(), None));
        assert_eq!((refused.offset, refused.valid_len), (second, head_len));
        assert!(refused.found.contains("snapshot at LSN 7"), "{refused}");
    }
}
