"""The VPC Flow Logs field table, versions 2-8 (aws-semantics.md §5.3): names, versions, SQL types, Parquet names.

One table for every reader, so text, Parquet and CloudWatch records land in the same typed columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One flow-log field: its name in a format (`srcaddr`), version, SQL type and internal column (`f_srcaddr`)."""

    name: str
    version: int
    sql_type: str  # INTEGER | BIGINT | STRING, understood alike by DuckDB and Spark SQL
    choices: tuple[str, ...] = ()  # allowed values of an enumerated field (besides '-')

    @property
    def column(self) -> str:
        """The internal column name: `f_` + the name with underscores (no quoting needed in either engine)."""
        return "f_" + self.name.replace("-", "_")

    @property
    def parquet(self) -> str:
        """The column name in AWS's Parquet output (hyphens become underscores, §5.8)."""
        return self.name.replace("-", "_")


_S, _I, _B = "STRING", "INTEGER", "BIGINT"

FIELDS: tuple[Field, ...] = (
    Field("version", 2, _I),
    Field("account-id", 2, _S),
    Field("interface-id", 2, _S),
    Field("srcaddr", 2, _S),
    Field("dstaddr", 2, _S),
    Field("srcport", 2, _I),
    Field("dstport", 2, _I),
    Field("protocol", 2, _I),
    Field("packets", 2, _B),
    Field("bytes", 2, _B),
    Field("start", 2, _B),
    Field("end", 2, _B),
    Field("action", 2, _S, ("ACCEPT", "REJECT")),
    Field("log-status", 2, _S, ("OK", "NODATA", "SKIPDATA")),
    Field("vpc-id", 3, _S),
    Field("subnet-id", 3, _S),
    Field("instance-id", 3, _S),
    Field("tcp-flags", 3, _I),
    Field("type", 3, _S),
    Field("pkt-srcaddr", 3, _S),
    Field("pkt-dstaddr", 3, _S),
    Field("region", 4, _S),
    Field("az-id", 4, _S),
    Field("sublocation-type", 4, _S),
    Field("sublocation-id", 4, _S),
    Field("pkt-src-aws-service", 5, _S),
    Field("pkt-dst-aws-service", 5, _S),
    Field("flow-direction", 5, _S, ("ingress", "egress")),
    Field("traffic-path", 5, _I),
    Field("ecs-cluster-arn", 7, _S),
    Field("ecs-cluster-name", 7, _S),
    Field("ecs-container-instance-arn", 7, _S),
    Field("ecs-container-instance-id", 7, _S),
    Field("ecs-container-id", 7, _S),
    Field("ecs-second-container-id", 7, _S),
    Field("ecs-service-name", 7, _S),
    Field("ecs-task-definition-arn", 7, _S),
    Field("ecs-task-arn", 7, _S),
    Field("ecs-task-id", 7, _S),
    Field("reject-reason", 8, _S),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
BY_PARQUET: dict[str, Field] = {f.parquet: f for f in FIELDS}

DEFAULT_FORMAT: tuple[str, ...] = tuple(f.name for f in FIELDS if f.version == 2)
"""The default format: every version-2 field in table order (§5.2)."""

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def parse_format(text: str) -> tuple[str, ...]:
    """A `--format` value: `${version} ${srcaddr} …` (AWS's LogFormat) or plain names; raises ValueError."""
    names = [token[2:-1] if token.startswith("${") and token.endswith("}") else token for token in text.split()]
    if not names:
        raise ValueError("the format names no field")
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; expected names from the flow-log field table "
                         f"(versions 2-8), e.g. {' '.join(DEFAULT_FORMAT[:4])} …")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"field(s) named twice: {', '.join(duplicated)}")
    return tuple(names)


def looks_like_header(tokens: list[str]) -> bool:
    """Whether a first line names fields (every token name-like, none a number) rather than holding a record."""
    return bool(tokens) and all(_NAME.match(t) for t in tokens)


def format_version(names: tuple[str, ...]) -> int:
    """A custom format's version: the highest version among its fields (§5.2)."""
    return max((BY_NAME[n].version for n in names if n in BY_NAME), default=2)
