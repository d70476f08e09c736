//! Every log line has a stable `event` name (issue 23: CloudWatch Logs Insights queries and
//! metric filters select lines by `event`, not by their wording; `make run`'s log is read the
//! same way, with jq). Reads the sources of `shared/`, `functions/` and the local tool
//! (`local/`): a `tracing` call without `event = "…"` fails here with the file and line.

use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "tests" && n != "benches" && n != "target")
            {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_log_line_has_an_event_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    sources(&root.join("shared/src"), &mut files);
    sources(&root.join("local/src"), &mut files);
    for function in fs::read_dir(root.join("functions")).expect("functions/") {
        let src = function.expect("a function folder").path().join("src");
        if src.is_dir() {
            sources(&src, &mut files);
        }
    }
    assert!(
        files.len() > 20,
        "the sources were found ({} files)",
        files.len()
    );
    let mut calls = 0;
    let mut unnamed = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("a source file");
        for (at, _) in text.match_indices("tracing::") {
            let rest = &text[at + "tracing::".len()..];
            let Some(level) = ["trace!(", "debug!(", "info!(", "warn!(", "error!("]
                .iter()
                .find(|l| rest.starts_with(**l))
            else {
                continue;
            };
            calls += 1;
            // The macro's arguments: up to the first `);` (log calls here hold no nested `);`).
            let args = &rest[level.len()..rest.find(");").unwrap_or(rest.len())];
            if !args.contains("event = \"") {
                let line = text[..at].matches('\n').count() + 1;
                unnamed.push(format!(
                    "{}:{line}",
                    file.strip_prefix(&root).unwrap_or(file).display()
                ));
            }
        }
    }
    assert!(calls > 10, "log calls were found ({calls})");
    assert!(
        unnamed.is_empty(),
        "log lines without `event = \"…\"`: {unnamed:#?}"
    );
}
