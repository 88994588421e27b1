"""A seeded synthetic AWS describe-JSON snapshot for the import benchmark (issue 8, "Performance").

At 10,000 ENIs it holds the issue's target: 50 VPCs, 500 subnets, 200 NACLs, 2,000 security groups with 40,000
rules (one per peer, as AWS counts them; 45% of them group references), in the CLI's shapes; smaller sizes scale
every count with the ENIs (200 per VPC). Each VPC: 10 subnets over 3 zones (3 public), a default and 3 custom
NACLs, 40 groups (one `default`), an internet gateway, a NAT gateway (whose ENI has no group), a main, a public
and 3 private route tables, and a peering with its neighbour VPC.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
ENIS_PER_VPC = 200  # the NAT gateway's included
SUBNETS_PER_VPC = 10
PUBLIC_SUBNETS = 3  # the first three of each VPC
NACLS_PER_VPC = 4  # the default one and three custom ones
GROUPS_PER_VPC = 40
RULES_PER_VPC = 800  # 40,000 rules over 2,000 groups at 10,000 ENIs
GROUP_REFERENCES = 0.45  # the share of rules whose peer is a group
#: (IpProtocol, FromPort, ToPort) a rule may allow.
SERVICES = (("tcp", 443, 443), ("tcp", 80, 80), ("tcp", 22, 22), ("tcp", 5432, 5432), ("tcp", 3306, 3306),
            ("tcp", 6379, 6379), ("tcp", 8080, 8090), ("tcp", 9000, 9100), ("udp", 53, 53), ("udp", 123, 123),
            ("tcp", 1024, 65535), ("icmp", 8, -1), ("-1", None, None))
Json = dict[str, Any]


def write_snapshot(folder: Path, enis: int, seed: int = 8) -> dict[str, int]:
    """Write the snapshot of `enis` ENIs (a multiple of 200) under `folder`/aws_configs/<region>/; returns what it
    holds (the counts `vpclab import` reports)."""
    if enis % ENIS_PER_VPC or not 0 < enis // ENIS_PER_VPC <= 250:
        raise ValueError(f"expected a multiple of {ENIS_PER_VPC} ENIs, at most 50,000")
    rng = random.Random(seed)
    files: dict[str, list[Json]] = {key: [] for key in (
        "Vpcs", "Subnets", "NetworkAcls", "SecurityGroups", "NetworkInterfaces", "RouteTables", "InternetGateways",
        "NatGateways", "VpcPeeringConnections")}
    vpcs = enis // ENIS_PER_VPC
    for index in range(vpcs):
        for key, items in _vpc(rng, index, vpcs).items():
            files[key] += items
    where = folder / "aws_configs" / REGION
    where.mkdir(parents=True, exist_ok=True)
    for key, items in files.items():
        (where / f"{key}.json").write_text(json.dumps({key: items}, indent=1))
    rules = sum(len(permission[key]) for group in files["SecurityGroups"]
                for direction in ("IpPermissions", "IpPermissionsEgress") for permission in group[direction]
                for key in ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"))
    return {"vpcs": vpcs, "subnets": len(files["Subnets"]), "nacls": len(files["NetworkAcls"]),
            "security_groups": len(files["SecurityGroups"]), "sg_rules": rules,
            "enis": len(files["NetworkInterfaces"]), "route_tables": len(files["RouteTables"])}


def _id(prefix: str, vpc: int, index: int) -> str:
    """A 17-hex-digit AWS id, unique per (prefix, VPC, index)."""
    return f"{prefix}-{vpc:08x}{index:09x}"


def _cidr(vpc: int) -> str:
    return f"10.{vpc}.0.0/16"


def _subnet_cidr(vpc: int, subnet: int) -> str:
    return f"10.{vpc}.{subnet * 4}.0/22"


def _tags(name: str) -> list[Json]:
    return [{"Key": "Name", "Value": name}]


def _vpc(rng: random.Random, v: int, vpcs: int) -> dict[str, list[Json]]:
    """Every object of VPC number `v`, by describe output key."""
    vpc_id = _id("vpc", v, 0)
    subnets = [_id("subnet", v, s) for s in range(SUBNETS_PER_VPC)]
    groups = [_id("sg", v, g) for g in range(GROUPS_PER_VPC)]
    peer = v + 1 if v % 2 == 0 and v + 1 < vpcs else v - 1 if v % 2 else None
    peering = _id("pcx", min(v, peer), 0) if peer is not None else None
    nat_eni, nat_ip = _id("eni", v, 0), f"10.{v}.0.10"
    out: dict[str, list[Json]] = {
        "Vpcs": [{"CidrBlock": _cidr(v), "CidrBlockAssociationSet": [
            {"AssociationId": _id("vpc-cidr-assoc", v, 0), "CidrBlock": _cidr(v),
             "CidrBlockState": {"State": "associated"}}], "DhcpOptionsId": _id("dopt", v, 0),
            "InstanceTenancy": "default", "IsDefault": False, "OwnerId": ACCOUNT, "State": "available",
            "VpcId": vpc_id, "Tags": _tags(f"vpc-{v}")}],
        "Subnets": [{"AvailabilityZone": ZONES[s % 3], "AvailableIpAddressCount": 1000,
                     "CidrBlock": _subnet_cidr(v, s), "DefaultForAz": False, "Ipv6CidrBlockAssociationSet": [],
                     "MapPublicIpOnLaunch": s < PUBLIC_SUBNETS, "OwnerId": ACCOUNT, "State": "available",
                     "SubnetArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{ident}", "SubnetId": ident,
                     "Tags": _tags(f"vpc-{v}-{'public' if s < PUBLIC_SUBNETS else 'private'}-{s}"),
                     "VpcId": vpc_id} for s, ident in enumerate(subnets)],
        "NetworkAcls": [_nacl(rng, v, n, vpc_id, {s: ident for s, ident in enumerate(subnets)
                                                  if s % NACLS_PER_VPC == n}) for n in range(NACLS_PER_VPC)],
        "SecurityGroups": _groups(rng, v, vpc_id, groups),
        "NetworkInterfaces": [_nat_eni(v, nat_eni, nat_ip, subnets[0], vpc_id)] + [
            _eni(rng, v, e, subnets, groups, vpc_id) for e in range(1, ENIS_PER_VPC)],
        "RouteTables": _route_tables(v, vpc_id, subnets, peer, peering),
        "InternetGateways": [{"Attachments": [{"State": "available", "VpcId": vpc_id}],
                              "InternetGatewayId": _id("igw", v, 0), "OwnerId": ACCOUNT, "Tags": []}],
        "NatGateways": [{"CreateTime": "2026-01-01 00:00:00+00:00", "NatGatewayAddresses": [
            {"AllocationId": _id("eipalloc", v, 0), "NetworkInterfaceId": nat_eni, "PrivateIp": nat_ip,
             "PublicIp": f"3.{v}.255.1", "IsPrimary": True}], "NatGatewayId": _id("nat", v, 0),
            "State": "available", "SubnetId": subnets[0], "Tags": [], "VpcId": vpc_id, "ConnectivityType": "public"}],
        "VpcPeeringConnections": [],
    }
    if peer is not None and v < peer:
        out["VpcPeeringConnections"].append({
            **{f"{side}VpcInfo": {"CidrBlock": _cidr(n), "CidrBlockSet": [{"CidrBlock": _cidr(n)}], "OwnerId": ACCOUNT,
                                  "Region": REGION, "VpcId": _id("vpc", n, 0)}
               for side, n in (("Requester", v), ("Accepter", peer))},
            "Status": {"Code": "active", "Message": "Active"}, "Tags": _tags(f"vpc-{v}-vpc-{peer}"),
            "VpcPeeringConnectionId": peering})
    return out


def _nacl(rng: random.Random, v: int, n: int, vpc_id: str, subnets: dict[int, str]) -> Json:
    """NACL `n` of VPC `v` (0 is the default, allow all), associated with `subnets` (by number), with the `*`
    entries."""
    entries: list[Json] = []
    for egress in (False, True):
        if n == 0:
            entries.append({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "allow",
                            "RuleNumber": 100})
        else:
            for number in range(1, rng.randint(6, 10)):
                entries.append(_nacl_entry(rng, v, number * 10, egress))
            entries.append({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "6", "RuleAction": "allow",
                            "RuleNumber": 200, "PortRange": {"From": 1024, "To": 65535}})
        entries.append({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "deny",
                        "RuleNumber": 32767})
    return {"Associations": [{"NetworkAclAssociationId": _id("aclassoc", v, s), "NetworkAclId": _id("acl", v, n),
                              "SubnetId": ident} for s, ident in subnets.items()],
            "Entries": entries, "IsDefault": n == 0, "NetworkAclId": _id("acl", v, n), "OwnerId": ACCOUNT,
            "Tags": [] if n == 0 else _tags(f"vpc-{v}-acl-{n}"), "VpcId": vpc_id}


def _nacl_entry(rng: random.Random, v: int, number: int, egress: bool) -> Json:
    """A custom NACL entry: TCP/UDP ports, ICMP type/code or all traffic, to the VPC, a partner or anywhere."""
    cidr = rng.choice((_cidr(v), "0.0.0.0/0", f"172.{rng.randint(16, 31)}.0.0/16",
                       f"198.51.100.{rng.randint(0, 15) * 16}/28"))
    entry: Json = {"CidrBlock": cidr, "Egress": egress, "RuleNumber": number,
                   "RuleAction": "deny" if cidr.startswith("198.51") else "allow"}
    proto, first, last = rng.choice(SERVICES)
    if proto == "icmp":
        return {**entry, "Protocol": "1", "IcmpTypeCode": {"Type": first, "Code": last}}
    if proto == "-1":
        return {**entry, "Protocol": "-1"}
    return {**entry, "Protocol": "6" if proto == "tcp" else "17", "PortRange": {"From": first, "To": last}}


def _groups(rng: random.Random, v: int, vpc_id: str, groups: list[str]) -> list[Json]:
    """The VPC's groups: `default` (AWS's two rules), the others sharing the VPC's remaining rules, about a
    quarter of them egress; peers are CIDRs, ::/0 or (45%) other groups of the VPC, themselves included."""
    counts = [2] * (len(groups) - 1)
    for _ in range(RULES_PER_VPC - 2 - sum(counts)):
        counts[rng.randrange(len(counts))] += 1
    result = [_group(groups[0], "default", "default VPC security group", vpc_id,
                     {("-1", None, None): [("sg", groups[0])]}, {("-1", None, None): [("cidr", "0.0.0.0/0")]})]
    for g, (ident, count) in enumerate(zip(groups[1:], counts), start=1):
        egress_count = max(1, count // 4)
        directions = [_rules(rng, v, groups, n) for n in (count - egress_count, egress_count)]
        result.append(_group(ident, f"vpc-{v}-app-{g}", f"tier {g} of vpc-{v}", vpc_id, *directions))
    return result


Rules = dict[tuple[str, int | None, int | None], list[tuple[str, str]]]


def _rules(rng: random.Random, v: int, groups: list[str], count: int) -> Rules:
    """`count` distinct (service, peer) rules, grouped by service as IpPermissions are."""
    rules: Rules = {}
    made: set[tuple[object, ...]] = set()
    while len(made) < count:
        service = rng.choice(SERVICES)
        roll = rng.random()
        peer = (("sg", rng.choice(groups)) if roll < GROUP_REFERENCES else
                ("cidr6", "::/0") if roll < GROUP_REFERENCES + 0.02 else
                ("cidr", rng.choice(("0.0.0.0/0", _cidr(v), _subnet_cidr(v, rng.randrange(SUBNETS_PER_VPC)),
                                     f"172.{rng.randint(16, 31)}.{rng.randrange(256)}.0/24",
                                     _internet_host(rng)))))
        if (service, peer) not in made:
            made.add((service, peer))
            rules.setdefault(service, []).append(peer)
    return rules


def _internet_host(rng: random.Random) -> str:
    """A /32 somewhere on the internet (a partner's or an office's address)."""
    return f"{rng.randint(11, 99)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}/32"


def _group(ident: str, name: str, description: str, vpc_id: str, ingress: Rules, egress: Rules) -> Json:
    return {"Description": description, "GroupId": ident, "GroupName": name,
            "IpPermissions": [_permission(*service, peers) for service, peers in ingress.items()],
            "IpPermissionsEgress": [_permission(*service, peers) for service, peers in egress.items()],
            "OwnerId": ACCOUNT, "VpcId": vpc_id, "Tags": [] if name == "default" else _tags(name)}


def _permission(proto: str, first: int | None, last: int | None, peers: list[tuple[str, str]]) -> Json:
    """One IpPermission: its peers in the CLI's four lists (ICMP's FromPort/ToPort are type/code)."""
    ports = {"FromPort": first, "ToPort": last} if first is not None else {}
    return {**ports, "IpProtocol": proto,
            "IpRanges": [{"CidrIp": value} for kind, value in peers if kind == "cidr"],
            "Ipv6Ranges": [{"CidrIpv6": value} for kind, value in peers if kind == "cidr6"],
            "PrefixListIds": [],
            "UserIdGroupPairs": [{"GroupId": value, "UserId": ACCOUNT} for kind, value in peers if kind == "sg"]}


def _eni(rng: random.Random, v: int, e: int, subnets: list[str], groups: list[str], vpc_id: str) -> Json:
    """An instance's ENI: a tier group (a few tiers hold most ENIs), sometimes a second and a third group, a
    public IP in a public subnet, one in ten with a secondary private IP."""
    s = e % SUBNETS_PER_VPC
    ip = f"10.{v}.{s * 4 + 1 + e // 250}.{10 + e % 250}"
    picked = [groups[1 + min(int(rng.expovariate(0.15)), GROUPS_PER_VPC - 2)]]
    for chance in (0.4, 0.15):
        if rng.random() < chance:
            picked.append(rng.choice(groups))
    chosen = list(dict.fromkeys(picked))
    association = {"IpOwnerId": "amazon", "PublicIp": f"54.{v}.{e // 256}.{e % 256}"} if s < PUBLIC_SUBNETS else None
    addresses = [{"Primary": True, "PrivateIpAddress": ip, **({"Association": association} if association else {})}]
    if rng.random() < 0.1:
        addresses.append({"Primary": False, "PrivateIpAddress": f"10.{v}.{s * 4 + 3}.{10 + e % 250}"})
    instance = _id("i", v, e)
    return {**({"Association": association} if association else {}),
            "Attachment": {"AttachmentId": _id("eni-attach", v, e), "DeleteOnTermination": True, "DeviceIndex": 0,
                           "InstanceId": instance, "InstanceOwnerId": ACCOUNT, "Status": "attached"},
            "AvailabilityZone": ZONES[s % 3], "Description": "Primary network interface",
            "Groups": [{"GroupId": g, "GroupName": f"group-{g}"} for g in chosen], "InterfaceType": "interface",
            "Ipv6Addresses": [], "NetworkInterfaceId": _id("eni", v, e), "OwnerId": ACCOUNT,
            "PrivateIpAddress": ip, "PrivateIpAddresses": addresses, "RequesterManaged": False,
            "SourceDestCheck": True, "Status": "in-use", "SubnetId": subnets[s],
            "TagSet": _tags(f"vpc-{v}-host-{e}"), "VpcId": vpc_id}


def _nat_eni(v: int, ident: str, ip: str, subnet: str, vpc_id: str) -> Json:
    """The NAT gateway's ENI: requester-managed, no security group."""
    return {"AvailabilityZone": ZONES[0], "Description": f"Interface for NAT Gateway {_id('nat', v, 0)}",
            "Groups": [], "InterfaceType": "nat_gateway", "Ipv6Addresses": [], "NetworkInterfaceId": ident,
            "OwnerId": ACCOUNT, "PrivateIpAddress": ip,
            "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
            "RequesterManaged": True, "SourceDestCheck": False, "Status": "in-use", "SubnetId": subnet,
            "TagSet": [], "VpcId": vpc_id}


def _route_tables(v: int, vpc_id: str, subnets: list[str], peer: int | None, peering: str | None) -> list[Json]:
    """Main (local only), public (to the IGW) and one private table per zone (to the NAT gateway and the peer)."""
    local = {"DestinationCidrBlock": _cidr(v), "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}

    def table(t: int, routes: list[Json], associated: list[str], main: bool = False) -> Json:
        ident = _id("rtb", v, t)
        associations = [{"Main": True, "RouteTableAssociationId": _id("rtbassoc", v, t), "RouteTableId": ident,
                         "AssociationState": {"State": "associated"}}] if main else []
        associations += [{"Main": False, "RouteTableAssociationId": _id("rtbassoc", v, 16 * t + i),
                          "RouteTableId": ident, "SubnetId": s,
                          "AssociationState": {"State": "associated"}} for i, s in enumerate(associated)]
        return {"Associations": associations, "OwnerId": ACCOUNT, "PropagatingVgws": [], "RouteTableId": ident,
                "Routes": [local] + routes, "Tags": _tags(f"vpc-{v}-rtb-{t}"), "VpcId": vpc_id}

    def route(destination: str, key: str, target: str) -> Json:
        return {"DestinationCidrBlock": destination, key: target, "Origin": "CreateRoute", "State": "active"}

    to_peer = [route(_cidr(peer), "VpcPeeringConnectionId", peering)] if peer is not None and peering else []
    private = [route("0.0.0.0/0", "NatGatewayId", _id("nat", v, 0))] + to_peer
    return [table(0, [], [], main=True),
            table(1, [route("0.0.0.0/0", "GatewayId", _id("igw", v, 0))], subnets[:PUBLIC_SUBNETS])] + [
        table(2 + z, private, [s for i, s in enumerate(subnets) if i >= PUBLIC_SUBNETS and i % 3 == z])
        for z in range(3)]
