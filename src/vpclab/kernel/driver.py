"""The thin driver: runs `ip`, `nft` and `sysctl` inside namespaces. Every call names its namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from vpclab.errors import BackendUnavailable, KernelError

REQUIRED_TOOLS = {"ip": "iproute2", "nft": "nftables", "conntrack": "conntrack", "ping": "iputils-ping"}


def preflight() -> None:
    """Raise BackendUnavailable, saying what to install or run, unless this machine can run kernel labs."""
    if os.geteuid() != 0:
        raise BackendUnavailable("the kernel backend needs root (network namespaces, nftables): run it with sudo, "
                                 "or use --backend sim")
    missing = [package for tool, package in REQUIRED_TOOLS.items() if shutil.which(tool) is None]
    if missing:
        raise BackendUnavailable(f"the kernel backend needs {', '.join(missing)}: "
                                 f"apt-get install {' '.join(missing)}")
    if not os.path.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"):
        raise BackendUnavailable("the kernel backend needs br_netfilter: modprobe br_netfilter")



def unavailable_reason() -> str | None:
    """Why this machine cannot run kernel labs (preflight's message), or None when it can."""
    try:
        preflight()
    except BackendUnavailable as error:
        return str(error)
    return None

def run(args: list[str], input: str | None = None, check: bool = True, timeout: float = 30) -> str:
    result = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise KernelError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def in_ns(ns: str, args: list[str], input: str | None = None, check: bool = True) -> str:
    return run(["ip", "netns", "exec", ns, *args], input=input, check=check)


def ip_batch(ns: str | None, lines: list[str]) -> None:
    """Run `ip` commands in one process, in namespace `ns` (None: namespace management commands only)."""
    if not lines:
        return
    args = ["ip", "-batch", "-"] if ns is None else ["ip", "-n", ns, "-batch", "-"]
    run(args, input="\n".join(lines) + "\n")


def nft(ns: str, ruleset: dict[str, Any]) -> None:
    """Apply an nftables JSON ruleset in one atomic transaction."""
    in_ns(ns, ["nft", "-j", "-f", "-"], input=json.dumps(ruleset))


def sysctl(ns: str, values: dict[str, object]) -> None:
    if values:
        in_ns(ns, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in values.items())])


def optional_sysctl(ns: str, values: dict[str, object]) -> None:
    """Set sysctls this kernel may not have (newer tunables): missing ones are left alone."""
    for key, value in values.items():
        in_ns(ns, ["sysctl", "-q", "-w", f"{key}={value}"], check=False)


def namespaces() -> list[str]:
    """Names of all named network namespaces."""
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def delete_namespace(ns: str) -> None:
    """Kill what runs inside (only lab processes live there) and delete the namespace."""
    pids = run(["ip", "netns", "pids", ns], check=False).split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    run(["ip", "netns", "del", ns], check=False)
