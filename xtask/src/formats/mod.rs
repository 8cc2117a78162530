//! The grade's renderers, one module per format, and the few encoders they
//! share (JSON, XML escaping, base64), written here so xtask needs no
//! dependency for them.

mod classroom;
mod gradescope;
mod json;
mod junit;
mod text;

use crate::grade::Grade;
use grader::runner::{ExerciseReport, ExerciseStatus, Status, TestReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Gradescope,
    Classroom,
    Junit,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Text, Format::Json, Format::Gradescope, Format::Classroom, Format::Junit];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Gradescope => "gradescope",
            Format::Classroom => "classroom",
            Format::Junit => "junit",
        }
    }

    pub fn parse(name: &str) -> Result<Format, String> {
        Format::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format `{name}`; the formats are {}", names.join(", "))
        })
    }
}

pub fn render(format: Format, grade: &Grade) -> String {
    match format {
        Format::Text => text::render(grade),
        Format::Json => json::render(grade).to_string_pretty(),
        Format::Gradescope => gradescope::render(grade).to_string_pretty(),
        Format::Classroom => classroom::render(grade),
        Format::Junit => junit::render(grade),
    }
}

/// How much of one test's transcript any report keeps, counted as the text's
/// largest escaped size in any format (see [`escaped_cost`]). A program can
/// print without end; Gradescope and GitLab refuse large reports, so every
/// text a program can fill is cut to a fixed size when its result arrives,
/// and every format is then bounded by the number of tests.
pub const TRANSCRIPT_LIMIT: usize = 8 * 1024;
/// How much of a test's summary (the failed expectation, which may quote the
/// program's output) and of a panic message any report keeps.
pub const SUMMARY_LIMIT: usize = 1024;
/// How much of an exercise's build output any report keeps.
pub const BUILD_LOG_LIMIT: usize = 8 * 1024;
/// How much of one warning (which may name a submission's file) any report keeps.
pub const WARNING_LIMIT: usize = 512;
/// How many warnings any report keeps; the last one says how many were left out.
pub const MAX_WARNINGS: usize = 60;

/// The most bytes `c` can take once escaped by any format: `&quot;` in XML,
/// `\u001b` in JSON, `\u{fffe}` for a character XML forbids.
pub fn escaped_cost(c: char) -> usize {
    match c {
        '"' | '\'' => 6,
        '&' => 5,
        '<' | '>' => 4,
        '\\' => 2,
        '\t' | '\n' | '\r' => 2,
        c if (c as u32) < 0x20 || c == '\u{7f}' => 6,
        '\u{fffe}' | '\u{ffff}' => 8,
        c => c.len_utf8(),
    }
}

/// `text` whole if its escaped size is within `limit`; otherwise its start
/// and its end (where a transcript's failure usually is), cut at character
/// boundaries, with a note in the middle saying how many bytes were cut.
pub fn bounded(text: &str, limit: usize) -> String {
    let cost: usize = text.chars().map(escaped_cost).sum();
    if cost <= limit {
        return text.to_string();
    }
    // The note is at most this long (its number has at most 20 digits).
    const NOTE_ROOM: usize = 80;
    let budget = limit.saturating_sub(NOTE_ROOM);
    let mut head_end = 0;
    let mut spent = 0;
    for (i, c) in text.char_indices() {
        if spent + escaped_cost(c) > budget * 3 / 4 {
            break;
        }
        spent += escaped_cost(c);
        head_end = i + c.len_utf8();
    }
    let mut tail_start = text.len();
    for (i, c) in text[head_end..].char_indices().rev() {
        if spent + escaped_cost(c) > budget {
            break;
        }
        spent += escaped_cost(c);
        tail_start = head_end + i;
    }
    let cut = tail_start - head_end;
    format!(
        "{}\n[... {cut} bytes cut here; reports keep at most {limit} ...]\n{}",
        &text[..head_end],
        &text[tail_start..]
    )
}

/// What the texts of all the course's tests together may take in a report:
/// the rest of the 1 MiB is for build logs, warnings and each format's
/// markup. Each test gets an equal share (up to the limits above), so the
/// bound holds however many exercises the course grows to.
pub const TESTS_BUDGET: usize = 600 * 1024;

/// How much of each text of one test's result any report keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestLimits {
    pub transcript: usize,
    pub summary: usize,
    pub panic_location: usize,
}

/// One test's share of [`TESTS_BUDGET`], for a course of `tests` tests:
/// half for the transcript, a fifth each for the summary and the panic
/// message, a tenth for the panic's location; never more than the fixed
/// limits, and never so little that a failure cannot be read.
pub fn test_limits(tests: usize) -> TestLimits {
    let share = TESTS_BUDGET / tests.max(1);
    TestLimits {
        transcript: (share / 2).clamp(1024, TRANSCRIPT_LIMIT),
        summary: (share / 5).clamp(256, SUMMARY_LIMIT),
        panic_location: (share / 10).clamp(128, WARNING_LIMIT),
    }
}

/// The limits for this course (every hidden test of every exercise).
pub fn course_limits() -> TestLimits {
    test_limits(grader::exercises::ALL.iter().map(|(_, tests)| tests.len()).sum())
}

/// Cuts every text of a test's result that a program can make long.
pub fn bound_test(test: &mut TestReport) {
    let limits = course_limits();
    test.summary = bounded(&test.summary, limits.summary);
    test.transcript = bounded(&test.transcript, limits.transcript);
    if let Some(panic) = &mut test.panic {
        panic.message = bounded(&panic.message, limits.summary);
        panic.location = bounded(&panic.location, limits.panic_location);
    }
}

/// Cuts an exercise's build output and each of its tests.
pub fn bound_exercise(report: &mut ExerciseReport) {
    if let ExerciseStatus::DoesNotCompile(log) = &mut report.status {
        *log = bounded(log, BUILD_LOG_LIMIT);
    }
    report.tests.iter_mut().for_each(bound_test);
}

/// Cuts each warning, and their number.
pub fn bound_warnings(warnings: &mut Vec<String>) {
    if warnings.len() > MAX_WARNINGS {
        let left_out = warnings.len() - (MAX_WARNINGS - 1);
        warnings.truncate(MAX_WARNINGS - 1);
        warnings.push(format!("{left_out} more warnings were left out to keep the report small"));
    }
    for w in warnings.iter_mut() {
        *w = bounded(w, WARNING_LIMIT);
    }
}

/// A test's status as one machine-readable word (the `json` format's values).
pub fn status_key(status: &Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::TimedOut => "timed_out",
        Status::NotStarted => "not_started",
        Status::Skipped => "skipped",
        Status::GraderError => "grader_error",
    }
}

/// Everything a person grading needs about one test that did not pass: the
/// expectation, the transcript, and where to read more.
pub fn explain(test: &grader::runner::TestReport) -> String {
    let mut out = if test.summary.starts_with("skipped: ") {
        format!("{}\n", test.summary)
    } else {
        format!("{}: {}\n", test.status.word(), test.summary)
    };
    if !test.transcript.is_empty() {
        out.push_str("\nWhat happened:\n");
        out.push_str(&test.transcript);
        if !test.transcript.ends_with('\n') {
            out.push('\n');
        }
    }
    if let Some(panic) = &test.panic {
        out.push_str(&format!("\nThe program panicked at {}: {}\n", panic.location, panic.message));
    }
    out.push_str(&format!("\nConcept: {}\nTry: {}\nRead: {}\n", test.concept, test.hint, test.docs));
    out
}

/// A JSON value, written out by hand (the formats need nothing more).
#[derive(Debug, Clone)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    pub fn to_string_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    pub fn to_string_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, usize::MAX);
        out
    }

    /// `indent == usize::MAX` writes everything on one line.
    fn write(&self, out: &mut String, indent: usize) {
        let compact = indent == usize::MAX;
        let newline = |out: &mut String, level: usize| {
            if !compact {
                out.push('\n');
                out.push_str(&"  ".repeat(level));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Str(s) => escape_json(s, out),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent.wrapping_add(1));
                    item.write(out, if compact { indent } else { indent + 1 });
                }
                newline(out, indent);
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent.wrapping_add(1));
                    escape_json(key, out);
                    out.push_str(if compact { ":" } else { ": " });
                    value.write(out, if compact { indent } else { indent + 1 });
                }
                newline(out, indent);
                out.push('}');
            }
        }
    }
}

/// A JSON string literal (RFC 8259 section 7): quote, backslash and control
/// characters escaped.
fn escape_json(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Text for an XML attribute or element. Characters XML 1.0 forbids (most
/// control characters, which a program's output may contain) are written as
/// `\u{1b}` so the document stays well-formed.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648 section 4), as Node's
/// `Buffer.from(s, "base64")` reads it.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(dead_code)]
#[path = "../../tests/commands/util.rs"]
mod util;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::{Graded, State};
    use std::time::Duration;

    /// What every report of the whole course stays under, whatever the
    /// programs print (Gradescope and GitLab refuse large reports).
    const REPORT_LIMIT: usize = 1024 * 1024;

    /// Text a hostile program or submission could put in a report: every
    /// character that grows when escaped, characters XML forbids, `--` that
    /// would end an XML comment, `]]>`, markup, and multi-byte characters
    /// that a cut must not split.
    fn hostile(bytes: usize) -> String {
        let piece = "\"'<&>]]>--\u{1b}[31m\u{0}\u{7f}\u{fffe}\\ é€😀 <script>alert(1)</script>\n";
        piece.repeat(bytes / piece.len() + 1)
    }

    /// The largest grade there can be: every exercise of the course, every
    /// test failed with a huge hostile summary, transcript and panic, every
    /// build log huge (many times any limit), and a thousand hostile
    /// warnings; cut as `grade` cuts each result when it arrives.
    fn worst_grade(state: State) -> Grade {
        let manifest = util::manifest();
        let exercises = manifest
            .exercises
            .iter()
            .enumerate()
            .map(|(n, exercise)| {
                let mut graded = Graded::pending(exercise);
                for test in &mut graded.report.tests {
                    test.status = Status::Failed;
                    test.summary = hostile(1 << 16);
                    test.transcript = hostile(1 << 18);
                    test.panic = Some(grader::process::Panic {
                        location: hostile(1 << 16),
                        message: hostile(1 << 16),
                    });
                }
                if n % 2 == 0 {
                    graded.report.status = ExerciseStatus::DoesNotCompile(hostile(1 << 18));
                }
                let finished = if n == 0 { 1 } else { graded.report.tests.len() };
                graded.done = (0..graded.report.tests.len()).map(|i| i < finished).collect();
                bound_exercise(&mut graded.report);
                graded
            })
            .collect::<Vec<Graded>>();
        let mut warnings: Vec<String> = (0..1000).map(|i| format!("notes---draft{i}.md {}", hostile(1 << 12))).collect();
        bound_warnings(&mut warnings);
        Grade {
            graded: "submission /tmp/<a href=x>--&amp;".into(),
            seed: 7,
            require_all: false,
            exercises,
            warnings,
            duration: Duration::from_secs(1),
            bound: Duration::from_secs(100),
            state,
            protections: Vec::new(),
        }
    }

    /// A course of any size up to 300 tests shares the same budget: one
    /// test's texts (transcript, summary, panic message and location) times
    /// the number of tests stays within `TESTS_BUDGET`; a small course keeps
    /// the full fixed limits.
    #[test]
    fn the_tests_share_one_budget_however_many_there_are() {
        for tests in [1, 10, 60, 100, 170, 250, 300] {
            let l = test_limits(tests);
            let each = l.transcript + 2 * l.summary + l.panic_location;
            assert!(each * tests <= TESTS_BUDGET, "{tests} tests: {l:?}");
        }
        assert_eq!(test_limits(10).transcript, TRANSCRIPT_LIMIT);
    }

    /// Every format of the largest, most hostile grade stays under the
    /// bound and is read by a strict parser of its kind.
    #[test]
    fn every_format_is_bounded_and_well_formed_whatever_the_programs_print() {
        for state in [State::Running, State::Complete, State::Error("a <bad> & day".into())] {
            let grade = worst_grade(state);
            for format in Format::ALL {
                let text = render(format, &grade);
                eprintln!("{:>10}: {:>7} bytes ({})", format.name(), text.len(), grade.state.key());
                assert!(
                    text.len() < REPORT_LIMIT,
                    "the {} report is {} bytes, over {REPORT_LIMIT}",
                    format.name(),
                    text.len()
                );
                match format {
                    Format::Json | Format::Gradescope => {
                        util::parse_json(&text).unwrap_or_else(|e| panic!("{}: {e}", format.name()));
                    }
                    Format::Junit => {
                        util::parse_xml(&text).unwrap_or_else(|e| panic!("junit: {e}"));
                    }
                    Format::Classroom => {
                        for line in text.lines() {
                            let (_, encoded) = line.split_once("_RESULTS=").expect("NAME_RESULTS=base64");
                            let json = String::from_utf8(util::unbase64(encoded).unwrap()).unwrap();
                            util::parse_json(&json).unwrap_or_else(|e| panic!("classroom: {e}"));
                        }
                    }
                    Format::Text => {}
                }
            }
        }
    }

    /// A cut keeps the start and the end, at character boundaries, within
    /// the limit once escaped, and says how much it cut.
    #[test]
    fn bounded_keeps_both_ends_and_says_what_it_cut() {
        let text = format!("START{}END", "é".repeat(10_000));
        let cut = bounded(&text, 1000);
        assert!(cut.starts_with("START") && cut.ends_with("END"), "{cut}");
        assert!(cut.chars().map(escaped_cost).sum::<usize>() <= 1000);
        let kept = cut.len() - cut.lines().nth(1).unwrap().len() - 2;
        assert!(cut.contains(&format!("[... {} bytes cut here", text.len() - kept)), "{cut}");
        assert_eq!(bounded("short", 1000), "short");
        let quotes = "\"".repeat(1000);
        assert!(bounded(&quotes, 600).chars().map(escaped_cost).sum::<usize>() <= 600);
    }

    /// The RFC 4648 test vectors.
    #[test]
    fn base64_matches_rfc4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    /// Control characters and quotes never break a JSON string or an XML document.
    #[test]
    fn escapes_control_characters() {
        let json = Json::Obj(vec![("a", Json::str("q\"\\\u{1b}[31m\n"))]).to_string_compact();
        assert_eq!(json, r#"{"a":"q\"\\\u001b[31m\n"}"#);
        assert_eq!(escape_xml("<a & \"b\"\u{1b}>"), "&lt;a &amp; &quot;b&quot;\\u{1b}&gt;");
    }
}
