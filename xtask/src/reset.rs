//! `cargo xtask reset EX`: puts an exercise's stub back, after moving the
//! learner's version into a backup folder it names.
//!
//! Where the stub comes from: the learner's own commits may hold their work,
//! so `HEAD` is not the stub. The manifest names the stub by content: its
//! `stub_tree` is the git tree id of `exercises/DIR/src` as the course ships
//! it, and any clone of the course (or a classroom repository made from it)
//! holds that tree, whatever the learner committed since. A project test
//! keeps the id current whenever a stub changes. Where the tree is missing
//! (an older manifest, a repository rebuilt without it), the stub is the
//! exercise's `src/` as of the commit that first added it, and the command
//! says which commit it used. Without git history there is no honest stub to
//! restore, and the command says so instead of guessing.

use grader::manifest::{Exercise, Manifest};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let names: Vec<String> = args.iter().filter(|a| !a.starts_with("--")).cloned().collect();
    if let Some(flag) = args.iter().find(|a| a.starts_with("--")) {
        return Err(format!("unknown option `{flag}` for reset"));
    }
    if names.len() != 1 {
        return Err("usage: cargo xtask reset EX   (for example: cargo xtask reset 01)".into());
    }
    let exercise = crate::select(manifest, &names)?[0];
    let root = &manifest.root;
    let crate_dir = format!("exercises/{}", exercise.dir);
    let src = root.join(&crate_dir).join("src");

    let Stub { commit, files: stub } = stub_files(root, exercise)?;
    let backup = backup_dir(root, exercise);
    if src.exists() {
        std::fs::create_dir_all(&backup).map_err(|e| format!("cannot create {}: {e}", backup.display()))?;
        copy_dir(&src, &backup.join("src")).map_err(|e| format!("cannot back up {}: {e}", src.display()))?;
        std::fs::remove_dir_all(&src).map_err(|e| format!("cannot clear {}: {e}", src.display()))?;
    }
    for (rel, bytes) in &stub {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    // `commit` is "tree <id>" when the manifest's stub tree was restored.
    let source = match commit.strip_prefix("tree ") {
        Some(tree) => format!("the course's stub, git tree {}", &tree[..tree.len().min(12)]),
        None => format!("as of commit {}, the first that added it", &commit[..commit.len().min(12)]),
    };
    println!("Reset {}: {crate_dir}/src is the stub again ({source}).", exercise.id);
    if src.exists() && backup.exists() {
        println!(
            "Your version is kept in {}",
            backup.strip_prefix(root).unwrap_or(&backup).join("src").display()
        );
    }
    if !stub.iter().any(|(_, bytes)| bytes.windows(6).any(|w| w == b"todo!(")) {
        println!("Note: the restored files contain no todo!(); that commit may not hold the original stub.");
    }
    println!("Check it with `cargo xtask check {}`.", exercise.number());
    Ok(ExitCode::SUCCESS)
}

/// The stub's files under `exercises/DIR/src` (paths from the workspace
/// root, and their bytes), with the commit they come from.
struct Stub {
    commit: String,
    files: Vec<(String, Vec<u8>)>,
}

fn stub_files(root: &Path, exercise: &Exercise) -> Result<Stub, String> {
    let dir = format!("exercises/{}", exercise.dir);
    // The tree the manifest names, if this repository holds it.
    if let Some(tree) = &exercise.stub_tree
        && git(root, &["cat-file", "-e", &format!("{tree}^{{tree}}")]).is_ok()
    {
        let files = tree_files(root, tree, &format!("{dir}/src/"))?;
        return Ok(Stub {
            commit: format!("tree {tree}"),
            files,
        });
    }
    let log = git(root, &["log", "--reverse", "--format=%H", "--", &dir])
        .map_err(|e| format!("cannot find the stub of {}: {e}\nreset needs the git history of the course (a clone of socklings or of your classroom repository).", exercise.id))?;
    let commit = String::from_utf8_lossy(&log).lines().next().unwrap_or("").trim().to_string();
    if commit.is_empty() {
        return Err(format!("no commit adds {dir}, so there is no stub to restore"));
    }
    let tree = git(root, &["rev-parse", &format!("{commit}:{dir}/src")])?;
    let files = tree_files(root, String::from_utf8_lossy(&tree).trim(), &format!("{dir}/src/"))?;
    Ok(Stub { commit, files })
}

/// Every file of the tree `tree` (paths prefixed with `prefix`) and its bytes.
fn tree_files(root: &Path, tree: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let listing = git(root, &["ls-tree", "-r", "-z", "--name-only", tree])?;
    let mut files = Vec::new();
    for path in listing.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let bytes = git(root, &["show", &format!("{tree}:{path}")])?;
        files.push((format!("{prefix}{path}"), bytes));
    }
    if files.is_empty() {
        return Err(format!("{tree} has no files"));
    }
    Ok(files)
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}

/// `exercises/DIR/backups/<UTC date and time>`, outside `src/` so cargo never
/// builds it, and next to the exercise so it is easy to find.
fn backup_dir(root: &Path, exercise: &Exercise) -> PathBuf {
    let base = root.join("exercises").join(&exercise.dir).join("backups");
    let stamp = utc_stamp();
    let mut dir = base.join(&stamp);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}

/// `YYYY-MM-DD-HHMMSS` in UTC, from the civil-from-days algorithm
/// (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn utc_stamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}
