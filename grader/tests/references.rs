//! The same hidden tests, against the untouched stubs and the reference solutions.

use crate::util;
use grader::Kind;
use grader::runner::{ExerciseStatus, Status};

/// Every stub in exercises/ reads "not started", never "failing" or "crashed".
#[test]
fn every_stub_reads_not_started() {
    for report in util::run_references(None, Kind::Exercises) {
        let odd: Vec<String> = report
            .tests
            .iter()
            .filter(|t| !matches!(t.status, Status::NotStarted | Status::Skipped))
            .map(|t| format!("{} {}: {}\n{}", t.id, t.status.word(), t.summary, t.transcript))
            .collect();
        assert_eq!(
            report.status,
            ExerciseStatus::NotStarted,
            "{} stub:\n{}",
            report.exercise.id,
            odd.join("\n")
        );
    }
}

/// Every solution passes every hidden test (skips only for a missing platform need).
///
/// `SOCKLINGS_EXERCISE=NN` limits it to one exercise: mutation testing with
/// cargo-mutants (docs/ARCHITECTURE.md, "Mutation testing") runs this test
/// against each mutated copy of one solution.
#[test]
fn every_solution_passes() {
    let only = std::env::var("SOCKLINGS_EXERCISE").ok();
    for report in util::run_references(only.as_deref(), Kind::Solutions) {
        let exercise = &report.exercise;
        let failed: Vec<String> = report
            .tests
            .iter()
            .filter(|t| !matches!(t.status, Status::Passed | Status::Skipped))
            .map(|t| format!("{} {}: {}\n{}", t.id, t.status.word(), t.summary, t.transcript))
            .collect();
        assert!(failed.is_empty(), "{} solution fails:\n{}", exercise.id, failed.join("\n"));
        let points: u32 = report.tests.iter().map(|t| t.max_points).sum();
        assert_eq!(
            points, exercise.points,
            "{}: the hidden tests' points must add up to the manifest's",
            exercise.id
        );
    }
}

/// Every test's docs anchor is a heading in the exercise's chapter.
#[test]
fn every_docs_anchor_exists() {
    for exercise in &util::manifest().exercises {
        let page = std::fs::read_to_string(util::root().join(&exercise.docs)).unwrap_or_else(|e| panic!("{}: {e}", exercise.docs));
        // Headings only: a `# comment` inside a code block is none.
        let anchors = crate::docs::anchors(&page);
        for case in grader::registry::tests_for(&exercise.id).unwrap_or(&[]) {
            assert!(
                anchors.iter().any(|a| a == case.docs_anchor),
                "{}: test {} points to #{}, which is no heading of {}",
                exercise.id,
                case.id,
                case.docs_anchor,
                exercise.docs
            );
        }
    }
}

/// The anchor GitHub and mdBook give a heading: lower case, spaces to dashes,
/// punctuation other than `-` and `_` dropped.
pub fn github_anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
