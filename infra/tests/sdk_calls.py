"""Which DynamoDB calls each function's code can make, read from the Rust source.

A deliberately small reading of Rust, good enough to keep the IAM roles honest:

1. Every `.rs` file of the shared crate and of the function's own crate is read with
   comments, string and char literals and `#[cfg(test)]` items removed.
2. Each `fn NAME ... { body }` becomes a node; its edges are every identifier in its body
   that names another `fn` (calls, method calls, `Self::name` passed as a value, trait
   methods by name, so a generic engine calling `store.load_state()` reaches the
   DynamoDB implementation's `load_state`). Names are not resolved by type: two functions
   with the same name are one node. That can only over-approximate.
3. The function's reach is everything reachable from the `fn`s of its own crate.
4. A reachable `fn` in `shared/src/store/` or in the function's crate that calls the AWS
   SDK (`.put_item()`, `.transact_write_items()`, `ConditionCheck::builder()`, ...)
   needs the IAM actions of SDK_CALLS.

`python3 infra/tests/sdk_calls.py` prints the result per function.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared" / "src"
STORE = SHARED / "store"
FUNCTION_CRATES = {
    "delta-sync": ROOT / "functions" / "delta-sync" / "src",
    "webhook": ROOT / "functions" / "webhook" / "src",
    "leads-api": ROOT / "functions" / "leads-api" / "src",
}

# SDK call pattern -> the IAM actions DynamoDB authorises it with. Transactions have no
# action of their own: each item of TransactWriteItems is authorised as the action of its
# kind (Put -> PutItem, Update -> UpdateItem, Delete -> DeleteItem, ConditionCheck ->
# ConditionCheckItem), and TransactGetItems' items as GetItem.
SDK_CALLS: dict[str, frozenset[str]] = {
    r"\.get_item\(\)": frozenset({"GetItem"}),
    r"\.put_item\(\)": frozenset({"PutItem"}),
    r"\.update_item\(\)": frozenset({"UpdateItem"}),
    r"\.delete_item\(\)": frozenset({"DeleteItem"}),
    r"\.query\(\)": frozenset({"Query"}),
    r"\.scan\(\)": frozenset({"Scan"}),
    r"\.batch_get_item\(\)": frozenset({"BatchGetItem"}),
    r"\.batch_write_item\(\)": frozenset({"BatchWriteItem"}),
    r"\.transact_get_items\(\)": frozenset({"GetItem"}),
    r"\.transact_write_items\(\)": frozenset(),
    r"\bPut::builder\(": frozenset({"PutItem"}),
    r"\bUpdate::builder\(": frozenset({"UpdateItem"}),
    r"\bDelete::builder\(": frozenset({"DeleteItem"}),
    r"\bConditionCheck::builder\(": frozenset({"ConditionCheckItem"}),
    r"\.condition_check\(": frozenset({"ConditionCheckItem"}),
    r"\.put\(\s*Put": frozenset({"PutItem"}),
    r"\.update\(\s*Update": frozenset({"UpdateItem"}),
    r"\.delete\(\s*Delete": frozenset({"DeleteItem"}),
}
# A transaction whose items are not built next to the call: its items' builders above
# decide the actions, so the call alone adds none (but is still reported).


@dataclass
class Fn:
    name: str
    path: Path
    line: int
    body: str
    owner: str | None  # the type of the enclosing impl block; None for a free fn
    method: bool  # takes self
    sdk_calls: dict[str, int] = field(default_factory=dict)  # pattern -> count


_TOKEN = re.compile(
    r"""
      (?P<line>//[^\n]*)
    | (?P<block>/\*)
    | (?P<raw>b?r(?P<hashes>\#*)")
    | (?P<str>b?"(?:\\.|[^"\\])*")
    | (?P<char>b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])')
    """,
    re.VERBOSE | re.DOTALL,
)


def strip(source: str) -> str:
    """Source with comments and string/char literals blanked (newlines kept)."""
    out: list[str] = []
    i = 0
    while True:
        m = _TOKEN.search(source, i)
        if not m:
            out.append(source[i:])
            break
        out.append(source[i : m.start()])
        if m.group("block"):
            depth, j = 1, m.end()
            while depth and j < len(source):
                if source.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif source.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            end = j
        elif m.group("raw"):
            close = '"' + m.group("hashes")
            end = source.index(close, m.end()) + len(close)
        else:
            end = m.end()
        out.append("".join(c if c == "\n" else " " for c in source[m.start() : end]))
        i = end
    return "".join(out)


def matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced braces")


def blank(text: str, start: int, end: int) -> str:
    return text[:start] + "".join(c if c == "\n" else " " for c in text[start:end]) + text[end:]


def drop_test_items(text: str) -> str:
    """Blanks every item under #[cfg(test)] (test modules, test-only functions)."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]", text)
        if not m:
            return text
        brace, semi = text.find("{", m.end()), text.find(";", m.end())
        if brace != -1 and (semi == -1 or brace < semi):
            end = matching_brace(text, brace) + 1
        else:
            end = semi + 1
        text = blank(text, m.start(), end)


_IMPL = re.compile(r"\bimpl\b(?:\s*<[^{;]*?>)?\s+([^{;]*?)\{")


def impl_blocks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, type name) of each impl block: `impl X`, `impl<T> Tr for X<T>`."""
    blocks = []
    for m in _IMPL.finditer(text):
        head = re.sub(r"\bwhere\b.*", "", m.group(1), flags=re.DOTALL)
        target = head.split(" for ")[-1].strip()
        target = re.sub(r"<.*", "", target).strip().split("::")[-1].lstrip("&")
        start = m.end() - 1
        blocks.append((start, matching_brace(text, start), target))
    return blocks


def functions_in(path: Path, with_sdk: bool) -> list[Fn]:
    text = drop_test_items(strip(path.read_text()))
    blocks = impl_blocks(text)
    found = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", text):
        brace, semi = text.find("{", m.end()), text.find(";", m.end())
        if brace == -1 or (semi != -1 and semi < brace):
            continue  # a trait method without a default body
        owner = None
        for start, end, name in blocks:
            if start < m.start() < end:
                owner = name  # innermost wins: blocks are in source order
        signature = text[m.end() : brace]
        body = text[brace : matching_brace(text, brace) + 1]
        fn = Fn(
            m.group(1),
            path,
            text.count("\n", 0, m.start()) + 1,
            body,
            owner,
            bool(re.search(r"\bself\b", signature)),
        )
        if with_sdk:
            for pattern in SDK_CALLS:
                n = len(re.findall(pattern, body))
                if n:
                    fn.sdk_calls[pattern] = n
        found.append(fn)
    return found


def rust_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.rs"))


# Paths into our own code; any other `a::b::name(` is a dependency's function.
OWN_PATH_ROOTS = {"crate", "self", "super", "spartan_sync", "delta_sync", "webhook", "leads_api"}
# Method names that std, iterators, futures or the SDK builders also have. A call
# `receiver.name(..)` to one of them counts only when the receiver is `self` or its
# name matches the type that defines `name` (`engine.run()` -> SyncEngine::run; not
# `lambda_http::run`, `fields.push(..)`); any other name counts for every definer.
COMMON_METHODS = {
    "new", "default", "from", "into", "push", "pop", "get", "insert", "remove", "run",
    "send", "build", "clone", "len", "is_empty", "iter", "map", "parse", "fmt", "next",
    "contains", "extend", "update", "delete", "put", "query", "load", "save", "call",
    "finish", "start", "stop", "as_str", "to_string", "eq", "cmp", "hash", "write",
    "read", "take", "set", "add", "apply", "since", "now", "join", "spawn",
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def callees(fn: Fn, by_name: dict[str, list[Fn]], modules: set[str]) -> list[Fn]:
    out: list[Fn] = []
    body = fn.body
    for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\b", body):
        name = m.group(1)
        candidates = by_name.get(name)
        if not candidates:
            continue
        before = body[: m.start()].rstrip()
        after = body[m.end() :].lstrip()
        if before.endswith("::"):
            path = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*::$", before)
            qualifier = path.group(1) if path else ""
            if qualifier == "Self":
                out += [c for c in candidates if c.owner == fn.owner]
            elif qualifier[:1].isupper():
                out += [c for c in candidates if c.owner == qualifier]
            else:
                head = re.search(r"([A-Za-z_][A-Za-z0-9_]*)(?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)*\s*::$", before)
                root = head.group(1) if head else qualifier
                if root in OWN_PATH_ROOTS or root in modules:
                    out += [c for c in candidates if c.owner is None]
        elif before.endswith("."):
            receiver = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^()]*\))?\s*\.$", before)
            recv = receiver.group(1) if receiver else ""
            methods = [c for c in candidates if c.method]
            if recv == "self":
                same = [c for c in methods if c.owner == fn.owner]
                out += same or methods
            elif name in COMMON_METHODS:
                out += [c for c in methods if c.owner and recv and recv in snake(c.owner)]
            else:
                out += methods
        elif after.startswith("(") or after.startswith("::<"):
            out += [c for c in candidates if c.owner is None]
        elif not after.startswith("!"):
            # a function passed by name, e.g. `.map(lead_from_item)`
            out += [c for c in candidates if c.owner is None]
    return out


@dataclass
class Reach:
    function: str
    actions: set[str]
    # action -> ["path:line fn_name", ...] of the reachable SDK calls needing it
    evidence: dict[str, list[str]]
    reachable: list[Fn]


def analyse(function: str, shared: Path = SHARED, crate: Path | None = None) -> Reach:
    """What `function` can reach: its crate (FUNCTION_CRATES, or `crate`) plus `shared`."""
    crate = crate or FUNCTION_CRATES[function]
    store = shared / "store"
    fns: list[Fn] = []
    for path in rust_files(shared):
        fns += functions_in(path, with_sdk=store in path.parents)
    own = []
    for path in rust_files(crate):
        own += functions_in(path, with_sdk=True)
    fns += own
    modules = {p.stem for p in rust_files(shared)} | {p.name for p in shared.rglob("*") if p.is_dir()}
    modules |= {p.stem for p in rust_files(crate)}
    by_name: dict[str, list[Fn]] = {}
    for fn in fns:
        by_name.setdefault(fn.name, []).append(fn)
    seen: set[int] = set()
    todo = list(own)
    reachable: list[Fn] = []
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        reachable.append(fn)
        todo.extend(c for c in callees(fn, by_name, modules) if id(c) not in seen)
    actions: set[str] = set()
    evidence: dict[str, list[str]] = {}
    for fn in reachable:
        for pattern in fn.sdk_calls:
            for action in SDK_CALLS[pattern]:
                actions.add(action)
                evidence.setdefault(action, []).append(where(fn))
    return Reach(function, actions, evidence, reachable)


def where(fn: Fn) -> str:
    path = fn.path.relative_to(ROOT) if ROOT in fn.path.parents else fn.path
    return f"{path}:{fn.line} {fn.name}"


def store_sdk_fns(store: Path = STORE) -> list[Fn]:
    """Every non-test fn of shared/src/store that calls the SDK, reachable or not."""
    return [fn for path in rust_files(store) for fn in functions_in(path, with_sdk=True) if fn.sdk_calls]


if __name__ == "__main__":
    for name in FUNCTION_CRATES:
        reach = analyse(name)
        print(f"{name}: {sorted(reach.actions)}")
        if "-v" in sys.argv:
            for action, where in sorted(reach.evidence.items()):
                print(f"  {action}: {', '.join(sorted(set(where)))}")
    reached = {where(f) for n in FUNCTION_CRATES for f in analyse(n).reachable}
    for fn in store_sdk_fns():
        if where(fn) not in reached:
            print("reached by no function:", where(fn), sorted(fn.sdk_calls))
