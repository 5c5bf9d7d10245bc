//! The source tree as text, and each file's code apart from its comments and strings.

use std::collections::BTreeMap;
use std::path::Path;

/// Every `.rs` file under `shared/src`, by its path relative to it.
pub(super) fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read shared/src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under src");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).expect("read source"));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// A file's code with comments and string contents blanked (newlines kept), and its
/// string literals with their line numbers.
pub(super) struct Lexed {
    pub code: String,
    pub strings: Vec<(usize, String)>,
}

pub(super) fn lex(src: &str) -> Lexed {
    let s: Vec<char> = src.chars().collect();
    let (mut code, mut strings, mut line, mut i) = (String::new(), Vec::new(), 1, 0);
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < s.len() {
        let c = s[i];
        let prev_ident = i > 0 && ident(s[i - 1]);
        if c == '/' && s.get(i + 1) == Some(&'/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
            continue;
        } else if c == '/' && s.get(i + 1) == Some(&'*') {
            while i < s.len() && !(s[i] == '*' && s.get(i + 1) == Some(&'/')) {
                line += usize::from(s[i] == '\n');
                code.extend((s[i] == '\n').then_some('\n'));
                i += 1;
            }
            i += 2;
            continue;
        } else if c == '"' || (c == 'r' && !prev_ident && matches!(s.get(i + 1), Some('#' | '"'))) {
            // A string, raw (`r#"..."#`) or not; a `b` before it is an identifier char
            // already emitted, which does no harm.
            let raw = c == 'r';
            let mut hashes = 0;
            if raw {
                i += 1;
                while s.get(i) == Some(&'#') {
                    hashes += 1;
                    i += 1;
                }
                if s.get(i) != Some(&'"') {
                    code.push('r');
                    code.extend(std::iter::repeat_n('#', hashes));
                    continue;
                }
            }
            let (start_line, mut text) = (line, String::new());
            i += 1;
            while let Some(&ch) = s.get(i) {
                if !raw && ch == '\\' {
                    text.push(ch);
                    text.extend(s.get(i + 1));
                    i += 2;
                    continue;
                }
                let closes = ch == '"' && (0..hashes).all(|h| s.get(i + 1 + h) == Some(&'#'));
                if closes {
                    i += 1 + hashes;
                    break;
                }
                line += usize::from(ch == '\n');
                text.push(ch);
                i += 1;
            }
            code.push_str("\"\"");
            code.extend(std::iter::repeat_n('\n', line - start_line));
            strings.push((start_line, text));
            continue;
        } else if c == '\'' && s.get(i + 1) == Some(&'\\') {
            // A char literal with an escape: skip to its closing quote.
            i += 2;
            while i < s.len() && s[i] != '\'' {
                i += 1;
            }
            i += 1;
            continue;
        } else if c == '\'' && s.get(i + 2) == Some(&'\'') {
            i += 3;
            continue;
        } else {
            line += usize::from(c == '\n');
            code.push(c);
        }
        i += 1;
    }
    Lexed { code, strings }
}
