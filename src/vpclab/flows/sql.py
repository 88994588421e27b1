"""The one query: SQL text run unchanged by DuckDB and by Spark SQL (normalise, collapse, infer initiators, aggregate).

Only the common subset of both dialects is used (TRY_CAST, split_part, bit_or, `&`, CASE, CAST AS STRING, no
quoted identifiers). Engine adapters only expose each source as a view of positional text columns `c0…` with
`src_file`, `src_line` and `c_extra` (non-null when a line has more fields than its format).
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.flows.fields import BY_NAME, FIELDS, Field

DASH_BITS: dict[str, int] = {f.name: i for i, f in enumerate(FIELDS)}
"""Bit of each field in `dash_mask` (which fields held `-` in a record)."""


@dataclass(frozen=True)
class SourceView:
    """One registered source: its view name, the field at each position (None = ignored column), its version."""

    view: str
    fields: tuple[str | None, ...]
    version: int
    checks_count: bool = True  # text and CloudWatch lines can have too few or too many fields; Parquet cannot


@dataclass(frozen=True)
class InferenceOptions:
    """Choices of the initiator inference (docs/assumptions.md F-rules); all configurable."""

    ephemeral_from: int = 32768  # first port of the ephemeral class (Linux 32768-60999; IANA/Windows 49152)
    registered_from: int = 1024  # first port after the well-known ones (RFC 6335)
    first_seen: bool = True  # use first-seen (and one-direction-only) evidence at all
    lone_direction: bool = True  # a connection seen in one direction only was initiated by its sender


def _typed(field: Field, i: int) -> str:
    """The typed column of position i (integers cast once, in the inner SELECT of `normalise`)."""
    return f"c{i}" if field.sql_type == "STRING" else f"t{i}"


def _value(field: Field, i: int) -> str:
    """The field's value, NULL where `-`: an integer's TRY_CAST is already NULL there (in both engines)."""
    return f"t{i}" if field.sql_type != "STRING" else f"NULLIF(c{i}, '-')"


def _bad(field: Field, i: int) -> str:
    """A value that is not `-` and not of the field's kind. Integers must be canonical decimals: the cast value
    printed back equals the text (DuckDB rounds '1.5', Spark refuses it; both fail here)."""
    col = f"c{i}"
    if field.sql_type != "STRING":
        return f"({col} <> '-' AND NOT COALESCE(CAST(t{i} AS STRING) = {col}, FALSE))"
    if field.choices:
        allowed = ", ".join(f"'{c}'" for c in field.choices)
        return f"({col} <> '-' AND {col} NOT IN ({allowed}))"
    return ""


def normalise(source: SourceView, keep_raw: bool = False) -> str:
    """SELECT of one source's typed records: every field column (NULL where `-` or absent), checks, dash mask."""
    position = {name: i for i, name in enumerate(source.fields) if name is not None}
    last = f"c{len(source.fields) - 1}"
    out = ["src_file", "src_line"]
    checks: list[tuple[str, str]] = []
    if source.checks_count:
        checks.append(("too-few-fields", f"{last} IS NULL"))
        checks.append(("too-many-fields", "c_extra IS NOT NULL"))
    status = f"c{position['log-status']}" if "log-status" in position else None
    if status:
        checks.append(("log-status", _bad(BY_NAME["log-status"], position["log-status"])))
    # NODATA/SKIPDATA records hold '-' (or anything) elsewhere: only their status is checked (§5.6). The checks
    # are one ordered CASE, so this one branch stops them before the value checks (no guard repeated per field).
    if status:
        checks.append(("", f"{status} IN ('NODATA', 'SKIPDATA')"))
    dash_terms: list[str] = []
    casts: list[str] = []
    for field in FIELDS:
        if field.name in position:
            i = position[field.name]
            if field.sql_type != "STRING":
                # NULLIF keeps the cast out of DuckDB's reader: a bare TRY_CAST of a column read alone is pushed
                # into read_csv as a typed read, which fails on '-' (DuckDB 2.0.1) instead of giving NULL
                casts.append(f"TRY_CAST(NULLIF(c{i}, '-') AS {field.sql_type}) AS t{i}")
            out.append(f"{_value(field, i)} AS {field.column}")
            bad = _bad(field, i)
            if bad and field.name != "log-status":
                checks.append((field.name, bad))
            dash_terms.append(f"CASE WHEN c{i} = '-' THEN {1 << DASH_BITS[field.name]} ELSE 0 END")
        else:
            out.append(f"CAST(NULL AS {field.sql_type}) AS {field.column}")
    named = [(cond, f"'{name}'" if name else "NULL") for name, cond in checks]
    bad_field = "CASE " + " ".join(f"WHEN {cond} THEN {then}" for cond, then in named) + " ELSE NULL END" \
        if checks else "CAST(NULL AS STRING)"
    out.append(f"{bad_field} AS bad_field")
    out.append(f"CAST({' + '.join(dash_terms) or '0'} AS BIGINT) AS dash_mask")
    out.append(f"{source.version} AS fmt_version")
    if keep_raw:
        out.extend(f"c{i}" for i in range(len(source.fields)))
        if source.checks_count:
            out.append("c_extra")
    inner = ", ".join(["v.*", *casts])
    return f"SELECT {', '.join(out)} FROM (SELECT {inner} FROM {source.view} v) n"


def records(sources: list[SourceView]) -> str:
    """Every source's normalised records, one UNION ALL."""
    return "\nUNION ALL\n".join(normalise(s) for s in sources)


_PER_RECORD = """
SELECT CASE WHEN bad_field IS NOT NULL THEN 'malformed'
            WHEN f_log_status = 'NODATA' THEN 'nodata'
            WHEN f_log_status = 'SKIPDATA' THEN 'skipdata'
            WHEN COALESCE(f_pkt_srcaddr, f_srcaddr) IS NULL OR COALESCE(f_pkt_dstaddr, f_dstaddr) IS NULL
              THEN 'no-address'
            ELSE 'record' END AS kind,
       CASE WHEN bad_field IS NOT NULL THEN src_file END AS file,
       bad_field,
       CASE WHEN bad_field IS NULL THEN COALESCE(f_version, fmt_version) END AS version,
       CASE WHEN bad_field IS NULL THEN f_log_status END AS log_status,
       CASE WHEN bad_field IS NULL THEN f_action END AS action,
       CASE WHEN bad_field IS NULL THEN COALESCE(f_interface_id, '-') END AS eni,
       CASE WHEN bad_field IS NULL THEN f_flow_direction END AS flow_direction,
       CASE WHEN bad_field IS NULL THEN COALESCE(f_protocol, -1) END AS proto,
       CASE WHEN bad_field IS NULL THEN f_srcaddr END AS srcaddr,
       CASE WHEN bad_field IS NULL THEN COALESCE(f_srcport, -1) END AS srcport,
       CASE WHEN bad_field IS NULL THEN f_dstaddr END AS dstaddr,
       CASE WHEN bad_field IS NULL THEN COALESCE(f_dstport, -1) END AS dstport,
       CASE WHEN bad_field IS NULL AND (f_srcaddr IS NULL OR f_pkt_srcaddr <> f_srcaddr)
            THEN f_pkt_srcaddr END AS pkt_srcaddr,  -- kept only where it differs: fewer distinct keys to hash
       CASE WHEN bad_field IS NULL AND (f_dstaddr IS NULL OR f_pkt_dstaddr <> f_dstaddr)
            THEN f_pkt_dstaddr END AS pkt_dstaddr,
       CASE WHEN bad_field IS NULL THEN dash_mask ELSE 0 END AS dash_mask,
       CASE WHEN bad_field IS NULL THEN f_packets END AS f_packets,
       CASE WHEN bad_field IS NULL THEN f_bytes END AS f_bytes,
       CASE WHEN bad_field IS NULL THEN f_start END AS f_start,
       CASE WHEN bad_field IS NULL THEN f_end END AS f_end,
       CASE WHEN bad_field IS NULL THEN f_tcp_flags END AS f_tcp_flags
FROM records
"""
"""Each record's kind and typed values (NULL where malformed: a malformed line counts only per file and field)."""

_DASHES = 1 << 40
"""`meta` holds a record's dash mask below this bit (one bit per field, 40 fields) and its other attributes above."""

_META = f"""dash_mask + {_DASHES} * (
         CASE action WHEN 'ACCEPT' THEN 1 WHEN 'REJECT' THEN 2 ELSE 0 END
         + 4 * CASE flow_direction WHEN 'ingress' THEN 1 WHEN 'egress' THEN 2 ELSE 0 END
         + 16 * CASE log_status WHEN 'OK' THEN 1 WHEN 'NODATA' THEN 2 WHEN 'SKIPDATA' THEN 3 ELSE 0 END
         + 64 * CASE WHEN version >= 0 AND version < 256 THEN version ELSE 0 END
         + 16384 * CASE WHEN version >= 0 AND version < 256 THEN 0 ELSE 1 END
         + 32768 * CASE WHEN pkt_srcaddr IS NULL AND pkt_dstaddr IS NULL THEN 0 ELSE 1 END)"""
_PLAIN_META = 16384 * _DASHES
"""Below this, `meta` says everything about a record beyond its connection and side: no packet-level address
differs and the version fits (else the record's connection takes the exact path, `directed_mixed`)."""

CONN_INPUT = f"""
SELECT e.*,
       CASE WHEN fwd THEN sa ELSE da END AS lo_addr, CASE WHEN fwd THEN srcport ELSE dstport END AS lo_port,
       CASE WHEN fwd THEN da ELSE sa END AS hi_addr, CASE WHEN fwd THEN dstport ELSE srcport END AS hi_port
FROM (
  SELECT d.*, {_META} AS meta,
         kind <> 'record' OR CASE WHEN sa < da THEN TRUE WHEN sa > da THEN FALSE ELSE srcport <= dstport END AS fwd
  FROM (SELECT p.*, COALESCE(pkt_srcaddr, srcaddr) AS sa, COALESCE(pkt_dstaddr, dstaddr) AS da
        FROM ({_PER_RECORD}) p) d
) e
"""
"""Each record with its connection (the ENI and both endpoints, "lo" being the smaller by address, then port), its
side (`fwd`: sent by lo) and `meta`, the rest of what its directed row is keyed by, in one BIGINT."""


def _side_aggregates(side: str, sent: str) -> str:
    return (f"SUM(CASE WHEN {sent} THEN 1 ELSE 0 END) AS {side}_records, "
            f"SUM(CASE WHEN {sent} THEN f_packets END) AS {side}_packets, "
            f"SUM(CASE WHEN {sent} THEN f_bytes END) AS {side}_bytes, "
            f"MIN(CASE WHEN {sent} THEN f_start END) AS {side}_first, "
            f"MAX(CASE WHEN {sent} THEN f_end END) AS {side}_last, "
            f"bit_or(CASE WHEN {sent} THEN f_tcp_flags END) AS {side}_flags, "
            f"MIN(CASE WHEN {sent} THEN meta END) AS {side}_meta, "
            f"MAX(CASE WHEN {sent} THEN meta END) AS {side}_meta_max")


def _uniform(side: str) -> str:
    return f"({side}_records = 0 OR ({side}_meta = {side}_meta_max AND {side}_meta < {_PLAIN_META}))"


_KIND = 1 << 56
"""A record without a connection is keyed by `kmeta`: its `meta` (below 2^56) plus its kind's code times this."""

_KIND_CODES = (("malformed", 1), ("nodata", 2), ("skipdata", 3), ("no-address", 4))

_KIND_OF = "CASE WHEN kmeta IS NULL THEN 'record' " + " ".join(
    f"WHEN kmeta >= {code * _KIND} THEN '{kind}'" for kind, code in reversed(_KIND_CODES)) + " END"

_SIDES = ["records", "packets", "bytes", "first", "last", "flags", "meta", "meta_max"]

CONN = f"""
SELECT g.*,
       kind = 'record' AND {_uniform('lo')} AND {_uniform('hi')}
         AND NOT (lo_records > 0 AND hi_records > 0 AND lo_addr = hi_addr) AS fast
FROM (
  SELECT {_KIND_OF} AS kind,
         CASE WHEN kmeta < {2 * _KIND} THEN k_eni END AS file,
         CASE WHEN kmeta < {2 * _KIND} THEN k_addr END AS bad_field,
         CASE WHEN kmeta IS NULL OR kmeta >= {2 * _KIND} THEN k_eni END AS eni,
         proto, CASE WHEN kmeta IS NULL THEN k_addr END AS lo_addr, CASE WHEN kmeta IS NULL THEN k_port END AS lo_port,
         hi_addr, hi_port, CASE WHEN kmeta >= {2 * _KIND} THEN k_port END AS kversion,
         CAST(kmeta & {_KIND - 1} AS BIGINT) AS kmeta,
         {", ".join(f"{side}_{a}" for side in ("lo", "hi") for a in _SIDES)}
  FROM (
    SELECT k_eni, proto, k_addr, k_port, hi_addr, hi_port, kmeta,
           {_side_aggregates('lo', 'fwd')}, {_side_aggregates('hi', 'NOT fwd')}
    FROM (SELECT CASE WHEN kind = 'malformed' THEN file ELSE eni END AS k_eni,
                 CASE WHEN kind = 'record' THEN proto END AS proto,
                 CASE WHEN kind = 'record' THEN lo_addr WHEN kind = 'malformed' THEN bad_field END AS k_addr,
                 CASE WHEN kind = 'record' THEN lo_port WHEN kind <> 'malformed' THEN version END AS k_port,
                 CASE WHEN kind = 'record' THEN hi_addr END AS hi_addr,
                 CASE WHEN kind = 'record' THEN hi_port END AS hi_port,
                 CASE {" ".join(f"WHEN kind = '{kind}' THEN meta + {code * _KIND}" for kind, code in _KIND_CODES)}
                 END AS kmeta,
                 fwd, f_packets, f_bytes, f_start, f_end, f_tcp_flags, meta
          FROM conn_input c) i
    GROUP BY k_eni, proto, k_addr, k_port, hi_addr, hi_port, kmeta
  ) f
) g
"""
"""Stage 1, the only full scan: records collapse straight to connections on one ENI, each side's counts side by
side (the pairing of directions needs no second pass over millions of rows). A connection is `fast` where each side
is one directed row (one `meta`, no NAT address, the ends differ): nearly all. Records without a connection
(malformed, NODATA/SKIPDATA, one address missing) are counted on side lo, keyed in the same seven columns (fewer key
columns hash faster): `kmeta` holds their kind and `meta`, a malformed line's file and field take the ENI's and
address's places, the others' version the port's; the outer SELECT names them back."""

MIXED = """
SELECT eni, proto, lo_addr, lo_port, hi_addr, hi_port FROM conn WHERE kind = 'record' AND NOT fast
"""
"""The connections whose records differ in more than their side (ACCEPT and REJECT, two flow-log formats, NAT)."""

_DIRECTED_KEY = ("kind", "file", "bad_field", "version", "log_status", "action", "eni", "flow_direction", "proto",
                 "srcaddr", "srcport", "dstaddr", "dstport", "pkt_srcaddr", "pkt_dstaddr", "dash_mask")
"""What a directed row is keyed by (every attribute of its records but their counts)."""

_KEYED = ", ".join(f"r.{c}" for c in _DIRECTED_KEY)

DIRECTED_MIXED = f"""
SELECT {_KEYED}, COUNT(*) AS records, SUM(r.f_packets) AS packets, SUM(r.f_bytes) AS bytes,
       MIN(r.f_start) AS first_start, MAX(r.f_end) AS last_end, bit_or(r.f_tcp_flags) AS flags
FROM conn_input r
JOIN mixed m ON r.eni = m.eni AND r.proto = m.proto AND r.lo_addr = m.lo_addr AND r.lo_port = m.lo_port
            AND r.hi_addr = m.hi_addr AND r.hi_port = m.hi_port
WHERE r.kind = 'record'
GROUP BY {_KEYED}
"""
"""The exact path for `mixed` connections: their records grouped by every attribute (one directed row each). This
reads the files again, only when some connection needs it."""

_TYPES = {"version": "INTEGER", "proto": "INTEGER", "srcport": "INTEGER", "dstport": "INTEGER", "dash_mask": "BIGINT"}
_DIRECTED_TYPES = tuple((c, _TYPES.get(c, "STRING")) for c in _DIRECTED_KEY) + tuple(
    (c, "BIGINT") for c in ("records", "packets", "bytes", "first_start", "last_end")) + (("flags", "INTEGER"),)

NO_DIRECTED = "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in _DIRECTED_TYPES) + " WHERE 1 = 0"
"""`directed_mixed` when no connection is mixed (the files are not read again)."""


def _code(meta: str) -> str:
    return f"CAST(({meta} - ({meta} & {_DASHES - 1})) / {_DASHES} AS BIGINT)"


def _action(code: str) -> str:
    return f"CASE {code} & 3 WHEN 1 THEN 'ACCEPT' WHEN 2 THEN 'REJECT' END"


def _flow_direction(code: str) -> str:
    return f"CASE {code} & 12 WHEN 4 THEN 'ingress' WHEN 8 THEN 'egress' END"


def _decoded(meta: str) -> str:
    """A `meta` value's version, log status, action, flow direction and dash mask (see _META)."""
    code = _code(meta)
    return (f"CAST(({code} & 16320) / 64 AS INTEGER) AS version, "
            f"CASE {code} & 48 WHEN 16 THEN 'OK' WHEN 32 THEN 'NODATA' WHEN 48 THEN 'SKIPDATA' END AS log_status, "
            f"{_action(code)} AS action, {_flow_direction(code)} AS flow_direction, "
            f"CAST({meta} & {_DASHES - 1} AS BIGINT) AS dash_mask")


def _directed_side(side: str, other: str) -> str:
    return (f"SELECT kind, file, bad_field, eni, proto, {side}_addr AS srcaddr, {side}_port AS srcport, "
            f"{other}_addr AS dstaddr, {other}_port AS dstport, {side}_meta AS meta, {side}_records AS records, "
            f"{side}_packets AS packets, {side}_bytes AS bytes, {side}_first AS first_start, "
            f"{side}_last AS last_end, {side}_flags AS flags FROM conn WHERE fast AND {side}_records > 0")


DIRECTED = f"""
SELECT kind, file, bad_field, version, log_status, action, eni, flow_direction, proto, srcaddr, srcport, dstaddr,
       dstport, CAST(NULL AS STRING) AS pkt_srcaddr, CAST(NULL AS STRING) AS pkt_dstaddr, dash_mask, records,
       packets, bytes, first_start, last_end, flags
FROM (SELECT s.*, {_decoded('meta')}
      FROM ({_directed_side('lo', 'hi')} UNION ALL {_directed_side('hi', 'lo')}) s) f
UNION ALL
SELECT kind, file, bad_field, kversion AS version, log_status, action, eni, flow_direction, proto,
       CAST(NULL AS STRING) AS srcaddr, CAST(NULL AS INTEGER) AS srcport, CAST(NULL AS STRING) AS dstaddr,
       CAST(NULL AS INTEGER) AS dstport, CAST(NULL AS STRING) AS pkt_srcaddr, CAST(NULL AS STRING) AS pkt_dstaddr,
       CASE WHEN kind = 'malformed' THEN 0 ELSE dash_mask END AS dash_mask, lo_records AS records,
       lo_packets AS packets, lo_bytes AS bytes, lo_first AS first_start, lo_last AS last_end, lo_flags AS flags
FROM (SELECT c.*, {_decoded('kmeta')} FROM conn c WHERE kind <> 'record') n
UNION ALL
SELECT * FROM directed_mixed
"""
"""Every directed row (one per ENI, attribute set and direction), as a view over `conn` and `directed_mixed`: what
the summary and the ENI address inference count. Records without a connection keep no address (none is read)."""

DIRECTED_TOTALS = """
SELECT kind, file, bad_field, version, action, eni, dash_mask, flow_direction, SUM(records) AS records,
       SUM(packets) AS packets, SUM(bytes) AS bytes, MIN(first_start) AS first_start, MAX(last_end) AS last_end
FROM directed
GROUP BY kind, file, bad_field, version, action, eni, dash_mask, flow_direction
"""
"""The directed rows' counts per what the summary asks (a few rows per ENI): its questions read this, not `conn`;
and whether any record lacks a flow direction (only those need the ENI's address, `local_addresses`)."""

DIRECTIONLESS = "SELECT COUNT(*) FROM directed_totals WHERE kind = 'record' AND flow_direction IS NULL"
"""How many directed rows say no flow direction (v2-v4 records): when none, no address is looked up at all."""

_PRIVATE_PREFIXES = ("10.", "192.168.", *(f"172.{n}." for n in range(16, 32)), *(f"100.{n}." for n in range(64, 128)),
                     "fc", "fd", "fe80:")


def _is_public(col: str) -> str:
    """A rough public-address test for the NAT rule: not RFC 1918, not 100.x (CGNAT), not IPv6 ULA/link-local."""
    return "NOT (" + " OR ".join(f"{col} LIKE '{p}%'" for p in _PRIVATE_PREFIXES) + ")"


ENDPOINTS = f"""
SELECT e.*,
       CASE WHEN fwd THEN sa ELSE da END AS lo_addr, CASE WHEN fwd THEN srcport ELSE dstport END AS lo_port,
       CASE WHEN fwd THEN da ELSE sa END AS hi_addr, CASE WHEN fwd THEN dstport ELSE srcport END AS hi_port
FROM (
  SELECT d.*, COALESCE(pkt_srcaddr, srcaddr) AS sa, COALESCE(pkt_dstaddr, dstaddr) AS da,
         CASE WHEN COALESCE(pkt_srcaddr, srcaddr) < COALESCE(pkt_dstaddr, dstaddr) THEN TRUE
              WHEN COALESCE(pkt_srcaddr, srcaddr) > COALESCE(pkt_dstaddr, dstaddr) THEN FALSE
              ELSE srcport <= dstport END AS fwd,
         (pkt_dstaddr IS NOT NULL AND dstaddr IS NOT NULL AND pkt_dstaddr <> dstaddr
          AND {_is_public('pkt_dstaddr')}) AS nat_out
  FROM directed_mixed d
) e
"""
"""Each directed row of a mixed connection with its true endpoints (packet-level addresses behind NAT/TGW) and its
side of the connection ("lo" = the smaller endpoint by address, then port)."""

CONNECTIONS = """
SELECT eni, proto, lo_addr, lo_port, hi_addr, hi_port,
       bit_or(CASE WHEN fwd THEN flags END) AS lo_flags, bit_or(CASE WHEN fwd THEN NULL ELSE flags END) AS hi_flags,
       MIN(CASE WHEN fwd THEN first_start END) AS lo_first, MIN(CASE WHEN fwd THEN NULL ELSE first_start END) AS hi_first,
       MAX(CASE WHEN fwd THEN 1 ELSE 0 END) AS lo_seen, MAX(CASE WHEN fwd THEN 0 ELSE 1 END) AS hi_seen,
       MAX(CASE WHEN fwd AND nat_out THEN 1 ELSE 0 END) AS lo_nat,
       MAX(CASE WHEN NOT fwd AND nat_out THEN 1 ELSE 0 END) AS hi_nat,
       COUNT(*) AS directed_rows, MAX(CASE WHEN srcaddr = dstaddr THEN 1 ELSE 0 END) AS same_addr
FROM endpoints
GROUP BY eni, proto, lo_addr, lo_port, hi_addr, hi_port
"""
"""Stage 2 for mixed connections: their two directions side by side (and how many directed rows each has, for
`ROWS`)."""

CONNECTIONS_FAST = """
SELECT eni, proto, lo_addr, lo_port, hi_addr, hi_port, lo_flags, hi_flags, lo_first, hi_first,
       CASE WHEN lo_records > 0 THEN 1 ELSE 0 END AS lo_seen, CASE WHEN hi_records > 0 THEN 1 ELSE 0 END AS hi_seen,
       0 AS lo_nat, 0 AS hi_nat, lo_records, hi_records, lo_packets, hi_packets, lo_bytes, hi_bytes, lo_last, hi_last,
       lo_meta, hi_meta
FROM conn WHERE fast
"""
"""Stage 2 for every other connection: `conn` already holds both directions (no NAT address: no NAT evidence)."""


def _port_class(col: str, options: InferenceOptions) -> str:
    return (f"CASE WHEN {col} < {options.registered_from} THEN 0 "
            f"WHEN {col} < {options.ephemeral_from} THEN 1 ELSE 2 END")


def initiators(options: InferenceOptions, source: str = "connections") -> str:
    """Stage 3, initiator inference: which side opened each connection ('lo' | 'hi' | NULL) and on what evidence."""
    lo_open = "(lo_flags IS NOT NULL AND (lo_flags & 2) = 2 AND (lo_flags & 16) = 0)"
    hi_open = "(hi_flags IS NOT NULL AND (hi_flags & 2) = 2 AND (hi_flags & 16) = 0)"
    lo_answer = "(lo_flags IS NOT NULL AND (lo_flags & 18) = 18)"
    hi_answer = "(hi_flags IS NOT NULL AND (hi_flags & 18) = 18)"
    by_lo = f"({lo_open} OR {hi_answer})"
    by_hi = f"({hi_open} OR {lo_answer})"
    lo_class, hi_class = _port_class("lo_port", options), _port_class("hi_port", options)
    ports = "proto IN (6, 17) AND lo_port >= 0 AND hi_port >= 0"
    rules = [
        (f"proto = 6 AND {by_lo} AND {by_hi}", "NULL", "tcp-flags-conflict"),
        (f"proto = 6 AND {by_lo}", "'lo'", "tcp-flags"),
        (f"proto = 6 AND {by_hi}", "'hi'", "tcp-flags"),
        ("lo_nat = 1 AND hi_nat = 0", "'lo'", "nat"),
        ("hi_nat = 1 AND lo_nat = 0", "'hi'", "nat"),
        (f"{ports} AND {lo_class} > {hi_class}", "'lo'", "ports"),
        (f"{ports} AND {hi_class} > {lo_class}", "'hi'", "ports"),
    ]
    if options.first_seen and options.lone_direction:
        rules += [("lo_seen = 1 AND hi_seen = 0", "'lo'", "one-direction"),
                  ("hi_seen = 1 AND lo_seen = 0", "'hi'", "one-direction")]
    if options.first_seen:
        rules += [("lo_first < hi_first", "'lo'", "first-seen"), ("hi_first < lo_first", "'hi'", "first-seen")]
    side = "CASE " + " ".join(f"WHEN {c} THEN {s}" for c, s, _ in rules) + " ELSE NULL END"
    evidence = "CASE " + " ".join(f"WHEN {c} THEN '{e}'" for c, _, e in rules) + " ELSE 'none' END"
    return f"SELECT c.*, {side} AS init_side, {evidence} AS init_evidence FROM {source} c"


def local_addresses() -> str:
    """Per ENI, its own address: the one present in every one of its records (its primary private IPv4 shows in
    each record, §5.7); where two are (an ENI that talked to one peer only), the only private IPv4 among them."""
    private = " OR ".join(f"c.addr LIKE '{p}%'" for p in _PRIVATE_PREFIXES if "." in p)
    return f"""
SELECT c.eni, CASE WHEN COUNT(*) = 1 THEN MIN(c.addr) ELSE MIN(CASE WHEN {private} THEN c.addr END) END AS addr
FROM (SELECT eni, addr, SUM(records) AS n
      FROM (SELECT eni, srcaddr AS addr, records FROM directed WHERE kind = 'record'
            UNION ALL
            SELECT eni, dstaddr AS addr, records FROM directed WHERE kind = 'record' AND dstaddr <> srcaddr) a
      GROUP BY eni, addr) c
JOIN (SELECT eni, SUM(records) AS total FROM directed WHERE kind = 'record' GROUP BY eni) t
  ON c.eni = t.eni AND c.n = t.total
GROUP BY c.eni
HAVING COUNT(*) = 1 OR SUM(CASE WHEN {private} THEN 1 ELSE 0 END) = 1
"""


_ROW_KEY = ("eni, direction, direction_evidence, protocol, local_addr, local_port, peer_addr, peer_port, action, "
            "initiator, initiator_evidence")

def _fast_side(column: str) -> str:
    return f"CASE WHEN t.fwd THEN i.lo_{column} ELSE i.hi_{column} END"


SIDED = f"""
SELECT i.eni, i.proto, CASE WHEN t.fwd THEN i.lo_addr ELSE i.hi_addr END AS srcaddr,
       CASE WHEN t.fwd THEN i.lo_port ELSE i.hi_port END AS srcport,
       CASE WHEN t.fwd THEN i.hi_addr ELSE i.lo_addr END AS dstaddr,
       CASE WHEN t.fwd THEN i.hi_port ELSE i.lo_port END AS dstport,
       CASE WHEN t.fwd THEN i.lo_addr ELSE i.hi_addr END AS sa, CASE WHEN t.fwd THEN i.hi_addr ELSE i.lo_addr END AS da,
       t.fwd, i.lo_addr, i.lo_port, i.hi_addr, i.hi_port,
       {_flow_direction(_code(_fast_side('meta')))} AS flow_direction,
       {_action(_code(_fast_side('meta')))} AS action,
       {_fast_side('packets')} AS packets, {_fast_side('bytes')} AS bytes, {_fast_side('records')} AS records,
       {_fast_side('first')} AS first_start, {_fast_side('last')} AS last_end, i.init_side, i.init_evidence,
       TRUE AS single, t.fwd OR i.lo_records = 0 AS counted
FROM inferred_fast i CROSS JOIN (VALUES (TRUE), (FALSE)) AS t(fwd)
WHERE CASE WHEN t.fwd THEN i.lo_records > 0 ELSE i.hi_records > 0 END
UNION ALL
SELECT p.eni, p.proto, p.srcaddr, p.srcport, p.dstaddr, p.dstport, p.sa, p.da, p.fwd, p.lo_addr, p.lo_port,
       p.hi_addr, p.hi_port, p.flow_direction, p.action, p.packets, p.bytes, p.records, p.first_start, p.last_end,
       i.init_side, i.init_evidence,
       (i.directed_rows = 1 OR (i.directed_rows = 2 AND i.lo_seen = 1 AND i.hi_seen = 1 AND i.same_addr = 0))
         AS single, p.fwd OR i.lo_seen = 0 AS counted
FROM endpoints p
JOIN inferred_mixed i
  ON p.eni = i.eni AND p.proto = i.proto AND p.lo_addr = i.lo_addr AND p.lo_port = i.lo_port
 AND p.hi_addr = i.hi_addr AND p.hi_port = i.hi_port
"""
"""Every directed row of a connection with the connection's initiator side and evidence: a fast connection's sides
unfolded from its one row (no join), a mixed one's directed rows joined to their connection. `counted`: the rows of
one side (lo's where lo was seen), so that a count of connections over rows counts each once."""


PER_RECORD_ROW = """
SELECT e.eni, e.direction, e.direction_evidence, e.protocol, e.local_addr, e.peer_addr, e.action, e.initiator,
       e.initiator_evidence, e.lo_addr, e.lo_port, e.hi_addr, e.hi_port, e.packets, e.bytes, e.records,
       e.first_start, e.last_end, e.single, e.counted,
       CASE WHEN initiator = 'local' AND proto IN (6, 17) THEN 'ephemeral'
            WHEN local_port < 0 THEN '-' ELSE CAST(local_port AS STRING) END AS local_port,
       CASE WHEN initiator = 'peer' AND proto IN (6, 17) THEN 'ephemeral'
            WHEN peer_port < 0 THEN '-' ELSE CAST(peer_port AS STRING) END AS peer_port,
       CASE WHEN initiator = 'local' AND proto IN (6, 17) THEN local_port
            WHEN initiator = 'peer' AND proto IN (6, 17) THEN peer_port END AS client_port
FROM (
  SELECT s.*,
         CASE WHEN init_side IS NULL THEN 'unknown'
              WHEN (init_side = 'lo') = (fwd = local_is_src) THEN 'local' ELSE 'peer' END AS initiator,
         init_evidence AS initiator_evidence,
         CASE WHEN local_is_src THEN srcaddr ELSE dstaddr END AS local_addr,
         CASE WHEN local_is_src THEN srcport ELSE dstport END AS local_port,
         CASE WHEN local_is_src THEN da ELSE sa END AS peer_addr,
         CASE WHEN local_is_src THEN dstport ELSE srcport END AS peer_port,
         CASE WHEN proto < 0 THEN NULL ELSE proto END AS protocol
  FROM (
    SELECT p.*,
           CASE WHEN p.flow_direction IS NOT NULL THEN p.flow_direction
                WHEN ks.addr IS NOT NULL THEN 'egress' WHEN kd.addr IS NOT NULL THEN 'ingress'
                WHEN l.addr = p.srcaddr THEN 'egress' WHEN l.addr = p.dstaddr THEN 'ingress'
                ELSE 'unknown' END AS direction,
           CASE WHEN p.flow_direction IS NOT NULL THEN 'flow-direction'
                WHEN ks.addr IS NOT NULL OR kd.addr IS NOT NULL THEN 'eni-address'
                WHEN l.addr = p.srcaddr OR l.addr = p.dstaddr THEN 'inferred-address'
                ELSE 'unknown' END AS direction_evidence,
           CASE WHEN p.flow_direction IS NOT NULL THEN p.flow_direction = 'egress'
                WHEN ks.addr IS NOT NULL THEN TRUE WHEN kd.addr IS NOT NULL THEN FALSE
                WHEN l.addr = p.dstaddr THEN FALSE WHEN l.addr = p.srcaddr THEN TRUE
                ELSE p.fwd END AS local_is_src  -- direction unknown: the lo end is local both ways
    FROM sided p
    LEFT JOIN local_addresses l ON l.eni = p.eni
    LEFT JOIN known_addresses ks ON ks.eni = p.eni AND ks.addr = p.srcaddr
    LEFT JOIN known_addresses kd ON kd.eni = p.eni AND kd.addr = p.dstaddr
  ) s
) e
"""
"""Each record row of `endpoints` with its row key (local/peer sides, initiator, ports or 'ephemeral') and
`single`: its row key is shared by no other directed row of its connection (see ROWS)."""

ROW_PARTS = f"""
SELECT {_ROW_KEY}, packets, bytes, records, CASE WHEN direction = 'unknown' AND NOT counted THEN 0 ELSE 1 END
       AS connections, first_start AS first_seen, last_end AS last_seen, client_port,
       CASE WHEN counted THEN 1 ELSE 0 END AS counted
FROM per_record_row WHERE single
UNION ALL
SELECT {_ROW_KEY}, SUM(packets) AS packets, SUM(bytes) AS bytes, SUM(records) AS records, 1 AS connections,
       MIN(first_start) AS first_seen, MAX(last_end) AS last_seen, MIN(client_port) AS client_port,
       MAX(CASE WHEN counted THEN 1 ELSE 0 END) AS counted
FROM per_record_row WHERE NOT single
GROUP BY {_ROW_KEY}, lo_addr, lo_port, hi_addr, hi_port
"""
"""Each connection's part of a row: its row key and counts, once per row key (one connection, one part). A
connection's directed rows are deduplicated per row key by the GROUP BY, except where it has one directed row, or
one on each side and srcaddr <> dstaddr in both (nearly all): two such rows never share a row key (same
local_is_src: opposite initiators, or with none, opposite peers; different local_is_src: egress vs ingress), so each
row is its own part. Rows whose direction is unknown take the connection's lo end as their local side both ways
(the initiator then reads the same on both), so the two may share a key: there the connection is counted on lo's
side only (a hi-side row of another key, e.g. another action, then shows its records with 0 connections; see
docs/assumptions.md F5). `counted` is 1 in one part per connection (see SIDED), for the summary's totals. `tighten` sums its needs straight from these parts (a
view)."""

ROWS = f"""
SELECT {_ROW_KEY}, SUM(packets) AS packets, SUM(bytes) AS bytes, SUM(records) AS records,
       CAST(SUM(connections) AS BIGINT) AS connections, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen,
       MIN(client_port) AS client_port_min, MAX(client_port) AS client_port_max,
       CAST(SUM(counted) AS BIGINT) AS counted_connections
FROM row_parts
GROUP BY {_ROW_KEY}
"""
"""Stage 4, the aggregate `flow_rows`: one row per (ENI, direction, protocol, local address and port, peer address,
peer port or 'ephemeral', action, initiator), with packets, bytes, records, connections, first/last seen and the
client port range (so a NACL's stateless return rule can be judged on the row). Built on first use
(`FlowRun.aggregate`): the summary's row counts and `replay` read it, `tighten` does not."""

ROW_COLUMNS = ("eni", "direction", "direction_evidence", "protocol", "local_addr", "local_port", "peer_addr",
               "peer_port", "action", "initiator", "initiator_evidence", "packets", "bytes", "records",
               "connections", "first_seen", "last_seen", "client_port_min", "client_port_max")


def known_addresses(pairs: list[tuple[str, str]]) -> str:
    """The ENI addresses a snapshot knows, as a SELECT (empty when none): they settle a record's direction."""
    if not pairs:
        return "SELECT CAST(NULL AS STRING) AS eni, CAST(NULL AS STRING) AS addr WHERE 1 = 0"
    values = ", ".join(f"('{_quote(e)}', '{_quote(a)}')" for e, a in pairs)
    return f"SELECT eni, addr FROM (VALUES {values}) AS k(eni, addr)"


def _quote(text: str) -> str:
    return text.replace("'", "''")


_S_NULL, _N_NULL = "CAST(NULL AS STRING)", "CAST(NULL AS BIGINT)"


def _q(name: str, k1: str, k2: str, n1: str, n2: str, n3: str, rest: str) -> str:
    return (f"SELECT '{name}' AS q, CAST({k1} AS STRING) AS k1, CAST({k2} AS STRING) AS k2, CAST({n1} AS BIGINT) AS n1, "
            f"CAST({n2} AS BIGINT) AS n2, CAST({n3} AS BIGINT) AS n3 {rest}")


SUMMARY_PARTS: dict[str, tuple[int, str]] = {
    "kinds": (2, _q("kinds", "kind", _S_NULL, "SUM(records)", _N_NULL, _N_NULL, "FROM directed_totals GROUP BY kind")),
    "malformed": (3, _q("malformed", "file", "bad_field", "SUM(records)", _N_NULL, _N_NULL,
                        "FROM directed_totals WHERE kind = 'malformed' GROUP BY file, bad_field")),
    "actions": (3, _q("actions", "version", "action", "SUM(records)", _N_NULL, _N_NULL,
                      "FROM directed_totals WHERE kind IN ('record', 'no-address') GROUP BY version, action")),
    "versions": (2, _q("versions", "version", _S_NULL, "SUM(records)", _N_NULL, _N_NULL,
                       "FROM directed_totals WHERE kind <> 'malformed' GROUP BY version")),
    "enis": (4, _q("enis", "eni", _S_NULL, "SUM(records)", "SUM(CASE WHEN kind = 'nodata' THEN records ELSE 0 END)",
                   "SUM(CASE WHEN kind = 'skipdata' THEN records ELSE 0 END)",
                   "FROM directed_totals WHERE kind <> 'malformed' GROUP BY eni")),
    "time": (2, _q("time", _S_NULL, _S_NULL, "MIN(first_start)", "MAX(last_end)", _N_NULL,
                   "FROM directed_totals WHERE kind <> 'malformed'")),
    "dashes": (2, _q("dashes", "dash_mask", _S_NULL, "SUM(records)", _N_NULL, _N_NULL,
                     "FROM directed_totals WHERE kind <> 'malformed' AND dash_mask <> 0 GROUP BY dash_mask")),
    "traffic": (2, _q("traffic", _S_NULL, _S_NULL, "SUM(packets)", "SUM(bytes)", _N_NULL,
                      "FROM directed_totals WHERE kind = 'record'")),
    "initiators": (5, _q("initiators", "initiator", "initiator_evidence", "COUNT(*)", "SUM(records)",
                         "SUM(counted_connections)", "FROM flow_rows GROUP BY initiator, initiator_evidence")),
    "directions": (3, _q("directions", "direction", "direction_evidence", "SUM(records)", _N_NULL, _N_NULL,
                         "FROM flow_rows GROUP BY direction, direction_evidence")),
    "rows": (1, _q("rows", _S_NULL, _S_NULL, "COUNT(*)", _N_NULL, _N_NULL, "FROM flow_rows")),
}
"""The summary's questions over the small materialised tables (never the files again): name -> (width, SELECT)."""

ROW_QUESTIONS = ("initiators", "directions", "rows")
"""The questions over `flow_rows`, asked when it is built (`FlowRun.aggregate`)."""

SUMMARY = "\nUNION ALL\n".join(text for name, (_width, text) in SUMMARY_PARTS.items() if name not in ROW_QUESTIONS)
"""The questions over the records' totals in one query (one Spark job instead of eight); rows are (q, k1, k2, n1,
n2, n3)."""

ROW_SUMMARY = "\nUNION ALL\n".join(SUMMARY_PARTS[name][1] for name in ROW_QUESTIONS)
"""The questions over `flow_rows`, the same way."""


def split_summary(rows: list[tuple]) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """SUMMARY's or ROW_SUMMARY's rows back as each question's tuples (keys first, then counts, `width` values);
    a question not asked has none."""
    out: dict[str, list[tuple]] = {name: [] for name in SUMMARY_PARTS}  # type: ignore[type-arg]
    keys = {"kinds": 1, "malformed": 2, "actions": 2, "versions": 1, "enis": 1, "time": 0, "dashes": 1,
            "traffic": 0, "initiators": 2, "directions": 2, "rows": 0}
    for q, k1, k2, n1, n2, n3 in rows:
        width = SUMMARY_PARTS[q][0]
        values = ((k1, k2)[: keys[q]] + (n1, n2, n3))[:width]
        out[q].append(values)
    return out


def located(source: SourceView, numbered_view: str, limit: int) -> str:
    """The first `limit` malformed lines of a numbered source, with the offending field's raw text."""
    body = normalise(SourceView(numbered_view, source.fields, source.version, source.checks_count), keep_raw=True)
    present = " + ".join(f"CASE WHEN c{i} IS NULL THEN 0 ELSE 1 END" for i in range(len(source.fields)))
    if source.checks_count:
        present += " + CASE WHEN c_extra IS NULL THEN 0 ELSE 1 END"
    raw = ("CASE WHEN bad_field IN ('too-few-fields', 'too-many-fields') THEN CAST(" + present + " AS STRING) "
           + " ".join(f"WHEN bad_field = '{name}' THEN c{i}" for i, name in enumerate(source.fields)
                      if name is not None) + " ELSE NULL END")
    return (f"SELECT src_file, src_line, bad_field, {raw} AS raw FROM ({body}) b "
            f"WHERE bad_field IS NOT NULL ORDER BY src_file, src_line LIMIT {limit}")


def text_select(view: str, width: int) -> str:
    """CloudWatch messages as positional columns: split_part is 1-based and '' past the end in both engines."""
    parts = [f"NULLIF(split_part(trim(message), ' ', {i + 1}), '') AS c{i}" for i in range(width)]
    parts.append(f"NULLIF(split_part(trim(message), ' ', {width + 1}), '') AS c_extra")
    return f"SELECT src_file, src_line, {', '.join(parts)} FROM {view}"


def parquet_select(view: str, width: int) -> str:
    """AWS Parquet columns (renamed c0… by the adapter) as text, so typed values go through the same checks."""
    parts = [f"CAST(c{i} AS STRING) AS c{i}" for i in range(width)]
    return f"SELECT src_file, src_line, {', '.join(parts)} FROM {view}"
