"""DuckDB and Spark run the one query on the same inputs and give identical aggregates and summaries (issue 11 item 2).

One Spark session for the whole test run (local mode); few, small cases. Marked `spark`; CI runs them.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pytest

from shareddata import shared
from vpclab.flows import FlowInputError, read_flows
from vpclab.flows.fields import DEFAULT_FORMAT

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark is in the test extra; `make test` installs it")
    from vpclab.flows.spark import session

    started = session("local[2]")
    started.conf.set("spark.sql.shuffle.partitions", "2")
    yield started
    started.stop()


def _engine(spark: Any) -> Any:
    from vpclab.flows.spark import SparkEngine

    return SparkEngine(spark)


def _both(paths: list[Path], spark: Any, **kwargs: Any) -> tuple[Any, Any]:
    duck = read_flows(paths, **kwargs)
    sparked = read_flows(paths, engine=_engine(spark), **kwargs)
    return duck, sparked


def _same(duck: Any, sparked: Any) -> None:
    assert sparked.rows() == duck.rows()
    left, right = duck.summary.to_dict(), sparked.summary.to_dict()
    assert (left.pop("engine"), right.pop("engine")) == ("duckdb", "spark")
    for report in (left, right):  # what each engine says about an unreadable file is its own
        for problem in report["problems"]:
            problem.pop("detail")
    assert right == left
    duck.close()
    sparked.close()


def _bad_inputs(folder: Path) -> Path:
    """CloudWatch JSON, a truncated gzip, a Parquet file of another schema, a header with an unknown field."""
    folder.mkdir()
    v2 = "2 123456789010 eni-s {} {} {} {} 6 3 180 100 160 ACCEPT OK"
    events = [{"timestamp": 1, "message": v2.format("10.0.0.5", "10.0.7.7", 40000, 443)},
              {"timestamp": 2, "message": v2.format("10.0.7.7", "10.0.0.5", 443, 40000)},
              {"timestamp": 3, "message": "not a record"}]
    (folder / "cwl.json").write_text(json.dumps({"events": events}))
    whole = gzip.compress(("\n".join(v2.format("10.0.0.5", "10.0.7.7", 40000 + i, 443) for i in range(3000)) + "\n")
                          .encode())
    (folder / "cut.log.gz").write_bytes(whole[: len(whole) // 2])
    duckdb.sql(f"COPY (SELECT 1 AS customer) TO '{folder / 'other.parquet'}' (FORMAT parquet)")
    (folder / "custom.log").write_text("version interface-id srcaddr dstaddr srcport dstport protocol tcp-flags "
                                       "mystery action log-status\n3 eni-u 10.0.0.5 10.0.7.8 40001 22 6 2 x ACCEPT OK\n"
                                       "3 eni-u 10.0.0.5 10.0.7.8 40001 ssh 6 2 x ACCEPT OK\n")
    return folder


def test_identical_on_every_shared_file_and_bad_input(spark: Any, tmp_path: Path) -> None:
    """The whole shared folder (text, S3 gzip, Parquet, malformed lines) plus generated bad input, one run each."""
    duck, sparked = _both([shared("flowlogs"), _bad_inputs(tmp_path / "bad")], spark)
    assert duck.summary.records > 400 and duck.summary.malformed == 8
    assert {Path(p.file).name for p in duck.summary.problems if p.fatal_for_file} == {"cut.log.gz", "other.parquet"}
    assert len(duck.summary.examples) == 5
    _same(duck, sparked)


def test_identical_malformed_examples_and_format(spark: Any, tmp_path: Path) -> None:
    """Headerless custom format through --format, with located bad lines: the same file:line from both engines."""
    fields = ("interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "tcp-flags", "start")
    lines = ["eni-f 10.0.0.5 10.0.9.9 40000 22 6 2 100", "eni-f 10.0.9.9 10.0.0.5 22 40000 6 18 101", "short line",
             "eni-f 10.0.0.5 10.0.9.9 40000 22 six 2 100", "eni-f 10.0.0.6 10.0.9.9 40000 53 17 - 100"]
    path = tmp_path / "plain.log"
    path.write_text("\n".join(lines) + "\n")
    duck, sparked = _both([path], spark, fields=fields)
    assert [(p.line, p.message.split(",")[0]) for p in duck.summary.examples] == \
        [(3, "line has 2 field(s)"), (4, "field protocol is 'six'")]
    _same(duck, sparked)


def test_spark_refuses_what_duckdb_refuses(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for engine in ("duckdb", _engine(spark)):
        with pytest.raises(FlowInputError) as refused:
            read_flows([tmp_path / "empty"], engine=engine, fields=DEFAULT_FORMAT)
        assert "folder holds no flow-log file" in str(refused.value.problems[0])
