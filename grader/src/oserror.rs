//! Translates operating-system errors into the socket concept behind them.
//!
//! "Connection refused (os error 111)" is accurate but does not teach; the
//! learner needs to hear "nobody is listening on that port yet". Each
//! explanation names the errno so it can be looked up in `man 7 tcp`.

use std::io;

/// One sentence explaining `err`, which happened while the grader was doing
/// `action` (for example "connecting to 127.0.0.1:4000").
pub fn explain(action: &str, err: &io::Error) -> String {
    format!("{action} failed: {err}. {}", meaning(err))
}

/// What the error means for a socket program.
pub fn meaning(err: &io::Error) -> &'static str {
    use io::ErrorKind::*;
    match err.kind() {
        ConnectionRefused => {
            "ECONNREFUSED: nothing is listening on that address and port. Either your program has not called listen() yet, it listens somewhere else, or it has already exited."
        }
        AddrInUse => {
            "EADDRINUSE: another socket already holds this address and port, either a listener that is still running or, without SO_REUSEADDR, connections of an earlier run still in TIME_WAIT."
        }
        AddrNotAvailable => "EADDRNOTAVAIL: that IP address does not belong to this machine, so nothing can bind or connect to it.",
        ConnectionReset => {
            "ECONNRESET: the other side reset the connection (an RST). That happens when a program exits or closes a socket while unread data is still waiting in it, or sets SO_LINGER to 0."
        }
        ConnectionAborted => "ECONNABORTED: the connection was aborted on this machine before it could be used.",
        BrokenPipe => {
            "EPIPE: writing to a connection whose other side has already closed. Rust ignores SIGPIPE for you, so the write returns this error instead of killing the process."
        }
        UnexpectedEof => {
            "A read returned 0 bytes: the other side closed its end of the connection (it sent a FIN) before sending everything that was expected."
        }
        WouldBlock | TimedOut => {
            "Nothing arrived before the deadline: the other side is silent, blocked, or waiting for something from us."
        }
        NotConnected => "ENOTCONN: the socket is not connected (yet, or any more).",
        PermissionDenied => "EACCES: permission denied; ports below 1024 need privileges.",
        Interrupted => "EINTR: a signal interrupted the system call; it is safe to retry it.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused connection is explained as "nobody is listening".
    #[test]
    fn explains_refused() {
        let e = std::net::TcpStream::connect(std::net::TcpListener::bind("127.0.0.1:0").map(|l| l.local_addr().unwrap()).unwrap())
            .err()
            .unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused));
        assert!(explain("connecting", &e).contains("ECONNREFUSED"));
    }
}
