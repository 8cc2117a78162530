//! `gradescope`: the `results.json` Gradescope's autograder harness reads from
//! `/autograder/results/results.json`.
//!
//! Format: "Autograder Specifications", Output format,
//! https://gradescope-autograders.readthedocs.io/en/latest/specs/
//! (source: gradescope/autograder_samples, docs/specs.md). Top level: `score`
//! (overrides the sum of the tests), `execution_time` (seconds), `output`,
//! `visibility`, `tests[]`; each test: `score`, `max_score`, `status`
//! ("passed" or "failed"), `name`, `number`, `output`, `tags`, `visibility`
//! ("hidden", "after_due_date", "after_published" or "visible").

use super::{Json, explain};
use crate::grade::{Grade, build_log};
use grader::runner::Status;

pub fn render(grade: &Grade) -> Json {
    let mut tests = Vec::new();
    for (e, graded) in grade.exercises.iter().enumerate() {
        let report = &graded.report;
        for (i, test) in report.tests.iter().enumerate() {
            let mut output = if test.status == Status::Passed {
                format!("passed: {}\n", test.scenario)
            } else {
                format!("Scenario: {}\n{}", test.scenario, explain(test))
            };
            if i == 0
                && let Some(log) = build_log(report)
            {
                output.push_str(&format!("\nThe build's output:\n{log}\n"));
            }
            let name = match test.status {
                Status::Skipped => format!("{} (skipped)", test.id),
                _ => test.id.clone(),
            };
            tests.push(Json::Obj(vec![
                ("score", Json::Int(test.points.into())),
                ("max_score", Json::Int(test.max_points.into())),
                ("status", Json::str(if test.status == Status::Passed { "passed" } else { "failed" })),
                ("name", Json::Str(name)),
                ("number", Json::Str(format!("{}.{}", e + 1, i + 1))),
                ("output", Json::Str(output)),
                ("tags", Json::Arr(vec![Json::str(&report.exercise.id)])),
                ("visibility", Json::str("visible")),
            ]));
        }
    }
    Json::Obj(vec![
        ("score", Json::Int(grade.score().into())),
        ("execution_time", Json::Int(grade.duration.as_secs().max(1) as i64)),
        ("output", Json::Str(super::text::render(grade))),
        ("visibility", Json::str("visible")),
        ("tests", Json::Arr(tests)),
    ])
}
