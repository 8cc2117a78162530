//! Reads `exercises.toml`, the list of exercises, which is data rather than code.
//!
//! The file is a small subset of TOML: `key = value` lines at the top, then
//! `[[exercise]]` tables. Values are strings (with `\"`, `\\`, `\n`, `\t`
//! escapes), integers, or arrays of strings that may span lines. Anything
//! else is an error that names the line, so a typo never turns into a
//! silently missing exercise. Parsing it here keeps xtask and the grader
//! free of a TOML dependency.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The manifest's file name, at the workspace root.
pub const FILE_NAME: &str = "exercises.toml";

/// One exercise as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    /// Stable id such as `01-bind-listen-accept`.
    pub id: String,
    pub title: String,
    /// Folder name under `exercises/` and `solutions/`.
    pub dir: String,
    /// Package name of the learner's crate; the solution's is `<package>-solution`.
    pub package: String,
    /// The teaching chapter, relative to the workspace root.
    pub docs: String,
    pub points: u32,
    pub needs: Vec<String>,
    pub hints: Vec<String>,
    /// The git tree id of the stub's `src/` as the course ships it, which
    /// `cargo xtask reset` restores (a project test keeps it current).
    pub stub_tree: Option<String>,
}

impl Exercise {
    /// The two-digit number that starts the id (`01`).
    pub fn number(&self) -> &str {
        self.id.split('-').next().unwrap_or(&self.id)
    }

    /// The id without its number (`bind-listen-accept`).
    pub fn slug(&self) -> &str {
        self.id.split_once('-').map_or(&self.id, |(_, rest)| rest)
    }

    /// Whether `query` names this exercise: its id, number (`1` or `01`) or slug.
    pub fn matches(&self, query: &str) -> bool {
        let query = query.trim_end_matches('/');
        let number_matches = query.parse::<u32>().ok().is_some_and(|n| self.number().parse::<u32>() == Ok(n));
        query == self.id || query == self.slug() || number_matches
    }

    /// Package name of the crate under test for `kind`.
    pub fn package_for(&self, kind: crate::Kind) -> String {
        match kind {
            crate::Kind::Exercises => self.package.clone(),
            crate::Kind::Solutions => format!("{}-solution", self.package),
        }
    }
}

/// The whole manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub exercises: Vec<Exercise>,
    /// Workspace root the manifest was read from.
    pub root: PathBuf,
}

#[derive(Debug)]
pub struct ManifestError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", FILE_NAME, self.line, self.message)
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// Reads `exercises.toml` from the workspace root.
    pub fn load(root: &Path) -> Result<Manifest, Box<dyn std::error::Error>> {
        let path = root.join(FILE_NAME);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let exercises = parse(&text)?;
        Ok(Manifest {
            exercises,
            root: root.to_path_buf(),
        })
    }

    /// Finds an exercise by id, number or slug.
    pub fn find(&self, query: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|e| e.matches(query))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    List(Vec<String>),
}

/// Parses the manifest's text into exercises, checking required fields.
pub fn parse(text: &str) -> Result<Vec<Exercise>, ManifestError> {
    let mut tables: Vec<(usize, BTreeMap<String, Value>)> = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();
    while let Some((number, raw)) = lines.next() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if line == "[[exercise]]" {
            tables.push((number, BTreeMap::new()));
            continue;
        }
        if line.starts_with('[') {
            return Err(err(number, format!("unknown table {line}; only [[exercise]] is allowed")));
        }
        let (key, rest) = line.split_once('=').ok_or_else(|| err(number, "expected `key = value`".into()))?;
        let key = key.trim().to_string();
        let mut value_text = rest.trim().to_string();
        // An array may continue over several lines until its closing bracket.
        if value_text.starts_with('[') {
            while !array_closed(&value_text) {
                let (_, next) = lines.next().ok_or_else(|| err(number, "array is never closed".into()))?;
                value_text.push(' ');
                value_text.push_str(strip_comment(next).trim());
            }
        }
        let value = parse_value(&value_text).map_err(|m| err(number, format!("{key}: {m}")))?;
        match tables.last_mut() {
            Some((_, table)) => {
                if table.insert(key.clone(), value).is_some() {
                    return Err(err(number, format!("{key} is given twice")));
                }
            }
            None if key == "format_version" => {
                if value != Value::Int(1) {
                    return Err(err(number, "this grader reads format_version = 1".into()));
                }
            }
            None => return Err(err(number, format!("unknown top-level key {key}"))),
        }
    }
    let exercises: Vec<Exercise> = tables
        .into_iter()
        .map(|(line, table)| to_exercise(line, table))
        .collect::<Result<_, _>>()?;
    for (i, e) in exercises.iter().enumerate() {
        if exercises[..i].iter().any(|o| o.id == e.id) {
            return Err(err(0, format!("exercise id {} appears twice", e.id)));
        }
    }
    Ok(exercises)
}

fn err(line: usize, message: String) -> ManifestError {
    ManifestError { line, message }
}

/// Removes a `#` comment that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            '\\' if in_string && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
        escaped = false;
    }
    line
}

fn array_closed(text: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '\\' if in_string && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => in_string = !in_string,
            '[' if !in_string => depth += 1,
            ']' if !in_string => depth -= 1,
            _ => {}
        }
        escaped = false;
    }
    depth == 0
}

fn parse_value(text: &str) -> Result<Value, String> {
    let text = text.trim();
    if text.starts_with('"') {
        let (s, rest) = parse_string(text)?;
        if !rest.trim().is_empty() {
            return Err(format!("unexpected text after the string: {rest}"));
        }
        return Ok(Value::Str(s));
    }
    if let Some(inner) = text.strip_prefix('[') {
        let mut items = Vec::new();
        let mut rest = inner.trim_start();
        loop {
            if let Some(after) = rest.strip_prefix(']') {
                if !after.trim().is_empty() {
                    return Err(format!("unexpected text after the array: {after}"));
                }
                return Ok(Value::List(items));
            }
            let (item, after) = parse_string(rest).map_err(|e| format!("arrays hold strings only ({e})"))?;
            items.push(item);
            rest = after.trim_start();
            if let Some(after_comma) = rest.strip_prefix(',') {
                rest = after_comma.trim_start();
            } else if !rest.starts_with(']') {
                return Err("expected `,` or `]` in the array".into());
            }
        }
    }
    text.parse::<i64>()
        .map(Value::Int)
        .map_err(|_| format!("expected a string, an integer or an array, found {text}"))
}

/// Parses a basic string at the start of `text`; returns it and the rest.
fn parse_string(text: &str) -> Result<(String, &str), String> {
    let body = text.strip_prefix('"').ok_or("expected a string in double quotes")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                other => return Err(format!("unsupported escape \\{}", other.unwrap_or(' '))),
            },
            c => out.push(c),
        }
    }
    Err("string is never closed".into())
}

fn to_exercise(line: usize, mut t: BTreeMap<String, Value>) -> Result<Exercise, ManifestError> {
    let mut string = |key: &str| match t.remove(key) {
        Some(Value::Str(s)) => Ok(s),
        Some(_) => Err(err(line, format!("[[exercise]] field {key} must be a string"))),
        None => Err(err(line, format!("[[exercise]] is missing {key}"))),
    };
    let id = string("id")?;
    let title = string("title")?;
    let dir = string("dir")?;
    let package = string("package")?;
    let docs = string("docs")?;
    let points = match t.remove("points") {
        Some(Value::Int(n)) if n >= 0 => n as u32,
        _ => return Err(err(line, format!("{id}: points must be a non-negative integer"))),
    };
    let mut list = |key: &str| match t.remove(key) {
        Some(Value::List(v)) => Ok(v),
        None => Ok(Vec::new()),
        Some(_) => Err(err(line, format!("{id}: {key} must be an array of strings"))),
    };
    let needs = list("needs")?;
    let hints = list("hints")?;
    let stub_tree = match t.remove("stub_tree") {
        Some(Value::Str(s)) if s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit()) => Some(s),
        None => None,
        Some(_) => return Err(err(line, format!("{id}: stub_tree must be a git tree id (hexadecimal)"))),
    };
    if let Some(key) = t.keys().next() {
        return Err(err(line, format!("{id}: unknown field {key}")));
    }
    for need in &needs {
        if crate::platform::Need::parse(need).is_none() {
            return Err(err(line, format!("{id}: unknown need {need:?} (known: linux, ipv6)")));
        }
    }
    Ok(Exercise {
        id,
        title,
        dir,
        package,
        docs,
        points,
        needs,
        hints,
        stub_tree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed table with a multi-line array and comments parses whole.
    #[test]
    fn parses_an_exercise() {
        let text = r#"
format_version = 1
# comment
[[exercise]]
id = "01-a-b" # trailing comment
title = "A \"quoted\" # title"
dir = "01-a-b"
package = "a-b"
docs = "docs/src/01-a-b.md"
points = 100
needs = ["linux"]
hints = [
  "first, with a comma",
  "second",
]
"#;
        let ex = parse(text).unwrap();
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].title, "A \"quoted\" # title");
        assert_eq!(ex[0].hints, vec!["first, with a comma", "second"]);
        assert!(ex[0].matches("1") && ex[0].matches("01") && ex[0].matches("a-b") && ex[0].matches("01-a-b"));
        assert!(!ex[0].matches("2"));
    }

    /// Mistakes are reported with their line, never skipped.
    #[test]
    fn rejects_mistakes() {
        assert!(parse("[[exercise]]\nid = \"x\"\n").unwrap_err().message.contains("missing"));
        assert_eq!(parse("format_version = 1\n[other]\n").unwrap_err().line, 2);
        assert!(
            parse("[[exercise]]\nhints = [\"a\"\n")
                .unwrap_err()
                .message
                .contains("never closed")
        );
    }
}
