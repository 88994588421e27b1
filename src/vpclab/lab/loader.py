"""Load a lab file: YAML → checked spec → model Network and typed steps, or every problem with file and line.

Configuration steps (authorize, revoke, NACL changes…) are applied to the model while loading, so a lab whose
third change is impossible is refused before anything runs: never a half-applied lab.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path as FilePath

from vpclab.lab import schema
from vpclab.lab.yamlsource import LabError, Source, located, parse
from vpclab.load import Assembler, Path
from vpclab.model import Direction, ModelError, Network, parse_ip


@dataclass(frozen=True, slots=True)
class LabStep:
    """One step: its 1-based index, action word, checked spec, line, and for changes the network after it."""

    index: int
    action: str
    spec: schema.Strict
    line: int | None = None
    network: Network | None = None

    @property
    def expect(self) -> str | None:
        return getattr(self.spec, "expect", None)


@dataclass(frozen=True, slots=True)
class Lab:
    """A loaded lab: its identity, its starting network and its steps."""

    name: str
    title: str
    about: str
    network: Network
    steps: tuple[LabStep, ...]
    file: str

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
    return _Builder(source).build()


class _Builder:
    """The lab-specific parts of loading (header, steps); the network is the assembler's."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.assembler = Assembler(source.origin)
        self.fail = self.assembler.fail

    def build(self) -> Lab:
        data = self.source.data
        assert isinstance(data, dict)
        spec = self.assembler.sections(schema.LabSpec, data)
        network = self.assembler.network(spec)
        steps = self.steps(data.get("steps"), network)
        problems = self.assembler.problems
        if problems or network is None:
            raise LabError(sorted(problems, key=lambda p: (p.origin.line if p.origin and p.origin.line else 0)))
        return Lab(spec.lab, spec.title, spec.about, network, tuple(steps), self.source.file)

    # ---- steps ---------------------------------------------------------------------------------------

    def steps(self, raw: object, network: Network | None) -> list[LabStep]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.fail(("steps",), "expected a list of steps")
            return []
        steps: list[LabStep] = []
        connections: set[str] = set()
        for index, item in enumerate(raw):
            path: Path = ("steps", index)
            if not isinstance(item, dict) or len(item) != 1:
                self.fail(path, f"a step is a mapping with one action: expected one of {', '.join(schema.STEP_TYPES)}")
                continue
            action, body = next(iter(item.items()))
            if action not in schema.STEP_TYPES:
                self.fail(path + (action,), f"unknown step {action!r}: expected one of {', '.join(schema.STEP_TYPES)}")
                continue
            step_path = path + (action,)
            spec = self.assembler.validate(schema.STEP_TYPES[action], body if body is not None else {}, step_path)
            if spec is None:
                continue
            if network is not None:
                network = self.check_step(action, spec, step_path, network, connections)
            steps.append(LabStep(index + 1, action, spec, self.source.line_of(path),
                                 network if action in schema.CONFIG_ACTIONS else None))
        return steps

    def check_step(self, action: str, spec: typing.Any, path: Path, network: Network,
                   connections: set[str]) -> Network:
        """Check a step's references; for a change, apply it to the model and return the new network."""
        hosts = network.hosts
        for key, alias in (("src", "from"), ("to", "to"), ("host", "host")):
            value = getattr(spec, key, None)
            if value is None or value in hosts or (key == "to" and _is_address(value)):
                continue
            expected = "a host name" + (" or an IP address" if key == "to" else "")
            self.fail(path + (alias,), f"unknown host {value!r}: expected {expected} ({', '.join(hosts)})")
        if action == "connect" and spec.name:
            connections.add(spec.name)
        if action in ("send", "close") and spec.conn not in connections:
            self.fail(path + ("conn",), f"unknown connection {spec.conn!r}: expected a name given by an earlier "
                                        f"connect's `as` ({', '.join(sorted(connections)) or 'none yet'})")
        try:
            if action in ("authorize", "revoke"):
                return self.sg_change(action, spec, path, network)
            if action == "nacl_entry":
                direction = self.one_direction(spec, path)
                if direction is None:
                    return network
                entry = self.assembler.nacl_entry(path + (direction.value,), getattr(spec, direction.value))
                return network.add_nacl_entry(spec.nacl, direction, entry) if entry else network
            if action == "delete_nacl_entry":
                return network.delete_nacl_entry(spec.nacl, Direction(spec.direction), spec.rule)
            if action == "associate_nacl":
                return network.associate_nacl(spec.subnet, spec.nacl)
            if action == "set_security_groups":
                return network.set_security_groups(spec.host, spec.security_groups)
        except ModelError as error:
            for problem in error.problems:
                field = problem.field if "." not in problem.field else ""
                self.fail(path + ((field,) if field else ()), problem.message)
        return network

    def one_direction(self, spec: typing.Any, path: Path) -> Direction | None:
        """The one direction a change step gives (`ingress:` or `egress:`), or None after reporting a problem."""
        directions = [d for d in Direction if getattr(spec, d.value) is not None]
        if len(directions) != 1:
            self.fail(path, "expected exactly one of ingress or egress")
            return None
        return directions[0]

    def sg_change(self, action: str, spec: schema.SgChangeStep, path: Path, network: Network) -> Network:
        direction = self.one_direction(spec, path)
        if direction is None:
            return network
        rule = self.assembler.sg_rule(path + (direction.value,), getattr(spec, direction.value))
        if rule is None:
            return network
        if action == "authorize":
            return network.authorize(spec.sg, direction, rule)
        return network.revoke(spec.sg, direction, rule)


def _is_address(value: str) -> bool:
    try:
        parse_ip(value)
    except ModelError:
        return False
    return True
