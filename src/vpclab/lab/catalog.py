"""Find labs by built-in name or path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from vpclab.lab.loader import Lab, load_lab, parse_lab
from vpclab.lab.yamlsource import LabError, located


def builtin_names() -> list[str]:
    """Names of the built-in labs, in file order."""
    folder = resources.files("vpclab.lab.builtin")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_labs() -> list[Lab]:
    return [load(name) for name in builtin_names()]


def load(name_or_path: str) -> Lab:
    """A built-in lab by name, or a lab file by path."""
    if name_or_path in builtin_names():
        resource = resources.files("vpclab.lab.builtin").joinpath(f"{name_or_path}.yaml")
        return parse_lab(resource.read_text(encoding="utf-8"), f"builtin:{name_or_path}")
    path = Path(name_or_path)
    if path.exists():
        return load_lab(path)
    raise LabError([located(name_or_path, None, "", "no such lab: expected a built-in lab name "
                                                    f"({', '.join(builtin_names())}) or a path to a lab file")])
