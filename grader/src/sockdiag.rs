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

/// The inodes of the sockets on this machine that are connecting to `addr`
/// (state SYN-SENT: a `connect` under way), IPv4 sockets and IPv6 ones
/// connecting to the IPv4-mapped address alike. The kernel lists only the
/// sockets in that state, so the answer stays cheap however many
/// connections other tests hold.
pub fn syn_sent_to(addr: SocketAddr) -> Vec<u64> {
    #[cfg(target_os = "linux")]
    if let Some(found) = linux::syn_sent_to(addr) {
        return found;
    }
    syn_sent_from_proc(addr)
}

/// [`syn_sent_to`] from `/proc/net/tcp` and `/proc/net/tcp6`, whose
/// addresses are hex: the IPv4 address as the kernel stores it (network
/// byte order read as a little-endian number), then the port.
fn syn_sent_from_proc(addr: SocketAddr) -> Vec<u64> {
    let SocketAddr::V4(v4) = addr else { return Vec::new() };
    let ip = format!("{:08X}", u32::from_le_bytes(v4.ip().octets()));
    let wanted = [
        ("/proc/net/tcp", format!("{ip}:{:04X}", v4.port())),
        ("/proc/net/tcp6", format!("0000000000000000FFFF0000{ip}:{:04X}", v4.port())),
    ];
    let mut inodes = Vec::new();
    for (file, wanted) in &wanted {
        let Ok(table) = std::fs::read_to_string(file) else { continue };
        for line in table.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl, local_address, rem_address, st (02: SYN-SENT), ..., inode (10th).
            if fields.get(2) == Some(&wanted.as_str())
                && fields.get(3) == Some(&"02")
                && let Some(inode) = fields.get(9).and_then(|i| i.parse().ok())
            {
                inodes.push(inode);
            }
        }
    }
    inodes
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
        // The socket's id: ports and addresses in network byte order, the
        // interface (any), and a cookie of all ones (INET_DIAG_NOCOOKIE: do
        // not check it). Without NLM_F_DUMP the kernel looks up exactly
        // this one socket.
        let mut id = Vec::with_capacity(48);
        id.extend_from_slice(&local.port().to_be_bytes());
        id.extend_from_slice(&remote.port().to_be_bytes());
        id.extend_from_slice(&address(local.ip()));
        id.extend_from_slice(&address(remote.ip()));
        id.extend_from_slice(&0u32.to_ne_bytes());
        id.extend_from_slice(&u32::MAX.to_ne_bytes());
        id.extend_from_slice(&u32::MAX.to_ne_bytes());
        let family = if local.is_ipv4() { AF_INET } else { AF_INET6 };
        let (socket, request) = (netlink()?, request(family, NLM_F_REQUEST, u32::MAX, &id));
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
        // retrans (4), id (48: sport, dport, ...), expires (4), rqueue (4),
        // wqueue (4), ...
        // The kernel looks the id up as an arriving segment would be: when
        // no connection has these addresses (it was reset or closed), the
        // listener on the local port answers. That is not the socket asked
        // for (its queues are the accept queue and the backlog).
        let dport = u16::from_be_bytes([*reply.get(16 + 6)?, *reply.get(16 + 7)?]);
        if dport != remote.port() {
            return Some(None);
        }
        let field = |at: usize| -> Option<u64> {
            let at = 16 + at;
            Some(u32::from_ne_bytes(reply.get(at..at + 4)?.try_into().ok()?) as u64)
        };
        Some(Some(Queues {
            unread: field(56)?,
            unsent: field(60)?,
        }))
    }

    const NLM_F_DUMP: u16 = 0x300;
    const NLMSG_DONE: u16 = 3;
    const TCP_SYN_SENT: u32 = 2;

    /// The sockets in state SYN-SENT towards `addr`, from a dump of each
    /// family filtered by state in the kernel; `None` when the interface is
    /// unavailable.
    pub fn syn_sent_to(addr: SocketAddr) -> Option<Vec<u64>> {
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return None;
        }
        let SocketAddr::V4(v4) = addr else { return Some(Vec::new()) };
        let mapped = v4.ip().to_ipv6_mapped().octets();
        let mut wanted_v4 = [0u8; 16];
        wanted_v4[..4].copy_from_slice(&v4.ip().octets());
        let mut inodes = Vec::new();
        for (family, wanted) in [(AF_INET, wanted_v4), (AF_INET6, mapped)] {
            let Some(found) = dump_syn_sent(family, v4.port(), &wanted) else {
                UNAVAILABLE.store(true, Ordering::Relaxed);
                return None;
            };
            inodes.extend(found);
        }
        Some(inodes)
    }

    fn dump_syn_sent(family: u8, port: u16, wanted: &[u8; 16]) -> Option<Vec<u64>> {
        // A dump: every socket of the family in the states asked for (here
        // SYN-SENT only); the id is not used.
        let socket = netlink()?;
        let request = request(family, NLM_F_REQUEST | NLM_F_DUMP, 1 << TCP_SYN_SENT, &[0u8; 48]);
        socket.send(&request).ok()?;
        let mut found = Vec::new();
        let mut buffer = [MaybeUninit::<u8>::uninit(); 32 * 1024];
        loop {
            let n = socket.recv(&mut buffer).ok()?;
            // SAFETY: recv initialised the first n bytes.
            let chunk: Vec<u8> = buffer[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
            let mut at = 0;
            while at + 16 <= chunk.len() {
                let len = u32::from_ne_bytes(chunk[at..at + 4].try_into().ok()?) as usize;
                let kind = u16::from_ne_bytes([chunk[at + 4], chunk[at + 5]]);
                if len < 16 || at + len > chunk.len() {
                    return None;
                }
                match kind {
                    NLMSG_DONE => return Some(found),
                    NLMSG_ERROR => return None,
                    SOCK_DIAG_BY_FAMILY => {
                        // inet_diag_msg: family, state, timer, retrans, then
                        // the id: sport, dport (network order), src, dst;
                        // then expires, rqueue, wqueue, uid, inode.
                        let msg = &chunk[at + 16..at + len];
                        if msg.len() >= 72
                            && msg[1] as u32 == TCP_SYN_SENT
                            && u16::from_be_bytes([msg[6], msg[7]]) == port
                            && msg[24..40] == wanted[..]
                        {
                            found.push(u32::from_ne_bytes(msg[68..72].try_into().ok()?) as u64);
                        }
                    }
                    _ => {}
                }
                at += (len + 3) & !3;
            }
        }
    }

    fn netlink() -> Option<Socket> {
        Socket::new(Domain::from(AF_NETLINK), Type::DGRAM, Some(Protocol::from(NETLINK_SOCK_DIAG))).ok()
    }

    /// `struct nlmsghdr` (16 bytes), then `struct inet_diag_req_v2` (56):
    /// family, protocol, extensions, pad, the states wanted (a bit per
    /// state), and the socket's id (48 bytes).
    fn request(family: u8, flags: u16, states: u32, id: &[u8]) -> Vec<u8> {
        let mut request = Vec::with_capacity(72);
        request.extend_from_slice(&72u32.to_ne_bytes());
        request.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        request.extend_from_slice(&flags.to_ne_bytes());
        request.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
        request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
        request.push(family);
        request.push(IPPROTO_TCP);
        request.push(0);
        request.push(0);
        request.extend_from_slice(&states.to_ne_bytes());
        request.extend_from_slice(id);
        debug_assert_eq!(request.len(), 72);
        request
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
        // Nothing connects to the listener's address now.
        assert!(syn_sent_to(listener.local_addr().unwrap()).is_empty());
        // A pair that does not exist.
        let nowhere: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(tcp_queues(nowhere, remote), None);
        // A connection reset (no TIME-WAIT) is gone at once, although a
        // listener still has its local address: the listener is not it.
        socket2::SockRef::from(&server).set_linger(Some(Duration::ZERO)).unwrap();
        drop(server);
        assert!(tcp_queues(local, remote).is_none(), "a reset connection answered as the listener");
    }

    /// A `connect` to a listener whose socket filter drops SYNs stays in
    /// SYN-SENT, and both ways of asking find it.
    #[test]
    fn a_hanging_connect_is_seen_in_syn_sent() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        crate::fixtures::vanish::vanish(&listener).unwrap();
        let addr = listener.local_addr().unwrap();
        let connecting = std::thread::spawn(move || TcpStream::connect_timeout(&addr, Duration::from_millis(1500)));
        let deadline = Instant::now() + Duration::from_secs(1);
        while syn_sent_to(addr).is_empty() {
            assert!(Instant::now() < deadline, "no SYN-SENT socket towards {addr}");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(linux::syn_sent_to(addr).is_some_and(|found| found.len() == 1));
        assert_eq!(syn_sent_from_proc(addr), syn_sent_to(addr));
        assert!(connecting.join().unwrap().is_err());
    }
}
