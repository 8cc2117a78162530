//! Grades a learner's repository with the instructor's pristine grader.
//!
//! Only `exercises/<dir>/src/**` of each exercise in the instructor's manifest
//! is taken from the submission, as regular files: a symbolic link anywhere
//! on the way (`exercises`, `exercises/<dir>`, `src` itself, or a file or
//! folder inside) is refused with a warning and never followed. Everything else (grader, xtask, manifest, the exercise crates'
//! `Cargo.toml` and build scripts, `Cargo.lock`, `.cargo/`) comes from a fresh
//! copy of the instructor's workspace. In that copy the sources of
//! `solutions/` are replaced by the stubs they mirror, so a submission cannot
//! reach the reference answers through a `#[path]` or `include!` that points
//! outside its crate.
//!
//! Everything the submission changed outside those sources is listed as a
//! warning; none of it is used, so none of it can change the score.

use grader::manifest::Manifest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// At most this many changed or added files are named one by one.
const MAX_LISTED: usize = 40;

pub struct Prepared {
    /// The workspace to build: the instructor's files with the submission's sources.
    pub root: PathBuf,
    pub warnings: Vec<String>,
}

/// Builds `work/workspace` from the instructor's workspace and the
/// submission's exercise sources, and lists what else the submission changed.
pub fn prepare(manifest: &Manifest, submission: &Path, work: &Path) -> Result<Prepared, String> {
    let submission = std::fs::canonicalize(submission).map_err(|e| format!("cannot read the submission {}: {e}", submission.display()))?;
    if !submission.is_dir() {
        return Err(format!("the submission {} is not a folder", submission.display()));
    }
    let root = work.join("workspace");
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| format!("cannot clear {}: {e}", root.display()))?;
    }
    let instructor = &manifest.root;
    let instructor_files = files(instructor, &|rel| skip_instructor(manifest, rel));
    for rel in instructor_files.keys() {
        let to = root.join(rel);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        // The reference answers stay out of reach: a solution crate's sources
        // are replaced by the stub they mirror, so the workspace still builds.
        let from = match rel.strip_prefix("solutions/") {
            Some(rest) if rest.contains("/src/") && instructor.join("exercises").join(rest).is_file() => {
                instructor.join("exercises").join(rest)
            }
            _ => instructor.join(rel),
        };
        std::fs::copy(&from, &to).map_err(|e| format!("cannot copy {rel}: {e}"))?;
    }

    let mut warnings = Vec::new();
    let mut symlinks = Vec::new();
    for exercise in &manifest.exercises {
        let src = Path::new("exercises").join(&exercise.dir).join("src");
        let from = submission.join(&src);
        let to = root.join(&src);
        // Every step on the way to the sources must be a real folder: a
        // symbolic link (`exercises`, `exercises/NN` or `src` itself, say into
        // the instructor's solutions/) is refused and never followed.
        if let Some(link) = linked_step(&submission, &src) {
            warnings.push(format!(
                "{link} is a symbolic link; links are not followed, so {} was not graded (the instructor's stub was)",
                src.display()
            ));
            continue;
        }
        if !from.is_dir() {
            warnings.push(format!(
                "the submission has no {}/; the instructor's stub is graded in its place",
                src.display()
            ));
            continue;
        }
        // And the folder must really lie inside the submission.
        match std::fs::canonicalize(&from) {
            Ok(real) if real.starts_with(&submission) => {}
            _ => {
                warnings.push(format!("{} does not lie inside the submission; it was not graded", src.display()));
                continue;
            }
        }
        let _ = std::fs::remove_dir_all(&to);
        copy_sources(&from, &to, &src, &mut symlinks)?;
    }
    // Everything else the submission holds, compared with the instructor's.
    let theirs = files(&submission, &|rel| skip_compared(manifest, rel));
    let ours = files(instructor, &|rel| skip_compared(manifest, rel));
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for (rel, kind) in &theirs {
        match ours.get(rel) {
            None => added.push(rel.clone()),
            Some(_) if *kind == Entry::Link => changed.push(format!("{rel} (now a symbolic link)")),
            Some(_) => {
                let a = std::fs::read(submission.join(rel)).ok();
                let b = std::fs::read(instructor.join(rel)).ok();
                if a != b {
                    changed.push(rel.clone());
                }
            }
        }
    }
    let missing: Vec<&String> = ours.keys().filter(|rel| !theirs.contains_key(*rel)).collect();
    for rel in changed.iter().take(MAX_LISTED) {
        warnings.push(format!("changed, and not used for grading: {rel}{}", why_it_matters(rel)));
    }
    for rel in added.iter().take(MAX_LISTED) {
        warnings.push(format!("added, and not used for grading: {rel}{}", why_it_matters(rel)));
    }
    let unlisted = changed.len().saturating_sub(MAX_LISTED) + added.len().saturating_sub(MAX_LISTED);
    if unlisted > 0 {
        warnings.push(format!("{unlisted} more changed or added files are not listed"));
    }
    if !missing.is_empty() {
        warnings.push(format!(
            "{} files of the instructor's workspace are not in the submission (for example {}); the instructor's were used",
            missing.len(),
            missing[0]
        ));
    }
    Ok(Prepared { root, warnings })
}

/// The first step of `rel` under `base` (`exercises`, `exercises/NN`,
/// `exercises/NN/src`) that is a symbolic link, if any.
fn linked_step(base: &Path, rel: &Path) -> Option<String> {
    let mut at = PathBuf::new();
    for part in rel.components() {
        at.push(part);
        if std::fs::symlink_metadata(base.join(&at)).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(at.display().to_string());
        }
    }
    None
}

/// Why a change outside the sources deserves a second look.
fn why_it_matters(rel: &str) -> &'static str {
    if rel.starts_with("exercises/") && rel.ends_with("/Cargo.toml") {
        " (an exercise crate's manifest: the instructor's was built)"
    } else if rel.ends_with("build.rs") {
        " (a build script: it was not run)"
    } else if rel.starts_with("grader/") || rel.starts_with("xtask/") {
        " (the grader: the instructor's was used)"
    } else if rel.starts_with(".github/") || rel.starts_with(".gitlab-ci") {
        " (CI configuration)"
    } else {
        ""
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    File,
    Link,
}

/// Every file under `root` (relative paths with `/`), without descending into
/// symbolic links, leaving out what `skip` says.
fn files(root: &Path, skip: &dyn Fn(&str) -> bool) -> BTreeMap<String, Entry> {
    let mut found = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel_dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let rel_path = rel_dir.join(entry.file_name());
            let rel = rel_path.to_string_lossy().replace('\\', "/");
            if skip(&rel) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                found.insert(rel, Entry::Link);
            } else if meta.is_dir() {
                stack.push(rel_path);
            } else {
                found.insert(rel, Entry::File);
            }
        }
    }
    found
}

/// Build output and version control are never copied nor compared.
fn skip_instructor(_manifest: &Manifest, rel: &str) -> bool {
    rel == "target" || rel == ".git" || rel.ends_with("/.git")
}

/// Left out of the comparison: what `skip_instructor` leaves out, the
/// exercise sources (graded), and `cargo xtask reset`'s backups.
fn skip_compared(manifest: &Manifest, rel: &str) -> bool {
    skip_instructor(manifest, rel)
        || manifest.exercises.iter().any(|e| {
            let crate_dir = format!("exercises/{}/", e.dir);
            rel == format!("{crate_dir}src") || rel == format!("{crate_dir}backups")
        })
}

/// Copies regular files and folders from `from` to `to`; symbolic links are
/// recorded in `symlinks` and left behind.
fn copy_sources(from: &Path, to: &Path, shown: &Path, symlinks: &mut Vec<String>) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let shown = shown.join(entry.file_name());
        if meta.file_type().is_symlink() {
            symlinks.push(shown.display().to_string());
        } else if meta.is_dir() {
            copy_sources(&path, &to.join(entry.file_name()), &shown, symlinks)?;
        } else if meta.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).map_err(|e| format!("cannot copy {}: {e}", shown.display()))?;
        }
    }
    Ok(())
}
