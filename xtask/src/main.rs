//! `cargo xtask`: the socklings command line for learners and instructors.
//!
//! `main` only parses arguments and dispatches; each command is one module.

mod bench;
mod check;
mod formats;
mod grade;
mod hint;
mod list;
mod report;
mod reset;
mod style;
mod submission;
mod suite;
mod watch;

use grader::manifest::{Exercise, Manifest};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask [--root DIR] <command> [arguments]

for learners:
  check [EX...] [--solutions] [--seed N]
                      build and run the hidden tests; with no EX, every exercise
  watch [EX] [--interval MS]
                      check again on every save, moving on when one passes
  list                the exercises, in order
  hint EX [--all]     the next hint for an exercise (or all of them)
  bench [--quick] [--clients 10,100,1000,10000] [--window-ms MS]
        [--only thread,poll,epoll] [--no-write]
                      the same chat room served by a thread per client, poll (03)
                      and epoll (10); writes docs/src/concepts/scaling-designs.md
  bench --suite [--jobs N] [--tests]
                      time the hidden suite against the reference answers
  reset EX            put the stub back; your version goes to a backup folder

for instructors (docs/src/instructors.md):
  grade [EX...] [--submission DIR [--work DIR]] [--solutions] [--format FORMAT]
        [--output [FORMAT=]FILE]... [--require-all] [--seed N] [--build-limit SECS]
                      grade exercises/ (or a learner's repository, with the
                      instructor's grader); FORMAT is text, json, gradescope,
                      classroom or junit; --output repeats, so one run writes
                      every format. Exit 0 complete, 3 grader error,
                      128+N stopped by signal N (the report says the same)

--root DIR uses the socklings workspace at DIR instead of this one.

EX is an id (01-bind-listen-accept), a number (1 or 01) or a name (bind-listen-accept).
Colour is used on a terminal unless NO_COLOR is set.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let (root, args) = match args {
        [flag, dir, rest @ ..] if flag == "--root" => (PathBuf::from(dir), rest),
        _ => (workspace_root(), args),
    };
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    let manifest = Manifest::load(&root).map_err(|e| e.to_string())?;
    let result = dispatch(&manifest, command, rest);
    // Scratch folders and staged binaries of the sandbox (see grader::sandbox).
    grader::sandbox::cleanup();
    result
}

fn dispatch(manifest: &Manifest, command: &str, rest: &[String]) -> Result<ExitCode, String> {
    match command {
        "check" => check::run(manifest, rest),
        "list" => list::run(manifest),
        "hint" => hint::run(manifest, rest),
        "watch" => watch::run(manifest, rest),
        "reset" => reset::run(manifest, rest),
        "grade" => grade::run(manifest, rest),
        "bench" if rest.iter().any(|a| a == "--suite") => suite::run(manifest, rest),
        "bench" => bench::run(manifest, rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    }
}

/// The workspace root: xtask's own folder's parent.
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Finds the exercises named by `queries`, or explains which names are valid.
pub fn select<'m>(manifest: &'m Manifest, queries: &[String]) -> Result<Vec<&'m Exercise>, String> {
    if queries.is_empty() {
        return Ok(manifest.exercises.iter().collect());
    }
    queries
        .iter()
        .map(|q| {
            manifest.find(q).ok_or_else(|| {
                let valid: Vec<String> = manifest.exercises.iter().map(|e| format!("  {:<28} {}", e.id, e.title)).collect();
                format!("no exercise is called `{q}`. The exercises are:\n{}", valid.join("\n"))
            })
        })
        .collect()
}
