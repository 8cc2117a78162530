//! `text`: a table for people, one line per exercise and per test, with the
//! reason under each test that did not pass.

use crate::grade::{Grade, State, build_log};
use grader::runner::Status;

pub fn render(grade: &Grade) -> String {
    let mut out = String::new();
    out.push_str(&format!("socklings grade of {} (seed {})\n", grade.graded, grade.seed));
    if grade.state != State::Complete {
        out.push_str(&format!("{}\n", grade.state.sentence()));
    }
    out.push('\n');
    out.push_str(&format!(
        "{:<44} {:<16} {:>9} {:>8}\n",
        "EXERCISE / TEST", "STATUS", "POINTS", "TIME"
    ));
    for graded in &grade.exercises {
        let report = &graded.report;
        out.push_str(&format!(
            "{:<44} {:<16} {:>9} {:>8}\n",
            report.exercise.id,
            graded.status_word(),
            format!("{}/{}", graded.score(), graded.max_score()),
            format!("{:.1} s", graded.build_duration.as_secs_f64()),
        ));
        for (i, test) in report.tests.iter().enumerate() {
            out.push_str(&format!(
                "  {:<42} {:<16} {:>9} {:>8}\n",
                test.id,
                graded.test_word(i),
                format!("{}/{}", test.points, test.max_points),
                format!("{:.1} s", test.duration.as_secs_f64()),
            ));
            if test.status != Status::Passed && graded.test_graded(i) {
                out.push_str(&format!("      {}\n", test.summary.lines().next().unwrap_or("")));
            }
        }
        if let Some(log) = build_log(report) {
            out.push_str("  The build's output:\n");
            for line in log.lines().take(40) {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out.push_str(&format!(
        "\n{:<44} {:<16} {:>9}\n",
        "TOTAL",
        if grade.all_passed() { "passed" } else { grade.state.key() },
        format!("{}/{}", grade.score(), grade.max_score())
    ));
    out.push_str(&format!(
        "Graded in {:.1} s (the limits bound it at {} s). The time after an exercise is its build's.\n",
        grade.duration.as_secs_f64(),
        grade.bound.as_secs()
    ));
    if grade.skipped() > 0 {
        out.push_str(&format!(
            "{} tests were skipped because this machine lacks what they need (see each reason); a skipped test earns no points. --require-all turns a skip into a failure.\n",
            grade.skipped()
        ));
    }
    if !grade.warnings.is_empty() {
        out.push_str("\nWarnings (none of these changes the score):\n");
        for warning in &grade.warnings {
            out.push_str(&format!("  - {warning}\n"));
        }
    }
    out
}
