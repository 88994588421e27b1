"""Kernel tests run real packets in network namespaces. They need root and the kernel tools; in CI (CI=true)
they must run, so a missing prerequisite fails them instead of skipping them."""

import os
import subprocess
import sys

import pytest

from vpclab.kernel.driver import unavailable_reason

REASON = unavailable_reason()


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


#: built-in labs whose waits add up to more than this many seconds run in the background from the start of the
#: kernel tests (their real waits overlap the other tests); their test, moved to the end, collects the result
LONG_WAIT = 60.0


def _long_labs() -> list[str]:
    from vpclab.lab.catalog import builtin_names, load

    return [name for name in builtin_names() if load(name).total_wait > LONG_WAIT]


@pytest.fixture(scope="session")
def long_builtin_labs():
    """`vpclab lab diff NAME --json` of every long built-in lab, started once; name → the running process."""
    runs = {}
    if not REASON:
        for name in _long_labs():
            from vpclab.lab.catalog import load

            runs[name] = subprocess.Popen([sys.executable, "-m", "vpclab", "lab", "diff", name, "--json", "--max-wait",
                                           str(load(name).total_wait + 1)], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
    yield runs
    for process in runs.values():  # still running when only some tests ran: SIGTERM lets it take its network down
        if process.poll() is None:
            process.terminate()  # our own child, by PID
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@pytest.fixture(autouse=True)
def _start_long_labs_early(request, long_builtin_labs):
    """Every kernel test asks for the long labs, so the first one starts them."""


def pytest_collection_modifyitems(config, items):
    """Tests of the long labs go last: by then their background runs are (nearly) done."""
    long = set(_long_labs())
    late = [i for i in items if any(f"[{name}]" in i.nodeid for name in long) and "/kernel/" in i.nodeid]
    items[:] = [i for i in items if i not in late] + late
