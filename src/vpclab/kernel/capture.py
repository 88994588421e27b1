"""A real capture of a kernel run (issue 12): dumpcap on eth0 in every host and NAT gateway namespace of the lab,
merged into one pcapng whose interfaces are named after the hosts, so a packet is seen where it was sent and, if
it was delivered, where it arrived.

Only processes this module starts, each stopped by its PID; they run inside the lab's own namespaces and die with
the run (PR_SET_PDEATHSIG); their files live in a temporary folder that is removed once merged.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from scapy.error import Scapy_Exception
from scapy.packet import Raw
from scapy.utils import PcapNgWriter, RawPcapNgReader

from vpclab.errors import BackendUnavailable, KernelError
from vpclab.report.pcap import writer_time

#: how long dumpcap may take to open its interface, and to finish its file once told to stop
START_WAIT = 10.0
STOP_WAIT = 10.0
INTERFACE = "eth0"


def preflight() -> None:
    """Raise BackendUnavailable unless dumpcap (Debian's wireshark-common, which tshark brings) is installed."""
    if shutil.which("dumpcap") is None:
        raise BackendUnavailable("--pcap on the kernel backend needs dumpcap: apt-get install tshark "
                                 "(or run without --pcap)")


class Capture:
    """dumpcap processes, one per namespace, and the file they are merged into when the capture stops."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder: Path | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}  # label (host name) → its dumpcap
        self.files: dict[str, Path] = {}

    def start(self, namespaces: dict[str, str]) -> None:
        """Capture on eth0 in each namespace (label → namespace); returns once every dumpcap is capturing, or
        stops them all and raises KernelError."""
        from vpclab.kernel.backend import _die_with_parent  # the backend's own children's guard

        self.folder = Path(tempfile.mkdtemp(prefix="vpclab-capture-"))
        try:
            for i, (label, ns) in enumerate(namespaces.items()):
                file = self.folder / f"{i}.pcapng"
                self.files[label] = file
                self.processes[label] = subprocess.Popen(
                    ["ip", "netns", "exec", ns, "dumpcap", "-q", "-n", "-i", INTERFACE, "-w", str(file)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    preexec_fn=_die_with_parent)
            deadline = time.monotonic() + START_WAIT
            for label, process in self.processes.items():
                _wait_capturing(label, process, self.files[label], deadline)
        except BaseException:  # nothing of a capture that did not start is kept
            self.stop()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def stop(self) -> None:
        """Stop every dumpcap (SIGTERM by PID: it finishes its file), killing one that does not stop in time."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()  # our own child, by PID
                process.wait()
            if process.stderr is not None:
                process.stderr.close()

    def save(self) -> int:
        """Merge the captures into `path` in time order, one interface per host; returns the packet count.
        Always removes the temporary folder; an unwritable `path` is a KernelError."""
        try:
            frames = []
            for order, (label, file) in enumerate(self.files.items()):
                if file.exists():
                    frames += [(ticks, order, label, raw) for ticks, raw in _read(file)]
            frames.sort(key=lambda f: (f[0], f[1]))
            try:
                writer = PcapNgWriter(str(self.path))
            except OSError as error:
                raise KernelError(f"--pcap {self.path}: cannot be written ({error.strerror or error})") from None
            try:
                writer.linktype = 1  # Ethernet: every captured interface is a veth
                writer.write_header(None)
                for micros, _, label, raw in frames:
                    frame = Raw(raw)  # the captured bytes as they are
                    frame.time = writer_time(micros)
                    frame.sniffed_on = label
                    writer.write_packet(frame)  # as raw bytes: linktype from the header, no guess
            finally:
                writer.close()
            return len(frames)
        finally:
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)


def _wait_capturing(label: str, process: subprocess.Popen[bytes], file: Path, deadline: float) -> None:
    """Wait until dumpcap created its file, which it does once its interface is open and capturing (it prints
    `Capturing on` before that, even for an interface that is not there); fail with what it said if it exits."""
    while not file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            said = process.stderr.read().decode(errors="replace") if process.poll() is not None and \
                process.stderr is not None else ""
            raise KernelError(f"dumpcap in {label}'s namespace did not start capturing: "
                              f"{said.strip()[-300:] or 'no output'}")
        time.sleep(0.005)


def _read(file: Path) -> list[tuple[int, bytes]]:
    """The packets of one dumpcap file: (time in microseconds, bytes); a file cut short yields what it holds."""
    out = []
    reader = RawPcapNgReader(str(file))
    try:
        for raw, meta in reader:
            out.append((((meta.tshigh << 32) + meta.tslow) * 1_000_000 // meta.tsresol, raw))
    except Scapy_Exception:  # a block cut short by a killed dumpcap: what came before it stands
        pass
    finally:
        reader.close()
    return out
