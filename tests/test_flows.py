"""Flow-log reading on DuckDB (issue 11 items 1-4): every shared file, the AWS examples' initiators, bad input.

Sources: ../shared/reference/aws-semantics.md §5 (5.2 formats, 5.4 tcp-flags, 5.5 the ping example, 5.6
NODATA/SKIPDATA, 5.7 primary address, 5.8 S3/Parquet, 5.9 initiator caveats) and ../shared/data/flowlogs/README.md.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from shareddata import SHARED, shared
from vpclab.cli import app
from vpclab.flows import FlowInputError, InferenceOptions, read_flows
from vpclab.flows.fields import DEFAULT_FORMAT, FIELDS, parse_format

HEADER_WORDS = {"version", "srcaddr", "dstaddr", "interface-id", "account-id", "instance-id", "resource-type"}


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt") as handle:  # type: ignore[operator]
        return [line.rstrip("\n") for line in handle if line.strip()]


def count_text(path: Path) -> dict[str, int]:
    """Independent count of a text flow-log file: header by a few known words, records by field count."""
    lines = _lines(path)
    first = lines[0].split()
    has_header = bool(HEADER_WORDS & set(first)) and "resource-type" not in first
    width = len(first) if has_header else 14
    counts = {"records": 0, "nodata": 0, "skipdata": 0, "malformed": 0}
    for line in lines[1:] if has_header else lines:
        tokens = line.split(" ")
        if len(tokens) != width:
            counts["malformed"] += 1
            continue
        counts["records"] += 1
        counts["nodata"] += "NODATA" in tokens
        counts["skipdata"] += "SKIPDATA" in tokens
    return counts


def _text_files() -> list[Path]:
    if SHARED is None:
        return []
    root = SHARED / "flowlogs"
    return sorted(p for p in root.rglob("*") if p.is_file() and (p.name.endswith(".log") or p.name.endswith(".gz")))


@pytest.mark.parametrize("path", _text_files(), ids=lambda p: str(p.relative_to(SHARED / "flowlogs")))
def test_every_shared_text_file_parses_with_its_record_counts(path: Path) -> None:
    expected = count_text(path)
    try:
        run = read_flows([path])
    except FlowInputError:
        assert expected["records"] == 0, "records were present but the file was refused"
        return
    s = run.summary
    assert s.records == expected["records"]
    assert s.kinds.get("nodata", 0) == expected["nodata"]
    assert s.kinds.get("skipdata", 0) == expected["skipdata"]
    assert s.malformed == expected["malformed"]
    run.close()


def test_shared_parquet_counts_and_nodata() -> None:
    """AWS's Parquet output (§5.8): rows counted against DuckDB's own read of the file, NODATA rows counted."""
    path = shared("flowlogs", "flowlogs-reader", "flows.parquet")
    total, nodata = duckdb.sql(f"SELECT COUNT(*), COUNT(*) FILTER (WHERE log_status = 'NODATA') "
                               f"FROM read_parquet('{path}')").fetchall()[0]
    run = read_flows([path])
    assert run.summary.records == total == 3
    assert run.summary.kinds["nodata"] == nodata == 2
    assert run.summary.malformed == 0
    run.close()


def test_whole_shared_folder_reads_every_file_and_skips_the_readme() -> None:
    root = shared("flowlogs")
    run = read_flows([root])
    texts = [count_text(p) for p in _text_files()]
    assert run.summary.records == sum(t["records"] for t in texts) + 3  # + the Parquet file's 3 rows
    assert run.summary.malformed == sum(t["malformed"] for t in texts)
    assert [Path(p).name for p in run.summary.skipped] == ["README.md"]
    assert len(run.summary.examples) == 5 and all(p.line > 0 for p in run.summary.examples)
    run.close()


def test_nodata_and_skipdata_are_counted_not_aggregated() -> None:
    """§5.6: NODATA/SKIPDATA records carry '-' everywhere but the ENI, times and status."""
    run = read_flows([shared("flowlogs", "aws-docs", "doc-nodata-skipdata.log")])
    s = run.summary
    assert (s.kinds["nodata"], s.kinds["skipdata"], s.records) == (1, 1, 2)
    assert s.rows == 0 and run.rows() == []
    assert s.time_range == (1431280876, 1431280934)
    assert s.dashes["srcaddr"] == 2 and s.dashes["action"] == 2
    run.close()


def test_malformed_line_located_with_file_and_line() -> None:
    """flowlogs-reader's v5 vector ends with 'bogus line' (README): counted, shown as file:4, the rest read."""
    path = shared("flowlogs", "flowlogs-reader", "flr-v5.log")
    run = read_flows([path])
    assert run.summary.malformed == 1 and run.summary.records == 2
    (problem,) = run.summary.examples
    assert (problem.file, problem.line) == (str(path), 4)
    assert "2 field(s), expected the 29 fields" in problem.message
    run.close()


# --- initiator inference on the AWS examples (aws-semantics.md §5.4, §5.5, §5.9) --------------------------------

def opener(row: dict) -> str:  # type: ignore[type-arg]
    """The address that opened the connection, as the row states it."""
    return {"local": row["local_addr"], "peer": row["peer_addr"]}.get(row["initiator"], "unknown")


def _rows(*parts: str, **kwargs) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    run = read_flows([shared("flowlogs", *parts)], **kwargs)
    rows = run.rows()
    run.close()
    return rows


def test_tcp_flags_example_syn_from_the_client_synack_from_the_server() -> None:
    """§5.4 example: 52.213.180.42 sends SYN (2), 10.0.0.62:5001 answers SYN-ACK (18); the short connection shows
    3 (SYN|FIN) and 19 (SYN-ACK|FIN) OR-ed in one interval. The ENI's address is the private one (§5.7)."""
    rows = _rows("aws-docs", "doc-tcp-flags.log")
    assert len(rows) == 2
    for row in rows:
        assert opener(row) == "52.213.180.42" and row["initiator"] == "peer"
        assert row["initiator_evidence"] == "tcp-flags"
        assert (row["local_addr"], row["local_port"], row["peer_port"]) == ("10.0.0.62", "5001", "ephemeral")
        assert row["direction_evidence"] == "inferred-address"
        assert row["connections"] == 3 and row["records"] == 4
        assert (row["client_port_min"], row["client_port_max"]) == (43416, 43638)
    ingress = next(r for r in rows if r["direction"] == "ingress")
    assert (ingress["packets"], ingress["bytes"]) == (8 + 70 + 15774 + 17, 568 + 100701 + 23294588 + 1260)
    assert (ingress["first_seen"], ingress["last_seen"]) == (1566848875, 1566933193)


def test_the_summary_counts_each_connection_once_over_its_two_rows() -> None:
    """§5.4 example: three connections, each seen both ways (an ingress and an egress row each hold all three);
    the summary's initiators say 3 connections, as tighten's evidence does, not one per row and connection."""
    run = read_flows([shared("flowlogs", "aws-docs", "doc-tcp-flags.log")])
    assert run.summary.initiators == [("peer", "tcp-flags", 2, 8, 3)]
    run.close()


def test_a_connection_of_unknown_direction_has_one_initiator_and_one_row(tmp_path: Path) -> None:
    """v2 records between two private addresses, with no snapshot: which one is the ENI's is unknown (§5.7), so
    the connection's lo end stands as its local side both ways. Its two records make one row, initiated by the
    same side (the ephemeral port's), one connection; before, each record's own source was 'local', so the one
    connection read as initiated by both sides."""
    path = _write(tmp_path / "one.log", [_v2("10.0.1.5", "10.0.2.7", 40000, 443), _v2("10.0.2.7", "10.0.1.5", 443, 40000)])
    run = read_flows([path])
    (row,) = run.rows()
    assert (row["direction"], row["initiator"], row["local_addr"], row["peer_addr"]) == \
        ("unknown", "local", "10.0.1.5", "10.0.2.7")
    assert (row["records"], row["connections"]) == (2, 1)
    assert run.summary.initiators == [("local", "ports", 1, 2, 1)]
    run.close()


def test_v5_flow_direction_and_flags_to_s3() -> None:
    """v5 example: flow-direction names the direction; 10.0.0.71 sent SYN|FIN (3) to S3:80, S3 answered 19."""
    rows = _rows("aws-docs", "doc-v5-s3-igw.log")
    assert {(r["direction"], r["direction_evidence"]) for r in rows} == {("ingress", "flow-direction"),
                                                                         ("egress", "flow-direction")}
    assert {opener(r) for r in rows} == {"10.0.0.71"}
    assert {(r["peer_addr"], r["peer_port"], r["local_port"]) for r in rows} == {("52.95.128.179", "80", "ephemeral")}


def test_ping_allowed_in_reply_rejected_by_the_nacl_first_seen() -> None:
    """§5.5: the echo request (ACCEPT) starts at 1432917027, the reply the NACL rejects at 1432917094; ICMP has no
    ports or flags, so first seen says 203.0.113.12 initiated."""
    rows = _rows("aws-docs", "doc-ping-sg-nacl.log")
    by_direction = {r["direction"]: r for r in rows}
    assert by_direction["ingress"]["action"] == "ACCEPT" and by_direction["egress"]["action"] == "REJECT"
    assert {opener(r) for r in rows} == {"203.0.113.12"}
    assert {r["initiator_evidence"] for r in rows} == {"first-seen"}
    assert {r["local_addr"] for r in rows} == {"172.31.16.139"}


@pytest.mark.parametrize("name, client", [("doc-ssh-accept.log", "172.31.16.139"), ("doc-rdp-reject.log", "172.31.9.69"),
                                          ("doc-ipv6-ssh.log", "2001:db8:1234:a100:8d6e:3477:df66:f105")])
def test_lone_records_well_known_or_registered_port_is_the_server(name: str, client: str) -> None:
    """One record each (SSH 20641→22, RDP 49761→3389, IPv6 34892→22): the lower port class is the server's."""
    (row,) = _rows("aws-docs", name)
    assert opener(row) == client and row["initiator_evidence"] == "ports"


def test_nat_gateway_packet_addresses_pair_the_translated_legs() -> None:
    """§5.9 NAT example: on the NAT gateway's ENI the instance 10.0.1.5 sends to 203.0.113.5 (pkt-dstaddr, public)
    through 10.0.0.220: 10.0.1.5 opened it. The NAT's own leg to 203.0.113.5 has no ports, flags or times: it stays
    unknown (the ambiguous case)."""
    rows = _rows("aws-docs", "doc-nat-gateway-eni.log")
    inside = [r for r in rows if r["peer_addr"] == "10.0.1.5"]
    outside = [r for r in rows if r["peer_addr"] == "203.0.113.5"]
    assert len(inside) == 2 and len(outside) == 2
    assert {(opener(r), r["initiator_evidence"]) for r in inside} == {("10.0.1.5", "nat")}
    assert {(r["initiator"], r["initiator_evidence"]) for r in outside} == {("unknown", "none")}
    assert {r["local_addr"] for r in rows} == {"10.0.0.220"}


def test_transit_gateway_example_flags_through_the_attachment() -> None:
    """TGW example: 10.20.33.164:39812 → 10.40.2.236:80 with SYN|FIN (3) and SYN-ACK|FIN (19) back."""
    rows = _rows("aws-docs", "doc-tgw-vpc-b.log")
    instance = [r for r in rows if r["eni"] == "eni-33333333333333333"]
    assert {opener(r) for r in instance} == {"10.20.33.164"}
    assert {r["initiator_evidence"] for r in rows} == {"tcp-flags"}


def _write(path: Path, lines: list[str], header: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ([header] if header else []) + lines
    path.write_text("\n".join(body) + "\n")
    return path


V2 = "2 123456789010 eni-aaaa {src} {dst} {sp} {dp} {proto} 1 100 {start} {end} ACCEPT OK"


def _v2(src: str, dst: str, sp: int, dp: int, proto: int = 6, start: int = 100, end: int = 160) -> str:
    return V2.format(src=src, dst=dst, sp=sp, dp=dp, proto=proto, start=start, end=end)


def test_ambiguous_udp_same_ports_same_time_stays_unknown(tmp_path: Path) -> None:
    """DNS between two servers (53 ↔ 53, UDP, one interval): no flags, same port class, same start: unknown."""
    path = _write(tmp_path / "a.log", [_v2("10.0.0.5", "10.0.1.9", 53, 53, 17), _v2("10.0.1.9", "10.0.0.5", 53, 53, 17),
                                       _v2("10.0.0.5", "10.0.2.2", 443, 40000, 6)])
    run = read_flows([path])
    unknown = [r for r in run.rows() if r["peer_addr"] == "10.0.1.9"]
    assert len(unknown) == 2 and {r["initiator"] for r in unknown} == {"unknown"}
    assert ("unknown", "none", 2, 2, 1) in run.summary.initiators  # two rows (one per direction), one connection
    run.close()


def test_first_seen_and_mid_stream_flags(tmp_path: Path) -> None:
    """Flags 0 (ACK/PSH only, §5.4) say nothing; two ephemeral ports say nothing; the earlier start decides."""
    header = "version interface-id srcaddr dstaddr srcport dstport protocol tcp-flags start end action log-status"
    lines = ["3 eni-b 10.0.0.5 10.0.3.3 40001 50001 6 0 200 260 ACCEPT OK",
             "3 eni-b 10.0.3.3 10.0.0.5 50001 40001 6 0 230 260 ACCEPT OK"]
    run = read_flows([_write(tmp_path / "b.log", lines, header)])
    assert {(opener(r), r["initiator_evidence"]) for r in run.rows()} == {("10.0.0.5", "first-seen")}
    run.close()
    off = read_flows([tmp_path / "b.log"], options=InferenceOptions(first_seen=False))
    assert {r["initiator"] for r in off.rows()} == {"unknown"}
    off.close()


def test_conflicting_syns_stay_unknown(tmp_path: Path) -> None:
    """A SYN without ACK from both sides (simultaneous open, or a reused tuple): no initiator."""
    header = "version interface-id srcaddr dstaddr srcport dstport protocol tcp-flags action log-status"
    lines = ["3 eni-c 10.0.0.5 10.0.3.3 40001 443 6 2 ACCEPT OK", "3 eni-c 10.0.3.3 10.0.0.5 443 40001 6 2 ACCEPT OK"]
    run = read_flows([_write(tmp_path / "c.log", lines, header)])
    assert {(r["initiator"], r["initiator_evidence"]) for r in run.rows()} == {("unknown", "tcp-flags-conflict")}
    run.close()


def test_known_eni_addresses_settle_direction(tmp_path: Path) -> None:
    """Both addresses private and present in every record: only a snapshot's ENI addresses can say which is own."""
    path = _write(tmp_path / "d.log", [_v2("10.0.0.5", "10.0.1.9", 40000, 443)])
    run = read_flows([path])
    assert run.rows()[0]["direction"] == "unknown"
    run.close()
    known = read_flows([path], known_addresses=[("eni-aaaa", "10.0.1.9")])
    (row,) = known.rows()
    assert (row["direction"], row["direction_evidence"], row["local_addr"], row["initiator"]) == \
        ("ingress", "eni-address", "10.0.1.9", "peer")
    known.close()


def test_a_connection_counts_once_per_row_however_many_directed_rows_it_has(tmp_path: Path) -> None:
    """Connection 40001 has two egress records that differ in a `-` (two directed rows on one side) and a reply;
    connection 40002 one record each way: the egress row holds 3 records of 2 connections, the ingress row 2 of 2."""
    lines = [V2.format(src="10.0.0.5", dst="52.95.128.179", sp=40001, dp=443, proto=6, start=100, end=160),
             V2.format(src="10.0.0.5", dst="52.95.128.179", sp=40001, dp=443, proto=6, start=170, end=230)
             .replace(" 1 100 170 ", " - 100 170 "),
             V2.format(src="52.95.128.179", dst="10.0.0.5", sp=443, dp=40001, proto=6, start=100, end=160),
             _v2("10.0.0.5", "52.95.128.179", 40002, 443), _v2("52.95.128.179", "10.0.0.5", 443, 40002)]
    run = read_flows([_write(tmp_path / "m.log", lines)])
    assert run.summary.dashes == {"packets": 1}
    by_direction = {r["direction"]: r for r in run.rows()}
    assert set(by_direction) == {"egress", "ingress"}
    egress, ingress = by_direction["egress"], by_direction["ingress"]
    assert (egress["local_port"], egress["peer_port"], egress["initiator"]) == ("ephemeral", "443", "local")
    assert (egress["records"], egress["connections"], egress["packets"]) == (3, 2, 2)
    assert (ingress["records"], ingress["connections"]) == (2, 2)
    assert (egress["client_port_min"], egress["client_port_max"]) == (40001, 40002)
    assert (egress["first_seen"], egress["last_seen"]) == (100, 230)
    run.close()


def test_both_directions_of_one_connection_in_one_row_count_it_once(tmp_path: Path) -> None:
    """A record whose interface addresses are both the ENI's (srcaddr = dstaddr, the peer only in pkt-srcaddr) lands
    in the same row as the connection's other direction: one row, two records, one connection."""
    header = "version interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol packets start end " \
             "action log-status"
    lines = ["3 eni-e 10.0.0.5 10.0.0.9 - - 40001 443 6 1 100 160 ACCEPT OK",
             "3 eni-e 10.0.0.5 10.0.0.5 10.0.0.9 10.0.0.5 443 40001 6 1 110 160 ACCEPT OK"]
    run = read_flows([_write(tmp_path / "s.log", lines, header)])
    (row,) = run.rows()
    assert (row["direction"], row["direction_evidence"], row["local_addr"], row["peer_addr"]) == \
        ("egress", "inferred-address", "10.0.0.5", "10.0.0.9")
    assert (row["local_port"], row["peer_port"], row["initiator"]) == ("ephemeral", "443", "local")
    assert (row["records"], row["connections"], row["packets"]) == (2, 1, 2)
    run.close()


# --- formats -------------------------------------------------------------------------------------------------------

def test_every_field_of_versions_2_to_8_reads_typed(tmp_path: Path) -> None:
    """§5.3: a header naming all 40 fields; integers typed, strings kept, '-' counted."""
    names = [f.name for f in FIELDS]
    values = {"version": "8", "srcaddr": "10.0.0.5", "dstaddr": "10.0.0.6", "srcport": "40000", "dstport": "443",
              "protocol": "6", "packets": "3", "bytes": "300", "start": "10", "end": "20", "action": "ACCEPT",
              "log-status": "OK", "tcp-flags": "2", "flow-direction": "egress", "traffic-path": "1",
              "interface-id": "eni-x"}
    line = " ".join(values.get(n, "-") for n in names)
    run = read_flows([_write(tmp_path / "all.log", [line], " ".join(names))])
    assert run.summary.by_version == {"8": 1} and run.summary.malformed == 0
    (row,) = run.rows()
    assert (row["direction"], row["initiator"], row["peer_port"], row["bytes"]) == ("egress", "local", "443", 300)
    assert run.summary.dashes["reject-reason"] == 1 and "srcaddr" not in run.summary.dashes
    run.close()


def test_headerless_custom_format_needs_format(tmp_path: Path) -> None:
    fmt = parse_format("${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${tcp-flags}")
    path = _write(tmp_path / "e.log", ["eni-e 10.0.0.5 10.0.9.9 40000 22 6 2"])
    run = read_flows([path], fields=fmt)
    assert run.summary.records == 1 and run.summary.by_version == {"3": 1}
    run.close()
    with pytest.raises(FlowInputError):  # read with the default format, the 7 fields are too few
        read_flows([path])
    with pytest.raises(ValueError, match="unknown field"):
        parse_format("version src-address")


def test_s3_layout_nested_gzip_and_plain(tmp_path: Path) -> None:
    """§5.8: AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/ files, gzip, any nesting, the header per file."""
    header = " ".join(DEFAULT_FORMAT)
    day = tmp_path / "bucket" / "AWSLogs" / "123456789010" / "vpcflowlogs" / "eu-west-1" / "2026" / "12" / "01"
    day.mkdir(parents=True)
    with gzip.open(day / "x.log.gz", "wt") as handle:
        handle.write(header + "\n" + _v2("10.0.0.5", "10.0.9.9", 40000, 22) + "\n")
    _write(tmp_path / "bucket" / "deeper" / "still" / "y.log", [_v2("10.0.0.5", "10.0.9.9", 40001, 22)], header)
    run = read_flows([tmp_path / "bucket"])
    assert run.summary.records == 2 and len(run.summary.files) == 2
    run.close()


def test_cloudwatch_exports(tmp_path: Path) -> None:
    """CloudWatch Logs: filter-log-events/get-log-events JSON ({"events": [...]}), a subscription payload
    ({"logEvents": [...]}) and JSON lines; messages in the default format (§5.1: one stream per ENI)."""
    messages = [_v2("10.0.0.5", "10.0.9.9", 40000, 22), _v2("10.0.9.9", "10.0.0.5", 22, 40000), "garbage here"]
    events = [{"logStreamName": "eni-aaaa-all", "timestamp": 1, "message": m, "ingestionTime": 2} for m in messages]
    (tmp_path / "filter.json").write_text(json.dumps({"events": events, "searchedLogStreams": []}))
    (tmp_path / "sub.json").write_text(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": events[:2]}))
    (tmp_path / "lines.jsonl").write_text("\n".join(json.dumps(e) for e in events[:1]) + "\n")
    run = read_flows([tmp_path])
    assert run.summary.records == 5 and run.summary.malformed == 1
    (problem,) = run.summary.examples
    assert (Path(problem.file).name, problem.line) == ("filter.json", 3) and "event message" in problem.message
    assert {opener(r) for r in run.rows()} == {"10.0.0.5"}
    run.close()


# --- bad input -----------------------------------------------------------------------------------------------------

def test_truncated_gzip_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.log", [_v2("10.0.0.5", "10.0.9.9", 40000, 22)], " ".join(DEFAULT_FORMAT))
    whole = gzip.compress(("\n".join([" ".join(DEFAULT_FORMAT)] + [_v2("10.0.0.5", "10.0.9.9", 40000 + i, 22)
                                                                    for i in range(2000)]) + "\n").encode())
    (tmp_path / "cut.log.gz").write_bytes(whole[: len(whole) // 2])
    run = read_flows([good, tmp_path / "cut.log.gz"])
    assert run.summary.records == 1
    (problem,) = [p for p in run.summary.problems if p.fatal_for_file]
    assert problem.file.endswith("cut.log.gz") and "cannot be read" in problem.message
    run.close()


def test_header_with_unknown_field_warns_and_reads_the_rest(tmp_path: Path) -> None:
    header = "version interface-id srcaddr dstaddr srcport dstport protocol shiny-new-field action log-status"
    path = _write(tmp_path / "h.log", ["5 eni-h 10.0.0.5 10.0.9.9 40000 443 6 whatever ACCEPT OK"], header)
    run = read_flows([path])
    assert run.summary.records == 1 and run.summary.malformed == 0
    (warning,) = run.summary.problems
    assert (warning.file, warning.line) == (str(path), 1) and "'shiny-new-field'" in warning.message
    run.close()


def test_too_few_fields_and_bad_values_are_located(tmp_path: Path) -> None:
    lines = [_v2("10.0.0.5", "10.0.9.9", 40000, 22), "2 123456789010 eni-aaaa 10.0.0.5",
             _v2("10.0.0.5", "10.0.9.9", 40000, 22).replace(" 22 ", " ssh "),
             _v2("10.0.0.5", "10.0.9.9", 40000, 22).replace("ACCEPT", "MAYBE")]
    run = read_flows([_write(tmp_path / "f.log", lines, " ".join(DEFAULT_FORMAT))])
    assert run.summary.records == 1 and run.summary.malformed == 3
    found = [(p.line, p.message) for p in run.summary.examples]
    assert found[0] == (3, "line has 4 field(s), expected the 14 fields of its format (version account-id "
                           "interface-id srcaddr …)")
    assert found[1] == (4, "field dstport is 'ssh', expected a whole number or -")
    assert found[2] == (5, "field action is 'MAYBE', expected one of ACCEPT, REJECT or -")
    assert run.summary.malformed_by_field == {"action": 1, "dstport": 1, "too-few-fields": 1}
    run.close()


def test_parquet_of_another_schema_is_refused_for_that_file(tmp_path: Path) -> None:
    other = tmp_path / "other.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS customer, 'x' AS name) TO '{other}' (FORMAT parquet)")
    good = shared("flowlogs", "flowlogs-reader", "flows.parquet")
    run = read_flows([other, good])
    assert run.summary.records == 3
    (problem,) = [p for p in run.summary.problems if p.fatal_for_file]
    assert problem.file == str(other) and "not a flow-log Parquet file" in problem.message
    run.close()
    with pytest.raises(FlowInputError) as refused:
        read_flows([other])
    assert "customer" in str(refused.value.problems[0])


def test_hive_partitioned_parquet(tmp_path: Path) -> None:
    """§5.8 Hive-compatible prefixes: aws-account-id=…/year=…/ folders; partition names are not fields."""
    folder = tmp_path / "AWSLogs" / "aws-account-id=123456789010" / "aws-service=vpcflowlogs" / "year=2026"
    folder.mkdir(parents=True)
    duckdb.sql(f"COPY (SELECT 5 AS version, 'eni-p' AS interface_id, '10.0.0.5' AS srcaddr, '10.0.9.9' AS dstaddr, "
               f"40000 AS srcport, 443 AS dstport, 6 AS protocol, 2 AS tcp_flags, 'egress' AS flow_direction, "
               f"'ACCEPT' AS action, 'OK' AS log_status) TO '{folder / 'x.log.parquet'}' (FORMAT parquet)")
    run = read_flows([tmp_path])
    assert run.summary.records == 1 and run.summary.problems == []
    assert opener(run.rows()[0]) == "10.0.0.5"
    run.close()


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["flows", "summary", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "folder holds no flow-log file" in empty.output
    path = _write(tmp_path / "g.log", [_v2("10.0.0.5", "10.0.9.9", 40000, 22), "oops"], " ".join(DEFAULT_FORMAT))
    ok = runner.invoke(app, ["flows", "summary", str(path), "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["records"] == 1 and report["malformed"]["lines"] == 1
    assert report["malformed"]["first"][0]["line"] == 3
    text = runner.invoke(app, ["flows", "summary", str(path)])
    assert text.exit_code == 0 and "malformed lines: 1" in text.output and "g.log:3" in text.output
    bad_format = runner.invoke(app, ["flows", "summary", str(path), "--format", "nope"])
    assert bad_format.exit_code == 2 and "unknown field" in bad_format.output
    only_bad = _write(tmp_path / "bad.log", ["oops", "still oops"])
    refused = runner.invoke(app, ["flows", "summary", str(only_bad)])
    assert refused.exit_code == 2 and "bad.log:1" in refused.output


def test_a_device_or_a_broken_link_is_named_as_unreadable_not_passed_over(tmp_path: Path) -> None:
    """/dev/null (neither file nor folder) and a link to nothing inside a folder: each named, as the user gave it,
    with what is wrong; exit 2 when nothing else is usable, a listed problem beside records that are."""
    runner = CliRunner()
    device = runner.invoke(app, ["flows", "summary", "/dev/null"])
    assert device.exit_code == 2 and "/dev/null: not a regular file or folder" in device.output
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "gone.log").symlink_to(tmp_path / "nothing-here.log")
    broken = runner.invoke(app, ["flows", "summary", str(folder)])
    assert broken.exit_code == 2 and f"{folder / 'gone.log'}: a link to no file" in broken.output
    _write(folder / "g.log", [_v2("10.0.0.5", "10.0.9.9", 40000, 22)], " ".join(DEFAULT_FORMAT))
    mixed = runner.invoke(app, ["flows", "summary", str(folder), "--json"])
    assert mixed.exit_code == 0, mixed.output
    report = json.loads(mixed.output)
    assert report["records"] == 1 and "a link to no file" in json.dumps(report)
    assert "Traceback" not in device.output + broken.output

# --- the benchmark's generator: its ground truth recovered by the inference ------------------------------------------

def _flowgen():  # type: ignore[no-untyped-def]
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "bench" / "flowgen.py"
    spec = importlib.util.spec_from_file_location("flowgen_for_tests", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_generated_logs_every_accepted_connection_gets_its_true_opener(tmp_path: Path) -> None:
    """bench/flowgen.py's seeded v5 logs (S3 layout, gzip): the rules implied by who opened what are exactly the
    generator's ground truth; rejected scans are opened by the scanner; nothing stays unknown."""
    counts = _flowgen().write_flows(tmp_path, 20_000, seed=3, enis=60)
    truth = json.loads((tmp_path / "truth.json").read_text())
    run = read_flows([tmp_path / "AWSLogs"])
    assert run.summary.records == counts["records"] and run.summary.malformed == 0
    assert run.summary.kinds["nodata"] == counts["nodata"]
    rows = run.rows()
    run.close()
    assert {r["initiator"] for r in rows} == {"local", "peer"}
    derived = set()
    for r in rows:
        if r["action"] != "ACCEPT":
            assert (r["initiator"], r["direction"], r["initiator_evidence"]) == ("peer", "ingress", "tcp-flags")
            continue
        if r["initiator"] == "peer":
            derived.add((r["eni"], "ingress", r["protocol"], int(r["local_port"]), r["peer_addr"]))
        else:
            derived.add((r["eni"], "egress", r["protocol"], int(r["peer_port"]), r["peer_addr"]))
    expected = {(t["eni"], t["direction"], t["proto"], t["port"], t["peer"]) for t in truth["rules"]}
    assert derived == expected


def test_memory_limit_spills_and_gives_the_same_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """VPCLAB_DUCKDB_MEMORY_LIMIT: intermediate tables in a database file DuckDB pages out; same rows, same lines."""
    lines = [_v2("10.0.0.5", f"10.0.9.{i % 200}", 40000 + i, 443) for i in range(3000)] + ["2 bad"]
    path = _write(tmp_path / "m.log", lines, " ".join(DEFAULT_FORMAT))
    free = read_flows([path])
    monkeypatch.setenv("VPCLAB_DUCKDB_MEMORY_LIMIT", "64MB")
    bounded = read_flows([path])
    assert bounded.rows() == free.rows()
    assert [(p.line, p.message) for p in bounded.summary.examples] == [(3002, "line has 2 field(s), expected the 14 "
                                                                       "fields of its format (version account-id "
                                                                       "interface-id srcaddr …)")]
    assert bounded.summary.to_dict() == free.summary.to_dict()
    free.close()
    bounded.close()


def test_status_gates_the_value_checks_and_integers_must_be_canonical(tmp_path: Path) -> None:
    """§5.6: a NODATA/SKIPDATA line's other values are not checked, but its status and field count are; an OK line's
    integers must be canonical decimals ('040000', '+22', '1.5' are malformed) and the first bad field is named."""
    ok = _v2("10.0.0.5", "10.0.9.9", 40000, 22)
    nodata = "2 123456789010 eni-aaaa x y 0x1 - - - - 1431280876 1431280934 - NODATA"
    lines = [ok, nodata, nodata.replace("NODATA", "SKIPDATA"), nodata.replace("NODATA", "NOPE"),
             "2 123456789010 eni-aaaa - - - - - NODATA",
             ok.replace(" 40000 ", " 040000 "), ok.replace(" 22 ", " +22 "), ok.replace(" 40000 22 6 ", " 40000 22 1.5 "),
             ok.replace(" 40000 22 ", " 4x000 2x ")]
    run = read_flows([_write(tmp_path / "g.log", lines, " ".join(DEFAULT_FORMAT))])
    s = run.summary
    assert (s.kinds.get("record"), s.kinds.get("nodata"), s.kinds.get("skipdata")) == (1, 1, 1)
    assert s.malformed_by_field == {"log-status": 1, "too-few-fields": 1, "srcport": 2, "dstport": 1, "protocol": 1}
    assert [p.line for p in s.examples] == [5, 6, 7, 8, 9]
    run.close()



def test_integer_fields_read_alone_are_null_where_dash_not_an_error(tmp_path: Path) -> None:
    """§5.6: `-` is no value. The `records` view's integers read on their own (as a new question over them would) are
    NULL there and where malformed: DuckDB 2.0.1 pushes a bare TRY_CAST of a text column into read_csv as a typed
    read, which fails on '-' instead; the view's casts are written so that it cannot."""
    ok = _v2("10.0.0.5", "10.0.9.9", 40000, 22)
    nodata = "2 123456789010 eni-aaaa - - - - - - - 1431280876 1431280934 - NODATA"
    lines = [ok, nodata, ok.replace(" 40000 22 ", " 4x000 22 ")]
    run = read_flows([_write(tmp_path / "g.log", lines, " ".join(DEFAULT_FORMAT))])
    try:
        assert run.engine.rows("SELECT COUNT(*), COUNT(f_srcport), SUM(f_srcport), SUM(f_packets) FROM records") \
            == [(3, 1, 40000, 2)]
        assert run.engine.rows("SELECT COUNT(f_dstport), SUM(f_bytes) FROM records") == [(2, 200)]
    finally:
        run.close()

# --- the one-scan path against the exact path ----------------------------------------------------------------------

def _every_connection_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """`conn` with no connection `fast`: every record goes the exact path (`directed_mixed`), grouped by all its
    attributes and joined back to its connection, as the query did before it paired directions in its one scan."""
    from vpclab.flows import sql

    exact = sql.CONN.replace(f"< {sql._PLAIN_META})", "< 0)")
    assert exact != sql.CONN
    monkeypatch.setattr(sql, "CONN", exact)


def _everything(paths: list[Path], **kwargs) -> tuple[object, object]:  # type: ignore[no-untyped-def]
    """The rows and the summary, or the problems when nothing is usable."""
    try:
        run = read_flows(paths, **kwargs)
    except FlowInputError as error:
        return "unusable", [str(p) for p in error.problems]
    try:
        return run.rows(), run.summary.to_dict()
    finally:
        run.close()


@pytest.mark.parametrize("options", [InferenceOptions(), InferenceOptions(first_seen=False)],
                         ids=["default", "no-first"])
def test_one_scan_connections_equal_the_exact_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   options: InferenceOptions) -> None:
    """Pairing the two directions inside the one scan (sql.CONN) changes no row and no count: on every shared file
    and folder, on generated logs, and on connections that need the exact path (two directed rows on one side, both
    ends one address, NAT addresses, ACCEPT and REJECT on one side)."""
    import flowsynth

    synth = flowsynth.write(tmp_path / "synth", seed=5, files=2)
    mixed = [V2.format(src="10.0.0.5", dst="52.95.128.179", sp=40001, dp=443, proto=6, start=100, end=160),
             V2.format(src="10.0.0.5", dst="52.95.128.179", sp=40001, dp=443, proto=6, start=170, end=230)
             .replace("ACCEPT", "REJECT"),
             V2.format(src="52.95.128.179", dst="10.0.0.5", sp=443, dp=40001, proto=6, start=100, end=160),
             _v2("10.0.0.5", "52.95.128.179", 40002, 443), _v2("52.95.128.179", "10.0.0.5", 443, 40002),
             _v2("10.0.0.7", "10.0.0.7", 5000, 5001), _v2("10.0.0.7", "10.0.0.7", 5001, 5000)]
    logs = shared("flowlogs")
    cases = [[p] for p in sorted(logs.glob("*/*")) if p.suffix != ".md"] + [[logs],
             [synth.logs], [_write(tmp_path / "mixed.log", mixed)]]
    fast = {str(c[0]): _everything(c, options=options) for c in cases}
    _every_connection_exact(monkeypatch)
    for case in cases:
        assert _everything(case, options=options) == fast[str(case[0])], case[0]
