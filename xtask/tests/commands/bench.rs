//! `cargo xtask bench` at small counts, in a throwaway copy of the workspace:
//! it measures every design whose crate is present, skips the others saying
//! so, and writes the table into the page and the chart beside it.

use super::util;
use std::time::Duration;

/// The benchmark's own target directory under target/.
const TARGET: &str = "xtask-bench";

/// The bench at 10 and 20 clients with a 100 ms chat: each design present
/// has a row per count, none stopped early, every message delivered; an
/// absent design is named as skipped; the page's table and the chart are
/// rewritten, and nothing else in the copy changes.
#[test]
#[cfg(target_os = "linux")]
fn bench_measures_every_design_present_at_small_counts() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path();
    util::copy_workspace(copy);
    let page = copy.join("docs/src/concepts/scaling-designs.md");
    let chart = copy.join("docs/src/bench-designs.svg");
    let page_before = std::fs::read_to_string(&page).unwrap();
    std::fs::remove_file(&chart).ok();
    let out = util::xtask(TARGET)
        .arg("--root")
        .arg(copy)
        .args(["bench", "--clients", "10,20", "--window-ms", "100"])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");

    let designs = [
        ("thread per client", "bench/thread-per-client"),
        ("poll (03)", "solutions/03-nonblocking-select"),
        ("epoll (10)", "solutions/10-epoll-c10k"),
    ];
    let page_after = std::fs::read_to_string(&page).unwrap();
    for (label, crate_dir) in designs {
        if copy.join(crate_dir).join("Cargo.toml").is_file() {
            for n in [10, 20] {
                let row = format!("| {label} | {n} | ");
                let line = page_after
                    .lines()
                    .find(|l| l.starts_with(&row))
                    .unwrap_or_else(|| panic!("the page has no row `{row}`:\n{page_after}\n{stdout}"));
                assert!(!line.contains("stopped"), "a run stopped early: {line}");
            }
        } else {
            assert!(
                stdout.contains(&format!("{label}: skipped, {crate_dir} is not in this workspace")),
                "the absent {label} is not reported as skipped:\n{stdout}"
            );
        }
    }
    // Only the text between the markers changed.
    let end = "<!-- bench-table:end -->";
    let start = "<!-- bench-table:start";
    assert_eq!(
        page_before.split(start).next(),
        page_after.split(start).next(),
        "the page changed before the table"
    );
    assert_eq!(
        page_before.split(end).nth(1),
        page_after.split(end).nth(1),
        "the page changed after the table"
    );
    let svg = std::fs::read_to_string(&chart).expect("the chart is written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "not an SVG:\n{svg}");
    assert!(
        svg.contains("thread per client") && svg.contains("poll (03)"),
        "the legend lacks a design:\n{svg}"
    );
}
