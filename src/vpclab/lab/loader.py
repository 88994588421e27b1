"""Load a lab file: YAML → checked spec → model Network and typed steps, or every problem with file and line.

Every step is checked while loading (`lab.steps`), and configuration steps (authorize, revoke, NACL changes…)
are applied to the model, so a lab whose third step is impossible is refused before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FilePath

from vpclab.errors import Problem
from vpclab.lab import schema
from vpclab.lab.defaults import default_group_origin, with_default_group
from vpclab.lab.on_snapshot import network_on_snapshot
from vpclab.lab.steps import LabStep, StepChecker, declared_names
from vpclab.lab.yamlsource import LabError, Source, located, parse
from vpclab.load import Assembler
from vpclab.model import Network

__all__ = ["Lab", "LabStep", "load_lab", "parse_lab"]


@dataclass(frozen=True, slots=True)
class Lab:
    """A loaded lab: its identity, its starting network, its steps and the warnings loading it gave."""

    name: str
    title: str
    about: str
    network: Network
    steps: tuple[LabStep, ...]
    file: str
    warnings: tuple[Problem, ...] = ()  # AWS quotas exceeded (a what-if): reported, the lab still runs
    snapshot: str = ""  # the real configuration the lab runs on, if any

    @property
    def total_wait(self) -> float:
        return sum(s.spec.seconds for s in self.steps if s.action == "wait")  # type: ignore[attr-defined]


def load_lab(path: str | FilePath) -> Lab:
    """Load a lab file from disk."""
    file = str(path)
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LabError([located(file, None, "", f"cannot read the file: {error}")]) from None
    return parse_lab(text, file)


def parse_lab(text: str, file: str = "<lab>") -> Lab:
    """Load a lab from YAML text; raises LabError listing every problem."""
    source = parse(text, file)
    if source.data is None:
        raise LabError([located(file, None, "", "the file is empty: expected a lab with keys lab, title, vpc, "
                                                "subnets, security_groups, hosts and steps")])
    if not isinstance(source.data, dict):
        raise LabError([source.problem((), "expected a mapping with keys lab, title, vpc, subnets, "
                                           "security_groups, hosts and steps")])
    return _build(source)


def _build(source: Source) -> Lab:
    """The network is the assembler's; the header and the steps are the lab's."""
    data = source.data
    assert isinstance(data, dict)
    snapshot_warnings: list[Problem] = []
    if "snapshot" in data:
        assembler = Assembler(source.origin)  # a lab on a real configuration: the network comes from the snapshot
        spec = assembler.sections(schema.SnapshotLabSpec, data)
        network, snapshot_warnings = (network_on_snapshot(assembler, spec, source.file) if spec.snapshot
                                      else (None, []))
    else:  # the lab's own VPC: with AWS's default security group (vpclab.lab.defaults)
        data = with_default_group(data)
        assembler = Assembler(default_group_origin(source.origin, source.lines))
        spec = assembler.sections(schema.LabSpec, data)
        network = assembler.network(spec)
    names = declared_names(data) if "snapshot" not in data or network is None else {
        section: set(getattr(network, section)) for section in ("subnets", "nacls", "prefix_lists", "security_groups",
                                                                "hosts")}
    if "snapshot" in data and network is not None:
        names["hosts"] = set(names["hosts"]) | set(data.get("hosts") or {})
    steps = StepChecker(assembler, network, names, source.line_of).steps(data.get("steps"))
    if assembler.errors or network is None:
        raise LabError(_by_line(assembler.problems))
    return Lab(spec.lab, spec.title, spec.about, network, tuple(steps), source.file,
               tuple(_by_line(assembler.warnings)) + tuple(snapshot_warnings), getattr(spec, "snapshot", "") or "")


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.origin.line if p.origin and p.origin.line else 0)
