//! The rules of ARCHITECTURE.md that a reader of the sources can check,
//! checked (issue 26): no module imports one that imports it back, in any
//! crate; the server's floors import only downwards; SQL only in the
//! server's records, reports and database; web pages are routed only from
//! their modules' tables; threads are started only
//! where ARCHITECTURE.md says; pages build their markup with maud (no
//! HTML in strings, `PreEscaped` only where listed); and every path
//! ARCHITECTURE.md names exists.
//!
//! It reads text, not the compiler's view: a path is a `crate::a::b` or
//! `super::…` in code outside comments and string literals, which is how
//! this workspace imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())).flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without comments, string and char literals' contents,
/// and without its `#[cfg(test)]` part (tests close each file here).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let (mut out, mut chars) = (String::new(), text.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '"' && !escaped {
                        break;
                    }
                    escaped = c == '\\' && !escaped;
                }
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The string literals of a file's code outside its tests.
fn strings_of(text: &str) -> Vec<String> {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('"') {
        let after = &rest[i + 1..];
        let mut end = None;
        let mut escaped = false;
        for (j, c) in after.char_indices() {
            if c == '"' && !escaped {
                end = Some(j);
                break;
            }
            escaped = c == '\\' && !escaped;
        }
        let Some(j) = end else { break };
        out.push(after[..j].to_string());
        rest = &after[j + 1..];
    }
    out
}

/// A crate's modules: module path (`records::alerts`, `web`) → file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    rust_files(src)
        .into_iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = parts.join("::");
            (!matches!(name.as_str(), "lib" | "main" | "")).then_some((name, f))
        })
        .collect()
}

/// The node a module counts as: folders whose children are separate nodes
/// (`records::alerts`) are listed; any other module counts as its top
/// level (`web::alerts` is part of `web`).
fn node(module: &str, split: &[&str]) -> String {
    let mut parts = module.split("::");
    let first = parts.next().unwrap_or_default();
    match parts.next() {
        Some(second) if split.contains(&first) => format!("{first}::{second}"),
        _ => first.to_string(),
    }
}

/// The nodes `code` (of module `module`) refers to.
fn uses(code: &str, module: &str, known: &BTreeSet<String>, split: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let resolve = |path: &[&str], out: &mut BTreeSet<String>| {
        // The longest prefix that is a module.
        for n in (1..=path.len()).rev() {
            let candidate = path[..n].join("::");
            if known.contains(&candidate) {
                out.insert(node(&candidate, split));
                return;
            }
        }
    };
    let idents = |s: &str| -> Vec<String> {
        s.split("::").map(|p| p.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()).collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            for item in group[..group.find('}').unwrap_or(0)].split(',') {
                let path = idents(item.trim());
                resolve(&path.iter().map(String::as_str).collect::<Vec<_>>(), &mut out);
            }
        } else {
            let path: Vec<String> = idents(rest.split(|c: char| c.is_whitespace() || c == ';').next().unwrap_or(""));
            resolve(&path.iter().map(String::as_str).collect::<Vec<_>>(), &mut out);
        }
    }
    // `super::x` from `a::b` is `a::x` (from a folder's `mod.rs`, its parent).
    let parent: Vec<&str> = module.split("::").collect();
    for (i, _) in code.match_indices("super::") {
        if i > 0 && code[..i].ends_with("::") {
            continue;
        }
        let rest = &code[i + "super::".len()..];
        let mut path: Vec<String> = parent[..parent.len().saturating_sub(1)].iter().map(|s| s.to_string()).collect();
        if let Some(group) = rest.strip_prefix('{') {
            for item in group[..group.find('}').unwrap_or(0)].split(',') {
                let mut p = path.clone();
                p.extend(idents(item.trim()));
                resolve(&p.iter().map(String::as_str).collect::<Vec<_>>(), &mut out);
            }
        } else {
            path.extend(idents(rest.split(|c: char| c.is_whitespace() || c == ';').next().unwrap_or("")));
            resolve(&path.iter().map(String::as_str).collect::<Vec<_>>(), &mut out);
        }
    }
    out
}

/// Each node's imports of other nodes of the crate at `src`.
fn graph(src: &Path, split: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, file) in &mods {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let from = node(m, split);
        let to = uses(&code, m, &known, split);
        let entry = g.entry(from.clone()).or_default();
        entry.extend(to.into_iter().filter(|t| *t != from));
    }
    g
}

/// A cycle in `g`, if any, as the nodes around it.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[at..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The crates' sources and the folders whose modules are nodes of their own.
const CRATES: &[(&str, &[&str])] = &[
    ("src", &[]),
    ("protocol/src", &[]),
    ("crates/gate/src", &[]),
    ("crates/client/src", &[]),
    ("server/src", &["leaves", "records", "reports", "ops"]),
    ("loadgen/src", &[]),
];

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for (src, split) in CRATES {
        let g = graph(&root().join(src), split);
        assert!(g.len() > 1, "{src}: no modules read");
        if let Some(c) = cycle(&g) {
            panic!("{src}: modules import each other: {}", c.join(" → "));
        }
    }
}

/// The server's floors, lowest first: a module imports only its own floor
/// or lower ones.
fn floor(node: &str) -> usize {
    match node.split("::").next().unwrap_or(node) {
        "leaves" => 0,
        "db" | "vals" => 1,
        "records" => 2,
        "reports" => 3,
        "ops" => 4,
        // The faces: pages, the kiosk API, the broker, the webhook's
        // delivery, the network edge, the commands (`main.rs`'s `cli/`).
        "web" | "api" | "mqtt" | "webhook" | "witness" | "net" | "cli" | "metrics" => 5,
        other => panic!("server/src/{other} is on no floor: add it to ARCHITECTURE.md's floors and here"),
    }
}

#[test]
fn the_servers_floors_import_only_downwards() {
    let g = graph(&root().join("server/src"), &["leaves", "records", "reports", "ops"]);
    let mut up = Vec::new();
    for (from, tos) in &g {
        for to in tos {
            if floor(to) > floor(from) {
                up.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(up.is_empty(), "imports that run up a floor: {up:?}");
}

#[test]
fn sql_is_written_only_in_records_reports_and_the_database() {
    let src = root().join("server/src");
    let sql = ["SELECT ", "INSERT INTO ", "DELETE FROM ", "CREATE TABLE ", "CREATE INDEX ", "ALTER TABLE "];
    let mut found = Vec::new();
    for f in rust_files(&src) {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("records/") || rel.starts_with("reports/") || rel.starts_with("db/") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for s in strings_of(&text) {
            let update = s.starts_with("UPDATE ") && s.contains(" SET ");
            if update || sql.iter().any(|k| s.starts_with(k)) {
                found.push(format!("{rel}: {}", s.chars().take(60).collect::<String>()));
            }
        }
    }
    assert!(found.is_empty(), "SQL outside records, reports and db: {found:#?}");
}

/// Web pages are routed only from their tables (`web::site`), where each
/// names who may use it: a `.route(` anywhere else in `web/` is a page
/// nobody wrote a permission for.
#[test]
fn web_pages_are_routed_only_from_their_tables() {
    let web = root().join("server/src/web");
    let mut found = Vec::new();
    for file in rust_files(&web) {
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        if rel != "server/src/web/site.rs" && (code.contains(".route(") || code.contains("Router::new")) {
            found.push(rel);
        }
    }
    assert!(found.is_empty(), "routes outside web/site.rs (give the page a table() instead): {found:?}");
    let site = std::fs::read_to_string(web.join("site.rs")).unwrap();
    let mods = std::fs::read_to_string(web.join("mod.rs")).unwrap();
    // Every page module with a table() is listed in the site's tables.
    for file in rust_files(&web) {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("pub fn table() -> super::site::Table") {
            assert!(site.contains(&format!("{name}::table()")), "web/{name}.rs has a table() the site does not list");
            assert!(mods.contains(&format!("mod {name};")), "web/{name}.rs");
        }
    }
}

/// Where a page may say `PreEscaped`: the frame's CSS, a page's own CSS
/// or script constants, and the QR library's SVG. Everywhere else text
/// goes through maud and is escaped.
const PRE_ESCAPED: &[&str] = &[
    "server/src/web/frame.rs",
    "server/src/web/mod.rs",
    "server/src/web/phone.rs",
    "server/src/web/print.rs",
    "server/src/web/register.rs",
];

#[test]
fn pages_are_templates_and_escape_what_they_show() {
    let mut found = Vec::new();
    for f in rust_files(&root().join("server/src/web")) {
        let rel = f.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap();
        for s in strings_of(&text) {
            let tag =
                s.strip_prefix('<').and_then(|r| r.chars().next()).is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
            if tag {
                found.push(format!("{rel}: HTML in a string: {}", s.chars().take(40).collect::<String>()));
            }
        }
        if code_of(&text).contains("PreEscaped") && !PRE_ESCAPED.contains(&rel.as_str()) {
            found.push(format!("{rel}: PreEscaped outside the files allowed to"));
        }
    }
    assert!(found.is_empty(), "pages build markup with maud only: {found:#?}");
}

/// Where threads and background tasks start (ARCHITECTURE.md says why).
const SPAWNERS: &[&str] = &[
    // The kiosk: the composition root, and the workers it starts.
    "src/app/kiosk.rs",
    "src/app/mod.rs",
    "src/hw/audio.rs",
    "src/hw/camera.rs",
    "src/hw/gpio/mod.rs",
    "crates/client/src/sync/mod.rs",
    // The server: its chores and test server, the connections, the
    // evidence log's writer, PostgreSQL's connection threads.
    "server/src/lib.rs",
    "server/src/net.rs",
    "server/src/records/sequencer.rs",
    "server/src/db/postgres.rs",
];

#[test]
fn threads_and_background_tasks_start_only_where_the_architecture_says() {
    let mut found = Vec::new();
    for (src, _) in CRATES {
        for f in rust_files(&root().join(src)) {
            let rel = f.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
            let code = code_of(&std::fs::read_to_string(&f).unwrap());
            let spawns = ["thread::spawn(", "thread::Builder::new()", "tokio::spawn("].iter().any(|s| code.contains(s));
            if spawns && !SPAWNERS.contains(&rel.as_str()) && !rel.starts_with("loadgen/") {
                found.push(rel);
            }
        }
    }
    assert!(found.is_empty(), "threads started outside the places ARCHITECTURE.md names: {found:?}");
}

#[test]
fn every_path_architecture_md_names_exists() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let bases = [root(), root().join("server/src"), root().join("src"), root().join("protocol/src")];
    let mut missing = Vec::new();
    let mut checked = 0;
    for quoted in text.split('`').skip(1).step_by(2) {
        let looks_like_path = quoted.contains('/')
            && !quoted.starts_with('/')
            && !quoted.contains(' ')
            && !quoted.contains('{')
            && !quoted.contains('<')
            && !quoted.contains(':')
            && !quoted.contains('*')
            && quoted.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
            // `meta.head_seq/head_hash` is two names, not a path.
            && !quoted.split('/').rev().skip(1).any(|dir| dir.contains('.') && !dir.starts_with('.'));
        if !looks_like_path {
            continue;
        }
        checked += 1;
        if !bases.iter().any(|b| b.join(quoted.trim_end_matches('/')).exists()) {
            missing.push(quoted.to_string());
        }
    }
    assert!(checked > 40, "read the paths of ARCHITECTURE.md ({checked})");
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}
