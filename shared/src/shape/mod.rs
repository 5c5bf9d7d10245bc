//! Tests that keep the library's shape, by reading its source tree:
//!
//! - layers only point down ([`LAYERS`]): `domain` uses nothing of the crate, `twenty`
//!   and `store` know neither each other nor `sync`, and nothing here depends on a
//!   function crate (its manifest names none);
//! - a bookkeeping attribute name (a string literal starting `"_` and a letter) is
//!   spelled only in `store/item.rs`;
//! - no file is over [`MAX_LINES`] lines (these included; none is exempt).
//!
//! Comments are ignored; test code is checked like the rest.

mod source;

use std::collections::{BTreeMap, BTreeSet};

use source::{lex, sources};

/// Each top-level module and the top-level modules it may use. `lib.rs` may use all;
/// a new module must be added here, which is where its place is decided.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("pii", &["domain"]),
    ("secrets", &[]),
    ("twenty", &["domain", "pii"]),
    ("store", &["domain", "pii"]),
    ("sync", &["domain", "pii", "twenty", "store"]),
    ("config", &["domain", "secrets", "twenty"]),
    ("webhook", &["domain", "config", "store", "sync"]),
    ("metrics", &["domain", "sync", "webhook"]),
    ("invoke", &["sync"]),
    ("logging", &["config"]),
];

/// The function crates. The library cannot name a crate it does not depend on, so its
/// manifest is where this is checked.
const FUNCTION_CRATES: [&str; 3] = ["delta_sync", "leads_api", "webhook"];

/// The file where bookkeeping attribute names are spelled, and the one other literal
/// of that form that is not a table attribute: Embedded Metric Format's `_aws` key (in
/// the metrics module and its tests).
const ITEM_MODULE: &str = "store/item.rs";
const NOT_ATTRIBUTES: [(&str, &str); 2] = [("metrics.rs", "_aws"), ("metrics/tests.rs", "_aws")];

const MAX_LINES: usize = 400;

/// The module path of a file: `store/item.rs` → `[store, item]`, `store/mod.rs` →
/// `[store]`, `lib.rs` → `[]`.
fn module_path(file: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = file.trim_end_matches(".rs").split('/').collect();
    if matches!(parts.last(), Some(&"mod" | &"lib")) {
        parts.pop();
    }
    parts
}

/// The first segment of each path a `{...}` group (or a single path) names.
fn heads(rest: &str) -> Vec<String> {
    let first = |t: &str| -> String {
        t.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.trim_start().strip_prefix('{') else {
        return Some(first(rest))
            .filter(|h| !h.is_empty())
            .into_iter()
            .collect();
    };
    let (mut depth, mut items) = (0, vec![String::new()]);
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("one item").push(c);
    }
    items
        .iter()
        .map(|i| first(i))
        .filter(|h| !h.is_empty())
        .collect()
}

/// The top-level modules a file's code reaches through `crate::` and `super::` paths;
/// a crate-root re-export counts as the module it comes from.
fn reached(file: &str, code: &str, reexports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let inline = inline_modules(code);
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (at, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let before = at.checked_sub(1).map(|b| bytes[b] as char);
        if before.is_some_and(|b| b.is_alphanumeric() || b == '_' || b == ':') {
            continue;
        }
        let mut module = module_path(file);
        module.extend(inline.iter().filter(|m| m.0 < at && at < m.1).map(|m| m.2));
        let mut rest = &code[at..];
        let base: Vec<&str> = if let Some(r) = rest.strip_prefix("crate::") {
            rest = r;
            Vec::new()
        } else {
            let mut ups = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                (rest, ups) = (r, ups + 1);
            }
            module[..module.len().saturating_sub(ups)].to_vec()
        };
        match base.first() {
            Some(layer) => {
                out.insert(layer.to_string());
            }
            None => out.extend(heads(rest).into_iter().map(|h| match reexports.get(&h) {
                Some(layer) => layer.clone(),
                None => h,
            })),
        }
    }
    out
}

/// Each `mod name { ... }` in a file's code: where it starts and ends, and its name.
fn inline_modules(code: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        if code[..at].chars().next_back().is_some_and(ident) {
            continue;
        }
        let rest = &code[at + 4..];
        let name_len = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        let after = rest[name_len..].trim_start();
        if name_len == 0 || !after.starts_with('{') {
            continue;
        }
        let open = code.len() - after.len();
        let mut depth = 0;
        for (i, c) in code[open..].char_indices() {
            depth += match c {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            if depth == 0 {
                out.push((open, open + i, &rest[..name_len]));
                break;
            }
        }
    }
    out
}

/// `pub use config::{ApiConfig, ...}` in `lib.rs`: each name → its module.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (at, _) in lib.match_indices("pub use ") {
        let rest = &lib[at + "pub use ".len()..];
        let Some((layer, names)) = rest.split_once("::") else {
            continue;
        };
        for name in heads(names) {
            out.insert(name, layer.trim().to_string());
        }
    }
    out
}

fn layering_violations(sources: &BTreeMap<String, String>) -> Vec<String> {
    let lib = lex(&sources["lib.rs"]).code;
    let reexports = root_reexports(&lib);
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut bad = Vec::new();
    for (file, text) in sources {
        let Some(&own) = module_path(file).first() else {
            continue;
        };
        if own == "shape" {
            continue;
        }
        let Some(allowed) = layers.get(own) else {
            bad.push(format!(
                "{file}: module `{own}` is not in shape.rs's LAYERS"
            ));
            continue;
        };
        let code = lex(text).code;
        for target in reached(file, &code, &reexports) {
            if target != own && !allowed.contains(&target.as_str()) {
                bad.push(format!("{file}: `{own}` must not use `{target}`"));
            }
        }
    }
    bad
}

#[test]
fn layers_only_point_down() {
    let bad = layering_violations(&sources());
    assert!(bad.is_empty(), "upward imports:\n{}", bad.join("\n"));
}

#[test]
fn the_library_depends_on_no_function_crate() {
    let manifest = include_str!("../../Cargo.toml");
    for line in manifest.lines().map(str::trim) {
        let name = line.split(['=', ' ', '.']).next().unwrap_or_default();
        let is_function = FUNCTION_CRATES.contains(&name.replace('-', "_").as_str());
        assert!(
            !is_function && !line.contains("functions/"),
            "shared/Cargo.toml: {line}"
        );
    }
}

#[test]
fn the_layer_check_sees_upward_imports() {
    let files = [
        (
            "lib.rs",
            "pub mod store;\npub use sync::{SyncEngine, RequestedMode};",
        ),
        (
            "store/x.rs",
            "use crate::{domain::LeadId, sync::Foo};\nuse super::super::twenty::X;",
        ),
        (
            "domain/mod.rs",
            "// use crate::store;\nfn f() { crate::SyncEngine::new(); }",
        ),
        (
            "twenty/y.rs",
            "let s = \"crate::sync\"; use delta_sync::handler;",
        ),
    ];
    let sources = files
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    assert_eq!(
        layering_violations(&sources),
        [
            "domain/mod.rs: `domain` must not use `sync`",
            "store/x.rs: `store` must not use `sync`",
            "store/x.rs: `store` must not use `twenty`",
        ]
    );
}

fn attribute_literals(file: &str, text: &str) -> Vec<String> {
    let lexed = lex(text);
    lexed
        .strings
        .into_iter()
        .filter(|(_, s)| {
            let mut chars = s.chars();
            chars.next() == Some('_') && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        })
        .filter(|(_, s)| !NOT_ATTRIBUTES.contains(&(file, s.as_str())))
        .map(|(line, s)| format!("{file}:{line}: \"{s}\""))
        .collect()
}

#[test]
fn attribute_names_are_spelled_only_in_the_item_module() {
    let bad: Vec<String> = sources()
        .iter()
        // This file names the rule's exceptions.
        .filter(|(file, _)| file.as_str() != ITEM_MODULE && !file.starts_with("shape/"))
        .flat_map(|(file, text)| attribute_literals(file, text))
        .collect();
    assert!(
        bad.is_empty(),
        "use the item types or store::item::attr instead:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_attribute_check_sees_literals_but_not_comments() {
    let text = "// \"_rev\" in a comment\nlet a = \"_-.\";\nlet b = r#\"{\"_pending\": 1}\"#;\nlet c = '\"'; let d = \"_rev\";";
    assert_eq!(
        attribute_literals("sync/x.rs", text),
        ["sync/x.rs:4: \"_rev\""]
    );
}

#[test]
fn no_file_is_over_the_line_limit() {
    let long: Vec<String> = sources()
        .iter()
        .map(|(file, text)| (file, text.lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(file, lines)| format!("{file}: {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines, split by concept:\n{}",
        long.join("\n")
    );
}
