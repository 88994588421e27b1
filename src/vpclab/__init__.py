"""vpclab: see, test and tighten AWS VPC packet filtering (security groups, network ACLs, conntrack).

The public API, importable from here (loaded on first use, so `import vpclab` stays cheap)::

    from vpclab import load_lab, run_lab, SimBackend, Engine, Packet, verdict_reason

    lab = load_lab("beating-security-groups")         # a built-in name or a path
    engine = Engine(lab.network)
    verdict = engine.evaluate(Packet.tcp("198.18.1.10", 40000, "198.18.2.20", 4321), now=0.0)
    print(verdict_reason(verdict), verdict.trace[-1].source)
"""

# ruff: noqa: F401  (the TYPE_CHECKING imports below mirror the lazy exports for type checkers)
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name → the module that defines it
_EXPORTS: dict[str, str] = {
    # the model
    **dict.fromkeys(("Network", "Vpc", "Subnet", "Host", "SecurityGroup", "SgRule", "NetworkAcl", "NaclEntry",
                     "PrefixList", "ConntrackSettings", "Direction", "Action"), "vpclab.model"),
    "assemble": "vpclab.load.assemble",
    # the semantics core
    **dict.fromkeys(("Engine", "EngineConfig", "Packet", "Verdict", "Step", "RuleRef", "Decision",
                     "GateDecision"), "vpclab.engine"),
    "Simulator": "vpclab.sim",
    # labs
    "load_lab": "vpclab.lab.catalog",
    "run_lab": "vpclab.lab.runner",
    "SimBackend": "vpclab.lab.sim_backend",
    # explanations
    **dict.fromkeys(("verdict_reason", "step_reason", "step_dict"), "vpclab.report.explain"),
    # errors
    **dict.fromkeys(("VpclabError", "InputError", "BackendError", "BackendUnavailable", "KernelError", "Origin",
                     "Problem"), "vpclab.errors"),
    "ModelError": "vpclab.model.errors",
    "LabError": "vpclab.lab.yamlsource",
}
_ALIASES = {"load_lab": "load"}  # public name → name in its module

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vpclab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from vpclab.engine import Decision, Engine, EngineConfig, GateDecision, Packet, RuleRef, Step, Verdict
    from vpclab.errors import (BackendError, BackendUnavailable, InputError, KernelError, Origin, Problem,
                               VpclabError)
    from vpclab.lab.catalog import load as load_lab
    from vpclab.lab.runner import run_lab
    from vpclab.lab.sim_backend import SimBackend
    from vpclab.lab.yamlsource import LabError
    from vpclab.load.assemble import assemble
    from vpclab.model import (Action, ConntrackSettings, Direction, Host, NaclEntry, Network, NetworkAcl,
                              PrefixList, SecurityGroup, SgRule, Subnet, Vpc)
    from vpclab.model.errors import ModelError
    from vpclab.report.explain import step_dict, step_reason, verdict_reason
    from vpclab.sim import Simulator
