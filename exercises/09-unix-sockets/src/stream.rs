//! The stream server: `SOCK_STREAM` over a Unix socket behaves like TCP (a
//! connection, a byte stream, `accept` per client), minus the network: no
//! ports, no handshake on the wire, and a file as the address.

use crate::lifecycle;
use crate::peer;
use socket2::Type;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::thread;

/// The line a client of another user gets before the server hangs up.
const REFUSED: &[u8] = b"refused\n";

/// Binds `path`, makes the file private, listens, and serves every client of
/// our own user on a thread of its own until SIGTERM or SIGINT.
pub fn serve(path: &Path) -> io::Result<()> {
    let socket = lifecycle::bind_path(path, Type::STREAM)?;
    // Between bind and listen a connect is refused, so the file can be made
    // private before anyone can use it.
    lifecycle::make_private(path)?;
    socket.listen(128)?;
    let listener = UnixListener::from(std::os::fd::OwnedFd::from(socket));
    // From here on the file is ours to remove.
    lifecycle::remove_on_exit(path)?;
    println!("listening on {}", path.display());
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || {
                    if let Err(e) = handle_client(stream) {
                        eprintln!("client: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}

/// Refuses a client of another user; echoes the lines of one of ours.
fn handle_client(stream: UnixStream) -> io::Result<()> {
    // TODO: Before reading anything, compare the peer's uid (peer::peer_uid)
    // with ours (peer::my_uid). Another user's client gets REFUSED and the
    // connection is closed. Our own user's client gets every line it sends
    // back, byte for byte, until it closes its end (a read of 0 bytes).
    todo!()
}
