"""AWS objects as the files hold them (the vendor representation): each with its file, JSON path, account, region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vpclab.errors import Origin
from vpclab.load.aws.discover import Piece
from vpclab.load.document import Document


@dataclass(frozen=True, slots=True)
class Record:
    """One JSON object of a describe output, e.g. `$.SecurityGroups[3]` of `us-east-2/SecurityGroups.json`."""

    data: dict[str, Any]
    file: str
    path: str
    account: str | None = None
    region: str | None = None

    @classmethod
    def of(cls, data: dict[str, Any], file: str, path: str, account: str | None, region: str | None) -> Record:
        """The object `data` at `path`; its account is its OwnerId when it has one, else `account`."""
        owner = data.get("OwnerId")
        return cls(data, file, path, owner if isinstance(owner, str) and owner else account, region)

    @property
    def origin(self) -> Origin:
        return Origin(self.file, path=self.path)

    def at(self, key: str) -> Origin:
        """The origin of the member `key` of this object."""
        return Origin(self.file, path=f"{self.path}.{key}")

    def text(self, key: str) -> str | None:
        """The string at `key`, or None (absent, empty or not a string)."""
        value = self.data.get(key)
        return value if isinstance(value, str) and value else None

    def state(self, key: str = "State") -> str | None:
        """A state written as a string or inside an object: `{"State": …}` (AssociationState), `{"Code": …}`
        (a peering's Status), `{"Code": 48, "Name": …}` (an instance's State)."""
        value = self.data.get(key)
        if isinstance(value, dict):
            value = next((value[k] for k in ("State", "Code", "Name") if isinstance(value.get(k), str)), None)
        return value if isinstance(value, str) else None

    def child(self, key: str) -> Record | None:
        """The nested object at `key` (e.g. `Association`), or None."""
        value = self.data.get(key)
        return Record.of(value, self.file, f"{self.path}.{key}", self.account, self.region) \
            if isinstance(value, dict) else None

    def children(self, key: str) -> list[Record]:
        """The objects of the list at `key`, each at its own JSON path; anything else in the list is left out."""
        value = self.data.get(key)
        if not isinstance(value, list):
            return []
        return [Record.of(item, self.file, f"{self.path}.{key}[{index}]", self.account, self.region)
                for index, item in enumerate(value) if isinstance(item, dict)]

    def texts(self, key: str, field: str | None = None) -> list[str]:
        """The strings of the list at `key` (or the `field` of each of its objects), e.g. SubnetIds, Groups."""
        value = self.data.get(key)
        items = value if isinstance(value, list) else []
        if field is not None:
            items = [item.get(field) for item in items if isinstance(item, dict)]
        return [item for item in items if isinstance(item, str) and item]

    def name(self) -> str | None:
        """The Name tag (`Tags`, or `TagSet` for network interfaces)."""
        tags = self.data.get("Tags", self.data.get("TagSet"))
        names = [tag.get("Value") for tag in tags if isinstance(tag, dict) and tag.get("Key") == "Name"] \
            if isinstance(tags, list) else []
        return next((name for name in names if isinstance(name, str) and name), None)

    def common(self) -> dict[str, str]:
        """The keys every document object may carry: `name` (the Name tag), `account`, `region`."""
        return present(name=self.name(), account=self.account, region=self.region)


def collect(doc: Document, pieces: list[Piece], id_key: str) -> list[Record]:
    """The objects of `pieces` (one top-level key) in file order, each id once: pagination pieces and the outputs
    of several accounts overlap (aws-routing-terraform.md §8.1, §7 shared VPCs)."""
    seen: set[str] = set()
    records = []
    for piece in pieces:
        for index, item in enumerate(piece.items):
            where = Origin(piece.file, path=f"$.{piece.key}[{index}]")
            ident = item.get(id_key) if isinstance(item, dict) else None
            if not isinstance(ident, str) or not ident:
                doc.warn(where, f"no {id_key}: skipped")
                continue
            if ident in seen:
                continue
            seen.add(ident)
            records.append(Record.of(item, piece.file, where.path, piece.account, piece.region))
    return records


def present(**values: Any) -> dict[str, Any]:
    """`values` without the ones that are None: optional document keys are left out rather than null."""
    return {key: value for key, value in values.items() if value is not None}
