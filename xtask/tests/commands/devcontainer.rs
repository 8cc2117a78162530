//! The dev container (`.devcontainer/`) gives a learner on macOS or Windows
//! the whole course: its configuration parses, and its image installs every
//! tool the book's console sessions use.

use super::util::{parse_json, root};

/// `.devcontainer/tools.txt`: each Debian package and the commands it
/// provides, one package a line (`#` starts a comment).
fn tools() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join(".devcontainer").join("tools.txt")).expect(".devcontainer/tools.txt exists");
    text.lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .filter_map(|line| {
            let mut words = line.split_whitespace().map(str::to_string);
            let package = words.next()?;
            let commands: Vec<String> = words.collect();
            assert!(!commands.is_empty(), "tools.txt: {package} names no command it provides");
            Some((package, commands))
        })
        .collect()
}

/// Commands every image has (coreutils, the shell) or that the base image
/// brings (cargo).
const BUILT_IN: &[&str] = &[
    "cargo", "printf", "head", "tail", "grep", "echo", "cmp", "cat", "ls", "kill", "sleep", "wc", "mkdir", "cut", "rm", "yes", "uniq",
    // mawk is "required" priority in Debian: every Debian image has awk.
    "awk",
];

/// The configuration is valid JSON that builds the Dockerfile beside it, opens
/// IPv6 loopback (exercise 01's `ipv6` check) and grants what tcpdump and
/// strace need; the Dockerfile installs the packages of `tools.txt`, which
/// `.ci/run` installs too, and that list provides every command the book's
/// sessions run.
#[test]
fn the_dev_container_installs_what_the_book_uses() {
    let dir = root().join(".devcontainer");
    let config = std::fs::read_to_string(dir.join("devcontainer.json")).expect(".devcontainer/devcontainer.json exists");
    let config = parse_json(&config).unwrap_or_else(|e| panic!("devcontainer.json is not valid JSON: {e}"));
    assert_eq!(config.get("build").get("dockerfile").str(), "Dockerfile");
    let run_args: Vec<&str> = config.get("runArgs").array().iter().map(|v| v.str()).collect();
    for needed in ["net.ipv6.conf.lo.disable_ipv6=0", "--cap-add=NET_RAW", "--cap-add=SYS_PTRACE"] {
        assert!(run_args.contains(&needed), "runArgs lacks {needed}");
    }
    let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).expect("the Dockerfile exists");
    assert!(
        dockerfile.contains("COPY tools.txt ") && dockerfile.contains("apt-get install"),
        "the Dockerfile installs the packages of tools.txt"
    );
    let ci = std::fs::read_to_string(root().join(".ci").join("run")).expect(".ci/run exists");
    assert!(ci.contains(".devcontainer/tools.txt"), ".ci/run installs the packages of tools.txt");

    let tools = tools();
    let mut missing = Vec::new();
    for command in book_commands() {
        if BUILT_IN.contains(&command.as_str()) {
            continue;
        }
        if !tools.iter().any(|(_, commands)| commands.contains(&command)) {
            missing.push(command);
        }
    }
    assert!(
        missing.is_empty(),
        "the book runs commands that .devcontainer/tools.txt provides no package for: {} (add the package, or the command to BUILT_IN in this test if every image has it)",
        missing.join(", ")
    );
}

/// The first word of every command on a `$ ` line in the book's console
/// sessions (after an optional `sudo`), pipelines and `&&` chains included.
fn book_commands() -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root().join("docs").join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    let Some(command) = line.strip_prefix("$ ") else { continue };
                    // Each command of a pipeline or a `&&` chain.
                    for command in command.split(" | ").flat_map(|c| c.split(" && ")) {
                        let command = command.trim_start();
                        let command = command.strip_prefix("sudo ").unwrap_or(command);
                        let word = command.trim_start_matches(['(', '{']).split_whitespace().next().unwrap_or("");
                        if !word.is_empty() && !word.contains('=') && !found.iter().any(|f| f == word) {
                            found.push(word.to_string());
                        }
                    }
                }
            }
        }
    }
    found
}
