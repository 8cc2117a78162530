//! `cargo xtask watch`: a saved change is checked again (found by polling),
//! and a passing exercise moves on.

use super::util;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Waits for a line containing any of `wanted`, with a deadline.
fn wait_for(lines: &mpsc::Receiver<String>, wanted: &[&str], within: Duration, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if wanted.iter().any(|w| line.contains(w)) {
                    return line;
                }
            }
            Err(_) => panic!("no line with {wanted:?} within {within:?}; watch printed:\n{}", seen.join("\n")),
        }
    }
}

/// Starts on the first exercise (a stub: not started), checks again when a
/// file is saved, and moves on once the exercise passes.
#[test]
fn watch_checks_again_on_save_and_moves_on_when_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("learner");
    util::copy_workspace(&repo);
    let first = &util::manifest().exercises[0];
    let src = repo.join("exercises").join(&first.dir).join("src");

    let binary = assert_cmd::cargo::cargo_bin("xtask");
    let mut child = Command::new(binary)
        .env("CARGO_TARGET_DIR", util::root().join("target").join("xtask-tests-watch"))
        .env("NO_COLOR", "1")
        .arg("--root")
        .arg(&repo)
        .args(["watch", first.number(), "--interval", "100"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    // A cold build in a fresh target directory on a loaded machine: be generous.
    let build = Duration::from_secs(600);
    wait_for(&lines, &["Watching exercises/"], build, &mut seen);

    // A saved edit (the stub plus a comment) is noticed and checked again.
    let main = src.join("main.rs");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str("\n// A learner's note.\n");
    std::fs::write(&main, text).unwrap();
    wait_for(&lines, &["A change was saved"], Duration::from_secs(30), &mut seen);
    wait_for(&lines, &["Watching exercises/"], build, &mut seen);

    // Saving the solution makes the exercise pass, and watch moves on.
    for entry in std::fs::read_dir(util::root().join("solutions").join(&first.dir).join("src"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(entry.path(), src.join(entry.file_name())).unwrap();
    }
    wait_for(&lines, &["Passed: moving on to", "Every exercise passes"], build, &mut seen);

    let _ = child.stdin.as_mut().unwrap().write_all(b"q\n");
    let deadline = Instant::now() + build;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("watch did not quit on `q`:\n{}", seen.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
