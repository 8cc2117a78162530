//! `cargo xtask grade`: the formats, and the integrity of submissions.

use super::util::{self, Element, Value, parse_json, parse_xml, unbase64};
use std::path::Path;
use std::time::{Duration, Instant};

const TARGET: &str = "xtask-tests";

/// The exercise these tests grade. Everything `grade` does is the same for
/// every exercise, and grading all six in five formats, several times, would
/// take most of ten minutes; `.ci/run` checks every solution separately.
const GRADED: &str = "01-bind-listen-accept";

/// The exercises in the reports: just [`GRADED`].
fn graded() -> Vec<&'static grader::manifest::Exercise> {
    vec![util::manifest().find(GRADED).expect("GRADED is in the manifest")]
}

/// Runs `grade ARGS --format FORMAT` and returns the report's text.
fn grade(args: &[&str], format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    util::xtask(TARGET)
        .arg("grade")
        .arg(GRADED)
        .args(args)
        .args(["--seed", "20261122", "--format", format, "--output"])
        .arg(&out)
        .timeout(Duration::from_secs(900))
        .assert()
        .success();
    std::fs::read_to_string(&out).unwrap()
}

/// Every format of one grade, checked for its consumer's fields.
pub struct Reports {
    pub json: Value,
    pub gradescope: Value,
    pub classroom: Vec<Value>,
    pub junit: Element,
    pub text: String,
}

/// The formats a test run writes, each to `report.<format>`.
const FORMATS: [&str; 5] = ["json", "gradescope", "classroom", "junit", "text"];

/// `--output FORMAT=FILE` for every format, into `dir`.
fn every_output(dir: &Path) -> Vec<String> {
    FORMATS
        .iter()
        .flat_map(|f| ["--output".to_string(), format!("{f}={}", dir.join(format!("report.{f}")).display())])
        .collect()
}

/// Reads and checks the reports [`every_output`] asked for.
fn read_every_format(dir: &Path) -> Reports {
    let read = |format: &str| {
        let path = dir.join(format!("report.{format}"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    Reports {
        json: check_json(&read("json")),
        gradescope: check_gradescope(&read("gradescope")),
        classroom: check_classroom(&read("classroom")),
        junit: check_junit(&read("junit")),
        text: read("text"),
    }
}

/// Runs `grade ARGS` once, writing every format (`--output FORMAT=FILE`
/// repeated), and checks each.
pub fn grade_every_format(args: &[&str]) -> Reports {
    let dir = tempfile::tempdir().unwrap();
    util::xtask(TARGET)
        .arg("grade")
        .arg(GRADED)
        .args(args)
        .args(["--seed", "20261122"])
        .args(every_output(dir.path()))
        .timeout(Duration::from_secs(900))
        .assert()
        .success();
    read_every_format(dir.path())
}

/// Total number of hidden tests of the manifest's exercises.
fn test_count() -> usize {
    graded()
        .iter()
        .map(|e| grader::registry::tests_for(&e.id).unwrap_or(&[]).len())
        .sum()
}

fn max_points() -> i64 {
    graded().iter().map(|e| e.points as i64).sum()
}

/// Checks socklings' own JSON report of a complete grade and returns it.
pub fn check_json(text: &str) -> Value {
    let v = check_json_any_state(text);
    assert_eq!(v.get("status").str(), "complete", "{v:?}");
    assert_eq!(v.get("exit_code").int(), 0);
    v
}

/// Checks socklings' own JSON report, complete or not, and returns it.
pub fn check_json_any_state(text: &str) -> Value {
    let v = parse_json(text).unwrap_or_else(|e| panic!("json format does not parse: {e}\n{text}"));
    assert_eq!(v.get("format_version").int(), 2);
    let state = v.get("status").str();
    assert!(["complete", "incomplete", "cut_short", "error"].contains(&state), "{state}");
    assert_eq!(v.get("status_message").str().is_empty(), state == "complete", "{v:?}");
    if state == "incomplete" {
        assert_eq!(v.get("exit_code"), &Value::Null, "a running grade has no exit status yet");
    } else {
        v.get("exit_code").int();
    }
    assert_eq!(v.get("max_points").int(), max_points());
    v.get("seed").int();
    v.get("duration_ms").int();
    assert!(v.get("bound_ms").int() > 0);
    v.get("warnings").array().iter().for_each(|w| {
        w.str();
    });
    let exercises = v.get("exercises").array();
    assert_eq!(exercises.len(), graded().len());
    let mut points = 0;
    let mut tests = 0;
    for e in exercises {
        let status = e.get("status").str();
        assert!(
            [
                "passed",
                "failing",
                "not_started",
                "does_not_compile",
                "build_timed_out",
                "not_graded",
                "incomplete"
            ]
            .contains(&status),
            "exercise status {status}"
        );
        let mut sum = 0;
        for t in e.get("tests").array() {
            for key in ["id", "scenario", "summary", "docs", "transcript"] {
                t.get(key).str();
            }
            let status = t.get("status").str();
            assert!(
                [
                    "passed",
                    "failed",
                    "timed_out",
                    "not_started",
                    "skipped",
                    "grader_error",
                    "not_graded"
                ]
                .contains(&status),
                "test status {status}"
            );
            assert!(
                status != "not_graded" || state != "complete",
                "a complete grade graded every test: {t:?}"
            );
            let (p, max) = (t.get("points").int(), t.get("max_points").int());
            assert!(p == 0 || (p == max && status == "passed"), "{t:?}");
            if status == "skipped" {
                assert!(t.get("summary").str().starts_with("skipped: "), "a skip gives its reason: {t:?}");
            }
            t.get("duration_ms").int();
            sum += p;
            tests += 1;
        }
        assert_eq!(sum, e.get("points").int());
        points += sum;
    }
    assert_eq!(tests, test_count(), "every hidden test is in the report");
    assert_eq!(points, v.get("points").int());
    v
}

/// Checks Gradescope's results.json fields (see xtask/src/formats/gradescope.rs).
pub fn check_gradescope(text: &str) -> Value {
    let v = parse_json(text).unwrap_or_else(|e| panic!("gradescope format does not parse: {e}"));
    let score = v.get("score").num();
    // Rendered as written: no HTML, Markdown or ANSI from anything in the report.
    for key in ["output_format", "test_output_format", "test_name_format"] {
        assert_eq!(v.get(key).str(), "text", "{key}");
    }
    v.get("execution_time").int();
    v.get("output").str();
    let visibilities = ["hidden", "after_due_date", "after_published", "visible"];
    assert!(visibilities.contains(&v.get("visibility").str()));
    let tests = v.get("tests").array();
    assert_eq!(tests.len(), test_count());
    let mut sum = 0.0;
    for t in tests {
        let (s, max) = (t.get("score").num(), t.get("max_score").num());
        assert!((0.0..=max).contains(&s));
        assert!(["passed", "failed"].contains(&t.get("status").str()));
        assert!(!t.get("name").str().is_empty());
        t.get("number").str();
        t.get("output").str();
        assert_eq!(t.get("output_format").str(), "text");
        assert_eq!(t.get("name_format").str(), "text");
        assert!(visibilities.contains(&t.get("visibility").str()));
        t.get("tags").array().iter().for_each(|tag| {
            tag.str();
        });
        if t.get("name").str().ends_with("(skipped)") {
            assert!(t.get("output").str().contains("skipped: "), "a skip gives its reason");
        }
        sum += s;
    }
    assert_eq!(sum, score);
    v
}

/// Checks GitHub Classroom's reporter input: one `NAME_RESULTS=<base64 of
/// the command grader's JSON>` line per runner, for `$GITHUB_ENV`, and that
/// the reporter's two ways of counting a runner's points agree
/// (autograding-grading-reporter v1: the notice adds up `score`s, the log
/// shows passed/total x `max_score`).
pub fn check_classroom(text: &str) -> Vec<Value> {
    let mut runners = Vec::new();
    let (mut max, mut tests) = (0, 0);
    for line in text.lines() {
        let (name, encoded) = line.split_once("_RESULTS=").expect("NAME_RESULTS=base64");
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            "the reporter takes runner names of letters and digits: {name}"
        );
        let json = String::from_utf8(unbase64(encoded).expect("classroom format is base64")).unwrap();
        let v = parse_json(&json).unwrap_or_else(|e| panic!("classroom JSON does not parse: {e}"));
        assert_eq!(v.get("version").int(), 1);
        assert!(["pass", "fail", "error"].contains(&v.get("status").str()));
        let entries = v.get("tests").array();
        assert!(!entries.is_empty(), "{name}");
        let mut passed = 0;
        let mut sum = 0;
        for t in entries {
            for key in ["name", "message", "test_code", "filename"] {
                t.get(key).str();
            }
            let status = t.get("status").str();
            assert!(["pass", "fail", "error"].contains(&status));
            passed += i64::from(status == "pass");
            sum += t.get("score").int();
            t.get("line_no").int();
            t.get("duration").int();
        }
        let runner_max = v.get("max_score").int();
        assert_eq!(
            passed * runner_max,
            sum * entries.len() as i64,
            "{name}: the log's passed/total x max_score must equal the notice's sum of scores"
        );
        max += runner_max;
        tests += entries.len();
        runners.push(v);
    }
    assert_eq!(max, max_points(), "the runners' maxima add up to the grade's");
    assert_eq!(tests, test_count());
    runners
}

/// The points the reporter's notice records: every runner's scores added up.
fn classroom_points(runners: &[Value]) -> i64 {
    runners
        .iter()
        .flat_map(|r| r.get("tests").array())
        .map(|t| t.get("score").int())
        .sum()
}

/// Checks the JUnit XML: well-formed, one testsuite per exercise, counts that add up.
pub fn check_junit(text: &str) -> Element {
    let root = parse_xml(text).unwrap_or_else(|e| panic!("junit format is not well-formed XML: {e}\n{text}"));
    assert_eq!(root.name, "testsuites");
    let suites = root.all("testsuite");
    assert_eq!(suites.len(), graded().len());
    let mut cases = 0;
    for suite in &suites {
        let tests = suite.all("testcase");
        assert_eq!(suite.attr("tests").parse::<usize>().unwrap(), tests.len());
        let count = |child: &str| tests.iter().filter(|t| !t.all(child).is_empty()).count();
        assert_eq!(suite.attr("failures").parse::<usize>().unwrap(), count("failure"));
        assert_eq!(suite.attr("errors").parse::<usize>().unwrap(), count("error"));
        assert_eq!(suite.attr("skipped").parse::<usize>().unwrap(), count("skipped"));
        for t in &tests {
            assert!(!t.attr("name").is_empty() && !t.attr("classname").is_empty());
            t.attr("time").parse::<f64>().unwrap();
            for skipped in t.all("skipped") {
                assert!(skipped.attr("message").starts_with("skipped: "), "a skip gives its reason");
                // GitLab shows the element's text, not its attributes.
                assert_eq!(skipped.text, skipped.attr("message"), "the reason is the <skipped> text");
            }
        }
        cases += tests.len();
    }
    assert_eq!(cases, test_count());
    assert_eq!(root.attr("tests").parse::<usize>().unwrap(), cases);
    root
}

/// The solutions score full marks in every format (less what this machine
/// skips), all written by one run.
#[test]
fn every_format_gives_the_solutions_full_marks() {
    let Reports {
        json,
        gradescope,
        classroom,
        junit,
        text,
    } = grade_every_format(&["--solutions"]);
    let full = util::reachable(&json);
    assert_eq!(json.get("points").int(), full, "{json:?}");
    assert_eq!(gradescope.get("score").int(), full);
    assert_eq!(classroom_points(&classroom), full);
    if full == max_points() {
        assert!(classroom.iter().all(|r| r.get("status").str() == "pass"));
        assert_eq!(junit.attr("failures"), "0");
    }
    assert!(text.contains(&format!("{full}/{}", max_points())), "{text}");
}

/// The untouched stubs score zero in every format, and every test says "not started".
#[test]
fn every_format_gives_the_stubs_zero() {
    let Reports {
        json,
        gradescope,
        classroom,
        junit,
        text,
    } = grade_every_format(&[]);
    assert_eq!(json.get("points").int(), 0);
    for e in json.get("exercises").array() {
        assert_eq!(e.get("status").str(), "not_started", "{e:?}");
    }
    assert_eq!(gradescope.get("score").int(), 0);
    assert!(classroom.iter().all(|r| r.get("status").str() == "fail"));
    assert_ne!(junit.attr("failures"), "0");
    assert!(text.contains(&format!("0/{}", max_points())), "{text}");
}

/// `--require-all` turns a skip into a failure; without skips it changes nothing.
#[test]
fn require_all_never_lets_a_skip_through() {
    let json = check_json(&grade(&["--solutions", "--require-all"], "json"));
    for e in json.get("exercises").array() {
        for t in e.get("tests").array() {
            assert_ne!(t.get("status").str(), "skipped", "{t:?}");
        }
    }
    assert!(json.get("require_all") == &Value::Bool(true));
}

/// A submission: a copy of the workspace named `name` in a fresh temporary folder.
fn submission(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    // As root the submission is built by the sandbox user, who must reach
    // the work folder beside it (tempdir makes 0700).
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let repo = dir.path().join(name);
    util::copy_workspace(&repo);
    (dir, repo)
}

/// Grades `repo`, copied and built in a `work` folder next to it (deleted
/// with its temporary folder).
fn grade_submission(repo: &Path, more: &[&str]) -> Value {
    let work = repo.with_file_name("work");
    let mut args = vec!["--submission", repo.to_str().unwrap(), "--work", work.to_str().unwrap()];
    args.extend_from_slice(more);
    check_json(&grade(&args, "json"))
}

/// A submission whose exercises hold the reference answers scores full marks,
/// and, having changed nothing else, gets no warning.
#[test]
fn a_submission_equal_to_the_solutions_scores_full_marks() {
    let (_dir, repo) = submission("solved");
    for e in graded() {
        let src = Path::new("src");
        let exercise = repo.join("exercises").join(&e.dir);
        std::fs::remove_dir_all(exercise.join(src)).unwrap();
        util::copy_dir(&util::root().join("solutions").join(&e.dir).join(src), &exercise.join(src), &|_| {
            false
        });
    }
    let json = grade_submission(&repo, &[]);
    assert_eq!(json.get("points").int(), util::reachable(&json), "{json:?}");
    // Only the sandbox's own notes (walls not in force on this machine, see
    // grader::sandbox::protections) may appear; nothing about the submission.
    let warnings: Vec<&Value> = json
        .get("warnings")
        .array()
        .iter()
        .filter(|w| !w.str().starts_with("sandbox:"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// A submission that edited the grader to pass every test, but left the
/// exercises as stubs, scores exactly what its stubs earn: zero. The edit is
/// listed as a warning.
#[test]
fn a_submission_that_edits_the_grader_scores_what_its_code_earns() {
    let (_dir, repo) = submission("cheat");
    let runner = repo.join("grader/src/runner.rs");
    let text = std::fs::read_to_string(&runner).unwrap();
    let hook = "    if let Some(reason) = missing_need(case.needs) {";
    assert_eq!(text.matches(hook).count(), 1, "update this test to match grader/src/runner.rs");
    let cheat = text.replace(
        hook,
        &format!("    report.points = case.points;\n    if seed != 1 {{\n        return report;\n    }}\n{hook}"),
    );
    std::fs::write(&runner, cheat).unwrap();
    // Its own manifest and exercise crate manifest are edited too.
    let cargo_toml = repo.join("exercises").join(&graded()[0].dir).join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&cargo_toml).unwrap();
    toml.push_str("\n# edited\n");
    std::fs::write(&cargo_toml, toml).unwrap();

    let json = grade_submission(&repo, &[]);
    assert_eq!(json.get("points").int(), 0, "{json:?}");
    let warnings: Vec<&str> = json.get("warnings").array().iter().map(Value::str).collect();
    assert!(warnings.iter().any(|w| w.contains("grader/src/runner.rs")), "{warnings:?}");
    assert!(
        warnings.iter().any(|w| w.contains("/Cargo.toml") && w.contains("manifest")),
        "{warnings:?}"
    );
}

/// A submission whose programs fork a child, flood their output and then
/// hang still gets a report listing every test, within the bound the report
/// states, and leaves no process behind.
#[test]
fn a_hanging_submission_gets_a_complete_report_in_bounded_time() {
    let (_dir, repo) = submission("hangs");
    let marker = 987_000 + std::process::id() % 1000;
    let program = format!(
        "fn main() {{\n    let _child = std::process::Command::new(\"sleep\").arg(\"{marker}\").spawn();\n    for i in 0..200_000 {{\n        println!(\"flood {{i}}\");\n    }}\n    loop {{\n        std::thread::sleep(std::time::Duration::from_secs(1000));\n    }}\n}}\n"
    );
    for e in graded() {
        std::fs::write(repo.join("exercises").join(&e.dir).join("src/main.rs"), &program).unwrap();
    }
    let started = Instant::now();
    let json = grade_submission(&repo, &["--build-limit", "120"]);
    let took = started.elapsed();
    assert_eq!(json.get("points").int(), 0);
    for e in json.get("exercises").array() {
        for t in e.get("tests").array() {
            assert!(["failed", "timed_out"].contains(&t.get("status").str()), "{t:?}");
        }
    }
    // The bound covers builds and tests; copying the workspace is extra.
    let bound = Duration::from_millis(json.get("bound_ms").int() as u64) + Duration::from_secs(60);
    assert!(took < bound, "took {took:?}, more than the report's bound {bound:?}");
    eprintln!("hanging submission graded in {took:?} (bound {bound:?})");
    #[cfg(target_os = "linux")]
    {
        let leftovers: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|p| std::fs::read(p.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| c.trim() == format!("sleep {marker}"))
            .collect();
        assert!(leftovers.is_empty(), "processes left running: {leftovers:?}");
    }
}

/// A build that never ends (rustc's constant evaluator spinning, allowed to
/// run on) is stopped at its limit, with cargo and the compiler, and reported
/// as "build timed out", with every test listed at zero points.
#[test]
fn a_build_over_its_limit_is_stopped_and_reported() {
    let (_dir, repo) = submission("slow-build");
    let program = "#[allow(long_running_const_eval)]\nconst SPIN: u64 = {\n    let mut i: u64 = 0;\n    loop {\n        i = i.wrapping_add(1);\n        if i == u64::MAX {\n            break;\n        }\n    }\n    i\n};\n\nfn main() {\n    println!(\"{SPIN}\");\n}\n";
    for e in graded() {
        std::fs::write(repo.join("exercises").join(&e.dir).join("src/main.rs"), program).unwrap();
    }
    // Short: whatever step is running when it passes (the dependencies or
    // the spinning constant), the build must be stopped and reported.
    let limit = 8;
    let started = Instant::now();
    let json = grade_submission(&repo, &["--build-limit", &limit.to_string()]);
    let took = started.elapsed();
    assert_eq!(json.get("points").int(), 0);
    for e in json.get("exercises").array() {
        assert_eq!(e.get("status").str(), "build_timed_out", "{e:?}");
        assert!(e.get("build_output").str().starts_with("build timed out"), "{e:?}");
        assert_eq!(
            e.get("tests").array().len(),
            grader::registry::tests_for(e.get("id").str()).unwrap_or(&[]).len()
        );
    }
    let exercises = graded().len() as u64;
    let bound = Duration::from_secs(limit * (exercises + 1) + 60);
    assert!(took < bound, "took {took:?}, more than {bound:?}");
    #[cfg(target_os = "linux")]
    {
        let work = repo.with_file_name("work").to_string_lossy().into_owned();
        let leftovers: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|p| std::fs::read(p.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| (c.contains("rustc") || c.contains("cargo")) && c.contains(&work))
            .collect();
        assert!(leftovers.is_empty(), "build processes left running: {leftovers:?}");
    }
}

/// Runs `grade ARGS` (every format, once) as on a machine without IPv6:
/// `SOCKLINGS_PRETEND_MISSING=ipv6` makes the need read as missing (it can
/// only take checks away), so the tests that need IPv6 are skipped. Earlier
/// this test made a user and network namespace without IPv6, which stock
/// Ubuntu 24.04 and Docker refuse, so it rarely ran where it mattered.
fn grade_without_ipv6(args: &[&str]) -> Reports {
    let dir = tempfile::tempdir().unwrap();
    util::xtask(TARGET)
        .env("SOCKLINGS_PRETEND_MISSING", "ipv6")
        .arg("grade")
        .arg(GRADED)
        .args(args)
        .args(["--seed", "7"])
        .args(every_output(dir.path()))
        .timeout(Duration::from_secs(900))
        .assert()
        .success();
    read_every_format(dir.path())
}

/// A test whose need is missing (IPv6, pretended missing) is shown as
/// skipped, with its reason, in every format, and earns nothing; with
/// `--require-all` it is a failure instead.
#[test]
fn skipped_tests_are_visible_in_every_format() {
    let needs_ipv6 = graded().iter().any(|e| {
        grader::registry::tests_for(&e.id)
            .unwrap_or(&[])
            .iter()
            .any(|t| t.needs.contains(&grader::platform::Need::Ipv6))
    });
    if !needs_ipv6 {
        eprintln!("no hidden test needs IPv6; nothing to skip");
        return;
    }
    let Reports {
        json,
        gradescope,
        classroom,
        junit,
        text,
    } = grade_without_ipv6(&["--solutions"]);
    let skipped: Vec<&Value> = json
        .get("exercises")
        .array()
        .iter()
        .flat_map(|e| e.get("tests").array())
        .filter(|t| t.get("status").str() == "skipped")
        .collect();
    assert!(!skipped.is_empty(), "{json:?}");
    assert!(
        skipped
            .iter()
            .all(|t| t.get("summary").str().contains("ipv6") && t.get("points").int() == 0)
    );
    assert!(json.get("points").int() < max_points());

    let named: Vec<&Value> = gradescope
        .get("tests")
        .array()
        .iter()
        .filter(|t| t.get("name").str().ends_with("(skipped)"))
        .collect();
    assert_eq!(named.len(), skipped.len());
    assert!(
        named
            .iter()
            .all(|t| t.get("score").int() == 0 && t.get("output").str().contains("ipv6"))
    );

    let messages = classroom
        .iter()
        .flat_map(|r| r.get("tests").array())
        .filter(|t| t.get("message").str().starts_with("skipped: "))
        .count();
    assert_eq!(messages, skipped.len());

    assert_eq!(junit.attr("skipped").parse::<usize>().unwrap(), skipped.len());
    assert!(text.contains("skipped: needs ipv6"), "{text}");

    let strict = grade_without_ipv6(&["--solutions", "--require-all"]).json;
    let tests: Vec<&Value> = strict
        .get("exercises")
        .array()
        .iter()
        .flat_map(|e| e.get("tests").array())
        .collect();
    assert!(tests.iter().all(|t| t.get("status").str() != "skipped"));
    let failed = tests
        .iter()
        .filter(|t| t.get("status").str() == "failed" && t.get("summary").str().starts_with("skipped: "))
        .count();
    assert_eq!(failed, skipped.len());
}

/// A grade the grader cannot carry out (here, a submission folder that does
/// not exist) still writes its report, which says "error" and why, with
/// every test listed as not graded; the exit status, 3, says the same.
#[test]
fn a_grade_that_fails_says_so_in_its_report_and_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    util::xtask(TARGET)
        .args(["grade", GRADED, "--submission"])
        .arg(dir.path().join("no-such-submission"))
        .arg("--output")
        .arg(format!("json={}", report.display()))
        .timeout(Duration::from_secs(60))
        .assert()
        .code(3);
    let json = check_json_any_state(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(json.get("status").str(), "error");
    assert_eq!(json.get("exit_code").int(), 3);
    assert!(json.get("status_message").str().contains("no-such-submission"), "{json:?}");
    let tests: Vec<&Value> = json.get("exercises").array().iter().flat_map(|e| e.get("tests").array()).collect();
    assert_eq!(tests.len(), test_count());
    assert!(
        tests
            .iter()
            .all(|t| t.get("status").str() == "not_graded" && t.get("points").int() == 0)
    );
}
