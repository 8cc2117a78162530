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
    /// Connecting as another user: the grader runs as root, with the
    /// capabilities `fixtures::unix_peer` uses (exercise 09's peer check).
    OtherUser,
}

impl Need {
    pub fn parse(name: &str) -> Option<Need> {
        match name {
            "linux" => Some(Need::Linux),
            "ipv6" => Some(Need::Ipv6),
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
            Need::OtherUser => crate::fixtures::unix_peer::other_user_missing(),
        }
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
