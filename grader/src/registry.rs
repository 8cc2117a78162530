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
    /// Whether the test may run beside others (see `Sharing`).
    pub sharing: Sharing,
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

/// How a hidden test shares the machine with other tests, declared as data
/// so that the runner can schedule them (`runner::run_exercises`) and the
/// gate can hold whoever runs them (`runner::run_test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Most tests: they wait for timers and for the program, so they run
    /// side by side, at most `Options::jobs()` at once.
    Shared,
    /// Measures the program (its CPU time, wakeups, scheduler state), which
    /// the load of the shared tests would skew: runs after them, beside at
    /// most `runner::MEASURING_AT_ONCE - 1` other measuring test. Two idle
    /// watches side by side do not disturb each other: a sleeping program's
    /// figures are zero however busy the machine is, and a busy one is
    /// runnable in every sample even on a shared core.
    Measures,
    /// Samples the program from a CPU it shares with it (`chat::share_cpu`,
    /// 03's and 10's `one-thread`): any other test on that CPU would take
    /// the sampler's turns and let a thread that lives for microseconds go
    /// unseen (it happened with two measuring tests at once), so nothing else runs.
    Alone,
}

impl Sharing {
    /// Runs after the shared tests (measuring or alone).
    pub fn apart(self) -> bool {
        self != Sharing::Shared
    }
}
