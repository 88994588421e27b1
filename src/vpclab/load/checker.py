"""Collect every problem in input data, each named by its dotted field and placed by a locator."""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Mapping

from pydantic import BaseModel, TypeAdapter, ValidationError

from vpclab.errors import InputError, Origin, Problem, ProblemList
from vpclab.load.messages import pydantic_problems, unknown_key
from vpclab.load.problems import Path, field_name, model_path
from vpclab.model import ModelError

#: Where a path inside the input data came from: file and line for YAML, a JSON path, a Terraform address.
Locator = Callable[[Path], Origin | None]

T = typing.TypeVar("T")
Spec = typing.TypeVar("Spec", bound=BaseModel)

#: a whole section failed (not a mapping): every reference to one of its entries is a consequence
EVERY = "*"
#: the section a reference message names: "unknown security group 'sg-a': …" → security_groups
REFERENCE = re.compile(r"unknown (security group|network ACL|subnet|prefix list|VPC host|host) '([^']*)'")
SECTION_OF = {"security group": "security_groups", "network ACL": "nacls", "subnet": "subnets",
              "prefix list": "prefix_lists", "VPC host": "hosts", "host": "hosts"}


def _nowhere(path: Path) -> None:
    return None


@functools.cache
def _adapter(annotation: object) -> TypeAdapter:
    return TypeAdapter(annotation)


class Checker(ProblemList):
    """Records problems instead of stopping at the first, so a user can fix them all in one pass; remembers the
    entries that failed, so what only fails because of them is not reported again."""

    def __init__(self, locate: Locator | None = None) -> None:
        self.locate: Locator = locate or _nowhere
        self.problems: list[Problem] = []
        self.failed: dict[str, set[str]] = {}  # section → names of its entries that failed (EVERY: all)

    def fail(self, path: Path, message: str) -> None:
        """Record a problem with the value at `path`."""
        self.problems.append(Problem(field_name(path), message, self.locate(path)))

    def warn(self, path: Path, message: str) -> None:
        """Record a warning about the value at `path`: reported, and the input is still used."""
        self.problems.append(Problem(field_name(path), message, self.locate(path), "warning"))

    def model_error(self, path: Path, error: ModelError) -> None:
        """Record a model error's problems, their field names placed under `path`."""
        for problem in error.problems:
            self.fail(path + model_path(problem.field), problem.message)

    def consequence(self, message: str) -> bool:
        """True when `message` is about a reference to an entry that already failed (reported there)."""
        match = REFERENCE.search(message)
        if match is None:
            return False
        names = self.failed.get(SECTION_OF[match.group(1)], set())
        return EVERY in names or match.group(2) in names

    def validate(self, model: type[Spec], data: object, path: Path) -> Spec | None:
        """`data` checked against `model` (already checked if it is one); None once its problems are recorded."""
        if isinstance(data, model):
            return data
        return self._checked(model, data, path)

    def _checked(self, annotation: object, data: object, path: Path) -> typing.Any:
        try:
            return _adapter(annotation).validate_python(data)
        except ValidationError as error:
            for loc, message in pydantic_problems(error, annotation):
                self.fail(path + loc, message)
            return None

    def sections(self, model: type[BaseModel], data: Mapping[str, object]) -> types.SimpleNamespace:
        """Check each top-level key of `data` on its own, so one bad section does not hide problems in others.

        A section that is missing gets its default (None if required); one that fails is None.
        """
        fields = model.model_fields
        for key in data:
            if key not in fields:
                self.fail((key,), unknown_key(key, list(fields)))
        values: dict[str, object] = {}
        for name, info in fields.items():
            if name not in data:
                if info.is_required():
                    self.fail((name,), "this key is required")
                    self.failed[name] = {EVERY}
                values[name] = None if info.is_required() else info.get_default(call_default_factory=True)
                continue
            annotation = typing.Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            if typing.get_origin(info.annotation) is dict:
                values[name] = self.entries(name, typing.get_args(info.annotation)[1], data[name])
            else:
                values[name] = self._checked(annotation, data[name], (name,))
        return types.SimpleNamespace(**values)

    def entries(self, section: str, annotation: object, data: object) -> dict[str, typing.Any] | None:
        """A section of named entries, each checked on its own: the good ones, the others' names in `failed`."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail((section,), f"expected a mapping of names to entries (name: {{...}}), got {type(data).__name__}")
            self.failed[section] = {EVERY}
            return None
        checked: dict[str, typing.Any] = {}
        failed = self.failed.setdefault(section, set())
        for name, item in data.items():
            if not isinstance(name, str) or not name:
                self.fail((section, name), f"{name!r} is not a valid name: expected letters, digits, - and _")
                continue
            value = self._checked(annotation, item, (section, name))
            if value is None:
                failed.add(name)
            else:
                checked[name] = value
        return checked

    def result(self, value: T | None, error: type[InputError] = InputError) -> T:
        """`value`, or every problem recorded raised together as one `error` (warnings alone raise nothing)."""
        if self.errors or value is None:
            raise error(self.problems)
        return value
