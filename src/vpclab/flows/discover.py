"""Find flow-log files under the given paths and group them by how they must be read (file level, never records).

Only each file's first bytes are read here: the magic number (gzip, Parquet, JSON) and the header line.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from vpclab.flows.fields import BY_NAME, looks_like_header

# Names a folder walk reads; a file named on the command line is read whatever its name.
FOLDER_SUFFIXES = (".log", ".log.gz", ".gz", ".txt", ".parquet", ".json", ".json.gz", ".jsonl")


@dataclass(frozen=True)
class Problem:
    """A located input problem: file, line (0 = the whole file), what is wrong and what is expected."""

    file: str
    line: int
    message: str
    fatal_for_file: bool = False  # the file could not be read at all
    detail: str = ""  # what the engine said (differs between engines; not part of the comparison)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" + (f": {self.detail}" if self.detail else "")


@dataclass
class TextGroup:
    """Space-separated text files sharing one field list; `header` says whether line 1 names the fields."""

    fields: tuple[str, ...]
    header: bool
    files: list[str] = field(default_factory=list)
    ignored: tuple[int, ...] = ()  # positions (0-based) of header fields that are not flow-log fields


@dataclass
class Sources:
    """What discovery found: text groups, Parquet files, CloudWatch JSON files, and the problems met."""

    text: list[TextGroup] = field(default_factory=list)
    parquet: list[str] = field(default_factory=list)
    cloudwatch: list[tuple[str, str]] = field(default_factory=list)  # (file, "events" | "logEvents" | "lines")
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    shown: dict[str, str] = field(default_factory=dict)  # absolute path (what engines report) -> as the user named it

    @property
    def files(self) -> list[str]:
        """Every file that will be read."""
        return [f for g in self.text for f in g.files] + self.parquet + [f for f, _ in self.cloudwatch]


def _walk(path: Path) -> tuple[list[Path], list[str]]:
    if path.is_file():
        return [path], []
    found: list[Path] = []
    skipped: list[str] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            full = Path(root) / name
            if name.startswith("."):
                continue
            (found if name.lower().endswith(FOLDER_SUFFIXES) else skipped).append(full)  # type: ignore[arg-type]
    return found, [str(s) for s in skipped]


def _head(path: Path) -> tuple[bytes, str | None]:
    """The first 64 KiB (decompressed when gzip) and an error if the file cannot even start to be read."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    try:
        if magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as zipped:
                return zipped.read1(65536) if hasattr(zipped, "read1") else zipped.read(65536), None
        with open(path, "rb") as plain:
            return plain.read(65536), None
    except (OSError, EOFError, zlib.error) as error:
        return b"", f"cannot be read: {error} (expected a gzip or plain-text flow-log file)"


MISSING = "no such file or folder (expected a flow-log file or folder)"


def missing(paths: list[Path]) -> list[Problem]:
    """The given paths that do not exist: the commands refuse them (exit 2) before reading anything, as a typo in
    one path would otherwise leave its traffic out of a summary or a proposal unnoticed."""
    return [Problem(str(path), 0, MISSING, True) for path in paths if not path.exists()]


def discover(paths: list[Path], default_fields: tuple[str, ...]) -> Sources:
    """Classify every file under `paths`; text files without a header use `default_fields`."""
    sources = Sources()
    groups: dict[tuple[tuple[str, ...], bool, tuple[int, ...]], TextGroup] = {}
    for given in paths:
        if not given.exists():
            sources.problems.append(Problem(str(given), 0, MISSING, True))
            continue
        if not given.is_file() and not given.is_dir():
            sources.problems.append(Problem(str(given), 0, "not a regular file or folder (expected a flow-log file "
                                            "or a folder of them)", True))
            continue
        files, skipped = _walk(given)
        sources.skipped.extend(skipped)
        if given.is_dir() and not files:
            sources.problems.append(Problem(str(given), 0, "folder holds no flow-log file (expected *.log, *.log.gz, "
                                            "*.parquet or CloudWatch *.json, any nesting)", True))
        for path in files:
            if not path.exists():  # a link to nothing, found in a folder
                sources.problems.append(Problem(str(path), 0, "a link to no file (cannot be read)", True))
                continue
            sources.shown[str(path.resolve())] = str(path)
            _classify(path.resolve(), sources, groups, default_fields)
    sources.text = list(groups.values())
    return sources


def _classify(path: Path, sources: Sources, groups: dict, default_fields: tuple[str, ...]) -> None:  # type: ignore[type-arg]
    name = str(path)
    try:
        with open(path, "rb") as raw:
            magic = raw.read(4)
    except OSError as error:
        sources.problems.append(Problem(name, 0, f"cannot be read: {error.strerror or error}", True))
        return
    if magic == b"PAR1":
        sources.parquet.append(name)
        return
    head, error = _head(path)
    if error:
        sources.problems.append(Problem(name, 0, error, True))
        return
    stripped = head.lstrip()
    if not stripped:
        sources.problems.append(Problem(name, 0, "empty file (no header, no record)"))
        return
    if stripped[:1] in (b"{", b"["):
        kind = "logEvents" if b'"logEvents"' in head else "events" if b'"events"' in head else "lines"
        if stripped[:1] == b"[":
            kind = "array"
        if kind in ("lines", "array") and b'"message"' not in head:
            sources.problems.append(Problem(name, 0, "JSON without CloudWatch Logs events (expected {\"events\": "
                                            "[{\"message\": …}]}, {\"logEvents\": …} or one event per line); "
                                            "skipped"))
            sources.skipped.append(name)
            return
        sources.cloudwatch.append((name, kind))
        return
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split()
    if looks_like_header(first) and any(t in BY_NAME for t in first):
        unknown = tuple(i for i, t in enumerate(first) if t not in BY_NAME)
        for i in unknown:
            sources.problems.append(Problem(name, 1, f"unknown field {first[i]!r} in the header (ignored; expected "
                                            "names from the flow-log field table, versions 2-8)"))
        duplicated = sorted({t for t in first if first.count(t) > 1})
        if duplicated:
            sources.problems.append(Problem(name, 1, f"header names {', '.join(duplicated)} twice (expected each "
                                            "field once)", True))
            return
        key = (tuple(first), True, unknown)
    else:
        if looks_like_header(first):
            sources.problems.append(Problem(name, 1, "line 1 looks like a header but names no VPC flow-log field "
                                            f"({' '.join(first[:3])} …; transit gateway fields are not read): "
                                            "the file is read with the default format or --format"))
        key = (default_fields, False, ())
    group = groups.setdefault(key, TextGroup(key[0], key[1], ignored=key[2]))
    group.files.append(name)
