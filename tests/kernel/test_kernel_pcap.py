"""`lab run --backend kernel --pcap FILE` (issue 12): a real capture in the lab's namespaces, read back by tshark.
The packets the simulator says a step sends are on the wire: an established connection's SYN and SYN-ACK at both
hosts, a blocked connection's SYN at its sender only; the capture's processes and files are gone afterwards."""

import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from vpclab.cli import app
from vpclab.errors import KernelError
from vpclab.kernel import capture as capturing
from vpclab.kernel.backend import KernelBackend
from vpclab.lab.catalog import load
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend

FIELDS = ["frame.interface_name", "frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags"]
SYN, SYN_ACK = 0x02, 0x12


@pytest.fixture(autouse=True)
def tshark_required():
    if shutil.which("tshark") is None:
        pytest.fail("the kernel pcap tests read the capture with tshark: apt-get install tshark (make test does)")


def read(path):
    """(interface, source 'ip:port', destination 'ip:port', TCP flags) of every TCP frame, and all the times."""
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-E", "occurrence=f",
                          *[x for f in FIELDS for x in ("-e", f)]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    tcp = [(r[0], f"{r[2]}:{r[4]}", f"{r[3]}:{r[5]}", int(r[6], 16)) for r in rows if r[4]]
    return tcp, [float(r[1]) for r in rows]


def sim_packets(name, index):
    """The packets the simulator says step `index` of lab `name` sends: (src, dst, summary)."""
    step = run_lab(load(name), SimBackend()).to_dict()["steps"][index - 1]
    return [(p["src"], p["dst"], p["summary"]) for p in step["packets"]]


def test_kernel_pcap_holds_the_handshake_and_the_blocked_syn_at_its_sender(tmp_path):
    path = tmp_path / "kernel.pcapng"
    result = CliRunner().invoke(app, ["lab", "run", "beating-security-groups", "--backend", "kernel", "--pcap",
                                      str(path)])
    assert result.exit_code == 0, result.output
    frames, times = read(path)
    assert times == sorted(times) and len(times) > len(frames) > 0  # in time order; ARP is captured too
    assert {f[0] for f in frames} == {"testa", "testb"}  # one interface per host, named after it

    (syn_src, syn_dst, syn), (ack_src, ack_dst, synack), _ = sim_packets("beating-security-groups", 2)
    assert (syn, synack) == ("SYN", "SYN-ACK")
    for host in ("testa", "testb"):  # sent by one, received by the other: seen at both
        assert (host, syn_src, syn_dst, SYN) in frames
        assert (host, ack_src, ack_dst, SYN_ACK) in frames

    [(blocked_src, blocked_dst, summary)] = sim_packets("beating-security-groups", 8)
    assert summary == "SYN"
    assert ("testa", blocked_src, blocked_dst, SYN) in frames  # sent: on the sender's wire
    assert not [f for f in frames if f[0] == "testb" and f[1] == blocked_src]  # dropped by testb's group
    assert not [f for f in frames if f[1] == blocked_dst and f[2] == blocked_src]  # so never answered


def test_a_translated_packet_is_seen_as_each_end_saw_it(tmp_path):
    """public-ip-hairpin: app sends to web's public IP from its private one; web receives it from app's public IP
    at its private one (the IGW translated both ways): the capture holds both views."""
    path = tmp_path / "hairpin.pcapng"
    assert run_lab(load("public-ip-hairpin"), KernelBackend(capture=path)).ok
    frames, _ = read(path)
    (src, dst, summary), (reply_src, reply_dst, _), _ = sim_packets("public-ip-hairpin", 6)
    assert summary == "SYN" and ("app", src, dst, SYN) in frames
    seen_src, seen_dst = reply_dst, reply_src  # what web answers is the reverse of what it received
    assert ("web", seen_src, seen_dst, SYN) in frames
    assert ("web", reply_src, reply_dst, SYN_ACK) in frames


@pytest.fixture
def started(monkeypatch):
    """The Capture objects the backend starts during the test (to look at their processes and folder after)."""
    found = []
    original = capturing.Capture.start

    def start(self, namespaces):
        found.append(self)
        original(self, namespaces)

    monkeypatch.setattr(capturing.Capture, "start", start)
    return found


def test_the_capture_leaves_no_process_or_file(tmp_path, started):
    path = tmp_path / "run.pcapng"
    assert run_lab(load("nacl-stateless"), KernelBackend(capture=path)).ok
    [capture] = started
    assert capture.processes and all(p.poll() is not None for p in capture.processes.values())
    assert capture.folder is not None and not capture.folder.exists()
    assert path.stat().st_size > 0


def test_an_unwritable_pcap_is_refused_before_the_lab_runs(tmp_path):
    """Bad input (exit 2) before any namespace is built: nothing half done."""
    path = tmp_path / "missing-folder" / "run.pcapng"
    result = CliRunner().invoke(app, ["lab", "run", "nacl-stateless", "--backend", "kernel", "--pcap", str(path)])
    assert result.exit_code == 2
    assert f"--pcap {path}: cannot be written" in result.output
    assert "expectations met" not in result.output and "PASS" not in result.output  # the lab never ran


def test_a_capture_that_cannot_start_fails_the_run_and_leaves_nothing(tmp_path, monkeypatch, started):
    monkeypatch.setattr(capturing, "INTERFACE", "nosuch0")  # dumpcap refuses an interface that is not there
    path = tmp_path / "run.pcapng"
    with pytest.raises(KernelError, match="did not start capturing"):
        run_lab(load("nacl-stateless"), KernelBackend(capture=path))
    [capture] = started
    assert all(p.poll() is not None for p in capture.processes.values())
    assert capture.folder is not None and not capture.folder.exists() and not path.exists()
