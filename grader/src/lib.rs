//! The socklings grader: the hidden tests and the harness that runs them
//! against a learner's program over real kernel sockets.
//!
//! The same test code runs unchanged against `exercises/` and `solutions/`
//! (and, in the project's own tests, against deliberately wrong programs):
//! a [`Target`] says which built program to run, and nothing else differs.
//!
//! The parts, in the order a run uses them:
//! - [`manifest`]: the exercise list (`exercises.toml`), data not code;
//! - [`build`]: compiles the program under test *before* any clock starts;
//! - [`registry`] and [`exercises`]: the hidden tests, one module per exercise;
//! - [`runner`]: runs each test on its own thread with a time limit;
//! - [`ctx`], [`process`]: what a test works with (programs in their own
//!   process group, logged loopback clients);
//! - [`sandbox`]: the one door through which learner code starts (separate
//!   user, private mounts, PID namespace, cgroup, limits, empty environment);
//! - [`transcript`], [`oserror`]: what the learner reads when a test fails.

pub mod build;
pub mod chat;
pub mod contract;
pub mod ctx;
pub mod exercises;
pub mod extras;
pub mod fdlimit;
pub mod fixtures;
pub mod manifest;
pub mod oserror;
pub mod platform;
pub mod process;
pub mod procfs;
pub mod registry;
pub mod runner;
#[cfg(target_os = "linux")]
pub mod sandbox;
#[cfg(not(target_os = "linux"))]
#[path = "sandbox_other.rs"]
pub mod sandbox;
pub mod sockdiag;
pub mod transcript;

use std::path::PathBuf;

pub use ctx::{Client, Ctx, Failure, Outcome};
pub use registry::TestCase;

/// Which tree of crates is under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The learner's crates in `exercises/`.
    Exercises,
    /// The reference answers in `solutions/`.
    Solutions,
}

impl Kind {
    pub fn dir_name(self) -> &'static str {
        match self {
            Kind::Exercises => "exercises",
            Kind::Solutions => "solutions",
        }
    }
}

/// A built program to test.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: Kind,
    /// The package whose binary is the program (its main binary has the package's name).
    pub package: String,
    /// Where cargo put the binaries.
    pub bin_dir: PathBuf,
    /// The crate's folder, for messages that point at the learner's source.
    pub source_dir: PathBuf,
    /// The `LD_PRELOAD` library that makes socket writes short (Linux only).
    pub short_writes: Option<PathBuf>,
}

impl Target {
    /// The main program: the binary named after the package (`src/main.rs`).
    pub fn program(&self) -> PathBuf {
        self.bin_dir.join(format!("{}{}", self.package, std::env::consts::EXE_SUFFIX))
    }

    /// Another program of the crate, by role. Binary names must be unique in
    /// the workspace (exercise and solution share `target/`), so a crate with
    /// several programs names them `<package>-<role>` in its Cargo.toml
    /// (`[[bin]] name = "keepalive-client"`, `"keepalive-solution-client"`).
    pub fn bin(&self, role: &str) -> PathBuf {
        self.bin_dir
            .join(format!("{}-{role}{}", self.package, std::env::consts::EXE_SUFFIX))
    }
}
