//! `cargo xtask list`: the exercises in order, with their points and chapters.

use crate::style::Style;
use grader::manifest::Manifest;
use std::process::ExitCode;

pub fn run(manifest: &Manifest) -> Result<ExitCode, String> {
    let style = Style::for_stdout();
    println!("{}", style.bold("socklings exercises"));
    for e in &manifest.exercises {
        let needs = if e.needs.is_empty() {
            String::new()
        } else {
            format!("  needs: {}", e.needs.join(", "))
        };
        println!("  {:<26} {:<46} {:>3} points", e.id, e.title, e.points);
        println!("  {:<26} {}{}", "", style.dim(&e.docs), style.dim(&needs));
    }
    println!("\nCheck one with `cargo xtask check 01`, all with `cargo xtask check`; stuck? `cargo xtask hint 01`.");
    Ok(ExitCode::SUCCESS)
}
