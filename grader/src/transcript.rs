//! The record of what a test did and saw, shown to the learner when it fails.
//!
//! Modelled on CodeCrafters' testers and CS144's "failed after these steps":
//! numbered steps in the grader's words (connected, sent these bytes,
//! received those), interleaved with the learner's own output prefixed
//! `[your program]`, so that a failure reads like a replay of the wire.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How many bytes of a payload to show before eliding the middle.
const SHOW_HEAD: usize = 48;
const SHOW_TAIL: usize = 16;
/// Cap on lines kept from the learner's program, so a flood stays readable.
const MAX_PROGRAM_LINES: usize = 200;
/// Cap on bytes kept from the learner's program in one test's transcript
/// (lines are already cut at `process::MAX_LINE_BYTES`), so that every report
/// stays small whatever the program prints.
pub const MAX_PROGRAM_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub enum Entry {
    /// Something the grader did or observed.
    Step(String),
    /// A line the learner's program printed (`stdout` or `stderr`); `who`
    /// is the program's role, such as `your program` or `your client`.
    Program { who: String, stream: &'static str, line: String },
    /// A note without a number (for example how many lines were dropped).
    Note(String),
}

/// A shared, append-only transcript. Clones share the same record, so the
/// runner still holds it when a test thread times out.
#[derive(Clone)]
pub struct Transcript {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    entries: Vec<Entry>,
    program_lines: usize,
    program_bytes: usize,
    dropped_lines: usize,
    dropped_bytes: usize,
    started: Instant,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript {
            inner: Arc::new(Mutex::new(Inner {
                entries: Vec::new(),
                program_lines: 0,
                program_bytes: 0,
                dropped_lines: 0,
                dropped_bytes: 0,
                started: Instant::now(),
            })),
        }
    }
}

impl Transcript {
    pub fn step(&self, text: impl Into<String>) {
        self.lock().entries.push(Entry::Step(text.into()));
    }

    pub fn note(&self, text: impl Into<String>) {
        self.lock().entries.push(Entry::Note(text.into()));
    }

    /// Records a line of the learner's output, dropping the excess of a flood.
    pub fn program_line(&self, who: &str, stream: &'static str, line: String) {
        let mut inner = self.lock();
        if inner.program_lines >= MAX_PROGRAM_LINES || inner.program_bytes + line.len() > MAX_PROGRAM_BYTES {
            inner.dropped_lines += 1;
            inner.dropped_bytes += line.len();
            return;
        }
        inner.program_lines += 1;
        inner.program_bytes += line.len();
        inner.entries.push(Entry::Program {
            who: who.to_string(),
            stream,
            line,
        });
    }

    /// Seconds since the transcript began, for steps that report timing.
    pub fn elapsed_secs(&self) -> f64 {
        self.lock().started.elapsed().as_secs_f64()
    }

    /// The transcript as numbered lines, each starting with `indent`.
    pub fn render(&self, indent: &str) -> String {
        let inner = self.lock();
        let mut out = String::new();
        let mut n = 0;
        for entry in &inner.entries {
            match entry {
                Entry::Step(text) => {
                    n += 1;
                    let mut lines = text.lines();
                    let _ = writeln!(out, "{indent}{n:>2}. {}", lines.next().unwrap_or(""));
                    for more in lines {
                        let _ = writeln!(out, "{indent}    {more}");
                    }
                }
                Entry::Program { who, stream, line } => {
                    let tag = if *stream == "stderr" {
                        format!("[{who}:stderr]")
                    } else {
                        format!("[{who}]")
                    };
                    let _ = writeln!(out, "{indent}    {tag} {line}");
                }
                Entry::Note(text) => {
                    let _ = writeln!(out, "{indent}    ({text})");
                }
            }
        }
        if inner.dropped_lines > 0 {
            let _ = writeln!(
                out,
                "{indent}    ({} more lines ({} bytes) from your program not shown: the transcript keeps {MAX_PROGRAM_LINES} lines and {} KiB of its output)",
                inner.dropped_lines,
                inner.dropped_bytes,
                MAX_PROGRAM_BYTES / 1024
            );
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A test thread that panicked while holding the lock must not hide
        // the transcript: take the data anyway.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Shows bytes the way a learner can compare them: printable ASCII as is,
/// everything else escaped (`\n`, `\x00`), long payloads elided in the middle.
pub fn escape(bytes: &[u8]) -> String {
    if bytes.len() > SHOW_HEAD + SHOW_TAIL + 8 {
        let head = escape_all(&bytes[..SHOW_HEAD]);
        let tail = escape_all(&bytes[bytes.len() - SHOW_TAIL..]);
        return format!("\"{head}\" ... ({} bytes in all) ... \"{tail}\"", bytes.len());
    }
    format!("\"{}\"", escape_all(bytes))
}

fn escape_all(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// Describes how `actual` differs from `expected`, with a caret under the
/// first wrong byte (as CodeCrafters' testers do). `None` when they are equal.
pub fn diff(expected: &[u8], actual: &[u8]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let at = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    // Show a window around the first difference.
    let start = at.saturating_sub(16);
    let window = |b: &[u8]| {
        let end = (at + 24).min(b.len());
        let shown = escape_all(&b[start.min(b.len())..end]);
        let prefix = if start > 0 { "..." } else { "" };
        let suffix = if end < b.len() { "..." } else { "" };
        (
            format!("{prefix}{shown}{suffix}"),
            prefix.len() + escape_all(&b[start.min(b.len())..at.min(b.len())]).len(),
        )
    };
    let (exp, _) = window(expected);
    let (act, caret_at) = window(actual);
    let what = if at >= actual.len() {
        format!("your bytes stop after {} of the {} expected", actual.len(), expected.len())
    } else if at >= expected.len() {
        format!("{} bytes more than the {} expected", actual.len() - expected.len(), expected.len())
    } else {
        format!(
            "first difference at byte {at} (of {} expected, {} received)",
            expected.len(),
            actual.len()
        )
    };
    Some(format!(
        "{what}\nexpected: \"{exp}\"\nreceived: \"{act}\"\n           {}^",
        " ".repeat(caret_at)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes are escaped so that zero bytes and invalid UTF-8 are visible.
    #[test]
    fn escapes_bytes() {
        assert_eq!(escape(b"hi\n\x00\xff\"\\"), r#""hi\n\x00\xff\"\\""#);
        assert!(escape(&[b'a'; 1000]).contains("(1000 bytes in all)"));
    }

    /// The caret points at the first byte that differs.
    #[test]
    fn diff_points_at_first_difference() {
        assert_eq!(diff(b"abc", b"abc"), None);
        let d = diff(b"hello world", b"hello wxrld").unwrap();
        assert!(d.contains("first difference at byte 7"), "{d}");
        let lines: Vec<&str> = d.lines().collect();
        let caret = lines[3].find('^').unwrap();
        assert_eq!(&lines[2][caret..caret + 1], "x");
        assert!(diff(b"hello", b"hel").unwrap().contains("stop after 3"));
    }
}
