//! One running incarnation of a store's process: started in a process group of its own,
//! with a clean environment, and driven one line at a time.
//!
//! The harness's only contact with wall-clock time is here, and it never reaches a run:
//! a step deadline turns a node that never settles into an error, and the waits between
//! scans are the harness waiting for the node, not time the node sees.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::fs::{fcntl_setfl, OFlags};
use rustix::process::{kill_process_group, set_child_subreaper, waitpid, Pid, Signal, WaitOptions};

use crate::world::black_box::idle::{self, ThreadState, Watcher};

/// The most output one step may produce before the node counts as flooding.
const STEP_OUTPUT_BYTES_MAX: usize = 64 << 20;

/// Why a step did not finish.
pub enum Trouble {
    /// The process ended.
    Exited(ExitStatus),
    /// Still busy at the deadline: what each thread was doing.
    Busy(Vec<ThreadState>),
    /// Waiting for input with half a line written: its stdout is buffered.
    HalfLine(String),
    /// Reading or writing its pipes failed, or it wrote too much.
    Io(String),
    /// It wrote between two steps, with nothing to answer: what it wrote, and its
    /// threads as the last step left them (a timer among them, most likely).
    Unprompted(String, Vec<ThreadState>),
}

pub struct Running {
    child: Child,
    /// `None` once closed (see [`Running::close`]).
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    /// Output of this step not yet split into lines.
    pending: Vec<u8>,
    /// The node's threads' `/proc` files, kept open from scan to scan.
    watcher: Watcher,
    /// Its threads when it last settled.
    settled: Vec<ThreadState>,
}

/// The environment a node gets, and nothing else: the harness's `PATH` (to find the
/// command), its working directory as `HOME`, and fixed settings.
fn environment(home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())),
        ("HOME", home.display().to_string()),
        ("LANG", "C.UTF-8".into()),
        ("TZ", "UTC".into()),
        ("PYTHONHASHSEED", "0".into()),
    ]
}

impl Running {
    /// Starts `command` through `sh -c` in `dir`, its stderr appended to `stderr`.
    ///
    /// The harness becomes a child subreaper on the first spawn: what a node's process
    /// leaves behind when it dies is reparented to the harness, which reaps it, rather
    /// than to an init that may never do so.
    pub fn spawn(command: &str, dir: &Path, stderr: &Path) -> io::Result<Running> {
        static SUBREAPER: std::sync::Once = std::sync::Once::new();
        SUBREAPER.call_once(|| {
            let _ = set_child_subreaper(Pid::from_raw(1));
        });
        let stderr = File::options().create(true).append(true).open(stderr)?;
        let mut child = Command::new("sh")
            .args(["-c", command])
            .current_dir(dir)
            .env_clear()
            .envs(environment(dir))
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            unreachable!("both pipes were asked for")
        };
        fcntl_setfl(&stdin, OFlags::NONBLOCK)?;
        fcntl_setfl(&stdout, OFlags::NONBLOCK)?;
        Ok(Running {
            child,
            stdin: Some(stdin),
            stdout,
            pending: Vec::new(),
            watcher: Watcher::default(),
            settled: Vec::new(),
        })
    }

    /// Writes `line` and waits until the node has consumed it and settled; the lines it
    /// wrote meanwhile.
    pub fn step(&mut self, line: &str, timeout: Duration) -> Result<Vec<String>, Trouble> {
        // The deadline only turns a node that never settles into an error; it never
        // decides anything in a run that completes.
        #[allow(clippy::disallowed_methods)]
        let deadline = Instant::now() + timeout;
        // Whatever it wrote since it last settled answers nothing the harness sent: its
        // output hangs on time (a wall-clock timer), not only on its input.
        self.drain()?;
        if !self.pending.is_empty() {
            let text = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
            return Err(Trouble::Unprompted(text, std::mem::take(&mut self.settled)));
        }
        self.write_all(format!("{line}\n").as_bytes(), deadline)?;
        self.settle(deadline)?;
        self.lines()
    }

    fn write_all(&mut self, mut bytes: &[u8], deadline: Instant) -> Result<(), Trouble> {
        let mut waits = 0;
        while !bytes.is_empty() {
            let Some(stdin) = self.stdin.as_mut() else { return Err(self.exited()) };
            match stdin.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Its stdin is full: it is busy, or not reading. Keep its stdout
                    // flowing meanwhile.
                    self.drain()?;
                    self.check_alive(deadline)?;
                    pause(&mut waits);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Err(self.exited()),
                Err(e) => return Err(Trouble::Io(format!("writing its stdin: {e}"))),
            }
        }
        Ok(())
    }

    /// Waits until its stdin is consumed and two scans agree that every thread waits.
    fn settle(&mut self, deadline: Instant) -> Result<(), Trouble> {
        let mut waits = 0;
        loop {
            self.drain()?;
            self.check_alive(deadline)?;
            let unread = self
                .stdin
                .as_ref()
                .map_or(0, |stdin| rustix::io::ioctl_fionread(stdin).unwrap_or(0));
            if unread == 0 {
                let pid = self.child.id();
                let first = self.watcher.scan(pid).ok_or_else(|| self.exited())?;
                if first.iter().all(|t| t.waiting) {
                    let second = self.watcher.scan(pid).ok_or_else(|| self.exited())?;
                    if idle::idle(&first, &second) {
                        self.settled = second;
                        return self.drain();
                    }
                }
            }
            pause(&mut waits);
        }
    }

    /// `Err` if the process ended, or the step's deadline passed.
    fn check_alive(&mut self, deadline: Instant) -> Result<(), Trouble> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(Trouble::Exited(status));
        }
        #[allow(clippy::disallowed_methods)]
        let late = Instant::now() > deadline;
        if late {
            return Err(Trouble::Busy(idle::scan(self.child.id()).unwrap_or_default()));
        }
        Ok(())
    }

    fn exited(&mut self) -> Trouble {
        match self.child.wait() {
            Ok(status) => Trouble::Exited(status),
            Err(e) => Trouble::Io(format!("waiting for it: {e}")),
        }
    }

    /// Reads what its stdout holds, without waiting.
    fn drain(&mut self) -> Result<(), Trouble> {
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.stdout.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    if self.pending.len() > STEP_OUTPUT_BYTES_MAX {
                        return Err(Trouble::Io(format!(
                            "it wrote more than {} MiB in one step",
                            STEP_OUTPUT_BYTES_MAX >> 20
                        )));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Trouble::Io(format!("reading its stdout: {e}"))),
            }
        }
    }

    /// The complete lines of this step's output; a half line left at the end is an
    /// output buffer that was never flushed.
    fn lines(&mut self) -> Result<Vec<String>, Trouble> {
        let pending = std::mem::take(&mut self.pending);
        let text = String::from_utf8(pending)
            .map_err(|e| Trouble::Io(format!("it wrote bytes that are not UTF-8: {e}")))?;
        let Some(complete) = text.strip_suffix('\n').or(text.is_empty().then_some("")) else {
            return Err(Trouble::HalfLine(text));
        };
        Ok(complete.split('\n').filter(|l| !l.trim().is_empty()).map(str::to_owned).collect())
    }

    /// Closes the node's stdin, as the end of a run does, and gives it `timeout` to exit
    /// or settle: the complete lines it wrote only then (a node whose output is
    /// block-buffered flushes at exit).
    pub fn close(&mut self, timeout: Duration) -> Vec<String> {
        self.stdin = None;
        #[allow(clippy::disallowed_methods)] // Waiting for the node, never seen by the run.
        let deadline = Instant::now() + timeout;
        let mut waits = 0;
        while self.drain().is_ok() && self.check_alive(deadline).is_ok() {
            let pid = self.child.id();
            let (first, second) = (self.watcher.scan(pid), self.watcher.scan(pid));
            if first.zip(second).is_none_or(|(a, b)| idle::idle(&a, &b)) {
                break;
            }
            pause(&mut waits);
        }
        let _ = self.drain();
        let text = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
        text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
    }

    /// Kills the whole process group (never a lone `sh`, which would leave the node
    /// running with the pipes open) and reaps the child.
    /// Returns once every process of the tree has exited, so that what they held (a
    /// lock on the data directory, say) is free for the restart.
    pub fn kill(&mut self) {
        let mut tree: Vec<u32> =
            idle::scan(self.child.id()).unwrap_or_default().iter().map(|t| t.pid).collect();
        tree.dedup();
        if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
            let _ = kill_process_group(pid, Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The harness is the tree's subreaper (see [`Running::spawn`]): an orphan is its
        // child once its parent died, and is reaped here once every thread of it is done.
        for pid in tree.into_iter().filter(|&pid| pid != self.child.id()) {
            let mut waits = 0;
            while is_running(pid) && waits < 100_000 {
                pause(&mut waits);
            }
            if let Some(pid) = Pid::from_raw(pid as i32) {
                let _ = waitpid(Some(pid), WaitOptions::NOHANG);
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether some thread of process `pid` has not exited yet. A zombie leader is not
/// enough: it can be one while its other threads are still exiting, and the process's
/// files (a lock among them) are closed only when the last of them is done.
fn is_running(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.filter_map(Result::ok).any(|task| {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { return false };
        !matches!(idle::state_of(&stat), 'Z' | 'X' | '?')
    })
}

/// Waits a little before looking again: a yield first, then up to a millisecond.
fn pause(waits: &mut u32) {
    *waits += 1;
    if *waits < 20 {
        std::thread::yield_now();
    } else {
        let us = u64::from((*waits - 19).min(100)) * 10;
        std::thread::sleep(Duration::from_micros(us));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(script: &str) -> (Running, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("sim-running-{}-{script:.8}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = script.to_string();
        (Running::spawn(&script, &dir, &dir.join("stderr")).expect("sh starts"), dir)
    }

    #[test]
    fn a_step_gets_the_lines_written_for_it_and_a_busy_node_is_shown_busy() {
        let (mut echo, dir) = start("while read line; do echo \"got $line\"; done");
        let lines = echo.step("one", Duration::from_secs(10)).ok().expect("settles");
        assert_eq!(lines, ["got one"]);
        let lines = echo.step("two", Duration::from_secs(10)).ok().expect("settles");
        assert_eq!(lines, ["got two"]);
        let _ = std::fs::remove_dir_all(dir);
        let (mut spinner, dir) = start("read line; while :; do :; done");
        match spinner.step("go", Duration::from_millis(300)) {
            Err(Trouble::Busy(threads)) => {
                assert!(threads.iter().any(|t| !t.waiting), "{threads:?}");
                assert!(threads.iter().any(|t| t.describe().contains("(busy)")), "{threads:?}");
            }
            _ => panic!("a spinning node must time out busy"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn half_a_line_and_an_exit_are_told_apart() {
        let (mut half, dir) = start("read line; printf 'no newline'; read line");
        assert!(
            matches!(half.step("go", Duration::from_secs(10)), Err(Trouble::HalfLine(t)) if t == "no newline")
        );
        let _ = std::fs::remove_dir_all(dir);
        let (mut quits, dir) = start("read line; exit 7");
        match quits.step("go", Duration::from_secs(10)) {
            Err(Trouble::Exited(status)) => assert_eq!(status.code(), Some(7)),
            _ => panic!("an exit must be seen as one"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
