"""Inputs → model: one assembler turns data in the lab file's shape into a `Network`, with provenance."""

from vpclab.load.assemble import Assembler, assemble
from vpclab.load.checker import Locator
from vpclab.load.problems import Path

__all__ = ["Assembler", "Locator", "Path", "assemble"]
