//! What a test needs from the machine, and whether this machine has it.
//!
//! A test that needs something missing is reported as *skipped* with the
//! reason, never as passed: a grade must not rise because a check could not run.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Linux facilities: `/proc/PID/fd`, `/proc/PID/status`, `LD_PRELOAD`.
    Linux,
    /// Unprivileged user and network namespaces (`unshare -Urn`).
    UserNamespaces,
    /// An IPv6 loopback address (`::1`) that can be bound.
    Ipv6,
}

impl Need {
    pub fn parse(name: &str) -> Option<Need> {
        match name {
            "linux" => Some(Need::Linux),
            "user-namespaces" => Some(Need::UserNamespaces),
            "ipv6" => Some(Need::Ipv6),
            _ => None,
        }
    }

    /// `None` when the machine has it; otherwise why the test is skipped.
    pub fn missing(self) -> Option<String> {
        match self {
            Need::Linux if !cfg!(target_os = "linux") => {
                Some(format!("needs Linux (/proc and LD_PRELOAD); this is {}", std::env::consts::OS))
            }
            Need::Linux => None,
            Need::Ipv6 => ipv6_missing().clone(),
            Need::UserNamespaces => user_namespaces_missing().clone(),
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

fn user_namespaces_missing() -> &'static Option<String> {
    static CACHE: OnceLock<Option<String>> = OnceLock::new();
    CACHE.get_or_init(|| {
        if !cfg!(target_os = "linux") {
            return Some(format!("needs Linux user namespaces; this is {}", std::env::consts::OS));
        }
        // Try for real rather than reading sysctls: containers differ.
        match std::process::Command::new("unshare").args(["-Urn", "true"]).output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "needs Linux user namespaces; `unshare -Urn true` failed here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(format!("needs Linux user namespaces; cannot run `unshare`: {e}")),
        }
    })
}
