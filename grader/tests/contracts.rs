//! Every sentence of every task is checked: the chapter's numbered contract
//! (`### The contract` in `## The task`) is traced to the hidden tests that
//! check each clause and to a mutant that breaks it (see `grader::contract`).

use grader::contract;

/// Each exercise's chapter states its contract as numbered clauses; every
/// clause is checked by a hidden test and broken by a catalogue mutant;
/// every test names only clauses that exist; and the chapter's clause table
/// is the one generated from that data.
#[test]
fn every_clause_is_traced_to_a_test_and_a_mutant() {
    let mut problems = Vec::new();
    for exercise in &crate::util::manifest().exercises {
        let chapter_path = crate::util::root().join(&exercise.docs);
        let chapter = std::fs::read_to_string(&chapter_path).unwrap_or_default();
        let tests = grader::registry::tests_for(&exercise.id).unwrap_or(&[]);
        let clauses = match contract::clauses(&chapter) {
            Ok(clauses) => clauses,
            Err(e) => {
                problems.push(format!("{}: {e}", exercise.docs));
                continue;
            }
        };
        let catalogue_file = format!("e{}_{}.rs", exercise.number(), exercise.slug().replace('-', "_"));
        let catalogue =
            std::fs::read_to_string(crate::util::root().join("grader/tests/catalogue").join(&catalogue_file)).unwrap_or_default();
        for case in tests {
            if case.clauses.is_empty() {
                problems.push(format!("{}.{} names no clause it checks", exercise.number(), case.id));
            }
            for n in case.clauses {
                if !clauses.iter().any(|c| c.number == *n) {
                    problems.push(format!(
                        "{}.{} checks clause {n}, which {} does not have",
                        exercise.number(),
                        case.id,
                        exercise.docs
                    ));
                }
            }
        }
        for clause in &clauses {
            if !tests.iter().any(|t| t.clauses.contains(&clause.number)) {
                problems.push(format!(
                    "{} clause {} has no hidden test: \"{}\"",
                    exercise.id, clause.number, clause.text
                ));
            }
            if !catalogue.contains(&format!("clause: {},", clause.number)) {
                problems.push(format!(
                    "{} clause {} has no mutant in grader/tests/catalogue/{catalogue_file} that breaks it",
                    exercise.id, clause.number
                ));
            }
        }
        let generated = contract::map(&clauses, tests);
        if contract::current_map(&chapter) != Some(generated.as_str()) {
            problems.push(format!(
                "{}: the clause table under \"What the grader checks\" is not the generated one; put this there:\n{generated}",
                exercise.docs
            ));
        }
    }
    assert!(problems.is_empty(), "the contracts are not fully traced:\n{}", problems.join("\n"));
}
