"""YAML loading that remembers where every value came from, so errors can name file and line.

The text is parsed once, by libyaml (`yaml.CSafeLoader`) when PyYAML has it, else by the pure-Python loader:
the node tree gives every key's and item's line, and the same tree is constructed into plain data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from vpclab.errors import InputError, Origin, Problem
from vpclab.gc_pause import collector_paused
from vpclab.load.problems import Path, field_name, nearest

#: the fast loader when PyYAML was built with libyaml, the pure-Python one otherwise (same results)
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LabError(InputError):
    """Every problem found in a lab file, each located `FILE:LINE: field: message`; the CLI exits with status 2."""


def located(file: str, line: int | None, field: str, message: str) -> Problem:
    """A problem at a line of a file."""
    return Problem(field, message, Origin(file, line))


@dataclass
class Source:
    """A parsed YAML document and the line of every path in it."""

    file: str
    data: object
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest enclosing value that has one."""
        return nearest(self.lines, path)

    def origin(self, path: Path) -> Origin:
        """The file and line of `path` (or of its nearest enclosing value)."""
        return Origin(self.file, self.line_of(path))

    def problem(self, path: Path, message: str) -> Problem:
        return Problem(field_name(path), message, self.origin(path))


def parse(text: str, file: str) -> Source:
    """Parse YAML text once; a syntax error or a duplicate key raises LabError with its line (and a hint)."""
    loader = Loader(text)
    problems: list[Problem] = []
    source = Source(file, None)
    try:
        with collector_paused():
            node = loader.get_single_node()
            if node is not None:
                source.data = _Builder(loader, source.lines, file, problems).value(node, ())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        message = f"not valid YAML: {error.problem or error}" + _hint(text, mark)
        raise LabError([located(file, line, "", message)]) from None
    except yaml.YAMLError as error:
        raise LabError([located(file, None, "", f"not valid YAML: {error}")]) from None
    except RecursionError:
        raise LabError([located(file, None, "", "not valid YAML: nested too deeply")]) from None
    finally:
        loader.dispose()
    if problems:
        raise LabError(problems)
    return source


def _hint(text: str, mark: yaml.Mark | None) -> str:
    """What to write instead, for the two mistakes YAML reports most obscurely: tabs and a bare `::/0` in `{}`."""
    if mark is None:
        return ""
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    indent = line[:len(line) - len(line.lstrip())]
    if "\t" in indent or line[mark.column:mark.column + 1] == "\t":
        return ": YAML indents with spaces, never tabs: replace the tab on this line with spaces"
    if line[mark.column:].startswith(":") or re.search(r"[:,\[{]\s*::", line):
        return (": inside { } or [ ], a value that starts with ':' (an IPv6 CIDR such as ::/0) must be quoted: "
                "write cidr: '::/0'")
    return ""


STR, SEQ, MAP, MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map", "merge"))


class _Builder:
    """Builds plain data from the node tree in one walk, recording the line of every key and item and every
    key written twice in one mapping (the constructor would silently keep the last)."""

    def __init__(self, loader: yaml.SafeLoader, lines: dict[Path, int], file: str, problems: list[Problem]) -> None:
        self.loader = loader
        self.lines = lines
        self.file = file
        self.problems = problems
        self.open: set[int] = set()  # collections being built: an alias to one of them is a cycle

    def value(self, node: yaml.Node, path: Path) -> object:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == STR:
                return node.value
            return self.loader.yaml_constructors.get(node.tag, self.loader.construct_undefined)(self.loader, node)
        if node.tag not in (SEQ, MAP):  # !!set, !!omap, …: PyYAML's own constructor
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.open:
            raise yaml.constructor.ConstructorError(None, None, "an alias refers to its own parent",
                                                    node.start_mark)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, path + (index,)) for index, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.open.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[object, object]:
        if any(key.tag == MERGE for key, _ in node.value):
            self.loader.flatten_mapping(node)  # `<<: *defaults`, as PyYAML's constructor does it
        data: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is None or not isinstance(key, (str, int, float, bool)):
                raise yaml.constructor.ConstructorError(None, None, "a key must be a plain name",
                                                        key_node.start_mark)
            child = path + (key,)
            if key in data:
                self.problems.append(located(self.file, line, field_name(child),
                                             "this key appears twice: expected each key once"))
            self.lines.setdefault(child, line)
            data[key] = self.value(value_node, child)
        return data
