//! `cargo xtask grade`: runs the hidden tests for an instructor and writes a
//! grade in one or several formats (text, json, gradescope, classroom, junit).
//!
//! With `--submission DIR` the learner's exercise sources are graded inside a
//! fresh copy of the instructor's workspace, with the instructor's grader (see
//! `submission`). That copy lies outside the instructor's workspace and target
//! directory (by default under the system's temporary folder), and its builds
//! and programs run in the sandbox (`grader::sandbox`), which hides the
//! instructor's files from them; the grade lists the sandbox's walls and
//! warns, once, about each one not in force. Each build has its own time limit and never eats a test's
//! time; each test has its own limit; so the whole grade is bounded by the sum
//! of those limits, whatever the submission does.
//!
//! Every report is complete and true whenever it is read (see `report`): it
//! is written before anything is built, then after every test, atomically,
//! listing what is not graded yet with 0 points under the status
//! "incomplete"; a stopping signal writes it once more as "cut short"; the
//! last write, after every process the grade started is gone, says
//! "complete". The exit status says the same as the report's status:
//! 0 complete (whatever the score), 3 the grader failed (the report says
//! why), 128 + N stopped by signal N (as a shell reports it), 2 a wrong
//! command line (nothing was graded, no report written).

use crate::formats::{self, Format};
use crate::report::{self, Output, Stop};
use crate::submission;
use grader::Kind;
use grader::build::{Cargo, SHORT_WRITES_PACKAGE};
use grader::manifest::{Exercise, Manifest};
use grader::runner::{self, ExerciseReport, ExerciseStatus, Options, Status, TestReport};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one build may take before cargo is stopped. A cold build of an
/// exercise (socket2, libc) takes about 15 s on a loaded 2-core machine; the
/// default leaves a wide margin for slow CI runners.
const DEFAULT_BUILD_LIMIT: Duration = Duration::from_secs(300);

/// After a test's limit the runner waits up to this long for the test's
/// thread to notice its programs were killed (see `grader::runner`).
const RUNNER_GRACE: Duration = Duration::from_secs(2);

struct Args {
    exercises: Vec<String>,
    kind: Kind,
    submission: Option<PathBuf>,
    work: Option<PathBuf>,
    /// The format of a report without a `FORMAT=` prefix, and of standard output.
    format: Format,
    /// Every report file to write; empty: the report goes to standard output.
    outputs: Vec<Output>,
    seed: Option<u64>,
    require_all: bool,
    build_limit: Duration,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        exercises: Vec::new(),
        kind: Kind::Exercises,
        submission: None,
        work: None,
        format: Format::Text,
        outputs: Vec::new(),
        seed: None,
        require_all: false,
        build_limit: DEFAULT_BUILD_LIMIT,
    };
    // `--output` values, whose format may depend on a `--format` given later.
    let mut outputs: Vec<(Option<Format>, PathBuf)> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--solutions" => parsed.kind = Kind::Solutions,
            "--require-all" => parsed.require_all = true,
            "--submission" => parsed.submission = Some(PathBuf::from(value("--submission")?)),
            "--work" => parsed.work = Some(PathBuf::from(value("--work")?)),
            "--output" => outputs.push(output_arg(&value("--output")?)),
            "--format" => parsed.format = Format::parse(&value("--format")?)?,
            "--seed" => {
                let v = value("--seed")?;
                parsed.seed = Some(v.parse().map_err(|_| format!("--seed needs a number, not `{v}`"))?);
            }
            "--build-limit" => {
                let v = value("--build-limit")?;
                let secs: u64 = v.parse().map_err(|_| format!("--build-limit needs seconds, not `{v}`"))?;
                parsed.build_limit = Duration::from_secs(secs.max(1));
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}` for grade")),
            name => parsed.exercises.push(name.to_string()),
        }
    }
    for (format, path) in outputs {
        let format = format.unwrap_or(parsed.format);
        if let Some(same) = parsed.outputs.iter().find(|o| o.path == path) {
            return Err(format!(
                "--output {} is given twice (as {} and {})",
                path.display(),
                same.format.name(),
                format.name()
            ));
        }
        parsed.outputs.push(Output { format, path });
    }
    if parsed.work.is_some() && parsed.submission.is_none() {
        return Err("--work is where a --submission is copied and built; give --submission too".into());
    }
    if parsed.submission.is_some() && parsed.kind == Kind::Solutions {
        return Err("--submission grades a learner's exercises; it cannot be combined with --solutions".into());
    }
    Ok(parsed)
}

/// An `--output` value: `FORMAT=FILE` (`json=report.json`), or a plain
/// `FILE` in the `--format` format. Write `./json=x` for a file named so.
fn output_arg(value: &str) -> (Option<Format>, PathBuf) {
    match value.split_once('=') {
        Some((name, path)) if !path.is_empty() => match Format::parse(name) {
            Ok(format) => (Some(format), PathBuf::from(path)),
            Err(_) => (None, PathBuf::from(value)),
        },
        _ => (None, PathBuf::from(value)),
    }
}

/// One exercise's result, with what its build did.
pub struct Graded {
    pub report: ExerciseReport,
    pub build_duration: Duration,
    /// The build was stopped at its limit (the report reads "does not compile").
    pub build_timed_out: bool,
    /// Which of `report.tests` have a result. The others are placeholders
    /// with 0 points, for a grade that has not reached them (yet, or ever, if
    /// it was cut short). Tests run side by side and finish in any order.
    pub done: Vec<bool>,
}

impl Graded {
    /// An exercise the grade has not reached: every hidden test listed, at 0 points.
    pub fn pending(exercise: &Exercise) -> Graded {
        let mut report = ExerciseReport {
            exercise: exercise.clone(),
            status: ExerciseStatus::NotStarted,
            tests: Vec::new(),
        };
        add_placeholders(&mut report, NOT_GRADED);
        Graded {
            report,
            build_duration: Duration::ZERO,
            build_timed_out: false,
            done: Vec::new(),
        }
    }

    /// Whether every test of the exercise has its result.
    pub fn is_graded(&self) -> bool {
        (0..self.report.tests.len()).all(|i| self.test_graded(i))
    }

    /// Whether the `i`th test has its result (not a placeholder).
    pub fn test_graded(&self, i: usize) -> bool {
        self.done.get(i).copied().unwrap_or(false)
    }

    /// The exercise's state in one word, for every format.
    pub fn status_word(&self) -> &'static str {
        if !self.done.contains(&true) && !self.is_graded() {
            "not graded"
        } else if !self.is_graded() {
            "incomplete"
        } else if self.build_timed_out {
            "build timed out"
        } else {
            self.report.status.word()
        }
    }

    /// The `i`th test's state in one word (`Status::word`, or "not graded").
    pub fn test_word(&self, i: usize) -> &'static str {
        match self.report.tests.get(i) {
            Some(_) if !self.test_graded(i) => "not graded",
            Some(t) => t.status.word(),
            None => "",
        }
    }

    /// The `i`th test's state as one machine-readable word (the json format's).
    pub fn test_key(&self, i: usize) -> &'static str {
        match self.report.tests.get(i) {
            Some(_) if !self.test_graded(i) => "not_graded",
            Some(t) => formats::status_key(&t.status),
            None => "",
        }
    }

    pub fn score(&self) -> u32 {
        self.report.points()
    }

    /// The exercise's maximum, from the manifest.
    pub fn max_score(&self) -> u32 {
        self.report.exercise.points
    }
}

/// Where a grade stands. Every report states it, and the grader's exit
/// status says the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Still running. A report read in this state was left by a grader that
    /// was killed without warning (SIGKILL, out of memory).
    Running,
    /// Every selected exercise was graded.
    Complete,
    /// A signal stopped the grade; what was not graded reads 0 points.
    CutShort(Stop),
    /// The grader itself failed; what was not graded reads 0 points.
    Error(String),
}

impl State {
    /// One machine-readable word: `incomplete`, `complete`, `cut_short` or `error`.
    pub fn key(&self) -> &'static str {
        match self {
            State::Running => "incomplete",
            State::Complete => "complete",
            State::CutShort(_) => "cut_short",
            State::Error(_) => "error",
        }
    }

    /// The exit status the grader ends with in this state (none while running).
    pub fn exit_code(&self) -> Option<u8> {
        match self {
            State::Running => None,
            State::Complete => Some(0),
            State::CutShort(stop) => Some((128 + stop.number).clamp(129, 255) as u8),
            State::Error(_) => Some(EXIT_GRADER_ERROR),
        }
    }

    /// What a person reading the report must know, in a sentence; empty
    /// when the grade is complete.
    pub fn sentence(&self) -> String {
        match self {
            State::Running => "INCOMPLETE: this report was written while the grade was still running, and the grader never \
                               finished it (it was killed without warning); what was not graded reads 0 points."
                .to_string(),
            State::Complete => String::new(),
            State::CutShort(stop) => format!(
                "CUT SHORT: the grader received {} and stopped (exit status {}); what was not graded reads 0 points.",
                stop.name,
                self.exit_code().unwrap_or(0)
            ),
            State::Error(why) => format!(
                "GRADER ERROR: the grade could not be completed (exit status {EXIT_GRADER_ERROR}): {why}. What was not graded reads 0 points."
            ),
        }
    }
}

/// The exit status of a grade the grader could not complete.
pub const EXIT_GRADER_ERROR: u8 = 3;

/// The summary of a test the grade did not reach.
const NOT_GRADED: &str = "not graded: the grade stopped before this test ran";

/// A whole grade: what every format renders.
pub struct Grade {
    /// What was graded, in words (`exercises/ of /path`, `submission /path`).
    pub graded: String,
    pub seed: u64,
    pub require_all: bool,
    pub exercises: Vec<Graded>,
    /// Changes the submission made outside its exercise sources, and anything
    /// else an instructor should know; none of it changes the score.
    pub warnings: Vec<String>,
    pub duration: Duration,
    /// The most the grade could have taken: build limits plus test limits.
    pub bound: Duration,
    pub state: State,
    /// Each wall of the sandbox and whether it stood in this run (see
    /// `grader::sandbox::protections`); the ones that did not are also in
    /// `warnings`, once each, starting `sandbox:`. Data for the formats.
    #[allow(dead_code)]
    pub protections: Vec<grader::sandbox::Protection>,
}

impl Grade {
    pub fn score(&self) -> u32 {
        self.exercises.iter().map(Graded::score).sum()
    }

    pub fn max_score(&self) -> u32 {
        self.exercises.iter().map(Graded::max_score).sum()
    }

    /// Every test, with its exercise and whether it has a result.
    pub fn tests(&self) -> impl Iterator<Item = (&Graded, &TestReport, bool)> {
        self.exercises
            .iter()
            .flat_map(|g| g.report.tests.iter().enumerate().map(move |(i, t)| (g, t, g.test_graded(i))))
    }

    pub fn skipped(&self) -> usize {
        self.tests().filter(|(_, t, graded)| *graded && t.status == Status::Skipped).count()
    }

    pub fn all_passed(&self) -> bool {
        self.state == State::Complete
            && self.tests().all(|(_, t, _)| t.status == Status::Passed)
            && self.exercises.iter().all(|g| !g.report.tests.is_empty())
    }
}

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let args = parse(args)?;
    let selected: Vec<Exercise> = crate::select(manifest, &args.exercises)?.into_iter().cloned().collect();
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000)
            .unwrap_or(1)
    });
    let started = Instant::now();

    // The whole grade exists from the start, every exercise "not graded",
    // so that a report can be written at any moment from here on.
    let mut bound = args.build_limit;
    for exercise in &selected {
        let tests = grader::registry::tests_for(&exercise.id).unwrap_or(&[]);
        bound += args.build_limit + tests.iter().map(|t| t.limit + RUNNER_GRACE).sum::<Duration>();
    }
    let graded = match &args.submission {
        None => format!("{}/ of {}", args.kind.dir_name(), manifest.root.display()),
        Some(dir) => format!("submission {}", dir.display()),
    };
    let grade = Arc::new(Mutex::new(Grade {
        graded,
        seed,
        require_all: args.require_all,
        exercises: selected.iter().map(Graded::pending).collect(),
        warnings: Vec::new(),
        duration: Duration::ZERO,
        bound,
        state: State::Running,
        protections: grader::sandbox::protections(),
    }));

    // The first report, before anything the learner wrote is built or run.
    // If it cannot be written, nothing is graded.
    report::write_all(&args.outputs, &lock(&grade))?;
    let outputs = args.outputs.clone();
    let stdout_format = args.format;
    let on_signal = grade.clone();
    report::on_stop(move |stop| {
        // The grade's lock is kept until the process ends, so the grading
        // thread never writes a report again.
        let mut grade = lock(&on_signal);
        if grade.state != State::Running {
            // The grade is over and its final report written; the grader
            // is about to exit with the status that report states.
            return;
        }
        report::kill_everything_started();
        grade.state = State::CutShort(stop);
        grade.duration = started.elapsed();
        let code = finish(&grade, &outputs, stdout_format);
        std::process::exit(code.into());
    })?;

    let result = grade_all(manifest, &args, &selected, &grade, started);
    // Every test killed its own programs; this sweep makes sure nothing the
    // grade started can touch the report after the final write.
    report::kill_everything_started();
    let mut grade = lock(&grade);
    grade.state = match result {
        Ok(()) => State::Complete,
        Err(why) => State::Error(why),
    };
    grade.duration = started.elapsed();
    Ok(ExitCode::from(finish(&grade, &args.outputs, args.format)))
}

/// The grade's lock, even if a thread panicked while holding it (the grade
/// is still worth writing).
fn lock(grade: &Mutex<Grade>) -> MutexGuard<'_, Grade> {
    grade.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes the final reports (or prints the one report) of a grade whose
/// state is settled, tells the log, and returns the exit status, which says
/// what the reports' status says.
fn finish(grade: &Grade, outputs: &[Output], stdout_format: Format) -> u8 {
    let mut code = grade.state.exit_code().unwrap_or(EXIT_GRADER_ERROR);
    if outputs.is_empty() {
        print!("{}", formats::render(stdout_format, grade));
    } else {
        if let Err(e) = report::write_all(outputs, grade) {
            eprintln!("error: {e}");
            code = EXIT_GRADER_ERROR;
        }
        // The table goes to the log as well, for whoever reads the CI job.
        if !outputs.iter().any(|o| o.format == Format::Text) {
            print!("{}", formats::render(Format::Text, grade));
        }
        for output in outputs {
            eprintln!(
                "socklings: {} of {} points; {} report written to {}",
                grade.score(),
                grade.max_score(),
                output.format.name(),
                output.path.display()
            );
        }
    }
    if grade.state != State::Complete {
        eprintln!("socklings: {}", grade.state.sentence());
    }
    code
}

/// Grades every selected exercise into `grade`, rewriting the reports after
/// every test. An error is the grader's own failure (a submission that
/// cannot be copied, a report that cannot be written).
fn grade_all(manifest: &Manifest, args: &Args, selected: &[Exercise], grade: &Mutex<Grade>, started: Instant) -> Result<(), String> {
    let instructor = Cargo::for_workspace(&manifest.root, false);
    // Rewrites every report with what the grade knows now.
    let save = |grade: &mut Grade| {
        grade.duration = started.elapsed();
        report::write_all(&args.outputs, grade)
    };

    // Where to build: the instructor's own workspace, or a fresh copy of it
    // holding the submission's exercise sources, built in the sandbox.
    let cargo = match &args.submission {
        None => instructor.clone(),
        Some(dir) => {
            let work = match &args.work {
                Some(work) => work.clone(),
                None => default_work(dir)?,
            };
            let report_paths: Vec<&Path> = args.outputs.iter().map(|o| o.path.as_path()).collect();
            let (cargo, prepared_warnings) = prepare_submission(manifest, &instructor, dir, &work, &report_paths)?;
            let mut grade = lock(grade);
            grade.warnings.extend(prepared_warnings);
            formats::bound_warnings(&mut grade.warnings);
            save(&mut grade)?;
            cargo
        }
    };

    // Once, in every report from the first on: the walls that did not stand.
    {
        let mut grade = lock(grade);
        if args.submission.is_some() && cargo.jail.is_none() {
            grade.warnings.push(
                "sandbox: builds not sandboxed: the grader does not run as root, so the submission was built as the grader's own user"
                    .into(),
            );
        }
        grade.warnings.extend(grader::sandbox::missing_protections());
        formats::bound_warnings(&mut grade.warnings);
        save(&mut grade)?;
    }

    let options = Options {
        seed: lock(grade).seed,
        require_all: args.require_all,
        ..Options::default()
    };
    eprintln!("socklings: building the grader's short-writes library");
    // The grader's own library, built by the instructor's cargo from the
    // instructor's sources, never by the sandbox.
    let short_writes = if cfg!(target_os = "linux") {
        match instructor.build_within(SHORT_WRITES_PACKAGE, None, args.build_limit) {
            Ok(()) => {
                let library = instructor.bin_dir().join("libsocklings_short_writes.so");
                match (library.exists(), args.submission.is_some()) {
                    (false, _) => None,
                    (true, false) => Some(library),
                    // A copy the sandbox user cannot replace (see `stage`).
                    (true, true) => Some(stage(std::slice::from_ref(&library), "lib")?.join("libsocklings_short_writes.so")),
                }
            }
            Err(e) => {
                let mut grade = lock(grade);
                grade.warnings.push(format!(
                    "the grader's short-writes library did not build, so the tests that need it fail: {}",
                    e.log
                ));
                formats::bound_warnings(&mut grade.warnings);
                save(&mut grade)?;
                None
            }
        }
    } else {
        None
    };

    for (index, exercise) in selected.iter().enumerate() {
        let tests = grader::registry::tests_for(&exercise.id).unwrap_or(&[]);
        if tests.is_empty() {
            let mut grade = lock(grade);
            grade
                .warnings
                .push(format!("{} has no hidden tests in this grader; it scores 0", exercise.id));
            formats::bound_warnings(&mut grade.warnings);
        }
        eprintln!("socklings: building and testing {}", exercise.id);
        let package = exercise.package_for(args.kind);
        let build_started = Instant::now();
        let source_dir = cargo.root.join(args.kind.dir_name()).join(&exercise.dir);
        let built = cargo.build_crate(exercise, &package, &source_dir, None, Some(args.build_limit));
        let build_duration = build_started.elapsed();
        let mut graded = match built {
            Ok(()) => {
                lock(grade).exercises[index].build_duration = build_duration;
                // A submission's programs run from a copy of its binaries that
                // the sandbox user cannot change (see `stage`).
                let bin_dir = if args.submission.is_some() {
                    stage(&binaries(&cargo.bin_dir(), &package), &exercise.id)?
                } else {
                    cargo.bin_dir()
                };
                let target = grader::Target {
                    kind: args.kind,
                    package,
                    bin_dir,
                    source_dir,
                    short_writes: short_writes.clone(),
                };
                // Each result replaces its placeholder and is saved at once.
                let saved = std::sync::Mutex::new(Ok(()));
                let report = runner::run_exercise_with(exercise, &target, &options, &|at, test| {
                    let mut grade = lock(grade);
                    let graded = &mut grade.exercises[index];
                    if let Some(slot) = graded.report.tests.get_mut(at) {
                        *slot = test.clone();
                        formats::bound_test(slot);
                        graded.done.resize(graded.report.tests.len(), false);
                        graded.done[at] = true;
                    }
                    let mut saved = saved.lock().unwrap_or_else(|p| p.into_inner());
                    if saved.is_ok() {
                        *saved = save(&mut grade);
                    }
                });
                saved.into_inner().unwrap_or_else(|p| p.into_inner())?;
                Graded {
                    done: vec![true; report.tests.len()],
                    report,
                    build_duration,
                    build_timed_out: false,
                }
            }
            Err(e) => Graded {
                done: vec![true; tests.len()],
                report: not_built(exercise, &e.log, e.timed_out),
                build_duration,
                build_timed_out: e.timed_out,
            },
        };
        formats::bound_exercise(&mut graded.report);
        let mut grade = lock(grade);
        grade.exercises[index] = graded;
        save(&mut grade)?;
    }
    Ok(())
}

/// The report of an exercise that did not build: every hidden test is listed
/// with 0 points, so every format still shows the full maximum.
fn not_built(exercise: &Exercise, log: &str, timed_out: bool) -> ExerciseReport {
    let mut report = ExerciseReport::does_not_compile(exercise, log.to_string());
    let why = if timed_out {
        "not run: the build timed out"
    } else {
        "not run: the exercise does not compile"
    };
    add_placeholders(&mut report, why);
    report
}

/// Lists every hidden test of the report's exercise with 0 points and `why`.
fn add_placeholders(report: &mut ExerciseReport, why: &str) {
    let exercise = &report.exercise;
    for case in grader::registry::tests_for(&exercise.id).unwrap_or(&[]) {
        report.tests.push(TestReport {
            id: format!("{}.{}", exercise.number(), case.id),
            scenario: case.scenario,
            status: Status::Failed,
            points: 0,
            max_points: case.points,
            duration: Duration::ZERO,
            seed: 0,
            summary: why.to_string(),
            concept: case.concept,
            hint: case.hint.to_string(),
            docs: format!("{}#{}", exercise.docs, case.docs_anchor),
            panic: None,
            transcript: String::new(),
        });
    }
}

/// The compiler's output of an exercise that did not build, if any.
pub fn build_log(report: &ExerciseReport) -> Option<&str> {
    match &report.status {
        ExerciseStatus::DoesNotCompile(log) => Some(log),
        _ => None,
    }
}

/// The default work folder of a submission: under the system's temporary
/// folder, never inside the instructor's workspace or its target directory,
/// so that nothing built from the submission can reach either by a relative
/// path.
fn default_work(dir: &Path) -> Result<PathBuf, String> {
    let base = std::env::temp_dir().join("socklings-grade");
    match std::fs::symlink_metadata(&base) {
        Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => {
            return Err(format!("{} is not a folder (a symbolic link?); remove it", base.display()));
        }
        #[cfg(unix)]
        Ok(meta) => {
            // Someone else's folder in a shared /tmp could hold links of theirs.
            use std::os::unix::fs::MetadataExt;
            let me = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(meta.uid());
            if meta.uid() != me {
                return Err(format!(
                    "{} belongs to another user (uid {}); remove it or pass --work",
                    base.display(),
                    meta.uid()
                ));
            }
        }
        #[cfg(not(unix))]
        Ok(_) => {}
        Err(_) => {
            std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
            open_to_all(&base);
        }
    }
    Ok(base.join(work_name(dir)))
}

/// Mode 0755: the sandbox user may read and run, not change.
fn open_to_all(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// A regular file that can be run.
fn is_program(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    meta.is_file()
}

/// Copies the submission into `work`, sets up the sandbox for its builds
/// and programs, and returns the cargo to build it with.
fn prepare_submission(
    manifest: &Manifest,
    instructor: &Cargo,
    dir: &Path,
    work: &Path,
    reports: &[&Path],
) -> Result<(Cargo, Vec<String>), String> {
    let absolute = |p: &Path| {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        std::fs::canonicalize(&p).unwrap_or(p)
    };
    let work = absolute(work);
    let (root, target) = (absolute(&manifest.root), absolute(&instructor.target_dir));
    for (inside, what) in [(&root, "the instructor's workspace"), (&target, "its target directory")] {
        if work.starts_with(inside) {
            return Err(format!(
                "--work {} lies inside {what} ({}); a submission's build could reach the answers from there by a relative path. Choose a folder outside it (the default is under {})",
                work.display(),
                inside.display(),
                std::env::temp_dir().display()
            ));
        }
    }
    eprintln!("socklings: preparing {} in {}", dir.display(), work.display());
    let prepared = submission::prepare(manifest, dir, &work)?;
    let target_dir = work.join("target");
    let jail = grader::sandbox::BuildJail::prepare(&work, &target_dir)?;
    // Learner builds and programs never see the instructor's files; programs
    // do not see the work copy either (they run from staged binaries).
    grader::sandbox::hide(&root);
    grader::sandbox::hide(&target);
    for report in reports.iter().filter_map(|o| absolute(o).parent().map(Path::to_path_buf)) {
        if !absolute(&std::env::temp_dir()).starts_with(&report) {
            grader::sandbox::hide(&report);
        }
    }
    grader::sandbox::hide_from_programs(&work);
    let cargo = Cargo {
        root: prepared.root,
        target_dir,
        color: false,
        jail,
    };
    Ok((cargo, prepared.warnings))
}

/// The files in `bin_dir` built for `package`: its programs and its probe.
fn binaries(bin_dir: &Path, package: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(bin_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let extension = p.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
            (name == package || name.starts_with(&format!("{package}-")))
                && extension == std::env::consts::EXE_EXTENSION
                && std::fs::symlink_metadata(p).is_ok_and(|m| is_program(&m))
        })
        .collect()
}

/// Copies `files` into a fresh folder of this run owned by the grader
/// (`<temp>/socklings-run-PID/NAME`), from which programs are started: the
/// sandbox user can run them but not replace them, so nothing a program
/// does can change what a later test (or exercise) runs.
fn stage(files: &[PathBuf], name: &str) -> Result<PathBuf, String> {
    let dir = grader::sandbox::run_dir().map_err(|e| e.to_string())?.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    open_to_all(&dir);
    for file in files {
        let to = dir.join(file.file_name().unwrap_or_default());
        std::fs::copy(file, &to).map_err(|e| format!("cannot copy {} to {}: {e}", file.display(), to.display()))?;
        open_to_all(&to);
    }
    Ok(dir)
}

/// A folder name for a submission's working copy: its own name, made safe,
/// and a hash of its full path, so two submissions never share a copy.
fn work_name(dir: &Path) -> String {
    let full = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name = full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = runner::test_seed(0, &full.to_string_lossy()) % 0x1_0000_0000;
    format!("{safe}-{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(args: &[&str]) -> Result<Vec<(Format, String)>, String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let parsed = parse(&args)?;
        Ok(parsed
            .outputs
            .into_iter()
            .map(|o| (o.format, o.path.display().to_string()))
            .collect())
    }

    /// `--output` repeats; `FORMAT=` names a report's format, and a plain
    /// file takes `--format`'s, wherever `--format` is on the line.
    #[test]
    fn output_takes_a_format_and_repeats() {
        assert_eq!(
            outputs(&["--output", "json=a.json", "--output", "b.xml", "--format", "junit"]).unwrap(),
            [(Format::Json, "a.json".into()), (Format::Junit, "b.xml".into())]
        );
        assert_eq!(
            outputs(&["--output", "./json=x"]).unwrap(),
            [(Format::Text, "./json=x".into())],
            "a file named like a format is written with ./"
        );
        assert_eq!(outputs(&[]).unwrap(), []);
        let twice = outputs(&["--output", "json=r", "--output", "junit=r"]).unwrap_err();
        assert!(twice.contains("given twice"), "{twice}");
    }

    /// The exit status of each state, as docs/src/instructors.md states them.
    #[test]
    fn exit_statuses_follow_the_state() {
        assert_eq!(State::Complete.exit_code(), Some(0));
        assert_eq!(State::Error("x".into()).exit_code(), Some(3));
        let sigterm = Stop {
            number: 15,
            name: "SIGTERM",
        };
        assert_eq!(State::CutShort(sigterm).exit_code(), Some(143));
        assert_eq!(State::Running.exit_code(), None);
        assert!(State::CutShort(sigterm).sentence().contains("SIGTERM"));
    }
}
