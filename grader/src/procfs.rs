//! What `/proc` tells the grader about a running program (Linux only; tests
//! that use it declare `Need::Linux`): its open file descriptors, threads,
//! memory and CPU time. Each is what `ls /proc/PID/fd` or `cat
//! /proc/PID/status` would show a learner by hand.

use crate::ctx::Failure;
use std::time::{Duration, Instant};

/// Open file descriptors: the entries of `/proc/PID/fd`.
pub fn open_fds(pid: u32) -> Result<usize, Failure> {
    count_entries(pid, "fd")
}

/// Waits up to `timeout` until `pid` holds at most `at_most` open file
/// descriptors (a server closing the sockets of clients that left).
/// `Ok(count)` once it does; `Err(count)`, the last count, if time ran out.
pub fn wait_fds_at_most(pid: u32, at_most: usize, timeout: Duration) -> Result<Result<usize, usize>, Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        let now = open_fds(pid)?;
        if now <= at_most {
            return Ok(Ok(now));
        }
        if Instant::now() >= deadline {
            return Ok(Err(now));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Looks at the scheduler state of every thread of `pid` every 10 ms for
/// `window` (`/proc/PID/task/TID/stat`): how many looks found a thread
/// running or ready to run (state `R`), and how many looks there were.
///
/// A thread that keeps running is `R` at nearly every look however loaded
/// the machine is (waiting for a CPU is `R` too), while its CPU time
/// depends on how much of a core the machine gives it; a thread blocked in
/// `read`, `accept` or `poll` is `S`. So this tells a spinning program from
/// a sleeping one even beside other tests.
pub fn runnable_looks(pid: u32, window: Duration) -> Result<(usize, usize), Failure> {
    let started = Instant::now();
    let (mut busy, mut looks) = (0, 0);
    while started.elapsed() < window {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| Failure::io(&format!("listing /proc/{pid}/task"), &e))?;
        let running = tasks.flatten().any(|task| {
            std::fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|stat| stat.rsplit_once(')').and_then(|(_, after)| after.trim_start().chars().next()))
                == Some('R')
        });
        looks += 1;
        busy += running as usize;
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((busy, looks))
}

/// Threads: the entries of `/proc/PID/task`.
pub fn threads(pid: u32) -> Result<usize, Failure> {
    count_entries(pid, "task")
}

fn count_entries(pid: u32, dir: &str) -> Result<usize, Failure> {
    std::fs::read_dir(format!("/proc/{pid}/{dir}"))
        .map(|d| d.count())
        .map_err(|e| Failure::io(&format!("listing /proc/{pid}/{dir}"), &e))
}

/// A `kB` field of `/proc/PID/status`, such as `VmRSS` (resident memory),
/// `VmHWM` (its peak) or `VmPeak` (peak virtual memory), in KiB.
pub fn status_kib(pid: u32, field: &str) -> Result<u64, Failure> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| Failure::io(&format!("reading /proc/{pid}/status"), &e))?;
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .ok_or_else(|| Failure::new(format!("/proc/{pid}/status has no {field} line")))
}

/// Clock ticks per second in `/proc/PID/stat` (USER_HZ), 100 on Linux.
pub const TICKS_PER_SECOND: u64 = 100;

/// CPU time so far (user + system, in clock ticks) and the scheduler state
/// letter (`R` running or runnable, `S` sleeping, ...), from `/proc/PID/stat`.
pub fn cpu_and_state(pid: u32) -> Result<(u64, char), Failure> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| Failure::io(&format!("reading /proc/{pid}/stat"), &e))?;
    // The command name is in parentheses and may contain spaces: split after it.
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3 of proc(5)'s stat, utime 14 and stime 15.
    let state = fields.first().and_then(|s| s.chars().next()).unwrap_or('?');
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok((ticks(11) + ticks(12), state))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The grader reads its own numbers the way it reads a learner's.
    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(open_fds(pid).unwrap() >= 3);
        assert!(threads(pid).unwrap() >= 1);
        assert!(status_kib(pid, "VmRSS").unwrap() > 0);
        assert!(status_kib(pid, "NoSuchField").is_err());
        assert!(cpu_and_state(pid).is_ok());
    }
}
