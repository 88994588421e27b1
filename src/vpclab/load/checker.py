"""Collect every problem in input data, each named by its dotted field and placed by a locator."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping

from pydantic import BaseModel, TypeAdapter, ValidationError

from vpclab.errors import InputError, Origin, Problem
from vpclab.load.problems import Path, field_name, model_path, pydantic_message
from vpclab.model import ModelError

#: Where a path inside the input data came from: file and line for YAML, a JSON path, a Terraform address.
Locator = Callable[[Path], Origin | None]

T = typing.TypeVar("T")
Spec = typing.TypeVar("Spec", bound=BaseModel)


def _nowhere(path: Path) -> None:
    return None


class Checker:
    """Records problems instead of stopping at the first, so a user can fix them all in one pass."""

    def __init__(self, locate: Locator | None = None) -> None:
        self.locate: Locator = locate or _nowhere
        self.problems: list[Problem] = []

    def fail(self, path: Path, message: str) -> None:
        """Record a problem with the value at `path`."""
        self.problems.append(Problem(field_name(path), message, self.locate(path)))

    def model_error(self, path: Path, error: ModelError) -> None:
        """Record a model error's problems, their field names placed under `path`."""
        for problem in error.problems:
            self.fail(path + model_path(problem.field), problem.message)

    def validate(self, model: type[Spec], data: object, path: Path) -> Spec | None:
        """`data` checked against `model` (already checked if it is one); None once its problems are recorded."""
        if isinstance(data, model):
            return data
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for item in error.errors():
                self.fail(path + tuple(item["loc"]), pydantic_message(item, model, tuple(item["loc"])))
            return None

    def sections(self, model: type[BaseModel], data: Mapping[str, object]) -> types.SimpleNamespace:
        """Check each top-level key of `data` on its own, so one bad section does not hide problems in others.

        A section that is missing gets its default (None if required); one that fails is None.
        """
        fields = model.model_fields
        for key in data:
            if key not in fields:
                self.fail((key,), f"unknown key {key!r}: expected one of {', '.join(fields)}")
        values: dict[str, object] = {}
        for name, info in fields.items():
            if name not in data:
                if info.is_required():
                    self.fail((name,), "this key is required")
                values[name] = None if info.is_required() else info.get_default(call_default_factory=True)
                continue
            annotation = info.annotation
            if info.metadata:
                annotation = typing.Annotated[(annotation, *info.metadata)]
            try:
                values[name] = TypeAdapter(annotation).validate_python(data[name])
            except ValidationError as error:
                for item in error.errors():
                    loc = (name,) + tuple(item["loc"])
                    self.fail(loc, pydantic_message(item, model, loc))
                values[name] = None
        return types.SimpleNamespace(**values)

    def result(self, value: T | None, error: type[InputError] = InputError) -> T:
        """`value`, or every problem recorded raised together as one `error`."""
        if self.problems or value is None:
            raise error(self.problems)
        return value
