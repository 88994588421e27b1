"""The line each finding's JSON path starts at in its snapshot file, for SARIF regions (GitHub code scanning shows
a result only at a line). Describe JSON origins are `FILE: $.Key[i].Key[j]…`; the file is scanned once with a
tokenizer, recording the start line of the values whose paths are asked for (and skipping the rest)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from pathlib import Path

from vpclab.analysis.audit.finding import Finding

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def json_lines(text: str, wanted: set[str]) -> dict[str, int]:
    """The 1-based line at which the value at each wanted JSON path (`$.a[0].b`) starts in `text`."""
    prefixes = {"$"}
    for path in wanted:
        for cut in re.finditer(r"[.\[]", path):
            prefixes.add(path[:cut.start()])
        prefixes.add(path)
    newlines = [m.start() for m in re.finditer("\n", text)]
    found: dict[str, int] = {}
    # a stack of containers: [kind, path, next key or index, interesting]
    stack: list[list] = []
    pending_key: str | None = None
    expect_value = True  # at the start: the document's value
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token in ",:":
            if token == ":":
                expect_value = True
            elif stack and stack[-1][0] == "[":
                stack[-1][2] += 1
                expect_value = True
            continue
        if token in "}]":
            stack.pop()
            expect_value = False
            continue
        top = stack[-1] if stack else None
        if top is not None and top[0] == "{" and not expect_value:
            pending_key = token[1:-1] if token.startswith('"') else token  # an object's key
            continue
        # a value starts here
        if top is None:
            path = "$"
        elif not top[3]:
            path = ""
        elif top[0] == "{":
            path = f"{top[1]}.{pending_key}"
        else:
            path = f"{top[1]}[{top[2]}]"
        if path and path in wanted:
            found[path] = bisect_right(newlines, m.start()) + 1
        if token in "{[":
            stack.append([token, path, 0, bool(path) and path in prefixes])
            expect_value = token == "["
        else:
            expect_value = False
    return found


def source_lines(snapshot: str, findings: Iterable[Finding]) -> dict[tuple[str, str], int]:
    """(file, JSON path) → line for the findings whose origin is a JSON path in a file of the snapshot (a folder);
    files that cannot be read are left out (the SARIF result then has no region)."""
    root = Path(snapshot)
    if not root.is_dir():
        return {}
    wanted: dict[str, set[str]] = {}
    for f in findings:
        if f.source is not None and f.source.file and f.source.path.startswith("$"):
            wanted.setdefault(f.source.file, set()).add(f.source.path)
    lines: dict[tuple[str, str], int] = {}
    for file, paths in wanted.items():
        path = Path(file) if Path(file).is_absolute() else root / file
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for json_path, line in json_lines(text, paths).items():
            lines[(file, json_path)] = line
    return lines
