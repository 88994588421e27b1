"""The `vpclab icmp` tool: RFC 1071 checksums, build/parse, argument checks, and real packets.

The real-packet test runs two throw-away network namespaces joined by a veth pair. It needs
root; it skips without it, except under CI=true, where a skip would hide a broken setup and
so it fails instead.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import vpclab
from vpclab.kernel import icmp
from vpclab.kernel.icmp import ECHO_REPLY, ECHO_REQUEST, IcmpMessage, build, checksum, parse, run_icmp_command


def reference_checksum(data: bytes) -> int:
    """A deliberately naive RFC 1071 checksum: byte pairs, end-around carry at every step."""
    total = 0
    for i in range(0, len(data), 2):
        hi = data[i]
        lo = data[i + 1] if i + 1 < len(data) else 0
        total += (hi << 8) | lo
        if total > 0xFFFF:
            total = (total & 0xFFFF) + 1
    return 0xFFFF - total


def ip_header(payload_len: int, src: str = "198.18.0.1", dst: str = "198.18.0.2",
              options: bytes = b"", proto: int = 1) -> bytes:
    """An IPv4 header (with `options`, padded to 32-bit words) as a raw socket would hand it over."""
    options += b"\x00" * (-len(options) % 4)
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + payload_len, 0x1234, 0, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst)) + options
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


# --- checksum -------------------------------------------------------------------------------

def test_checksum_rfc1071_example():
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2 == 0x220D


def test_checksum_known_ipv4_header():
    # The textbook IPv4 header 192.168.0.1 -> 192.168.0.199 whose checksum is b861.
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert checksum(header) == 0xB861
    assert checksum(header[:10] + b"\xb8\x61" + header[12:]) == 0


def test_checksum_known_ping_packet():
    # An echo-request as Windows ping sends it: id 1, seq 1, 32 bytes "abcdefghijklmnopqrstuvwabcdefghi".
    packet = bytes.fromhex("08004d5a00010001") + b"abcdefghijklmnopqrstuvwabcdefghi"
    assert checksum(packet) == 0
    assert build(ECHO_REQUEST, 0, 1, 1, b"abcdefghijklmnopqrstuvwabcdefghi") == packet


def test_checksum_edge_cases():
    assert checksum(b"") == 0xFFFF
    assert checksum(b"\xff\xff") == 0x0000
    assert checksum(b"\xab") == checksum(b"\xab\x00") == 0xFFFF - 0xAB00  # odd length pads a zero


@given(st.binary(max_size=300))
def test_checksum_matches_naive_reference(data):
    assert checksum(data) == reference_checksum(data)


# --- build / parse --------------------------------------------------------------------------

@given(icmp_type=st.integers(0, 255), code=st.integers(0, 255), ident=st.integers(0, 0xFFFF),
       seq=st.integers(0, 0xFFFF), payload=st.binary(max_size=64))
def test_build_parse_round_trip_without_ip_header(icmp_type, code, ident, seq, payload):
    message = build(icmp_type, code, ident, seq, payload)
    assert checksum(message) == 0
    assert parse(message, has_ip_header=False) == IcmpMessage(None, icmp_type, code, ident, seq, payload, True)


def test_parse_with_ip_header():
    message = build(ECHO_REPLY, 0, 7, 1, b"hello")
    msg = parse(ip_header(len(message), src="198.18.2.20") + message)
    assert msg == IcmpMessage("198.18.2.20", ECHO_REPLY, 0, 7, 1, b"hello", True)
    assert msg.type_name == "echo-reply" and msg.has_ident
    with pytest.raises(FrozenInstanceError):
        msg.ident = 8  # type: ignore[misc]


@pytest.mark.parametrize("options", [b"\x01\x01\x01\x01", b"\x01" * 8, b"\x01" * 40])
def test_parse_honours_ihl_above_5(options):
    message = build(ECHO_REQUEST, 0, 0xBEEF, 0x0102, b"xyz")
    packet = ip_header(len(message), options=options) + message
    assert packet[0] & 0x0F == 5 + len(options) // 4
    msg = parse(packet)
    assert (msg.src, msg.type, msg.ident, msg.seq, msg.payload, msg.checksum_ok) == \
        ("198.18.0.1", ECHO_REQUEST, 0xBEEF, 0x0102, b"xyz", True)


def test_parse_ignores_bytes_past_ip_total_length():
    message = build(ECHO_REPLY, 0, 1, 2, b"data")
    assert parse(ip_header(len(message)) + message + b"\x00\x00").payload == b"data"


def test_parse_reports_a_bad_checksum():
    # The seed article's script sent a dummy checksum: parse must flag it, not reject it.
    good = build(ECHO_REPLY, 0, 7, 1)
    bad = good[:2] + b"\x12\x34" + good[4:]
    assert parse(bad, has_ip_header=False).checksum_ok is False
    assert icmp.describe(parse(ip_header(8) + bad)).endswith("(checksum BAD)")


@pytest.mark.parametrize("packet, has_ip, fragment", [
    (b"", True, "truncated IPv4 header"),
    (b"\x45" + b"\x00" * 18, True, "truncated IPv4 header"),
    (ip_header(8, options=b"\x01" * 4)[:22], True, "IHL says 24"),
    (b"\x44" + b"\x00" * 27, True, "IHL 4"),
    (b"\x65" + b"\x00" * 27, True, "not an IPv4 packet"),
    (ip_header(8, proto=6) + build(0), True, "not ICMP"),
    (ip_header(4) + build(0)[:4], True, "truncated ICMP message"),
    (build(0)[:7], False, "truncated ICMP message"),
])
def test_parse_rejects_truncated_or_foreign_data(packet, has_ip, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse(packet, has_ip_header=has_ip)


@pytest.mark.parametrize("kwargs", [dict(icmp_type=256), dict(icmp_type=0, code=-1),
                                    dict(icmp_type=0, ident=65536), dict(icmp_type=0, seq=-1)])
def test_build_rejects_out_of_range_fields(kwargs):
    with pytest.raises(ValueError):
        build(**kwargs)


# --- run_icmp_command without privilege -----------------------------------------------------

def command(**overrides) -> tuple[int, list[str]]:
    args = dict(send_request=None, send_reply=None, receive=False, ident=None, seq=None, count=1, timeout=2.0)
    args.update(overrides)
    lines: list[str] = []
    return run_icmp_command(**args, echo=lines.append), lines


@pytest.mark.parametrize("overrides, fragment", [
    ({}, "give one of"),
    (dict(send_request="198.18.0.2", send_reply="198.18.0.2"), "only one of"),
    (dict(send_reply="198.18.0.2", receive=True), "nothing answers an echo-reply"),
    (dict(send_request="198.18.0"), "not a valid IPv4 address"),
    (dict(send_reply="::1"), "not a valid IPv4 address"),
    (dict(send_request="host.example"), "not a valid IPv4 address"),
    (dict(send_request="198.18.0.2", ident=65536), "--id must be 0-65535"),
    (dict(receive=True, ident=-1), "--id must be 0-65535"),
    (dict(receive=True, seq=70000), "--seq must be 0-65535"),
    (dict(receive=True, count=0), "--count must be at least 1"),
    (dict(receive=True, timeout=0), "--timeout must be a positive"),
    (dict(receive=True, timeout=float("inf")), "--timeout must be a positive"),
])
def test_bad_input_exits_2_with_one_line_and_opens_no_socket(monkeypatch, overrides, fragment):
    def no_socket():
        raise AssertionError("opened a socket for bad input")
    monkeypatch.setattr(icmp, "open_socket", no_socket)
    status, lines = command(**overrides)
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_without_raw_socket_privilege_exits_3(monkeypatch):
    def denied(*_args, **_kwargs):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(icmp.socket, "socket", denied)
    status, lines = command(receive=True)
    assert status == 3
    assert len(lines) == 1 and "root or CAP_NET_RAW" in lines[0] and "sudo vpclab icmp" in lines[0]


@pytest.fixture
def fake_raw_socket(monkeypatch) -> Iterator[socket.socket]:
    """Feed `receive` datagrams through a socketpair instead of a raw socket (no privilege needed)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    monkeypatch.setattr(icmp, "open_socket", lambda: theirs)
    with ours, theirs:
        yield ours


def test_receive_filters_skips_junk_and_stops_at_count(fake_raw_socket):
    def packet(icmp_type: int, ident: int, seq: int, src: str = "198.18.0.9") -> bytes:
        message = build(icmp_type, 0, ident, seq)
        return ip_header(len(message), src=src) + message
    for data in (b"junk", packet(ECHO_REPLY, 8, 1), packet(3, 0, 0), packet(ECHO_REQUEST, 7, 2),
                 packet(ECHO_REPLY, 7, 1), packet(ECHO_REPLY, 7, 3)):
        fake_raw_socket.send(data)
    status, lines = command(receive=True, ident=7, count=2, timeout=1)
    assert status == 0
    assert lines == ["received echo-request from 198.18.0.9 id 7 seq 2 (checksum ok)",
                     "received echo-reply from 198.18.0.9 id 7 seq 1 (checksum ok)"]


def test_receive_times_out_without_blocking(fake_raw_socket):
    fake_raw_socket.send(ip_header(8) + build(ECHO_REPLY, 0, 5, 5))
    started = time.monotonic()
    status, lines = command(receive=True, ident=6, timeout=0.3)
    assert time.monotonic() - started < 2
    assert status == 1 and lines == ["no ICMP received within 0.3 s"]


def test_receive_fewer_than_count_exits_1(fake_raw_socket):
    fake_raw_socket.send(ip_header(8) + build(ECHO_REPLY, 0, 5, 5))
    status, lines = command(receive=True, count=2, timeout=0.3)
    assert status == 1 and lines[-1] == "only 1 of 2 ICMP messages received within 0.3 s"


# --- real packets between two network namespaces --------------------------------------------

A_ADDR, B_ADDR = "198.18.200.1", "198.18.200.2"
SRC_DIR = str(Path(vpclab.__file__).resolve().parent.parent)


def sh(*argv: str, timeout: float = 10, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=check)


@pytest.fixture
def netns_pair() -> Iterator[tuple[str, str]]:
    """Two fresh namespaces vltXXXXX-a / -b, veth 198.18.200.1/30 <-> .2/30, kernel echo replies off."""
    if os.geteuid() != 0:
        reason = "real ICMP test needs root (network namespaces and raw sockets)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true must not skip it")
        pytest.skip(reason)
    tag = secrets.token_hex(3)[:5]
    ns_a, ns_b = f"vlt{tag}-a", f"vlt{tag}-b"
    created: list[str] = []
    try:
        for ns in (ns_a, ns_b):
            sh("ip", "netns", "add", ns)
            created.append(ns)
        # The veth pair is born inside ns_a with its peer placed straight into ns_b, so the root
        # namespace never holds it even for a moment.
        sh("ip", "-n", ns_a, "link", "add", "vlt0", "type", "veth", "peer", "name", "vlt0", "netns", ns_b)
        for ns, addr in ((ns_a, A_ADDR), (ns_b, B_ADDR)):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", "vlt0")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", "vlt0", "up")
            sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1")
        yield ns_a, ns_b
    finally:
        for ns in created:
            sh("ip", "netns", "del", ns, check=False)
        left = sh("ip", "netns", "list", check=False).stdout
        assert not any(ns in left for ns in created), f"namespaces left behind: {left}"


def in_ns(ns: str, call: str) -> list[str]:
    """argv running `run_icmp_command(<call>)` inside namespace `ns`; its exit status is the result."""
    code = ("import sys; from vpclab.kernel.icmp import run_icmp_command as r; "
            f"sys.exit(r({call}))")
    return ["ip", "netns", "exec", ns, sys.executable, "-c", code]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC_DIR, os.environ.get("PYTHONPATH")]))}


def start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())


def finish(proc: subprocess.Popen[str], timeout: float = 8) -> tuple[int, str]:
    """Wait for a receiver we started; kill it (by its own PID, via Popen) if it overstays."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"receiver did not stop by itself: {out!r} {err!r}")
    assert not err.strip(), err
    return proc.returncode, out


def send_until_done(ns: str, call: str, receivers: list[subprocess.Popen[str]], limit: float = 2.5) -> str:
    """Send from `ns` every 0.25 s until the receivers have stopped (so a slow start cannot miss it)."""
    deadline = time.monotonic() + limit
    sent = ""
    while time.monotonic() < deadline and any(p.poll() is None for p in receivers):
        result = subprocess.run(in_ns(ns, call), capture_output=True, text=True, timeout=10, env=child_env())
        assert result.returncode == 0, result.stdout + result.stderr
        sent = result.stdout
        time.sleep(0.25)
    return sent


def test_real_icmp_between_namespaces(netns_pair):
    ns_a, ns_b = netns_pair
    receivers: list[subprocess.Popen[str]] = []
    try:
        # 1. An unsolicited echo-reply id 7: the --id 7 receiver gets it, the --id 8 one does not.
        want_7 = start(in_ns(ns_b, "None, None, True, ident=7, count=1, timeout=3"))
        want_8 = start(in_ns(ns_b, "None, None, True, ident=8, count=1, timeout=2"))
        receivers += [want_7, want_8]
        time.sleep(0.4)
        sent = send_until_done(ns_a, f"None, {B_ADDR!r}, False, ident=7, seq=1", [want_7])
        assert sent.strip() == f"sent echo-reply to {B_ADDR} id 7 seq 1"
        status, out = finish(want_7)
        assert status == 0, out
        assert out.splitlines()[0] == f"received echo-reply from {A_ADDR} id 7 seq 1 (checksum ok)"
        status, out = finish(want_8)
        assert (status, out) == (1, "no ICMP received within 2 s\n")

        # 2. An echo-request id 9 seq 3 arrives as type 8 with that id and seq; B's kernel, told to
        #    ignore echoes, stays silent, so only our receiver sees it.
        request = start(in_ns(ns_b, "None, None, True, ident=9, seq=3, count=1, timeout=3"))
        receivers.append(request)
        time.sleep(0.4)
        sent = send_until_done(ns_a, f"{B_ADDR!r}, None, False, ident=9, seq=3", [request])
        assert sent.strip() == f"sent echo-request to {B_ADDR} id 9 seq 3"
        status, out = finish(request)
        assert status == 0, out
        assert out.splitlines()[0] == f"received echo-request from {A_ADDR} id 9 seq 3 (checksum ok)"

        # 3. A real ping's echo-request parses, with the checksum the kernel/ping computed.
        any_icmp = start(in_ns(ns_b, "None, None, True, count=1, timeout=3"))
        receivers.append(any_icmp)
        time.sleep(0.4)
        deadline = time.monotonic() + 2.5
        while any_icmp.poll() is None and time.monotonic() < deadline:
            sh("ip", "netns", "exec", ns_a, "ping", "-c", "1", "-W", "0.3", B_ADDR, check=False)
        status, out = finish(any_icmp)
        assert status == 0, out
        assert out.startswith(f"received echo-request from {A_ADDR} id ") and out.rstrip().endswith("(checksum ok)")

        # 4. Ping mode (--send-request --receive): with B's kernel answering echoes again,
        #    A gets the echo-reply to its own id and seq.
        sh("ip", "netns", "exec", ns_b, "sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=0")
        result = subprocess.run(in_ns(ns_a, f"{B_ADDR!r}, None, True, ident=11, seq=4, timeout=3"),
                                capture_output=True, text=True, timeout=10, env=child_env())
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines() == [
            f"sent echo-request to {B_ADDR} id 11 seq 4",
            f"received echo-reply from {B_ADDR} id 11 seq 4 (checksum ok)",
        ]
    finally:
        for proc in receivers:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
