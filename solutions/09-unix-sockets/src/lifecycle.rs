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
    let socket = Socket::new(Domain::UNIX, kind, None)?;
    // The address: the path, copied into `sockaddr_un.sun_path`, which holds
    // at most 107 bytes and a NUL; a longer path is refused here.
    let addr = SockAddr::unix(path)?;
    match socket.bind(&addr) {
        Ok(()) => return Ok(socket),
        Err(e) if e.kind() == ErrorKind::AddrInUse => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("cannot bind {}: {e}", path.display()))),
    }
    // Something is at the path already. Look at it without following a
    // symbolic link (lstat): only a socket file may ever be removed.
    let meta = fs::symlink_metadata(path)?;
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket; not removing it", path.display()),
        ));
    }
    if someone_listens(path, kind)? {
        return Err(io::Error::new(
            ErrorKind::AddrInUse,
            format!("another server is listening on {}", path.display()),
        ));
    }
    // Stale: the server that bound it is gone. Remove the file, bind again.
    // (Two servers starting at the same instant could both get here; a real
    // server would hold a lock file, `flock(2)`, around these steps.)
    fs::remove_file(path)?;
    socket
        .bind(&addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {}: {e}", path.display())))?;
    Ok(socket)
}

/// Whether a server answers at `path`: `connect(2)` succeeds if one is
/// listening (stream) or bound (datagram), and fails with `ECONNREFUSED`
/// when the file is a leftover.
fn someone_listens(path: &Path, kind: Type) -> io::Result<bool> {
    let probe = if kind == Type::DGRAM {
        UnixDatagram::unbound().and_then(|s| s.connect(path))
    } else {
        // The live server sees a client that connects and closes at once.
        UnixStream::connect(path).map(drop)
    };
    match probe {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(false),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot tell whether a server listens on {}: {e}", path.display()),
        )),
    }
}

/// Sets the socket file's mode to [`MODE`]. Do it before `listen(2)`: until
/// then a `connect` is refused, so no client can slip in while the file
/// still has the looser mode that `bind` gave it (0777 minus the umask).
pub fn make_private(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(MODE))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot set the mode of {}: {e}", path.display())))
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
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    signals.thread_block().map_err(io::Error::from)?;
    let path: PathBuf = path.to_owned();
    thread::spawn(move || {
        if signals.wait().is_ok() {
            // The file is ours: we bound it. Remove it, or the next start
            // finds a stale file (which it would handle, but a client
            // meanwhile gets ECONNREFUSED instead of ENOENT: "not running").
            let _ = fs::remove_file(&path);
            process::exit(0);
        }
    });
    Ok(())
}
