"""The network document importers fill: values at paths, the origin of each, the nearest origin for a sub-path."""

from vpclab.errors import Origin
from vpclab.load.document import Document


def test_put_and_append_build_nested_data_and_remember_origins():
    doc = Document()
    group = Origin("sg.json", path="$.SecurityGroups[0]")
    doc.put(("security_groups", "sg-1"), {"name": "web", "ingress": []}, group)
    rule = Origin("sg.json", path="$.SecurityGroups[0].IpPermissions[0].IpRanges[0]")
    index = doc.append(("security_groups", "sg-1", "ingress"), {"proto": "tcp", "ports": 22, "cidr": "10.0.0.0/8"}, rule)
    assert index == 0 and doc.data["security_groups"]["sg-1"]["ingress"][0]["ports"] == 22
    assert doc.locate(("security_groups", "sg-1", "ingress", 0, "ports")) == rule  # nearest enclosing origin
    assert doc.locate(("security_groups", "sg-1", "description")) == group
    assert doc.locate(("subnets", "subnet-1")) is None


def test_warnings_are_problems_with_severity_warning():
    doc = Document()
    doc.warn(Origin("x.json"), "unknown file: skipped")
    (warning,) = doc.warnings
    assert warning.severity == "warning" and str(warning) == "x.json: warning: unknown file: skipped"
