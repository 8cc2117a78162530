//! `cargo xtask reset EX`: the stub comes back byte for byte, from the
//! course's first commit, even when the learner committed their own work.

use super::util;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Learner",
            "-c",
            "user.email=learner@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(status.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&status.stderr));
}

/// Every exercise: after committed and uncommitted edits and a new file,
/// `reset` restores each stub file exactly, removes the new file from `src/`,
/// and keeps the learner's version in the backup folder it names.
#[test]
fn reset_restores_the_stub_byte_for_byte_and_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::copy(util::root().join("exercises.toml"), repo.join("exercises.toml")).unwrap();
    util::copy_dir(&util::root().join("exercises"), &repo.join("exercises"), &|rel| {
        rel.ends_with("backups")
    });
    // The course's history: an older version of every stub first, then the
    // current one. reset must restore the current stub, not the first.
    let firsts: Vec<std::path::PathBuf> = util::manifest()
        .exercises
        .iter()
        .map(|e| {
            let src = repo.join("exercises").join(&e.dir).join("src");
            let mut files: Vec<_> = std::fs::read_dir(&src).unwrap().flatten().map(|f| f.path()).collect();
            files.sort();
            files.remove(0)
        })
        .collect();
    let current: Vec<Vec<u8>> = firsts.iter().map(|f| std::fs::read(f).unwrap()).collect();
    for (file, bytes) in firsts.iter().zip(&current) {
        std::fs::write(file, [b"// An older stub.\n".as_slice(), bytes].concat()).unwrap();
    }
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "The course's first stubs"]);
    for (file, bytes) in firsts.iter().zip(&current) {
        std::fs::write(file, bytes).unwrap();
    }
    git(repo, &["commit", "-q", "-am", "The course's stubs, improved"]);

    for exercise in &util::manifest().exercises {
        let src = repo.join("exercises").join(&exercise.dir).join("src");
        // The learner commits work in the stub's first file (main.rs, or the
        // first one there is), then keeps editing and adds a file.
        let stub_dir = util::root().join("exercises").join(&exercise.dir).join("src");
        let mut stub_files: Vec<_> = std::fs::read_dir(&stub_dir).unwrap().flatten().map(|e| e.file_name()).collect();
        stub_files.sort();
        let first = if stub_files.iter().any(|f| f == "main.rs") {
            "main.rs".into()
        } else {
            stub_files[0].clone()
        };
        let original = std::fs::read(stub_dir.join(&first)).unwrap();
        std::fs::write(src.join(&first), b"fn main() { /* committed work */ }\n").unwrap();
        git(repo, &["commit", "-q", "-am", "My work"]);
        std::fs::write(src.join(&first), b"fn main() { /* newest work */ }\n").unwrap();
        std::fs::write(src.join("extra.rs"), b"// my helper\n").unwrap();

        let out = util::xtask("xtask-tests")
            .arg("--root")
            .arg(repo)
            .args(["reset", exercise.number()])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let out = String::from_utf8(out).unwrap();

        assert_eq!(
            std::fs::read(src.join(&first)).unwrap(),
            original,
            "{}: {first:?} is the stub again",
            exercise.id
        );
        assert!(!src.join("extra.rs").exists(), "{}: files the stub lacks leave src/", exercise.id);
        for entry in std::fs::read_dir(util::root().join("exercises").join(&exercise.dir).join("src"))
            .unwrap()
            .flatten()
        {
            assert_eq!(
                std::fs::read(entry.path()).unwrap(),
                std::fs::read(src.join(entry.file_name())).unwrap(),
                "{}: {:?} is the stub again",
                exercise.id,
                entry.file_name()
            );
        }
        let line = out
            .lines()
            .find(|l| l.starts_with("Your version is kept in "))
            .unwrap_or_else(|| panic!("no backup named in:\n{out}"));
        let backup = repo.join(line.trim_start_matches("Your version is kept in "));
        assert_eq!(std::fs::read(backup.join(&first)).unwrap(), b"fn main() { /* newest work */ }\n");
        assert_eq!(std::fs::read(backup.join("extra.rs")).unwrap(), b"// my helper\n");
    }
}

/// Without the course's history there is no honest stub, and reset says so
/// instead of guessing; nothing is touched.
#[test]
fn reset_without_git_history_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::copy(util::root().join("exercises.toml"), repo.join("exercises.toml")).unwrap();
    util::copy_dir(&util::root().join("exercises"), &repo.join("exercises"), &|_| false);
    let exercise = &util::manifest().exercises[0];
    let main = repo.join("exercises").join(&exercise.dir).join("src/main.rs");
    std::fs::write(&main, b"fn main() {}\n").unwrap();
    let assert = util::xtask("xtask-tests")
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .arg("--root")
        .arg(repo)
        .args(["reset", exercise.number()])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("git"), "{stderr}");
    assert_eq!(std::fs::read(&main).unwrap(), b"fn main() {}\n");
}

/// The manifest's `stub_tree` of every exercise is the git tree id of its
/// stub as it is now, so that `reset` restores the current stub. When a stub
/// changes, this test prints the id to write into exercises.toml.
#[test]
fn stub_trees_match_the_stubs() {
    let root = util::root();
    if !root.join(".git").exists() {
        eprintln!("skipped: not a git checkout, so there are no tree ids to compare");
        return;
    }
    let index = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for exercise in &util::manifest().exercises {
        // The tree id of the working copy, through a throwaway index.
        let src = format!("exercises/{}/src", exercise.dir);
        let env = [("GIT_INDEX_FILE", index.path().join(&exercise.dir))];
        let run = |args: &[&str]| {
            let out = Command::new("git")
                .current_dir(&root)
                .envs(env.clone())
                .args(args)
                .output()
                .expect("git runs");
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        run(&["add", "--", &src]);
        let tree = run(&["write-tree", &format!("--prefix={src}/")]);
        if exercise.stub_tree.as_deref() != Some(tree.as_str()) {
            stale.push(format!("{}: stub_tree = \"{tree}\"", exercise.id));
        }
    }
    assert!(
        stale.is_empty(),
        "exercises.toml names another stub than exercises/ holds; write:\n{}",
        stale.join("\n")
    );
}
