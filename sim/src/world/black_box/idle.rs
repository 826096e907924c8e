//! When a store's process has finished a step: every thread of every process in its tree
//! is asleep waiting for something (not for the disk), the same way in two scans in a row.
//!
//! The rule, as measured before it was built (see `docs/any-store.md`): after the node's
//! stdin pipe is empty, two scans of `/proc/PID/task/TID/{syscall,schedstat}` over the
//! node's process tree must agree (same threads, each blocked in a waiting syscall, with
//! the same syscall line and the same run count) and no thread may be in a timed wait due
//! within [`SHORT_WAIT_NS`] (Go's scheduler parks for a few microseconds in the middle of
//! a step). One scan was not enough: a thread woken by another but not yet run reads as
//! blocked for a moment. A thread in uninterruptible sleep (state `D`, in `stat`) waits
//! for the disk, not for input, even in a `read`: `occ-node --data-dir` reading its log
//! under load looked idle in the middle of a step until this was checked. Linux on x86-64
//! only: syscall numbers are the architecture's.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;

/// A timed wait due sooner than this is part of the step, not the end of it.
pub const SHORT_WAIT_NS: u64 = 200_000;

/// One thread, as a scan saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadState {
    pub pid: u32,
    pub tid: u32,
    /// `/proc/PID/task/TID/syscall` as read: `running`, or the syscall and its arguments.
    pub syscall: String,
    /// Times the thread was scheduled (`schedstat`'s third field).
    pub runs: u64,
    /// Its scheduler state (`stat`'s third field): `S` asleep, `D` in uninterruptible
    /// (disk) sleep, `R` running, ...
    pub state: char,
    /// Whether it is blocked in a wait that ends only when something happens.
    pub waiting: bool,
    /// Whether that wait has a timeout: a timer that may wake it with no input.
    pub timed: bool,
}

impl ThreadState {
    /// `pid 12 thread 13: in futex (waiting)` for a report of a node that stayed busy.
    pub fn describe(&self) -> String {
        let what = match self.syscall.split_whitespace().next().map(str::parse::<i64>) {
            Some(Ok(nr)) => {
                syscall_name(nr).map_or(format!("in syscall {nr}"), |n| format!("in {n}"))
            }
            _ => self.syscall.clone(),
        };
        let verdict = if self.waiting { "waiting" } else { "busy" };
        format!("pid {} thread {}: {what}, state {} ({verdict})", self.pid, self.tid, self.state)
    }
}

/// Every thread of `root` and its descendants, in a fixed order; `None` if `root` is gone.
pub fn scan(root: u32) -> Option<Vec<ThreadState>> {
    Watcher::default().scan(root)
}

/// Scans a process tree again and again, keeping each thread's `/proc` files open
/// between scans: opening them is most of what a scan costs, and a step takes two.
#[derive(Default)]
pub struct Watcher {
    open: BTreeMap<(u32, u32), TaskFiles>,
    buf: Vec<u8>,
}

struct TaskFiles {
    children: Option<File>,
    syscall: File,
    schedstat: File,
    stat: File,
}

impl Watcher {
    /// [`scan`], through the files this watcher holds open.
    pub fn scan(&mut self, root: u32) -> Option<Vec<ThreadState>> {
        let mut threads = Vec::new();
        let mut pids = vec![root];
        let mut seen = 0;
        let mut live = BTreeMap::new();
        while seen < pids.len() {
            let pid = pids[seen];
            seen += 1;
            let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
                if pid == root {
                    return None;
                }
                continue;
            };
            let mut tids: Vec<u32> =
                tasks.filter_map(|t| t.ok()?.file_name().to_str()?.parse().ok()).collect();
            tids.sort_unstable();
            for tid in tids {
                let files = match self.open.remove(&(pid, tid)) {
                    Some(files) => files,
                    None => match TaskFiles::open(pid, tid) {
                        Some(files) => files,
                        None => continue,
                    },
                };
                if let Some(children) = &files.children {
                    if let Some(text) = read(children, &mut self.buf) {
                        pids.extend(text.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
                    }
                }
                let syscall = read(&files.syscall, &mut self.buf)
                    .map_or_else(|| "gone".to_string(), |s| s.trim().to_string());
                let runs = read(&files.schedstat, &mut self.buf)
                    .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
                    .unwrap_or(u64::MAX);
                let state = read(&files.stat, &mut self.buf).map_or('?', state_of);
                // Asleep interruptibly (or exited, a zombie thread), in a waiting syscall.
                let waiting = matches!(state, 'S' | 'Z') && is_waiting(pid, &syscall);
                let timed = waiting && has_timeout(&syscall);
                threads.push(ThreadState { pid, tid, syscall, runs, state, waiting, timed });
                live.insert((pid, tid), files);
            }
        }
        // Threads that ended since the last scan close their files here.
        self.open = live;
        Some(threads)
    }
}

impl TaskFiles {
    fn open(pid: u32, tid: u32) -> Option<TaskFiles> {
        let task = format!("/proc/{pid}/task/{tid}");
        Some(TaskFiles {
            children: File::open(format!("{task}/children")).ok(),
            syscall: File::open(format!("{task}/syscall")).ok()?,
            schedstat: File::open(format!("{task}/schedstat")).ok()?,
            stat: File::open(format!("{task}/stat")).ok()?,
        })
    }
}

/// The state in a `stat` line: the first field after the command name, which is in
/// parentheses and may hold anything.
pub(crate) fn state_of(stat: &str) -> char {
    stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()).unwrap_or('?')
}

/// A `/proc` file's text, read again from its start.
fn read<'a>(file: &File, buf: &'a mut Vec<u8>) -> Option<&'a str> {
    buf.resize(4096, 0);
    let n = file.read_at(buf, 0).ok()?;
    std::str::from_utf8(&buf[..n]).ok()
}

/// Whether two scans agree that the tree is idle.
pub fn idle(first: &[ThreadState], second: &[ThreadState]) -> bool {
    first == second && second.iter().all(|t| t.waiting)
}

/// Whether a thread whose `syscall` file reads `line` is blocked in a wait that ends only
/// on input, a signal, another thread or a timer not due within [`SHORT_WAIT_NS`].
fn is_waiting(pid: u32, line: &str) -> bool {
    let mut fields = line.split_whitespace();
    let Some(Ok(nr)) = fields.next().map(str::parse::<i64>) else { return false };
    let args: Vec<u64> = fields
        .take(6)
        .filter_map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .collect();
    if args.len() < 6 {
        return false;
    }
    let arg = |i: usize| args[i];
    let relative_ptr = |ptr: u64, micro: bool| match ptr {
        0 => true,
        ptr => read_timespec(pid, ptr, micro).is_none_or(|ns| ns >= SHORT_WAIT_NS),
    };
    let millis = |ms: u64| (ms as i32) < 0 || ms as i32 >= 1;
    match nr {
        // read, pread64, readv, preadv, preadv2, recvfrom, recvmsg, recvmmsg, accept,
        // accept4, wait4, waitid, pause, rt_sigsuspend, msgrcv, flock, io_uring_enter:
        // blocked until something happens.
        0 | 17 | 19 | 295 | 327 | 45 | 47 | 43 | 288 | 61 | 247 | 34 | 130 | 70 | 73 | 426 => true,
        299 => relative_ptr(arg(4), false),
        // poll(fds, n, ms), epoll_wait/epoll_pwait(fd, events, n, ms)
        7 => millis(arg(2)),
        232 | 281 => millis(arg(3)),
        // select(n, r, w, e, timeval*), pselect6(n, r, w, e, timespec*), ppoll(fds, n,
        // timespec*), epoll_pwait2(fd, events, n, timespec*), rt_sigtimedwait(set, info,
        // timespec*), nanosleep(timespec*)
        23 => relative_ptr(arg(4), true),
        270 => relative_ptr(arg(4), false),
        271 | 128 => relative_ptr(arg(2), false),
        441 => relative_ptr(arg(3), false),
        35 => relative_ptr(arg(0), false),
        // clock_nanosleep(clock, flags, timespec*): TIMER_ABSTIME is flag 1.
        230 => match arg(1) & 1 {
            0 => relative_ptr(arg(2), false),
            _ => absolute_ptr(pid, arg(0) as i32, arg(2)),
        },
        // futex(uaddr, op, val, timeout*): FUTEX_WAIT's timeout is relative,
        // FUTEX_WAIT_BITSET's absolute (on CLOCK_REALTIME with flag 256); other
        // operations are not waits.
        202 => {
            let clock = if arg(1) & 256 != 0 { 0 } else { 1 };
            match arg(1) & 0x7f {
                0 => relative_ptr(arg(3), false),
                9 => arg(3) == 0 || absolute_ptr(pid, clock, arg(3)),
                _ => false,
            }
        }
        // futex_waitv(waiters, n, flags, timespec*, clock): absolute.
        449 => arg(3) == 0 || absolute_ptr(pid, arg(4) as i32, arg(3)),
        _ => false,
    }
}

/// Whether a waiting syscall's line names a timeout (whatever its length): a wait a
/// timer ends, not only input.
fn has_timeout(line: &str) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let arg = |i: usize| {
        fields.get(i + 1).and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
    };
    let set = |i: usize| arg(i).is_some_and(|a| a != 0);
    let millis = |i: usize| arg(i).is_some_and(|ms| (ms as i32) > 0);
    match fields.first().and_then(|nr| nr.parse::<i64>().ok()) {
        Some(7) => millis(2),
        Some(232 | 281) => millis(3),
        Some(23 | 270) => set(4),
        Some(271 | 128) => set(2),
        Some(441 | 449) => set(3),
        Some(35 | 230) => true,
        Some(202) => matches!(arg(1).map(|op| op & 0x7f), Some(0 | 9)) && set(3),
        _ => false,
    }
}

/// Whether an absolute timeout at `ptr` on `clock` (0 realtime, 1 monotonic) is at least
/// [`SHORT_WAIT_NS`] away.
fn absolute_ptr(pid: u32, clock: i32, ptr: u64) -> bool {
    let Some(due_ns) = read_timespec(pid, ptr, false) else { return true };
    let id = match clock {
        0 => rustix::time::ClockId::Realtime,
        _ => rustix::time::ClockId::Monotonic,
    };
    let now = rustix::time::clock_gettime(id);
    let now_ns = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64;
    due_ns.saturating_sub(now_ns) >= SHORT_WAIT_NS
}

/// The timespec (or, with `micro`, timeval) at `ptr` in process `pid`, in ns; `None` if
/// it cannot be read (the wait then counts as long).
fn read_timespec(pid: u32, ptr: u64, micro: bool) -> Option<u64> {
    let mut bytes = [0u8; 16];
    File::open(format!("/proc/{pid}/mem")).ok()?.read_exact_at(&mut bytes, ptr).ok()?;
    let secs = i64::from_ne_bytes(bytes[..8].try_into().ok()?);
    let frac = i64::from_ne_bytes(bytes[8..].try_into().ok()?);
    let frac_ns = if micro { frac.saturating_mul(1_000) } else { frac };
    Some((secs.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(frac_ns.max(0) as u64))
}

/// A few syscall names, for reports of a node that stayed busy.
fn syscall_name(nr: i64) -> Option<&'static str> {
    Some(match nr {
        0 => "read",
        1 => "write",
        7 => "poll",
        23 => "select",
        35 => "nanosleep",
        61 => "wait4",
        202 => "futex",
        230 => "clock_nanosleep",
        232 => "epoll_wait",
        270 => "pselect6",
        271 => "ppoll",
        281 => "epoll_pwait",
        441 => "epoll_pwait2",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_reads_and_untimed_futexes_wait_while_running_and_busy_polls_do_not() {
        let line = |nr: u64, args: [u64; 6]| {
            let args: Vec<String> = args.iter().map(|a| format!("0x{a:x}")).collect();
            format!("{nr} {} 0x7ffd 0x7f00", args.join(" "))
        };
        assert!(is_waiting(1, &line(0, [0, 0x1000, 4096, 0, 0, 0])));
        assert!(is_waiting(1, &line(202, [0x1000, 128, 0, 0, 0, 0])));
        assert!(is_waiting(1, &line(232, [3, 0x1000, 8, u64::from(u32::MAX), 0, 0])));
        assert!(is_waiting(1, &line(7, [0x1000, 1, 5, 0, 0, 0])));
        assert!(!is_waiting(1, &line(7, [0x1000, 1, 0, 0, 0, 0])), "poll with timeout 0");
        assert!(!is_waiting(1, &line(1, [1, 0x1000, 10, 0, 0, 0])), "a write is work");
        assert!(!is_waiting(1, "running"));
        assert!(!is_waiting(1, &line(202, [0x1000, 1, 1, 0, 0, 0])), "FUTEX_WAKE");
    }

    #[test]
    fn a_sleeping_child_scans_idle_and_a_spinning_one_busy() {
        use std::process::Command;
        let mut sleeper = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let mut spinner =
            Command::new("sh").args(["-c", "while :; do :; done"]).spawn().expect("sh runs");
        let settled = |pid: u32| {
            (0..500).find_map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(1));
                let (a, b) = (scan(pid)?, scan(pid)?);
                idle(&a, &b).then_some(())
            })
        };
        assert!(settled(sleeper.id()).is_some(), "{:?}", scan(sleeper.id()));
        assert!(settled(spinner.id()).is_none(), "{:?}", scan(spinner.id()));
        for child in [&mut sleeper, &mut spinner] {
            child.kill().expect("kill");
            child.wait().expect("reaped");
        }
        assert!(scan(sleeper.id()).is_none(), "a reaped child is gone");
    }
}
