//! The project's own tests of `cargo xtask`: they run the real binary (with
//! assert_cmd), mostly in throwaway copies of the workspace.
//!
//! - `devcontainer`: the dev container installs every tool the book uses;
//! - `grade`: every format, from the solutions (full marks) and the stubs
//!   (zero), parses and has its consumer's fields; submissions are graded
//!   with the instructor's grader, and a hanging one still gets a complete
//!   report within the bound;
//! - `hostile_reports`: submissions that attack the report (forge it, kill
//!   the grader, flood it, name files to break markup, or are stopped by
//!   SIGTERM) leave the grader's own report on disk, true and bounded;
//! - `hostile_sandbox`: submissions that attack the grade (links into the
//!   answers, reading or running them, daemons, endless output) score 0 and
//!   leave nothing behind;
//! - `no_user_namespaces`: 04 and 05 pass, nothing skipped, where user
//!   namespaces are refused (as in Docker);
//! - `reset`: the stub comes back byte for byte and the learner's version is kept;
//! - `skips`: what a machine cannot run is said at the top of `check`, and
//!   an exercise passed with tests skipped is not done;
//! - `setups`: the Classroom workflow, Gradescope scripts and GitLab job of
//!   docs/src/instructors.md parse, and grade once with no credentials;
//! - `watch`: a saved change is checked again, and a pass moves on.

mod util;

mod devcontainer;
mod grade;
mod hostile_reports;
mod hostile_sandbox;
mod no_user_namespaces;
mod reset;
mod setups;
mod skips;
mod watch;
