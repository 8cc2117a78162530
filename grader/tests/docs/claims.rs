//! The book's statements about how sockets behave, each checked here on real
//! loopback sockets. A chapter names the test that backs a shell session or a
//! table with `<!-- checked-by: NAME -->`.
//!
//! Every wait is bounded: sockets get a 10 s read timeout, and polls have a
//! deadline, so a wrong kernel fails a test instead of hanging it.

use socket2::{Domain, SockAddr, SockRef, Socket, TcpKeepalive, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(10);

/// A connected pair over loopback: (client, server).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    for s in [&client, &server] {
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s.set_write_timeout(Some(PATIENCE)).unwrap();
    }
    (client, server)
}

/// After the peer closes its sending side (a FIN), `read` returns `Ok(0)`,
/// and keeps returning it.
#[test]
fn read_returns_zero_after_the_peer_closes() {
    let (client, mut server) = pair();
    client.shutdown(Shutdown::Write).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(server.read(&mut buf).unwrap(), 0, "a FIN reads as 0 bytes");
    assert_eq!(server.read(&mut buf).unwrap(), 0, "and again: the end of a stream stays the end");
}

/// A half-closed connection still carries data the other way: the client says
/// "I am done sending" and still reads the server's answer.
#[test]
fn half_close_still_delivers_the_other_way() {
    let (mut client, mut server) = pair();
    client.write_all(b"question").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"question");
    server.write_all(b"answer").unwrap();
    drop(server);
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).unwrap();
    assert_eq!(answer, b"answer");
}

/// A peer that closes with `SO_LINGER` set to 0 sends a reset (RST) instead of
/// a FIN; the other side's `read` fails with `ECONNRESET`.
#[test]
fn a_reset_reads_as_connection_reset() {
    let (mut client, server) = pair();
    SockRef::from(&server).set_linger(Some(Duration::ZERO)).unwrap();
    drop(server);
    let err = client.read(&mut [0u8; 16]).expect_err("a reset is an error, not an end of stream");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert_eq!(err.raw_os_error(), Some(104), "ECONNRESET is os error 104 on Linux");
}

/// Writing to a peer that has closed: the first write is accepted (the kernel
/// cannot know yet), the peer answers it with a reset, and a later write fails
/// with `EPIPE` (`ErrorKind::BrokenPipe`). Rust ignores SIGPIPE, so it is an
/// error and not the end of the process.
#[test]
fn writing_after_the_peer_closed_fails_with_broken_pipe() {
    let (client, mut server) = pair();
    drop(client);
    assert_eq!(server.read(&mut [0u8; 16]).unwrap(), 0, "the FIN arrives first");
    assert_eq!(server.write(b"x").unwrap(), 1, "the first write after the peer's close is accepted");
    let deadline = Instant::now() + PATIENCE;
    let err = loop {
        match server.write(b"x") {
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(_) => panic!("writes kept succeeding for {PATIENCE:?} after the peer closed"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
}

/// Writing after your own `shutdown(Write)` fails with `EPIPE` at once.
#[test]
fn writing_after_your_own_shutdown_is_a_broken_pipe() {
    let (mut client, _server) = pair();
    client.shutdown(Shutdown::Write).unwrap();
    let err = client.write(b"late").expect_err("no writes after shutdown(Write)");
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
}

/// Connecting to a port where a socket is bound but nobody listens is refused
/// (the kernel answers the SYN with a reset).
#[test]
fn connecting_where_nobody_listens_is_refused() {
    let holder = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    holder.bind(&SockAddr::from("127.0.0.1:0".parse::<SocketAddr>().unwrap())).unwrap();
    let addr = holder.local_addr().unwrap().as_socket().unwrap();
    let err = TcpStream::connect(addr).expect_err("bound but not listening");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

/// The kernel completes handshakes for a listening socket before the program
/// calls `accept`: `connect` returns as soon as `listen` has been called.
#[test]
fn the_kernel_accepts_connections_before_accept() {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&SockAddr::from("127.0.0.1:0".parse::<SocketAddr>().unwrap())).unwrap();
    socket.listen(8).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Only now does the program take them, in the order they arrived.
    for client in &clients {
        let (_, from) = socket.accept().unwrap();
        assert_eq!(from.as_socket(), client.local_addr().ok());
    }
}

/// Two live listeners cannot share a port, even with `SO_REUSEADDR`.
#[test]
fn a_second_listener_on_the_same_port_gets_eaddrinuse() {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = TcpListener::bind(first.local_addr().unwrap()).expect_err("the port is taken");
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
}

/// std's `TcpListener::bind` sets `SO_REUSEADDR` for you on Unix.
#[cfg(unix)]
#[test]
fn std_listener_sets_so_reuseaddr() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(SockRef::from(&listener).reuse_address().unwrap());
}

/// New TCP sockets have Nagle's algorithm on (`TCP_NODELAY` off) and
/// keepalive off.
#[test]
fn nodelay_and_keepalive_are_off_by_default() {
    let (client, server) = pair();
    for s in [&client, &server] {
        assert!(!s.nodelay().unwrap(), "TCP_NODELAY is off by default");
        assert!(!SockRef::from(s).keepalive().unwrap(), "SO_KEEPALIVE is off by default");
    }
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
}

/// On Linux a socket accepted from a listener inherits the listener's
/// keepalive settings.
#[cfg(target_os = "linux")]
#[test]
fn accepted_sockets_inherit_keepalive_from_the_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let keepalive = TcpKeepalive::new().with_time(Duration::from_secs(7));
    SockRef::from(&listener).set_tcp_keepalive(&keepalive).unwrap();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let server = SockRef::from(&server);
    assert!(server.keepalive().unwrap());
    assert_eq!(server.tcp_keepalive_time().unwrap(), Duration::from_secs(7));
}

/// Linux doubles the `SO_RCVBUF` and `SO_SNDBUF` you ask for (the extra half
/// is for its own bookkeeping), and `getsockopt` reports the doubled value.
#[cfg(target_os = "linux")]
#[test]
fn linux_doubles_the_buffer_sizes_you_ask_for() {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(65536).unwrap();
    socket.set_send_buffer_size(65536).unwrap();
    assert_eq!(socket.recv_buffer_size().unwrap(), 131072);
    assert_eq!(socket.send_buffer_size().unwrap(), 131072);
}

/// A stream keeps no message boundaries: two writes can arrive as one read,
/// and one write can be read in pieces.
#[test]
fn a_stream_does_not_keep_message_boundaries() {
    let (mut client, server) = pair();
    client.set_nodelay(true).unwrap();
    client.write_all(b"ab").unwrap();
    client.write_all(b"cd").unwrap();
    // Wait until both writes have arrived, then read them with one call.
    let deadline = Instant::now() + PATIENCE;
    while server.peek(&mut [0u8; 16]).unwrap() < 4 {
        assert!(Instant::now() < deadline, "4 bytes did not arrive within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut server = server;
    let mut buf = [0u8; 16];
    let n = server.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"abcd", "two writes, one read");
    client.write_all(b"wxyz").unwrap();
    let mut small = [0u8; 2];
    server.read_exact(&mut small).unwrap();
    assert_eq!(&small, b"wx", "one write, read in pieces");
    server.read_exact(&mut small).unwrap();
    assert_eq!(&small, b"yz");
}

/// UDP keeps each datagram whole: one `send` is one `recv`, and a buffer too
/// small for a datagram loses the rest of it.
#[test]
fn udp_keeps_message_boundaries_and_truncates() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(PATIENCE)).unwrap();
    let to = b.local_addr().unwrap();
    a.send_to(b"ab", to).unwrap();
    a.send_to(b"cd", to).unwrap();
    a.send_to(b"hello", to).unwrap();
    a.send_to(b"next", to).unwrap();
    let recv = |size: usize| {
        let mut buf = vec![0u8; size];
        let n = b.recv(&mut buf).unwrap();
        buf.truncate(n);
        buf
    };
    assert_eq!(recv(64), b"ab");
    assert_eq!(recv(64), b"cd");
    assert_eq!(recv(2), b"he", "a 2-byte buffer gets the first 2 bytes of `hello`");
    assert_eq!(recv(64), b"next", "and the rest of `hello` is gone");
}

/// A read with a timeout and no data fails with `WouldBlock` (EAGAIN) after
/// the timeout, not before.
#[test]
fn a_read_timeout_fails_with_would_block() {
    let (mut client, _server) = pair();
    client.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let started = Instant::now();
    let err = client.read(&mut [0u8; 16]).expect_err("no data came");
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(190), "{:?}", started.elapsed());
}

/// A non-blocking read with no data fails with `WouldBlock` instead of waiting.
#[test]
fn a_non_blocking_read_fails_with_would_block() {
    let (mut client, _server) = pair();
    client.set_nonblocking(true).unwrap();
    let started = Instant::now();
    let err = client.read(&mut [0u8; 16]).expect_err("no data came");
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    // It does not wait for the 10 s read timeout (the margin is for a loaded machine).
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

/// Network byte order is big-endian: the most significant byte goes first.
/// The port inside a `sockaddr_in` is stored that way.
#[test]
fn ports_are_stored_in_network_byte_order() {
    assert_eq!(0x0102_0304u32.to_be_bytes(), [1, 2, 3, 4]);
    assert_eq!(0x0102_0304u32.to_le_bytes(), [4, 3, 2, 1]);
    assert_eq!(7878u16.to_be_bytes(), [0x1e, 0xc6]);
    let addr = SockAddr::from("127.0.0.1:7878".parse::<SocketAddr>().unwrap());
    // SAFETY: `as_ptr` points to `len` initialised bytes owned by `addr`.
    let raw = unsafe { std::slice::from_raw_parts(addr.as_ptr().cast::<u8>(), addr.len() as usize) };
    // struct sockaddr_in { sa_family_t family (2 bytes); in_port_t port; struct in_addr addr; ... }
    assert_eq!(&raw[2..4], &[0x1e, 0xc6], "sin_port holds 7878 big-endian");
    assert_eq!(&raw[4..8], &[127, 0, 0, 1], "sin_addr holds 127.0.0.1 in order");
}

/// Nagle's algorithm holds back a second small write until the first is
/// acknowledged, and the receiver delays that acknowledgement (about 40 ms on
/// Linux): a request sent in two small writes waits. `TCP_NODELAY` sends at once.
/// Only the lower bound is asserted, because a loaded machine can make any
/// round trip slow.
#[cfg(target_os = "linux")]
#[test]
fn nagle_delays_a_second_small_write() {
    const REQUESTS: u32 = 10;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut request = [0u8; 10];
            while s.read_exact(&mut request).is_ok() {
                s.write_all(b"!").unwrap();
            }
        }
    });
    let mut timings = Vec::new();
    for nodelay in [false, true] {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(PATIENCE)).unwrap();
        c.set_nodelay(nodelay).unwrap();
        let started = Instant::now();
        for _ in 0..REQUESTS {
            c.write_all(b"HEAD:").unwrap();
            c.write_all(b"BODY!").unwrap();
            c.read_exact(&mut [0u8; 1]).unwrap();
        }
        timings.push(started.elapsed());
    }
    server.join().unwrap();
    eprintln!(
        "{REQUESTS} write-write-read requests: Nagle {:?}, TCP_NODELAY {:?}",
        timings[0], timings[1]
    );
    assert!(
        timings[0] >= Duration::from_millis(30) * (REQUESTS - 2),
        "with Nagle, expected at least ~40 ms per request, got {:?} for {REQUESTS}",
        timings[0]
    );
}

/// Exponential backoff as the book's timeouts chapter tabulates it: start at
/// 100 ms, double each time, never above the cap.
#[test]
fn backoff_doubles_up_to_a_cap() {
    fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
        base.saturating_mul(2u32.saturating_pow(attempt)).min(cap)
    }
    let delays: Vec<u128> = (0..7)
        .map(|n| backoff(n, Duration::from_millis(100), Duration::from_secs(5)).as_millis())
        .collect();
    assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000]);
}

/// An IPv6 socket (without `IPV6_V6ONLY`, Linux's default) also talks IPv4:
/// it sees an IPv4 client as the mapped address `::ffff:127.0.0.1`.
#[cfg(target_os = "linux")]
#[test]
fn an_ipv6_socket_sees_ipv4_clients_as_mapped_addresses() {
    let Ok(listener) = TcpListener::bind("[::ffff:127.0.0.1]:0") else {
        eprintln!("no IPv6 on this machine: nothing to check");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_, peer) = listener.accept().unwrap();
    assert_eq!(
        peer.to_string(),
        format!("[::ffff:127.0.0.1]:{}", client.local_addr().unwrap().port())
    );
}

/// `connect` on a UDP socket sends nothing; it sets the default destination
/// and makes the socket ignore datagrams from anyone else.
#[test]
fn a_connected_udp_socket_hears_only_its_peer() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket.connect(peer.local_addr().unwrap()).unwrap();
    stranger.send_to(b"from a stranger", socket.local_addr().unwrap()).unwrap();
    peer.send_to(b"from the peer", socket.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 64];
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from the peer");
}

/// A `BufWriter` makes no system call until its buffer fills, it is flushed,
/// or it is dropped: before `flush` the peer has nothing to read.
#[test]
fn a_bufwriter_sends_nothing_until_flush() {
    let (client, mut server) = pair();
    let mut writer = std::io::BufWriter::new(client);
    writer.write_all(b"hello\n").unwrap();
    server.set_nonblocking(true).unwrap();
    let err = server.read(&mut [0u8; 16]).expect_err("nothing was sent yet");
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    writer.flush().unwrap();
    server.set_nonblocking(false).unwrap();
    let mut got = [0u8; 6];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello\n");
}

/// A `BufReader` reads ahead: after `read_line` returns the first line, the
/// second is already in the reader's buffer, and the socket itself is empty.
#[test]
fn a_bufreader_reads_ahead() {
    let (mut client, server) = pair();
    client.write_all(b"one\ntwo\n").unwrap();
    let deadline = Instant::now() + PATIENCE;
    while server.peek(&mut [0u8; 16]).unwrap() < 8 {
        assert!(Instant::now() < deadline, "8 bytes did not arrive within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut reader = std::io::BufReader::new(server.try_clone().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert_eq!(line, "one\n");
    assert_eq!(reader.buffer(), b"two\n", "the next line waits in the BufReader");
    server.set_nonblocking(true).unwrap();
    let err = (&server).read(&mut [0u8; 16]).expect_err("the socket has nothing left");
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
}

/// Closing a socket whose received data was never read sends a reset, not a
/// FIN: the peer's next read fails with `ECONNRESET`.
#[test]
fn closing_with_unread_data_sends_a_reset() {
    let (mut client, server) = pair();
    client.write_all(b"never read").unwrap();
    let deadline = Instant::now() + PATIENCE;
    while server.peek(&mut [0u8; 16]).unwrap() < 10 {
        assert!(Instant::now() < deadline, "the data did not arrive within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(server);
    let err = client.read(&mut [0u8; 16]).expect_err("a reset, not an end of stream");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}

/// When the receiver does not read, its receive buffer and the sender's send
/// buffer fill up, and then the sender cannot write any more (a blocking
/// write would wait; a non-blocking one fails with `WouldBlock`).
#[test]
fn a_reader_that_does_not_read_stops_the_writer() {
    let (client, _server) = pair();
    client.set_nonblocking(true).unwrap();
    let chunk = [0u8; 65536];
    let mut total = 0usize;
    let deadline = Instant::now() + PATIENCE;
    let err = loop {
        match (&client).write(&chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break e,
            Err(e) => panic!("{e}"),
        }
        assert!(Instant::now() < deadline, "{total} bytes written and no end in sight");
    };
    eprintln!("{total} bytes fit before the writer had to wait ({err})");
    assert!(total > 0 && total < 256 << 20, "{total}");
}
