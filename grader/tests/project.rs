//! The project's own tests of the grader: one test binary (as ripgrep's
//! `tests/tests.rs` does), with helpers in `util.rs`.
//!
//! - `references`: every stub reads "not started", every solution passes;
//! - `catalogue`: every known-wrong program fails the hidden test it should;
//! - `harness`: hung and forking programs end within their limit, leaving nothing.

mod util;

mod catalogue;
mod harness;
mod references;
