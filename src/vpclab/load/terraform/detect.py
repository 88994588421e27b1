"""Which Terraform JSON document a file holds (reference §9.1): a plan or a state of `terraform show -json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from vpclab.errors import InputError, Origin, Problem

Kind = Literal["terraform-plan", "terraform-state"]

#: Major versions of the JSON output format read here: Terraform 0.12-0.15 wrote "0.1"/"0.2", later ones "1.x".
MAJORS = ("0", "1")
SHOW = "expected the output of `terraform show -json` (of a plan file or of the state)"


def load(path: Path) -> tuple[Kind, dict[str, Any], list[Problem]]:
    """The document's kind, its JSON, and warnings about the document as a whole; InputError if it is not one."""
    origin = Origin(path.name)
    try:
        raw = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(Problem("", f"cannot read the file: {exc.strerror or exc}", origin)) from None
    except UnicodeDecodeError:
        raise InputError(Problem("", f"not JSON: the file is not UTF-8 text; {SHOW}", origin)) from None
    except json.JSONDecodeError as exc:
        raise InputError(Problem("", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; {SHOW}",
                                 Origin(path.name, exc.lineno))) from None
    if not isinstance(raw, dict):
        raise InputError(Problem("", f"not a Terraform JSON document: the top level is not an object; {SHOW}", origin))
    if "format_version" not in raw:
        hint = ("a raw terraform.tfstate file (version, serial, lineage): run `terraform show -json` to turn it "
                "into the JSON vpclab reads" if "lineage" in raw or "serial" in raw
                else f"not a Terraform JSON document: no `format_version`; {SHOW}")
        raise InputError(Problem("format_version", hint, origin))
    version = str(raw["format_version"])
    if version.split(".")[0] not in MAJORS:
        raise InputError(Problem("format_version", f"unsupported format_version {version!r}: vpclab reads "
                                 "Terraform's JSON format 0.x and 1.x", origin))
    kind: Kind
    if "planned_values" in raw or "resource_changes" in raw:
        kind = "terraform-plan"
    elif "values" in raw or set(raw) <= {"format_version", "terraform_version"}:  # an empty state has no values
        kind = "terraform-state"
    else:
        raise InputError(Problem("", f"not a Terraform JSON document: neither `planned_values` (a plan) nor "
                                 f"`values` (a state); {SHOW}", origin))
    return kind, raw, _plan_warnings(raw, origin) if kind == "terraform-plan" else []


def _plan_warnings(raw: dict[str, Any], origin: Origin) -> list[Problem]:
    """A plan that errored or cannot be applied is no valid after-world (§9.2): read anyway, with a warning."""
    flags = [("errored", True, "the plan errored"), ("applyable", False, "the plan cannot be applied"),
             ("complete", False, "the plan is incomplete (another plan/apply round is expected)")]
    return [Problem(key, f"{text}: the values after apply may be partial", origin, "warning")
            for key, bad, text in flags if raw.get(key) is bad]
