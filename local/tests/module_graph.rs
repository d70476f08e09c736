//! The modules of every crate of the workspace import each other without cycles, and no
//! endpoint of the dev tenant imports its router.
//!
//! A cycle means two modules cannot be understood (or changed) one without the other. This
//! reads the sources: every `crate::`, `super::` and `self::` path (in `use` declarations,
//! braces expanded, and in code) is an edge from the file's module to the module it names.
//! Inline `#[cfg(test)] mod tests` blocks are left out (`use super::*` there is the file
//! itself, not its parent).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The crates' source folders, by crate.
fn crates() -> Vec<(String, PathBuf)> {
    let repo = repo();
    let mut crates = vec![
        ("shared".to_string(), repo.join("shared/src")),
        ("local".to_string(), repo.join("local/src")),
    ];
    for entry in std::fs::read_dir(repo.join("functions")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        crates.push((name, path.join("src")));
    }
    crates
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `tenant/authorize/mod.rs` → ["tenant", "authorize"]; `lib.rs` and `main.rs` → [].
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without comments, string and char literals, and inline test modules (a
/// message that says "use one of …" is not an import).
fn code_of(text: &str) -> String {
    without_test_modules(&without_comments_and_literals(text))
}

/// Drops each `#[cfg(test)] mod tests { … }` block (braces matched, so code after one counts).
fn without_test_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]\nmod tests") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{') else {
            return out;
        };
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn without_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while j < chars.len() && chars[j..].iter().take(closing.len()).ne(closing.iter()) {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + closing.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && next == Some('\\') && chars.get(i + 3) == Some(&'\'') {
            out.push_str("' '");
            i += 4;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every path of a `use` tree, braces expanded: `super::{a, b::c}` → `super::a`, `super::b::c`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or("").trim().to_string()];
    };
    let prefix = &tree[..open];
    let close = tree.rfind('}').filter(|c| *c > open).unwrap_or(tree.len());
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(&format!("{prefix}{}", p.trim())))
        .collect()
}

/// The paths a file names: its `use` trees and the `crate::`/`super::`/`self::` paths in code.
fn paths_in(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(end) = rest.find(';') {
            paths.extend(expand(&rest[..end]));
        }
    }
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            if at > 0
                && (bytes[at - 1].is_ascii_alphanumeric()
                    || bytes[at - 1] == b'_'
                    || bytes[at - 1] == b':')
            {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            paths.push(code[at..end].trim_end_matches(':').to_string());
        }
    }
    paths
}

/// The module a path names, as seen from `module`: the longest known module prefix.
fn resolve(module: &[String], path: &str, modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut segments = path.split("::").filter(|s| !s.is_empty());
    let mut base: Vec<String> = match segments.next()? {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => module[..module.len().checked_sub(1)?].to_vec(),
        _ => return None,
    };
    let mut rest: Vec<&str> = segments.collect();
    while rest.first() == Some(&"super") {
        base.pop();
        rest.remove(0);
    }
    let mut best = base.clone();
    for segment in rest {
        base.push(segment.to_string());
        if modules.contains(&base) {
            best = base.clone();
        } else {
            break;
        }
    }
    Some(best)
}

fn graph() -> BTreeMap<String, BTreeMap<Vec<String>, BTreeSet<Vec<String>>>> {
    let mut graphs = BTreeMap::new();
    for (name, root) in crates() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&root, f)).collect();
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for file in &files {
            let module = module_of(&root, file);
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            let targets = edges.entry(module.clone()).or_default();
            for path in paths_in(&code) {
                if let Some(target) = resolve(&module, &path, &modules)
                    && target != module
                    // A module naming its own submodule is containment, not a cycle risk.
                    && !target.starts_with(&module)
                {
                    targets.insert(target);
                }
            }
        }
        graphs.insert(name, edges);
    }
    graphs
}

fn find_cycle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle: Vec<String> = stack[at..].iter().map(|m| m.join("::")).collect();
            cycle.push(node.join("::"));
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_module_imports_form_a_cycle() {
    for (name, edges) in graph() {
        if let Some(cycle) = find_cycle(&edges) {
            panic!(
                "crate {name}: modules import each other in a cycle: {}",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn no_endpoint_imports_the_router() {
    let graphs = graph();
    let router = vec!["tenant".to_string(), "router".to_string()];
    // The tenant module re-exports it and the crate root mounts it: both name it as their
    // own descendant, which is not an edge here. Anything else naming it is an endpoint (or
    // helper) that would depend on every other endpoint.
    let importers: Vec<String> = graphs["local"]
        .iter()
        .filter(|(_, targets)| targets.contains(&router))
        .map(|(module, _)| module.join("::"))
        .collect();
    assert!(
        importers.is_empty(),
        "these import tenant::router: {importers:?}"
    );
}

#[test]
fn the_reader_sees_edges_and_cycles() {
    let modules: BTreeSet<Vec<String>> = [vec![], vec!["a".into()], vec!["b".into()]]
        .into_iter()
        .collect();
    let a = vec!["a".to_string()];
    assert_eq!(
        resolve(&a, "super::b::Thing", &modules),
        Some(vec!["b".into()])
    );
    assert_eq!(resolve(&a, "crate::b", &modules), Some(vec!["b".into()]));
    assert_eq!(
        expand("super::{b, c::{D, E}}"),
        vec!["super::b", "super::c::D", "super::c::E"]
    );
    let edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        (vec!["a".into()], [vec!["b".into()]].into_iter().collect()),
        (vec!["b".into()], [vec!["a".into()]].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    // A test module is left out, and what follows it is read.
    let code = code_of(
        "use super::a;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    fn f() { if x { y } }\n}\nuse super::b; // \"use super::c\"\n",
    );
    assert!(code.contains("use super::a;"), "{code}");
    assert!(!code.contains("use super::*"), "{code}");
    assert!(code.contains("use super::b;"), "{code}");
    assert!(!code.contains("super::c"), "{code}");
}
