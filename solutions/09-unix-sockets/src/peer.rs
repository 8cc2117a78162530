//! Who is at the other end: the peer's credentials.
//!
//! A TCP server knows only its client's address, which anyone can claim. A
//! Unix socket connects two processes of the same machine, and the kernel
//! records who called `connect(2)`: its process id, user id and group id at
//! that moment. The server reads them with `getsockopt(SO_PEERCRED)` (Linux;
//! `getpeereid(3)` on the BSDs and macOS). They cannot be forged: this is how
//! Docker's socket, D-Bus and PostgreSQL's `peer` authentication decide whom
//! to serve.
//!
//! std does not offer it yet (`UnixStream::peer_cred` is unstable), so this
//! module asks the C library directly, through the `libc` crate that nix
//! re-exports. It is given: what to *do* with the answer is the exercise.

use nix::libc;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The effective user id of the process at the other end of `stream`, as the
/// kernel recorded it when that process connected.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, which is a
    // valid, properly aligned `ucred`, and the descriptor is open.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// The effective user id of the process at the other end of `stream`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: getpeereid writes one uid and one gid; the descriptor is open.
    let rc = unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(uid)
}

/// This process's effective user id: the one the kernel checks permissions
/// against, and the one a client of ours must have.
pub fn my_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}
