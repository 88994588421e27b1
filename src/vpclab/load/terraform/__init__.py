"""Terraform JSON → a network document (docs/network-data.md): `terraform show -json` of a plan (the values after
apply, placeholders for ids known only after apply) or of a state, modules included (reference §9)."""

from __future__ import annotations

import os
from pathlib import Path

from vpclab.load.terraform.build import build
from vpclab.load.terraform.context import TerraformDocument
from vpclab.load.terraform.detect import Kind, load


def read_terraform(path: str | os.PathLike[str]) -> TerraformDocument:
    """The network document a Terraform JSON file describes; its `kind` says `terraform-plan` or
    `terraform-state`. Raises `InputError` for a file that is not JSON or not a Terraform JSON document."""
    path = Path(path)
    kind, raw, warnings = load(path)
    return build(kind, raw, path.name, warnings)


__all__ = ["Kind", "TerraformDocument", "read_terraform"]
