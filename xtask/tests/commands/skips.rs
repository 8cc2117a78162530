//! A machine that lacks something a test needs (IPv6, Linux, a tool) is told
//! so at the top of `check`, once, with the way to the whole course; an
//! exercise whose tests were partly skipped never reads as plainly passed
//! and does not count as done. The machine's lack is pretended with
//! `SOCKLINGS_PRETEND_MISSING`, which can only take checks away.

use super::util;
use std::time::Duration;

/// Runs `check --solutions 01` (exercise 01 has a test that needs IPv6),
/// with `pretend` as `SOCKLINGS_PRETEND_MISSING`; its exit status and output.
fn check_01(pretend: Option<&str>) -> (Option<i32>, String) {
    let mut command = util::xtask("xtask-tests");
    command.args(["check", "--solutions", "01", "--seed", "7"]);
    match pretend {
        Some(names) => command.env("SOCKLINGS_PRETEND_MISSING", names),
        None => command.env_remove("SOCKLINGS_PRETEND_MISSING"),
    };
    let output = command.timeout(Duration::from_secs(600)).output().expect("xtask runs");
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Without IPv6, `check` says before building that 01.ipv6 cannot run, why,
/// and where the whole course runs; the exercise reads "passed, but 1 test
/// could not run here" with the reason, progress counts it not done, and the
/// exit status is 1.
#[test]
fn a_partly_skipped_exercise_is_not_done() {
    let (status, out) = check_01(Some("ipv6"));
    let building = out.find("building").expect("check builds");
    let note = out
        .find("note: 1 test cannot run on this machine")
        .unwrap_or_else(|| panic!("no note at the top:\n{out}"));
    assert!(note < building, "the note comes before anything runs:\n{out}");
    assert_eq!(out.matches("note:").count(), 1, "said once:\n{out}");
    assert!(out[note..building].contains("01.ipv6"), "{out}");
    assert!(
        out[note..building].contains("dev container"),
        "the note says where everything runs:\n{out}"
    );

    let line = out
        .lines()
        .find(|l| l.contains("01-bind-listen-accept") && !l.contains("checking"))
        .unwrap_or_else(|| panic!("no line for 01:\n{out}"));
    assert!(line.contains("passed, but 1 test could not run here"), "{line}");
    assert!(!line.contains('✓'), "a partial pass has no tick: {line}");
    assert!(out.contains("not run: needs ipv6"), "the line's reason:\n{out}");
    assert!(out.contains("Progress: 0 of 1 done"), "{out}");
    assert!(!out.contains("Every selected exercise passes."), "{out}");
    assert_eq!(status, Some(1), "a partly skipped exercise is not done:\n{out}");
}

/// Where nothing is missing (a name that is no need pretends nothing), the
/// exercise is plainly passed and done, and nothing is said about skips.
#[test]
fn with_nothing_missing_check_says_nothing_about_skips() {
    if grader::platform::Need::Ipv6.missing().is_some() {
        eprintln!("this machine has no IPv6: exercise 01 cannot pass whole here");
        return;
    }
    let (status, out) = check_01(Some("no-such-need"));
    assert!(!out.contains("note:") && !out.contains("could not run"), "{out}");
    assert!(out.contains("✓ 01-bind-listen-accept"), "{out}");
    assert!(out.contains("Progress: 1 of 1 done"), "{out}");
    assert_eq!(status, Some(0), "{out}");
}
