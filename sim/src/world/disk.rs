//! The simulated disk under a store node's log: durable bytes, plus the writes since the
//! last sync, which a crash may lose.
//!
//! Modelled on FoundationDB's `AsyncFileNonDurable` and TigerBeetle's testing storage:
//! - an append is *pending* until a sync that began after it completes;
//! - a crash decides each pending write's fate: lost (always, without the `disk` fault
//!   family), or under `disk` faults kept whole (an unsynced write may still reach the
//!   platter), or torn (a prefix kept, the rest of the sector it ends in garbage: zeros or
//!   noise); a lost write before a kept one leaves a hole of zeros;
//! - under `disk` faults a read may come back with one bit flipped (the checksum must catch
//!   it; recovery reads again).
//!
//! Synced bytes are never changed by a crash: only what was not acknowledged may be lost.
//! Truncation and compaction are durable at once, as `Storage` promises (a real driver
//! fsyncs and renames before it returns).

use std::collections::VecDeque;
use std::io;

use node::storage::Storage;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::world::faults::DiskFaults;

/// A torn write keeps whole sectors of this size, then garbage to the end of its sector.
pub const SECTOR_BYTES: u64 = 512;

/// What a crash did to the writes that were not synced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashDamage {
    pub lost: u64,
    pub kept: u64,
    pub torn: u64,
    /// Bytes of those writes, kept or not.
    pub pending_bytes: u64,
}

impl CrashDamage {
    /// `3 unsynced writes (412 bytes): 2 lost, 1 torn`, or `nothing unsynced`.
    pub fn describe(&self) -> String {
        let writes = self.lost + self.kept + self.torn;
        if writes == 0 {
            return "nothing unsynced".to_string();
        }
        let mut parts = Vec::new();
        for (count, what) in [(self.lost, "lost"), (self.kept, "kept whole"), (self.torn, "torn")] {
            if count > 0 {
                parts.push(format!("{count} {what}"));
            }
        }
        let plural = if writes == 1 { "" } else { "s" };
        format!(
            "{writes} unsynced write{plural} ({} bytes): {}",
            self.pending_bytes,
            parts.join(", ")
        )
    }
}

/// Counts over a run, for the run report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub syncs: u64,
    pub crashes: u64,
    pub lost_writes: u64,
    pub kept_writes: u64,
    pub torn_writes: u64,
    pub corrupted_reads: u64,
}

impl DiskStats {
    /// Adds another disk's counts (a cluster's report counts its nodes together).
    pub fn add(&mut self, other: &DiskStats) {
        self.syncs += other.syncs;
        self.crashes += other.crashes;
        self.lost_writes += other.lost_writes;
        self.kept_writes += other.kept_writes;
        self.torn_writes += other.torn_writes;
        self.corrupted_reads += other.corrupted_reads;
    }
}

#[derive(Clone, Debug)]
struct PendingWrite {
    seq: u64,
    offset: u64,
    bytes: Vec<u8>,
}

pub struct Disk {
    durable: Vec<u8>,
    pending: VecDeque<PendingWrite>,
    next_seq: u64,
    faults: Option<DiskFaults>,
    /// Crash fates and read corruption: the disk's own stream.
    rng: ChaCha8Rng,
    pub stats: DiskStats,
}

impl Disk {
    pub fn new(faults: Option<DiskFaults>, rng: ChaCha8Rng) -> Disk {
        Disk {
            durable: Vec::new(),
            pending: VecDeque::new(),
            next_seq: 1,
            faults,
            rng,
            stats: DiskStats::default(),
        }
    }

    /// The log's length with every pending write in place.
    fn logical_len(&self) -> u64 {
        self.pending.back().map_or(self.durable.len() as u64, |w| w.offset + w.bytes.len() as u64)
    }

    /// [`Storage::append`] of a record the caller no longer needs: no copy.
    pub fn append_owned(&mut self, bytes: Vec<u8>) {
        let offset = self.logical_len();
        self.pending.push_back(PendingWrite { seq: self.next_seq, offset, bytes });
        self.next_seq += 1;
    }

    /// Whether some write is not durable yet (a crash now would decide its fate).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A sync starting now covers every write so far: the mark to complete it with.
    pub fn sync_point(&self) -> u64 {
        self.next_seq - 1
    }

    /// A sync that started at `point` completed: the writes it covers are durable.
    pub fn complete_sync(&mut self, point: u64) {
        self.stats.syncs += 1;
        while self.pending.front().is_some_and(|w| w.seq <= point) {
            let write = self.pending.pop_front().expect("checked above");
            place(&mut self.durable, write.offset, &write.bytes);
        }
    }

    /// The process crashed: decides each pending write's fate, and says what happened.
    pub fn crash(&mut self) -> CrashDamage {
        self.stats.crashes += 1;
        let mut damage = CrashDamage::default();
        for write in std::mem::take(&mut self.pending) {
            damage.pending_bytes += write.bytes.len() as u64;
            let Some(faults) = self.faults else {
                damage.lost += 1;
                continue;
            };
            if faults.kept.sample(&mut self.rng) {
                place(&mut self.durable, write.offset, &write.bytes);
                damage.kept += 1;
            } else if faults.torn.sample(&mut self.rng) {
                let torn = tear(&mut self.rng, write.offset, &write.bytes);
                place(&mut self.durable, write.offset, &torn);
                damage.torn += 1;
            } else {
                damage.lost += 1;
            }
        }
        self.stats.lost_writes += damage.lost;
        self.stats.kept_writes += damage.kept;
        self.stats.torn_writes += damage.torn;
        damage
    }
}

/// Writes `bytes` at `offset`, zero-filling any gap before it (a hole a lost write left).
fn place(durable: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let offset = offset as usize;
    if durable.len() < offset + bytes.len() {
        durable.resize(offset + bytes.len(), 0);
    }
    durable[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// A prefix of `bytes` (a write at `offset`), cut at a random byte, then garbage to the
/// end of the sector the cut falls in (or the end of the write).
fn tear(rng: &mut ChaCha8Rng, offset: u64, bytes: &[u8]) -> Vec<u8> {
    let cut = rng.gen_range(0..bytes.len().max(1));
    let sector_end = ((offset + cut as u64) / SECTOR_BYTES + 1) * SECTOR_BYTES;
    let garbage_end = ((sector_end - offset) as usize).min(bytes.len());
    let mut torn = bytes[..cut].to_vec();
    let noise = rng.gen_ratio(1, 2);
    torn.extend((cut..garbage_end).map(|_| if noise { rng.gen() } else { 0 }));
    torn
}

impl Storage for Disk {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.logical_len())
    }

    fn read(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        // Recovery reads after a crash, when nothing is pending: no copy of the whole log.
        let mut view = std::borrow::Cow::Borrowed(&self.durable);
        if !self.pending.is_empty() {
            let view = view.to_mut();
            for write in &self.pending {
                place(view, write.offset, &write.bytes);
            }
        }
        let start = (offset as usize).min(view.len());
        let end = start.saturating_add(len as usize).min(view.len());
        let mut bytes = view[start..end].to_vec();
        if let Some(faults) = self.faults {
            if !bytes.is_empty() && faults.corrupt_read.sample(&mut self.rng) {
                let at = self.rng.gen_range(0..bytes.len());
                bytes[at] ^= 1 << self.rng.gen_range(0..8);
                self.stats.corrupted_reads += 1;
            }
        }
        Ok(bytes)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.append_owned(bytes.to_vec());
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.complete_sync(self.sync_point());
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.sync()?;
        self.durable.truncate(len as usize);
        Ok(())
    }

    fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.sync()?;
        place(&mut self.durable, offset, bytes);
        Ok(())
    }

    fn compact(&mut self, head: &[u8], keep_from: u64) -> io::Result<()> {
        // The driver's compaction writes the new header and copies the log (unsynced
        // appends included) to a new file, fsyncs it and renames it over the old one:
        // everything before it is durable.
        self.sync()?;
        let keep_from = (keep_from as usize).min(self.durable.len());
        self.durable.splice(..keep_from, head.iter().copied());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::faults::Ratio;
    use crate::world::streams::stream;

    fn faults(kept: u32, torn: u32) -> DiskFaults {
        DiskFaults {
            kept: Ratio::new(kept, 100),
            torn: Ratio::new(torn, 100),
            corrupt_read: Ratio::new(0, 1),
            slow_sync: Ratio::new(0, 1),
            slow_sync_us_max: 0,
        }
    }

    #[test]
    fn a_crash_keeps_synced_bytes_and_loses_what_was_not_synced() {
        let mut disk = Disk::new(None, stream(1, "disk"));
        disk.append(b"synced").unwrap();
        let point = disk.sync_point();
        disk.append(b" pending").unwrap();
        disk.complete_sync(point);
        let damage = disk.crash();
        assert_eq!((damage.lost, damage.pending_bytes), (1, 8));
        assert_eq!(disk.read(0, 100).unwrap(), b"synced");
        assert_eq!(damage.describe(), "1 unsynced write (8 bytes): 1 lost");
    }

    #[test]
    fn under_disk_faults_unsynced_writes_are_lost_kept_or_torn_but_synced_ones_never_change() {
        let mut seen = CrashDamage::default();
        for seed in 0..200 {
            let mut disk = Disk::new(Some(faults(30, 50)), stream(seed, "disk"));
            let synced: Vec<u8> = (0..700u32).map(|i| (i % 251) as u8 + 1).collect();
            disk.append(&synced).unwrap();
            disk.sync().unwrap();
            for _ in 0..3 {
                disk.append(&[0xAB; 600]).unwrap();
            }
            let damage = disk.crash();
            let after = disk.read(0, u64::MAX).unwrap();
            assert_eq!(&after[..synced.len()], &synced[..], "seed {seed}: synced bytes changed");
            assert!(after.len() <= synced.len() + 1800, "seed {seed}");
            seen.lost += damage.lost;
            seen.kept += damage.kept;
            seen.torn += damage.torn;
        }
        assert!(seen.lost > 0 && seen.kept > 0 && seen.torn > 0, "{seen:?}");
    }

    #[test]
    fn a_torn_write_keeps_a_prefix_and_garbles_at_most_to_its_sector_end() {
        let bytes = [7u8; 1500];
        for seed in 0..100 {
            let torn = tear(&mut stream(seed, "tear"), 100, &bytes);
            let cut = torn.iter().position(|&b| b != 7).unwrap_or(torn.len());
            assert!(torn.len() <= bytes.len());
            // Garbage never runs past the sector the cut is in.
            assert!(
                (100 + torn.len() as u64) <= ((100 + cut as u64) / SECTOR_BYTES + 1) * SECTOR_BYTES
            );
        }
    }

    #[test]
    fn compaction_and_truncation_are_durable_at_once() {
        let mut disk = Disk::new(None, stream(2, "disk"));
        disk.append(b"0123456789").unwrap();
        disk.compact(b"H", 4).unwrap();
        disk.crash();
        assert_eq!(disk.read(0, 100).unwrap(), b"H456789");
        disk.truncate(3).unwrap();
        disk.append(b"x").unwrap();
        disk.crash();
        assert_eq!(disk.read(0, 100).unwrap(), b"H45");
    }
}
