//! The project's own tests, in one test binary (as ripgrep's `tests/tests.rs`
//! is), so that libtest runs all of them side by side. Most of them wait (for
//! a timer, a program, a build), and `cargo test` runs one binary after the
//! other: two binaries, the grader's and the commands', cost their sum, one
//! costs their longest test (the catalogue). `.cargo/config.toml` sets how
//! many run at once.
//!
//! The grader's tests live beside the grader, in `grader/tests/`, and are
//! named here with `#[path]`; they are built into this binary, in the xtask
//! package, because the commands' tests need the xtask binary, which Cargo
//! hands only to its own package's tests.
//!
//! The grader's (helpers in `grader/tests/util.rs`):
//! - `catalogue`: every known-wrong program fails the hidden test it should;
//! - `contracts`: every clause of every task has a hidden test and a mutant;
//! - `docs`: the book's links, anchors and shell sessions, and its claims about sockets;
//! - `harness`: hung and forking programs end within their limit, leaving nothing;
//! - `references`: every stub reads "not started", every solution passes;
//! - `sandbox`: every wall the sandbox reports in force stands around a program.
//!
//! The commands' (`xtask/tests/commands/`, with helpers in `commands/util.rs`):
//! `commands`, described there.
//!
//! The catalogue's name sorts first, so libtest starts the longest test at once.

#[path = "../../grader/tests/util.rs"]
mod util;

#[path = "../../grader/tests/catalogue/mod.rs"]
mod catalogue;
#[path = "../../grader/tests/contracts.rs"]
mod contracts;
#[path = "../../grader/tests/docs/mod.rs"]
mod docs;
#[path = "../../grader/tests/harness.rs"]
mod harness;
#[path = "../../grader/tests/references.rs"]
mod references;
#[path = "../../grader/tests/sandbox.rs"]
mod sandbox;

mod commands;
