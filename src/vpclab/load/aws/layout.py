"""Account and region of a describe output: no output carries them (aws-routing-terraform.md §8.1), so they come
from the folder (`[accounts/]<id>/<region>/`), else from the ARNs and availability zones inside the files."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
REGION_FOLDER = re.compile(rf"^{REGION}$")
ACCOUNT_FOLDER = re.compile(r"^\d{12}$")
REGION_IN_TEXT = re.compile(rf'"arn:aws[a-z-]*:ec2:({REGION}):'                       # SubnetArn, …
                            rf'|"(?:AvailabilityZone|ZoneName)"\s*:\s*"({REGION})[a-z]"'  # us-east-2a
                            rf'|"RegionName"\s*:\s*"({REGION})"')                          # AvailabilityZones


def folder_scope(file: str) -> tuple[str | None, str | None]:
    """The account and region the folders of `file` (relative to the snapshot) name, innermost first."""
    folders = PurePosixPath(file).parts[:-1]
    account = next((part for part in reversed(folders) if ACCOUNT_FOLDER.match(part)), None)
    region = next((part for part in reversed(folders) if REGION_FOLDER.match(part)), None)
    return account, region


def regions_in(text: str) -> set[str]:
    """The regions the ARNs, availability zone names and region names of a file's text name."""
    return {next(group for group in match.groups() if group) for match in REGION_IN_TEXT.finditer(text)}
