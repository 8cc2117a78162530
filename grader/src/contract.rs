//! An exercise's task as a contract: numbered clauses, each a promise about
//! what the program does that can be observed from outside (what it prints,
//! what it sends, how soon, within what limits, what it does on error).
//!
//! The clauses live where the learner reads them: in the exercise's chapter,
//! as the numbered list under the heading `### The contract` inside
//! `## The task`. Every hidden test names the clauses it checks
//! ([`crate::TestCase::clauses`]), every clause is checked by some test and
//! broken by some mutant in the catalogue, and the chapter's table of which
//! test checks which clause (between `<!-- contract-map -->` and
//! `<!-- /contract-map -->`) is generated from that data by [`map`]. The
//! project test `contracts` keeps all of this true.
//!
//! A clause is numbered `N.` at the start of a line; the lines that follow it
//! (indented, or continuing the paragraph) belong to it. A clause that is a
//! judgement call says which readings are accepted, in a line beginning
//! `Accepted:`.

use crate::registry::TestCase;

/// One numbered clause of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub number: u32,
    /// The clause's text, its lines joined with spaces.
    pub text: String,
}

/// The heading of the contract inside a chapter's `## The task`.
pub const HEADING: &str = "### The contract";
/// The markers around the generated clause-to-test table.
pub const MAP_BEGIN: &str = "<!-- contract-map -->";
pub const MAP_END: &str = "<!-- /contract-map -->";

/// The clauses of the chapter `text`, in order. Errors say what to fix: no
/// contract heading, no clauses, or numbers that do not run 1, 2, 3, ...
pub fn clauses(text: &str) -> Result<Vec<Clause>, String> {
    let mut lines = text.lines().skip_while(|l| l.trim_end() != HEADING);
    if lines.next().is_none() {
        return Err(format!("no `{HEADING}` heading (inside `## The task`)"));
    }
    let mut found: Vec<Clause> = Vec::new();
    for line in lines {
        if line.starts_with('#') {
            break;
        }
        let trimmed = line.trim_start();
        let numbered = line
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|(n, rest)| Some((n.parse::<u32>().ok()?, rest)));
        match numbered {
            Some((number, rest)) => found.push(Clause {
                number,
                text: rest.trim().to_string(),
            }),
            None if trimmed.is_empty() => {}
            None => {
                if let Some(last) = found.last_mut() {
                    last.text.push(' ');
                    last.text.push_str(trimmed);
                }
            }
        }
    }
    if found.is_empty() {
        return Err(format!("no numbered clauses (`1. ...`) under `{HEADING}`"));
    }
    for (i, clause) in found.iter().enumerate() {
        if clause.number != i as u32 + 1 {
            return Err(format!(
                "clause {} should be numbered {}: number them 1, 2, 3, ...",
                clause.number,
                i + 1
            ));
        }
    }
    Ok(found)
}

/// The chapter's generated table: for each clause, the tests that check it.
pub fn map(clauses: &[Clause], tests: &[TestCase]) -> String {
    let mut out = String::new();
    out.push_str(MAP_BEGIN);
    out.push_str("\n\n| clause | checked by |\n|---|---|\n");
    for clause in clauses {
        let ids: Vec<String> = tests
            .iter()
            .filter(|t| t.clauses.contains(&clause.number))
            .map(|t| format!("`{}`", t.id))
            .collect();
        let ids = if ids.is_empty() {
            "(nothing yet)".to_string()
        } else {
            ids.join(", ")
        };
        out.push_str(&format!("| {} | {} |\n", clause.number, ids));
    }
    out.push('\n');
    out.push_str(MAP_END);
    out
}

/// The table as the chapter has it now (markers included), if it has one.
pub fn current_map(text: &str) -> Option<&str> {
    let begin = text.find(MAP_BEGIN)?;
    let end = text[begin..].find(MAP_END)? + begin + MAP_END.len();
    Some(&text[begin..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbered_clauses_with_continuations() {
        let text = "## The task\n\n### The contract\n\n1. Prints `listening on ADDR`.\n2. Echoes every byte\n   unchanged.\n   Accepted: either order.\n\n## Try it\n3. not a clause\n";
        let found = clauses(text).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].text, "Echoes every byte unchanged. Accepted: either order.");
    }

    #[test]
    fn refuses_gaps_and_missing_headings() {
        assert!(clauses("## The task\n1. x\n").unwrap_err().contains("heading"));
        assert!(clauses("### The contract\n1. a\n3. b\n").unwrap_err().contains("numbered 2"));
    }
}
