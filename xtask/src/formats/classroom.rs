//! `classroom`: the result GitHub Classroom's autograding reporter reads.
//!
//! The reporter (classroom-resources/autograding-grading-reporter, src/main.js)
//! reads an environment variable `<RUNNER>_RESULTS` per runner, decodes it
//! from base64 and parses JSON shaped as the command grader writes it
//! (classroom-resources/autograding-command-grader, `generateResult`):
//! `{version: 1, status, max_score, tests: [{name, status, score, message,
//! test_code, filename, line_no, duration}]}`, statuses "pass", "fail" or
//! "error". It adds up the tests' `score`s against `max_score`
//! (src/notify-classroom.js: "Points X/Y") and fails the job on "fail" or
//! "error". This format is that base64 text, one line.

use super::{Json, base64};
use crate::grade::Grade;
use grader::runner::Status;

pub fn render(grade: &Grade) -> String {
    let mut tests = Vec::new();
    let mut errored = false;
    for graded in &grade.exercises {
        let report = &graded.report;
        for test in &report.tests {
            let status = match test.status {
                Status::Passed => "pass",
                Status::GraderError => {
                    errored = true;
                    "error"
                }
                _ => "fail",
            };
            let message = if test.status == Status::Passed {
                String::new()
            } else if test.status == Status::Skipped {
                // The summary already reads "skipped: <reason>".
                test.summary.clone()
            } else {
                format!("{}: {} (read {})", test.status.word(), test.summary, test.docs)
            };
            tests.push(Json::Obj(vec![
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
    }
    let status = if errored {
        "error"
    } else if grade.all_passed() {
        "pass"
    } else {
        "fail"
    };
    let result = Json::Obj(vec![
        ("version", Json::Int(1)),
        ("status", Json::str(status)),
        ("max_score", Json::Int(grade.max_score().into())),
        ("tests", Json::Arr(tests)),
    ]);
    format!("{}\n", base64(result.to_string_compact().as_bytes()))
}
