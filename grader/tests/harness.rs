//! The harness itself: a program that hangs, one that forks a child and
//! hangs, and one whose child escapes into a new session, all end within the
//! test's limit and leave no process behind.

use crate::util::{self, Mutant};
use grader::registry::TestCase;
use grader::runner::{self, Status};
use grader::{Ctx, Outcome};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(2);

/// A hidden test that waits far longer than its limit for a line that never comes.
static WAITS_FOREVER: TestCase = TestCase {
    id: "waits-forever",
    scenario: "Waits for the program's address line, which a hung program never prints.",
    clauses: &[],
    points: 1,
    limit: LIMIT,
    needs: &[],
    sharing: grader::registry::Sharing::Shared,
    concept: "-",
    hint: "-",
    docs_anchor: "-",
    run: waits_forever,
};

fn waits_forever(ctx: &mut Ctx) -> Outcome {
    let mut program = ctx.spawn(&["127.0.0.1:0"])?;
    program.wait_for_stdout("a line that never comes", Duration::from_secs(600), |_| None::<()>)
}

/// Programs whose processes carry `marker` in their command line.
fn alive_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            if cmdline.contains(marker) && !zombie {
                found.push(format!("{} {cmdline}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// Runs `mutant` under `WAITS_FOREVER` and checks the limit and the cleanup.
fn assert_ends_cleanly(mutant: &Mutant, marker: &str) {
    let target = mutant.build();
    let report = runner::run_test(util::exercise(mutant.exercise), &WAITS_FOREVER, &target, &util::options());
    // The test's own clock: it starts once the runner's gate lets the test
    // in (other tests of this process may be running), and stops once the
    // test is decided and its processes killed.
    let took = report.duration;
    assert_eq!(report.status, Status::TimedOut, "{}", report.summary);
    assert!(took < LIMIT + Duration::from_secs(1), "the run took {took:?}, limit {LIMIT:?}");
    if cfg!(target_os = "linux") {
        // Killed processes vanish once reaped; give the kernel a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !alive_with(marker).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(alive_with(marker), Vec::<String>::new(), "processes survived the test");
    }
}

/// A program that never prints and never exits is stopped at its limit.
#[test]
fn hung_program_is_killed_at_the_limit() {
    let mutant = Mutant {
        name: "hangs",
        exercise: "01-bind-listen-accept",
        mistake: "hangs before printing anything",
        file: "src/main.rs",
        replace: &[(
            "fn main() {\n",
            "fn main() {\n    let _marker = \"hangs\";\n    loop {\n        std::thread::park();\n    }\n    #[allow(unreachable_code)]\n",
        )],
        caught_by: "-",
        clause: 0,
    };
    assert_ends_cleanly(&mutant, "mutant-01-hangs");
}

/// A program that forks a shell which forks `sleep` is stopped with all of them.
#[test]
fn forked_children_are_killed_too() {
    let mutant = Mutant {
        name: "forks-and-hangs",
        exercise: "01-bind-listen-accept",
        mistake: "starts a child process, then hangs",
        file: "src/main.rs",
        replace: &[(
            "fn main() {\n",
            "fn main() {\n    let _child = std::process::Command::new(\"sh\").args([\"-c\", \"sleep 300.1234501; true\"]).spawn();\n    loop {\n        std::thread::park();\n    }\n    #[allow(unreachable_code)]\n",
        )],
        caught_by: "-",
        clause: 0,
    };
    assert_ends_cleanly(&mutant, "300.1234501");
}

/// A child that leaves the process group with setsid is found through /proc and killed.
#[test]
fn children_in_a_new_session_are_killed_too() {
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: needs Linux (/proc) to find descendants outside the process group");
        return;
    }
    let mutant = Mutant {
        name: "setsid-and-hangs",
        exercise: "01-bind-listen-accept",
        mistake: "starts a child in a new session (setsid), then hangs",
        file: "src/main.rs",
        replace: &[(
            "fn main() {\n",
            "fn main() {\n    let _child = std::process::Command::new(\"setsid\").args([\"sh\", \"-c\", \"sleep 300.1234502; true\"]).spawn();\n    loop {\n        std::thread::park();\n    }\n    #[allow(unreachable_code)]\n",
        )],
        caught_by: "-",
        clause: 0,
    };
    assert_ends_cleanly(&mutant, "300.1234502");
}

/// A daemon that double-forks into a new session (its parent exits, so it is
/// nobody's descendant and in no group of ours) is found by its inherited
/// `SOCKLINGS_TEST` mark and killed too.
#[test]
fn orphaned_daemons_are_killed_too() {
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: needs Linux (/proc/PID/environ) to find orphaned daemons");
        return;
    }
    let mutant = Mutant {
        name: "daemonizes-and-hangs",
        exercise: "01-bind-listen-accept",
        mistake: "starts a daemon that double-forks into a new session, then hangs",
        file: "src/main.rs",
        replace: &[(
            "fn main() {\n",
            "fn main() {\n    let _ = std::process::Command::new(\"sh\").args([\"-c\", \"setsid sh -c 'sleep 300.1234503; true' & exit 0\"]).status();\n    loop {\n        std::thread::park();\n    }\n    #[allow(unreachable_code)]\n",
        )],
        caught_by: "-",
        clause: 0,
    };
    assert_ends_cleanly(&mutant, "300.1234503");
}
