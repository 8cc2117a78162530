//! Runs an exercise's hidden tests against a built program and collects verdicts.
//!
//! Tests run side by side (`run_exercises`), except those that measure the
//! program or sample it (`registry::Sharing`), which run after the others,
//! two at a time or alone. Each test runs on its own thread so the runner can
//! enforce its time limit from outside: when the limit passes, the runner kills every process group
//! the test started (which also unblocks the test's socket reads) and records
//! "timed out" with the transcript so far. The clock starts only after the
//! program was built; building is the caller's job (see `build`).

use crate::Target;
use crate::ctx::{Ctx, Failure};
use crate::manifest::Exercise;
use crate::platform::Need;
use crate::process::Panic;
use crate::registry::{self, Sharing, TestCase};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    /// The test's time limit passed; the program was killed.
    TimedOut,
    /// The program reached a `todo!()`: that part is not written yet.
    NotStarted,
    /// The machine lacks something the test needs; the reason is in `summary`.
    Skipped,
    /// The grader itself broke (a bug in socklings, not in the learner's code).
    GraderError,
}

impl Status {
    pub fn word(&self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::TimedOut => "timed out",
            Status::NotStarted => "not started",
            Status::Skipped => "skipped",
            Status::GraderError => "grader error",
        }
    }
}

/// The verdict of one hidden test.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// Full id, such as `01.restart-time-wait`.
    pub id: String,
    pub scenario: &'static str,
    pub status: Status,
    pub points: u32,
    pub max_points: u32,
    pub duration: Duration,
    pub seed: u64,
    /// The expectation that failed (or why the test was skipped).
    pub summary: String,
    pub concept: &'static str,
    pub hint: String,
    /// `docs/src/01-x.md#anchor`
    pub docs: String,
    pub panic: Option<Panic>,
    /// Numbered steps, ready to print.
    pub transcript: String,
}

/// The overall state of one exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExerciseStatus {
    Passed,
    Failing,
    NotStarted,
    /// The crate does not compile; the compiler's output is attached.
    DoesNotCompile(String),
}

impl ExerciseStatus {
    pub fn word(&self) -> &'static str {
        match self {
            ExerciseStatus::Passed => "passed",
            ExerciseStatus::Failing => "failing",
            ExerciseStatus::NotStarted => "not started",
            ExerciseStatus::DoesNotCompile(_) => "does not compile",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExerciseReport {
    pub exercise: Exercise,
    pub status: ExerciseStatus,
    pub tests: Vec<TestReport>,
}

impl ExerciseReport {
    /// The report for an exercise that did not build: every test scores zero.
    pub fn does_not_compile(exercise: &Exercise, compiler_output: String) -> ExerciseReport {
        ExerciseReport {
            exercise: exercise.clone(),
            status: ExerciseStatus::DoesNotCompile(compiler_output),
            tests: Vec::new(),
        }
    }

    pub fn points(&self) -> u32 {
        self.tests.iter().map(|t| t.points).sum()
    }

    pub fn passed(&self) -> usize {
        self.tests.iter().filter(|t| t.status == Status::Passed).count()
    }

    pub fn skipped(&self) -> usize {
        self.tests.iter().filter(|t| t.status == Status::Skipped).count()
    }

    /// The first test that did not pass and was not skipped.
    pub fn first_failure(&self) -> Option<&TestReport> {
        self.tests.iter().find(|t| !matches!(t.status, Status::Passed | Status::Skipped))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run only the tests whose id (without the exercise prefix) is listed.
    pub only: Vec<String>,
    /// Base seed for randomised tests; each test derives its own from it.
    pub seed: u64,
    /// Treat a skipped test as failed (for graders that must run everything).
    pub require_all: bool,
    /// How many tests may run at once; 0 chooses from the machine (see `jobs`).
    pub jobs: usize,
}

impl Options {
    /// The number of tests run at once. Most tests spend their time waiting
    /// for timers and for the program under test, not computing: on 2 cores,
    /// 8 at once ran the suite in 10–13 s (4 at once: 14 s) and still
    /// passed with two busy loops on both cores; 12 at once ran it in 7.9 s
    /// but a correct program failed twice in about 100 runs (a loss reported
    /// 560 ms late on a quiet machine, a heartbeat answered more than 200 ms
    /// late beside a busy loop), so 8 it is.
    /// Tests that measure the machine run apart anyway (`TestCase::sharing`).
    pub fn jobs(&self) -> usize {
        if self.jobs > 0 {
            return self.jobs;
        }
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        (4 * cores).clamp(4, 8)
    }
}

/// Runs every hidden test of `exercise` against `target` (several at once;
/// see `run_exercises`).
pub fn run_exercise(exercise: &Exercise, target: &Target, options: &Options) -> ExerciseReport {
    run_exercise_with(exercise, target, options, &|_, _| {})
}

/// [`run_exercise`], handing each test's report to `on_test` (with the test's
/// place in the exercise's list) as soon as the test is over, so that `grade`
/// can write its report as it goes and a grade cut short still keeps every
/// test that finished. Tests finish in any order.
pub fn run_exercise_with(
    exercise: &Exercise,
    target: &Target,
    options: &Options,
    on_test: &(dyn Fn(usize, &TestReport) + Sync),
) -> ExerciseReport {
    run_exercises_with(&[(exercise, target)], options, &|_, t, report| on_test(t, report)).remove(0)
}

/// Runs the hidden tests of several exercises, each against its target, and
/// returns one report per exercise, tests in the registry's order.
///
/// The tests are independent (each takes its ports from port 0 and kills
/// everything it started), and most of their time is spent waiting for
/// timers, so they run side by side, at most `options.jobs()` at once. A test
/// that measures the machine (CPU time, scheduler state) runs after the
/// others, beside at most one other measuring test, or alone when it samples
/// the program from a CPU it shares with it (see `registry::Sharing`), so
/// that no other test's load skews its figures.
pub fn run_exercises(items: &[(&Exercise, &Target)], options: &Options) -> Vec<ExerciseReport> {
    run_exercises_with(items, options, &|_, _, _| {})
}

/// [`run_exercises`], handing each test's report to `on_test` with the
/// exercise's place in `items` and the test's place in its exercise.
pub fn run_exercises_with(
    items: &[(&Exercise, &Target)],
    options: &Options,
    on_test: &(dyn Fn(usize, usize, &TestReport) + Sync),
) -> Vec<ExerciseReport> {
    use std::sync::Mutex;
    struct Job<'a> {
        slot: (usize, usize),
        exercise: &'a Exercise,
        case: &'static TestCase,
        target: &'a Target,
    }
    let mut shared = Vec::new();
    let mut apart = Vec::new();
    let mut slots: Vec<Vec<Option<TestReport>>> = Vec::new();
    for (e, (exercise, target)) in items.iter().enumerate() {
        let tests = registry::tests_for(&exercise.id).unwrap_or(&[]);
        let selected: Vec<&'static TestCase> = tests
            .iter()
            .filter(|c| options.only.is_empty() || options.only.iter().any(|o| o == c.id))
            .collect();
        slots.push(vec![None; selected.len()]);
        for (t, case) in selected.into_iter().enumerate() {
            let job = Job {
                slot: (e, t),
                exercise,
                case,
                target,
            };
            if case.sharing.apart() { apart.push(job) } else { shared.push(job) }
        }
    }
    // Longest first: the run's length is its longest test, so start it
    // early. How long a test takes is what it took when it last passed here
    // (`TestTimes`); a test never timed here goes first, by its limit.
    let times = items.first().map(|(_, target)| TestTimes::load(target));
    let expected = |job: &Job| {
        let id = format!("{}.{}", job.exercise.number(), job.case.id);
        times.as_ref().and_then(|t| t.get(&id)).unwrap_or(job.case.limit)
    };
    shared.sort_by_key(|j| std::cmp::Reverse(expected(j)));
    let queue = Mutex::new(shared.into_iter());
    let results = Mutex::new(slots);
    let passed = Mutex::new(Vec::new());
    let store = |job: &Job, report: TestReport| {
        if report.status == Status::Passed {
            passed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((report.id.clone(), report.duration));
        }
        on_test(job.slot.0, job.slot.1, &report);
        results.lock().unwrap_or_else(|p| p.into_inner())[job.slot.0][job.slot.1] = Some(report);
    };
    std::thread::scope(|scope| {
        for _ in 0..options.jobs() {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some(job) = next else { break };
                    store(&job, run_test(job.exercise, job.case, job.target, options));
                }
            });
        }
    });
    // Then the tests that measure, two at a time, those alone first (the
    // gate keeps everything else out while one runs).
    apart.sort_by_key(|j| j.case.sharing != Sharing::Alone);
    let queue = Mutex::new(apart.into_iter());
    std::thread::scope(|scope| {
        for _ in 0..MEASURING_AT_ONCE {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some(job) = next else { break };
                    store(&job, run_test(job.exercise, job.case, job.target, options));
                }
            });
        }
    });
    if let Some(times) = times {
        times.save(&passed.into_inner().unwrap_or_else(|p| p.into_inner()));
    }
    let slots = results.into_inner().unwrap_or_else(|p| p.into_inner());
    items
        .iter()
        .zip(slots)
        .map(|((exercise, _), tests)| {
            let tests: Vec<TestReport> = tests.into_iter().flatten().collect();
            ExerciseReport {
                exercise: (*exercise).clone(),
                status: verdict(&tests),
                tests,
            }
        })
        .collect()
}

/// How long each test took the last time it passed on this machine, kept in
/// a small file beside the binaries (`target/debug/.socklings-test-times`,
/// one `ID SECONDS` line per test), so that the scheduler can start the
/// longest tests first. It only orders the tests: a missing, stale or edited
/// file changes no verdict, only how soon the run ends.
struct TestTimes {
    path: std::path::PathBuf,
    known: std::collections::HashMap<String, Duration>,
}

impl TestTimes {
    fn load(target: &Target) -> TestTimes {
        let path = target.bin_dir.join(".socklings-test-times");
        let known = read_small_file(&path)
            .lines()
            .filter_map(|line| {
                let (id, secs) = line.split_once(' ')?;
                let secs: f64 = secs.trim().parse().ok()?;
                (secs.is_finite() && secs >= 0.0).then(|| (id.to_string(), Duration::from_secs_f64(secs.min(3600.0))))
            })
            .collect();
        TestTimes { path, known }
    }

    fn get(&self, id: &str) -> Option<Duration> {
        self.known.get(id).copied()
    }

    /// Records the tests that passed in this run; written to a new file
    /// that then replaces the old one, so a reader never sees half a file.
    /// Failing to write is no error: the next run orders by limits.
    fn save(mut self, passed: &[(String, Duration)]) {
        if passed.is_empty() {
            return;
        }
        for (id, took) in passed {
            self.known.insert(id.clone(), *took);
        }
        let mut lines: Vec<String> = self.known.iter().map(|(id, d)| format!("{id} {:.3}\n", d.as_secs_f64())).collect();
        lines.sort();
        // A new file of an unguessable name, created with O_EXCL (a learner's
        // program, which can write beside its binaries, cannot have planted
        // a link there), then renamed over the old one (a rename replaces a
        // link, it does not follow it).
        let Some(dir) = self.path.parent() else { return };
        if let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) {
            use std::io::Write;
            if file.write_all(lines.concat().as_bytes()).is_ok() {
                let _ = file.persist(&self.path);
            }
        }
    }
}

/// The text of `path` if it is a regular file (not a link, a FIFO that
/// would block, or a device), at most 1 MiB of it; empty otherwise.
fn read_small_file(path: &std::path::Path) -> String {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK);
    }
    let Ok(file) = options.open(path) else { return String::new() };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return String::new();
    }
    let mut text = String::new();
    let _ = file.take(1 << 20).read_to_string(&mut text);
    text
}

fn verdict(reports: &[TestReport]) -> ExerciseStatus {
    let counted: Vec<&TestReport> = reports.iter().filter(|t| t.status != Status::Skipped).collect();
    if counted.iter().all(|t| t.status == Status::Passed) {
        ExerciseStatus::Passed
    } else if counted.iter().all(|t| t.status == Status::NotStarted) {
        ExerciseStatus::NotStarted
    } else {
        ExerciseStatus::Failing
    }
}

/// Derives a test's seed from the run's seed and the test's id, so that one
/// printed number replays the whole run.
pub fn test_seed(base: u64, test_id: &str) -> u64 {
    // FNV-1a: tiny, stable across Rust versions (unlike DefaultHasher).
    let mut h: u64 = 0xcbf29ce484222325 ^ base;
    for b in test_id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// How many tests of this process are running, of each kind, and whether
/// a test that runs apart waits.
static GATE: Gate = Gate::new();

struct Gate {
    state: std::sync::Mutex<GateState>,
    changed: std::sync::Condvar,
}

struct GateState {
    /// `Sharing::Shared` tests running.
    shared: usize,
    /// `Sharing::Measures` tests running.
    measuring: usize,
    /// `Sharing::Alone` tests running (0 or 1).
    alone: usize,
    /// Tests that run apart, waiting: no shared test starts meanwhile.
    waiting: usize,
}

struct Pass {
    gate: &'static Gate,
    sharing: Sharing,
}

/// How many measuring tests may run at once, with each other only: two.
/// Half a second of idle watch is half a second of the suite while nothing
/// else runs; two at a time ran that part in 1.5 s instead of 2.6 s. The
/// tests that sample a program from its own CPU (`Sharing::Alone`) still
/// run with nothing beside them: with two measuring tests at once, 03's
/// `one-thread` once missed a thread that lived for microseconds.
pub const MEASURING_AT_ONCE: usize = 2;

impl Gate {
    /// An empty gate: nothing running, nothing waiting.
    const fn new() -> Gate {
        Gate {
            state: std::sync::Mutex::new(GateState {
                shared: 0,
                measuring: 0,
                alone: 0,
                waiting: 0,
            }),
            changed: std::sync::Condvar::new(),
        }
    }

    /// Waits until this test may start: a shared one when fewer than `jobs`
    /// run and no other kind runs or waits; a measuring one when no shared
    /// or alone test runs and fewer than `MEASURING_AT_ONCE` measuring ones
    /// do; an alone one when nothing else runs.
    fn enter(&'static self, sharing: Sharing, jobs: usize) -> Pass {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let busy = |state: &GateState| match sharing {
            Sharing::Shared => state.waiting > 0 || state.measuring > 0 || state.alone > 0 || state.shared >= jobs.max(1),
            Sharing::Measures => state.shared > 0 || state.alone > 0 || state.measuring >= MEASURING_AT_ONCE,
            Sharing::Alone => state.shared > 0 || state.alone > 0 || state.measuring > 0,
        };
        if sharing.apart() {
            state.waiting += 1;
        }
        while busy(&state) {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if sharing.apart() {
            state.waiting -= 1;
        }
        *state.count(sharing) += 1;
        Pass { gate: self, sharing }
    }
}

impl GateState {
    fn count(&mut self, sharing: Sharing) -> &mut usize {
        match sharing {
            Sharing::Shared => &mut self.shared,
            Sharing::Measures => &mut self.measuring,
            Sharing::Alone => &mut self.alone,
        }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        *state.count(self.sharing) -= 1;
        self.gate.changed.notify_all();
    }
}

/// Runs one test with its time limit, once the process's gate lets it in
/// (at most `options.jobs()` at once; a test that measures after the
/// others, see `registry::Sharing`).
pub fn run_test(exercise: &Exercise, case: &'static TestCase, target: &Target, options: &Options) -> TestReport {
    let seed = test_seed(options.seed, case.id);
    let mut report = TestReport {
        id: format!("{}.{}", exercise.number(), case.id),
        scenario: case.scenario,
        status: Status::Passed,
        points: 0,
        max_points: case.points,
        duration: Duration::ZERO,
        seed,
        summary: String::new(),
        concept: case.concept,
        hint: case.hint.to_string(),
        docs: format!("{}#{}", exercise.docs, case.docs_anchor),
        panic: None,
        transcript: String::new(),
    };

    if let Some(reason) = missing_need(case.needs) {
        report.status = if options.require_all { Status::Failed } else { Status::Skipped };
        report.summary = format!("skipped: {reason}");
        return report;
    }

    // At most `jobs` tests run at once in this process, and a test that
    // measures runs apart, whoever runs them: the scheduler above already keeps
    // its own measuring tests for the end, and the gate also holds when
    // several runs share a process (the project's tests run mutants and
    // references side by side).
    let _gate = GATE.enter(case.sharing, options.jobs());
    let mut ctx = Ctx::new(target.clone(), seed, case.limit);
    let transcript = ctx.transcript.clone();
    let groups = ctx.groups.clone();
    let panics = ctx.panics.clone();
    let cell = ctx.cell.clone();
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let handle = std::thread::Builder::new().name(report.id.clone()).spawn(move || {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| (case.run)(&mut ctx)));
        let left = ctx.finish();
        let _ = tx.send(result.map(|outcome| (outcome, left)));
    });
    let mut left = Ok(());
    let outcome = match handle {
        Err(e) => Err(Err(format!("cannot start a thread: {e}"))),
        Ok(_) => match rx.recv_timeout(case.limit) {
            Ok(Ok((result, proof))) => {
                left = proof;
                Ok(result)
            }
            Ok(Err(panic)) => Err(Err(panic_text(&panic))),
            Err(_) => {
                // Time is up: kill everything the test started. Its socket reads
                // then return, and the thread ends on its own shortly after.
                crate::process::kill_test(&groups);
                left = cell.finish();
                let _ = rx.recv_timeout(Duration::from_secs(2));
                Err(Ok(()))
            }
        },
    };
    report.duration = started.elapsed();
    let todo = panics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|p| p.is_todo())
        .cloned();
    match outcome {
        Ok(Ok(())) => {
            report.points = case.points;
        }
        Ok(Err(failure)) if failure.skipped => {
            report.status = if options.require_all { Status::Failed } else { Status::Skipped };
            report.summary = format!("skipped: {}", failure.summary);
        }
        Ok(Err(failure)) => {
            report.status = if todo.is_some() { Status::NotStarted } else { Status::Failed };
            fill_failure(&mut report, failure);
        }
        Err(Ok(())) => {
            report.status = if todo.is_some() { Status::NotStarted } else { Status::TimedOut };
            report.summary = format!(
                "the test did not finish within its limit of {:.0} s; your program was stopped (with everything it started)",
                case.limit.as_secs_f64()
            );
        }
        Err(Err(message)) => {
            report.status = Status::GraderError;
            report.summary =
                format!("the grader itself failed: {message}. This is a bug in socklings, not in your code; please report it.");
        }
    }
    // A process of the test outlived it: whatever the test saw, the grade
    // cannot stand on it (a survivor could still be changing things).
    if let Err(survivors) = left {
        report.status = Status::Failed;
        report.points = 0;
        report.summary = format!(
            "processes of this test outlived it and could not be stopped: {survivors}. The test fails whatever it saw; every process a program starts must end with the test."
        );
    }
    if report.status == Status::NotStarted {
        report.panic = todo;
    } else if report.panic.is_none() && report.status != Status::Passed {
        report.panic = panics.lock().unwrap_or_else(|p| p.into_inner()).first().cloned();
    }
    if report.status != Status::Passed {
        report.transcript = transcript.render("  ");
    }
    report
}

fn fill_failure(report: &mut TestReport, failure: Failure) {
    report.summary = failure.summary;
    if let Some(hint) = failure.hint {
        report.hint = hint;
    }
    report.panic = failure.panic;
}

fn missing_need(needs: &[Need]) -> Option<String> {
    needs.iter().find_map(|n| n.missing())
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which kinds of test the gate lets in beside which: a shared test
    /// never beside a measuring one, two measuring ones together but not
    /// three, an alone one beside nothing.
    #[test]
    fn the_gate_keeps_each_kind_apart() {
        static TEST_GATE: Gate = Gate::new();
        // Whether a test of this kind would start now (entered on a thread,
        // given 200 ms; the thread is left to finish once the way is free).
        fn starts(sharing: Sharing) -> bool {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let pass = TEST_GATE.enter(sharing, 8);
                let _ = tx.send(());
                drop(pass);
            });
            rx.recv_timeout(Duration::from_millis(200)).is_ok()
        }
        let first = TEST_GATE.enter(Sharing::Measures, 8);
        assert!(!starts(Sharing::Alone), "an alone test started beside a measuring one");
        let second = TEST_GATE.enter(Sharing::Measures, 8);
        drop((first, second));
        let alone = TEST_GATE.enter(Sharing::Alone, 8);
        assert!(!starts(Sharing::Measures), "a measuring test started beside an alone one");
        drop(alone);
        let shared = TEST_GATE.enter(Sharing::Shared, 8);
        assert!(!starts(Sharing::Measures), "a measuring test started beside a shared one");
        drop(shared);
        let a = TEST_GATE.enter(Sharing::Measures, 8);
        let b = TEST_GATE.enter(Sharing::Measures, 8);
        assert!(!starts(Sharing::Measures), "three measuring tests at once");
        drop((a, b));
        // Everything waiting got in and left again: the gate is empty.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = TEST_GATE.state.lock().unwrap();
            if state.shared + state.measuring + state.alone + state.waiting == 0 {
                break;
            }
            drop(state);
            assert!(Instant::now() < deadline, "the gate never emptied");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn target_in(dir: &std::path::Path) -> Target {
        Target {
            kind: crate::Kind::Solutions,
            package: "none".into(),
            bin_dir: dir.to_path_buf(),
            source_dir: dir.to_path_buf(),
            short_writes: None,
        }
    }

    /// The times of passed tests come back on the next load; lines that are
    /// not `ID SECONDS` are ignored.
    #[test]
    fn test_times_are_kept_between_runs() {
        let dir = tempfile::tempdir().unwrap();
        let target = target_in(dir.path());
        std::fs::write(dir.path().join(".socklings-test-times"), "01.a 1.5\nnonsense\n02.b -3\n03.c NaN\n").unwrap();
        let times = TestTimes::load(&target);
        assert_eq!(times.get("01.a"), Some(Duration::from_millis(1500)));
        assert_eq!(times.get("02.b"), None);
        assert_eq!(times.get("03.c"), None);
        times.save(&[("04.d".to_string(), Duration::from_millis(250))]);
        let times = TestTimes::load(&target);
        assert_eq!(times.get("01.a"), Some(Duration::from_millis(1500)));
        assert_eq!(times.get("04.d"), Some(Duration::from_millis(250)));
    }

    /// A FIFO or a link where the file should be is not read (a FIFO would
    /// block the grader) and changes nothing: the run orders by limits.
    #[cfg(unix)]
    #[test]
    fn test_times_ignore_what_is_not_a_plain_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".socklings-test-times");
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path and a mode; mkfifo only creates a file.
        assert_eq!(unsafe { nix::libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        assert!(TestTimes::load(&target_in(dir.path())).known.is_empty());
        std::fs::remove_file(&path).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "01.a 1.5\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(TestTimes::load(&target_in(dir.path())).known.is_empty());
        // Saving replaces the link, and leaves what it pointed to alone.
        TestTimes::load(&target_in(dir.path())).save(&[("02.b".to_string(), Duration::from_secs(1))]);
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "01.a 1.5\n");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    }
}
