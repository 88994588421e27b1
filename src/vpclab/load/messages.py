"""Pydantic's validation errors in the lab's words: which field, what it expects, and an example.

Pydantic says "input should be a valid string"; a user needs "expected an address block such as 198.18.0.0/16".
"""

from __future__ import annotations

import difflib
import types
import typing

from pydantic import BaseModel, ValidationError

#: What a key expects, by its name, with an example (the same words as docs/labs.md).
EXPECTED: dict[str, str] = {
    "lab": "an id of lowercase letters, digits and dashes, such as my-lab",
    "title": "one line of text",
    "cidr": "an address block such as 198.18.0.0/16 (IPv6 in quotes: '::/0')",
    "ipv6_cidr": "an IPv6 address block in quotes, such as '2001:db8::/56'",
    "ip": "an IPv4 address such as 198.18.1.10",
    "public_ip": "a public IPv4 address such as 198.51.100.20",
    "ipv6": "an IPv6 address in quotes, such as '2001:db8:0:1::10'",
    "proto": "a protocol: tcp, udp, icmp, icmpv6, all, -1 or a number 0-255",
    "ports": "a port such as 443, or a range such as 1024-65535",
    "ephemeral_ports": "a port range such as 32768-60999",
    "port": "a port 1-65535, such as 443",
    "sport": "a source port 1-65535, such as 40000",
    "type": "an ICMP type: a number 0-255 or a name such as echo-request",
    "code": "an ICMP code: a number 0-255",
    "rule": "a rule number 1-32766, such as 100",
    "action": "allow or deny",
    "direction": "ingress or egress",
    "data": "text, such as hello",
    "seconds": "a number of seconds, such as 31",
    "id": "a number 0-65535",
    "seq": "a number 0-65535",
    "host": "a host name",
    "from": "a host name",
    "to": "a host name or an IP address",
    "conn": "the name a connect step gave with as:",
    "as": "a name for the connection, such as c1",
    "subnet": "a subnet name",
    "nacl": "a network ACL name",
    "sg": "a security group name",
    "prefix_list": "a prefix list name",
    "security_groups": "a list of security group names, such as [sg-web]",
    "max_entries": "a positive number of entries, such as 100000",
    "tcp_established": "a number of seconds 60-432000",
    "udp": "a number of seconds 30-60",
    "udp_stream": "a number of seconds 60-180",
    "icmp": "{type: …, code: …}, such as {type: echo-request}",
}
#: What an item of a list expects, by the list's key.
ITEM_EXPECTED: dict[str, str] = {
    "security_groups": "a security group name, such as sg-web",
    "prefix_lists": "a CIDR such as 203.0.113.0/24",
    "ingress": "a rule: a mapping such as {proto: tcp, ports: 443, cidr: 0.0.0.0/0}",
    "egress": "a rule: a mapping such as {proto: tcp, ports: 443, cidr: 0.0.0.0/0}",
}
#: Keys whose text may well look like a number.
TEXT_KEYS = {"data", "description", "title", "about"}
#: What a kind of value is, when the key has no entry above.
KIND: dict[str, str] = {
    "string": "text", "int": "a whole number", "float": "a number", "bool": "true or false", "list": "a list",
    "dict": "a mapping", "model": "a mapping",
}
#: Pydantic's error types that only say "not of the expected kind".
WRONG_KIND = {
    "string_type": "string", "int_type": "int", "int_parsing": "int", "int_from_float": "int", "float_type": "float",
    "float_parsing": "float", "bool_type": "bool", "bool_parsing": "bool", "list_type": "list", "dict_type": "dict",
    "model_type": "model", "model_attributes_type": "model", "finite_number": "float",
}
BOUNDS = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def pydantic_problems(error: ValidationError, schema: object) -> list[tuple[tuple, str]]:
    """Each Pydantic error of a value checked against `schema` as (its place, the lab's message).

    One mistake is one problem: the errors of a value that may take several types (`int | str`) are one, and a
    misspelt key (`cdir`) is reported as such, not also as the required key it misses (`cidr`).
    """
    problems: dict[tuple, str] = {}
    items = [(item, _clean_loc(schema, tuple(item["loc"]))) for item in error.errors()]
    misspelt = {loc[:-1] + (close,) for item, loc in items if item["type"] == "extra_forbidden"
                for close in difflib.get_close_matches(str(loc[-1]), _allowed_keys(schema, loc[:-1]), n=1)}
    for item, loc in items:
        if not (item["type"] == "missing" and loc in misspelt):
            problems.setdefault(loc, pydantic_message(item, schema, loc))
    return list(problems.items())


def _clean_loc(schema: object, loc: tuple) -> tuple:
    """An error's place without Pydantic's union member tags: `('proto', 'str')` → `('proto',)`."""
    clean: list[object] = []
    current: object = schema
    for part in loc:
        if _is_union(current) and isinstance(part, str):
            members = [a for a in typing.get_args(_unwrap(current)) if getattr(a, "__name__", str(a)) == part]
            current = members[0] if members else None
            continue
        clean.append(part)
        current = _annotation(current, (part,)) if current is not None else None
    return tuple(clean)


def _is_union(tp: object) -> bool:
    return typing.get_origin(_unwrap(tp)) in (typing.Union, types.UnionType)


def pydantic_message(item: typing.Mapping[str, typing.Any], schema: object, loc: tuple) -> str:
    """One Pydantic error as the lab says it; `loc` is its place inside `schema` (union tags removed)."""
    kind = item["type"]
    value = item.get("input")
    expected = _expected(loc)
    if kind == "missing":
        return "this key is required" + (f": expected {expected}" if expected else "")
    if kind == "extra_forbidden":
        return unknown_key(loc[-1], _allowed_keys(schema, loc[:-1]))
    if kind == "literal_error":
        return f"{value!r} is not valid: expected {item.get('ctx', {}).get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not valid: expected {expected or 'lowercase letters, digits and dashes'}"
    if kind == "string_too_short":
        return f"this value is empty: expected {expected or 'at least one character'}"
    if kind in BOUNDS:
        low, high = _bounds(schema, loc)
        if low is not None and high is not None:
            return f"{value!r} is out of range: expected {low:g}-{high:g}"
        return f"{value!r} is out of range: {item['msg'][0].lower()}{item['msg'][1:]}"
    if kind in WRONG_KIND:
        wanted = expected or KIND[WRONG_KIND[kind]]
        if value is None:
            return f"this key has no value: expected {wanted}"
        return f"{_shown(value)} is not valid: expected {wanted}" + _quoting(kind, value, loc)
    message = item["msg"]
    return f"{_shown(value)} is not valid: {message[0].lower()}{message[1:]}" if value is not None else message


def unknown_key(key: object, allowed: list[str]) -> str:
    """A key the schema does not have, with the closest one it has (a typo) and all it has."""
    close = difflib.get_close_matches(str(key), allowed, n=1)
    return (f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            + (f": expected one of {', '.join(allowed)}" if allowed else ""))


def _quoting(kind: str, value: object, loc: tuple) -> str:
    """Why YAML gave a value of another kind than the text the key expects, and what to write instead."""
    if WRONG_KIND[kind] != "string":
        return ""
    if isinstance(value, bool):
        return " (YAML reads yes, no, on, off, true and false as true or false: put the word in quotes)"
    if isinstance(value, (int, float)) and loc and loc[-1] in TEXT_KEYS:
        return " (a bare number is a number in YAML: put it in quotes)"
    return ""


def _shown(value: object) -> str:
    """A value as the message shows it: a mapping or a list as the kind it is, not its whole text."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _expected(loc: tuple) -> str:
    """What the value at `loc` expects, from its key (or its list's key for an item)."""
    if not loc:
        return ""
    if isinstance(loc[-1], int):
        return ITEM_EXPECTED.get(str(loc[-2]), "") if len(loc) > 1 else ""
    return EXPECTED.get(str(loc[-1]), "")


def _bounds(schema: object, loc: tuple) -> tuple[float | None, float | None]:
    """The inclusive bounds the field at `loc` declares (Field(ge=…, le=…)), as far as it declares them."""
    low = high = None
    for constraint in _constraints(_annotation(schema, loc)):
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
    return low, high


def _constraints(tp: object) -> typing.Iterator[object]:
    """The metadata of an annotation, through Optional and Annotated (a Field's own metadata included)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        for meta in tp.__metadata__:  # type: ignore[attr-defined]
            yield from getattr(meta, "metadata", [meta])
        yield from _constraints(typing.get_args(tp)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            yield from _constraints(arg)


def _allowed_keys(schema: object, loc: tuple) -> list[str]:
    current = _unwrap(_annotation(schema, loc))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _annotation(schema: object, loc: tuple) -> object:
    """The annotation of the value at `loc` inside `schema` (with its Annotated metadata), or None."""
    current: object = schema
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            fields.update(current.model_fields)
            info = fields.get(part)
            if info is None:
                return None
            current = (typing.Annotated[(info.annotation, *info.metadata)] if info.metadata  # type: ignore[misc]
                       else info.annotation)
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    return current


def _unwrap(tp: object) -> object:
    """Strip Optional and Annotated wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp
