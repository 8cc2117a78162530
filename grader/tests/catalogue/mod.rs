//! The catalogue of known-wrong programs. Each exercise's file lists its
//! mutants as data in `MUTANTS`, and the one test `every_mutant_is_caught`
//! proves that the hidden test meant to catch each mistake does catch it:
//! all the catalogues at once, built exercise by exercise and run side by
//! side (`util::assert_all_caught`). `SOCKLINGS_MUTANT=TEXT` runs only the
//! mutants whose `NN/name` contains TEXT (`03/` is exercise 03's catalogue).
//! A hidden test no mutant fails is a defect: it cannot fail, so it proves
//! nothing.

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

/// Every mutant of every exercise fails the hidden test meant to catch it.
/// One test for all of them, so that one exercise's builds overlap another's
/// runs, which are mostly waiting (one test per exercise, two at a time as
/// cargo test runs them, left the machine idle half of the time).
#[test]
fn every_mutant_is_caught() {
    crate::util::assert_all_caught(&[
        e01_bind_listen_accept::MUTANTS,
        e02_partial_recv::MUTANTS,
        e03_nonblocking_select::MUTANTS,
        e04_keepalive::MUTANTS,
        e05_disconnect_detection::MUTANTS,
        e06_udp_ordering::MUTANTS,
        e07_timeouts_and_retries::MUTANTS,
        e08_http_keepalive::MUTANTS,
        e09_unix_sockets::MUTANTS,
        e10_epoll_c10k::MUTANTS,
    ]);
}

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
