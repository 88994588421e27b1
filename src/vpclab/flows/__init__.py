"""VPC Flow Logs in: reading (text, Parquet, CloudWatch JSON), one query on DuckDB or Spark, initiator inference.

`read_flows(paths, engine="duckdb"|"spark")` returns a FlowRun whose engine holds the aggregate `flow_rows`.
"""

from vpclab.flows.pipeline import FlowInputError, FlowRun, read_flows
from vpclab.flows.sql import ROW_COLUMNS, InferenceOptions
from vpclab.flows.summary import FlowSummary

__all__ = ["FlowInputError", "FlowRun", "FlowSummary", "InferenceOptions", "ROW_COLUMNS", "read_flows"]
