//! `cargo xtask`: the socklings command line for learners.
//!
//! `main` only parses arguments and dispatches; each command is one module.

mod bench;
mod check;
mod hint;
mod list;
mod style;

use grader::manifest::{Exercise, Manifest};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [arguments]

commands:
  check [EX...] [--solutions] [--seed N]
                      build and run the hidden tests; with no EX, every exercise
  list                the exercises, in order
  hint EX [--all]     the next hint for an exercise (or all of them)
  bench [--clients 10,100,500,1000] [--round-trips N] [--no-write]
                      measure the 01 and 03 servers; writes the table and chart of docs/src/03

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
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    let manifest = Manifest::load(&workspace_root()).map_err(|e| e.to_string())?;
    match command.as_str() {
        "check" => check::run(&manifest, rest),
        "list" => list::run(&manifest),
        "hint" => hint::run(&manifest, rest),
        "bench" => bench::run(&manifest, rest),
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
