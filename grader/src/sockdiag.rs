//! What the kernel knows about one TCP connection, asked by its addresses:
//! the receive queue (bytes that arrived and the program has not read yet)
//! and the send queue. `ss -tn` shows the same two numbers as Recv-Q and
//! Send-Q.
//!
//! `/proc/net/tcp` lists the same figures, but for every socket of the
//! machine: with a thousand clients connected (exercise 03) or ten thousand
//! (exercise 10) each read is megabytes of text, and the re-slicing proxy of
//! exercise 02 asks after every segment it sends. The kernel's socket
//! diagnostics (`NETLINK_SOCK_DIAG`, the interface `ss` uses) answer for one
//! connection, looked up by its four addresses, in one round trip and
//! without any privilege. Where that interface is missing, the answer comes
//! from `/proc/net/tcp` as before.

use std::net::SocketAddr;

/// The queues of one TCP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queues {
    /// Bytes received and not yet read by the socket's owner.
    pub unread: u64,
    /// Bytes written and not yet acknowledged by the peer.
    pub unsent: u64,
}

/// The queues of the TCP socket whose own address is `local` and whose peer
/// is `remote`; `None` when there is no such socket (never opened, or
/// closed and gone).
pub fn tcp_queues(local: SocketAddr, remote: SocketAddr) -> Option<Queues> {
    #[cfg(target_os = "linux")]
    if let Some(answer) = linux::ask(local, remote) {
        return answer;
    }
    from_proc(local, remote)
}

/// The same figures from `/proc/net/tcp` (IPv4) or `/proc/net/tcp6`.
fn from_proc(local: SocketAddr, remote: SocketAddr) -> Option<Queues> {
    let path = if local.is_ipv4() { "/proc/net/tcp" } else { "/proc/net/tcp6" };
    let table = std::fs::read_to_string(path).ok()?;
    let port = |field: &str| field.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 5 {
            continue;
        }
        if port(fields[1]) == Some(local.port()) && port(fields[2]) == Some(remote.port()) {
            let mut queues = fields[4].split(':').map(|q| u64::from_str_radix(q, 16).ok());
            let unsent = queues.next()??;
            let unread = queues.next()??;
            return Some(Queues { unread, unsent });
        }
    }
    None
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Queues;
    use socket2::{Domain, Protocol, Socket, Type};
    use std::mem::MaybeUninit;
    use std::net::{IpAddr, SocketAddr};
    use std::sync::atomic::{AtomicBool, Ordering};

    const AF_NETLINK: i32 = 16;
    const NETLINK_SOCK_DIAG: i32 = 4;
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 1;
    const NLMSG_ERROR: u16 = 2;
    const AF_INET: u8 = 2;
    const AF_INET6: u8 = 10;
    const IPPROTO_TCP: u8 = 6;

    /// Set once the kernel turned the interface down, so later calls go
    /// straight to /proc.
    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

    /// `Some(answer)` when the kernel answered (the socket's queues, or no
    /// such socket); `None` when the interface is unavailable here.
    pub fn ask(local: SocketAddr, remote: SocketAddr) -> Option<Option<Queues>> {
        if UNAVAILABLE.load(Ordering::Relaxed) || local.is_ipv4() != remote.is_ipv4() {
            return None;
        }
        let answer = query(local, remote);
        if answer.is_none() {
            UNAVAILABLE.store(true, Ordering::Relaxed);
        }
        answer
    }

    fn query(local: SocketAddr, remote: SocketAddr) -> Option<Option<Queues>> {
        let socket = Socket::new(Domain::from(AF_NETLINK), Type::DGRAM, Some(Protocol::from(NETLINK_SOCK_DIAG))).ok()?;
        // struct nlmsghdr (16 bytes), then struct inet_diag_req_v2 (56):
        // family, protocol, extensions, pad, states, and the socket's id:
        // ports and addresses in network byte order, the interface, and a
        // cookie of all ones (INET_DIAG_NOCOOKIE: do not check it). Without
        // NLM_F_DUMP the kernel looks up exactly this one socket.
        let mut request = Vec::with_capacity(72);
        request.extend_from_slice(&72u32.to_ne_bytes());
        request.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        request.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        request.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
        request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
        request.push(if local.is_ipv4() { AF_INET } else { AF_INET6 });
        request.push(IPPROTO_TCP);
        request.push(0);
        request.push(0);
        request.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
        request.extend_from_slice(&local.port().to_be_bytes());
        request.extend_from_slice(&remote.port().to_be_bytes());
        request.extend_from_slice(&address(local.ip()));
        request.extend_from_slice(&address(remote.ip()));
        request.extend_from_slice(&0u32.to_ne_bytes()); // any interface
        request.extend_from_slice(&u32::MAX.to_ne_bytes());
        request.extend_from_slice(&u32::MAX.to_ne_bytes());
        debug_assert_eq!(request.len(), 72);
        socket.send(&request).ok()?;
        let mut buffer = [MaybeUninit::<u8>::uninit(); 8192];
        let n = socket.recv(&mut buffer).ok()?;
        // SAFETY: recv initialised the first n bytes.
        let reply: Vec<u8> = buffer[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
        if reply.len() < 16 {
            return None;
        }
        let kind = u16::from_ne_bytes([reply[4], reply[5]]);
        if kind == NLMSG_ERROR {
            // struct nlmsgerr: a negative errno. ENOENT: no such socket.
            let errno = i32::from_ne_bytes(reply.get(16..20)?.try_into().ok()?);
            return if errno == -2 { Some(None) } else { None };
        }
        if kind != SOCK_DIAG_BY_FAMILY {
            return None;
        }
        // struct inet_diag_msg after the header: family, state, timer,
        // retrans (4), id (48), expires (4), rqueue (4), wqueue (4), ...
        let field = |at: usize| -> Option<u64> {
            let at = 16 + at;
            Some(u32::from_ne_bytes(reply.get(at..at + 4)?.try_into().ok()?) as u64)
        };
        Some(Some(Queues {
            unread: field(56)?,
            unsent: field(60)?,
        }))
    }

    /// An address as `inet_diag_sockid` holds it: four 32-bit words, an IPv4
    /// address in the first.
    fn address(ip: IpAddr) -> [u8; 16] {
        let mut out = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => out.copy_from_slice(&v6.octets()),
        }
        out
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// Bytes written to a socket show in its peer's receive queue until the
    /// peer reads them, by either way of asking; a closed pair is gone.
    #[test]
    fn unread_bytes_follow_reads() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let (local, remote) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
        client.write_all(b"hello").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while tcp_queues(local, remote).map(|q| q.unread) != Some(5) {
            assert!(Instant::now() < deadline, "the receive queue never showed the 5 unread bytes");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(from_proc(local, remote).map(|q| q.unread), Some(5));
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(tcp_queues(local, remote).map(|q| q.unread), Some(0));
        assert!(linux::ask(local, remote).is_some(), "NETLINK_SOCK_DIAG should answer here");
        // A pair that does not exist.
        let nowhere: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(tcp_queues(nowhere, remote), None);
    }
}
