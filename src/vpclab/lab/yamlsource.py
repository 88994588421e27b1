"""YAML loading that remembers where every value came from, so errors can name file and line."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from vpclab.errors import InputError, Origin, Problem
from vpclab.load.problems import Path, field_name


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
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def origin(self, path: Path) -> Origin:
        """The file and line of `path` (or of its nearest enclosing value)."""
        return Origin(self.file, self.line_of(path))

    def problem(self, path: Path, message: str) -> Problem:
        return Problem(field_name(path), message, self.origin(path))


def parse(text: str, file: str) -> Source:
    """Parse YAML text; a syntax error or a duplicate key raises LabError with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        what = error.problem or str(error)
        raise LabError([located(file, line, "", f"not valid YAML: {what}")]) from None
    except yaml.YAMLError as error:
        raise LabError([located(file, None, "", f"not valid YAML: {error}")]) from None
    source = Source(file, data)
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), source, problems)
    if problems:
        raise LabError(problems)
    return source


def _walk(node: yaml.Node, path: Path, source: Source, problems: list[Problem]) -> None:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = path + (key,)
            if key in seen:
                problems.append(located(source.file, key_node.start_mark.line + 1, field_name(child),
                                        "this key appears twice: expected each key once"))
            seen.add(key)
            source.lines.setdefault(child, key_node.start_mark.line + 1)
            _walk(value_node, child, source, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), source, problems)
