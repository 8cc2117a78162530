//! The catalogue of known-wrong programs. Each exercise's file lists its
//! mutants in `MUTANTS`, and its one test `every_mutant_is_caught` proves
//! that the hidden test meant to catch each mistake does catch it (mutants
//! are built one by one and run side by side: `util::assert_all_caught`;
//! `SOCKLINGS_MUTANT=NAME` runs only those whose name contains NAME). A hidden test no mutant fails is a
//! defect: it cannot fail, so it proves nothing.

mod e01_bind_listen_accept;
mod e02_partial_recv;
mod e03_nonblocking_select;
mod e04_keepalive;
mod e05_disconnect_detection;
mod e06_udp_ordering;
mod e07_timeouts_and_retries;
mod e08_http_keepalive;
mod e09_unix_sockets;
mod e10_epoll_c10k;

/// Every hidden test is the `caught_by` of some mutant in its exercise's
/// catalogue file, so no hidden test goes unproven. (Each mutant's own test
/// then shows that it really fails that test.)
#[test]
fn every_hidden_test_has_a_mutant() {
    let mut unproven = Vec::new();
    for exercise in &crate::util::manifest().exercises {
        let file = format!("e{}_{}.rs", exercise.number(), exercise.slug().replace('-', "_"));
        let path = crate::util::root().join("grader/tests/catalogue").join(&file);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for case in grader::registry::tests_for(&exercise.id).unwrap_or(&[]) {
            if !text.contains(&format!("caught_by: \"{}\"", case.id)) {
                unproven.push(format!(
                    "{}.{} (add a mutant to grader/tests/catalogue/{file})",
                    exercise.number(),
                    case.id
                ));
            }
        }
    }
    assert!(
        unproven.is_empty(),
        "hidden tests that no known-wrong program fails:\n{}",
        unproven.join("\n")
    );
}
