//! `cargo xtask bench --suite`: how long the hidden suite takes against the
//! reference answers, per exercise and per test, and which test is the
//! critical path (the run can never be shorter than its longest test).
//!
//! A measurement, not a test: nothing here passes or fails on a time. Build
//! first (no clock), then the same scheduler `check` uses (`runner::run_exercises`).

use grader::Kind;
use grader::build::Cargo;
use grader::manifest::Manifest;
use grader::runner::{self, Options, Status};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let mut jobs = 0;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--suite" => {}
            "--jobs" => {
                let v = it.next().ok_or("--jobs needs a number")?;
                jobs = v.parse().map_err(|_| format!("--jobs needs a number, not `{v}`"))?;
            }
            other => return Err(format!("unknown option `{other}` for bench --suite")),
        }
    }
    let selected: Vec<_> = manifest.exercises.iter().collect();
    let cargo = Cargo::for_workspace(&manifest.root, false);
    let short_writes = cargo.build_short_writes()?;
    let mut targets = Vec::new();
    for exercise in &selected {
        targets.push(cargo.build_target(exercise, Kind::Solutions, short_writes.clone())?);
    }
    let items: Vec<_> = selected.iter().copied().zip(targets.iter()).collect();
    let options = Options {
        seed: 1,
        jobs,
        ..Options::default()
    };
    let started = Instant::now();
    let reports = runner::run_exercises(&items, &options);
    let wall = started.elapsed();
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    println!("hidden suite against solutions/, {} tests at a time\n", options.jobs());
    println!("{:<26} {:>6} {:>10} {:>10}  longest test", "exercise", "tests", "sum", "longest");
    let mut all_passed = true;
    let mut critical: Option<(String, Duration)> = None;
    for report in &reports {
        let sum: Duration = report.tests.iter().map(|t| t.duration).sum();
        let longest = report.tests.iter().max_by_key(|t| t.duration);
        all_passed &= report.tests.iter().all(|t| matches!(t.status, Status::Passed | Status::Skipped));
        if let Some(t) = longest
            && critical.as_ref().is_none_or(|(_, d)| t.duration > *d)
        {
            critical = Some((t.id.clone(), t.duration));
        }
        println!(
            "{:<26} {:>6} {:>10} {:>10}  {}",
            report.exercise.id,
            report.tests.len(),
            secs(sum),
            longest.map_or(String::new(), |t| secs(t.duration)),
            longest.map_or("", |t| t.id.as_str())
        );
    }
    let exclusive: Duration = reports
        .iter()
        .flat_map(|r| {
            let tests = grader::registry::tests_for(&r.exercise.id).unwrap_or(&[]);
            r.tests
                .iter()
                .filter(move |t| tests.iter().any(|c| c.exclusive && t.id.ends_with(&format!(".{}", c.id))))
        })
        .map(|t| t.duration)
        .sum::<Duration>()
        / grader::runner::exclusive_at_once() as u32;
    let at_once = match grader::runner::exclusive_at_once() {
        1 => "alone".to_string(),
        n => format!("{n} at a time, with each other only"),
    };
    println!("\nwall time of the suite: {}", secs(wall));
    if let Some((id, d)) = critical {
        println!(
            "critical path: {id} ({}), plus the exclusive tests after the rest, {at_once} (about {})",
            secs(d),
            secs(exclusive)
        );
    }
    if !all_passed {
        // Named with what went wrong: a benchmark run many times is how a
        // test that fails once in a while is found.
        println!("\nnot passed (the reference answers must pass every test; this is a flaky test or a broken machine):");
        for test in reports.iter().flat_map(|r| &r.tests) {
            if !matches!(test.status, Status::Passed | Status::Skipped) {
                println!("  {} ({}, {}): {}", test.id, test.status.word(), secs(test.duration), test.summary);
            }
        }
    }
    Ok(if all_passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
