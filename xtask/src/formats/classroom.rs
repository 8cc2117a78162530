//! `classroom`: the results GitHub Classroom's autograding reporter reads.
//!
//! The reporter (classroom-resources/autograding-grading-reporter, v1, whose
//! dist/main.js is what runs) takes a list of runners and, for each, reads
//! an environment variable `<RUNNER>_RESULTS` (upper case), decodes it from
//! base64 and parses JSON shaped as the command grader writes it
//! (classroom-resources/autograding-command-grader): `{version: 1, status,
//! max_score, tests: [{name, status, score, message, test_code, filename,
//! line_no, duration}]}`, statuses "pass", "fail" or "error". It fails the
//! job when a runner's status is "fail" or "error".
//!
//! It computes a runner's points twice, differently: the notice GitHub
//! Classroom records ("Points X/Y", src/notify-classroom.js) adds up the
//! tests' `score`s, while the log ("Total points for R", the table;
//! src/helpers/test-helpers.js `getTestScore`) shows passed tests / all
//! tests x `max_score`. The two agree only when every test of a runner is
//! worth the same. So each runner here holds the tests of one exercise that
//! are worth the same points: `socklings01p10` is exercise 01's 10-point
//! tests. The log shows one `message` only for a test whose status is
//! "error"; a failure's reason is in the json report and in `cargo xtask check`.
//!
//! This format is one line per runner, `SOCKLINGS01P10_RESULTS=<base64>`,
//! ready to append to `$GITHUB_ENV` (docs/src/instructors.md shows the workflow).

use super::{Json, base64};
use crate::grade::{Grade, Graded};
use grader::runner::{Status, TestReport};

pub fn render(grade: &Grade) -> String {
    let mut out = String::new();
    for graded in &grade.exercises {
        let mut worths: Vec<u32> = graded.report.tests.iter().map(|t| t.max_points).collect();
        worths.sort_unstable();
        worths.dedup();
        for worth in worths {
            let tests: Vec<(usize, &TestReport)> = graded
                .report
                .tests
                .iter()
                .enumerate()
                .filter(|(_, t)| t.max_points == worth)
                .collect();
            // The reporter accepts runner names of letters and digits only.
            let number: String = graded
                .report
                .exercise
                .number()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            let name = format!("SOCKLINGS{}P{worth}", number.to_ascii_uppercase());
            let results = runner(grade, graded, &tests, worth);
            out.push_str(&format!("{name}_RESULTS={}\n", base64(results.to_string_compact().as_bytes())));
        }
    }
    out
}

/// One runner's results: `tests`, all worth `worth` points, of one exercise.
fn runner(grade: &Grade, graded: &Graded, tests: &[(usize, &TestReport)], worth: u32) -> Json {
    let report = &graded.report;
    let mut errored = false;
    let mut entries = Vec::new();
    for &(i, test) in tests {
        let status = match test.status {
            _ if !graded.test_graded(i) => "error",
            Status::Passed => "pass",
            Status::GraderError => "error",
            _ => "fail",
        };
        errored |= status == "error";
        let message = if !graded.test_graded(i) {
            format!("{} {}", test.summary, grade.state.sentence())
        } else if test.status == Status::Passed {
            String::new()
        } else if test.status == Status::Skipped {
            // The summary already reads "skipped: <reason>".
            test.summary.clone()
        } else {
            format!("{}: {} (read {})", test.status.word(), test.summary, test.docs)
        };
        entries.push(Json::Obj(vec![
            ("name", Json::Str(format!("{}: {}", test.id, test.scenario))),
            ("status", Json::str(status)),
            ("score", Json::Int(test.points.into())),
            ("message", Json::Str(message)),
            ("test_code", Json::Str(format!("cargo xtask check {}", report.exercise.number()))),
            ("filename", Json::Str(format!("exercises/{}/src/main.rs", report.exercise.dir))),
            ("line_no", Json::Int(0)),
            ("duration", Json::Int(test.duration.as_millis() as i64)),
        ]));
    }
    let status = if errored {
        "error"
    } else if tests.iter().all(|(_, t)| t.status == Status::Passed) {
        "pass"
    } else {
        "fail"
    };
    Json::Obj(vec![
        ("version", Json::Int(1)),
        ("status", Json::str(status)),
        ("max_score", Json::Int(i64::from(worth) * tests.len() as i64)),
        ("tests", Json::Arr(entries)),
    ])
}
