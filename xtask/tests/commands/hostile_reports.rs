//! Hostile submissions against the grade's *reports*: each is graded as an
//! instructor grades it (`grade --submission`), and the report left on disk
//! must be the grader's own, true, complete or saying why not, and bounded.
//!
//! The attacks run one at a time and share one work folder (under this
//! test binary's target folder), so that only the first builds the
//! exercise's dependencies. Each uses exercise 01, the fastest, and is small
//! and bounded: a program that kills, forges, floods or hangs, never forks
//! without end.

use super::grade::{Reports, check_gradescope, check_json, check_json_any_state, check_junit};
use super::util::{self, Value, parse_json};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TARGET: &str = "xtask-tests";
const EXERCISE: &str = "01-bind-listen-accept";

/// One attack at a time: they share the work folder.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The work folder the attacks share; kept between runs, like an
/// instructor's fixed `--work`, so its compiled dependencies are reused.
fn work() -> PathBuf {
    // Outside the instructor's workspace and target/, which grade refuses
    // as a work folder (a build there could reach the answers).
    std::env::temp_dir().join("socklings-hostile-reports-work")
}

/// A submission (a copy of the workspace) whose exercise 01 is `program`.
fn submission(program: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    // As root the submission is built by the sandbox user, who must reach
    // it (tempdir makes 0700).
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let repo = dir.path().join("submission");
    util::copy_workspace(&repo);
    std::fs::write(repo.join("exercises").join(EXERCISE).join("src/main.rs"), program).unwrap();
    (dir, repo)
}

/// Starts `grade --submission REPO` with `more` arguments (its outputs), as
/// a child the test can signal.
fn start_grade(repo: &Path, more: &[String]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("xtask"))
        .args(["grade", EXERCISE, "--seed", "11", "--build-limit", "300", "--submission"])
        .arg(repo)
        .arg("--work")
        .arg(work())
        .args(more)
        .env("CARGO_TARGET_DIR", util::root().join("target").join(TARGET))
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("xtask starts")
}

/// Waits for `child` to end, at most `limit` (a grade of exercise 01 is
/// bounded by its build limit plus its tests' limits).
fn wait_with_deadline(child: &mut std::process::Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the grade did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The longest a grade of exercise 01 can take here: its build limit, the
/// short-writes library's, and its tests' limits with the runner's grace.
const GRADE_LIMIT: Duration = Duration::from_secs(300 + 300 + 150 + 20 + 60);

/// `--output json=DIR/report.json` and friends, for every format.
fn outputs(dir: &Path) -> Vec<String> {
    ["json", "gradescope", "classroom", "junit", "text"]
        .iter()
        .flat_map(|f| ["--output".to_string(), format!("{f}={}", dir.join(format!("report.{f}")).display())])
        .collect()
}

/// Whether a learner's program runs as an identity that can neither write
/// the report's folder nor signal the grader: the sandbox's separate user and
/// hidden files, which need root. Where they are not in force, the attacks
/// that only they can stop are skipped, with the sandbox's own reason.
fn sandbox_in_force() -> Result<(), String> {
    for wall in grader::sandbox::protections() {
        if matches!(wall.name, "separate user" | "hidden instructor files") && !wall.in_force {
            return Err(format!("sandbox: {} not in force: {}", wall.name, wall.reason));
        }
    }
    Ok(())
}

/// A program that finds the grader (its nearest ancestor whose command line
/// holds `--output`), then, if `FORGE`, writes a full-marks report over
/// every `--output` file, and, if `KILL`, kills the grader with SIGKILL.
/// It then exits, so that nothing of it outlives the attack.
fn attacker(forge: bool, kill: bool) -> String {
    let program = r#"// An attack on the grade's report (xtask/tests/commands/hostile_reports.rs).
unsafe extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

const FORGE: bool = @FORGE@;
const KILL: bool = @KILL@;

fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .and_then(|(_, after)| after.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let forged = "{\"format_version\": 2, \"status\": \"complete\", \"exit_code\": 0, \"points\": 100, \"max_points\": 100, \"FORGED\": true}\n";
    let mut pid = std::os::unix::process::parent_id();
    while pid > 1 {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "--output") {
            if FORGE {
                for pair in args.windows(2).filter(|w| w[0] == "--output") {
                    let path = pair[1].split_once('=').map_or(pair[1].as_str(), |(_, p)| p);
                    let _ = std::fs::write(path, forged);
                    println!("forged {path}");
                }
            }
            if KILL {
                unsafe { kill(pid as i32, 9) };
                println!("killed {pid}");
            }
            return;
        }
        pid = parent_of(pid);
    }
    println!("no grader found");
}
"#;
    program.replace("@FORGE@", &forge.to_string()).replace("@KILL@", &kill.to_string())
}

/// The tests of exercise 01 in a json report.
fn tests_of(json: &Value) -> Vec<&Value> {
    json.get("exercises").array().iter().flat_map(|e| e.get("tests").array()).collect()
}

/// Attack: the program writes a full-marks report over every `--output`
/// file while its test runs, and does not kill the grader. The grader
/// replaces the report after every test and once more at the end, after
/// everything the grade started is gone: the forgery never survives.
#[test]
fn a_forged_report_is_replaced_by_the_graders_own() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, repo) = submission(&attacker(true, false));
    let reports = dir.path().join("reports");
    let mut grade = start_grade(&repo, &outputs(&reports));
    let status = wait_with_deadline(&mut grade, GRADE_LIMIT);
    assert!(status.success(), "the grade completes: {status:?}");
    for format in ["json", "gradescope", "classroom", "junit", "text"] {
        let text = std::fs::read_to_string(reports.join(format!("report.{format}"))).unwrap();
        assert!(!text.contains("FORGED"), "the {format} report on disk is the forgery:\n{text}");
    }
    let json = check_json(&std::fs::read_to_string(reports.join("report.json")).unwrap());
    assert_eq!(json.get("points").int(), 0, "{json:?}");
    // The attack did happen (the program said so in its transcript), or the
    // sandbox stopped it earlier: in its own PID namespace the program has
    // no grader to read the report's path from.
    let transcripts: Vec<&str> = tests_of(&json).iter().map(|t| t.get("transcript").str()).collect();
    let forged = transcripts.iter().any(|t| t.contains("forged "));
    let stopped = sandbox_in_force().is_ok() && transcripts.iter().any(|t| t.contains("no grader found"));
    assert!(
        forged || stopped,
        "the program neither forged the report nor was stopped by the sandbox, so this test proves nothing: {json:?}"
    );
}

/// Attack: the program kills the grader with SIGKILL, which no handler can
/// catch. The report on disk is the one the grader wrote before the test
/// began: valid, "incomplete", 0 points, no exit status, every test not
/// graded. (Where the sandbox is in force the kill is refused and the grade
/// completes with 0 points.)
#[test]
fn a_program_that_kills_the_grader_leaves_an_incomplete_report() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, repo) = submission(&attacker(false, true));
    let reports = dir.path().join("reports");
    let mut grade = start_grade(&repo, &outputs(&reports));
    let status = wait_with_deadline(&mut grade, GRADE_LIMIT);
    let text = std::fs::read_to_string(reports.join("report.json")).expect("a report is on disk");
    let json = check_json_any_state(&text);
    assert_eq!(json.get("points").int(), 0, "{json:?}");
    use std::os::unix::process::ExitStatusExt;
    if status.signal() == Some(9) {
        eprintln!("the program killed the grader; the report on disk is the incomplete one");
        assert_eq!(json.get("status").str(), "incomplete", "{json:?}");
        assert!(tests_of(&json).iter().all(|t| t.get("status").str() == "not_graded"), "{json:?}");
        // Every other format says the same.
        let gradescope = check_gradescope(&std::fs::read_to_string(reports.join("report.gradescope")).unwrap());
        assert_eq!(gradescope.get("extra_data").get("socklings_status").str(), "incomplete");
        let junit = check_junit(&std::fs::read_to_string(reports.join("report.junit")).unwrap());
        assert_eq!(junit.attr("errors"), junit.attr("tests"), "every test not graded is an <error>");
        let text = std::fs::read_to_string(reports.join("report.text")).unwrap();
        assert!(text.contains("INCOMPLETE"), "{text}");
    } else {
        eprintln!("the grader survived the attempt to kill it (sandboxed): the grade completed");
        assert!(status.success(), "{status:?}");
        assert_eq!(json.get("status").str(), "complete");
    }
}

/// Attack: the program forges a full-marks report and then kills the grader,
/// so no later write can replace the forgery. Only an identity that cannot
/// write the report's folder nor signal the grader stops this; it is checked
/// where the sandbox is in force, and skipped, with the reason, elsewhere.
#[test]
fn a_forged_report_and_a_killed_grader_never_score() {
    if let Err(why) = sandbox_in_force() {
        eprintln!("skipped: {why}; the lead enables this check when the sandbox is merged");
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, repo) = submission(&attacker(true, true));
    let reports = dir.path().join("reports");
    let mut grade = start_grade(&repo, &outputs(&reports));
    let status = wait_with_deadline(&mut grade, GRADE_LIMIT);
    let text = std::fs::read_to_string(reports.join("report.json")).expect("a report is on disk");
    assert!(!text.contains("FORGED"), "the report on disk is the forgery ({status:?}):\n{text}");
    let json = check_json(&text);
    assert_eq!(json.get("points").int(), 0, "{json:?}");
    assert!(status.success(), "the grader was not killed: {status:?}");
}

/// Attack: the program prints 20 lines of 1 MiB (and every test starts it).
/// Every report stays well under 1 MiB, each transcript is cut with a note
/// of what was cut, and the sizes are printed.
#[test]
fn twenty_lines_of_a_mebibyte_make_a_bounded_report() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let program = "fn main() {\n    let line = \"x\".repeat(1 << 20);\n    for _ in 0..20 {\n        println!(\"{line}\");\n    }\n}\n";
    let (dir, repo) = submission(program);
    let reports = dir.path().join("reports");
    let mut grade = start_grade(&repo, &outputs(&reports));
    let status = wait_with_deadline(&mut grade, GRADE_LIMIT);
    assert!(status.success(), "{status:?}");
    for format in ["json", "gradescope", "classroom", "junit", "text"] {
        let size = std::fs::metadata(reports.join(format!("report.{format}"))).unwrap().len();
        eprintln!("{format:>10}: {size:>7} bytes after 20 lines of 1 MiB");
        assert!(size < 256 * 1024, "the {format} report is {size} bytes");
    }
    let json = check_json(&std::fs::read_to_string(reports.join("report.json")).unwrap());
    assert_eq!(json.get("points").int(), 0);
    let cut = tests_of(&json)
        .iter()
        .filter(|t| t.get("transcript").str().contains("bytes cut here"))
        .count();
    assert!(cut > 0, "some transcript held the program's output and was cut: {json:?}");
}

/// Attack: a submission holding files whose names break markup (`--` that
/// would end an XML comment, `<`, `&`, `]]>`, quotes, an escape character).
/// Their names are listed as warnings, and every format stays well-formed
/// and shows them as text.
#[test]
fn file_names_that_break_markup_keep_every_format_well_formed() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, repo) = submission("fn main() {}\n");
    let names = [
        "notes---draft.md",
        "a<b&c]]>.md",
        "q\"u'ote.md",
        "<img src=x onerror=alert(1)>.md",
        "esc\u{1b}[31mred.md",
    ];
    for name in names {
        std::fs::write(repo.join(name), "hostile\n").unwrap();
    }
    let reports = dir.path().join("reports");
    let mut grade = start_grade(&repo, &outputs(&reports));
    let status = wait_with_deadline(&mut grade, GRADE_LIMIT);
    assert!(status.success(), "{status:?}");
    let read = |format: &str| std::fs::read_to_string(reports.join(format!("report.{format}"))).unwrap();
    let reports = Reports {
        json: check_json(&read("json")),
        gradescope: check_gradescope(&read("gradescope")),
        classroom: super::grade::check_classroom(&read("classroom")),
        junit: check_junit(&read("junit")),
        text: read("text"),
    };
    let warnings: Vec<&str> = reports.json.get("warnings").array().iter().map(Value::str).collect();
    let junit_warnings: Vec<&str> = reports
        .junit
        .all("testsuite")
        .iter()
        .flat_map(|s| s.all("properties"))
        .flat_map(|p| p.all("property"))
        .filter(|p| p.attr("name") == "warning")
        .map(|p| p.attr("value"))
        .collect();
    for name in ["notes---draft.md", "a<b&c]]>.md", "<img src=x onerror=alert(1)>.md"] {
        assert!(warnings.iter().any(|w| w.contains(name)), "json names {name}: {warnings:?}");
        assert!(
            junit_warnings.iter().any(|w| w.contains(name)),
            "junit names {name}: {junit_warnings:?}"
        );
        assert!(
            reports.gradescope.get("output").str().contains(name),
            "gradescope's output (rendered as text) names {name}"
        );
    }
}

/// Attack on the grade's end: SIGTERM (a CI runner's timeout) while a
/// program hangs in its test. The grader kills the program, writes a report
/// that says "cut short" in every format, and exits with 128 + 15, the
/// status the report states; nothing it started is left running.
#[test]
fn sigterm_leaves_a_cut_short_report_and_a_matching_exit_status() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let seconds = 900_000 + std::process::id() % 1000;
    let program = format!(
        "fn main() {{\n    let _child = std::process::Command::new(\"sleep\").arg(\"{seconds}\").spawn();\n    loop {{\n        std::thread::sleep(std::time::Duration::from_secs(1000));\n    }}\n}}\n"
    );
    let (dir, repo) = submission(&program);
    let reports = dir.path().join("reports");
    let mut grade = start_grade(&repo, &outputs(&reports));

    // Wait until the first report is on disk and a test is running (its
    // program's sleeping child exists), then stop the grade.
    let sleeper = format!("sleep {seconds}");
    let deadline = Instant::now() + GRADE_LIMIT;
    let a_test_runs = || reports.join("report.json").exists() && !processes(&|c| c == sleeper).is_empty();
    while !a_test_runs() {
        assert!(Instant::now() < deadline, "no test started within {GRADE_LIMIT:?}");
        assert!(grade.try_wait().unwrap().is_none(), "the grade ended before it could be stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    let signalled = Command::new("kill").args(["-TERM", &grade.id().to_string()]).status().unwrap();
    assert!(signalled.success());
    let status = wait_with_deadline(&mut grade, Duration::from_secs(30));

    assert_eq!(
        status.code(),
        Some(128 + 15),
        "the exit status says 'stopped by SIGTERM': {status:?}"
    );
    let json = check_json_any_state(&std::fs::read_to_string(reports.join("report.json")).unwrap());
    assert_eq!(json.get("status").str(), "cut_short", "{json:?}");
    assert_eq!(json.get("exit_code").int(), 128 + 15, "the report states the exit status");
    assert!(json.get("status_message").str().contains("SIGTERM"));
    assert!(
        tests_of(&json).iter().any(|t| t.get("status").str() == "not_graded"),
        "the tests never run are listed, not graded: {json:?}"
    );
    let junit = check_junit(&std::fs::read_to_string(reports.join("report.junit")).unwrap());
    let grade_status = junit.all("testsuite")[0]
        .all("properties")
        .iter()
        .flat_map(|p| p.all("property"))
        .find(|p| p.attr("name") == "grade_status")
        .map(|p| p.attr("value").to_string());
    assert_eq!(grade_status.as_deref(), Some("cut_short"));
    let gradescope = check_gradescope(&std::fs::read_to_string(reports.join("report.gradescope")).unwrap());
    assert!(gradescope.get("output").str().contains("CUT SHORT"));
    let classroom = std::fs::read_to_string(reports.join("report.classroom")).unwrap();
    let runners: Vec<Value> = classroom
        .lines()
        .map(|l| {
            let json = util::unbase64(l.split_once('=').unwrap().1).unwrap();
            parse_json(&String::from_utf8(json).unwrap()).unwrap()
        })
        .collect();
    assert!(
        runners.iter().any(|r| r.get("status").str() == "error"),
        "the reporter fails the job"
    );

    // The sleeping child, and anything run from the work folder (the
    // learner's program, cargo, rustc).
    let work = work().to_string_lossy().into_owned();
    let left = processes(&|c| c == sleeper || c.contains(&work));
    assert!(left.is_empty(), "processes left running after SIGTERM: {left:?}");
}

/// The command lines (arguments joined by spaces) of live processes that
/// `wanted` accepts.
fn processes(wanted: &dyn Fn(&str) -> bool) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| std::fs::read(p.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim().to_string())
        .filter(|c| wanted(c))
        .collect()
}
