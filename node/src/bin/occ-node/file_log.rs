//! The log as a real file: `DIR/wal`, appended and fsynced, compacted by an atomic rename,
//! and `DIR/lock`, held while the process runs so that two nodes never share a log.
//!
//! Appends are buffered in memory and written with the next sync (one `write` and one
//! `fdatasync` per batch of input: group commit). `compact` writes the new header and the
//! part of the log it keeps to `DIR/wal.tmp`, fsyncs it, renames it over `DIR/wal` and
//! fsyncs the directory: after a crash the log is either the old one or the new one,
//! whole. The log is created the same way, header first: `DIR/wal` does not exist until
//! the node's first `init` names it, and then never exists without its header.
//!
//! `set_aside` is `--repair`'s: it renames a damaged `DIR/wal` to `DIR/wal.damaged-N`
//! (the first N free) and writes a new log of the valid prefix before the damage.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use node::storage::Storage;

pub struct FileLog {
    dir: PathBuf,
    /// `None` until the log is created.
    file: Option<File>,
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
    /// Opens the log in `dir` (creating the directory if need be; the log itself is
    /// created by the first `compact`), or says why it cannot.
    pub fn open(dir: &Path) -> io::Result<FileLog> {
        if dir.exists() && !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{}: not a directory (--data-dir names a directory)", dir.display()),
            ));
        }
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
        let (file, written) = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => {
                let meta = file.metadata().map_err(|e| at(&path, e))?;
                if !meta.is_file() {
                    return Err(io::Error::other(format!(
                        "{}: not a regular file, so not a log",
                        path.display()
                    )));
                }
                (Some(file), meta.len())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (None, 0),
            Err(e) => return Err(at(&path, e)),
        };
        Ok(FileLog { dir: dir.to_path_buf(), file, written, pending: Vec::new(), _lock: lock })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("wal")
    }

    fn file(&mut self) -> io::Result<&mut File> {
        let path = self.path();
        self.file.as_mut().ok_or_else(|| {
            io::Error::other(format!("{}: written before the log was created", path.display()))
        })
    }

    /// `--repair`: moves the damaged log aside to `DIR/wal.damaged-N` and puts a log of
    /// its first `keep` bytes (its valid prefix; none if 0) in its place. Returns where
    /// the damaged file went.
    pub fn set_aside(&mut self, keep: u64) -> io::Result<PathBuf> {
        let path = self.path();
        let aside = (1..)
            .map(|n| self.dir.join(format!("wal.damaged-{n}")))
            .find(|p| !p.exists())
            .expect("some name is free");
        let mut kept = vec![0; usize::try_from(keep).unwrap_or(0)];
        if keep > 0 {
            self.file()?.read_exact_at(&mut kept, 0).map_err(|e| at(&path, e))?;
        }
        fs::rename(&path, &aside).map_err(|e| at(&aside, e))?;
        sync_dir(&self.dir)?;
        self.file = None;
        self.written = 0;
        self.pending.clear();
        if keep > 0 {
            self.replace(&kept)?;
        }
        Ok(aside)
    }

    /// Makes `bytes` the whole log, atomically and durably: `DIR/wal.tmp`, fsync, rename,
    /// fsync of the directory.
    fn replace(&mut self, bytes: &[u8]) -> io::Result<()> {
        let path = self.path();
        let tmp = self.dir.join("wal.tmp");
        let mut new = File::create(&tmp).map_err(|e| at(&tmp, e))?;
        new.write_all(bytes).map_err(|e| at(&tmp, e))?;
        new.sync_all().map_err(|e| at(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| at(&path, e))?;
        sync_dir(&self.dir)?;
        self.file =
            Some(OpenOptions::new().read(true).write(true).open(&path).map_err(|e| at(&path, e))?);
        self.written = bytes.len() as u64;
        Ok(())
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let path = self.path();
        let written = self.written;
        let pending = std::mem::take(&mut self.pending);
        let file = self.file()?;
        file.seek(SeekFrom::Start(written)).map_err(|e| at(&path, e))?;
        file.write_all(&pending).map_err(|e| at(&path, e))?;
        self.pending = pending;
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
        if bytes.is_empty() {
            return Ok(bytes);
        }
        let path = self.path();
        self.file()?.read_exact_at(&mut bytes, offset).map_err(|e| at(&path, e))?;
        Ok(bytes)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        match &self.file {
            Some(file) => file.sync_data().map_err(|e| at(&path, e)),
            None => Ok(()),
        }
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        let file = self.file()?;
        file.set_len(len).map_err(|e| at(&path, e))?;
        file.sync_all().map_err(|e| at(&path, e))?;
        self.written = len;
        Ok(())
    }

    fn rewrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        let file = self.file()?;
        file.write_all_at(bytes, offset).map_err(|e| at(&path, e))?;
        file.sync_data().map_err(|e| at(&path, e))
    }

    fn compact(&mut self, head: &[u8], keep_from: u64) -> io::Result<()> {
        self.write_pending()?;
        let path = self.path();
        let mut new = head.to_vec();
        if let Some(file) = &mut self.file {
            file.seek(SeekFrom::Start(keep_from)).map_err(|e| at(&path, e))?;
            file.read_to_end(&mut new).map_err(|e| at(&path, e))?;
        }
        self.replace(&new)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| at(dir, e))
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
        assert!(!dir.join("wal").exists(), "no log before it is created with its header");
        log.compact(b"", 0).unwrap();
        log.append(b"hello ").unwrap();
        log.append(b"world").unwrap();
        assert_eq!(log.size().unwrap(), 11, "pending appends count");
        log.sync().unwrap();
        assert_eq!(fs::read(dir.join("wal")).unwrap(), b"hello world");
        log.compact(b"H", 6).unwrap();
        assert_eq!(fs::read(dir.join("wal")).unwrap(), b"Hworld");
        log.append(b"!").unwrap();
        assert_eq!(log.read(0, 100).unwrap(), b"Hworld!");
        log.truncate(4).unwrap();
        assert_eq!(fs::read(dir.join("wal")).unwrap(), b"Hwor");
        drop(log);
        let mut again = FileLog::open(&dir).expect("reopens");
        assert_eq!(again.read(0, 100).unwrap(), b"Hwor");
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
