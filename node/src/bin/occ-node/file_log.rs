//! The log as a real file: `DIR/wal`, appended and fsynced, compacted by an atomic rename,
//! and `DIR/lock`, held while the process runs so that two nodes never share a log.
//!
//! Appends are buffered in memory and written with the next sync (one `write` and one
//! `fdatasync` per batch of input: group commit). `compact` copies the part of the log it
//! keeps to `DIR/wal.tmp`, fsyncs it, renames it over `DIR/wal` and fsyncs the directory:
//! after a crash the log is either the old one or the new one, whole.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use node::storage::Storage;

pub struct FileLog {
    dir: PathBuf,
    file: File,
    /// Bytes in the file (written, synced or not).
    written: u64,
    /// Appends not written to the file yet.
    pending: Vec<u8>,
    /// Held for the life of the process: the lock on `DIR/lock`.
    _lock: File,
}

/// `error` with the path it concerns in front: `DIR/wal: Permission denied`.
fn at(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

impl FileLog {
    /// Opens (creating if need be) the log in `dir`, or says why it cannot.
    pub fn open(dir: &Path) -> io::Result<FileLog> {
        fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| at(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "{}: another occ-node holds this data directory's lock",
                        lock_path.display()
                    ),
                ))
            }
            Err(TryLockError::Error(e)) => return Err(at(&lock_path, e)),
        }
        let path = dir.join("wal");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| at(&path, e))?;
        let written = file.metadata().map_err(|e| at(&path, e))?.len();
        Ok(FileLog { dir: dir.to_path_buf(), file, written, pending: Vec::new(), _lock: lock })
    }

    fn path(&self) -> PathBuf {
        self.dir.join("wal")
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let path = self.path();
        self.file.seek(SeekFrom::Start(self.written)).map_err(|e| at(&path, e))?;
        self.file.write_all(&self.pending).map_err(|e| at(&path, e))?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }
}

impl Storage for FileLog {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.written + self.pending.len() as u64)
    }

    fn read(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        self.write_pending()?;
        let end = offset.saturating_add(len).min(self.written);
        let mut bytes = vec![0; usize::try_from(end.saturating_sub(offset)).unwrap_or(0)];
        let path = self.path();
        self.file.read_exact_at(&mut bytes, offset).map_err(|e| at(&path, e))?;
        Ok(bytes)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        self.file.sync_data().map_err(|e| at(&path, e))
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        self.file.set_len(len).map_err(|e| at(&path, e))?;
        self.file.sync_all().map_err(|e| at(&path, e))?;
        self.written = len;
        Ok(())
    }

    fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        self.file.write_all_at(bytes, offset).map_err(|e| at(&path, e))?;
        self.file.sync_data().map_err(|e| at(&path, e))
    }

    fn compact(&mut self, keep_from: u64) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        let tmp = self.dir.join("wal.tmp");
        let mut kept = Vec::new();
        self.file.seek(SeekFrom::Start(keep_from)).map_err(|e| at(&path, e))?;
        (&self.file).read_to_end(&mut kept).map_err(|e| at(&path, e))?;
        let mut new = File::create(&tmp).map_err(|e| at(&tmp, e))?;
        new.write_all(&kept).map_err(|e| at(&tmp, e))?;
        new.sync_all().map_err(|e| at(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| at(&path, e))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| at(&self.dir, e))?;
        self.file =
            OpenOptions::new().read(true).write(true).open(&path).map_err(|e| at(&path, e))?;
        self.written = kept.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("occ-file-log-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn appends_sync_compact_and_truncate_as_the_trait_says() {
        let dir = temp_dir("ops");
        let mut log = FileLog::open(&dir).expect("opens");
        log.append(b"hello ").unwrap();
        log.append(b"world").unwrap();
        assert_eq!(log.size().unwrap(), 11, "pending appends count");
        log.sync().unwrap();
        assert_eq!(fs::read(dir.join("wal")).unwrap(), b"hello world");
        log.compact(6).unwrap();
        assert_eq!(fs::read(dir.join("wal")).unwrap(), b"world");
        log.append(b"!").unwrap();
        assert_eq!(log.read(0, 100).unwrap(), b"world!");
        log.truncate(3).unwrap();
        assert_eq!(fs::read(dir.join("wal")).unwrap(), b"wor");
        drop(log);
        let mut again = FileLog::open(&dir).expect("reopens");
        assert_eq!(again.read(0, 100).unwrap(), b"wor");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_second_node_on_the_same_directory_is_refused() {
        let dir = temp_dir("lock");
        let _first = FileLog::open(&dir).expect("opens");
        let second = FileLog::open(&dir).err().expect("the directory is locked");
        assert!(second.to_string().contains("another occ-node"), "{second}");
        let _ = fs::remove_dir_all(&dir);
    }
}
