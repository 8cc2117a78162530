//! The one door through which learner code runs: every start of a learner's
//! program (`Program::start`) and, for `grade --submission`, every build of
//! the learner's crate (`Cargo` with a [`BuildJail`]).
//!
//! A learner's code is untrusted: its build and its run must not be able to
//! read the reference answers, change anything the grader later trusts, or
//! outlive its test. Linux gives a process several separate walls; each one
//! below is used where the machine allows it, and [`protections`] lists which
//! are in force, so a grade can say plainly what was not.
//!
//! - **A separate user.** Files and signals are guarded by user ids: a process
//!   may read a file only if the file's mode lets its user, and may signal or
//!   `ptrace(2)` only processes of its own user. When the grader runs as root
//!   (CI containers, Gradescope), learner code runs as the system user
//!   [`USER`] (created with `useradd` if missing; where that fails, the fixed
//!   uid and gid [`FALLBACK_ID`], which need no entry in `/etc/passwd`). That
//!   user owns nothing but a scratch folder, so it cannot write the grader's
//!   files nor signal the grader.
//! - **A private view of the file system.** A folder that other users may
//!   read (a checkout under `/home/runner/work` or `/work`) is still readable
//!   by the sandbox user, so a user id alone does not hide the instructor's
//!   `solutions/` or `target/`. A *mount namespace* (`unshare(CLONE_NEWNS)`)
//!   gives the child its own table of mounts: an empty read-only `tmpfs` is
//!   mounted over every path the policy hides ([`hide`]), in the child's view
//!   only. The grader's view is untouched.
//! - **A PID namespace per program.** A process that double-forks leaves its
//!   process group and its family, and one that also clears its environment
//!   carries no mark the grader could find. In a new *PID namespace*
//!   (`unshare(CLONE_NEWPID)`, then fork), the program is process 1, and when
//!   process 1 of a namespace dies the kernel kills every other process in
//!   it: nothing can escape. The grader still sees the program under its real
//!   pid, so `/proc/PID` reads and `pidfd_getfd` keep working. The namespace
//!   is created by a short-lived thread of the grader (a thread's
//!   `unshare(CLONE_NEWPID)` applies to the children that thread forks next),
//!   so the grader's other threads are not affected. One consequence for
//!   test writers: as process 1, a program receives from the grader only
//!   SIGKILL, SIGSTOP and the signals it installed a handler for (a SIGTERM
//!   it does not handle is ignored, where elsewhere it would end it).
//! - **A cgroup per test.** A cgroup (v2) is a folder of processes the kernel
//!   accounts for together; writing `1` to its `cgroup.kill` kills them all,
//!   and `cgroup.events` says when it is empty. Where the `memory` and `pids`
//!   controllers can be enabled, `memory.max` and `pids.max` cap the test;
//!   elsewhere `setrlimit(2)` limits per process stand in ([`LIMITS`]).
//! - **An empty environment and a scratch folder.** A CI job's environment
//!   holds tokens and `GITHUB_*` paths; a program gets only what the test
//!   passes (`LD_PRELOAD` for short writes, `RUST_BACKTRACE`, the test's mark)
//!   and `HOME`/`TMPDIR`/working folder in a fresh folder of its own,
//!   removed after the test.
//!
//! Where a wall is unavailable (not root, no cgroup v2), the grader falls back
//! to what it did before: process groups, a walk of `/proc`, and the
//! `SOCKLINGS_TEST` mark (see `process`). `check` on a learner's laptop works
//! as it always did.
//!
//! **Invariants:** learner code starts only through [`spawn_program`] or a
//! `Cargo` holding a [`BuildJail`]; after each test [`Cell::finish`] proves
//! that none of the test's processes is left (its PID namespaces are gone, its
//! cgroup is empty), and the test fails when it cannot.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The system user that learner code runs as when the grader is root.
pub const USER: &str = "socklings-sandbox";

/// The uid and gid used when [`USER`] cannot be created (no `useradd`): a
/// number far from the ranges distributions give to people and services.
pub const FALLBACK_ID: u32 = 64_123;

/// `SOCKLINGS_SANDBOX=off` turns every wall that needs root off, to measure
/// what they cost and to show that the hostile submissions' tests can fail.
pub const SWITCH: &str = "SOCKLINGS_SANDBOX";

/// One wall of the sandbox and whether it stands on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// A few words, such as `separate user`.
    pub name: &'static str,
    pub in_force: bool,
    /// What it gives, or why it is not in force here.
    pub reason: String,
}

/// Per-process limits, applied with `setrlimit(2)` to every learner process
/// (builds get their own, see [`BUILD_LIMITS`]). Chosen to pass the reference
/// solutions with a wide margin: exercise 03 serves 1,100 clients from one
/// thread, exercise 06 sends 65 KB datagrams, and no solution writes files.
pub const LIMITS: &[(&str, u64)] = &[
    // No core dumps: a crashing program must not fill the disk.
    ("RLIMIT_CORE", 0),
    // Files a program writes (its scratch folder): 64 MiB each.
    ("RLIMIT_FSIZE", 64 << 20),
    // Address space: 4 GiB, about ten times what the solutions map.
    ("RLIMIT_AS", 4 << 30),
];

/// Limits for builds: rustc needs far more address space than a program.
pub const BUILD_LIMITS: &[(&str, u64)] = &[("RLIMIT_CORE", 0), ("RLIMIT_FSIZE", 1 << 30)];

/// Processes and threads the sandbox user may have at once (`RLIMIT_NPROC`
/// counts per user, so it applies only under the separate user).
pub const PROCESS_LIMIT: u64 = 2048;

/// `memory.max` and `pids.max` of a test's cgroup, where available.
pub const CGROUP_MEMORY_MAX: u64 = 4 << 30;
pub const CGROUP_PIDS_MAX: u64 = 2048;

/// How long the proof that a test left nothing may wait for the kernel.
const PROOF_DEADLINE: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------- the machine

/// What this machine allows, found out once by trying.
struct Host {
    identity: Result<(u32, u32), String>,
    pid_ns: Result<(), String>,
    mount_ns: Result<(), String>,
    cgroup: Result<CgroupParent, String>,
}

struct CgroupParent {
    /// The grader's own cgroup; per-test cgroups are made inside it.
    dir: PathBuf,
    /// `memory` and `pids` are enabled for children.
    controllers: bool,
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        if std::env::var_os(SWITCH).is_some_and(|v| v == "off") {
            let off = format!("turned off ({SWITCH}=off)");
            return Host {
                identity: Err(off.clone()),
                pid_ns: Err(off.clone()),
                mount_ns: Err(off.clone()),
                cgroup: Err(off),
            };
        }
        let root = is_root();
        const NOT_ROOT: &str = "the grader does not run as root (of the machine, outside any user namespace)";
        Host {
            identity: if root { sandbox_identity() } else { Err(NOT_ROOT.into()) },
            pid_ns: if root { probe_pid_namespace() } else { Err(NOT_ROOT.into()) },
            mount_ns: if root { Ok(()) } else { Err(NOT_ROOT.into()) },
            cgroup: cgroup_parent(),
        }
    })
}

/// Root of the machine: uid 0 in the initial user namespace. Root of a user
/// namespace (`unshare -U`, a rootless container) maps only some ids, so it
/// could not switch to the sandbox user; its `uid_map` is not the identity
/// map of every id.
fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let uid0 = cfg!(target_os = "linux") && unsafe { nix::libc::geteuid() } == 0;
    let whole = std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(false);
    uid0 && whole
}

/// The uid and gid of [`USER`], creating the user if it is missing.
fn sandbox_identity() -> Result<(u32, u32), String> {
    if let Some(ids) = passwd_entry(USER) {
        return Ok(ids);
    }
    let created = Command::new("useradd")
        .args(["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"])
        .args(["--shell", "/usr/sbin/nologin", USER])
        .output();
    if let Some(ids) = passwd_entry(USER) {
        return Ok(ids);
    }
    // No useradd (a minimal image) or it failed: a fixed id without a name,
    // unless someone already uses it.
    let taken = std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(':').nth(2) == Some(&FALLBACK_ID.to_string()));
    if taken {
        let why = match created {
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        return Err(format!("cannot create the user {USER} ({why}) and uid {FALLBACK_ID} is taken"));
    }
    Ok((FALLBACK_ID, FALLBACK_ID))
}

fn passwd_entry(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 3 && fields[0] == name).then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))?
    })
}

/// Tries `unshare(CLONE_NEWPID)` on a throwaway thread.
fn probe_pid_namespace() -> Result<(), String> {
    std::thread::spawn(|| nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID))
        .join()
        .map_err(|_| "the probe thread panicked".to_string())?
        .map_err(|e| format!("unshare(CLONE_NEWPID) failed: {e}"))
}

/// The grader's own cgroup v2 folder, if it can hold children we may kill.
fn cgroup_parent() -> Result<CgroupParent, String> {
    if !cfg!(target_os = "linux") {
        return Err("cgroups exist only on Linux".into());
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("cannot read mountinfo: {e}"))?;
    // Fields: ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS ... - FSTYPE SOURCE SUPER_OPTIONS
    let mount = mountinfo
        .lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2").then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
        })
        .ok_or("no cgroup v2 file system is mounted")?;
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("0::").map(str::to_string))
        .ok_or("this process has no cgroup v2 path")?;
    let dir = mount.join(own.trim_start_matches('/'));
    if !dir.join("cgroup.kill").exists() && !dir.join("cgroup.procs").exists() {
        return Err(format!("{} is not a cgroup v2 folder", dir.display()));
    }
    // Can we make a child, move a process into it and kill it? Try with nothing inside.
    let probe = dir.join(format!("socklings-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| format!("cannot create a cgroup in {}: {e}", dir.display()))?;
    let kill = probe.join("cgroup.kill").exists();
    let _ = std::fs::remove_dir(&probe);
    if !kill {
        return Err("this kernel's cgroups have no cgroup.kill (Linux 5.14 or later)".into());
    }
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let wanted = available.split_whitespace().any(|c| c == "memory") && available.split_whitespace().any(|c| c == "pids");
    let controllers = wanted && std::fs::write(dir.join("cgroup.subtree_control"), "+memory +pids").is_ok();
    Ok(CgroupParent { dir, controllers })
}

// ---------------------------------------------------------------- the policy

/// What the caller (xtask) asked for: paths learner code must not see.
#[derive(Default)]
struct Policy {
    hidden: Vec<PathBuf>,
    /// Hidden from programs only: builds need them (the work copy).
    hidden_from_programs: Vec<PathBuf>,
    /// Things that stood in the way at run time, reported once each.
    degraded: Vec<String>,
}

fn policy() -> std::sync::MutexGuard<'static, Policy> {
    static POLICY: Mutex<Policy> = Mutex::new(Policy {
        hidden: Vec::new(),
        hidden_from_programs: Vec::new(),
        degraded: Vec::new(),
    });
    POLICY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hides `path` (a folder or a file) from every learner build and program
/// started from now on: in their mount namespace an empty read-only folder
/// (or `/dev/null`) lies over it. Where mount namespaces are unavailable the
/// path stays visible, and [`protections`] says so.
pub fn hide(path: &Path) {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut policy = policy();
    if !policy.hidden.contains(&path) {
        policy.hidden.push(path);
    }
}

/// Hides `path` from programs only (builds still see it): the work copy
/// that a submission is built in.
pub fn hide_from_programs(path: &Path) {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut policy = policy();
    if !policy.hidden_from_programs.contains(&path) {
        policy.hidden_from_programs.push(path);
    }
}

/// The paths [`hide`] was given.
pub fn hidden() -> Vec<PathBuf> {
    policy().hidden.clone()
}

fn degrade(note: String) {
    let mut policy = policy();
    if !policy.degraded.contains(&note) {
        policy.degraded.push(note);
    }
}

/// Which walls stand on this machine for this run, in words, for every report.
pub fn protections() -> Vec<Protection> {
    let host = host();
    let degraded = policy().degraded.clone();
    let user_note = degraded.iter().find(|d| d.starts_with("separate user")).cloned();
    let mut list = vec![
        match (&host.identity, user_note) {
            (Ok((uid, _)), None) => Protection {
                name: "separate user",
                in_force: true,
                reason: format!("learner code runs as uid {uid} ({USER}), which cannot write the grader's files nor signal it"),
            },
            (Ok(_), Some(note)) => Protection {
                name: "separate user",
                in_force: false,
                reason: note.trim_start_matches("separate user: ").to_string(),
            },
            (Err(e), _) => Protection {
                name: "separate user",
                in_force: false,
                reason: format!("{e}; learner code runs as the grader's own user"),
            },
        },
        match &host.mount_ns {
            Ok(()) => Protection {
                name: "hidden instructor files",
                in_force: true,
                reason: if hidden().is_empty() {
                    "nothing to hide in this run (the program's own workspace)".into()
                } else {
                    format!(
                        "a private mount namespace lays an empty folder over {}",
                        hidden().iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                    )
                },
            },
            Err(e) => Protection {
                name: "hidden instructor files",
                in_force: false,
                reason: format!("{e}, so no mount namespace; learner code can read whatever the grader's user can"),
            },
        },
        match &host.pid_ns {
            Ok(()) => Protection {
                name: "PID namespace per program",
                in_force: true,
                reason: "everything a program starts dies with it; after each test the grader checks that none is left".into(),
            },
            Err(e) => Protection {
                name: "PID namespace per program",
                in_force: false,
                reason: format!(
                    "{e}; processes are found by process group, /proc and the SOCKLINGS_TEST mark, which a daemon that clears its environment escapes"
                ),
            },
        },
        match &host.cgroup {
            Ok(_) => Protection {
                name: "cgroup per test",
                in_force: true,
                reason: "cgroup.kill ends the test's processes, an empty cgroup proves they are gone".into(),
            },
            Err(e) => Protection {
                name: "cgroup per test",
                in_force: false,
                reason: e.clone(),
            },
        },
        match &host.cgroup {
            Ok(CgroupParent { controllers: true, .. }) => Protection {
                name: "memory and process caps",
                in_force: true,
                reason: format!("memory.max {} MiB and pids.max {CGROUP_PIDS_MAX} per test", CGROUP_MEMORY_MAX >> 20),
            },
            _ => Protection {
                name: "memory and process caps",
                in_force: true,
                reason: format!(
                    "no cgroup memory/pids controllers here, so setrlimit per process: address space {} MiB, files {} MiB, no core dumps{}",
                    limit("RLIMIT_AS") >> 20,
                    limit("RLIMIT_FSIZE") >> 20,
                    if host.identity.is_ok() {
                        format!(", {PROCESS_LIMIT} processes for the sandbox user")
                    } else {
                        String::new()
                    }
                ),
            },
        },
        Protection {
            name: "empty environment",
            in_force: true,
            reason: "programs get only HOME, TMPDIR and what the test passes, and a fresh scratch folder".into(),
        },
    ];
    for note in degraded.iter().filter(|d| !d.starts_with("separate user")) {
        list.push(Protection {
            name: "note",
            in_force: false,
            reason: note.clone(),
        });
    }
    list
}

/// The protections not in force, one sentence each, for a grade's warnings.
pub fn missing_protections() -> Vec<String> {
    protections()
        .into_iter()
        .filter(|p| !p.in_force)
        .map(|p| format!("sandbox: {} not in force: {}", p.name, p.reason))
        .collect()
}

fn limit(name: &str) -> u64 {
    LIMITS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap_or(0)
}

// ---------------------------------------------------------------- one test

/// The sandbox of one test: its scratch folder, its cgroup, and the PID
/// namespaces of its programs, so that [`Cell::finish`] can prove that
/// nothing of the test is left.
pub struct Cell {
    state: Mutex<CellState>,
}

#[derive(Default)]
struct CellState {
    scratch: Option<PathBuf>,
    cgroup: Option<PathBuf>,
    /// `cgroup.procs` of the test's cgroup, written by each child to join it.
    cgroup_procs: Option<std::fs::File>,
    /// Each program's PID namespace (`/proc/PID/ns/pid`), held open: an
    /// open namespace is never freed, so its inode number, by which the
    /// proof finds its processes, cannot be reused by another test's
    /// namespace (which the proof would then kill) until the proof is done.
    namespaces: Vec<(u64, std::fs::File)>,
}

impl Default for Cell {
    fn default() -> Self {
        Cell::new()
    }
}

impl Cell {
    pub fn new() -> Cell {
        Cell {
            state: Mutex::new(CellState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CellState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The test's scratch folder, created on first use: owned by the sandbox
    /// user where there is one, readable by nobody else.
    fn scratch(&self, state: &mut CellState, owner: Option<(u32, u32)>) -> io::Result<PathBuf> {
        if let Some(dir) = &state.scratch {
            return Ok(dir.clone());
        }
        // Directly in the temporary folder, not in `run_dir`: a process that
        // never calls `cleanup` (a test binary) then leaves nothing behind.
        // A name no program can guess, made with mkdir (which never follows
        // or reuses what is there) and mode 0700.
        let dir = tempfile::Builder::new()
            .prefix(&format!("socklings-test-{}-", std::process::id()))
            .tempdir()?
            .keep();
        // Recorded first, so that `finish` removes it even if what follows fails.
        state.scratch = Some(dir.clone());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
        }
        Ok(dir)
    }

    /// The test's scratch folder (the programs' working folder), created now
    /// if no program has started yet, so that a test can put there what its
    /// programs must read (exercise 08 serves files from it). The programs
    /// own it: the grader must not trust anything in it afterwards.
    pub(crate) fn scratch_dir(&self) -> io::Result<PathBuf> {
        let mut state = self.lock();
        let identity = host().identity.as_ref().ok().copied();
        self.scratch(&mut state, identity)
    }

    /// The test's cgroup, created on first use where cgroups work.
    fn cgroup_fd(&self, state: &mut CellState) -> Option<RawFd> {
        if state.cgroup_procs.is_none() {
            let parent = host().cgroup.as_ref().ok()?;
            let dir = parent.dir.join(format!("socklings-{}-{}", std::process::id(), next_id()));
            if let Err(e) = std::fs::create_dir(&dir) {
                degrade(format!("cannot create a cgroup in {}: {e}", parent.dir.display()));
                return None;
            }
            if parent.controllers {
                let _ = std::fs::write(dir.join("memory.max"), CGROUP_MEMORY_MAX.to_string());
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                let _ = std::fs::write(dir.join("pids.max"), CGROUP_PIDS_MAX.to_string());
            }
            let procs = std::fs::OpenOptions::new().write(true).open(dir.join("cgroup.procs")).ok()?;
            state.cgroup = Some(dir);
            state.cgroup_procs = Some(procs);
        }
        state.cgroup_procs.as_ref().map(|f| f.as_raw_fd())
    }

    /// Kills whatever of the test is left and proves that nothing is: the
    /// cgroup is empty and no process lives in the test's PID namespaces.
    /// `Err` names what survived. Removes the scratch folder. Safe to call
    /// more than once.
    pub fn finish(&self) -> Result<(), String> {
        let mut state = self.lock();
        let mut survivors = Vec::new();
        if let Some(dir) = state.cgroup.clone() {
            let deadline = Instant::now() + PROOF_DEADLINE;
            loop {
                let _ = std::fs::write(dir.join("cgroup.kill"), "1");
                let events = std::fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
                if events.lines().any(|l| l == "populated 0") {
                    break;
                }
                if Instant::now() >= deadline {
                    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                    survivors.push(format!(
                        "cgroup {} still holds processes {} {:.0} s after cgroup.kill",
                        dir.display(),
                        procs.split_whitespace().collect::<Vec<_>>().join(", "),
                        PROOF_DEADLINE.as_secs_f64()
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            state.cgroup_procs = None;
            if survivors.is_empty() {
                let _ = std::fs::remove_dir(&dir);
                state.cgroup = None;
            }
        }
        if !state.namespaces.is_empty() {
            let deadline = Instant::now() + PROOF_DEADLINE;
            let inodes: Vec<u64> = state.namespaces.iter().map(|(inode, _)| *inode).collect();
            loop {
                let alive = in_namespaces(&inodes);
                if alive.is_empty() {
                    state.namespaces.clear();
                    break;
                }
                for pid in &alive {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
                }
                if Instant::now() >= deadline {
                    survivors.push(format!(
                        "processes {} still live in the test's PID namespaces {:.0} s after being killed",
                        alive.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
                        PROOF_DEADLINE.as_secs_f64()
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if let Some(dir) = state.scratch.take() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        if survivors.is_empty() { Ok(()) } else { Err(survivors.join("; ")) }
    }
}

impl Drop for Cell {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Live processes (not zombies) whose PID namespace is one of `inodes`.
fn in_namespaces(inodes: &[u64]) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(format!("/proc/{pid}/ns/pid")) else {
            continue;
        };
        if !inodes.contains(&meta.ino()) {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()).unwrap_or("");
        if state != "Z" && state != "X" && !stat.is_empty() {
            found.push(pid);
        }
    }
    found
}

fn next_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// This grader process's folder for staged binaries (see xtask's `grade`):
/// `<temp>/socklings-run-<pid>`, owned by the grader, readable by others
/// only through names they are given (mode 0711).
pub fn run_dir() -> io::Result<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        sweep_stale_run_dirs(&std::env::temp_dir(), std::process::id());
        let dir = std::env::temp_dir().join(format!("socklings-run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).map_err(|e| e.to_string())?;
        }
        Ok(dir)
    })
    .clone()
    .map_err(io::Error::other)
}

/// How long a run folder of a grader that is gone must have been left
/// untouched before another grader removes it: an hour, longer than any
/// grade, because a live grader in another PID namespace that shares the
/// temporary folder looks gone from here.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Removes the run folders that graders killed before their cleanup left in
/// `temp` (a SIGKILL leaves the staged programs, about 8 MB a grade): each
/// `socklings-run-<pid>` that is a real folder (not a link) of this user,
/// whose process is gone, and that nothing touched for [`STALE_AFTER`].
fn sweep_stale_run_dirs(temp: &Path, own_pid: u32) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("socklings-run-"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if pid <= 0 || pid as u32 == own_pid {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.file_type().is_dir() || meta.uid() != me {
            continue;
        }
        let untouched = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= STALE_AFTER);
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH);
        if untouched && gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes [`run_dir`] (call once, when the run is over).
pub fn cleanup() {
    let dir = std::env::temp_dir().join(format!("socklings-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------- starting

/// What the child does between `fork` and `exec`, prepared beforehand so
/// that the child only makes system calls (no allocation, no locks: after a
/// fork in a multi-threaded process, another thread may hold the allocator's
/// lock forever).
#[derive(Default)]
struct ChildPlan {
    rlimits: Vec<(u32, u64)>,
    cgroup_procs: Option<RawFd>,
    mount_ns: bool,
    /// (source, target) pairs to bind read-only.
    binds: Vec<(CString, CString)>,
    hide_dirs: Vec<CString>,
    hide_files: Vec<CString>,
    mount_proc: bool,
    identity: Option<(u32, u32)>,
}

/// Where a program runs relative to the user namespaces of fixtures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joins {
    /// The grader's own namespaces.
    Nothing,
    /// The program joins a user namespace of a fixture (`fixtures::netns`)
    /// before exec; there it cannot switch to the sandbox user nor mount a
    /// fresh `/proc`, so those two walls are left out for it.
    UserNamespace,
}

/// Starts a learner's program (the one door, used by `Program::start`):
/// empty environment plus what the test set, scratch working folder, limits,
/// the test's cgroup, a private mount namespace hiding [`hidden`] paths, the
/// sandbox user, and a PID namespace of its own.
pub(crate) fn spawn_program(command: &mut Command, cell: &Cell, joins: Joins) -> io::Result<Child> {
    let host = host();
    let mut state = cell.lock();
    let mut identity = host.identity.as_ref().ok().copied();
    if joins == Joins::UserNamespace && identity.is_some() {
        degrade(
            "programs inside the network namespaces of fixtures::netns (exercises 04 and 05) run as root of the fixture's user namespace, not as the sandbox user; the instructor's files are still hidden from them".into(),
        );
        identity = None;
    }
    // The sandbox user must be able to reach the program (and a preloaded
    // library); a workspace in a private home folder (/root, mode 0700) is
    // not, and then the program runs as the grader's user, reported once.
    if identity.is_some() {
        let program = PathBuf::from(command.get_program());
        let preload = command
            .get_envs()
            .find(|(k, _)| *k == "LD_PRELOAD")
            .and_then(|(_, v)| v.map(PathBuf::from));
        if let Some(blocked) = [Some(program), preload]
            .into_iter()
            .flatten()
            .find_map(|p| unreachable_by_others(&p))
        {
            degrade(format!(
                "separate user: {blocked} is not readable by other users, so programs there run as the grader's user"
            ));
            identity = None;
        }
    }
    let scratch = cell.scratch(&mut state, identity)?;
    clean_environment(command, &scratch);
    command.current_dir(&scratch);

    let mut plan = ChildPlan {
        rlimits: rlimits(LIMITS),
        cgroup_procs: cell.cgroup_fd(&mut state),
        identity,
        ..ChildPlan::default()
    };
    if identity.is_some() {
        plan.rlimits.push((nix::libc::RLIMIT_NPROC, PROCESS_LIMIT));
    }
    if host.mount_ns.is_ok() {
        plan.mount_ns = true;
        plan.mount_proc = joins == Joins::Nothing && host.pid_ns.is_ok();
        let mut paths = hidden();
        paths.extend(policy().hidden_from_programs.iter().cloned());
        let preload = command
            .get_envs()
            .find(|(k, _)| *k == "LD_PRELOAD")
            .and_then(|(_, v)| v.map(PathBuf::from));
        let program = PathBuf::from(command.get_program());
        let mut keep = vec![scratch.as_path(), program.as_path()];
        keep.extend(preload.as_deref());
        add_hidden(&mut plan, &paths, &keep);
    }
    install(command, plan);
    let child = spawn_in_pid_namespace(command, host.pid_ns.is_ok())?;
    if host.pid_ns.is_ok() {
        // The child is not reaped yet (only we reap it), so even if it has
        // already exited this is still its namespace.
        use std::os::unix::fs::MetadataExt;
        if let Ok(ns) = std::fs::File::open(format!("/proc/{}/ns/pid", child.id()))
            && let Ok(meta) = ns.metadata()
        {
            state.namespaces.push((meta.ino(), ns));
        }
    }
    Ok(child)
}

/// The folders that learner builds run in, for `grade --submission` as root:
/// cargo runs as the sandbox user, with a copy of the registry it may read,
/// the toolchain bound (read-only) into a folder it can reach, and the
/// instructor's files hidden. `None` where the grader is not root.
#[derive(Debug, Clone)]
pub struct BuildJail {
    /// The toolchain's sysroot as the grader sees it (`rustc --print sysroot`).
    pub sysroot: PathBuf,
    /// An empty folder the sysroot is bound onto, in the build's view.
    pub toolchain: PathBuf,
    /// `CARGO_HOME` for the build: the registry's index and downloaded
    /// crates, copied, so builds work offline.
    pub cargo_home: PathBuf,
    /// Folders the build writes: its target directory.
    pub writable: Vec<PathBuf>,
    /// The sandbox user's uid and gid.
    pub owner: (u32, u32),
}

impl BuildJail {
    /// Prepares a jail in `work` (which must be reachable by other users).
    /// `Ok(None)` where there is no sandbox user (not root).
    pub fn prepare(work: &Path, target_dir: &Path) -> Result<Option<BuildJail>, String> {
        let Ok((uid, gid)) = host().identity.clone() else {
            return Ok(None);
        };
        if host().mount_ns.is_err() {
            return Ok(None);
        }
        if let Some(blocked) = unreachable_by_others(work) {
            return Err(format!(
                "the work folder {} is not reachable by the sandbox user {USER}: {blocked} is not readable by other users. Choose a --work folder elsewhere (the default is under {})",
                work.display(),
                std::env::temp_dir().display()
            ));
        }
        let sysroot = sysroot()?;
        let toolchain = work.join("toolchain");
        let cargo_home = work.join("cargo-home");
        std::fs::create_dir_all(&toolchain).map_err(|e| format!("cannot create {}: {e}", toolchain.display()))?;
        copy_registry(&cargo_home)?;
        std::fs::create_dir_all(target_dir).map_err(|e| format!("cannot create {}: {e}", target_dir.display()))?;
        for dir in [&cargo_home, &target_dir.to_path_buf()] {
            chown_tree(dir, uid, gid).map_err(|e| format!("cannot give {} to {USER}: {e}", dir.display()))?;
        }
        Ok(Some(BuildJail {
            sysroot,
            toolchain,
            cargo_home,
            writable: vec![target_dir.to_path_buf()],
            owner: (uid, gid),
        }))
    }

    /// Gives `dir` (and what it holds) to the sandbox user, for a folder the
    /// build must write.
    pub fn give(&self, dir: &Path) -> io::Result<()> {
        chown_tree(dir, self.owner.0, self.owner.1)
    }

    /// `cargo` as seen inside the jail.
    pub fn cargo(&self) -> PathBuf {
        self.toolchain.join("bin").join("cargo")
    }

    /// Turns `command` (a cargo command) into one that runs in the jail.
    pub fn apply(&self, command: &mut Command) {
        let envs: Vec<(std::ffi::OsString, std::ffi::OsString)> = command
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_os_string(), v?.to_os_string())))
            .collect();
        command.env_clear();
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", self.toolchain.join("bin").display());
        command
            .env("PATH", path)
            .env("CARGO_HOME", &self.cargo_home)
            .env("HOME", &self.cargo_home)
            .env("CARGO_NET_OFFLINE", "true")
            .env("RUSTC", self.toolchain.join("bin").join("rustc"))
            .env("TERM", "dumb");
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut plan = ChildPlan {
            rlimits: rlimits(BUILD_LIMITS),
            mount_ns: true,
            identity: Some(self.owner),
            ..ChildPlan::default()
        };
        plan.rlimits.push((nix::libc::RLIMIT_NPROC, PROCESS_LIMIT));
        plan.binds.push((cstring(&self.sysroot), cstring(&self.toolchain)));
        let mut keep: Vec<&Path> = self.writable.iter().map(PathBuf::as_path).collect();
        keep.push(&self.toolchain);
        keep.push(&self.cargo_home);
        add_hidden(&mut plan, &hidden(), &keep);
        install(command, plan);
    }

    /// Spawns the jailed command in a PID namespace of its own, so that
    /// stopping cargo at the build limit stops every compiler it started.
    pub fn spawn(&self, command: &mut Command) -> io::Result<Child> {
        spawn_in_pid_namespace(command, host().pid_ns.is_ok())
    }
}

/// The active toolchain's sysroot, from the `rustc` cargo would use.
fn sysroot() -> Result<PathBuf, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    if !out.status.success() {
        return Err(format!("rustc --print sysroot failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Copies the registry index and downloaded crates of the grader's
/// `CARGO_HOME` (a few MiB) into `to`, once; the sandbox user cannot read
/// the original (often under /root) and builds must work offline.
fn copy_registry(to: &Path) -> Result<(), String> {
    let from = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    for part in ["registry/index", "registry/cache"] {
        let (src, dst) = (from.join(part), to.join(part));
        if dst.exists() || !src.exists() {
            continue;
        }
        copy_tree(&src, &dst).map_err(|e| format!("cannot copy {} to {}: {e}", src.display(), dst.display()))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))?;
    if std::fs::symlink_metadata(dir)?.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// The first folder on the way to `path` (or the file itself) that users
/// other than its owner cannot pass through; `None` if every step is open.
pub fn unreachable_by_others(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut at = PathBuf::from("/");
    for part in path.components().skip(1) {
        at.push(part);
        let Ok(meta) = std::fs::metadata(&at) else { return None };
        let mode = meta.permissions().mode();
        let open = if meta.is_dir() {
            mode & 0o001 != 0
        } else {
            mode & 0o004 != 0 || mode & 0o001 != 0
        };
        if !open {
            return Some(at.display().to_string());
        }
    }
    None
}

/// Keeps only what the test set, and a minimal `HOME`/`TMPDIR`.
fn clean_environment(command: &mut Command, scratch: &Path) {
    let envs: Vec<(std::ffi::OsString, std::ffi::OsString)> = command
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_os_string(), v?.to_os_string())))
        .collect();
    command.env_clear();
    command.env("HOME", scratch).env("TMPDIR", scratch).env("LANG", "C.UTF-8");
    for (k, v) in envs {
        command.env(k, v);
    }
}

fn rlimits(limits: &[(&str, u64)]) -> Vec<(u32, u64)> {
    use nix::libc;
    limits
        .iter()
        .filter_map(|(name, value)| {
            let resource = match *name {
                "RLIMIT_CORE" => libc::RLIMIT_CORE,
                "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
                "RLIMIT_AS" => libc::RLIMIT_AS,
                "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
                _ => return None,
            };
            Some((resource, *value))
        })
        .collect()
}

fn cstring(path: &Path) -> CString {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}

/// Adds the `hidden` paths that exist to the plan, leaving out any that
/// holds one of `keep` (the program itself, its scratch folder, a build's
/// own folders): hiding those would hide what the child needs.
fn add_hidden(plan: &mut ChildPlan, hidden: &[PathBuf], keep: &[&Path]) {
    let keep: Vec<PathBuf> = keep
        .iter()
        .map(|k| std::fs::canonicalize(k).unwrap_or_else(|_| k.to_path_buf()))
        .collect();
    for path in hidden {
        // Inside another hidden folder: already out of sight (and, once that
        // folder is covered, no longer there to mount on).
        if hidden
            .iter()
            .any(|h| h != path && path.starts_with(h) && !keep.iter().any(|k| k.starts_with(h)))
        {
            continue;
        }
        if keep.iter().any(|k| k.starts_with(path)) {
            degrade(format!(
                "{} holds files learner code needs, so it could not be hidden",
                path.display()
            ));
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => plan.hide_dirs.push(cstring(path)),
            Ok(_) => plan.hide_files.push(cstring(path)),
            Err(_) => {}
        }
    }
}

fn install(command: &mut Command, plan: ChildPlan) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `enter` makes only system calls, on data prepared before the
    // fork; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || enter(&plan));
    }
}

/// Runs in the child between fork and exec: limits, cgroup, mounts, user.
fn enter(plan: &ChildPlan) -> io::Result<()> {
    use nix::libc;
    let check = |r: libc::c_int| if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) };
    // SAFETY: plain system calls on valid pointers to data owned by `plan`.
    unsafe {
        for &(resource, value) in &plan.rlimits {
            let mut current = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            check(libc::getrlimit(resource as _, &mut current))?;
            // Lowering is always allowed; raising past the hard limit is not.
            let value = value.min(current.rlim_max);
            let new = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            check(libc::setrlimit(resource as _, &new))?;
        }
        if let Some(fd) = plan.cgroup_procs
            && libc::write(fd, b"0".as_ptr().cast(), 1) < 0
        {
            return Err(io::Error::last_os_error());
        }
        if plan.mount_ns {
            check(libc::unshare(libc::CLONE_NEWNS))?;
            // Our mounts must not travel back to the grader's view.
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            for (source, target) in &plan.binds {
                check(libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    std::ptr::null(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
                    std::ptr::null(),
                ))?;
            }
            for dir in &plan.hide_dirs {
                check(libc::mount(
                    c"socklings-hidden".as_ptr(),
                    dir.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    c"size=4k,mode=555".as_ptr().cast(),
                ))?;
            }
            for file in &plan.hide_files {
                check(libc::mount(
                    c"/dev/null".as_ptr(),
                    file.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
            if plan.mount_proc {
                // A /proc of the program's own PID namespace: it sees its own
                // processes only, not the grader's command line.
                check(libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                ))?;
            }
        }
        if let Some((uid, gid)) = plan.identity {
            check(libc::setgroups(0, std::ptr::null()))?;
            check(libc::setgid(gid))?;
            check(libc::setuid(uid))?;
            // No set-uid program may give privileges back.
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        }
    }
    Ok(())
}

/// Spawns `command` as process 1 of a new PID namespace (when `new_ns`): a
/// fresh thread unshares its namespace for children, forks, and ends.
fn spawn_in_pid_namespace(command: &mut Command, new_ns: bool) -> io::Result<Child> {
    if !new_ns {
        return command.spawn();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).map_err(io::Error::from)?;
                command.spawn()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the thread that starts the program panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn run_folder(base: &Path, pid: u32, age: Duration) -> PathBuf {
        let dir = base.join(format!("socklings-run-{pid}"));
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("lib").join("staged"), b"x").unwrap();
        std::fs::File::open(&dir).unwrap().set_modified(SystemTime::now() - age).unwrap();
        dir
    }

    /// Only a real folder of a grader that is gone, untouched for an hour,
    /// is swept; a fresh one, a live grader's, our own and a link stay.
    #[test]
    fn only_old_folders_of_graders_that_are_gone_are_swept() {
        let base = tempfile::tempdir().unwrap();
        let mut child = Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let hours = Duration::from_secs(2 * 3600);
        let stale = run_folder(base.path(), dead, hours);
        let fresh_base = tempfile::tempdir().unwrap();
        let fresh = run_folder(fresh_base.path(), dead, Duration::from_secs(60));
        let alive = run_folder(base.path(), 1, hours);
        let own = run_folder(base.path(), std::process::id(), hours);
        // A link named like a stale folder: neither it nor what it points
        // to is removed.
        let target = tempfile::tempdir().unwrap();
        std::fs::write(target.path().join("keep"), b"x").unwrap();
        let link = base.path().join(format!("socklings-run-{}", dead + 1_000_000));
        std::os::unix::fs::symlink(target.path(), &link).unwrap();

        sweep_stale_run_dirs(base.path(), std::process::id());
        sweep_stale_run_dirs(fresh_base.path(), std::process::id());
        assert!(!stale.exists(), "a stale folder of a dead grader stays");
        assert!(fresh.exists() && alive.exists() && own.exists());
        assert!(std::fs::symlink_metadata(&link).is_ok() && target.path().join("keep").exists());
    }
}
