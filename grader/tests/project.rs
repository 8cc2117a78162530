//! The project's own tests of the grader: one test binary (as ripgrep's
//! `tests/tests.rs` does), with helpers in `util.rs`.
//!
//! - `references`: every stub reads "not started", every solution passes;
//! - `contracts`: every clause of every task has a hidden test and a mutant;
//! - `catalogue`: every known-wrong program fails the hidden test it should;
//! - `harness`: hung and forking programs end within their limit, leaving nothing;
//! - `sandbox`: every wall the sandbox reports in force stands around a program;
//! - `docs`: the book's links, anchors and shell sessions, and its claims about sockets.

mod util;

mod catalogue;
mod contracts;
mod docs;
mod harness;
mod references;
mod sandbox;
