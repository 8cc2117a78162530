//! A catalogue of hostile submissions: each one tries to score without
//! working code, or to outlive or damage the grade, by a means the sandbox
//! (`grader::sandbox`) and the submission's hardening (`xtask/src/submission.rs`)
//! must stop. Like the catalogue of wrong programs in `grader/tests/catalogue/`,
//! each attack is a small program, bounded in time and size.
//!
//! Every attack is exercise 01 (exercise 02 for the probe's build), graded as
//! an instructor would, `grade 01 --submission DIR --format json`, against a
//! copy of the workspace playing the instructor's (`--root`), whose target
//! directory holds a built reference solution, as after an earlier
//! `check --solutions`. Each test asserts: score 0, nothing of the attack
//! left running, and no file of the instructor's copy changed.
//!
//! Some walls need root (a separate user, private mounts, PID namespaces);
//! where the tests do not run as root, the attacks that only those walls stop
//! print `skipped: ...` and return. CI runs as root, so all of them run there.
//!
//! The attacks share one instructor copy and one work folder (so the
//! exercise's dependencies compile once), in `<temp>/socklings-hostile-lab`,
//! kept for the next run like `target/`, and run one at a time.

use super::util::{self, Value, parse_json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

const EXERCISE: &str = "01-bind-listen-accept";
const SOLUTION_PACKAGE: &str = "bind-listen-accept-solution";

/// The instructor's copy, its target directory, and the shared work folder.
struct Lab {
    base: PathBuf,
    instructor: PathBuf,
    target: PathBuf,
    work: PathBuf,
}

impl Lab {
    fn solution_source(&self) -> PathBuf {
        self.instructor.join("solutions").join(EXERCISE).join("src").join("main.rs")
    }

    fn solution_binary(&self) -> PathBuf {
        self.target.join("debug").join(SOLUTION_PACKAGE)
    }
}

/// The lab, built once, and a guard that runs the attacks one at a time.
fn lab() -> (&'static Lab, MutexGuard<'static, ()>) {
    static LAB: OnceLock<Lab> = OnceLock::new();
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let lab = LAB.get_or_init(|| {
        // One lab on disk, reused by the next run (its compiled dependencies
        // too), like target/: a fresh copy of the workspace each run, the
        // target directories kept. The sandbox user must reach the work folder.
        let base = std::env::temp_dir().join("socklings-hostile-lab");
        let instructor = base.join("instructor");
        let target = instructor.join("target");
        if let Ok(entries) = std::fs::read_dir(&instructor) {
            for entry in entries.flatten().filter(|e| e.file_name() != "target") {
                let _ = std::fs::remove_dir_all(entry.path());
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let _ = std::fs::remove_dir_all(base.join("submissions"));
        std::fs::create_dir_all(&base).unwrap();
        set_mode(&base, 0o755);
        util::copy_workspace(&instructor);
        // An earlier `check --solutions` left the reference binary here.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--package", SOLUTION_PACKAGE, "--target-dir"])
            .arg(&target)
            .current_dir(&instructor)
            .status()
            .unwrap();
        assert!(status.success(), "the instructor's copy builds its solution");
        let lab = Lab {
            work: base.join("work"),
            base,
            instructor,
            target,
        };
        // A first grade builds the grader's short-writes library into the
        // instructor's target directory; after it, a grade changes nothing there.
        let stub = lab.base.join("warm-up");
        write(&stub, EXERCISE, "main.rs", "fn main() {\n    todo!()\n}\n");
        let _ = grade(&lab, &stub, EXERCISE, &[]);
        lab
    });
    (lab, guard)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes `src/FILE` of `exercise` in the submission `dir`.
fn write(dir: &Path, exercise: &str, file: &str, text: &str) {
    let src = dir.join("exercises").join(exercise).join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join(file), text).unwrap();
}

/// A fresh submission folder for `name`.
fn submission(lab: &Lab, name: &str) -> PathBuf {
    let dir = lab.base.join("submissions").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// What one grade produced.
struct Graded {
    json: Value,
    text: String,
    /// The grader's peak resident memory (`VmHWM`), in KiB.
    peak_kib: u64,
    /// The pid of the grader, to find its run folder.
    pid: u32,
}

/// Grades `submission` with the instructor's copy, watching the grader's
/// memory while it runs.
fn grade(lab: &Lab, submission: &Path, exercise: &str, more: &[&str]) -> Graded {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("xtask"))
        .arg("--root")
        .arg(&lab.instructor)
        .args(["grade", exercise, "--seed", "20261203", "--format", "json", "--submission"])
        .arg(submission)
        .arg("--work")
        .arg(&lab.work)
        .args(more)
        .env("CARGO_TARGET_DIR", &lab.target)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    // VmHWM only grows: the last value read before the grader exits is its peak.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix("VmHWM:")
                        .map(|v| v.trim().trim_end_matches(" kB").trim().to_string())
                })
            })
            .and_then(|v| v.parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the grade did not finish within 600 s");
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = out.join().unwrap();
    let log = err.join().unwrap();
    assert!(status.success(), "grade failed ({status}):\n{log}\n{text}");
    let json = parse_json(&text).unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{text}"));
    Graded { json, text, peak_kib, pid }
}

/// Every file of the instructor's copy with its size and modification time.
fn snapshot(lab: &Lab) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (u64, SystemTime)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if meta.is_dir() {
                walk(&entry.path(), out);
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(&lab.instructor, &mut files);
    files
}

/// Processes still alive whose command line holds `marker`, or that run a
/// program staged by the grader `pid`.
fn leftovers(marker: &str, pid: u32) -> Vec<String> {
    let staged = format!("socklings-run-{pid}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|p| p.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter_map(|p| {
            let cmdline = String::from_utf8_lossy(&std::fs::read(p.path().join("cmdline")).ok()?).replace('\0', " ");
            let exe = std::fs::read_link(p.path().join("exe"))
                .map(|e| e.display().to_string())
                .unwrap_or_default();
            let stat = std::fs::read_to_string(p.path().join("stat")).unwrap_or_default();
            let zombie = stat.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
            (!zombie && (cmdline.contains(marker) || exe.contains(&staged))).then(|| format!("{:?}: {cmdline}", p.file_name()))
        })
        .collect()
}

/// Grades the attack and asserts what every attack must leave: score 0,
/// nothing left running, nothing of the instructor's changed.
fn attack(lab: &Lab, submission: &Path, exercise: &str, marker: &str, more: &[&str]) -> Graded {
    let before = snapshot(lab);
    let graded = grade(lab, submission, exercise, more);
    assert_eq!(graded.json.get("points").int(), 0, "the attack scored:\n{}", graded.text);
    // The grader has exited: nothing it started may still run.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = leftovers(marker, graded.pid);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "processes of the attack outlived the grade: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = snapshot(lab);
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(path, meta)| before.get(*path) != Some(meta))
        .map(|(path, _)| path)
        .chain(before.keys().filter(|path| !after.contains_key(*path)))
        .collect();
    assert!(changed.is_empty(), "the attack changed the instructor's files: {changed:?}");
    graded
}

/// The first exercise's status word in the report.
fn status(graded: &Graded) -> String {
    graded.json.get("exercises").array()[0].get("status").str().to_string()
}

fn build_output(graded: &Graded) -> String {
    match graded.json.get("exercises").array()[0].get("build_output") {
        Value::Str(s) => s.clone(),
        _ => String::new(),
    }
}

fn warnings(graded: &Graded) -> Vec<String> {
    graded.json.get("warnings").array().iter().map(|w| w.str().to_string()).collect()
}

fn skip_unless_root(what: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!(
        "skipped: {what} is stopped by the separate user, private mounts and PID namespaces, which need root; run the tests as root (CI does)"
    );
    true
}

/// The relative path from `from` (a folder) to `to`.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for part in &to[common..] {
        rel.push(part);
    }
    rel
}

// ---------------------------------------------------------------- the attacks

/// `exercises/01/src` is a symbolic link (absolute) to the instructor's
/// `solutions/01/src`: refused, and the stub graded instead.
#[test]
fn src_is_an_absolute_link_into_the_solutions() {
    let (lab, _one) = lab();
    let dir = submission(lab, "src-absolute-link");
    std::fs::create_dir_all(dir.join("exercises").join(EXERCISE)).unwrap();
    std::os::unix::fs::symlink(
        lab.instructor.join("solutions").join(EXERCISE).join("src"),
        dir.join("exercises").join(EXERCISE).join("src"),
    )
    .unwrap();
    let graded = attack(lab, &dir, EXERCISE, "no-marker-src-absolute", &[]);
    assert!(
        warnings(&graded)
            .iter()
            .any(|w| w.contains("symbolic link") && w.contains(EXERCISE)),
        "{:?}",
        warnings(&graded)
    );
}

/// `exercises/01/src` is a relative link (as git stores one) that climbs out
/// of the submission into the instructor's `solutions/`: refused.
#[test]
fn src_is_a_relative_link_into_the_solutions() {
    let (lab, _one) = lab();
    let dir = submission(lab, "src-relative-link");
    let crate_dir = dir.join("exercises").join(EXERCISE);
    std::fs::create_dir_all(&crate_dir).unwrap();
    let to = relative(&crate_dir, &lab.instructor.join("solutions").join(EXERCISE).join("src"));
    std::os::unix::fs::symlink(&to, crate_dir.join("src")).unwrap();
    let graded = attack(lab, &dir, EXERCISE, "no-marker-src-relative", &[]);
    assert!(
        warnings(&graded).iter().any(|w| w.contains("symbolic link")),
        "{:?}",
        warnings(&graded)
    );
}

/// `exercises` itself is a link to the instructor's `solutions/`, so that
/// `exercises/01/src` resolves to the answers: refused.
#[test]
fn the_exercises_folder_is_a_link_into_the_solutions() {
    let (lab, _one) = lab();
    let dir = submission(lab, "exercises-link");
    std::os::unix::fs::symlink(lab.instructor.join("solutions"), dir.join("exercises")).unwrap();
    let graded = attack(lab, &dir, EXERCISE, "no-marker-exercises-link", &[]);
    assert!(
        warnings(&graded).iter().any(|w| w.starts_with("exercises is a symbolic link")),
        "{:?}",
        warnings(&graded)
    );
}

/// `include_str!` of the instructor's solution by its absolute path: the
/// build runs where that path is hidden, so it does not compile.
#[test]
fn include_str_of_the_solution_by_absolute_path() {
    if skip_unless_root("include_str! of an absolute path") {
        return;
    }
    let (lab, _one) = lab();
    let dir = submission(lab, "include-absolute");
    let program = format!(
        "const ANSWER: &str = include_str!({:?});\n\nfn main() {{\n    println!(\"{{}}\", ANSWER.len());\n    todo!()\n}}\n",
        lab.solution_source().display().to_string()
    );
    write(&dir, EXERCISE, "main.rs", &program);
    let graded = attack(lab, &dir, EXERCISE, "no-marker-include-absolute", &[]);
    assert_eq!(status(&graded), "does_not_compile", "{}", graded.text);
    assert!(build_output(&graded).contains("main.rs"), "{}", build_output(&graded));
}

/// `#[path]` through `..` from the work copy to the instructor's solution
/// (the attacker knows where the work copy lies): hidden, so it does not
/// compile, and the work copy's own `solutions/` holds only the stubs.
#[test]
fn path_attribute_through_dot_dot_to_the_solution() {
    if skip_unless_root("#[path] through ..") {
        return;
    }
    let (lab, _one) = lab();
    let dir = submission(lab, "path-dot-dot");
    let src = lab.work.join("workspace").join("exercises").join(EXERCISE).join("src");
    let to = relative(&src, &lab.solution_source());
    let program = format!(
        "#[allow(dead_code)]\n#[path = {:?}]\nmod answer;\n\nfn main() {{\n    todo!()\n}}\n",
        to.display().to_string()
    );
    write(&dir, EXERCISE, "main.rs", &program);
    let graded = attack(lab, &dir, EXERCISE, "no-marker-path-dot-dot", &[]);
    assert_eq!(status(&graded), "does_not_compile", "{}", graded.text);
}

/// At run time the program reads the instructor's solution and says whether
/// it could: it must not.
#[test]
fn reading_the_solutions_at_run_time() {
    if skip_unless_root("reading solutions/ at run time") {
        return;
    }
    let (lab, _one) = lab();
    let dir = submission(lab, "read-at-run-time");
    let program = format!(
        "fn main() {{\n    match std::fs::read({:?}) {{\n        Ok(b) => eprintln!(\"LEAKED {{}} bytes\", b.len()),\n        Err(e) => eprintln!(\"could not read the answers: {{e}}\"),\n    }}\n    todo!()\n}}\n",
        lab.solution_source().display().to_string()
    );
    write(&dir, EXERCISE, "main.rs", &program);
    let graded = attack(lab, &dir, EXERCISE, "no-marker-read", &[]);
    assert!(!graded.text.contains("LEAKED"), "the program read the answers:\n{}", graded.text);
    assert!(graded.text.contains("could not read the answers"), "{}", graded.text);
}

/// The program runs the reference binary an earlier `check --solutions` left
/// in the instructor's target directory, passing its arguments on: that
/// binary would pass every test, so it must be out of reach.
#[test]
fn running_the_solution_binary_from_the_instructors_target() {
    if skip_unless_root("running a binary from the instructor's target/") {
        return;
    }
    let (lab, _one) = lab();
    assert!(lab.solution_binary().exists(), "the lab built {}", lab.solution_binary().display());
    let dir = submission(lab, "run-solution-binary");
    let program = format!(
        "fn main() {{\n    let args: Vec<String> = std::env::args().skip(1).collect();\n    match std::process::Command::new({:?}).args(&args).status() {{\n        Ok(s) => std::process::exit(s.code().unwrap_or(1)),\n        Err(e) => eprintln!(\"could not run the answer: {{e}}\"),\n    }}\n    todo!()\n}}\n",
        lab.solution_binary().display().to_string()
    );
    write(&dir, EXERCISE, "main.rs", &program);
    let graded = attack(lab, &dir, EXERCISE, "no-marker-run-binary", &[]);
    assert!(graded.text.contains("could not run the answer"), "{}", graded.text);
}

/// A daemon: the program starts itself again with an empty environment in a
/// new session, that copy forks once more and exits, and the grandchild
/// (no parent, no process group, no mark) waits to outlive the grade. The
/// PID namespace takes it down with the program.
#[test]
fn a_daemon_that_clears_its_environment_and_double_forks() {
    if skip_unless_root("a daemon that clears its environment") {
        return;
    }
    let (lab, _one) = lab();
    let marker = format!("socklings-daemon-{}", std::process::id());
    let dir = submission(lab, "daemon");
    let program = format!(
        "use std::os::unix::process::CommandExt;\n\nfn main() {{\n    let args: Vec<String> = std::env::args().collect();\n    let me = std::fs::read_link(\"/proc/self/exe\").unwrap();\n    if args.get(1).map(String::as_str) == Some(\"first\") {{\n        let _ = std::process::Command::new(&me).arg(\"second\").arg({marker:?}).env_clear().process_group(0).spawn();\n        return;\n    }}\n    if args.get(1).map(String::as_str) == Some(\"second\") {{\n        std::thread::sleep(std::time::Duration::from_secs(120));\n        return;\n    }}\n    let _ = std::process::Command::new(&me).arg(\"first\").env_clear().process_group(0).status();\n    todo!()\n}}\n"
    );
    write(&dir, EXERCISE, "main.rs", &program);
    attack(lab, &dir, EXERCISE, &marker, &[]);
}

/// The program overwrites binaries in the instructor's target directory (the
/// grader's own and the reference solution), which later grades would run.
#[test]
fn overwriting_a_binary_in_the_instructors_target() {
    if skip_unless_root("overwriting the instructor's target/") {
        return;
    }
    let (lab, _one) = lab();
    let dir = submission(lab, "overwrite-target");
    let victims = [lab.solution_binary(), lab.target.join("debug").join("libsocklings_short_writes.so")];
    let mut program = String::from("fn main() {\n");
    for victim in &victims {
        program.push_str(&format!(
            "    match std::fs::write({:?}, b\"#!/bin/sh\\necho forged\\n\") {{\n        Ok(()) => eprintln!(\"OVERWROTE {{}}\", {:?}),\n        Err(e) => eprintln!(\"could not overwrite: {{e}}\"),\n    }}\n",
            victim.display().to_string(),
            victim.display().to_string()
        ));
    }
    program.push_str("    todo!()\n}\n");
    write(&dir, EXERCISE, "main.rs", &program);
    let graded = attack(lab, &dir, EXERCISE, "no-marker-overwrite", &[]);
    assert!(!graded.text.contains("OVERWROTE"), "{}", graded.text);
}

/// The program finds its parent, the grader, and sends it SIGKILL (a dead
/// grader writes no report): in its PID namespace it has no parent it can
/// see, and as the sandbox user it may not signal the grader anyway.
#[test]
fn killing_the_grader() {
    if skip_unless_root("killing the grader") {
        return;
    }
    let (lab, _one) = lab();
    let dir = submission(lab, "kill-grader");
    let program = "fn main() {\n    let stat = std::fs::read_to_string(\"/proc/self/stat\").unwrap_or_default();\n    let ppid = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)).unwrap_or(\"0\").to_string();\n    let killed = std::process::Command::new(\"/bin/kill\").args([\"-9\", &ppid]).status().map(|s| s.success()).unwrap_or(false);\n    eprintln!(\"parent {ppid} killed: {killed}\");\n    todo!()\n}\n";
    write(&dir, EXERCISE, "main.rs", program);
    let graded = attack(lab, &dir, EXERCISE, "no-marker-kill", &[]);
    assert!(graded.text.contains("killed: false"), "{}", graded.text);
}

/// One 256 MiB line without a newline, on every start: the grader reads it
/// in chunks, keeps 4 KiB of it, and its own memory stays under 200 MiB
/// (a grader that kept the line would pass 256 MiB).
#[test]
fn one_endless_line_does_not_exhaust_the_graders_memory() {
    let (lab, _one) = lab();
    let dir = submission(lab, "endless-line");
    let program = "use std::io::Write;\n\nfn main() {\n    let chunk = vec![b'x'; 1 << 20];\n    let mut out = std::io::stdout().lock();\n    for _ in 0..256 {\n        if out.write_all(&chunk).is_err() {\n            break;\n        }\n    }\n    let _ = out.flush();\n    todo!()\n}\n";
    write(&dir, EXERCISE, "main.rs", program);
    let graded = attack(lab, &dir, EXERCISE, "no-marker-endless-line", &[]);
    let peak_mib = graded.peak_kib / 1024;
    eprintln!(
        "grader's peak memory with a 256 MiB line: {peak_mib} MiB; report {} KiB",
        graded.text.len() / 1024
    );
    assert!(peak_mib < 200, "the grader grew to {peak_mib} MiB");
    assert!(graded.text.contains("more bytes of this line not kept"), "{}", graded.text);
    assert!(graded.text.len() < 512 * 1024, "the report is {} bytes", graded.text.len());
}

/// Exercise 02's probe (the grader's in-process checks, compiled with the
/// learner's `frame.rs`) meets a constant that never finishes evaluating,
/// but only in the probe's build (`module_path!` differs there): the build
/// limit covers that step too, and the grade ends in time.
#[test]
fn a_never_ending_constant_in_the_probe_build_is_stopped() {
    let (lab, _one) = lab();
    let exercise = "02-partial-recv";
    let dir = submission(lab, "probe-spin");
    let solution = lab.instructor.join("solutions").join(exercise).join("src");
    // The limit is short, so first the same files without the spin: their
    // every build step (the crate, clippy, the probe) ends well within it,
    // and the work folder's dependencies are built. The spin's grade can
    // then only run out of time in the probe's build.
    let limit = 12;
    for file in ["main.rs", "frame.rs"] {
        write(&dir, exercise, file, &std::fs::read_to_string(solution.join(file)).unwrap());
    }
    let plain = grade(lab, &dir, exercise, &["--build-limit", &limit.to_string()]);
    assert_eq!(status(&plain), "passed", "without the spin:\n{}", plain.text);
    for file in ["main.rs", "frame.rs"] {
        let mut text = std::fs::read_to_string(solution.join(file)).unwrap();
        if file == "frame.rs" {
            text.push_str(
                "\nconst fn in_probe() -> bool {\n    let path = module_path!().as_bytes();\n    let needle = b\"under_test\";\n    let mut i = 0;\n    while i + needle.len() <= path.len() {\n        let mut j = 0;\n        while j < needle.len() && path[i + j] == needle[j] {\n            j += 1;\n        }\n        if j == needle.len() {\n            return true;\n        }\n        i += 1;\n    }\n    false\n}\n\n#[allow(long_running_const_eval)]\nconst _: () = {\n    let mut i: u64 = 0;\n    while in_probe() {\n        i = i.wrapping_add(1);\n    }\n};\n",
            );
        }
        write(&dir, exercise, file, &text);
    }
    let started = Instant::now();
    let graded = attack(lab, &dir, exercise, "no-marker-probe-spin", &["--build-limit", &limit.to_string()]);
    let took = started.elapsed();
    assert_eq!(status(&graded), "build_timed_out", "{}", graded.text);
    // Two builds (short-writes, the exercise) within the limit, and copying.
    let bound = Duration::from_secs(2 * limit + 30);
    assert!(took < bound, "took {took:?}, more than {bound:?}");
    let work = lab.work.display().to_string();
    let compilers: Vec<String> = leftovers(&work, graded.pid).into_iter().filter(|p| p.contains("rustc")).collect();
    assert!(compilers.is_empty(), "compilers left running: {compilers:?}");
}
