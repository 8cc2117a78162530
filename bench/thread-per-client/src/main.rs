//! Exercise 03's chat room, served the way exercise 01 served its echo: one
//! thread per client, blocking sockets. Not learner code: `cargo xtask bench`
//! runs it beside the poll (03) and epoll (10) servers, so that the three
//! designs are measured doing exactly the same work.
//!
//! The protocol is 03's:
//! - on connecting, a client gets `hello <client address>\n`;
//! - each line a client sends (up to and including `\n`) is delivered to every
//!   *other* client as `<sender address>: <line>`;
//! - a last line without `\n` is dropped; one client's error ends that client.
//!
//! The design. A blocking `read` waits until its client sends something, and
//! while it waits its thread can do nothing else, so every client gets a
//! thread of its own that loops on `read`. When that thread has a complete
//! line, it writes the line to every other client itself, with a blocking
//! `write_all` on each of their sockets. The other clients' threads are not
//! woken: they are asleep in `read` on *their* sockets, and a write to a
//! socket wakes whoever reads at the other end of the connection, not them.
//!
//! What each client costs here, and what `cargo xtask bench` measures:
//! - a thread: a stack of 2 MiB of address space (Rust's default for spawned
//!   threads) of which only the pages it touches become resident, plus the
//!   kernel's own stack and task structure for it (not in the process's RSS);
//! - every line costs a wakeup of its sender's thread (a context switch), and
//!   when several senders write to the same client at once, they take turns
//!   on that client's lock (more sleeps and wakeups).
//!
//! Teaching shortcuts, said openly:
//! - A client that never reads fills its socket's send buffer, and then every
//!   sender's `write_all` to it blocks. A write timeout (`SO_SNDTIMEO`, below)
//!   bounds the damage: after it, that client is dropped. 03's event loop
//!   queues in user space instead and never waits for anyone.
//! - A real server would cap the number of threads (a pool) or refuse
//!   clients beyond a limit; this one tries to spawn a thread for everyone,
//!   and when the kernel refuses (threads, memory, map areas), it says so on
//!   standard error and closes that one client: that is the result the bench
//!   reports.
//!
//! Usage: `thread-per-client-chat [ADDRESS]` (default `127.0.0.1:7878`).
//! Once listening, it prints exactly one line `listening on <address>`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How long a `write` to one client may block before that client is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// One member as the other members' threads see it: its socket, and a lock
/// that a sender holds while it writes one whole message there, so that two
/// senders writing to the same client at once cannot interleave their lines.
/// Senders writing to *different* clients do not wait for each other.
///
/// Reading and writing need no separate handles: `&TcpStream` implements
/// both `Read` and `Write`, so the member's own thread reads through one
/// shared reference while other threads write through theirs. (A second
/// handle from `try_clone`, a `dup(2)`, would cost a second descriptor per
/// client, and at 10,000 clients that alone meets a limit of 20,000 open files.)
struct Member {
    peer: SocketAddr,
    stream: TcpStream,
    writing: Mutex<()>,
}

/// The room: every connected member, by client number.
///
/// A `BTreeMap` keeps the numbers in order, so a line reaches the members in
/// the order they joined, as in 03's `Vec`: the bench's probes join last and
/// see how long a line takes to reach the whole room.
type Room = Mutex<BTreeMap<u64, Arc<Member>>>;

fn main() {
    let addr = match std::env::args().nth(1).as_deref().unwrap_or("127.0.0.1:7878").parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: the address must look like 127.0.0.1:7878 or [::1]:7878 ({e})");
            process::exit(2);
        }
    };
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot bind {addr}: {e}");
            process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(bound) => println!("listening on {bound}"),
        Err(e) => {
            eprintln!("error: cannot read the bound address: {e}");
            process::exit(1);
        }
    }
    serve(listener);
}

/// Accepts clients forever on this thread, and gives each a thread.
fn serve(listener: TcpListener) {
    let room: Arc<Room> = Arc::new(Mutex::new(BTreeMap::new()));
    let next_id = AtomicU64::new(0);
    for incoming in listener.incoming() {
        let stream = match incoming {
            Ok(stream) => stream,
            // EMFILE (out of descriptors) or a connection reset before we
            // took it: the room goes on. EMFILE lasts until some client
            // leaves, and the waiting connection stays queued, so `accept`
            // would fail again at once: pause a little rather than spin.
            Err(e) => {
                eprintln!("accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let room = Arc::clone(&room);
        // `Builder::spawn` returns the kernel's refusal (`clone(2)` failing
        // with EAGAIN: too many threads for `ulimit -u`, `kernel.threads-max`
        // or the pids cgroup; ENOMEM: no room for another stack, or too many
        // memory map areas, `vm.max_map_count`) where `thread::spawn` would
        // panic. The stream moves into the closure, so a refused spawn drops
        // it, which closes that client's connection.
        let spawned = thread::Builder::new().spawn(move || {
            if let Err(e) = member(&room, id, stream) {
                eprintln!("client {id}: {e}");
            }
            // Leaving: take this client out of the room. The socket is
            // closed when the last `Arc` of it is dropped (a sender may still
            // hold one for a moment).
            room.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        });
        if let Err(e) = spawned {
            eprintln!("cannot start a thread for client {id}: {e}");
        }
    }
}

/// One client's life, on its own thread: greet, join the room, then read
/// lines and hand each to every other member until the client leaves.
fn member(room: &Room, id: u64, stream: TcpStream) -> io::Result<()> {
    let peer = stream.peer_addr()?;
    // Small lines should leave at once, not wait for Nagle's algorithm to
    // gather more (see the chapter on TCP_NODELAY).
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let me = Arc::new(Member {
        peer,
        stream,
        writing: Mutex::new(()),
    });
    {
        // Join and greet as one step, holding this member's write lock: a
        // line another member sends from now on reaches this client, and only
        // after the greeting (a sender that finds it in the room waits for the
        // lock). Greeting first and joining after would lose the lines sent
        // in between; joining first without the lock could deliver a line
        // before the greeting.
        let _turn = me.writing.lock().unwrap_or_else(|e| e.into_inner());
        room.lock().unwrap_or_else(|e| e.into_inner()).insert(id, Arc::clone(&me));
        (&me.stream).write_all(format!("hello {peer}\n").as_bytes())?;
    }

    let mut reader = BufReader::new(&me.stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Sleeps in `read(2)` until bytes arrive; `read_until` keeps reading
        // until it has a `\n` or the client closed its side.
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            // End of file (`read` returned 0). A last line without `\n` is
            // dropped, as the protocol says.
            return Ok(());
        }
        let mut message = format!("{}: ", me.peer).into_bytes();
        message.extend_from_slice(&line);
        broadcast(room, id, &message);
    }
}

impl Member {
    /// Writes one whole message, blocking until the socket took all of it
    /// (or `WRITE_TIMEOUT` passed), while no other sender writes here.
    fn write_message(&self, message: &[u8]) -> io::Result<()> {
        let _turn = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        (&self.stream).write_all(message)
    }
}

/// Writes `message` to every member but `from`.
///
/// The room's lock is held only to copy the list of members: writing under
/// it would make every other sender wait for this one's writes.
fn broadcast(room: &Room, from: u64, message: &[u8]) {
    let others: Vec<(u64, Arc<Member>)> = room
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(id, _)| **id != from)
        .map(|(id, member)| (*id, Arc::clone(member)))
        .collect();
    for (id, member) in others {
        // A failed write (the client reset, or blocked longer than
        // WRITE_TIMEOUT) ends that client: shutting its socket down makes its
        // own thread's `read` return 0, and that thread removes it.
        if let Err(e) = member.write_message(message) {
            eprintln!("client {id}: {e}");
            let _ = member.stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
