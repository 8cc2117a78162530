//! The life of a socket file: taking the path, keeping it private, and
//! removing it when the server stops.
//!
//! `bind(2)` on an `AF_UNIX` socket creates a file of type *socket* at the
//! path (`ls -l` shows it as `srwxr-xr-x`). Closing the socket does not
//! remove that file, and neither does the kernel when the process dies: after
//! a crash or a `kill -9` the file stays, and the next `bind` to that path
//! fails with `EADDRINUSE` although nobody is listening. This is the Unix
//! socket's TIME_WAIT, and `SO_REUSEADDR` does nothing for it.
//!
//! Removing the file blindly before every `bind` (what many examples do) is
//! wrong in two ways: if a server is running there, its file is gone and no
//! new client can reach it any more (it still runs, listening on a name
//! nobody can find), and if the path is some other file, you just deleted
//! someone's data. So a server asks first: `connect(2)` to the path. A live
//! server accepts; a stale file answers `ECONNREFUSED` (a socket file whose
//! socket is closed, or whose socket is bound but not listening). Only then
//! is the file removed and the path bound again.

use nix::sys::signal::{SigSet, Signal};
use socket2::{Domain, SockAddr, Socket, Type};
use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process;
use std::thread;

/// The mode of the socket file: read and write for the owner only
/// (`srw-------`). `connect(2)` to a Unix socket needs *write* permission on
/// its file, so this keeps every other user out (except root).
pub const MODE: u32 = 0o600;

/// Creates a socket of type `kind` (`Type::STREAM` or `Type::DGRAM`) bound
/// to `path`, taking over a stale socket file left by a server that died,
/// but never a live one, nor a file that is not a socket.
pub fn bind_path(path: &Path, kind: Type) -> io::Result<Socket> {
    // TODO: Create a Unix socket of type `kind` and bind it to `path`
    // (socket2: Socket::new(Domain::UNIX, ...), SockAddr::unix(path)?). If
    // bind fails with AddrInUse, something is at the path: if it is not a
    // socket (look without following links), return an error and touch
    // nothing; if a server answers there (someone_listens), return an error
    // whose message is `another server is listening on PATH`; otherwise the
    // file is stale: remove it and bind again. Name the path in every error.
    todo!()
}

/// Whether a server answers at `path`: `connect(2)` succeeds if one is
/// listening (stream) or bound (datagram), and fails with `ECONNREFUSED`
/// when the file is a leftover.
fn someone_listens(path: &Path, kind: Type) -> io::Result<bool> {
    // TODO: Try to connect to `path` with a socket of the same kind (a
    // UnixStream, or an unbound UnixDatagram for Type::DGRAM). Success means
    // a live server; ConnectionRefused means nobody is there; any other
    // error is returned.
    todo!()
}

/// Sets the socket file's mode to [`MODE`]. Do it before `listen(2)`: until
/// then a `connect` is refused, so no client can slip in while the file
/// still has the looser mode that `bind` gave it (0777 minus the umask).
pub fn make_private(path: &Path) -> io::Result<()> {
    // TODO: Give the file at `path` the mode MODE.
    todo!()
}

/// Removes the socket file at `path` and exits with status 0 when SIGTERM
/// (`kill`, systemd's stop) or SIGINT (Ctrl-C) arrives.
///
/// A signal handler may do almost nothing safely (no allocation, no locks),
/// so instead the two signals are *blocked* and a thread waits for them with
/// `sigwait(2)`, where it may do anything. Call this before starting any
/// other thread: a thread inherits the signal mask of the thread that
/// starts it, and a signal not blocked in every thread could be delivered to
/// one that does not wait for it, killing the process with its default action.
pub fn remove_on_exit(path: &Path) -> io::Result<()> {
    // TODO: Block SIGTERM and SIGINT in this thread (nix's SigSet), then
    // start a thread that waits for either, removes the file at `path` and
    // exits the process with status 0.
    todo!()
}
