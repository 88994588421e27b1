"""Run a lab on both backends and compare outcomes step by step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vpclab.lab.differences import exposures
from vpclab.lab.loader import Lab
from vpclab.lab.runner import LabResult


@dataclass(frozen=True, slots=True)
class DiffRow:
    index: int
    description: str
    expect: str | None
    sim: str
    kernel: str
    listed: tuple[str, ...] = ()

    @property
    def agree(self) -> bool:
        return self.sim == self.kernel

    @property
    def status(self) -> str:
        if self.agree:
            return "agree"
        return f"listed ({', '.join(self.listed)})" if self.listed else "DISAGREE"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "description": self.description, "expect": self.expect, "sim": self.sim,
                "kernel": self.kernel, "agree": self.agree, "listed": list(self.listed)}


def compare(lab: Lab, sim: LabResult, kernel: LabResult) -> list[DiffRow]:
    listed = exposures(lab, {step.index: step.outcome for step in sim.steps})
    return [DiffRow(s.index, s.description, s.expect, s.outcome, k.outcome, tuple(listed.get(s.index, ())))
            for s, k in zip(sim.steps, kernel.steps)]


def unexplained(rows: list[DiffRow]) -> list[DiffRow]:
    """Disagreements that no listed difference explains."""
    return [r for r in rows if not r.agree and not r.listed]
