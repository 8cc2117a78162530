//! `cargo xtask hint EX`: one more hint each time it is asked (`--all` for all).
//!
//! How many hints a learner has seen is kept in `target/socklings/hints/<id>`,
//! outside the sources, so `git status` stays clean.

use crate::style::Style;
use grader::manifest::Manifest;
use std::process::ExitCode;

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let all = args.iter().any(|a| a == "--all");
    let names: Vec<String> = args.iter().filter(|a| !a.starts_with("--")).cloned().collect();
    if names.len() != 1 {
        return Err("usage: cargo xtask hint EX [--all]   (for example: cargo xtask hint 01)".into());
    }
    let exercise = crate::select(manifest, &names)?[0];
    if exercise.hints.is_empty() {
        println!("Exercise {} has no hints yet; its chapter is {}.", exercise.id, exercise.docs);
        return Ok(ExitCode::SUCCESS);
    }
    let state = manifest.root.join("target").join("socklings").join("hints").join(&exercise.id);
    let seen: usize = std::fs::read_to_string(&state)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let show = if all {
        exercise.hints.len()
    } else {
        (seen + 1).min(exercise.hints.len())
    };
    let style = Style::for_stdout();
    println!(
        "{}",
        style.bold(&format!("Hints for {} ({} of {}):", exercise.id, show, exercise.hints.len()))
    );
    for (i, hint) in exercise.hints.iter().take(show).enumerate() {
        println!("\n  {}. {hint}", i + 1);
    }
    if show < exercise.hints.len() {
        println!("\n{}", style.dim("Ask again for the next one, or use --all."));
    }
    println!("\nThe chapter: {}", exercise.docs);
    if let Some(dir) = state.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&state, show.max(seen).to_string());
    Ok(ExitCode::SUCCESS)
}
