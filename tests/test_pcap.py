"""The simulated run's pcapng (issue 12), read back by tshark, an independent reader: every built-in lab's packets
are there with the JSON's addresses, ports, times, flags and payloads, valid checksums, TCP numbers Wireshark
follows as streams, and a comment on every dropped packet; the same run gives the same bytes."""

import ast
import os
import shutil
import subprocess
from decimal import Decimal
from ipaddress import ip_address

import pytest
from typer.testing import CliRunner

from vpclab.cli import app
from vpclab.lab.catalog import builtin_names, load
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.report import pcap

FIELDS = ["frame.number", "frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "tcp.stream", "tcp.flags", "tcp.seq", "tcp.ack",
          "tcp.len", "tcp.payload", "udp.payload", "icmp.type", "icmp.ident", "icmp.seq", "icmpv6.type",
          "icmpv6.echo.identifier", "icmpv6.echo.sequence_number", "ip.checksum.status", "tcp.checksum.status",
          "udp.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status", "tcp.analysis.flags",
          "frame.comment"]
CHECKSUMS = ["ip.checksum.status", "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status",
             "icmpv6.checksum.status"]
FLAG_BITS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10}
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "esp": 50, "ah": 51, "gre": 47}


@pytest.fixture(scope="module", autouse=True)
def tshark_required():
    if shutil.which("tshark") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must read the pcaps back with tshark: apt-get install tshark (make test does, as root)")
        pytest.skip("tshark is not installed (apt-get install tshark)")


def tshark(path, *args):
    result = subprocess.run(["tshark", "-r", str(path), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def read(path):
    """Every frame as a dict of FIELDS (absolute TCP numbers, every checksum verified)."""
    out = tshark(path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o",
                 "udp.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields",
                 "-E", "occurrence=f", *[x for f in FIELDS for x in ("-e", f)])
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


def endpoint(frame, which, proto):
    address = frame[f"ip.{which}"] or frame[f"ipv6.{which}"]
    if proto not in ("tcp", "udp"):
        return str(ip_address(address))
    port = frame[f"{proto}.{'srcport' if which == 'src' else 'dstport'}"]
    return f"[{ip_address(address)}]:{port}" if frame["ipv6.src"] else f"{ip_address(address)}:{port}"


def step_data(step):
    """The data a send or udp step carried, from its description (written independently of the writer's regex)."""
    description = step["description"]
    start = min(i for i in (description.find("'"), description.find('"')) if i >= 0)
    quote = description[start]
    end = start + 1
    while description[end] != quote:
        end += 2 if description[end] == "\\" else 1
    return ast.literal_eval(description[start:end + 1]).encode()


def packets(run):
    return [(step, p) for step in run["steps"] for p in step["packets"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """name → (the run's JSON, its frames as tshark reads them)."""
    folder = tmp_path_factory.mktemp("pcap")
    out = {}
    for name in builtin_names():
        result = run_lab(load(name), SimBackend())
        path = folder / f"{name}.pcapng"
        pcap.write_run(result, path)
        out[name] = (result.to_dict(), read(path))
    return out


@pytest.mark.parametrize("name", builtin_names())
def test_every_packet_is_there_as_the_json_says(runs, name):
    run, frames = runs[name]
    sent = packets(run)
    assert len(frames) == len(sent) > 0
    for frame, (step, packet) in zip(frames, sent):
        proto = packet["proto"]
        where = f"{name} step {step['index']} {packet['summary']}"
        assert endpoint(frame, "src", proto) == packet["src"], where
        assert endpoint(frame, "dst", proto) == packet["dst"], where
        assert int(frame["ip.proto"] or frame["ipv6.nxt"]) == PROTOCOLS[proto], where
        # the virtual clock, to the microsecond, after the fixed epoch
        assert Decimal(frame["frame.time_epoch"]) == pcap.EPOCH + Decimal(str(packet["time"])), where
        if proto == "tcp":
            names, _, size = packet["summary"].partition(" ")
            assert int(frame["tcp.flags"], 16) == sum(FLAG_BITS[n] for n in names.split("-")), where
            assert int(frame["tcp.len"]) == (int(size.split()[0]) if size else 0), where
            if size:
                assert bytes.fromhex(frame["tcp.payload"]) == step_data(step), where
        elif proto == "udp":
            assert bytes.fromhex(frame["udp.payload"]) == step_data(step), where
        elif proto in ("icmp", "icmpv6"):
            kind, _, rest = packet["summary"].partition(" id ")
            ident, _, seq = rest.partition(" seq ")
            assert int(frame[f"{proto}.type"]) == {"icmp": {"echo-request": 8, "echo-reply": 0},
                                                   "icmpv6": {"echo-request": 128, "echo-reply": 129}}[proto][kind]
            if proto == "icmp":
                assert (int(frame["icmp.ident"], 0), int(frame["icmp.seq"], 0)) == (int(ident), int(seq)), where
            else:
                assert (int(frame["icmpv6.echo.identifier"], 0), int(frame["icmpv6.echo.sequence_number"], 0)) == \
                    (int(ident), int(seq)), where


@pytest.mark.parametrize("name", builtin_names())
def test_checksums_are_valid(runs, name):
    _, frames = runs[name]
    checked = 0
    for frame in frames:
        for field in CHECKSUMS:
            if frame[field]:
                assert frame[field] == "1", f"{name} frame {frame['frame.number']}: {field} {frame[field]}"
                checked += 1
    assert checked >= len(frames)  # every frame has at least its IPv4 header's or its transport's checksum


@pytest.mark.parametrize("name", builtin_names())
def test_every_dropped_packet_carries_its_reason(runs, name):
    run, frames = runs[name]
    for frame, (step, packet) in zip(frames, packets(run)):
        if packet["verdict"] == "dropped":
            assert packet["code"] in frame["frame.comment"] and packet["reason"] in frame["frame.comment"]
            assert f"step {step['index']}" in frame["frame.comment"]
        else:
            assert frame["frame.comment"] == ""


@pytest.mark.parametrize("name", builtin_names())
def test_tcp_numbers_follow_each_connection(runs, name):
    """Wireshark finds nothing to flag (no unseen ACKs, gaps, retransmissions), sees one stream per address pair,
    and each handshake and each delivered segment is acknowledged as TCP does."""
    run, frames = runs[name]
    tcp = [f for f in frames if f["tcp.stream"]]
    assert [f["frame.number"] for f in tcp if f["tcp.analysis.flags"]] == []
    pairs = {frozenset((p["src"], p["dst"])) for _, p in packets(run) if p["proto"] == "tcp"}
    assert len({f["tcp.stream"] for f in tcp}) == len(pairs)
    at = iter(frames)
    for step in run["steps"]:
        got = [next(at) for _ in step["packets"]]
        summaries = [p["summary"] for p in step["packets"]]
        if step["action"] == "connect" and step["outcome"] == "established":
            syn, synack, ack = (int(f["tcp.seq"]) for f in got)
            assert summaries == ["SYN", "SYN-ACK", "ACK"]
            assert int(got[1]["tcp.ack"]) == syn + 1 and int(got[2]["tcp.ack"]) == synack + 1 and ack == syn + 1
        if step["action"] == "send" and step["outcome"] == "delivered":
            data, answer = got
            assert int(answer["tcp.ack"]) == int(data["tcp.seq"]) + int(data["tcp.len"])
            assert answer["tcp.seq"] == data["tcp.ack"]


def test_wireshark_follows_a_stream_with_its_data(runs, tmp_path):
    path = tmp_path / "run.pcapng"
    pcap.write_run(run_lab(load("beating-security-groups"), SimBackend()), path)
    follow = tshark(path, "-q", "-z", "follow,tcp,ascii,0")
    assert "Node 0: 198.18.1.10:32768" in follow and "Node 1: 198.18.2.20:4321" in follow
    assert follow.index("\none\n") < follow.index("\ntwo\n")
    conversations = tshark(path, "-q", "-z", "conv,tcp")
    assert conversations.count("<->") == 2  # the connection, and the second one whose SYN was dropped


def test_output_is_deterministic(tmp_path):
    first, second = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    pcap.write_run(run_lab(load("dual-stack"), SimBackend()), first)
    pcap.write_run(run_lab(load("dual-stack"), SimBackend()), second)
    assert first.read_bytes() == second.read_bytes()


def test_a_run_without_packets_is_an_empty_capture(tmp_path):
    path = tmp_path / "empty.pcapng"
    pcap.write({"steps": [{"index": 1, "action": "listen", "description": "listen", "packets": []}]}, path)
    assert read(path) == []


def test_the_cli_writes_the_pcap(tmp_path):
    path = tmp_path / "lab.pcapng"
    result = CliRunner().invoke(app, ["lab", "run", "nacl-stateless", "--pcap", str(path)])
    assert result.exit_code == 0, result.output
    frames = read(path)
    assert len(frames) == 11
    assert sum(1 for f in frames if f["frame.comment"]) == 2


def test_a_dropped_segment_is_not_acknowledged(tmp_path):
    """The receiver's ACK numbers cover only what was delivered: after a dropped segment, the peer's next segment
    still acknowledges the bytes before it (a hand-written run: no built-in lab sends after a drop)."""
    def packet(src, dst, summary, verdict="allowed"):
        return {"time": 0.0, "src": src, "dst": dst, "proto": "tcp", "summary": summary, "verdict": verdict,
                "code": "X" if verdict == "dropped" else "SG_RULE_MATCH", "reason": "test"}
    a, b = "10.0.0.1:40000", "10.0.0.2:80"
    steps = [{"index": 1, "action": "connect", "description": "connect", "packets": [
        packet(a, b, "SYN"), packet(b, a, "SYN-ACK"), packet(a, b, "ACK")]},
        {"index": 2, "action": "send", "description": "send 'abcd' on c", "packets": [
            packet(a, b, "PSH-ACK 4 bytes", "dropped")]},
        {"index": 3, "action": "send", "description": "send 'xy' on c from the server", "packets": [
            packet(b, a, "PSH-ACK 2 bytes"), packet(a, b, "ACK")]}]
    path = tmp_path / "drop.pcapng"
    pcap.write({"steps": steps}, path)
    syn, synack, ack, lost, reply, last = read(path)
    assert int(lost["tcp.seq"]) == int(syn["tcp.seq"]) + 1
    assert int(reply["tcp.ack"]) == int(lost["tcp.seq"])  # not past the 4 bytes that never arrived
    assert int(last["tcp.seq"]) == int(lost["tcp.seq"]) + 4 and int(last["tcp.ack"]) == int(reply["tcp.seq"]) + 2


def test_other_packets_are_encoded_as_their_summary_says(tmp_path):
    """What no built-in lab sends: a RST, an ICMP error, another protocol over IPv6, ICMPv6 by number."""
    def packet(proto, src, dst, summary):
        return {"time": 1.5, "src": src, "dst": dst, "proto": proto, "summary": summary, "verdict": "allowed",
                "code": "SG_RULE_MATCH", "reason": "test"}
    steps = [{"index": 1, "action": "connect", "description": "connect", "packets": [
        packet("tcp", "10.0.0.1:40000", "10.0.0.2:81", "SYN"), packet("tcp", "10.0.0.2:81", "10.0.0.1:40000",
                                                                    "RST-ACK"),
        packet("icmp", "10.0.0.2", "10.0.0.1", "destination-unreachable code 3"),
        packet("gre", "2001:db8::1", "2001:db8::2", "protocol gre"),
        packet("icmpv6", "2001:db8::1", "2001:db8::2", "type 200 code 1")]}]
    path = tmp_path / "other.pcapng"
    pcap.write({"steps": steps}, path)
    out = tshark(path, "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields", "-E", "occurrence=f",
                 "-e", "tcp.flags", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "icmp.type", "-e", "icmp.code",
                 "-e", "ipv6.nxt", "-e", "icmpv6.type", "-e", "icmpv6.code")
    syn, rst, unreachable, gre, icmpv6 = [line.split("\t") for line in out.splitlines()]
    assert int(rst[0], 16) == 0x14 and rst[1] == "0" and int(rst[2]) == int(syn[1]) + 1
    assert unreachable[3:5] == ["3", "3"]
    assert gre[5] == "47"
    assert icmpv6[5:8] == ["58", "200", "1"]
