//! The hidden tests, one module per exercise. Adding an exercise adds one
//! module here and one line to `ALL`.

use crate::registry::TestCase;

pub mod e01_bind_listen_accept;
pub mod e04_keepalive;
pub mod e05_disconnect_detection;

/// Every exercise's tests, by exercise id (as in `exercises.toml`).
pub static ALL: &[(&str, &[TestCase])] = &[
    ("01-bind-listen-accept", e01_bind_listen_accept::TESTS),
    ("04-keepalive", e04_keepalive::TESTS),
    ("05-disconnect-detection", e05_disconnect_detection::TESTS),
];
