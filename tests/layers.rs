//! The source tree's architecture, checked: each stage of `src/` imports
//! only the stages below it (the order `lib.rs` declares them in), and no
//! function is longer than a screen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The stages, bottom first, as `src/lib.rs` declares them.
fn stages() -> Vec<String> {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|l| l.trim_end_matches(';').to_string()).collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<stage>` a file names outside comments.
fn crate_references(text: &str, stages: &[String]) -> Vec<String> {
    let mut found = vec![];
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if stages.contains(&name) {
                found.push(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn every_stage_imports_only_the_stages_below_it() {
    let stages = stages();
    assert!(stages.len() >= 10, "lib.rs declares the stages: {stages:?}");
    let rank: BTreeMap<&str, usize> = stages.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    let mut files = vec![];
    rust_files(&root().join("src"), &mut files);
    let mut upward = vec![];
    for file in &files {
        let rel = file.strip_prefix(root().join("src")).unwrap();
        let Some(stage) = rel.components().next().and_then(|c| c.as_os_str().to_str()) else { continue };
        let Some(&own) = rank.get(stage) else { continue }; // lib.rs, main.rs
        let text = std::fs::read_to_string(file).unwrap();
        for name in crate_references(&text, &stages) {
            if rank[name.as_str()] > own {
                upward.push(format!("{} imports crate::{name}", rel.display()));
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(upward.is_empty(), "imports of a stage above:\n{}", upward.join("\n"));
}

/// The module a source file is (`spec::params`, `eda` for `eda/mod.rs`).
fn module_of(rel: &Path) -> String {
    let parts: Vec<String> = rel.with_extension("").iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|p| *p != "mod").collect();
    parts.join("::")
}

/// The modules a file's code names: `crate::a::b` as `a::b` when `a::b`
/// is a module (else `a`), and `super::b` in `a::x` as `a::b`.
fn module_references(text: &str, own: &str, modules: &[String]) -> Vec<String> {
    let parent = own.rsplit_once("::").map_or("", |(p, _)| p);
    let mut found = vec![];
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (prefix, base) in [("crate::", String::new()), ("super::", format!("{parent}::"))] {
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                let after = &rest[at + prefix.len()..];
                let path: String =
                    after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
                let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
                // The longest prefix of the path that is a module.
                for n in (1..=segments.len()).rev() {
                    let candidate = format!("{base}{}", segments[..n].join("::"));
                    if modules.contains(&candidate) {
                        found.push(candidate);
                        break;
                    }
                }
                rest = after;
            }
        }
    }
    found
}

/// Within and across stages, no two modules import each other, directly
/// or around a longer loop: the tree reads bottom to top.
#[test]
fn no_module_imports_itself_around_a_loop() {
    let mut files = vec![];
    rust_files(&root().join("src"), &mut files);
    let rels: Vec<PathBuf> = files.iter().map(|f| f.strip_prefix(root().join("src")).unwrap().to_path_buf()).collect();
    let modules: Vec<String> = rels.iter().map(|r| module_of(r)).collect();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, own) in files.iter().zip(&modules) {
        let text = std::fs::read_to_string(file).unwrap();
        let targets = edges.entry(own.clone()).or_default();
        for target in module_references(&text, own, &modules) {
            // A parent naming its own children is not an import loop.
            if target != *own && !target.starts_with(&format!("{own}::")) && !own.is_empty() {
                targets.push(target);
            }
        }
        targets.sort();
        targets.dedup();
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, Vec<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(1) => {
                let start = path.iter().position(|p| p == m).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in edges.keys() {
        if let Some(cycle) = visit(m, &edges, &mut state, &mut vec![]) {
            panic!("modules import each other: {}", cycle.join(" -> "));
        }
    }
}

/// The length of every `fn` body, from its `fn` line to the closing brace
/// at the same indentation.
fn function_lengths(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let is_fn =
            ["fn ", "pub fn ", "pub(crate) fn ", "unsafe fn ", "pub unsafe fn "].iter().any(|p| t.starts_with(p));
        if !is_fn || line.trim_end().ends_with(';') {
            continue;
        }
        let indent = line.len() - t.len();
        let close = " ".repeat(indent) + "}";
        if let Some(end) = (i + 1..lines.len()).find(|&j| lines[j].trim_end() == close) {
            let name = t.split('(').next().unwrap_or(t).to_string();
            out.push((i + 1, end - i + 1, name));
        }
    }
    out
}

/// About a screen: longer functions do several things and get split.
const MAX_FUNCTION_LINES: usize = 80;

#[test]
fn no_function_is_longer_than_a_screen() {
    let mut files = vec![];
    rust_files(&root().join("src"), &mut files);
    let mut long = vec![];
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Tests are exempt: a table of cases reads best in one place.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (line, len, name) in function_lengths(code) {
            if len > MAX_FUNCTION_LINES {
                long.push(format!("{}:{line} {name}: {len} lines", file.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FUNCTION_LINES} lines:\n{}", long.join("\n"));
}
