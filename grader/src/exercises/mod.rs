//! The hidden tests, one module per exercise. Adding an exercise adds one
//! module here and one line to `ALL`.

use crate::registry::TestCase;

pub mod e01_bind_listen_accept;
pub mod e02_partial_recv;
pub mod e03_nonblocking_select;
pub mod e04_keepalive;
pub mod e05_disconnect_detection;
pub mod e06_udp_ordering;
pub mod e07_timeouts_and_retries;
pub mod e08_http_keepalive;
pub mod e09_unix_sockets;
pub mod e10_epoll_c10k;

/// Every exercise's tests, by exercise id (as in `exercises.toml`).
pub static ALL: &[(&str, &[TestCase])] = &[
    ("01-bind-listen-accept", e01_bind_listen_accept::TESTS),
    ("02-partial-recv", e02_partial_recv::TESTS),
    ("03-nonblocking-select", e03_nonblocking_select::TESTS),
    ("04-keepalive", e04_keepalive::TESTS),
    ("05-disconnect-detection", e05_disconnect_detection::TESTS),
    ("06-udp-ordering", e06_udp_ordering::TESTS),
    ("07-timeouts-and-retries", e07_timeouts_and_retries::TESTS),
    ("08-http-keepalive", e08_http_keepalive::TESTS),
    ("09-unix-sockets", e09_unix_sockets::TESTS),
    ("10-epoll-c10k", e10_epoll_c10k::TESTS),
];
