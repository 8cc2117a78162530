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
        }
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.target_dir.join("debug")
    }

    /// Builds `package` of the workspace (or of `manifest_path` when given).
    /// On failure returns the compiler's messages.
    pub fn build(&self, package: &str, manifest_path: Option<&Path>) -> Result<(), String> {
        self.run("build", package, manifest_path, &[])
    }

    /// Runs `cargo SUBCOMMAND --package PACKAGE ... -- TOOL_ARGS` (build,
    /// clippy); on failure returns the compiler's messages.
    pub fn run(&self, subcommand: &str, package: &str, manifest_path: Option<&Path>, tool_args: &[&str]) -> Result<(), String> {
        let output = self
            .command(subcommand, package, manifest_path, tool_args)
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        Err(diagnostics(&output.stderr))
    }

    /// Builds a crate under test, from `source_dir` (with `manifest_path` when
    /// it is outside the workspace, as mutants are), then the exercise's extra
    /// steps (see `extras`). The one way check, grade and the project's
    /// mutants build what they test, so none of them can skip a step.
    /// With `limit`, cargo's build is stopped when it runs past it (the extra
    /// steps then compile the same sources that just built within it).
    pub fn build_crate(
        &self,
        exercise: &Exercise,
        package: &str,
        source_dir: &Path,
        manifest_path: Option<&Path>,
        limit: Option<Duration>,
    ) -> Result<(), BuildError> {
        match limit {
            Some(limit) => self.build_within(package, manifest_path, limit)?,
            None => self
                .build(package, manifest_path)
                .map_err(|log| BuildError { log, timed_out: false })?,
        }
        crate::extras::build(self, exercise, package, source_dir, manifest_path).map_err(|log| BuildError { log, timed_out: false })
    }

    /// Like [`Cargo::build`], but stops cargo (and the compilers and build
    /// scripts it started) when `limit` passes, so a build that never ends
    /// cannot hold up a grade. Cargo runs in its own process group.
    pub fn build_within(&self, package: &str, manifest_path: Option<&Path>, limit: Duration) -> Result<(), BuildError> {
        let mut command = self.command("build", package, manifest_path, &[]);
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|e| BuildError {
            log: format!("cannot run cargo: {e}"),
            timed_out: false,
        })?;
        let mut stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = stderr.as_mut() {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        });
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        if status.is_none() {
            crate::process::kill_tree(child.id() as i32);
            let _ = child.kill();
            let _ = child.wait();
        }
        let stderr = reader.join().unwrap_or_default();
        match status {
            Some(s) if s.success() => Ok(()),
            Some(_) => Err(BuildError {
                log: diagnostics(&stderr),
                timed_out: false,
            }),
            None => Err(BuildError {
                log: format!(
                    "build timed out: cargo did not finish within {} s and was stopped.\n{}",
                    limit.as_secs(),
                    diagnostics(&stderr)
                ),
                timed_out: true,
            }),
        }
    }

    fn command(&self, subcommand: &str, package: &str, manifest_path: Option<&Path>, tool_args: &[&str]) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command.current_dir(&self.root).arg(subcommand).arg("--package").arg(package);
        if let Some(path) = manifest_path {
            command.arg("--manifest-path").arg(path);
        }
        command
            .arg("--target-dir")
            .arg(&self.target_dir)
            .arg("--message-format")
            .arg("short");
        command.arg("--color").arg(if self.color { "always" } else { "never" });
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
