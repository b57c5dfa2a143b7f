#!/usr/bin/env python3
"""Fails if two modules of the billing domain import each other, directly
or around a circle (`make domain-layers`).

The domain is a ladder (docs/architecture.md, "Domain modules, bottom to
top"): a module may use the modules below it and never one above, so a rule
can be read, tested and moved with only what it stands on. A circle makes
every module on it one big module in disguise; this check finds them.

Every top-level module of the crate (`src/<name>.rs`, or `src/<name>/` with
its files) is a node; a reference to a sibling module in code is an edge:
`use crate::tax::X;`, grouped `use crate::{tax, invoice::{A, B}};`, inline
paths `crate::tax::X`, `super::tax::X` from a file's top level, names the
crate root re-exports (`crate::DomainError` is `error`'s) and paths written
in attribute strings (`#[serde(default = "crate::dunning::...")]`; other
strings are text). Test modules count: a test is code of its module.
Comments, documentation links included, do not: a link upwards explains,
it does not depend.

Prints every group of modules that import each other (Tarjan's strongly
connected components), the shortest circle through each of their imports
and the file and line of each import, and exits 1; without circles prints
the ladder, bottom to top, and exits 0.

Usage: tools/check_domain_layers.py [SRC_DIR]   (default: shared/billing-domain/src)
"""

from __future__ import annotations

import re
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SRC = ROOT / "shared" / "billing-domain" / "src"
CRATE_ROOTS = {"lib.rs", "main.rs"}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip_comments(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The code with comments blanked and string literals emptied (line
    breaks kept, so positions keep their line), and the string literals with
    their offsets, whose `crate::` paths are read separately."""
    out: list[str] = []
    strings: list[tuple[int, str]] = []
    i, n = 0, len(text)

    def blank(chunk: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in chunk)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(blank(text[i:end]))
            i = end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = '"' + m.group(1)
            start = i + m.end()
            end = text.find(close, start)
            end = n if end < 0 else end
            strings.append((start, text[start:end]))
            out.append('"' + blank(text[start:end]) + '"' + " " * (len(close) - 1 + m.end() - 1))
            i = end + len(close)
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            strings.append((i + 1, text[i + 1 : j]))
            out.append('"' + blank(text[i + 1 : j]) + '"')
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}', '"') or a lifetime ('a).
            m = re.match(r"'(\\(u\{[0-9A-Fa-f]+\}|x[0-9A-Fa-f]{2}|.)|[^\\'])'", text[i:])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out), strings


def group_heads(code: str, start: int) -> tuple[list[str], int]:
    """The first segment of each path in the group opening at `code[start]`
    (`{a, b::c, d::{e}}` gives a, b, d) and the offset after its `}`."""
    heads, depth, i, expecting = [], 0, start, True
    while i < len(code):
        c = code[i]
        if c == "{":
            depth += 1
            expecting = depth == 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return heads, i + 1
        elif c == "," and depth == 1:
            expecting = True
        elif expecting and depth == 1 and (m := IDENT.match(code, i)):
            heads.append(m.group(0))
            expecting = False
            i = m.end()
            continue
        i += 1
    return heads, i


def module_depths(code: str) -> list[int]:
    """For each offset of `code`, how many inline `mod name { ... }` blocks
    enclose it (0: the file's top level)."""
    opens_module = {m.end() - 1 for m in re.finditer(r"(?<![A-Za-z0-9_])mod\s+[A-Za-z_][A-Za-z0-9_]*\s*\{", code)}
    depths = [0] * (len(code) + 1)
    stack: list[bool] = []
    mods = 0
    for i, c in enumerate(code):
        if c == "{":
            stack.append(i in opens_module)
            mods += i in opens_module
        elif c == "}" and stack and stack.pop():
            mods -= 1
        depths[i + 1] = mods
    return depths


def attribute_spans(code: str) -> list[tuple[int, int]]:
    """Where the attributes (`#[...]`, `#![...]`) of `code` begin and end."""
    spans = []
    for m in re.finditer(r"#!?\[", code):
        depth, i = 0, m.end() - 1
        while i < len(code):
            depth += {"[": 1, "]": -1}.get(code[i], 0)
            if depth == 0:
                break
            i += 1
        spans.append((m.start(), i))
    return spans


def references(
    text: str, modules: set[str], reexports: dict[str, str], file_depth: int = 1
) -> list[tuple[str, int]]:
    """The sibling modules a module file's text refers to, each with the line
    of the reference. `file_depth` is how deep the file's own module lies
    below the crate root (1 for `src/tax.rs` and `src/tax/mod.rs`, 2 for
    `src/tax/rates.rs`), so `super::` is followed to the crate root."""
    code, strings = strip_comments(text)
    depths = module_depths(code)
    found: list[tuple[str, int]] = []

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def resolve(name: str, offset: int) -> None:
        target = name if name in modules else reexports.get(name)
        if target:
            found.append((target, line_of(offset)))

    # crate::x, $crate::x, crate::{...}; super::x from a top-level file, or
    # super::super::x from one module further down, and so on.
    path_start = re.compile(r"(?<![A-Za-z0-9_])(\$?crate|(?:super\s*::\s*)*super)\s*::\s*")
    for m in path_start.finditer(code):
        head = m.group(1)
        if "super" in head and head.count("super") != depths[m.start()] + file_depth:
            continue  # a path inside this file's own module
        rest = m.end()
        if code.startswith("{", rest):
            heads, _ = group_heads(code, rest)
            for name in heads:
                resolve(name, m.start())
        elif ident := IDENT.match(code, rest):
            resolve(ident.group(0), m.start())
    attributes = attribute_spans(code)
    for offset, literal in strings:
        if not any(start < offset < end for start, end in attributes):
            continue  # a path in an ordinary string is text, not a use
        for m in re.finditer(r"(?<![A-Za-z0-9_])crate::([A-Za-z_][A-Za-z0-9_]*)", literal):
            resolve(m.group(1), offset + m.start())
    return found


def crate_modules(src: Path) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """The crate's top-level modules with their files, and the names the
    crate root re-exports (`pub use error::DomainError;`) with their module."""
    modules: dict[str, list[Path]] = {}
    for path in sorted(src.iterdir()):
        if path.is_file() and path.suffix == ".rs" and path.name not in CRATE_ROOTS:
            modules.setdefault(path.stem, []).append(path)
        elif path.is_dir():
            modules.setdefault(path.name, []).extend(sorted(path.rglob("*.rs")))
    reexports: dict[str, str] = {}
    for name in CRATE_ROOTS:
        root = src / name
        if not root.exists():
            continue
        code, _ = strip_comments(root.read_text(encoding="utf-8"))
        for m in re.finditer(r"pub\s+use\s+([A-Za-z_][A-Za-z0-9_]*)\s*::\s*([^;]+);", code):
            module, rest = m.group(1), m.group(2).strip()
            if module not in modules:
                continue
            if rest.startswith("{"):
                names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:[,}]|$)", rest)
            else:
                names = [re.split(r"\s*::\s*", rest)[-1].split(" as ")[-1].strip()]
            for name in names:
                reexports[name.split()[-1]] = module
    return modules, reexports


def import_graph(src: Path) -> dict[str, dict[str, tuple[Path, int]]]:
    """Module → the modules it uses → where it first uses each."""
    modules, reexports = crate_modules(src)
    names = set(modules)
    graph: dict[str, dict[str, tuple[Path, int]]] = {name: {} for name in modules}
    for module, files in modules.items():
        for path in files:
            parts = path.relative_to(src).parts
            depth = len(parts) - (1 if parts[-1] == "mod.rs" else 0)
            text = path.read_text(encoding="utf-8")
            for target, line in references(text, names, reexports, depth):
                if target != module:
                    graph[module].setdefault(target, (path, line))
    return graph


def strongly_connected(graph: dict[str, dict[str, object]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return sorted(components)


def shortest_path(graph: dict[str, dict[str, object]], members: set[str], start: str, goal: str) -> list[str]:
    """The shortest import path from `start` to `goal` inside `members`
    (breadth-first), both ends included."""
    came_from: dict[str, str] = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [goal]
            while path[-1] != start:
                path.append(came_from[path[-1]])
            return path[::-1]
        for nxt in sorted(graph[node]):
            if nxt in members and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return []


def circles(graph: dict[str, dict[str, object]], component: list[str]) -> list[list[str]]:
    """For each import inside a component, the shortest circle it lies on,
    each circle once (written from its alphabetically first module), so
    every import that must go is shown on a circle."""
    members = set(component)
    found: set[tuple[str, ...]] = set()
    for module in component:
        for target in graph[module]:
            if target not in members:
                continue
            back = shortest_path(graph, members, target, module)
            circle = [module, *back[:-1]]
            first = circle.index(min(circle))
            found.add(tuple(circle[first:] + circle[:first]))
    return [[*c, c[0]] for c in sorted(found, key=lambda c: (len(c), c))]


def ladder(graph: dict[str, dict[str, object]]) -> list[list[str]]:
    """The modules in rungs, bottom to top: a module's rung is one above the
    highest module it uses (only defined without circles)."""
    rung: dict[str, int] = {}

    def height(node: str) -> int:
        if node not in rung:
            rung[node] = 1 + max((height(n) for n in graph[node]), default=-1)
        return rung[node]

    for node in graph:
        height(node)
    rungs: list[list[str]] = [[] for _ in range(max(rung.values(), default=-1) + 1)]
    for node, level in rung.items():
        rungs[level].append(node)
    return [sorted(r) for r in rungs]


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    if not src.is_dir():
        print(f"no such source directory: {src}", file=sys.stderr)
        return 2
    graph = import_graph(src)
    tangles = [c for c in strongly_connected(graph) if len(c) > 1]
    if tangles:
        print(f"{src}: import circles between domain modules:", file=sys.stderr)
        for component in tangles:
            print(f"\n  modules that import each other: {', '.join(component)}", file=sys.stderr)
            for circle in circles(graph, component):
                print(f"  circle: {' -> '.join(circle)}", file=sys.stderr)
            print("  their imports of each other:", file=sys.stderr)
            for module in component:
                for target, (path, line) in sorted(graph[module].items()):
                    if target in component:
                        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                        print(f"    {module} -> {target}  ({where}:{line})", file=sys.stderr)
        print(
            "\nMove what both sides need to the lower module (docs/architecture.md, "
            '"Domain modules, bottom to top").',
            file=sys.stderr,
        )
        return 1
    rungs = ladder(graph)
    print(f"{src.relative_to(ROOT) if src.is_relative_to(ROOT) else src}: {len(graph)} modules, no import circle")
    for level, modules in enumerate(rungs):
        print(f"  {level}: {', '.join(modules)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
