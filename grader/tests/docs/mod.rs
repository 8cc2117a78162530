//! The book in `docs/` is checked like code:
//!
//! - every exercise in `exercises.toml` has a chapter, listed in `SUMMARY.md`;
//! - every relative link and `#anchor` in `docs/` (and `README.md`) resolves;
//! - every `docs/src/…md#anchor` named in a hint, a concept or a scenario
//!   resolves (the tests' own `docs_anchor`s are checked in `references`);
//! - every shell session in the book (a ```` ```console ```` block, or `sh`,
//!   `bash`, `shell`) says what it is, on the line before it:
//!   `<!-- illustration -->` (real output from one machine, or a sketch; yours
//!   will differ in ports and timings), or `<!-- checked-by: NAME -->`, where
//!   NAME is a project test (`fn NAME` under `grader/tests/` or `xtask/tests/`) or a hidden test
//!   (`01.echo-1mib`) that asserts the behaviour the block shows.
//!
//! `claims` holds the project tests that back the book's statements about the
//! kernel's behaviour (buffer doubling, what a reset looks like, ...).

mod claims;
#[cfg(unix)]
mod sessions;

use crate::util;
use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

fn docs_src() -> PathBuf {
    util::root().join("docs").join("src")
}

/// Every Markdown file of the book, plus README.md and docs/ARCHITECTURE.md.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![util::root().join("README.md")];
    walk(&util::root().join("docs"), &mut files);
    files
}

fn is_fence(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    (line.len() - trimmed.len() <= 3 && (trimmed.starts_with("```") || trimmed.starts_with("~~~")))
        .then(|| trimmed.trim_start_matches(['`', '~']).trim())
}

/// The lines of a Markdown text that are prose (not inside fenced code), with
/// their line numbers (from 1).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_code = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if is_fence(line).is_some() {
            in_code = !in_code;
        } else if !in_code {
            out.push((i + 1, line));
        }
    }
    out
}

/// The anchors of a page's headings, as GitHub and mdBook make them: a repeated
/// heading gets `-1`, `-2`, ... appended. Lines inside code blocks (such as a
/// shell comment `# …`) are not headings.
pub fn anchors(text: &str) -> Vec<String> {
    let mut repeats: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let base = crate::references::github_anchor(line);
            let n = repeats.entry(base.clone()).or_insert(0);
            out.push(if *n == 0 { base } else { format!("{base}-{n}") });
            *n += 1;
        }
    }
    out
}

/// Removes inline code spans, so that `[a](b)` inside backticks is no link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in line.chars() {
        if c == '`' {
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// The targets of inline links and images `[text](target "title")` and of
/// reference definitions `[name]: target`, with their line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (number, line) in prose_lines(text) {
        let line = without_code_spans(line);
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some(end) = trimmed.find("]:")
        {
            if let Some(target) = trimmed[end + 2..].split_whitespace().next() {
                out.push((number, target.to_string()));
            }
            continue;
        }
        let mut rest = line.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push((number, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
    }
    out
}

fn is_external(target: &str) -> bool {
    target.contains("://") || target.starts_with("mailto:")
}

/// `a/./b/../c` to `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A path as the messages show it: relative to the workspace root.
fn shown(path: &Path) -> String {
    path.strip_prefix(util::root()).unwrap_or(path).display().to_string()
}

/// Checks one link target written in `from`; returns what is wrong with it.
fn check_target(from: &Path, target: &str) -> Option<String> {
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        from.to_path_buf()
    } else {
        normalise(&from.parent().unwrap().join(path))
    };
    if !file.exists() {
        return Some(format!("{} does not exist", shown(&file)));
    }
    let anchor = anchor.filter(|a| !a.is_empty())?;
    if file.extension().is_none_or(|e| e != "md") {
        return Some(format!("#{anchor} points into {}, which is no Markdown page", shown(&file)));
    }
    let text = std::fs::read_to_string(&file).unwrap();
    let anchors = anchors(&text);
    (!anchors.iter().any(|a| a == anchor))
        .then(|| format!("#{anchor} is no heading of {} (its anchors: {})", shown(&file), anchors.join(", ")))
}

/// Every exercise in exercises.toml has its chapter, and SUMMARY.md lists it.
#[test]
fn every_exercise_has_a_chapter_in_the_summary() {
    let summary_path = docs_src().join("SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path).unwrap();
    let pages: Vec<PathBuf> = links(&summary)
        .into_iter()
        .map(|(_, target)| normalise(&docs_src().join(target.split('#').next().unwrap())))
        .collect();
    let listed: BTreeSet<PathBuf> = pages.iter().cloned().collect();
    // mdBook refuses to build a book whose summary lists a page twice.
    for page in &listed {
        let times = pages.iter().filter(|p| *p == page).count();
        assert_eq!(times, 1, "SUMMARY.md lists {} {times} times; mdBook allows once", shown(page));
    }
    for exercise in &util::manifest().exercises {
        let chapter = util::root().join(&exercise.docs);
        assert!(
            chapter.starts_with(docs_src()),
            "{}: its docs page {} is not in docs/src/",
            exercise.id,
            exercise.docs
        );
        assert!(chapter.exists(), "{}: its chapter {} does not exist", exercise.id, exercise.docs);
        assert!(
            listed.contains(&chapter),
            "{}: its chapter {} is not listed in docs/src/SUMMARY.md",
            exercise.id,
            exercise.docs
        );
    }
    // And everything SUMMARY.md lists exists.
    for page in &listed {
        assert!(page.exists(), "SUMMARY.md lists {}, which does not exist", shown(page));
    }
}

/// Every relative link and anchor in docs/ and README.md points to a file and
/// heading that exist.
#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, target) in links(&text) {
            if is_external(&target) {
                continue;
            }
            if let Some(problem) = check_target(&file, &target) {
                broken.push(format!("{}:{line}: ({target}) {problem}", shown(&file)));
            }
        }
    }
    assert!(broken.is_empty(), "broken links in the book:\n{}", broken.join("\n"));
}

/// Every `docs/src/…md#anchor` that a hint in exercises.toml or a hidden
/// test's hint, concept or scenario names points to a page and heading that exist.
#[test]
fn every_docs_reference_in_hints_resolves() {
    let mut texts: Vec<(String, String)> = Vec::new();
    for exercise in &util::manifest().exercises {
        for (i, hint) in exercise.hints.iter().enumerate() {
            texts.push((format!("exercises.toml {} hint {}", exercise.id, i + 1), hint.clone()));
        }
        for case in grader::registry::tests_for(&exercise.id).unwrap_or(&[]) {
            for text in [case.hint, case.concept, case.scenario] {
                texts.push((format!("{}.{}", exercise.number(), case.id), text.to_string()));
            }
        }
    }
    let mut broken = Vec::new();
    let mut found = 0;
    for (origin, text) in &texts {
        for reference in docs_references(text) {
            found += 1;
            if let Some(problem) = check_target(&util::root().join("README.md"), &reference) {
                broken.push(format!("{origin}: {reference}: {problem}"));
            }
        }
    }
    eprintln!("{found} docs references in {} hints, concepts and scenarios", texts.len());
    assert!(broken.is_empty(), "hints that point nowhere:\n{}", broken.join("\n"));
}

/// `docs/src/x.md` and `docs/src/x.md#anchor` inside a sentence.
fn docs_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("docs/") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || "/._-#".contains(c)))
            .unwrap_or(tail.len());
        let reference = tail[..end].trim_end_matches('.');
        if reference.contains(".md") {
            out.push(reference.to_string());
        }
        rest = &tail[end..];
    }
    out
}

/// Test functions defined anywhere under grader/tests/.
fn project_test_names() -> BTreeSet<String> {
    fn walk(dir: &Path, names: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, names);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split("fn ").skip(1) {
                    let name: String = piece.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    names.insert(name);
                }
            }
        }
    }
    let mut names = BTreeSet::new();
    walk(&util::root().join("grader").join("tests"), &mut names);
    walk(&util::root().join("xtask").join("tests"), &mut names);
    names
}

/// Hidden test ids as reports write them: `01.echo-1mib`.
fn hidden_test_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for exercise in &util::manifest().exercises {
        for case in grader::registry::tests_for(&exercise.id).unwrap_or(&[]) {
            ids.insert(format!("{}.{}", exercise.number(), case.id));
        }
    }
    ids
}

/// Every shell session in the book says whether a test checks what it shows
/// or it is an illustration.
#[test]
fn every_shell_session_is_checked_or_an_illustration() {
    let tests = project_test_names();
    let hidden = hidden_test_ids();
    let mut problems = Vec::new();
    let mut sessions = 0;
    for file in markdown_files().into_iter().filter(|f| f.starts_with(docs_src())) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut in_code = false;
        for (i, line) in lines.iter().enumerate() {
            let Some(info) = is_fence(line) else { continue };
            in_code = !in_code;
            let language = info.split([' ', ',']).next().unwrap_or("");
            if !in_code || !matches!(language, "console" | "sh" | "bash" | "shell") {
                continue;
            }
            sessions += 1;
            let before = lines[..i].iter().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim());
            let at = format!("{}:{}", shown(&file), i + 1);
            match before
                .and_then(|l| l.strip_prefix("<!--"))
                .and_then(|l| l.strip_suffix("-->"))
                .map(str::trim)
            {
                Some(marker) if marker == "illustration" || marker.starts_with("illustration:") => {}
                Some(marker) if marker.starts_with("checked-by:") => {
                    for name in marker["checked-by:".len()..].split(',').map(str::trim) {
                        if !tests.contains(name) && !hidden.contains(name) {
                            problems.push(format!(
                                "{at}: checked-by names `{name}`, which is neither a test under grader/tests/ or xtask/tests/ nor a hidden test id such as 01.echo-1mib"
                            ));
                        }
                    }
                }
                _ => problems.push(format!(
                    "{at}: a ```{language} block needs `<!-- illustration -->` or `<!-- checked-by: TEST -->` on the line before it"
                )),
            }
        }
    }
    eprintln!("{sessions} shell sessions in the book");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The link checker's own rules, on examples whose answers are known.
#[test]
fn the_link_checker_knows_the_anchor_rules() {
    let page =
        "# Restarting: SO_REUSEADDR and TIME_WAIT\n```console\n# not a heading\n```\n## Notes\n## Notes\n### `TCP_NODELAY` and Nagle\n";
    assert_eq!(
        anchors(page),
        ["restarting-so_reuseaddr-and-time_wait", "notes", "notes-1", "tcp_nodelay-and-nagle"]
    );
    let text = "See [a](x.md#b), `[not](a link)`, ![pic](img/p.svg) and [c](https://e.org).\n[ref]: y.md\n```\n[code](z.md)\n```\n";
    let targets: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(targets, ["x.md#b", "img/p.svg", "https://e.org", "y.md"]);
    assert_eq!(
        docs_references("Read docs/src/01-a.md#b-c. Or docs/src/02.md, then stop."),
        ["docs/src/01-a.md#b-c", "docs/src/02.md"]
    );
}
