//! `cargo xtask grade`: runs the hidden tests for an instructor and writes a
//! grade in one of several formats (text, json, gradescope, classroom, junit).
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

use crate::formats::{self, Format};
use crate::submission;
use grader::Kind;
use grader::build::{Cargo, SHORT_WRITES_PACKAGE};
use grader::manifest::{Exercise, Manifest};
use grader::runner::{self, ExerciseReport, ExerciseStatus, Options, Status, TestReport};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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
    format: Format,
    output: Option<PathBuf>,
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
        output: None,
        seed: None,
        require_all: false,
        build_limit: DEFAULT_BUILD_LIMIT,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--solutions" => parsed.kind = Kind::Solutions,
            "--require-all" => parsed.require_all = true,
            "--submission" => parsed.submission = Some(PathBuf::from(value("--submission")?)),
            "--work" => parsed.work = Some(PathBuf::from(value("--work")?)),
            "--output" => parsed.output = Some(PathBuf::from(value("--output")?)),
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
    if parsed.work.is_some() && parsed.submission.is_none() {
        return Err("--work is where a --submission is copied and built; give --submission too".into());
    }
    if parsed.submission.is_some() && parsed.kind == Kind::Solutions {
        return Err("--submission grades a learner's exercises; it cannot be combined with --solutions".into());
    }
    Ok(parsed)
}

/// One exercise's result, with what its build did.
pub struct Graded {
    pub report: ExerciseReport,
    pub build_duration: Duration,
    /// The build was stopped at its limit (the report reads "does not compile").
    pub build_timed_out: bool,
}

impl Graded {
    /// The exercise's state in one word, for every format.
    pub fn status_word(&self) -> &'static str {
        if self.build_timed_out {
            "build timed out"
        } else {
            self.report.status.word()
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

    pub fn tests(&self) -> impl Iterator<Item = (&Graded, &TestReport)> {
        self.exercises.iter().flat_map(|g| g.report.tests.iter().map(move |t| (g, t)))
    }

    pub fn skipped(&self) -> usize {
        self.tests().filter(|(_, t)| t.status == Status::Skipped).count()
    }

    pub fn all_passed(&self) -> bool {
        self.tests().all(|(_, t)| t.status == Status::Passed) && self.exercises.iter().all(|g| !g.report.tests.is_empty())
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
    let instructor = Cargo::for_workspace(&manifest.root, false);

    // Where to build: the instructor's own workspace, or a fresh copy of it
    // holding the submission's exercise sources, built in the sandbox.
    let mut warnings = Vec::new();
    let (cargo, graded) = match &args.submission {
        None => (
            instructor.clone(),
            format!("{}/ of {}", args.kind.dir_name(), manifest.root.display()),
        ),
        Some(dir) => {
            let work = match &args.work {
                Some(work) => work.clone(),
                None => default_work(dir)?,
            };
            let (cargo, prepared_warnings) = prepare_submission(manifest, &instructor, dir, &work, args.output.as_deref())?;
            warnings.extend(prepared_warnings);
            (cargo, format!("submission {}", dir.display()))
        }
    };

    let options = Options {
        seed,
        require_all: args.require_all,
        ..Options::default()
    };
    let mut bound = args.build_limit;
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
                warnings.push(format!(
                    "the grader's short-writes library did not build, so the tests that need it fail: {}",
                    e.log
                ));
                None
            }
        }
    } else {
        None
    };

    let mut exercises = Vec::new();
    for exercise in &selected {
        let tests = grader::registry::tests_for(&exercise.id).unwrap_or(&[]);
        bound += args.build_limit + tests.iter().map(|t| t.limit + RUNNER_GRACE).sum::<Duration>();
        if tests.is_empty() {
            warnings.push(format!("{} has no hidden tests in this grader; it scores 0", exercise.id));
        }
        eprintln!("socklings: building and testing {}", exercise.id);
        let package = exercise.package_for(args.kind);
        let build_started = Instant::now();
        let source_dir = cargo.root.join(args.kind.dir_name()).join(&exercise.dir);
        let built = cargo.build_crate(exercise, &package, &source_dir, None, Some(args.build_limit));
        let build_duration = build_started.elapsed();
        let graded = match built {
            Ok(()) => {
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
                Graded {
                    report: runner::run_exercise(exercise, &target, &options),
                    build_duration,
                    build_timed_out: false,
                }
            }
            Err(e) => Graded {
                report: not_built(exercise, &e.log, e.timed_out),
                build_duration,
                build_timed_out: e.timed_out,
            },
        };
        exercises.push(graded);
    }

    // Once, in every report: the walls that did not stand in this run.
    let protections = grader::sandbox::protections();
    if args.submission.is_some() && cargo.jail.is_none() {
        warnings.push(
            "sandbox: builds not sandboxed: the grader does not run as root, so the submission was built as the grader's own user".into(),
        );
    }
    warnings.extend(grader::sandbox::missing_protections());

    let grade = Grade {
        graded,
        seed,
        protections,
        require_all: args.require_all,
        exercises,
        warnings,
        duration: started.elapsed(),
        bound,
    };
    let text = formats::render(args.format, &grade);
    match &args.output {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            // The table goes to the log as well, for whoever reads the CI job.
            if args.format != Format::Text {
                print!("{}", formats::render(Format::Text, &grade));
            }
            eprintln!(
                "socklings: {} of {} points; {} report written to {}",
                grade.score(),
                grade.max_score(),
                args.format.name(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    // The grade was produced: success, whatever the score. CI steps that
    // should fail on a low score can read the report.
    Ok(ExitCode::SUCCESS)
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
    report
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
    output: Option<&Path>,
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
    if let Some(report) = output.and_then(|o| absolute(o).parent().map(Path::to_path_buf))
        && !absolute(&std::env::temp_dir()).starts_with(&report)
    {
        grader::sandbox::hide(&report);
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
