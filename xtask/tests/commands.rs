//! The project's own tests of `cargo xtask`: they run the real binary (with
//! assert_cmd), mostly in throwaway copies of the workspace.
//!
//! - `grade`: every format, from the solutions (full marks) and the stubs
//!   (zero), parses and has its consumer's fields; submissions are graded
//!   with the instructor's grader, and a hanging one still gets a complete
//!   report within the bound;
//! - `hostile_sandbox`: submissions that attack the grade (links into the
//!   answers, reading or running them, daemons, endless output) score 0 and
//!   leave nothing behind;
//! - `reset`: the stub comes back byte for byte and the learner's version is kept;
//! - `watch`: a saved change is checked again, and a pass moves on.

mod util;

mod grade;
mod hostile_sandbox;
mod reset;
mod watch;
