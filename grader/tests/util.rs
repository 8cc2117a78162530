//! Builds programs for the project's tests: the workspace's own crates, and
//! *mutants*, copies of a reference solution with one deliberate mistake.

use grader::build::Cargo;
use grader::manifest::{Exercise, Manifest};
use grader::runner::{self, ExerciseReport, Options, Status};
use grader::{Kind, Target};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ has a parent")
        .to_path_buf()
}

pub fn manifest() -> &'static Manifest {
    static M: OnceLock<Manifest> = OnceLock::new();
    M.get_or_init(|| Manifest::load(&root()).expect("exercises.toml parses"))
}

pub fn exercise(id: &str) -> &'static Exercise {
    manifest().find(id).unwrap_or_else(|| panic!("no exercise {id} in exercises.toml"))
}

/// The workspace's own target directory, where `cargo xtask check` builds:
/// the reference tests build the stubs and the solutions exactly as check
/// does (same cargo, profile and features), so a `check` after `cargo test`
/// (as CI runs them) finds them built. Cargo holds the lock on `target/`
/// only while it compiles, not while the tests run.
pub fn workspace_cargo() -> Cargo {
    Cargo {
        target_dir: root().join("target"),
        ..cargo()
    }
}

/// A target directory of its own for the mutants, whose builds use a profile
/// of their own (see `grader::build`) and would only crowd `target/debug`.
pub fn cargo() -> Cargo {
    Cargo {
        root: root(),
        target_dir: root().join("target").join("project-tests"),
        color: false,
        jail: None,
    }
}

pub fn short_writes() -> Option<PathBuf> {
    static LIB: OnceLock<Option<PathBuf>> = OnceLock::new();
    LIB.get_or_init(|| cargo().build_short_writes().expect("grader/short-writes builds"))
        .clone()
}

pub fn options() -> Options {
    Options {
        seed: 20261122,
        ..Options::default()
    }
}

/// Builds every exercise whose id starts with `only` (all without it) from
/// `exercises/` or `solutions/`, then runs all their hidden tests side by
/// side, as `check` does.
pub fn run_references(only: Option<&str>, kind: Kind) -> Vec<ExerciseReport> {
    let chosen: Vec<&Exercise> = manifest()
        .exercises
        .iter()
        .filter(|e| only.is_none_or(|n| e.id.starts_with(n)))
        .collect();
    let targets: Vec<Target> = chosen
        .iter()
        .map(|e| {
            workspace_cargo()
                .build_target(e, kind, short_writes())
                .unwrap_or_else(|log| panic!("{} ({kind:?}) does not build:\n{log}", e.id))
        })
        .collect();
    let items: Vec<(&Exercise, &Target)> = chosen.iter().copied().zip(targets.iter()).collect();
    runner::run_exercises(&items, &options())
}

/// One known-wrong program: a reference solution with one mistake in it.
pub struct Mutant {
    /// Short name, unique within its exercise.
    pub name: &'static str,
    pub exercise: &'static str,
    /// The mistake, in one sentence.
    pub mistake: &'static str,
    /// The file to change, relative to the solution crate.
    pub file: &'static str,
    /// Each `(from, to)` replaces text that must occur exactly once.
    pub replace: &'static [(&'static str, &'static str)],
    /// The hidden test that must fail (its id without the exercise number).
    pub caught_by: &'static str,
    /// The clause of the exercise's contract (its chapter's `### The
    /// contract`) that this mistake breaks, and only that one. 0 while a
    /// mutant is not yet traced to a clause.
    pub clause: u32,
}

impl Mutant {
    /// Copies the solution crate, applies the mistake, and builds it.
    pub fn build(&self) -> Target {
        // A workspace of its own, so that it never races the catalogue's.
        build_all(&[self], self.name).remove(0).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Copies the solution crate into `workspace` (a folder whose
    /// Cargo.toml makes its subfolders one workspace) and applies the
    /// mistake; returns the package's name and folder.
    fn prepare(&self, workspace: &Path) -> Result<(String, PathBuf), String> {
        let exercise = exercise(self.exercise);
        if self.name == UNCHANGED {
            return Err(format!(
                "mutant {UNCHANGED}: the name is the batch's unchanged copy's; choose another"
            ));
        }
        let (package, dir) = copy_solution(exercise, workspace, self.name);
        let file = dir.join(self.file);
        let mut text = std::fs::read_to_string(&file).unwrap();
        for (from, to) in self.replace {
            let count = text.matches(from).count();
            if count != 1 {
                return Err(format!(
                    "mutant {}: {:?} occurs {count} times in solutions/{}/{}; update the catalogue to match the solution",
                    self.name, from, exercise.dir, self.file
                ));
            }
            text = text.replacen(from, to, 1);
        }
        std::fs::write(&file, text).unwrap();
        Ok((package, dir))
    }

    /// The hidden test meant to catch this mistake, after checking that it
    /// checks the clause the mistake breaks (so the trace clause → test →
    /// mutant holds).
    fn case(&self) -> Result<&'static grader::registry::TestCase, String> {
        let case = grader::registry::tests_for(self.exercise)
            .unwrap_or(&[])
            .iter()
            .find(|c| c.id == self.caught_by)
            .ok_or_else(|| format!("mutant {}: no hidden test {} in {}", self.name, self.caught_by, self.exercise))?;
        if self.clause == 0 || !case.clauses.contains(&self.clause) {
            return Err(format!(
                "mutant {} breaks clause {}, but its test {} checks clauses {:?}: name the clause it breaks, and catch it with a test of that clause",
                self.name, self.clause, self.caught_by, case.clauses
            ));
        }
        Ok(case)
    }

    /// Runs the test meant to catch this mutant against its build; `None`
    /// when it is caught, otherwise what went wrong.
    fn verdict(&self, case: &'static grader::registry::TestCase, target: &Target) -> Option<String> {
        let exercise = exercise(self.exercise);
        let report = if std::env::var_os("SOCKLINGS_MUTANTS_ALL").is_some() {
            // Every test of the exercise, to see everything a mutant fails.
            let report = runner::run_exercise(exercise, target, &options());
            let failed: Vec<String> = report
                .tests
                .iter()
                .filter(|t| t.status != Status::Passed)
                .map(|t| format!("{} ({})", t.id, t.status.word()))
                .collect();
            eprintln!("mutant {} ({}): fails {}", self.name, self.mistake, failed.join(", "));
            report.tests.into_iter().find(|t| t.id.ends_with(&format!(".{}", case.id)))?
        } else {
            runner::run_test(exercise, case, target, &options())
        };
        if std::env::var_os("SOCKLINGS_MUTANT_VERBOSE").is_some() {
            eprintln!(
                "mutant {}: {} {}: {}\n{}",
                self.name,
                report.id,
                report.status.word(),
                report.summary,
                report.transcript
            );
        }
        match report.status {
            Status::Failed | Status::TimedOut => None,
            _ => Some(format!(
                "mutant {} ({}) should fail {} but it {}: {}\n{}",
                self.name,
                self.mistake,
                report.id,
                report.status.word(),
                report.summary,
                report.transcript
            )),
        }
    }
}

/// Proves that each mutant of every catalogue fails the hidden test meant
/// to catch it.
///
/// Most of a mutant's time goes to waiting (for a timeout it should have
/// set, for a reply it never sends), so one thread builds each exercise's
/// mutants in turn (one cargo per exercise, which uses every core) while
/// the ones already built run side by side, as many at once as `check`
/// runs tests. Mutants of the tests that run apart (`registry::Sharing`:
/// they measure threads, CPU time, wake-ups) wait until every build is
/// over, then go to the runner's gate all together: they run two at a time
/// or alone, as in a grade, on a machine no compiler shares, and the tests
/// in flight drain once for the whole batch instead of once per mutant.
/// Every mutant is tried and all that escape are listed.
/// `SOCKLINGS_MUTANT=TEXT` keeps only the mutants whose `NN/name` (the
/// exercise's number, a slash, the mutant's name) contains TEXT: `03/`
/// selects exercise 03's catalogue, `busy-loop` that mutant in every one.
pub fn assert_all_caught(catalogues: &[&'static [Mutant]]) {
    let filter = std::env::var("SOCKLINGS_MUTANT").ok();
    let mut problems: Vec<String> = Vec::new();
    // Each exercise's chosen mutants with their cases, in catalogue order.
    let mut work: Vec<Vec<(&'static Mutant, &'static grader::registry::TestCase)>> = Vec::new();
    for catalogue in catalogues {
        let mut chosen = Vec::new();
        for mutant in catalogue.iter() {
            let label = format!("{}/{}", exercise(mutant.exercise).number(), mutant.name);
            if filter.as_deref().is_some_and(|f| !label.contains(f)) {
                continue;
            }
            match mutant.case() {
                Ok(case) => chosen.push((mutant, case)),
                Err(e) => problems.push(e),
            }
        }
        if !chosen.is_empty() {
            work.push(chosen);
        }
    }
    let problems = std::sync::Mutex::new(problems);
    type Built = (&'static Mutant, &'static grader::registry::TestCase, Target);
    let (built_tx, built_rx) = std::sync::mpsc::channel::<Built>();
    let built_rx = std::sync::Mutex::new(built_rx);
    std::thread::scope(|scope| {
        let problems = &problems;
        scope.spawn(move || {
            let mut apart: Vec<Built> = Vec::new();
            for chosen in work {
                let started = std::time::Instant::now();
                let mutants: Vec<&Mutant> = chosen.iter().map(|(m, _)| *m).collect();
                let built = build_all(&mutants, "catalogue");
                eprintln!(
                    "{}: {} mutants built in {:.1} s",
                    mutants[0].exercise,
                    mutants.len(),
                    started.elapsed().as_secs_f64()
                );
                for ((mutant, case), built) in chosen.into_iter().zip(built) {
                    match built {
                        Ok(target) if case.sharing.apart() => apart.push((mutant, case, target)),
                        Ok(target) => {
                            let _ = built_tx.send((mutant, case, target));
                        }
                        Err(e) => problems.lock().unwrap_or_else(|p| p.into_inner()).push(e),
                    }
                }
            }
            for built in apart {
                let _ = built_tx.send(built);
            }
        });
        let judge = move |mutant: &Mutant, case: &'static grader::registry::TestCase, target: Target| {
            let started = std::time::Instant::now();
            let verdict = mutant.verdict(case, &target);
            eprintln!(
                "mutant {}/{}: ran {} in {:.1} s",
                exercise(mutant.exercise).number(),
                mutant.name,
                case.id,
                started.elapsed().as_secs_f64()
            );
            if let Some(problem) = verdict {
                problems.lock().unwrap_or_else(|p| p.into_inner()).push(problem);
            }
        };
        for _ in 0..options().jobs() {
            let built_rx = &built_rx;
            scope.spawn(move || {
                loop {
                    let next = built_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((mutant, case, target)) = next else { break };
                    if case.sharing.apart() {
                        // Each on a thread of its own, all at once: they
                        // wait at the gate together (see above).
                        scope.spawn(move || judge(mutant, case, target));
                    } else {
                        judge(mutant, case, target);
                    }
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap_or_else(|p| p.into_inner());
    assert!(
        problems.is_empty(),
        "{} of the catalogue's mutants are not caught:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Builds mutants: each exercise's are members of one workspace,
/// `target/project-tests/mutants/NN-GROUP`, built by one cargo
/// (`Cargo::build_crates`). Results in the order given.
pub fn build_all(mutants: &[&Mutant], group: &str) -> Vec<Result<Target, String>> {
    let mut results: Vec<Option<Result<Target, String>>> = mutants.iter().map(|_| None).collect();
    let mut exercises: Vec<&str> = mutants.iter().map(|m| m.exercise).collect();
    exercises.sort_unstable();
    exercises.dedup();
    for id in exercises {
        let exercise = exercise(id);
        let workspace = root()
            .join("target")
            .join("project-tests")
            .join("mutants")
            .join(format!("{}-{group}", exercise.number()));
        let _ = std::fs::remove_dir_all(&workspace);
        std::fs::create_dir_all(&workspace).unwrap();
        let mut crates = Vec::new();
        let mut places = Vec::new();
        let mut unchanged_roles: Vec<Vec<String>> = Vec::new();
        for (i, mutant) in mutants.iter().enumerate().filter(|(_, m)| m.exercise == id) {
            match mutant.prepare(&workspace) {
                Ok((package, dir)) => {
                    unchanged_roles.push(trim_programs(&package, &dir, mutant.file));
                    crates.push((package, dir));
                    places.push(i);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let unchanged = unchanged_roles
            .iter()
            .any(|roles| !roles.is_empty())
            .then(|| copy_solution(exercise, &workspace, UNCHANGED).0);
        let mut members = crates.clone();
        if let Some(package) = &unchanged {
            members.push((package.clone(), workspace.join(UNCHANGED)));
        }
        // Cargo.toml there makes the copies one workspace of their own,
        // outside the socklings workspace that contains the target directory.
        let mut built = cargo().build_crates(exercise, &workspace, &members);
        let unchanged_built = unchanged.as_ref().map(|_| built.pop().expect("the unchanged copy's result"));
        for (((i, (package, dir)), result), roles) in places.into_iter().zip(crates).zip(built).zip(unchanged_roles) {
            let result = result.map_err(|e| e.log).and_then(|()| {
                for role in &roles {
                    match (&unchanged, &unchanged_built) {
                        (Some(from), Some(Ok(()))) => link_unchanged(from, &package, role)?,
                        (_, Some(Err(e))) => return Err(format!("the unchanged solution does not build:\n{}", e.log)),
                        _ => unreachable!("an unchanged copy is built whenever a program is left out"),
                    }
                }
                Ok(())
            });
            results[i] = Some(
                result
                    .map(|()| Target {
                        kind: Kind::Solutions,
                        package,
                        bin_dir: cargo().bin_dir(),
                        source_dir: dir,
                        short_writes: short_writes(),
                    })
                    .map_err(|log| {
                        format!(
                            "mutant {} does not build (or fails the exercise's build checks):\n{log}",
                            mutants[i].name
                        )
                    }),
            );
        }
    }
    results.into_iter().map(|r| r.expect("every mutant has a result")).collect()
}

/// Copies the solution crate of `exercise` into `workspace/NAME` as the
/// package `mutant-NN-NAME`; returns the package's name and folder.
fn copy_solution(exercise: &Exercise, workspace: &Path, name: &str) -> (String, PathBuf) {
    let source = root().join("solutions").join(&exercise.dir);
    let dir = workspace.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&source, &dir);
    let package = format!("mutant-{}-{name}", exercise.number());
    let manifest_path = dir.join("Cargo.toml");
    let toml = std::fs::read_to_string(&manifest_path).unwrap();
    let solution_package = exercise.package_for(Kind::Solutions);
    let toml = toml.replacen(&format!("name = \"{solution_package}\""), &format!("name = \"{package}\""), 1);
    // Other programs of the crate (`[[bin]] name = "<package>-<role>"`)
    // follow the package's new name, as `Target::bin` expects.
    let toml = toml.replace(&format!("name = \"{solution_package}-"), &format!("name = \"{package}-"));
    std::fs::write(&manifest_path, toml).unwrap();
    (package, dir)
}

/// The name of the extra copy, in a batch, of the unchanged solution.
const UNCHANGED: &str = "unchanged";

/// Leaves out of the mutant crate in `dir` (package `package`) the programs
/// (`[[bin]]` sections) whose sources do not include `file`, the one its
/// mistake changed: they would be built from the solution's very text, and
/// exercise 06's four programs made its 32 mutants the catalogue's longest
/// build (128 programs; 59 with this). Returns their roles: the batch builds
/// them once, from an unchanged copy, and links them in under the mutant's
/// names (`link_unchanged`). A program whose sources cannot be followed
/// (a `mod` without its file) is kept.
fn trim_programs(package: &str, dir: &Path, file: &str) -> Vec<String> {
    let manifest = dir.join("Cargo.toml");
    let toml = std::fs::read_to_string(&manifest).unwrap();
    // The manifest cut into sections: `[[bin]]` ones and the rest.
    let mut sections: Vec<String> = vec![String::new()];
    for line in toml.lines() {
        if line.trim_start().starts_with('[') {
            sections.push(String::new());
        }
        let last = sections.last_mut().expect("one section at least");
        last.push_str(line);
        last.push('\n');
    }
    let field = |section: &str, key: &str| -> Option<String> {
        section.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    let programs: Vec<(usize, String, String)> = sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.trim_start().starts_with("[[bin]]"))
        .filter_map(|(i, s)| Some((i, field(s, "name")?, field(s, "path")?)))
        .collect();
    if programs.len() < 2 {
        return Vec::new();
    }
    let mut dropped = Vec::new();
    let mut dropped_sections = Vec::new();
    for (i, name, path) in &programs {
        let Some(sources) = module_files(dir, path) else { continue };
        if !sources.iter().any(|s| s == file)
            && let Some(role) = name.strip_prefix(&format!("{package}-"))
        {
            dropped.push(role.to_string());
            dropped_sections.push(*i);
        }
    }
    if dropped.len() == programs.len() {
        // The mistake is in no program: build them all, as the solution is.
        return Vec::new();
    }
    let kept: String = sections
        .iter()
        .enumerate()
        .filter(|(i, _)| !dropped_sections.contains(i))
        .map(|(_, s)| s.as_str())
        .collect();
    std::fs::write(&manifest, kept).unwrap();
    dropped
}

/// The source files (relative to the crate, `src/x.rs`) of the program whose
/// root is `path`: the root and every `mod NAME;` it reaches, each in
/// `src/NAME.rs`. `None` when a module's file is not there.
fn module_files(dir: &Path, path: &str) -> Option<Vec<String>> {
    let mut files = vec![path.to_string()];
    let mut next = 0;
    while next < files.len() {
        let text = std::fs::read_to_string(dir.join(&files[next])).ok()?;
        next += 1;
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let Some(name) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) else {
                continue;
            };
            let file = format!("src/{}.rs", name.trim());
            if !dir.join(&file).is_file() {
                return None;
            }
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Some(files)
}

/// Puts the unchanged copy's program `role` into the binaries' folder under
/// the mutant `package`'s name (replacing what an earlier run left there).
fn link_unchanged(unchanged: &str, package: &str, role: &str) -> Result<(), String> {
    let bin_dir = cargo().bin_dir();
    let exe = std::env::consts::EXE_SUFFIX;
    let from = bin_dir.join(format!("{unchanged}-{role}{exe}"));
    let to = bin_dir.join(format!("{package}-{role}{exe}"));
    let _ = std::fs::remove_file(&to);
    std::fs::hard_link(&from, &to)
        .or_else(|_| std::fs::copy(&from, &to).map(|_| ()))
        .map_err(|e| format!("cannot put {} at {}: {e}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}
