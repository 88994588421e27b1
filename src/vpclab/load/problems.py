"""Paths inside input data, their dotted field names, and user-facing messages for Pydantic and model errors."""

from __future__ import annotations

import re
import types
import typing

from pydantic import BaseModel

#: A place inside the input data: mapping keys and list positions (from 0), e.g. `("hosts", "web", "ip")`.
Path = tuple[str | int, ...]


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


def pydantic_message(item: typing.Mapping[str, typing.Any], model: type[BaseModel], loc: tuple) -> str:
    """One Pydantic error as a message saying what is expected; `loc` is its place inside `model`."""
    kind = item["type"]
    value = item.get("input")
    if kind == "missing":
        return "this key is required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return f"unknown key {loc[-1]!r}" + (f": expected one of {', '.join(allowed)}" if allowed else "")
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        return f"{value!r} is not valid: expected {expected}"
    if kind in ("model_type", "dict_type"):
        return f"expected a mapping, got {type(value).__name__} {value!r}"
    if kind == "list_type":
        return f"expected a list, got {type(value).__name__} {value!r}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not valid: expected lowercase letters, digits and dashes"
    message = item["msg"]
    return f"{value!r} is not valid: {message[0].lower()}{message[1:]}" if value is not None else message


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    current: object = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            fields.update(current.model_fields)
            info = fields.get(part)
            current = info.annotation if info else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(tp: object) -> object:
    """Strip Optional/Annotated wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp
