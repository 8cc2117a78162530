//! `cargo xtask check`: builds the selected exercises, runs their hidden tests,
//! prints one line per exercise, then every failing test of the first
//! unfinished exercise with its summary, and the transcript of the most
//! telling one.
//!
//! Everything is built before any test's clock starts. The exit status is 0
//! only when every selected exercise passes.

use crate::style::Style;
use grader::Kind;
use grader::build::Cargo;
use grader::manifest::{Exercise, Manifest};
use grader::runner::{self, ExerciseReport, ExerciseStatus, Options, Status, TestReport};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Args {
    exercises: Vec<String>,
    kind: Kind,
    seed: Option<u64>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        exercises: Vec::new(),
        kind: Kind::Exercises,
        seed: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--solutions" => parsed.kind = Kind::Solutions,
            "--seed" => {
                let value = it.next().ok_or("--seed needs a number")?;
                parsed.seed = Some(value.parse().map_err(|_| format!("--seed needs a number, not `{value}`"))?);
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}` for check")),
            name => parsed.exercises.push(name.to_string()),
        }
    }
    Ok(parsed)
}

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let args = parse(args)?;
    let selected = crate::select(manifest, &args.exercises)?;
    let style = Style::for_stdout();
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000)
            .unwrap_or(1)
    });
    let reports = check(manifest, &selected, args.kind, seed, style)?;
    Ok(if reports.iter().all(is_done) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Builds and checks `selected`, printing one line per exercise, the progress,
/// and the first problem with a link to its chapter. `watch` uses it too.
pub fn check(manifest: &Manifest, selected: &[&Exercise], kind: Kind, seed: u64, style: Style) -> Result<Vec<ExerciseReport>, String> {
    let options = Options {
        seed,
        ..Options::default()
    };
    println!(
        "{} {} against {}/ (seed {seed})",
        style.bold("socklings:"),
        if selected.len() == 1 {
            format!("checking {}", selected[0].id)
        } else {
            format!("checking {} exercises", selected.len())
        },
        kind.dir_name()
    );
    print_what_cannot_run(selected, style);

    // Build first: no test's clock starts until everything is compiled.
    let cargo = Cargo::for_workspace(&manifest.root, style.enabled);
    let started = Instant::now();
    print!("  building ...");
    let _ = std::io::stdout().flush();
    let short_writes = cargo
        .build_short_writes()
        .map_err(|log| format!("the grader's short-writes library does not build:\n{log}"))?;
    let mut built = Vec::new();
    for exercise in selected {
        built.push((*exercise, cargo.build_target(exercise, kind, short_writes.clone())));
    }
    println!(" done in {:.1} s", started.elapsed().as_secs_f64());

    // Every built exercise's tests run side by side (see grader::runner).
    let runnable: Vec<(&Exercise, &grader::Target)> = built
        .iter()
        .filter_map(|(exercise, target)| Some((*exercise, target.as_ref().ok()?)))
        .collect();
    let count: usize = runnable
        .iter()
        .map(|(e, _)| grader::registry::tests_for(&e.id).map_or(0, |t| t.len()))
        .sum();
    let tested = Instant::now();
    print!("  running {count} tests, {} at a time ...", options.jobs());
    let _ = std::io::stdout().flush();
    let mut ran = runner::run_exercises(&runnable, &options).into_iter();
    println!(" done in {:.1} s\n", tested.elapsed().as_secs_f64());
    let mut reports = Vec::new();
    for (exercise, target) in &built {
        let report = match target {
            Ok(_) => ran.next().expect("one report per built exercise"),
            Err(log) => ExerciseReport::does_not_compile(exercise, log.clone()),
        };
        print_line(&report, style);
        reports.push(report);
    }

    let done = reports.iter().filter(|r| is_done(r)).count();
    let partly = reports.iter().filter(|r| passed_partly(r)).count();
    println!("\n{}", progress(done, partly, reports.len(), style));
    match reports.iter().find(|r| r.status != ExerciseStatus::Passed) {
        None if partly == 0 => println!("{}", style.green("Every selected exercise passes.")),
        None => {
            let skipped: usize = reports.iter().map(|r| r.skipped()).sum();
            println!(
                "{} {}",
                style.yellow("Every selected exercise passes what could run here,"),
                style.yellow(&format!(
                    "but {} could not run, so {} not done yet.",
                    tests(skipped),
                    if partly == 1 { "one exercise is" } else { "those exercises are" }
                ))
            );
            println!("{FULL_COURSE}");
        }
        Some(report) => {
            print_first_problem(report, kind, seed, style);
            // The summary's last line: the first unfinished exercise and its chapter.
            let exercise = &report.exercise;
            println!(
                "\n{} {}. Read {}, then run `cargo xtask check {}` again.",
                style.bold("Next up:"),
                exercise.id,
                style.link(&exercise.docs, &manifest.root.join(&exercise.docs)),
                exercise.number()
            );
        }
    }
    Ok(reports)
}

/// Where to get every check: said wherever some could not run.
const FULL_COURSE: &str = "The dev container runs every check: open this repository in VS Code (\"Reopen in Container\", .devcontainer/) or in GitHub Codespaces; see docs/src/start/xtask.md.";

/// An exercise is done when it passed with every one of its tests run: a
/// test skipped here (see `grader::platform::Need`) proved nothing.
pub fn is_done(report: &ExerciseReport) -> bool {
    report.status == ExerciseStatus::Passed && report.skipped() == 0
}

/// Passed every test that ran, but some could not run here.
fn passed_partly(report: &ExerciseReport) -> bool {
    report.status == ExerciseStatus::Passed && report.skipped() > 0
}

/// "1 test", "3 tests".
fn tests(n: usize) -> String {
    format!("{n} test{}", if n == 1 { "" } else { "s" })
}

/// Says once, before anything runs, which tests this machine cannot run and
/// why (no IPv6, not Linux, ...), and how to get the whole course, so that a
/// learner does not discover skips one test at a time. Silent where
/// everything can run. (A test can also find out only while it runs that it
/// cannot: its exercise's line says so.)
fn print_what_cannot_run(selected: &[&Exercise], style: Style) {
    // Each reason, with the tests it takes away, in the manifest's order.
    let mut reasons: Vec<(String, Vec<String>)> = Vec::new();
    for exercise in selected {
        for case in grader::registry::tests_for(&exercise.id).unwrap_or(&[]) {
            let Some(reason) = case.needs.iter().find_map(|n| n.missing()) else {
                continue;
            };
            let id = format!("{}.{}", exercise.number(), case.id);
            match reasons.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, ids)) => ids.push(id),
                None => reasons.push((reason, vec![id])),
            }
        }
    }
    if reasons.is_empty() {
        return;
    }
    let count: usize = reasons.iter().map(|(_, ids)| ids.len()).sum();
    println!(
        "  {} {} cannot run on this machine and will be skipped (a skipped test earns no points, and its exercise does not count as done):",
        style.yellow("note:"),
        tests(count),
    );
    for (reason, ids) in &reasons {
        println!("    - {reason} ({})", short_list(ids));
    }
    println!("  {}", style.dim(FULL_COURSE));
}

/// At most five ids, then how many more.
fn short_list(ids: &[String]) -> String {
    if ids.len() <= 5 {
        ids.join(", ")
    } else {
        format!("{}, and {} more", ids[..5].join(", "), ids.len() - 5)
    }
}

fn print_line(report: &ExerciseReport, style: Style) {
    if passed_partly(report) {
        print_partial_line(report, style);
        return;
    }
    let (mark, word) = match &report.status {
        ExerciseStatus::Passed => (style.green("✓"), style.green("passed")),
        ExerciseStatus::Failing => (style.red("✗"), style.red("failing")),
        ExerciseStatus::NotStarted => (style.yellow("·"), style.yellow("not started")),
        ExerciseStatus::DoesNotCompile(_) => (style.red("✗"), style.red("does not compile")),
    };
    let counted = report.tests.len() - report.skipped();
    let mut detail = if report.tests.is_empty() {
        String::new()
    } else {
        format!(
            "{}/{} tests, {}/{} points",
            report.passed(),
            counted,
            report.points(),
            report.exercise.points
        )
    };
    if report.skipped() > 0 {
        detail.push_str(&format!(", {} skipped", report.skipped()));
    }
    // Pad the plain word, then colour it, so columns line up with or without colour.
    let pad = " ".repeat(18usize.saturating_sub(report.status.word().len()));
    println!("  {mark} {:<26} {word}{pad}{}", report.exercise.id, style.dim(&detail));
    if report.skipped() > 0 {
        print_skip_reasons(report, style);
    }
}

/// An exercise that passed every test that ran, while some could not run
/// here: never a plain "passed". Its line says how many could not run, and
/// why, one reason per line.
fn print_partial_line(report: &ExerciseReport, style: Style) {
    let skipped = report.skipped();
    let counted = report.tests.len() - skipped;
    println!(
        "  {} {:<26} {}   {}",
        style.yellow("~"),
        report.exercise.id,
        style.yellow(&format!("passed, but {} could not run here", tests(skipped))),
        style.dim(&format!(
            "{}/{counted} tests, {}/{} points",
            report.passed(),
            report.points(),
            report.exercise.points
        ))
    );
    print_skip_reasons(report, style);
}

/// Why the tests of `report` that were skipped could not run, once per reason.
fn print_skip_reasons(report: &ExerciseReport, style: Style) {
    let mut reasons: Vec<(&str, Vec<String>)> = Vec::new();
    for test in report.tests.iter().filter(|t| t.status == Status::Skipped) {
        let reason = test.summary.strip_prefix("skipped: ").unwrap_or(&test.summary);
        match reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, ids)) => ids.push(test.id.clone()),
            None => reasons.push((reason, vec![test.id.clone()])),
        }
    }
    for (reason, ids) in reasons {
        println!("      {}", style.dim(&format!("not run: {reason} ({})", short_list(&ids))));
    }
}

fn progress(done: usize, partly: usize, total: usize, style: Style) -> String {
    let width = 24;
    let filled = (done * width).checked_div(total).unwrap_or(0);
    let partly = if partly == 0 {
        String::new()
    } else {
        format!(" (and {partly} passed only what could run here)")
    };
    format!(
        "Progress: {done} of {total} done{partly}  [{}{}]",
        style.green(&"#".repeat(filled)),
        "-".repeat(width - filled)
    )
}

fn print_first_problem(report: &ExerciseReport, kind: Kind, seed: u64, style: Style) {
    let exercise = &report.exercise;
    let source = format!("{}/{}/src/", kind.dir_name(), exercise.dir);
    println!();
    match &report.status {
        ExerciseStatus::DoesNotCompile(log) => {
            println!("{}", style.bold(&format!("── {} does not compile ──", exercise.id)));
            println!("{log}");
            println!("\nFix the first error above (the others often follow from it), then check again.");
        }
        ExerciseStatus::NotStarted => {
            println!("{}", style.bold(&format!("── {}: where to begin ──", exercise.id)));
            let at = report.tests.iter().find_map(|t| t.panic.as_ref()).map(|p| p.location.clone());
            match &at {
                Some(location) => println!("Your program reached a todo!() at {location}: that part is not written yet."),
                None => println!("This exercise is not started yet."),
            }
            // The file where the todo!() was reached (exercise 06 has no main.rs).
            let file = at
                .as_deref()
                .and_then(|l| l.split(':').next())
                .filter(|f| f.ends_with(".rs"))
                .map(|f| f.to_string())
                .unwrap_or_else(|| format!("{source}main.rs"));
            println!(
                "Open {file} and follow its TODO sentences; the chapter {} explains the idea.",
                exercise.docs
            );
            println!(
                "Then run `cargo xtask check {}`. Stuck? `cargo xtask hint {}`.",
                exercise.number(),
                exercise.number()
            );
        }
        _ => {
            // Every failing test in one line each: a program usually breaks
            // more than one clause, and the first test in order is not always
            // the one that explains the others.
            let failing: Vec<&TestReport> = report
                .tests
                .iter()
                .filter(|t| !matches!(t.status, Status::Passed | Status::Skipped))
                .collect();
            if failing.len() > 1 {
                println!("{}", style.bold(&format!("── {}: {} tests fail ──", exercise.id, failing.len())));
                for test in &failing {
                    let summary = test.summary.lines().next().unwrap_or("");
                    println!("  {} {}: {}", style.red("✗"), test.id, one_line(summary, 160));
                }
                println!();
            }
            if let Some(test) = most_telling(&failing) {
                if failing.len() > 1 {
                    println!("The transcript of {}:\n", test.id);
                }
                print_failure(test, exercise, seed, style);
            }
        }
    }
}

/// The failure to show in full: a panic explains everything after it, and an
/// expectation that failed says more than a test that ran out of time (which
/// only says that something never happened); otherwise the first in order.
fn most_telling<'a>(failing: &[&'a TestReport]) -> Option<&'a TestReport> {
    let rank = |t: &TestReport| match (&t.panic, &t.status) {
        (Some(p), _) if !p.is_todo() => 0,
        (_, Status::Failed) => 1,
        (_, Status::NotStarted) => 2,
        (_, Status::TimedOut) => 3,
        _ => 4,
    };
    failing.iter().copied().min_by_key(|t| rank(t))
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn one_line(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The transcript of one failed test: what happened, what was expected, the
/// concept, what to try, and where to read more.
pub fn print_failure(test: &TestReport, exercise: &Exercise, seed: u64, style: Style) {
    let status = match test.status {
        Status::TimedOut => style.red("timed out"),
        Status::NotStarted => style.yellow("not started"),
        _ => style.red(test.status.word()),
    };
    println!("{} {status}", style.bold(&format!("── {} ──", test.id)));
    println!("Scenario: {}", test.scenario);
    println!(
        "{}",
        style.dim(&format!("Replay exactly: cargo xtask check {} --seed {seed}", exercise.number()))
    );
    if !test.transcript.is_empty() {
        println!("\nWhat happened:");
        print!("{}", test.transcript);
    }
    println!("\n{} {}", style.bold("Failed:"), test.summary);
    match &test.panic {
        // The test failed only because this part is not written yet: the
        // test's own hint would talk about the wrong thing.
        Some(panic) if panic.is_todo() => {
            println!(
                "{} your program reached a todo!() at {}: that part is not written yet.",
                style.yellow("Not started:"),
                panic.location
            );
            println!(
                "{} write the function at {} (its TODO sentence says what it must do), then check again.",
                style.bold("Try:"),
                panic.location
            );
        }
        Some(panic) => {
            println!("{} at {}: {}", style.red("Your program panicked"), panic.location, panic.message);
            println!("{} {}", style.bold("Concept:"), test.concept);
            println!("{} {}", style.bold("Try:"), test.hint);
        }
        None => {
            println!("{} {}", style.bold("Concept:"), test.concept);
            println!("{} {}", style.bold("Try:"), test.hint);
        }
    }
    println!("{} {}", style.bold("Read:"), test.docs);
}
