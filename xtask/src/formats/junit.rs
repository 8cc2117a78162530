//! `junit`: JUnit XML, one `<testsuite>` per exercise, for GitLab, Jenkins and
//! any CI that reads it.
//!
//! GitLab reads `testsuites > testsuite > testcase` with `classname`, `name`,
//! `time`, and a `failure`, `error` or `skipped` child, plus `system-out`
//! ("Unit test reports", JUnit XML format specification,
//! https://docs.gitlab.com/ci/testing/unit_test_reports/). Points go in a
//! `<properties>` block and in each test's `system-out`, since JUnit has no
//! field for them.

use super::{escape_xml as x, explain};
use crate::grade::{Grade, build_log};
use grader::runner::Status;

pub fn render(grade: &Grade) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let count = |f: &dyn Fn(&Status) -> bool| grade.tests().filter(|(_, t)| f(&t.status)).count();
    out.push_str(&format!(
        "<testsuites name=\"socklings\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
        grade.tests().count(),
        count(&|s| is_failure(s)),
        count(&|s| *s == Status::GraderError),
        count(&|s| *s == Status::Skipped),
        grade.duration.as_secs_f64()
    ));
    for graded in &grade.exercises {
        let report = &graded.report;
        let tests = &report.tests;
        let time: f64 = graded.build_duration.as_secs_f64() + tests.iter().map(|t| t.duration.as_secs_f64()).sum::<f64>();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
            x(&report.exercise.id),
            tests.len(),
            tests.iter().filter(|t| is_failure(&t.status)).count(),
            tests.iter().filter(|t| t.status == Status::GraderError).count(),
            tests.iter().filter(|t| t.status == Status::Skipped).count(),
            time
        ));
        out.push_str("    <properties>\n");
        out.push_str(&format!(
            "      <property name=\"status\" value=\"{}\"/>\n",
            x(graded.status_word())
        ));
        out.push_str(&format!("      <property name=\"points\" value=\"{}\"/>\n", graded.score()));
        out.push_str(&format!("      <property name=\"max_points\" value=\"{}\"/>\n", graded.max_score()));
        out.push_str(&format!("      <property name=\"seed\" value=\"{}\"/>\n", grade.seed));
        out.push_str("    </properties>\n");
        for test in tests {
            out.push_str(&format!(
                "    <testcase classname=\"socklings.{}\" name=\"{}\" time=\"{:.3}\">\n",
                x(&report.exercise.id),
                x(&test.id),
                test.duration.as_secs_f64()
            ));
            match test.status {
                Status::Passed => {}
                Status::Skipped => out.push_str(&format!("      <skipped message=\"{}\"/>\n", x(&test.summary))),
                Status::GraderError => out.push_str(&format!(
                    "      <error message=\"{}\" type=\"grader error\">{}</error>\n",
                    x(&test.summary),
                    x(&explain(test))
                )),
                _ => out.push_str(&format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    x(&test.summary),
                    x(test.status.word()),
                    x(&explain(test))
                )),
            }
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                x(&format!(
                    "{}: {} of {} points. {}",
                    test.id, test.points, test.max_points, test.scenario
                ))
            ));
            out.push_str("    </testcase>\n");
        }
        if let Some(log) = build_log(report) {
            out.push_str(&format!("    <system-err>{}</system-err>\n", x(log)));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    if !grade.warnings.is_empty() {
        // Warnings go in a comment after the root, where every reader ignores
        // them; the text, json and gradescope formats show them properly.
        out.push_str("<!-- warnings:\n");
        for w in &grade.warnings {
            out.push_str(&format!("  {}\n", x(w).replace("--", "- -")));
        }
        out.push_str("-->\n");
    }
    out
}

fn is_failure(status: &Status) -> bool {
    matches!(status, Status::Failed | Status::TimedOut | Status::NotStarted)
}
