//! Build steps that some exercises add after the crate itself compiled:
//! a clippy check of methods the exercise forbids, and a *probe*, a small
//! program of the grader's that calls the learner's functions in-process.
//!
//! Both run before any clock starts, like the build itself, within the same
//! build limit, and both read the exercise from data rather than code:
//!
//! - **Forbidden methods.** A crate with a `clippy.toml` (for example one
//!   whose `disallowed-methods` lists `std::io::Read::read_exact`) is checked
//!   with `cargo clippy -- -A clippy::all -F clippy::disallowed_methods`. `-F` (forbid) also
//!   refuses an `#[allow(...)]` in the source. A violation is reported like a
//!   compile error. Where clippy is not installed the check is left out.
//! - **Probes.** `grader/probes/eNN.rs` (NN the exercise's number) is compiled
//!   together with the modules of the crate under test that it names in lines
//!   `// probe-module: NAME` (each becomes `crate::under_test::NAME`, loaded
//!   from the crate's `src/NAME.rs`). The result is the binary
//!   `<package>-functions` next to the crate's own, so tests start it with
//!   `ctx.spawn_bin(PROBE_ROLE, ...)`. Because the probe is generated from
//!   the crate's folder, it works the same for `exercises/`, `solutions/` and
//!   mutants, and the hidden checks stay in `grader/`.

use crate::build::{BuildError, Cargo};
use crate::manifest::Exercise;
use std::path::Path;
use std::time::{Duration, Instant};

/// The role (see `Target::bin`) of an exercise's probe binary.
pub const PROBE_ROLE: &str = "functions";

/// Runs the extra build steps for the crate `package` in `source_dir`
/// (`manifest_path` when it is outside the workspace, as mutants are).
/// `deadline` (when given) bounds every step, like the crate's own build.
pub fn build(
    cargo: &Cargo,
    exercise: &Exercise,
    package: &str,
    source_dir: &Path,
    manifest_path: Option<&Path>,
    deadline: Option<(Instant, Duration)>,
) -> Result<(), BuildError> {
    if source_dir.join("clippy.toml").exists() {
        forbidden_methods(cargo, &[package], manifest_path, deadline)?;
    }
    probe(cargo, exercise, package, source_dir, deadline)
}

/// The probe step alone: builds the exercise's probe (if it has one) with
/// the crate `package` in `source_dir`.
pub(crate) fn probe(
    cargo: &Cargo,
    exercise: &Exercise,
    package: &str,
    source_dir: &Path,
    deadline: Option<(Instant, Duration)>,
) -> Result<(), BuildError> {
    if let Some(probe) = probe_source(cargo, exercise) {
        build_probe(cargo, package, source_dir, &probe, deadline)?;
    }
    Ok(())
}

/// The clippy step: checks `packages` (one cargo for all) for the methods
/// their `clippy.toml` forbids.
pub(crate) fn forbidden_methods(
    cargo: &Cargo,
    packages: &[&str],
    manifest_path: Option<&Path>,
    deadline: Option<(Instant, Duration)>,
) -> Result<(), BuildError> {
    // Only this lint: clippy's other deny-by-default lints are not this
    // check's business (and a learner's draft may well trip them).
    match cargo.run_packages(
        "clippy",
        packages,
        manifest_path,
        &["-A", "clippy::all", "-F", "clippy::disallowed_methods"],
        deadline,
    ) {
        Ok(()) => Ok(()),
        // No clippy on this machine (rustup's minimal profile): nothing to enforce with.
        Err(e) if !e.timed_out && e.log.contains("no such command") => Ok(()),
        Err(e) if e.timed_out => Err(e),
        Err(e) => Err(BuildError {
            log: format!(
                "{}\n\nThis exercise's clippy.toml forbids the methods named above: write the loop they hide yourself.",
                e.log
            ),
            timed_out: false,
        }),
    }
}

fn build_probe(
    cargo: &Cargo,
    package: &str,
    source_dir: &Path,
    probe: &Path,
    deadline: Option<(Instant, Duration)>,
) -> Result<(), BuildError> {
    build_probe_crate(cargo, package, source_dir, probe, deadline).map_err(|e| match e {
        Step::Prepare(log) => BuildError { log, timed_out: false },
        Step::Build(e) if e.timed_out => e,
        Step::Build(e) => BuildError {
            log: format!(
                "the grader's in-process checks (grader/probes) do not compile with your code:\n{}",
                e.log
            ),
            timed_out: false,
        },
    })
}

enum Step {
    Prepare(String),
    Build(BuildError),
}

impl From<String> for Step {
    fn from(log: String) -> Step {
        Step::Prepare(log)
    }
}

fn build_probe_crate(
    cargo: &Cargo,
    package: &str,
    source_dir: &Path,
    probe: &Path,
    deadline: Option<(Instant, Duration)>,
) -> Result<(), Step> {
    let dir = cargo.target_dir.join("probes").join(package);
    let name = write_probe_crate(package, source_dir, probe, &dir, true)?;
    // In the sandbox cargo runs as another user, who writes Cargo.lock here.
    if let Some(jail) = &cargo.jail {
        jail.give(&dir)
            .map_err(|e| format!("cannot give {} to the sandbox user: {e}", dir.display()))?;
    }
    cargo
        .run("build", &name, Some(&dir.join("Cargo.toml")), &[], deadline)
        .map_err(Step::Build)
}

/// The exercise's probe source, if it has one.
pub(crate) fn probe_source(cargo: &Cargo, exercise: &Exercise) -> Option<std::path::PathBuf> {
    let probe = cargo.root.join("grader").join("probes").join(format!("e{}.rs", exercise.number()));
    probe.exists().then_some(probe)
}

/// Writes the probe crate for `package` (whose sources are in `source_dir`)
/// into `dir`; returns its package name. `standalone` gives it a workspace
/// of its own (otherwise it is a member of the workspace it lies in).
pub(crate) fn write_probe_crate(package: &str, source_dir: &Path, probe: &Path, dir: &Path, standalone: bool) -> Result<String, String> {
    let text = std::fs::read_to_string(probe).map_err(|e| format!("cannot read {}: {e}", probe.display()))?;
    let modules: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("// probe-module:"))
        .map(str::trim)
        .collect();
    let name = format!("{package}-{PROBE_ROLE}");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut main = String::from("// Generated by the socklings grader (grader/src/extras.rs) before every check.\n\n");
    main.push_str(&format!(
        "#[allow(dead_code)]\n#[path = {:?}]\nmod under_test {{\n",
        source_dir.join("src").display().to_string()
    ));
    for module in &modules {
        main.push_str(&format!("    pub mod {module};\n"));
    }
    main.push_str(&format!(
        "}}\n\n#[path = {:?}]\nmod probe;\n\nfn main() {{\n    probe::main()\n}}\n",
        probe.display().to_string()
    ));
    // An empty [workspace] table keeps a standalone crate out of the
    // socklings workspace that contains the target directory.
    let manifest = format!(
        "[package]\nname = {name:?}\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[[bin]]\nname = {name:?}\npath = \"main.rs\"\n{}",
        if standalone { "\n[workspace]\n" } else { "" }
    );
    write_if_changed(&dir.join("main.rs"), &main)?;
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    Ok(name)
}

/// Writes `text` unless the file already holds it, so cargo sees no change.
fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
