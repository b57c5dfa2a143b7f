#!/usr/bin/env python3
"""Fails when a billing-store module outside the codecs spells an attribute.

Issue 22: every stored attribute is named once, in its item's codec
(`shared/billing-store/src/codec/*.rs`, `Attr::new("name")`). Flow modules
use the constants: in an expression an `Attr` renders as its placeholder,
and `Named::named` supplies the names. This check reads every other module
of the store (tests excluded: they pin the stored layout by its spelling)
and reports, by file and line:

- a string literal that is an attribute's name (`"status"`);
- an attribute's name as a bare word in an expression literal
  (`"SET paid_amount = :paid"`);
- a hand-written placeholder (`"#status"`): placeholders come from `Attr`;
- an item read or written by a spelled key (`.get("x")`, `read_s(item, "x"`).

Keys of JSON objects (`json!({"status": ...})`, an audit entry's `change`)
are a format of their own and are not read as attributes.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
STORE = ROOT / "shared" / "billing-store" / "src"

DECLARED = re.compile(r'Attr::new\("([a-z_0-9]+)"\)')
EXPRESSION = re.compile(r"(=|<|(?<!-)>|\battribute_(not_)?exists\b|\bbegins_with\b|\bBETWEEN\b|\bSET\b|\bREMOVE\b|\bIN \()")
SPELLED_ACCESS = re.compile(
    r'(\.get\(|contains_key\(|\.insert\(|\.remove\(|read_[a-z_]*\([^,()]+,\s*)"[a-z_0-9]+"'
)


# A value that happens to equal an attribute's name (a stored status) says
# so on its line.
ALLOWED = "// a value, not an attribute"
CHAR = re.compile(r"'(\\.|[^\\'])'")


def literals(text: str):
    """(line, content) of every string literal outside comments, a literal
    continued over lines (`\\` at a line's end) read as one."""
    i, line = 0, 1
    while i < len(text):
        c = text[i]
        if c == "\n":
            line += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif c == "'" and (m := CHAR.match(text, i)):
            i = m.end()
            continue
        elif c == '"':
            start, j, parts = line, i + 1, []
            while j < len(text) and text[j] != '"':
                if text[j] == "\\":
                    if text[j + 1] == "\n":
                        line += 1
                        j += 2
                        while text[j] in " \t\n":
                            line += text[j] == "\n"
                            j += 1
                        continue
                    parts.append(text[j : j + 2])
                    j += 2
                    continue
                if text[j] == "\n":
                    line += 1
                parts.append(text[j])
                j += 1
            i = j + 1
            # `"key": value` is a JSON object's key (an audit entry's
            # `change`), a format of its own, not a stored attribute.
            rest = text[i : i + 3].lstrip()
            if not (rest.startswith(":") and not rest.startswith("::")):
                yield start, "".join(parts)
            continue
        i += 1


def code(path: pathlib.Path) -> str:
    """The file before its test module."""
    text = path.read_text()
    cut = text.find("\n#[cfg(test)]")
    return text if cut < 0 else text[:cut]


def declared(codecs: pathlib.Path) -> set[str]:
    """Every attribute name the codecs declare."""
    names = set()
    for codec in codecs.glob("*.rs"):
        names.update(DECLARED.findall(codec.read_text()))
    return names


def spelled(store: pathlib.Path, names: set[str]) -> list[str]:
    """`file:line: what` for every attribute spelled outside `store/codec`."""
    codecs = store / "codec"
    word = re.compile(r"(?<![#:\w])(" + "|".join(sorted(names, key=len, reverse=True)) + r")(?!\w)")
    problems = []
    for path in sorted(store.rglob("*.rs")):
        if codecs in path.parents:
            continue
        relative = path.relative_to(store)
        text = code(path)
        source = text.splitlines()
        for number, line in enumerate(source, 1):
            if SPELLED_ACCESS.search(line) and not line.strip().startswith("//"):
                problems.append(f"{relative}:{number}: item attribute accessed by a spelled name")
        for number, literal in literals(text):
            if ALLOWED in source[number - 1]:
                continue
            tokens = [token for token in re.split(r"[,\s]+", literal) if token]
            if tokens and all(token in names for token in tokens):
                problems.append(f"{relative}:{number}: spells attribute {literal!r}")
            elif re.search(r"#[a-z_]", literal):
                problems.append(f"{relative}:{number}: hand-written placeholder in {literal!r}")
            elif EXPRESSION.search(literal) and (found := word.findall(literal)):
                problems.append(
                    f"{relative}:{number}: spells {', '.join(sorted(set(found)))} "
                    "in an expression"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    store = pathlib.Path(argv[1]) if len(argv) > 1 else STORE
    names = declared(store / "codec")
    if not names:
        print(f"check_store_codecs: no attribute declared under {store / 'codec'}")
        return 1
    problems = spelled(store, names)
    for problem in problems:
        print(f"{store}/{problem}")
    if problems:
        print(
            f"check_store_codecs: {len(problems)} spelled attribute(s); name them in "
            f"{store / 'codec'} and use the constant"
        )
        return 1
    print(f"check_store_codecs: {len(names)} attributes, each spelled only in its codec")
    return 0


if __name__ == "__main__":
    sys.exit(main())
