//! The crate's import graph: no circle between files, no import from a lower layer to a higher
//! one. Layers, lowest first: `error`, `tuf`, `guard`, `prompt`, `atomic`, `readpath`, `text`;
//! `signer`, `workspace`, `audit`, `transfer`; `dialect`; `report` (what operations return);
//! `ops`; `cli`, `tui`, `fuzzing`, `demo` (the front ends). Every `crate::` and `super::` path in
//! `src/` counts (inline paths too, not only `use` lines); `#[cfg(test)]` modules are exempt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[&[&str]] = &[
    &[
        "error", "tuf", "guard", "prompt", "atomic", "readpath", "text",
    ],
    &["signer", "workspace", "audit", "transfer"],
    &["dialect"],
    &["report"],
    &["ops"],
    &["cli", "tui", "fuzzing", "demo"],
];

fn layer_of(module: &[String]) -> Option<usize> {
    let top = module.first()?;
    LAYERS.iter().position(|l| l.contains(&top.as_str()))
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `["a", "b"]`; `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs").to_string();
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem);
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text with comments, string and char literals blanked out.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (c.get(i + 1) == Some(&'"') || c.get(i + 1) == Some(&'#'))
            && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\''), or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Drops `#[cfg(test)]` items (a test module or function, with its braces).
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(pos) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        let Some(open) = after.find(['{', ';']) else {
            rest = "";
            break;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (k, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
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

fn ident(s: &[char], mut i: usize) -> (String, usize) {
    let mut id = String::new();
    while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
        id.push(s[i]);
        i += 1;
    }
    (id, i)
}

fn skip_ws(s: &[char], mut i: usize) -> usize {
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    i
}

/// Paths of a path tree starting at `i` (just after `prefix::`): `a::b`, `a::{b, c::d}`.
fn tree(s: &[char], i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let i = skip_ws(s, i);
    if s.get(i) == Some(&'{') {
        let mut j = i + 1;
        loop {
            j = skip_ws(s, j);
            match s.get(j) {
                None => return j,
                Some('}') => return j + 1,
                Some(',') => j += 1,
                _ => {
                    let before = j;
                    j = tree(s, j, prefix.clone(), out);
                    if j == before {
                        j += 1;
                    }
                }
            }
        }
    }
    let (id, j) = ident(s, i);
    if id.is_empty() {
        if !prefix.is_empty() {
            out.push(prefix);
        }
        return j.max(i);
    }
    let mut path = prefix;
    path.push(id);
    if s.get(j) == Some(&':') && s.get(j + 1) == Some(&':') {
        tree(s, j + 2, path, out)
    } else {
        out.push(path);
        j
    }
}

/// Every `crate::…` / `super::…` path in `code`, made absolute from `module`.
fn paths(code: &str, module: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let s: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let boundary =
            i == 0 || !(s[i - 1].is_alphanumeric() || s[i - 1] == '_' || s[i - 1] == ':');
        if !boundary {
            i += 1;
            continue;
        }
        let (id, j) = ident(&s, i);
        if (id == "crate" || id == "super") && s.get(j) == Some(&':') && s.get(j + 1) == Some(&':')
        {
            let mut base: Vec<String> = if id == "crate" {
                Vec::new()
            } else {
                // `super` of a file module is its parent; of a mod.rs, the parent's parent.
                let mut m = module.to_vec();
                m.pop();
                let _ = is_mod_file;
                m
            };
            let mut k = j + 2;
            loop {
                let (next, after) = ident(&s, k);
                if next == "super" && s.get(after) == Some(&':') && s.get(after + 1) == Some(&':') {
                    base.pop();
                    k = after + 2;
                } else {
                    break;
                }
            }
            let mut found = Vec::new();
            i = tree(&s, k, base, &mut found);
            out.extend(found);
        } else {
            i = j.max(i + 1);
        }
    }
    out
}

#[test]
fn no_circle_between_files_and_no_import_from_a_lower_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut upward = Vec::new();
    for (module, file) in &modules {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if module.is_empty() {
            continue; // lib.rs, main.rs: they only declare the modules
        }
        let text = std::fs::read_to_string(file).unwrap();
        let code = without_tests(&code_only(&text));
        for p in paths(&code, module, name == "mod.rs") {
            // The deepest module the path names is the file it imports from.
            let mut target = Vec::new();
            for seg in &p {
                let mut next = target.clone();
                next.push(seg.clone());
                if modules.contains_key(&next) {
                    target = next;
                } else {
                    break;
                }
            }
            if target.is_empty() || &target == module {
                continue;
            }
            let (Some(from), Some(to)) = (layer_of(module), layer_of(&target)) else {
                continue;
            };
            if to > from {
                upward.push(format!(
                    "{} (layer {from}) imports {} (layer {to})",
                    module.join("::"),
                    p.join("::")
                ));
            } else if to == from {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // Circles: strongly connected components of more than one file.
    let nodes: Vec<Vec<String>> = modules.keys().cloned().collect();
    let mut circles = Vec::new();
    let mut done: BTreeSet<Vec<String>> = BTreeSet::new();
    for n in &nodes {
        if done.contains(n) {
            continue;
        }
        // Files reachable from n that also reach n.
        let reach = |from: &Vec<String>| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![from.clone()];
            while let Some(x) = stack.pop() {
                for y in edges.get(&x).into_iter().flatten() {
                    if seen.insert(y.clone()) {
                        stack.push(y.clone());
                    }
                }
            }
            seen
        };
        let fwd = reach(n);
        if !fwd.contains(n) {
            continue;
        }
        let comp: Vec<String> = fwd
            .iter()
            .filter(|m| reach(m).contains(n))
            .map(|m| m.join("::"))
            .collect();
        for m in &fwd {
            if reach(m).contains(n) {
                done.insert(m.clone());
            }
        }
        circles.push(comp.join(" ↔ "));
    }
    assert!(
        upward.is_empty() && circles.is_empty(),
        "imports against the layering:\n  {}\ncircles between files:\n  {}",
        upward.join("\n  "),
        circles.join("\n  ")
    );
}

#[test]
fn the_scanner_finds_inline_grouped_and_nested_paths() {
    let code = code_only(
        "use crate::{a::b, c::{d, e::f}};\nfn x() { super::super::g::h(); let s = \"crate::nope\"; // crate::nope\n}\n",
    );
    let found = paths(&code, &["m".into(), "n".into(), "o".into()], false);
    let got: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(got, vec!["a::b", "c::d", "c::e::f", "m::g::h"]);
    let t = without_tests(
        "fn a() {}\n#[cfg(test)]\nmod tests { use crate::z; fn b() { {} } }\nfn c() {}",
    );
    assert!(!t.contains("crate::z") && t.contains("fn c()"));
}

/// Issue 17's bound: the operations and the dialect seam stay small (pure work goes down to the
/// layers below, front ends up), and `cli/mod.rs` only dispatches.
#[test]
fn operations_stay_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lines = |dir: &str| -> usize {
        std::fs::read_dir(src.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .map(|p| std::fs::read_to_string(p).unwrap().lines().count())
            .sum()
    };
    let n = lines("ops") + lines("dialect");
    assert!(
        n <= 7600,
        "src/ops and src/dialect hold {n} lines (at most 7600)"
    );
    let cli = std::fs::read_to_string(src.join("cli/mod.rs"))
        .unwrap()
        .lines()
        .count();
    assert!(cli <= 400, "src/cli/mod.rs holds {cli} lines (at most 400)");
}
