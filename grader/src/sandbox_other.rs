//! The sandbox where Linux's walls do not exist (macOS, Windows): the same
//! door with nothing behind it but an empty environment and a scratch
//! folder, so that `check` works as it always did and a grade says plainly
//! that no wall stood. The walls themselves are in `sandbox.rs` (Linux).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;

pub const USER: &str = "socklings-sandbox";
pub const FALLBACK_ID: u32 = 64_123;
pub const SWITCH: &str = "SOCKLINGS_SANDBOX";

/// One wall of the sandbox and whether it stands on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub name: &'static str,
    pub in_force: bool,
    pub reason: String,
}

pub fn hide(_path: &Path) {}

pub fn hide_from_programs(_path: &Path) {}

pub fn hidden() -> Vec<PathBuf> {
    Vec::new()
}

pub fn protections() -> Vec<Protection> {
    let missing = |name| Protection {
        name,
        in_force: false,
        reason: "only implemented on Linux".into(),
    };
    vec![
        missing("separate user"),
        missing("hidden instructor files"),
        missing("PID namespace per program"),
        missing("cgroup per test"),
        missing("memory and process caps"),
        Protection {
            name: "empty environment",
            in_force: true,
            reason: "programs get only HOME, TMPDIR and what the test passes, and a fresh scratch folder".into(),
        },
    ]
}

pub fn missing_protections() -> Vec<String> {
    protections()
        .into_iter()
        .filter(|p| !p.in_force)
        .map(|p| format!("sandbox: {} not in force: {}", p.name, p.reason))
        .collect()
}

/// One test's part of the sandbox: here only its scratch folder.
#[derive(Default)]
pub struct Cell {
    scratch: Mutex<Option<PathBuf>>,
}

impl Cell {
    pub fn new() -> Cell {
        Cell::default()
    }

    /// The test's scratch folder, created now if no program has started yet.
    pub(crate) fn scratch_dir(&self) -> io::Result<PathBuf> {
        let mut slot = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dir) = &*slot {
            return Ok(dir.clone());
        }
        let dir = std::env::temp_dir().join(format!("socklings-test-{}-{:p}", std::process::id(), self));
        std::fs::create_dir_all(&dir)?;
        *slot = Some(dir.clone());
        Ok(dir)
    }

    pub fn finish(&self) -> Result<(), String> {
        if let Some(dir) = self.scratch.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(())
    }
}

pub fn run_dir() -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("socklings-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub fn cleanup() {
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("socklings-run-{}", std::process::id())));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joins {
    Nothing,
    UserNamespace,
}

pub(crate) fn spawn_program(command: &mut Command, cell: &Cell, _joins: Joins) -> io::Result<Child> {
    let scratch = {
        let mut slot = cell.scratch.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some(dir) => dir.clone(),
            None => {
                let dir = std::env::temp_dir().join(format!("socklings-test-{}-{:p}", std::process::id(), cell));
                std::fs::create_dir_all(&dir)?;
                *slot = Some(dir.clone());
                dir
            }
        }
    };
    let envs: Vec<_> = command
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_os_string(), v?.to_os_string())))
        .collect();
    command.env_clear().env("HOME", &scratch).env("TMPDIR", &scratch);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.current_dir(&scratch).spawn()
}

/// Never built here: there is no sandbox user to build as.
#[derive(Debug, Clone)]
pub struct BuildJail;

impl BuildJail {
    pub fn prepare(_work: &Path, _target_dir: &Path) -> Result<Option<BuildJail>, String> {
        Ok(None)
    }

    pub fn give(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    pub fn cargo(&self) -> PathBuf {
        PathBuf::from("cargo")
    }

    pub fn apply(&self, _command: &mut Command) {}

    pub fn spawn(&self, command: &mut Command) -> io::Result<Child> {
        command.spawn()
    }
}
