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

/// A target directory of its own, so that building inside `cargo test` never
/// waits for the lock that the outer cargo holds on `target/`.
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

/// Builds and runs every hidden test of `id` against `exercises/` or `solutions/`.
pub fn run_reference(id: &str, kind: Kind) -> ExerciseReport {
    let exercise = exercise(id);
    let target = cargo()
        .build_target(exercise, kind, short_writes())
        .unwrap_or_else(|log| panic!("{id} ({kind:?}) does not build:\n{log}"));
    runner::run_exercise(exercise, &target, &options())
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
        let exercise = exercise(self.exercise);
        let source = root().join("solutions").join(&exercise.dir);
        let dir = root()
            .join("target")
            .join("project-tests")
            .join("mutants")
            .join(format!("{}-{}", exercise.number(), self.name));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&source, &dir);
        let package = format!("mutant-{}-{}", exercise.number(), self.name);
        let manifest_path = dir.join("Cargo.toml");
        let toml = std::fs::read_to_string(&manifest_path).unwrap();
        let solution_package = exercise.package_for(Kind::Solutions);
        let toml = toml.replacen(&format!("name = \"{solution_package}\""), &format!("name = \"{package}\""), 1);
        // Other programs of the crate (`[[bin]] name = "<package>-<role>"`)
        // follow the package's new name, as `Target::bin` expects.
        let toml = toml.replace(&format!("name = \"{solution_package}-"), &format!("name = \"{package}-"));
        // An empty [workspace] keeps the copy out of the socklings workspace.
        std::fs::write(&manifest_path, format!("{toml}\n[workspace]\n")).unwrap();
        std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        let file = dir.join(self.file);
        let mut text = std::fs::read_to_string(&file).unwrap();
        for (from, to) in self.replace {
            let count = text.matches(from).count();
            assert_eq!(
                count, 1,
                "mutant {}: {:?} occurs {count} times in solutions/{}/{}; update the catalogue to match the solution",
                self.name, from, exercise.dir, self.file
            );
            text = text.replacen(from, to, 1);
        }
        std::fs::write(&file, text).unwrap();
        cargo()
            .build_crate(exercise, &package, &dir, Some(&manifest_path), None)
            .unwrap_or_else(|e| {
                panic!(
                    "mutant {} does not build (or fails the exercise's build checks):\n{}",
                    self.name, e.log
                )
            });
        Target {
            kind: Kind::Solutions,
            package,
            bin_dir: cargo().bin_dir(),
            source_dir: dir,
            short_writes: short_writes(),
        }
    }

    /// Builds the mutant, runs the exercise's hidden tests, and asserts that
    /// the expected test fails (not passes, not skipped).
    pub fn assert_caught(&self) {
        // The mutant breaks one clause; the test meant to catch it must be
        // one that checks that clause, so the trace clause → test → mutant holds.
        let case = grader::registry::tests_for(self.exercise)
            .unwrap_or(&[])
            .iter()
            .find(|c| c.id == self.caught_by)
            .unwrap_or_else(|| panic!("no hidden test {} in {}", self.caught_by, self.exercise));
        assert!(
            self.clause != 0 && case.clauses.contains(&self.clause),
            "mutant {} breaks clause {}, but its test {} checks clauses {:?}: name the clause it breaks, and catch it with a test of that clause",
            self.name,
            self.clause,
            self.caught_by,
            case.clauses
        );
        let target = self.build();
        // Only the test meant to catch the mistake: running every test of a
        // hanging mutant would cost the sum of all their limits. Set
        // SOCKLINGS_MUTANTS_ALL=1 to see everything each mutant fails.
        let mut options = options();
        if std::env::var_os("SOCKLINGS_MUTANTS_ALL").is_none() {
            options.only = vec![self.caught_by.to_string()];
        }
        let report = runner::run_exercise(exercise(self.exercise), &target, &options);
        let test = report
            .tests
            .iter()
            .find(|t| t.id.ends_with(&format!(".{}", self.caught_by)))
            .unwrap_or_else(|| panic!("no hidden test {} in {}", self.caught_by, self.exercise));
        let failed: Vec<String> = report
            .tests
            .iter()
            .filter(|t| t.status != Status::Passed)
            .map(|t| format!("{} ({})", t.id, t.status.word()))
            .collect();
        eprintln!("mutant {} ({}): fails {}", self.name, self.mistake, failed.join(", "));
        assert!(
            matches!(test.status, Status::Failed | Status::TimedOut),
            "mutant {} ({}) should fail {} but it {}: {}\n{}",
            self.name,
            self.mistake,
            test.id,
            test.status.word(),
            test.summary,
            test.transcript
        );
    }
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
