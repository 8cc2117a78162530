//! The door itself (`grader::sandbox`): a program started by a hidden test is
//! looked at from outside, through `/proc`, the way an instructor would check
//! their runner, and each wall that `sandbox::protections()` says is in force
//! must really stand around it. Walls not in force here are printed as
//! skipped with their reason.

use crate::util;
use grader::registry::TestCase;
use grader::runner::{self, Status};
use grader::sandbox::{self, Protection};
use grader::{Ctx, Failure, Kind, Outcome};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// What the test saw, to check after it that the sandbox removed it:
/// the scratch folder and the cgroup folder (if any).
static SEEN: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Where the cgroup v2 file system is mounted.
fn cgroup_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        (right.split_whitespace().next()? == "cgroup2").then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
    })
}

static LOOKS_AT_THE_PROGRAM: TestCase = TestCase {
    id: "looks-at-the-program",
    scenario: "Starts the program and checks from /proc that the sandbox's walls stand around it.",
    clauses: &[],
    points: 1,
    limit: Duration::from_secs(20),
    needs: &[],
    sharing: grader::registry::Sharing::Shared,
    concept: "-",
    hint: "-",
    docs_anchor: "-",
    run: looks_at_the_program,
};

fn in_force(name: &str) -> bool {
    sandbox::protections().iter().any(|p| p.name == name && p.in_force)
}

fn field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn looks_at_the_program(ctx: &mut Ctx) -> Outcome {
    let mut program = ctx.spawn(&["127.0.0.1:0"])?;
    ctx.wait_listening(&mut program)?;
    let pid = program.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| Failure::io("reading status", &e))?;
    let environ = std::fs::read(format!("/proc/{pid}/environ")).map_err(|e| Failure::io("reading environ", &e))?;
    let environ: Vec<String> = environ
        .split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).map_err(|e| Failure::io("reading cwd", &e))?;
    SEEN.lock().unwrap().push(cwd.clone());

    // An empty environment: what the grader set, and nothing of its own.
    let names: Vec<&str> = environ.iter().filter_map(|v| v.split_once('=').map(|(k, _)| k)).collect();
    let allowed = ["HOME", "TMPDIR", "LANG", "RUST_BACKTRACE", "SOCKLINGS_TEST"];
    if let Some(extra) = names.iter().find(|n| !allowed.contains(n)) {
        return Err(Failure::new(format!("the program's environment holds {extra}: {environ:?}")));
    }
    if !environ.iter().any(|v| v == &format!("HOME={}", cwd.display())) {
        return Err(Failure::new(format!(
            "the program's working folder {} is not its HOME: {environ:?}",
            cwd.display()
        )));
    }
    if in_force("separate user") {
        let uid = field(&status, "Uid:");
        let expected = std::fs::metadata(&cwd)
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        if uid.split_whitespace().any(|u| u == "0") || !uid.starts_with(&expected.to_string()) {
            return Err(Failure::new(format!(
                "the program runs as uid {uid}, not as the owner of its scratch folder ({expected})"
            )));
        }
        if field(&status, "NoNewPrivs:") != "1" {
            return Err(Failure::new("the program may gain privileges (NoNewPrivs is not set)"));
        }
    }
    if in_force("PID namespace per program") {
        // NSpid lists the pid in each namespace, outermost first.
        let nspid = field(&status, "NSpid:");
        let ids: Vec<&str> = nspid.split_whitespace().collect();
        if ids.last() != Some(&"1") || ids.first() != Some(&pid.to_string().as_str()) {
            return Err(Failure::new(format!(
                "the program is not process 1 of its own PID namespace (NSpid: {nspid}, pid {pid})"
            )));
        }
    }
    if in_force("hidden instructor files") {
        let ours = std::fs::read_link("/proc/self/ns/mnt").map_err(|e| Failure::io("reading ns/mnt", &e))?;
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).map_err(|e| Failure::io("reading ns/mnt", &e))?;
        if ours == theirs {
            return Err(Failure::new("the program shares the grader's mount namespace"));
        }
    }
    if in_force("cgroup per test") {
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let Some(path) = cgroup
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .filter(|p| p.contains("socklings-"))
        else {
            return Err(Failure::new(format!("the program is not in a test's cgroup: {cgroup}")));
        };
        if let Some(mount) = cgroup_mount() {
            SEEN.lock().unwrap().push(mount.join(path.trim_start_matches('/')));
        }
    }
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    if !limits
        .lines()
        .any(|l| l.starts_with("Max core file size") && l.split_whitespace().nth(4) == Some("0"))
    {
        return Err(Failure::new(format!("core dumps are not off:\n{limits}")));
    }
    Ok(())
}

/// Each wall that `sandbox::protections()` reports in force stands around
/// a program started by a hidden test, and its scratch folder and cgroup
/// are gone after the test.
#[test]
fn every_wall_in_force_stands_around_the_program() {
    let exercise = util::exercise("01-bind-listen-accept");
    let target = util::cargo()
        .build_target(exercise, Kind::Solutions, util::short_writes())
        .unwrap_or_else(|log| panic!("01 does not build:\n{log}"));
    let report = runner::run_test(exercise, &LOOKS_AT_THE_PROGRAM, &target, &util::options());
    assert_eq!(report.status, Status::Passed, "{}\n{}", report.summary, report.transcript);
    for Protection { name, in_force, reason } in sandbox::protections() {
        if !in_force {
            eprintln!("skipped: {name} is not in force here: {reason}");
        }
    }
    let seen = SEEN.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the test saw no scratch folder");
    let left: Vec<&PathBuf> = seen.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "left behind after the test: {left:?}");
}
