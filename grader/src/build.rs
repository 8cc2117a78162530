//! Compiles the program under test, and the grader's helper library, before
//! any test's clock starts.
//!
//! Exercism's runner counts build time against the test's limit and its
//! learners pay for it (exercism/exercism#6238); here a slow build can never
//! turn into "timed out". Each exercise is built on its own, so a compile error
//! in one exercise never hides the results of another.

use crate::manifest::Exercise;
use crate::{Kind, Target};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The package name of the `LD_PRELOAD` library in `grader/short-writes`.
pub const SHORT_WRITES_PACKAGE: &str = "socklings-short-writes";

/// How to run cargo.
#[derive(Debug, Clone)]
pub struct Cargo {
    /// Workspace root.
    pub root: PathBuf,
    /// `--target-dir`; binaries land in its `debug/`.
    pub target_dir: PathBuf,
    /// Pass `--color always` (the caller prints to a terminal).
    pub color: bool,
    /// Run cargo in the sandbox (`grade --submission` as root): as the
    /// sandbox user, offline, with the instructor's files hidden.
    pub jail: Option<crate::sandbox::BuildJail>,
}

impl Cargo {
    /// The workspace's usual target directory (honours `CARGO_TARGET_DIR`).
    pub fn for_workspace(root: &Path, color: bool) -> Cargo {
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let target_dir = if target_dir.is_relative() {
            root.join(target_dir)
        } else {
            target_dir
        };
        Cargo {
            root: root.to_path_buf(),
            target_dir,
            color,
            jail: None,
        }
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.target_dir.join("debug")
    }

    /// Builds `package` of the workspace (or of `manifest_path` when given).
    /// On failure returns the compiler's messages.
    pub fn build(&self, package: &str, manifest_path: Option<&Path>) -> Result<(), String> {
        self.run("build", package, manifest_path, &[], None).map_err(|e| e.log)
    }

    /// Builds a crate under test, from `source_dir` (with `manifest_path` when
    /// it is outside the workspace, as mutants are), then the exercise's extra
    /// steps (see `extras`). The one way check, grade and the project's
    /// mutants build what they test, so none of them can skip a step.
    /// With `limit`, every step together (the crate, its clippy check, its
    /// probe) must finish within it; cargo and everything it started are
    /// stopped when it passes.
    pub fn build_crate(
        &self,
        exercise: &Exercise,
        package: &str,
        source_dir: &Path,
        manifest_path: Option<&Path>,
        limit: Option<Duration>,
    ) -> Result<(), BuildError> {
        let deadline = limit.map(|l| (Instant::now() + l, l));
        self.run("build", package, manifest_path, &[], deadline)?;
        crate::extras::build(self, exercise, package, source_dir, manifest_path, deadline)
    }

    /// Builds several crates under test of one exercise at once (the
    /// project's mutants): each is a folder of `workspace`, which this makes
    /// one Cargo workspace with the crates and their probes as members. One
    /// cargo builds them all, one clippy checks those the exercise checks,
    /// so a hundred small crates cost one cargo's start and use every core.
    /// The steps are [`Cargo::build_crate`]'s; where the batch fails, each
    /// crate is built alone with it, so every failure gets its own
    /// messages. Results are in the order of `crates` (package, folder).
    pub fn build_crates(&self, exercise: &Exercise, workspace: &Path, crates: &[(String, PathBuf)]) -> Vec<Result<(), BuildError>> {
        let alone = |(package, dir): &(String, PathBuf)| self.build_crate(exercise, package, dir, Some(&dir.join("Cargo.toml")), None);
        match self.build_batch(exercise, workspace, crates) {
            Ok(()) => crates.iter().map(|_| Ok(())).collect(),
            Err(_) => crates.iter().map(alone).collect(),
        }
    }

    fn build_batch(&self, exercise: &Exercise, workspace: &Path, crates: &[(String, PathBuf)]) -> Result<(), String> {
        let mut packages: Vec<String> = crates.iter().map(|(p, _)| p.clone()).collect();
        let mut members: Vec<String> = Vec::new();
        for (package, dir) in crates {
            let name = dir.file_name().ok_or("a crate without a folder name")?.to_string_lossy();
            members.push(name.to_string());
            if let Some(probe) = crate::extras::probe_source(self, exercise) {
                let probe_dir = format!("{name}-{}", crate::extras::PROBE_ROLE);
                packages.push(crate::extras::write_probe_crate(
                    package,
                    dir,
                    &probe,
                    &workspace.join(&probe_dir),
                    false,
                )?);
                members.push(probe_dir);
            }
        }
        let members: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
        let manifest = workspace.join("Cargo.toml");
        std::fs::write(
            &manifest,
            format!("[workspace]\nresolver = \"3\"\nmembers = [{}]\n{BATCH_PROFILE}", members.join(", ")),
        )
        .map_err(|e| e.to_string())?;
        if !workspace.join("Cargo.lock").exists() {
            std::fs::copy(self.root.join("Cargo.lock"), workspace.join("Cargo.lock")).map_err(|e| e.to_string())?;
        }
        let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
        self.run_packages("build", &packages, Some(&manifest), &[], None)
            .map_err(|e| e.log)?;
        let checked: Vec<&str> = crates
            .iter()
            .filter(|(_, dir)| dir.join("clippy.toml").exists())
            .map(|(p, _)| p.as_str())
            .collect();
        if !checked.is_empty() {
            crate::extras::forbidden_methods(self, &checked, Some(&manifest), None).map_err(|e| e.log)?;
        }
        Ok(())
    }

    /// Like [`Cargo::build`], but stops cargo (and the compilers and build
    /// scripts it started) when `limit` passes, so a build that never ends
    /// cannot hold up a grade.
    pub fn build_within(&self, package: &str, manifest_path: Option<&Path>, limit: Duration) -> Result<(), BuildError> {
        self.run("build", package, manifest_path, &[], Some((Instant::now() + limit, limit)))
    }

    /// Runs `cargo SUBCOMMAND --package PACKAGE ... -- TOOL_ARGS` (build,
    /// clippy); on failure returns the compiler's messages. With `deadline`
    /// (the instant, and the whole limit it ends, for the message), cargo is
    /// stopped with everything it started when the instant passes: cargo runs
    /// in its own process group (and, in the sandbox, as process 1 of its own
    /// PID namespace, whose processes all die with it).
    pub fn run(
        &self,
        subcommand: &str,
        package: &str,
        manifest_path: Option<&Path>,
        tool_args: &[&str],
        deadline: Option<(Instant, Duration)>,
    ) -> Result<(), BuildError> {
        self.run_packages(subcommand, &[package], manifest_path, tool_args, deadline)
    }

    /// [`Cargo::run`] for several packages of one workspace in one cargo
    /// (with `--keep-going` when there are several, so one failure does not
    /// hide the others' messages).
    pub fn run_packages(
        &self,
        subcommand: &str,
        packages: &[&str],
        manifest_path: Option<&Path>,
        tool_args: &[&str],
        deadline: Option<(Instant, Duration)>,
    ) -> Result<(), BuildError> {
        let mut command = self.command(subcommand, packages, manifest_path, tool_args);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let spawned = match &self.jail {
            Some(jail) => jail.spawn(&mut command),
            None => command.spawn(),
        };
        let mut child = spawned.map_err(|e| BuildError {
            log: format!("cannot run cargo: {e}"),
            timed_out: false,
        })?;
        let mut stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            // Keep the first MAX_LOG bytes of the compiler's messages; read
            // (and drop) the rest so that cargo never blocks on a full pipe.
            let mut kept = Vec::new();
            let mut chunk = [0u8; 8192];
            let mut dropped = 0usize;
            while let Some(pipe) = stderr.as_mut() {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let take = n.min(MAX_LOG.saturating_sub(kept.len()));
                        kept.extend_from_slice(&chunk[..take]);
                        dropped += n - take;
                    }
                }
            }
            (kept, dropped)
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if deadline.is_some_and(|(at, _)| Instant::now() >= at) => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        if status.is_none() {
            crate::process::kill_tree(child.id() as i32);
            let _ = child.kill();
            let _ = child.wait();
        }
        let (stderr, dropped) = reader.join().unwrap_or_default();
        let mut log = diagnostics(&stderr);
        if dropped > 0 {
            log.push_str(&format!("\n[... {dropped} more bytes of compiler output not kept]"));
        }
        match status {
            Some(s) if s.success() => Ok(()),
            Some(_) => Err(BuildError { log, timed_out: false }),
            None => Err(BuildError {
                log: format!(
                    "build timed out: cargo did not finish within {} s and was stopped.\n{log}",
                    deadline.map(|(_, l)| l.as_secs()).unwrap_or(0),
                ),
                timed_out: true,
            }),
        }
    }

    fn command(&self, subcommand: &str, packages: &[&str], manifest_path: Option<&Path>, tool_args: &[&str]) -> Command {
        let cargo = match &self.jail {
            Some(jail) => jail.cargo().into_os_string(),
            None => std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        };
        let mut command = Command::new(cargo);
        command.current_dir(&self.root).arg(subcommand);
        for package in packages {
            command.arg("--package").arg(package);
        }
        if packages.len() > 1 {
            command.arg("--keep-going");
        }
        if let Some(path) = manifest_path {
            command.arg("--manifest-path").arg(path);
        }
        command
            .arg("--target-dir")
            .arg(&self.target_dir)
            .arg("--message-format")
            .arg("short");
        command.arg("--color").arg(if self.color { "always" } else { "never" });
        if let Some(jail) = &self.jail {
            command.arg("--offline");
            jail.apply(&mut command);
        }
        if !tool_args.is_empty() {
            command.arg("--").args(tool_args);
        }
        command
    }

    /// Builds the short-writes library; `None` where it cannot work (not Linux)
    /// or did not build, in which case the tests that need it report why.
    pub fn build_short_writes(&self) -> Result<Option<PathBuf>, String> {
        if !cfg!(target_os = "linux") {
            return Ok(None);
        }
        self.build(SHORT_WRITES_PACKAGE, None)?;
        let path = self.bin_dir().join("libsocklings_short_writes.so");
        Ok(path.exists().then_some(path))
    }

    /// Builds the crate of `exercise` from `exercises/` or `solutions/`.
    pub fn build_target(&self, exercise: &Exercise, kind: Kind, short_writes: Option<PathBuf>) -> Result<Target, String> {
        let package = exercise.package_for(kind);
        let source_dir = self.root.join(kind.dir_name()).join(&exercise.dir);
        self.build_crate(exercise, &package, &source_dir, None, None).map_err(|e| e.log)?;
        Ok(Target {
            kind,
            package,
            bin_dir: self.bin_dir(),
            source_dir,
            short_writes,
        })
    }
}

/// The profile of a batch of mutants: no debug information and no
/// incremental cache. Each mutant is compiled once and thrown away, so the
/// cache is never read, and the debug information only fills the disk:
/// measured on 2 cores, exercise 06's 32 mutants built from nothing in 49 s
/// (1.3 GB) with the default profile and in 15 s (80 MB) with this one.
/// A panic still names its file and line (that comes from the panic's
/// location, not from debug information).
const BATCH_PROFILE: &str = "\n[profile.dev]\ndebug = 0\nincremental = false\n";

/// The most compiler output kept from one cargo run.
const MAX_LOG: usize = 256 * 1024;

/// A build that failed: the compiler's messages, or a build that ran out of time.
#[derive(Debug, Clone)]
pub struct BuildError {
    pub log: String,
    pub timed_out: bool,
}

/// Keeps the compiler's diagnostics from cargo's stderr; drops its progress lines.
fn diagnostics(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let t = strip_ansi(l);
            let t = t.trim_start();
            !(t.starts_with("Compiling ")
                || t.starts_with("Checking ")
                || t.starts_with("Blocking ")
                || t.starts_with("Updating ")
                || t.starts_with("Locking "))
        })
        .collect();
    kept.join("\n")
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
