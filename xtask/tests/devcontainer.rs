//! The dev container (`.devcontainer/`) gives a learner on macOS or Windows
//! the whole course: its configuration parses, and its image installs every
//! tool the book's console sessions use.

use crate::util::{parse_json, root};

/// Which Debian package provides each command the book runs by hand.
const PROVIDERS: &[(&str, &str)] = &[
    ("nc", "netcat-openbsd"),
    ("socat", "socat"),
    ("ss", "iproute2"),
    ("ip", "iproute2"),
    ("sysctl", "procps"),
    ("watch", "procps"),
    ("tcpdump", "tcpdump"),
    ("strace", "strace"),
    ("curl", "curl"),
    ("python3", "python3"),
    ("unshare", "util-linux"),
];

/// Commands every image has (coreutils, the shell) or that the base image
/// brings (cargo).
const BUILT_IN: &[&str] = &["cargo", "printf", "head", "grep", "echo", "cmp", "cat", "ls", "kill", "sleep", "wc"];

/// The configuration is valid JSON that builds the Dockerfile beside it, opens
/// IPv6 loopback (exercise 01's `ipv6` check) and grants what tcpdump and
/// strace need; the Dockerfile installs a package for every command the
/// book's sessions run.
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
    let install = dockerfile
        .split("apt-get install")
        .nth(1)
        .expect("the Dockerfile installs packages with apt-get install");
    let packages: Vec<&str> = install
        .split("&&")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .filter(|w| !w.starts_with('-') && *w != "\\")
        .collect();

    let mut missing = Vec::new();
    for command in book_commands() {
        if BUILT_IN.contains(&command.as_str()) {
            continue;
        }
        match PROVIDERS.iter().find(|(c, _)| *c == command) {
            Some((_, package)) if packages.contains(package) => {}
            Some((_, package)) => missing.push(format!("{command} (package {package})")),
            None => missing.push(format!("{command} (add it to PROVIDERS or BUILT_IN in this test)")),
        }
    }
    assert!(
        missing.is_empty(),
        "the dev container lacks commands the book uses: {}",
        missing.join(", ")
    );
}

/// The first word of every `$ ` line in the book's console sessions (after
/// an optional `sudo`).
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
                    let command = command.strip_prefix("sudo ").unwrap_or(command);
                    let word = command.trim_start_matches(['(', '{']).split_whitespace().next().unwrap_or("");
                    if !word.is_empty() && !word.contains('=') && !found.iter().any(|f| f == word) {
                        found.push(word.to_string());
                    }
                }
            }
        }
    }
    found
}
