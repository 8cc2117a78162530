//! What a test needs from the machine, and whether this machine has it.
//!
//! A test that needs something missing is reported as *skipped* with the
//! reason, never as passed: a grade must not rise because a check could not run.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Linux facilities: `/proc/PID/fd`, `/proc/PID/status`, `LD_PRELOAD`.
    Linux,
    /// An IPv6 loopback address (`::1`) that can be bound.
    Ipv6,
    /// The `curl` command (Debian package `curl`), a real HTTP client.
    Curl,
    /// The `wrk` HTTP load generator (Debian package `wrk`).
    Wrk,
    /// ApacheBench, `ab` (Debian package `apache2-utils`), a load generator
    /// that speaks HTTP/1.0 with `Connection: Keep-Alive`.
    Ab,
    /// Connecting as another user: the grader runs as root, with the
    /// capabilities `fixtures::unix_peer` uses (exercise 09's peer check).
    OtherUser,
}

impl Need {
    pub fn parse(name: &str) -> Option<Need> {
        match name {
            "linux" => Some(Need::Linux),
            "ipv6" => Some(Need::Ipv6),
            "curl" => Some(Need::Curl),
            "wrk" => Some(Need::Wrk),
            "ab" => Some(Need::Ab),
            "other-user" => Some(Need::OtherUser),
            _ => None,
        }
    }

    /// `None` when the machine has it; otherwise why the test is skipped.
    pub fn missing(self) -> Option<String> {
        if let Some(reason) = pretended_missing(self) {
            return Some(reason);
        }
        match self {
            Need::Linux if !cfg!(target_os = "linux") => {
                Some(format!("needs Linux (/proc and LD_PRELOAD); this is {}", std::env::consts::OS))
            }
            Need::Linux => None,
            Need::Ipv6 => ipv6_missing().clone(),
            Need::Curl => tool_missing("curl", "curl", "--version"),
            Need::Wrk => tool_missing("wrk", "wrk", "-v"),
            Need::Ab => tool_missing("ab", "apache2-utils", "-V"),
            Need::OtherUser => crate::fixtures::unix_peer::other_user_missing(),
        }
    }
}

/// `None` when the command `name` can be started here (its exit status does
/// not matter: `wrk -v` exits with 1); otherwise why a test is skipped.
/// Asked once per run for each tool.
fn tool_missing(name: &str, package: &str, probe: &str) -> Option<String> {
    static CURL: OnceLock<Option<String>> = OnceLock::new();
    static WRK: OnceLock<Option<String>> = OnceLock::new();
    static AB: OnceLock<Option<String>> = OnceLock::new();
    let ask = || match std::process::Command::new(name)
        .arg(probe)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        Ok(_) => None,
        Err(e) => Some(format!(
            "needs the `{name}` command (Debian/Ubuntu package `{package}`, installed by .ci/run); starting it failed here: {e}"
        )),
    };
    match name {
        "curl" => CURL.get_or_init(ask).clone(),
        "wrk" => WRK.get_or_init(ask).clone(),
        "ab" => AB.get_or_init(ask).clone(),
        _ => ask(),
    }
}

fn ipv6_missing() -> &'static Option<String> {
    static CACHE: OnceLock<Option<String>> = OnceLock::new();
    CACHE.get_or_init(|| match std::net::TcpListener::bind("[::1]:0") {
        Ok(_) => None,
        Err(e) => Some(format!("needs IPv6 loopback; binding [::1]:0 failed here: {e}")),
    })
}

/// `SOCKLINGS_PRETEND_MISSING=ipv6,linux` makes the named needs read as
/// missing, so the project's tests can see what a machine without them sees
/// (the banner of `check`, "passed, but N tests could not run here") on a
/// machine that has everything. It can only take checks away: a skipped test
/// earns no points, so no grade rises with it.
fn pretended_missing(need: Need) -> Option<String> {
    let names = std::env::var("SOCKLINGS_PRETEND_MISSING").ok()?;
    let name = names.split(',').map(str::trim).find(|name| Need::parse(name) == Some(need))?;
    Some(format!("needs {name}, which SOCKLINGS_PRETEND_MISSING says is missing here"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A missing command is a reason to skip, naming the command and its package.
    #[test]
    fn a_missing_tool_is_a_reason_to_skip() {
        let reason = tool_missing("socklings-no-such-tool", "no-such-package", "--version").expect("the tool is missing");
        assert!(
            reason.contains("socklings-no-such-tool") && reason.contains("no-such-package"),
            "{reason}"
        );
        assert_eq!(Need::parse("curl"), Some(Need::Curl));
        assert_eq!(Need::parse("wrk"), Some(Need::Wrk));
        assert_eq!(Need::parse("ab"), Some(Need::Ab));
    }
}
