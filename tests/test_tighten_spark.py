"""DuckDB and Spark give identical tighten proposals and replay answers on the same input (issue 11 item 2: one
query, two engines). Marked `spark`; one Spark session per test run (shared with test_flows_spark when it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import flowsynth
from vpclab.analysis.proposal import apply_tighten
from vpclab.analysis.replay import replay
from vpclab.report.replay import to_dict as replay_dict

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark is in the test extra; `make test` installs it")
    from vpclab.flows.spark import session

    started = session("local[2]")  # getOrCreate: the flows tests' session when it is still up
    started.conf.set("spark.sql.shuffle.partitions", "2")
    yield started  # not stopped here: the JVM ends with the test run


def test_duckdb_and_spark_give_the_same_proposal_and_replay(tmp_path: Path, spark_session: Any) -> None:
    from vpclab.flows.spark import SparkEngine

    made = flowsynth.write(tmp_path, 31)
    duck = flowsynth.tighten_json(made.snapshot, [made.logs])
    sparked = flowsynth.tighten_json(made.snapshot, [made.logs], engine=SparkEngine(spark_session))
    assert (duck["summary"].pop("engine"), sparked["summary"].pop("engine")) == ("duckdb", "spark")
    assert sparked == duck
    assert flowsynth.proposal_rules(sparked["groups"]) == made.truth
    narrower = {**duck, "groups": [{**g, "ingress": []} if g["group"] == "sg-web" else g for g in duck["groups"]]}
    answers = []
    for engine in ("duckdb", SparkEngine(spark_session)):
        network, run = flowsynth.open_run(made.snapshot, [made.logs], engine)
        try:
            answers.append(replay_dict(replay(network, run, apply_tighten(network, narrower, "p.json"), "tighten")))
        finally:
            run.close()
    assert answers[0]["broken"] and answers[1] == answers[0]
