//! The setups docs/src/instructors.md hands to instructors, read as their
//! platforms read them: every YAML file is parsed (by PyYAML, through
//! python3, where this machine has it; always by a small check for the
//! mistake that broke the GitLab job, a `: ` inside a plain scalar), every
//! shell script is checked by `bash -n`, and what the chapter promises about
//! each setup (one grade, a fixed seed, no credentials, no CI variables for
//! learner code) is checked on what was parsed.

use super::util::{self, Value, parse_json};

/// A fenced code block of the chapter.
struct Block {
    language: String,
    /// The line of its opening fence, for messages.
    line: usize,
    text: String,
}

fn chapter() -> Vec<Block> {
    let path = util::root().join("docs/src/instructors.md");
    let markdown = std::fs::read_to_string(&path).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(_), Some(block)) => blocks.push(block),
            (Some(info), None) => {
                open = Some(Block {
                    language: info.trim().to_string(),
                    line: i + 1,
                    text: String::new(),
                })
            }
            (None, Some(mut block)) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    blocks
}

fn blocks_in(language: &[&str]) -> Vec<Block> {
    chapter().into_iter().filter(|b| language.contains(&b.language.as_str())).collect()
}

/// The lines of a YAML document where a plain scalar (unquoted text) holds
/// `: `. In a mapping's value that is an error ("mapping values are not
/// allowed here"); in a list item it silently turns the line into a
/// mapping, which GitLab refuses as a script line. Block scalars (`|`, `>`)
/// are text and are skipped.
fn colons_in_plain_scalars(yaml: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut block_scalar_indent: Option<usize> = None;
    for (n, line) in yaml.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if let Some(parent) = block_scalar_indent {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar_indent = None;
        }
        let mut rest = line.trim_start();
        if rest.starts_with('#') {
            continue;
        }
        if let Some(comment) = rest.find(" #") {
            rest = &rest[..comment];
        }
        let rest = rest.trim_end();
        let item = rest.strip_prefix("- ").unwrap_or(rest);
        // A simple key (`name: value`) is a mapping on purpose; look at its value.
        let value = match item.split_once(": ") {
            Some((key, value)) if is_simple_key(key) => value,
            Some(_) if !starts_quoted(item) => {
                problems.push(format!("line {}: `: ` inside an unquoted item: {line}", n + 1));
                continue;
            }
            _ => item.strip_suffix(':').map_or(item, |_| ""),
        };
        if ["|", "|-", ">", ">-", "|+", ">+"].contains(&value) {
            block_scalar_indent = Some(indent);
        } else if !starts_quoted(value) && value.contains(": ") {
            problems.push(format!("line {}: `: ` inside an unquoted value: {line}", n + 1));
        }
    }
    problems
}

fn is_simple_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Whether a YAML value is written in a form where `: ` is plain text.
fn starts_quoted(value: &str) -> bool {
    value.starts_with(['\'', '"', '[', '{', '|', '>'])
}

/// The check catches the line that broke the GitLab job, and passes its fix.
#[test]
fn the_yaml_check_catches_a_colon_in_a_script_line() {
    let broken = "job:\n  script:\n    - unshare -Urn true && echo \"user namespaces: yes\" || echo no\n";
    assert_eq!(colons_in_plain_scalars(broken).len(), 1, "{broken}");
    let fixed = "job:\n  script:\n    - 'unshare -Urn true && echo \"user namespaces: yes\" || echo no'\n    - >-\n      echo a: b\n";
    assert_eq!(colons_in_plain_scalars(fixed), Vec::<String>::new());
    assert_eq!(colons_in_plain_scalars("run: echo \"a: b\"\n").len(), 1);
}

/// A YAML document as PyYAML reads it (as JSON), or why this machine cannot
/// say: `Err` names what is missing.
fn parse_yaml(yaml: &str) -> Result<Result<Value, String>, String> {
    let script = "import json, sys, yaml\nprint(json.dumps(yaml.safe_load(sys.stdin.read())))";
    let probe = std::process::Command::new("python3").args(["-c", "import yaml"]).output();
    match probe {
        Err(e) => return Err(format!("python3 cannot run here ({e})")),
        Ok(out) if !out.status.success() => return Err("python3 has no yaml module here (PyYAML)".into()),
        Ok(_) => {}
    }
    let output = run_with_stdin("python3", &["-c", script], yaml);
    if !output.status.success() {
        return Ok(Err(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    Ok(parse_json(&String::from_utf8_lossy(&output.stdout)))
}

fn run_with_stdin(program: &str, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A mapping's field, or `None`.
fn field<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    match value {
        Value::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// Every YAML file and shell script of the chapter parses; the YAML ones as
/// PyYAML reads them where python3 has it (skipped, saying so, elsewhere).
#[test]
fn every_setup_in_the_instructors_chapter_parses() {
    let yaml = blocks_in(&["yaml", "yml"]);
    assert!(yaml.len() >= 2, "the chapter has the Classroom workflow and the GitLab job");
    let mut problems = Vec::new();
    for block in &yaml {
        for problem in colons_in_plain_scalars(&block.text) {
            problems.push(format!("instructors.md:{} (yaml block), {problem}", block.line));
        }
        match parse_yaml(&block.text) {
            Err(why) => eprintln!("skipped parsing instructors.md:{} with PyYAML: {why}", block.line),
            Ok(Err(e)) => problems.push(format!("instructors.md:{}: not valid YAML: {e}", block.line)),
            Ok(Ok(_)) => {}
        }
    }
    let shell = blocks_in(&["sh", "bash"]);
    assert!(shell.len() >= 3, "the chapter has Gradescope's scripts");
    for block in &shell {
        let output = run_with_stdin("bash", &["-n"], &block.text);
        if !output.status.success() {
            problems.push(format!(
                "instructors.md:{}: bash -n: {}",
                block.line,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The one step of a setup that grades: its command line.
fn the_grade_command<'v>(commands: impl Iterator<Item = &'v str>) -> &'v str {
    let grades: Vec<&str> = commands.filter(|c| c.contains("cargo xtask grade")).collect();
    assert_eq!(
        grades.len(),
        1,
        "a setup grades once and writes every report from that run: {grades:?}"
    );
    let grade = grades[0];
    assert!(grade.contains("--seed"), "one fixed seed, recorded in the reports: {grade}");
    // `env -i` (possibly after `sudo`) clears the job's variables.
    assert!(grade.contains("env -i "), "learner code gets no CI variable: {grade}");
    grade
}

/// The Classroom workflow checks out without keeping credentials, grades
/// once with a fixed seed, gives no secret or CI variable to the grade, and
/// hands the reporter every runner of that one run.
#[test]
fn the_classroom_workflow_grades_once_without_credentials() {
    let block = blocks_in(&["yaml"])
        .into_iter()
        .find(|b| b.text.contains("Autograding Tests"))
        .expect("the chapter has the Classroom workflow");
    let workflow = match parse_yaml(&block.text) {
        Err(why) => return eprintln!("skipped: {why}"),
        Ok(parsed) => parsed.unwrap_or_else(|e| panic!("the workflow is not valid YAML: {e}")),
    };
    let steps = field(&workflow, "jobs")
        .and_then(|j| field(j, "run-autograding-tests"))
        .and_then(|j| field(j, "steps"))
        .expect("jobs.run-autograding-tests.steps")
        .array();
    let uses = |s: &Value| field(s, "uses").map_or("", Value::str).to_string();
    let checkouts: Vec<&Value> = steps.iter().filter(|s| uses(s).starts_with("actions/checkout")).collect();
    assert_eq!(checkouts.len(), 2);
    for step in &checkouts {
        let persist = field(step, "with").and_then(|w| field(w, "persist-credentials"));
        assert_eq!(persist, Some(&Value::Bool(false)), "persist-credentials: false in {step:?}");
    }
    let runs: Vec<&str> = steps.iter().filter_map(|s| field(s, "run")).map(Value::str).collect();
    let grade = the_grade_command(runs.into_iter());
    assert!(grade.contains("--output json=") && grade.contains("--output classroom="), "{grade}");
    // The only secret is the grader's checkout token, never an environment variable.
    for step in steps {
        let text = format!("{step:?}");
        if text.contains("secrets.") {
            assert!(uses(step).starts_with("actions/checkout"), "a secret outside a checkout: {step:?}");
        }
        assert!(field(step, "env").is_none(), "no step exports variables: {step:?}");
    }
    let reporter = steps
        .iter()
        .find(|s| uses(s).starts_with("classroom-resources/autograding-grading-reporter@"))
        .expect("the reporter step");
    let runners = field(reporter, "with").and_then(|w| field(w, "runners")).map(Value::str);
    assert_eq!(runners, Some("${{ steps.socklings.outputs.runners }}"));
}

/// The GitLab job's script is a list of strings (GitLab refuses anything
/// else), grades once with a fixed seed and no CI variable, and publishes
/// the JUnit report.
#[test]
fn the_gitlab_job_grades_once_and_publishes_junit() {
    let block = blocks_in(&["yaml"])
        .into_iter()
        .find(|b| b.text.contains("socklings-grade:"))
        .expect("the chapter has the GitLab job");
    let job = match parse_yaml(&block.text) {
        Err(why) => return eprintln!("skipped: {why}"),
        Ok(parsed) => parsed.unwrap_or_else(|e| panic!("the GitLab job is not valid YAML: {e}")),
    };
    let job = field(&job, "socklings-grade").expect("socklings-grade");
    let script = field(job, "script").expect("script").array();
    for line in script {
        assert!(matches!(line, Value::Str(_)), "every script line is a string: {line:?}");
    }
    let grade = the_grade_command(script.iter().map(Value::str));
    assert!(grade.contains("--output \"junit=") && grade.contains("--output \"json="), "{grade}");
    let junit = field(job, "artifacts")
        .and_then(|a| field(a, "reports"))
        .and_then(|r| field(r, "junit"))
        .map(Value::str);
    assert_eq!(junit, Some("socklings.xml"));
}
