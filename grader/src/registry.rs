//! A hidden test as data: stable id, one-sentence scenario, points, time
//! limit, platform needs, the concept it checks, and the function that runs it.

use crate::ctx::{Ctx, Outcome};
use crate::platform::Need;
use std::time::Duration;

pub struct TestCase {
    /// Stable id within its exercise, such as `restart-time-wait`. Reports
    /// write it as `01.restart-time-wait`.
    pub id: &'static str,
    /// One sentence: the scenario the test plays out.
    pub scenario: &'static str,
    /// The numbered clauses of the exercise's contract (its chapter's
    /// `### The contract`) that this test checks: a program that breaks one of
    /// them should fail here. See `contract`.
    pub clauses: &'static [u32],
    pub points: u32,
    /// Wall-clock limit, counted from the test's start (never including builds).
    pub limit: Duration,
    pub needs: &'static [Need],
    /// The test measures the machine (the program's CPU time, wakeups,
    /// scheduler state or threads, which other tests' load would skew): it
    /// runs alone, after the others (`runner::exclusive_at_once`). Every
    /// other test runs side by side.
    pub exclusive: bool,
    /// The idea a failure means the learner is missing.
    pub concept: &'static str,
    /// What to try, shown after a failure unless the failure has its own hint.
    pub hint: &'static str,
    /// Heading in the exercise's chapter (the `#anchor`), for "read more".
    pub docs_anchor: &'static str,
    pub run: fn(&mut Ctx) -> Outcome,
}

/// The hidden tests of an exercise, by its id.
pub fn tests_for(exercise_id: &str) -> Option<&'static [TestCase]> {
    crate::exercises::ALL
        .iter()
        .find(|(id, _)| *id == exercise_id)
        .map(|(_, tests)| *tests)
}
