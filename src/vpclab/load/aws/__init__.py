"""AWS describe JSON → network document: Batfish's vendor representation for EC2 (docs/network-data.md).

`read_aws_folder(path)` reads every describe output under a folder (any layout, several accounts and regions),
recognised by top-level key, and returns a `Document` whose every part is located at its file and JSON path.
"""

from vpclab.load.aws.read import read_aws_folder

__all__ = ["read_aws_folder"]
