"""The `--ip-permissions` shorthand vpclab prints (aws-semantics.md §1.1: IpProtocol is tcp, udp, icmp, icmpv6, -1
or a protocol number; single addresses need their prefix length)."""

from vpclab.report.awscli import ip_permissions, ip_protocol

from netbuild import rule


def test_protocols_are_named_only_where_the_api_takes_names():
    assert [ip_protocol(n) for n in (6, 17, 1, 58, -1, 47, 50)] == ["tcp", "udp", "icmp", "icmpv6", "-1", "47", "50"]


def test_each_peer_kind_and_the_description_of_an_authorize():
    assert ip_permissions(rule({"proto": "tcp", "ports": "22", "cidr": "10.0.0.5/32"})) == \
        "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.0.0.5/32}]"
    assert ip_permissions(rule({"proto": "-1", "cidr": "::/0", "description": "all v6"}), description=True) == \
        'IpProtocol=-1,Ipv6Ranges=[{CidrIpv6=::/0,Description="all v6"}]'
    assert ip_permissions(rule({"proto": "icmp", "icmp": {"type": 3, "code": 4}, "sg": "sg-1"})) == \
        "IpProtocol=icmp,FromPort=3,ToPort=4,UserIdGroupPairs=[{GroupId=sg-1}]"
    assert ip_permissions(rule({"proto": "gre", "prefix_list": "pl-1"})) == \
        "IpProtocol=47,PrefixListIds=[{PrefixListId=pl-1}]"
