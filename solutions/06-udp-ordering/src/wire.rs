//! The wire format: what one datagram of our protocol looks like.
//!
//! UDP keeps message boundaries: one `send_to` (sendto(2)) becomes one
//! datagram, and one `recv_from` (recvfrom(2)) returns exactly one datagram,
//! never half of one and never two glued together. So, unlike a TCP stream,
//! a datagram needs no length prefix. What UDP does *not* give is order and
//! reliability: datagrams may arrive late, twice, or never. The header
//! therefore carries what the receiver needs to repair that, a sequence number.
//!
//! ```text
//!  byte 0     bytes 1-2                   bytes 3..
//! +------+---------------------------+--------------------------+
//! | 'D'  | sequence number, u16 BE   | payload, 0..=65 504 bytes |   data
//! +------+---------------------------+--------------------------+
//! | 'A'  | sequence number, u16 BE   |                               acknowledgement (part 2)
//! +------+---------------------------+
//! ```
//!
//! Sequence numbers are 16 bits, so they wrap around: after 65 535 comes 0.
//! [`seq_distance`] compares them the way TCP compares its 32-bit ones
//! (serial number arithmetic, RFC 1982).

/// The first byte of a data datagram.
pub const DATA: u8 = b'D';
/// The first byte of an acknowledgement.
pub const ACK: u8 = b'A';
/// Kind byte plus sequence number.
pub const HEADER_LEN: usize = 3;
/// The largest UDP payload over IPv4: 65 535 bytes (the IP packet's length
/// field) minus 20 for the IPv4 header and 8 for the UDP header. A datagram
/// can never be larger, so a receive buffer this big never truncates one.
pub const MAX_DATAGRAM: usize = 65_507;
/// The largest message payload: what is left after our own header.
pub const MAX_PAYLOAD: usize = MAX_DATAGRAM - HEADER_LEN;

/// A datagram that passed [`decode`], borrowing the receive buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Datagram<'a> {
    Data { seq: u16, payload: &'a [u8] },
    Ack { seq: u16 },
}

/// Builds a data datagram: header, then the payload.
pub fn encode_data(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.push(DATA);
    // Network byte order (big-endian), so that both ends agree whatever CPU
    // they run on.
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Builds an acknowledgement of `seq`.
pub fn encode_ack(seq: u16) -> [u8; HEADER_LEN] {
    let [hi, lo] = seq.to_be_bytes();
    [ACK, hi, lo]
}

/// Parses one received datagram; `None` when it is not one of ours.
///
/// Anybody can send anything to a UDP port: a datagram may be empty, cut
/// short, or from another program. A receiver checks the length before it
/// indexes into the bytes, and counts and skips what does not parse, instead
/// of panicking.
pub fn decode(bytes: &[u8]) -> Option<Datagram<'_>> {
    if bytes.len() < HEADER_LEN {
        return None;
    }
    let seq = u16::from_be_bytes([bytes[1], bytes[2]]);
    match bytes[0] {
        DATA => Some(Datagram::Data {
            seq,
            payload: &bytes[HEADER_LEN..],
        }),
        ACK if bytes.len() == HEADER_LEN => Some(Datagram::Ack { seq }),
        _ => None,
    }
}

/// How far `to` lies ahead of `from` (negative: behind), with wraparound.
///
/// The 16-bit difference `to - from`, taken modulo 65 536 and read as a
/// *signed* number, is the shortest way round the circle: 2 - 65 534 is 4
/// (2 lies four steps after 65 534), not -65 532. This holds as long as the
/// two numbers are less than half the circle (32 768) apart, which the window
/// guarantees.
pub fn seq_distance(from: u16, to: u16) -> i32 {
    to.wrapping_sub(from) as i16 as i32
}
