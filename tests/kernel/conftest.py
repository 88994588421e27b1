"""Kernel tests run real packets in network namespaces. They need root and the kernel tools; in CI (CI=true)
they must run, so a missing prerequisite fails them instead of skipping them."""

import os
import subprocess

import pytest

from vpclab.kernel.driver import preflight
from vpclab.errors import BackendUnavailable


def _unavailable() -> str | None:
    try:
        preflight()
    except BackendUnavailable as error:
        return str(error)
    return None


REASON = _unavailable()


@pytest.fixture(autouse=True)
def kernel_required():
    if REASON:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the kernel tests: {REASON}")
        pytest.skip(REASON)


def _root_state() -> tuple[str, str]:
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    # counters and link statistics move on their own; names, flags and rules must not change
    links = "\n".join(line.split(" link/")[0].split(" qdisc")[0] for line in links.splitlines())
    return ruleset, links


@pytest.fixture(scope="session", autouse=True)
def root_namespace_untouched():
    """The root namespace's nftables ruleset and links are the same after every kernel test as before."""
    if REASON:
        yield
        return
    before = _root_state()
    yield
    assert _root_state() == before, "the kernel tests changed the root namespace's ruleset or links"
