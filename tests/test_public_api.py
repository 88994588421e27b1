"""The public API: `from vpclab import …` gives the documented names, lazily, and one exception hierarchy."""

import subprocess
import sys

import pytest

import vpclab


def test_every_public_name_resolves_from_the_package():
    for name in vpclab.__all__:
        assert getattr(vpclab, name) is not None, name
    assert set(dir(vpclab)) >= set(vpclab.__all__)


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        vpclab.Nope  # noqa: B018


def test_importing_the_package_loads_nothing_heavy():
    """`import vpclab` must stay cheap: the kernel's traffic agents import it inside every namespace."""
    code = ("import sys, vpclab; "
            "print(sorted(m for m in ('vpclab.engine', 'pydantic', 'yaml', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_docstring_quickstart_runs():
    from vpclab import Engine, Packet, load_lab, verdict_reason

    lab = load_lab("beating-security-groups")
    verdict = Engine(lab.network).evaluate(Packet.tcp("198.18.1.10", 40000, "198.18.2.20", 4321), now=0.0)
    assert verdict.allowed and verdict_reason(verdict) == "delivered to testb"
    assert verdict.trace[-1].source.startswith("builtin:beating-security-groups:")


def test_a_lab_runs_through_the_public_api():
    from vpclab import SimBackend, load_lab, run_lab

    result = run_lab(load_lab("tighten-egress"), SimBackend())
    assert result.ok and result.backend == "sim"


def test_one_exception_hierarchy():
    from vpclab import (BackendError, BackendUnavailable, InputError, KernelError, LabError, ModelError,
                        VpclabError, load_lab)

    assert issubclass(ModelError, InputError) and issubclass(LabError, InputError)
    assert issubclass(BackendUnavailable, BackendError) and issubclass(KernelError, BackendError)
    assert all(issubclass(e, VpclabError) for e in (InputError, BackendError))
    with pytest.raises(InputError) as error:
        load_lab("no-such-lab")
    (problem,) = error.value.problems
    assert problem.severity == "error" and "no such lab" in problem.message and problem.origin.file == "no-such-lab"
