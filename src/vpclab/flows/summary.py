"""What a set of flow logs holds: counts the engine computed, gathered into one plain object (and its JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from vpclab.flows.discover import Problem, Sources
from vpclab.flows.fields import FIELDS
from vpclab.flows.sql import DASH_BITS

TOP_ENIS = 20


@dataclass
class FlowSummary:
    """Counts over every record read (kinds, versions, actions, ENIs, time range, `-` values, initiators)."""

    engine: str
    files: list[str]
    skipped: list[str]
    problems: list[Problem]
    kinds: dict[str, int]
    by_version: dict[str, int]
    by_action: list[tuple[str, str, int]]  # (version, action, records)
    enis: list[tuple[str, int, int, int]]  # (eni, records, nodata, skipdata), most records first
    eni_count: int
    time_range: tuple[int | None, int | None]
    dashes: dict[str, int]
    packets: int
    bytes: int
    malformed_by_file: dict[str, int]
    examples: list[Problem]
    initiators: list[tuple[str, str, int, int, int]]  # (initiator, evidence, rows, records, connections)
    directions: list[tuple[str, str, int]]  # (direction, evidence, records)
    rows: int | None  # None (and no initiators, directions) until `flow_rows` is built: FlowRun.aggregate
    malformed_by_field: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        """Lines that hold a record (any status), malformed ones excluded."""
        return sum(n for k, n in self.kinds.items() if k != "malformed")

    @property
    def unreadable(self) -> list[str]:
        """The files none of whose records could be read (a truncated gzip, a broken Parquet file, …)."""
        return [p.file for p in self.problems if p.fatal_for_file]

    @property
    def malformed(self) -> int:
        return self.kinds.get("malformed", 0)

    @property
    def usable(self) -> bool:
        """At least one record could be read; otherwise the command exits 2."""
        return self.records > 0

    def to_dict(self) -> dict[str, Any]:
        """The `--json` shape."""
        first, last = self.time_range
        return {
            "engine": self.engine,
            "files": len(self.files),
            "skipped_files": self.skipped,
            "unreadable_files": self.unreadable,
            "records": self.records,
            "kinds": dict(sorted(self.kinds.items())),
            "nodata": self.kinds.get("nodata", 0),
            "skipdata": self.kinds.get("skipdata", 0),
            "time_range": {"start": first, "end": last},
            "enis": {"count": self.eni_count,
                     "top": [{"eni": e, "records": r, "nodata": n, "skipdata": s} for e, r, n, s in self.enis]},
            "versions": self.by_version,
            "actions": [{"version": v, "action": a, "records": n} for v, a, n in self.by_action],
            "dash_values": self.dashes,
            "packets": self.packets,
            "bytes": self.bytes,
            "malformed": {"lines": self.malformed, "by_file": self.malformed_by_file,
                          "by_field": self.malformed_by_field,
                          "first": [{"file": p.file, "line": p.line, "problem": p.message} for p in self.examples]},
            "aggregate_rows": self.rows,
            "initiators": [{"initiator": i, "evidence": e, "rows": r, "records": n, "connections": c}
                           for i, e, r, n, c in self.initiators],
            "directions": [{"direction": d, "evidence": e, "records": n} for d, e, n in self.directions],
            "problems": [{"file": p.file, "line": p.line, "problem": p.message, "file_unreadable": p.fatal_for_file,
                          "detail": p.detail} for p in self.problems],
        }


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _label(value: Any) -> str:
    return "-" if value is None else str(value)


def build_summary(engine: Any, sources: Sources, answers: dict[str, list[tuple[Any, ...]]],
                  examples: list[Problem]) -> FlowSummary:
    """Gather the engine's answers (a few dozen rows) into a FlowSummary, in a stable order (the row counts come
    later: add_row_counts)."""
    kinds = {str(k): _int(n) for k, n in answers["kinds"]}
    dashes: dict[str, int] = {}
    for mask, n in answers["dashes"]:
        for f in FIELDS:
            if int(mask) & (1 << DASH_BITS[f.name]):
                dashes[f.name] = dashes.get(f.name, 0) + _int(n)
    by_file: dict[str, int] = {}
    by_field: dict[str, int] = {}
    for file, bad, n in answers["malformed"]:
        path = engine.path(str(file))
        path = sources.shown.get(path, path)
        by_file[path] = by_file.get(path, 0) + _int(n)
        by_field[str(bad)] = by_field.get(str(bad), 0) + _int(n)
    enis = sorted(((_label(e), _int(r), _int(nd), _int(sk)) for e, r, nd, sk in answers["enis"]),
                  key=lambda t: (-t[1], t[0]))
    first, last = answers["time"][0] if answers["time"] else (None, None)
    packets, byte_count = answers["traffic"][0] if answers["traffic"] else (0, 0)
    return FlowSummary(
        engine=engine.name,
        files=[sources.shown.get(f, f) for f in sources.files],
        skipped=sources.skipped,
        problems=sorted((replace(p, file=sources.shown.get(p.file, p.file)) for p in sources.problems),
                        key=lambda p: (p.file, p.line)),
        kinds=kinds,
        by_version={_label(v): _int(n) for v, n in sorted(answers["versions"], key=lambda t: _label(t[0]))},
        by_action=sorted((_label(v), _label(a), _int(n)) for v, a, n in answers["actions"]),
        enis=enis[:TOP_ENIS],
        eni_count=len(enis),
        time_range=(None if first is None else int(first), None if last is None else int(last)),
        dashes=dict(sorted(dashes.items())),
        packets=_int(packets),
        bytes=_int(byte_count),
        malformed_by_file=dict(sorted(by_file.items())),
        malformed_by_field=dict(sorted(by_field.items())),
        examples=examples,
        initiators=[],
        directions=[],
        rows=None,
    )


def add_row_counts(summary: FlowSummary, answers: dict[str, list[tuple[Any, ...]]]) -> None:
    """Fill in what ROW_SUMMARY counted over `flow_rows`: its rows, initiators by evidence, directions."""
    summary.initiators = sorted((_label(i), _label(e), _int(r), _int(n), _int(c))
                                for i, e, r, n, c in answers["initiators"])
    summary.directions = sorted((_label(d), _label(e), _int(n)) for d, e, n in answers["directions"])
    summary.rows = _int(answers["rows"][0][0]) if answers["rows"] else 0
