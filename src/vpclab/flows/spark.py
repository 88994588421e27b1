"""The Spark engine: the same SQL on Apache Spark (PySpark), local mode unless the usual Spark settings name a cluster.

`SPARK_MASTER` (or `spark-submit --master`, spark-defaults.conf) picks the cluster; otherwise `local[*]`.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

from vpclab.flows.discover import TextGroup
from vpclab.flows.engines import EngineError, _first_line as _first


def _first_line(text: str) -> str:
    """The deepest Java cause (`Caused by: …`) when there is one: py4j's first line names only the call."""
    causes = [line.strip()[len("Caused by: "):] for line in text.splitlines() if line.strip().startswith("Caused by: ")]
    return causes[-1] if causes else _first(text)


def session(master: str | None = None) -> Any:
    """A SparkSession: an existing one, or a new one (quiet, no UI, few shuffle partitions, UTC)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("vpclab-flows")
    chosen = master or os.environ.get("SPARK_MASTER")
    if chosen:
        builder = builder.master(chosen)
    elif "PYSPARK_SUBMIT_ARGS" not in os.environ:
        # local mode: the tasks run in the driver's JVM, whose default 1 GiB ran out on 10 million records
        builder = builder.master("local[*]").config("spark.driver.memory",
                                                    os.environ.get("VPCLAB_SPARK_DRIVER_MEMORY", "3g"))
    spark = (builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", os.environ.get("VPCLAB_SPARK_PARTITIONS", "8"))
             .config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.sparkContext.setLogLevel("OFF")  # failures reach the report as located problems
    return spark


class SparkEngine:
    """PySpark adapter: DataFrame readers register the sources as temp views, Spark SQL runs the shared text."""

    name = "spark"

    def __init__(self, spark: Any = None) -> None:
        self._own = spark is None
        try:
            self.spark = spark if spark is not None else session()
        except Exception as error:  # noqa: BLE001 - no Java, a cluster that does not answer, …
            raise EngineError(f"cannot start Spark: {_first_line(str(error))}") from None
        self._cached: list[Any] = []
        # The exact path joins records to their connection on computed endpoints; inferring constraints from those
        # expressions (a plan-time optimisation that gains nothing here) took minutes and the heap (Spark 4.3).
        self.spark.conf.set("spark.sql.constraintPropagation.enabled", "false")

    def _functions(self) -> Any:
        from pyspark.sql import functions

        return functions

    def _file(self) -> Any:
        return self._functions().col("_metadata.file_path").alias("src_file")

    def _number(self, frame: Any, offset: int) -> Any:
        """Line numbers for one file: its rows keep file order in monotonically increasing ids (one gzip = one split;
        splits of a plain file are ordered by offset)."""
        from pyspark.sql import Window

        F = self._functions()
        frame = frame.withColumn("_mono", F.monotonically_increasing_id())
        return frame.withColumn("src_line", F.row_number().over(Window.orderBy("_mono")) + F.lit(offset)).drop("_mono")

    def text_source(self, view: str, group: TextGroup, files: list[str], numbered: bool) -> None:
        from pyspark.sql.types import StringType, StructField, StructType

        F = self._functions()
        names = [f"c{i}" for i in range(len(group.fields))] + ["c_extra"]
        schema = StructType([StructField(n, StringType()) for n in names])

        def read(paths: list[str]) -> Any:
            return (self.spark.read.schema(schema).option("sep", " ").option("quote", "").option("escape", "")
                    .option("header", str(group.header).lower()).option("mode", "PERMISSIVE").csv(paths)
                    .select(self._file(), *names))

        if numbered:
            frames = [self._number(read([f]), int(group.header)) for f in files]
            frame = frames[0]
            for other in frames[1:]:
                frame = frame.unionByName(other)
        else:
            frame = read(files).withColumn("src_line", F.lit(None).cast("bigint"))
        frame.select("src_file", "src_line", *names).createOrReplaceTempView(view)

    def parquet_columns(self, file: str) -> list[str]:
        try:
            return list(self.spark.read.parquet(file).columns)
        except Exception as error:  # noqa: BLE001 - py4j/Spark raise many types; all mean "cannot read"
            raise EngineError(_first_line(str(error))) from None

    def parquet_source(self, view: str, files: list[str], columns: list[str], numbered: bool) -> None:
        F = self._functions()

        def read(paths: list[str]) -> Any:
            frame = self.spark.read.option("recursiveFileLookup", "true").parquet(*paths)
            return frame.select(self._file(), *[F.col(f"`{c}`").alias(f"c{i}") for i, c in enumerate(columns)])

        if numbered:
            frames = [self._number(read([f]), 0) for f in files]
            frame = frames[0]
            for other in frames[1:]:
                frame = frame.unionByName(other)
        else:
            frame = read(files).withColumn("src_line", F.lit(None).cast("bigint"))
        frame.select("src_file", "src_line", *[f"c{i}" for i in range(len(columns))]).createOrReplaceTempView(view)

    def cloudwatch_source(self, view: str, file: str, kind: str) -> None:
        F = self._functions()
        if kind in ("events", "logEvents"):
            frame = (self.spark.read.schema(f"{kind} array<struct<message:string>>").option("multiLine", "true")
                     .json(file).select(self._file(), F.posexplode(kind).alias("pos", "ev")))
            frame = frame.select("src_file", (F.col("pos") + 1).cast("bigint").alias("src_line"),
                                 F.col("ev.message").alias("message"))
        else:
            reader = self.spark.read.schema("message string")
            if kind == "array":
                reader = reader.option("multiLine", "true")
            frame = self._number(reader.json(file).select(self._file(), "message"), 0)
        frame.select("src_file", "src_line", "message").createOrReplaceTempView(view)

    def view(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {sql}")

    def materialize(self, name: str, sql: str) -> None:
        """An eager local checkpoint: computed now (a file that cannot be read fails here, like DuckDB's CREATE TABLE
        AS) and cut from its lineage, so later queries do not re-analyse the whole reading plan."""
        try:
            frame = self.spark.sql(sql).localCheckpoint(eager=True)
        except Exception as error:  # noqa: BLE001
            raise EngineError(_first_line(str(error))) from None
        frame.createOrReplaceTempView(name)
        self._cached.append(frame)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self.spark.sql(sql).collect()]
        except Exception as error:  # noqa: BLE001
            raise EngineError(_first_line(str(error))) from None

    def _run(self, sql: str) -> None:
        try:
            self.spark.sql(sql)
        except Exception as error:  # noqa: BLE001
            raise EngineError(_first_line(str(error))) from None

    def path(self, engine_path: str) -> str:
        """Spark names files as URIs (`file:/…`, percent-encoded); the report uses plain paths."""
        if engine_path.startswith("file://"):
            return unquote(engine_path[7:])
        return unquote(engine_path[5:]) if engine_path.startswith("file:") else engine_path

    def close(self) -> None:
        for frame in self._cached:
            try:
                frame.unpersist()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass
        if self._own:
            self.spark.stop()
