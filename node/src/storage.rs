//! The storage seam: one trait for the log, whatever holds it, and recovery through it.
//!
//! The node never does I/O: it asks for appends, syncs and compactions as
//! [`crate::io::Output`]s, and its driver carries them out on a [`Storage`]: a real file
//! with fsync in `occ-node --data-dir`, the simulator's disk (which loses, tears and
//! corrupts what it may) in `sim`, or [`MemLog`] in tests. After a restart the driver calls
//! [`recover`] on the same storage and builds the node from what it returns
//! ([`crate::Node::recover`]).
//!
//! **Recovery.** The log is scanned from the start ([`crate::wal::scan`]). Where a frame is
//! invalid, the range from there on is read again, up to [`REREADS_MAX`] times: a read
//! that came back corrupted (a transient fault) reads clean the next time, while a torn
//! tail or a hole left by a lost write reads the same every time. A frame that stays
//! invalid ends the log: everything before it is the log, and the bytes from it on are cut
//! off (`truncate`), so that new records follow the valid prefix. Only unsynced writes can
//! be torn or lost, so nothing cut off was ever acknowledged; the count of bytes cut off is
//! reported ([`Recovered::discarded_bytes`]).
//!
//! What a re-read brought back is written back over the log (`rewrite`) before the node
//! goes on: the node must believe exactly what the disk says. A faulty read can even turn
//! a torn record back into the whole one it was meant to be (one flipped bit, in the
//! simulator); that record was never synced, so keeping it is harmless, but only if the
//! disk holds it too. Otherwise the node would append after a record the next recovery
//! reads as torn, and cut off everything synced after it.
//!
//! A single node cannot tell a torn tail from a record that went bad on the disk after it
//! was synced (both read the same every time): it treats both as the end of the log.
//! Surviving that takes a second copy (replicas), which this store does not have.

use std::io;

use crate::bugs::Bug;
use crate::wal::{self, Logged};

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
    /// Drops the log's first `keep_from` bytes, atomically and durably: after a crash the
    /// log is either as before or the rest of it, whole, with every earlier append durable.
    fn compact(&mut self, keep_from: u64) -> io::Result<()>;
}

/// What recovery found in a log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// `(offset, record)` of the records the state is rebuilt from: the last snapshot in
    /// the valid prefix and every record after it (every record, without a snapshot; from
    /// the first snapshot, for `Bug::ReplayTwice`). Records before that were superseded by
    /// the snapshot and are not decoded.
    pub records: Vec<(u64, Logged)>,
    /// `(offset, length, lsn)` of the last two snapshot frames, oldest first.
    pub snapshots: Vec<(u64, u64, u64)>,
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

/// Reads the log on `storage`, keeps its valid prefix and cuts off the rest (see the
/// module docs). `bug` plants a recovery bug: `TrustTornTail` skips the checksums,
/// `TruncateOnReadError` believes the first read, `ReplayTwice` decodes from the first
/// snapshot.
pub fn recover(storage: &mut dyn Storage, bug: Option<Bug>) -> io::Result<Recovered> {
    let verify = bug != Some(Bug::TrustTornTail);
    let reread = bug != Some(Bug::TruncateOnReadError);
    let len = storage.size()?;
    let mut bytes = storage.read(0, len)?;
    let mut found = wal::scan(&bytes, 0, None, verify);
    // Where a re-read first got further than the read before it: from there on, what the
    // node believes is what a re-read said, to be written back.
    let mut reread_from = None;
    let (mut rereads, mut repaired_reads, mut rereads_here) = (0, 0, 0);
    while found.stop.is_some() && reread && rereads_here < REREADS_MAX {
        let from = found.valid_len;
        let again = storage.read(from, len - from)?;
        rereads += 1;
        rereads_here += 1;
        let next_lsn = found.frames.last().map(|f| f.lsn + 1);
        let more = wal::scan(&again, from, next_lsn, verify);
        if more.valid_len > from {
            reread_from = reread_from.or(Some(from));
            bytes.truncate(from as usize);
            bytes.extend_from_slice(&again);
            found.frames.extend(more.frames);
            found.valid_len = more.valid_len;
            found.stop = more.stop;
            repaired_reads += 1;
            rereads_here = 0;
        }
    }
    // Decode what the state is rebuilt from. A frame whose checksum matched but whose
    // payload does not decode (garbage that passed a 32-bit check, or a writer's bug) ends
    // the log there, like any other bad frame.
    let snapshots: Vec<usize> =
        (0..found.frames.len()).filter(|&i| found.frames[i].is_snapshot).collect();
    let from = match bug {
        Some(Bug::ReplayTwice) => snapshots.first(),
        _ => snapshots.last(),
    }
    .copied()
    .unwrap_or(0);
    let mut records = Vec::with_capacity(found.frames.len() - from);
    for (i, frame) in found.frames.iter().enumerate().skip(from) {
        match wal::decode(&bytes, 0, frame) {
            Ok(record) => records.push((frame.offset, record)),
            Err(why) => {
                found.stop = Some(why);
                found.valid_len = frame.offset;
                found.frames.truncate(i);
                break;
            }
        }
    }
    if let Some(from) = reread_from.filter(|&from| from < found.valid_len) {
        storage.rewrite(from, &bytes[from as usize..found.valid_len as usize])?;
    }
    let discarded_bytes = len - found.valid_len;
    if discarded_bytes > 0 {
        storage.truncate(found.valid_len)?;
    }
    let snapshot_frames: Vec<(u64, u64, u64)> =
        found.frames.iter().filter(|f| f.is_snapshot).map(|f| (f.offset, f.len, f.lsn)).collect();
    Ok(Recovered {
        records,
        snapshots: snapshot_frames[snapshot_frames.len().saturating_sub(2)..].to_vec(),
        frames: found.frames.len(),
        first_lsn: found.frames.first().map(|f| f.lsn),
        log_len: found.valid_len,
        discarded_bytes,
        rereads,
        repaired_reads,
        stop: found.stop,
    })
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

    fn compact(&mut self, keep_from: u64) -> io::Result<()> {
        let keep_from = usize::try_from(keep_from).unwrap_or(usize::MAX).min(self.bytes.len());
        self.bytes.drain(..keep_from);
        Ok(())
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
        fn compact(&mut self, keep_from: u64) -> io::Result<()> {
            self.log.compact(keep_from)
        }
    }

    fn three_records() -> MemLog {
        let mut log = MemLog::default();
        for lsn in 1..=3 {
            log.bytes.extend(wal::encode_ids(lsn, lsn * 1000));
        }
        log
    }

    #[test]
    fn a_corrupted_read_is_read_again_and_nothing_is_lost() {
        let log = three_records();
        let len = log.bytes.len();
        let mut flaky = Flaky { log, corrupt_reads: 5, flip_at: 20 };
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
        // Each record is 25 bytes: byte 30 is in the second.
        let mut flaky = Flaky { log: three_records(), corrupt_reads: 1, flip_at: 30 };
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
        fn compact(&mut self, keep_from: u64) -> io::Result<()> {
            self.log.compact(keep_from)
        }
    }

    /// The checksum's first byte in a frame.
    const FRAME_CRC: usize = 4;
}
