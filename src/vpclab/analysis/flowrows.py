"""Aggregated flow rows for tighten and replay, streamed from the flow engine in batches.

The flow reader (`vpclab.flows`) leaves the connections' row parts (`row_parts`) and, once aggregated, `flow_rows` in
its engine (DuckDB or Spark); this module only runs SELECTs over them and hands Python one small object per *distinct
row* (or need), never one per record.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from vpclab.flows.pipeline import FlowRun

BATCH = 10_000
"""Rows fetched from the engine at a time."""

REPLAY_COLUMNS = ("eni", "direction", "protocol", "local_addr", "local_port", "peer_addr", "peer_port", "action",
                  "initiator", "initiator_evidence", "packets", "bytes", "records", "connections", "first_seen",
                  "last_seen", "client_port_min", "client_port_max")

REPLAY_ROWS = f"SELECT {', '.join(REPLAY_COLUMNS)} FROM flow_rows ORDER BY {', '.join(REPLAY_COLUMNS[:9])}"
"""Every aggregated row, in a stable order (so both engines give the same report)."""

_NEED = ("CASE WHEN initiator = 'local' THEN 'egress' WHEN initiator = 'peer' THEN 'ingress' "
         "ELSE direction END")

_USABLE_ROW = ("action = 'ACCEPT' AND direction IN ('ingress', 'egress') AND protocol IS NOT NULL "
               "AND peer_addr IS NOT NULL")

_USABLE = f"""
SELECT r.eni, r.direction, r.protocol, r.peer_addr, r.initiator, r.connections, r.bytes, r.last_seen,
       r.client_port, {_NEED} AS need, CASE WHEN {_NEED} = 'egress' THEN peer_port ELSE local_port END AS port,
       CASE WHEN initiator = 'unknown' THEN 1 ELSE 0 END AS unknown_initiator
FROM row_parts r
WHERE {_USABLE_ROW}
"""
"""The rows a proposal can use, each with the direction its rule is needed in (egress: the ENI initiated it; ingress:
initiated toward it; the row's own direction where the initiator is unknown) and the server port."""

PROFILE_NEEDS = f"""
SELECT p.gkey, p.nkey, need, protocol, port, peer_addr, unknown_initiator,
       GREATEST(SUM(CASE WHEN direction = 'egress' THEN connections ELSE 0 END),
                SUM(CASE WHEN direction = 'ingress' THEN connections ELSE 0 END)) AS flows,
       SUM(bytes) AS bytes, MAX(last_seen) AS last_seen, MIN(client_port) AS client_min,
       MAX(client_port) AS client_max, SUM(CASE WHEN direction <> need THEN connections ELSE 0 END) AS replies
FROM ({_USABLE}) n JOIN tighten_profiles p ON p.eni = n.eni
GROUP BY p.gkey, p.nkey, need, protocol, port, peer_addr, unknown_initiator
"""
"""The one pass over the connections' row parts (materialised as `tighten_needs`; summing parts is summing the rows
of `flow_rows`, without building them): each need per ENI profile (`tighten_profiles` maps
each snapshot ENI to its `gkey`, its set of groups, and its `nkey`, its subnet and ephemeral ports), with both
connections counted once per profile: the larger of the two directions' counts (a request row and its reply row,
seen by the same ENIs); the two summaries below add the profiles' counts."""

_FLOWS = "SUM(flows)"

SG_NEEDS = f"""
SELECT gkey, need, protocol, port, peer_addr, unknown_initiator, {_FLOWS} AS flows, SUM(bytes) AS bytes,
       MAX(last_seen) AS last_seen
FROM tighten_needs
GROUP BY gkey, need, protocol, port, peer_addr, unknown_initiator
ORDER BY gkey, need, protocol, port, peer_addr, unknown_initiator
"""
"""What each set of security groups needed (ENIs with the same groups are judged alike): one row per (groups,
direction a rule is needed in, protocol, server port, peer), with its evidence."""

NACL_NEEDS = f"""
SELECT nkey, need, protocol, port, peer_addr, unknown_initiator, {_FLOWS} AS flows, SUM(bytes) AS bytes,
       MAX(last_seen) AS last_seen, MIN(client_min) AS client_min, MAX(client_max) AS client_max,
       SUM(replies) AS replies
FROM tighten_needs
WHERE nkey IS NOT NULL
GROUP BY nkey, need, protocol, port, peer_addr, unknown_initiator
ORDER BY nkey, need, protocol, port, peer_addr, unknown_initiator
"""
"""The same needs per (subnet, ephemeral ports) of the ENIs (what a NACL entry depends on), with the client ports
seen and the connections whose answer the logs show ACCEPTed (`replies`)."""


class FlowRow(NamedTuple):
    """One aggregated row of `flow_rows` (REPLAY_COLUMNS): what one ENI saw one way, with its counts (a named tuple:
    replay makes one per distinct row, millions at scale, and a tuple is built several times faster than a frozen
    dataclass)."""

    eni: str
    direction: str  # ingress | egress | unknown
    protocol: int | None
    local_addr: str | None
    local_port: str  # a number, 'ephemeral' (the connection's client side) or '-'
    peer_addr: str | None
    peer_port: str
    action: str | None
    initiator: str  # local | peer | unknown
    evidence: str
    packets: int
    bytes: int
    records: int
    connections: int
    first_seen: int | None
    last_seen: int | None
    client_min: int | None
    client_max: int | None

    @classmethod
    def of(cls, values: tuple[Any, ...]) -> "FlowRow":
        v = list(values)
        for i in (10, 11, 12, 13):
            v[i] = int(v[i] or 0)
        v[2] = None if v[2] is None else int(v[2])
        return cls._make(v)

    def describe(self) -> str:
        """`eni-1 egress tcp 10.0.1.5:ephemeral → 52.1.2.3:443 ACCEPT (initiator local, tcp-flags)`."""
        arrow = "→" if self.direction == "egress" else "←"
        return (f"{self.eni} {self.direction} {proto_text(self.protocol)} {self.local_addr}:{self.local_port} {arrow} "
                f"{self.peer_addr}:{self.peer_port} {self.action} (initiator {self.initiator}, {self.evidence})")


def proto_text(protocol: int | None) -> str:
    from vpclab.model.protocols import protocol_name

    return "?" if protocol is None else protocol_name(protocol)


def iso(seconds: int | float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (`2019-08-26T19:48:53Z`)."""
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def batches(run: FlowRun, sql: str, size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of `sql` over the run's engine, `size` at a time (DuckDB: a cursor; Spark: a local iterator)."""
    engine: Any = run.engine
    con = getattr(engine, "con", None)
    if con is not None:  # DuckDB
        cursor = con.execute(sql)
        while True:
            chunk = cursor.fetchmany(size)
            if not chunk:
                return
            yield [tuple(r) for r in chunk]
    spark = getattr(engine, "spark", None)
    if spark is not None:
        chunk: list[tuple[Any, ...]] = []
        for row in spark.sql(sql).toLocalIterator():
            chunk.append(tuple(row))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    rows = engine.rows(sql)
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def flow_rows(run: FlowRun) -> Iterator[FlowRow]:
    """Every aggregated row of the run, streamed (`flow_rows` is built first if it is not yet)."""
    run.aggregate()
    for chunk in batches(run, REPLAY_ROWS):
        for values in chunk:
            yield FlowRow.of(values)


USAGE = f"""
SELECT eni, action, direction, initiator, CASE WHEN {_USABLE_ROW} THEN 1 ELSE 0 END AS usable,
       SUM(records) AS records
FROM row_parts
GROUP BY eni, action, direction, initiator, CASE WHEN {_USABLE_ROW} THEN 1 ELSE 0 END
"""
"""Records per ENI and what a proposal can make of them (usable, REJECTed, direction or initiator unknown)."""


def profiles_view(pairs: list[tuple[str, str, str | None]]) -> str:
    """(ENI, gkey, nkey) triples as a SELECT, like flows.sql.known_addresses."""
    if not pairs:
        return ("SELECT CAST(NULL AS STRING) AS eni, CAST(NULL AS STRING) AS gkey, CAST(NULL AS STRING) AS nkey "
                "WHERE 1 = 0")

    def text(value: str | None) -> str:
        return "CAST(NULL AS STRING)" if value is None else "'" + value.replace("'", "''") + "'"

    values = ", ".join(f"({text(e)}, {text(g)}, {text(n)})" for e, g, n in pairs)
    return f"SELECT eni, gkey, nkey FROM (VALUES {values}) AS k(eni, gkey, nkey)"


def register_profiles(run: FlowRun, profiles: list[tuple[str, str, str | None]]) -> None:
    """The `tighten_profiles` view and the `tighten_needs` table SG_NEEDS and NACL_NEEDS read."""
    run.engine.view("tighten_profiles", profiles_view(profiles))
    run.engine.materialize("tighten_needs", PROFILE_NEEDS)


def needs(run: FlowRun, query: str) -> Iterator[list[tuple[Any, ...]]]:
    """SG_NEEDS or NACL_NEEDS over the run, in batches of plain tuples (after `register_profiles`)."""
    yield from batches(run, query)


@dataclass(frozen=True)
class Usage:
    """One USAGE row: an ENI's records of one action, direction and initiator, usable by a proposal or not."""

    eni: str
    action: str | None
    direction: str
    initiator: str
    usable: bool
    records: int


def usage(run: FlowRun) -> list[Usage]:
    """What each ENI's records are to a proposal (a few rows per ENI)."""
    return [Usage(str(e), a, str(d), str(i), bool(u), int(n or 0)) for chunk in batches(run, USAGE)
            for e, a, d, i, u, n in chunk]


def time_range(run: FlowRun) -> tuple[int | None, int | None]:
    """The first and last second the logs cover."""
    return run.summary.time_range
