"""Paths inside input data, their dotted field names, and which key of a rule a model error concerns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

T = TypeVar("T")

#: A place inside the input data: mapping keys and list positions (from 0), e.g. `("hosts", "web", "ip")`.
Path = tuple[str | int, ...]


def nearest(values: Mapping[Path, T], path: Path) -> T | None:
    """The value recorded for `path`, or for its nearest enclosing path that has one (a line, an origin)."""
    for end in range(len(path), -1, -1):
        value = values.get(tuple(path[:end]))
        if value is not None:
            return value
    return None


def field_name(path: Path) -> str:
    """`("steps", 2, "connect", "expect")` → `steps[3].connect.expect` (list positions counted from 1)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def model_path(field: str) -> Path:
    """`security_groups.sg-a.ingress[1].sg` → `("security_groups", "sg-a", "ingress", 0, "sg")`."""
    path: list[str | int] = []
    for part in field.split(".") if field else []:
        match = re.fullmatch(r"([^\[]+)((?:\[\d+\])*)", part)
        if not match:
            path.append(part)
            continue
        path.append(match.group(1))
        path.extend(int(n) - 1 for n in re.findall(r"\[(\d+)\]", match.group(2)))
    return tuple(path)


def guess_field(message: str, spec: BaseModel) -> str:
    """Which key of a rule a model error concerns, from its message."""
    text = message.lower()
    for key, words in (("proto", ("protocol",)), ("ports", ("port",)), ("icmp", ("icmp",)),
                       ("cidr", ("cidr", "ipv6 peer")), ("rule", ("rule number",)), ("action", ("action",))):
        if any(w in text for w in words) and key in type(spec).model_fields:
            return key
    return ""
