//! `gradescope`: the `results.json` Gradescope's autograder harness reads from
//! `/autograder/results/results.json`.
//!
//! Format: "Autograder Specifications", Output format,
//! https://gradescope-autograders.readthedocs.io/en/latest/specs/
//! (source: gradescope/autograder_samples, docs/specs.md). Top level: `score`
//! (overrides the sum of the tests), `execution_time` (seconds), `output`,
//! `output_format`, `test_output_format`, `test_name_format`, `visibility`,
//! `extra_data`, `tests[]`; each test: `score`, `max_score`, `status`
//! ("passed" or "failed"), `name`, `name_format`, `number`, `output`,
//! `output_format`, `tags`, `visibility` ("hidden", "after_due_date",
//! "after_published" or "visible").
//!
//! Every format field is "text": "No HTML, Markdown, or ANSI will be
//! rendered". The top-level output's default, "simple_format", renders HTML,
//! so a submission's file name in a warning (`<img src=x onerror=...>.rs`)
//! would be markup; and "text" keeps the table's columns as written.

use super::{Json, explain};
use crate::grade::{Grade, build_log};
use grader::runner::Status;

/// The spec's format that renders nothing: what is written is what is shown.
const AS_WRITTEN: &str = "text";

pub fn render(grade: &Grade) -> Json {
    let mut tests = Vec::new();
    for (e, graded) in grade.exercises.iter().enumerate() {
        let report = &graded.report;
        for (i, test) in report.tests.iter().enumerate() {
            let mut output = if !graded.test_graded(i) {
                format!("Scenario: {}\n{}\n{}\n", test.scenario, test.summary, grade.state.sentence())
            } else if test.status == Status::Passed {
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
                _ if !graded.test_graded(i) => format!("{} (not graded)", test.id),
                Status::Skipped => format!("{} (skipped)", test.id),
                _ => test.id.clone(),
            };
            tests.push(Json::Obj(vec![
                ("score", Json::Int(test.points.into())),
                ("max_score", Json::Int(test.max_points.into())),
                ("status", Json::str(if test.status == Status::Passed { "passed" } else { "failed" })),
                ("name", Json::Str(name)),
                ("name_format", Json::str(AS_WRITTEN)),
                ("number", Json::Str(format!("{}.{}", e + 1, i + 1))),
                ("output", Json::Str(output)),
                ("output_format", Json::str(AS_WRITTEN)),
                ("tags", Json::Arr(vec![Json::str(&report.exercise.id)])),
                ("visibility", Json::str("visible")),
            ]));
        }
    }
    Json::Obj(vec![
        ("score", Json::Int(grade.score().into())),
        ("execution_time", Json::Int(grade.duration.as_secs().max(1) as i64)),
        ("output", Json::Str(super::text::render(grade))),
        ("output_format", Json::str(AS_WRITTEN)),
        ("test_output_format", Json::str(AS_WRITTEN)),
        ("test_name_format", Json::str(AS_WRITTEN)),
        ("visibility", Json::str("visible")),
        (
            "extra_data",
            Json::Obj(vec![
                ("socklings_status", Json::str(grade.state.key())),
                ("seed", Json::Int(grade.seed as i64)),
            ]),
        ),
        ("tests", Json::Arr(tests)),
    ])
}
