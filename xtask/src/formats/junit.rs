//! `junit`: JUnit XML, one `<testsuite>` per exercise, for GitLab, Jenkins and
//! any CI that reads it.
//!
//! GitLab's parser (gitlabhq/gitlabhq, lib/gitlab/ci/parsers/test/junit.rb)
//! turns the XML into a hash (ActiveSupport's `Hash.from_xml`) and reads, for
//! each `testcase` under `testsuites > testsuite`: `classname`, `name`,
//! `time`, `file`, and a `failure`, `error` or `skipped` child whose *text*
//! becomes the test's details (an element's attributes are dropped when it
//! has text, and a `<skipped message="..."/>` without text shows no reason);
//! with a failure or an error it appends the testcase's own `system-out` and
//! `system-err`. Anything at the testsuite level is ignored. A document that
//! is not well-formed loses every test ("JUnit XML parsing failed").
//!
//! So each reason is an element's text, the compiler's output of an exercise
//! that does not build is the first testcase's `system-err`, and everything
//! from a submission (file names in warnings, a program's output in a
//! transcript) is escaped text, never in a comment. Points go in a
//! `<properties>` block and in each test's `system-out`, since JUnit has no
//! field for them.

use super::{escape_xml as x, explain};
use crate::grade::{Grade, State, build_log};
use grader::runner::Status;

pub fn render(grade: &Grade) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let count = |f: &dyn Fn(&Status, bool) -> bool| grade.tests().filter(|(_, t, graded)| f(&t.status, *graded)).count();
    out.push_str(&format!(
        "<testsuites name=\"socklings\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
        grade.tests().count(),
        count(&|s, graded| graded && is_failure(s)),
        count(&|s, graded| !graded || *s == Status::GraderError),
        count(&|s, graded| graded && *s == Status::Skipped),
        grade.duration.as_secs_f64()
    ));
    for (e, graded) in grade.exercises.iter().enumerate() {
        let report = &graded.report;
        let tests = &report.tests;
        let kind = |i: usize| -> Kind {
            match tests[i].status {
                _ if !graded.test_graded(i) => Kind::Error,
                Status::GraderError => Kind::Error,
                Status::Skipped => Kind::Skipped,
                Status::Passed => Kind::Passed,
                _ => Kind::Failure,
            }
        };
        let of_kind = |k: Kind| (0..tests.len()).filter(|&i| kind(i) == k).count();
        let time: f64 = graded.build_duration.as_secs_f64() + tests.iter().map(|t| t.duration.as_secs_f64()).sum::<f64>();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
            x(&report.exercise.id),
            tests.len(),
            of_kind(Kind::Failure),
            of_kind(Kind::Error),
            of_kind(Kind::Skipped),
            time
        ));
        out.push_str("    <properties>\n");
        let property = |out: &mut String, name: &str, value: &str| {
            out.push_str(&format!("      <property name=\"{}\" value=\"{}\"/>\n", x(name), x(value)));
        };
        property(&mut out, "status", graded.status_word());
        property(&mut out, "points", &graded.score().to_string());
        property(&mut out, "max_points", &graded.max_score().to_string());
        property(&mut out, "seed", &grade.seed.to_string());
        // What concerns the whole grade goes with the first exercise.
        if e == 0 {
            property(&mut out, "grade_status", grade.state.key());
            if grade.state != State::Complete {
                property(&mut out, "grade_status_message", &grade.state.sentence());
            }
            for warning in &grade.warnings {
                property(&mut out, "warning", warning);
            }
        }
        out.push_str("    </properties>\n");
        for (i, test) in tests.iter().enumerate() {
            out.push_str(&format!(
                "    <testcase classname=\"socklings.{}\" name=\"{}\" time=\"{:.3}\">\n",
                x(&report.exercise.id),
                x(&test.id),
                test.duration.as_secs_f64()
            ));
            match kind(i) {
                Kind::Passed => {}
                Kind::Skipped => out.push_str(&format!(
                    "      <skipped message=\"{}\">{}</skipped>\n",
                    x(&test.summary),
                    x(&test.summary)
                )),
                Kind::Error if !graded.test_graded(i) => {
                    let why = format!("{} {}", test.summary, grade.state.sentence());
                    out.push_str(&format!(
                        "      <error message=\"{}\" type=\"not graded\">{}</error>\n",
                        x(&test.summary),
                        x(&why)
                    ))
                }
                Kind::Error => out.push_str(&format!(
                    "      <error message=\"{}\" type=\"grader error\">{}</error>\n",
                    x(&test.summary),
                    x(&explain(test))
                )),
                Kind::Failure => out.push_str(&format!(
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
            if i == 0
                && let Some(log) = build_log(report)
            {
                out.push_str(&format!("      <system-err>{}</system-err>\n", x(log)));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// What a testcase holds besides its output.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Passed,
    Failure,
    Error,
    Skipped,
}

fn is_failure(status: &Status) -> bool {
    matches!(status, Status::Failed | Status::TimedOut | Status::NotStarted)
}
