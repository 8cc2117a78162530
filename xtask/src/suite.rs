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
    let mut every_test = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--suite" => {}
            "--tests" => every_test = true,
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
    // When each test ended (its start is that minus its duration): a test
    // that failed is printed with the tests that ran beside it.
    let ended = std::sync::Mutex::new(std::collections::HashMap::new());
    let reports = runner::run_exercises_with(&items, &options, &|_, _, report| {
        ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(report.id.clone(), started.elapsed());
    });
    let wall = started.elapsed();
    let ended = ended.into_inner().unwrap_or_else(|p| p.into_inner());
    let span = |id: &str, duration: Duration| {
        let end = ended.get(id).copied().unwrap_or_default();
        (end.saturating_sub(duration), end)
    };
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
    // The tests that run apart (`registry::Sharing`), after the others: how
    // long that part of the run took, from the first start to the last end.
    let apart: Vec<(Duration, Duration)> = reports
        .iter()
        .flat_map(|r| {
            let tests = grader::registry::tests_for(&r.exercise.id).unwrap_or(&[]);
            r.tests
                .iter()
                .filter(move |t| tests.iter().any(|c| c.sharing.apart() && t.id.ends_with(&format!(".{}", c.id))))
        })
        .map(|t| span(&t.id, t.duration))
        .collect();
    let apart_time = match (apart.iter().map(|s| s.0).min(), apart.iter().map(|s| s.1).max()) {
        (Some(from), Some(to)) => to.saturating_sub(from),
        _ => Duration::ZERO,
    };
    if every_test {
        // Longest first: what to shorten next.
        let mut all: Vec<_> = reports.iter().flat_map(|r| &r.tests).collect();
        all.sort_by_key(|t| std::cmp::Reverse(t.duration));
        println!("\n{:<48} {:>10}", "test", "time");
        for t in all {
            println!("{:<48} {:>10}", t.id, secs(t.duration));
        }
    }
    println!("\nwall time of the suite: {}", secs(wall));
    if let Some((id, d)) = critical {
        println!(
            "critical path: {id} ({}), then the {} tests that measure, after the rest ({} at a time, or alone: {})",
            secs(d),
            apart.len(),
            grader::runner::MEASURING_AT_ONCE,
            secs(apart_time)
        );
    }
    if !all_passed {
        // Named with what went wrong: a benchmark run many times is how a
        // test that fails once in a while is found.
        println!("\nnot passed (the reference answers must pass every test; this is a flaky test or a broken machine):");
        for test in reports.iter().flat_map(|r| &r.tests) {
            if !matches!(test.status, Status::Passed | Status::Skipped) {
                let (from, to) = span(&test.id, test.duration);
                println!(
                    "  {} ({}, {:.2}-{:.2} s into the run): {}",
                    test.id,
                    test.status.word(),
                    from.as_secs_f64(),
                    to.as_secs_f64(),
                    test.summary
                );
                let beside: Vec<String> = reports
                    .iter()
                    .flat_map(|r| &r.tests)
                    .filter(|other| other.id != test.id)
                    .filter_map(|other| {
                        let (a, b) = span(&other.id, other.duration);
                        (a < to && b > from).then(|| format!("{} ({:.2}-{:.2} s)", other.id, a.as_secs_f64(), b.as_secs_f64()))
                    })
                    .collect();
                println!("    beside it: {}", beside.join(", "));
            }
        }
    }
    Ok(if all_passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
