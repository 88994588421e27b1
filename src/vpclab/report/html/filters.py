"""Jinja2 filters shared by every report: numbers, times and identifiers formatted one way."""

from __future__ import annotations

import datetime
from typing import Any


def number(value: Any) -> str:
    """1234567 -> '1,234,567'; None -> '–'."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def seconds(value: Any) -> str:
    """Virtual seconds as shown on a timeline: '12.5 s'."""
    if value is None:
        return "–"
    return f"{float(value):.3f}".rstrip("0").rstrip(".") + " s"


def utc(value: Any) -> str:
    """Unix seconds or an ISO text as 'YYYY-MM-DD HH:MM:SS UTC'; None -> '–'."""
    if value is None or value == "":
        return "–"
    if isinstance(value, (int, float)):
        moment = datetime.datetime.fromtimestamp(int(value), datetime.timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value).replace("T", " ").replace("Z", " UTC")


def slug(value: Any) -> str:
    """A text usable as an HTML id or class: letters, digits and '-'."""
    return "".join(c if c.isalnum() else "-" for c in str(value)).strip("-").lower() or "x"


FILTERS = {"number": number, "seconds": seconds, "utc": utc, "slug": slug}
