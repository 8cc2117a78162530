//! The catalogue of known-wrong programs. Each exercise's file lists its
//! mutants; each mutant is one `#[test]` that proves the hidden test meant to
//! catch that mistake does catch it. A hidden test no mutant fails is a
//! defect: it cannot fail, so it proves nothing.

mod e01_bind_listen_accept;
mod e02_partial_recv;
mod e03_nonblocking_select;
mod e04_keepalive;
mod e05_disconnect_detection;
mod e06_udp_ordering;
