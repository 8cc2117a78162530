//! `json`: socklings' own report, documented in docs/src/instructors.md
//! ("The json format"). `format_version` changes whenever a field changes meaning.

use super::Json;
use crate::grade::{Grade, build_log};

pub fn render(grade: &Grade) -> Json {
    let exercises = grade
        .exercises
        .iter()
        .map(|graded| {
            let report = &graded.report;
            let tests = report
                .tests
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Json::Obj(vec![
                        ("id", Json::str(&t.id)),
                        ("scenario", Json::str(t.scenario)),
                        ("status", Json::str(graded.test_key(i))),
                        ("points", Json::Int(t.points.into())),
                        ("max_points", Json::Int(t.max_points.into())),
                        ("duration_ms", Json::Int(t.duration.as_millis() as i64)),
                        ("summary", Json::str(&t.summary)),
                        ("docs", Json::str(&t.docs)),
                        ("transcript", Json::str(&t.transcript)),
                    ])
                })
                .collect();
            Json::Obj(vec![
                ("id", Json::str(&report.exercise.id)),
                ("title", Json::str(&report.exercise.title)),
                ("status", Json::str(graded.status_word().replace(' ', "_"))),
                ("points", Json::Int(graded.score().into())),
                ("max_points", Json::Int(graded.max_score().into())),
                ("build_duration_ms", Json::Int(graded.build_duration.as_millis() as i64)),
                ("build_output", build_log(report).map_or(Json::Null, Json::str)),
                ("tests", Json::Arr(tests)),
            ])
        })
        .collect();
    Json::Obj(vec![
        ("format_version", Json::Int(2)),
        ("status", Json::str(grade.state.key())),
        ("status_message", Json::str(grade.state.sentence())),
        ("exit_code", grade.state.exit_code().map_or(Json::Null, |c| Json::Int(c.into()))),
        ("graded", Json::str(&grade.graded)),
        ("seed", Json::Int(grade.seed as i64)),
        ("require_all", Json::Bool(grade.require_all)),
        ("points", Json::Int(grade.score().into())),
        ("max_points", Json::Int(grade.max_score().into())),
        ("duration_ms", Json::Int(grade.duration.as_millis() as i64)),
        ("bound_ms", Json::Int(grade.bound.as_millis() as i64)),
        ("warnings", Json::Arr(grade.warnings.iter().map(Json::str).collect())),
        ("exercises", Json::Arr(exercises)),
    ])
}
