"""A tighten proposal as infrastructure code: Terraform, CloudFormation and AWS CLI commands (pure functions).

Terraform: one `aws_vpc_security_group_{ingress,egress}_rule` per proposed rule (the whole proposed set, so the
group can be managed by these resources alone) and `aws_network_acl_rule` per NACL entry; the rules to remove are
listed as comments (they are defined wherever today's configuration defines them). CloudFormation: the same as
`AWS::EC2::SecurityGroupIngress/Egress` and `AWS::EC2::NetworkAclEntry`. CLI: authorize the additions first, then
revoke the removals (so nothing the logs show is refused in between).
"""

from __future__ import annotations

import json
import re
from typing import Any

from vpclab.analysis.flowrows import iso
from vpclab.analysis.tighten import NaclPlan, Proposed, TightenResult
from vpclab.model.protocols import ICMP, ICMPV6, has_ports
from vpclab.model.rules import CidrPeer, Direction, GroupPeer, NaclEntry, PrefixListPeer, SgRule
from vpclab.report.tighten import proto


def _description(p: Proposed) -> str:
    last = iso(p.evidence.last_seen) or "never"
    return f"vpclab tighten: {p.evidence.flows} flows, {p.evidence.bytes} bytes, last seen {last}"[:255]


def _port_pair(rule: SgRule | NaclEntry) -> tuple[int, int] | None:
    if has_ports(rule.protocol):
        return rule.ports.first, rule.ports.last
    if rule.protocol in (ICMP, ICMPV6):
        icmp = rule.icmp
        return icmp.type, icmp.code
    return None


def _name(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts)).strip("_")


def _hcl(value: Any) -> str:
    return json.dumps(value)


# ---- Terraform -----------------------------------------------------------------------------------------------

def terraform(result: TightenResult) -> str:
    """HCL: the proposed rule resources, the NACL entries, the removals as comments."""
    out = [f"# vpclab tighten proposal for {result.snapshot}", "# Apply, then delete the rules listed under 'remove'.",
           ""]
    for g in result.groups:
        for direction, rules in ((Direction.INGRESS, g.ingress), (Direction.EGRESS, g.egress)):
            kind = f"aws_vpc_security_group_{direction}_rule"
            for i, p in enumerate(rules, 1):
                rule = p.rule
                assert isinstance(rule, SgRule)
                lines = [f'resource "{kind}" "{_name(g.group, str(direction), str(i))}" {{',
                         f"  security_group_id = {_hcl(g.group)}", f"  ip_protocol       = {_hcl(proto(rule.protocol))}"]
                pair = _port_pair(rule)
                if pair is not None:
                    lines += [f"  from_port         = {pair[0]}", f"  to_port           = {pair[1]}"]
                peer = rule.peer
                if isinstance(peer, CidrPeer):
                    key = "cidr_ipv4" if peer.cidr.version == 4 else "cidr_ipv6"
                    lines.append(f"  {key:<17} = {_hcl(str(peer.cidr))}")
                elif isinstance(peer, GroupPeer):
                    lines.append(f"  referenced_security_group_id = {_hcl(peer.group)}")
                else:
                    lines.append(f"  prefix_list_id    = {_hcl(peer.prefix_list)}")
                lines += [f"  description       = {_hcl(_description(p))}", "}", ""]
                out += lines
        for p in g.remove:
            out.append(f"# remove from {g.group}: {p.direction} {p.rule.text(p.direction)} ({p.why})")  # type: ignore[union-attr]
        if g.remove:
            out.append("")
    for n in result.nacls:
        if n.ingress or n.egress:
            out.append(f"# {n.nacl}: these entries replace its current ones; remove those ({_today(n)}) from its "
                       "definition in the same change, as two entries cannot share a number")
            out += [f"# warning: {w}" for w in n.warnings]
        for p in [*n.ingress, *n.egress]:
            entry = p.rule
            assert isinstance(entry, NaclEntry)
            lines = [f'resource "aws_network_acl_rule" "{_name(n.nacl, str(p.direction), str(entry.number))}" {{',
                     f"  network_acl_id = {_hcl(n.nacl)}", f"  rule_number    = {entry.number}",
                     f"  egress         = {'true' if p.direction is Direction.EGRESS else 'false'}",
                     f"  protocol       = {_hcl(str(entry.protocol))}", f"  rule_action    = {_hcl(str(entry.action))}",
                     f"  {'cidr_block' if entry.cidr.version == 4 else 'ipv6_cidr_block'} = {_hcl(str(entry.cidr))}"]
            pair = _port_pair(entry)
            if pair is not None and has_ports(entry.protocol):
                lines += [f"  from_port      = {pair[0]}", f"  to_port        = {pair[1]}"]
            elif pair is not None:
                lines += [f"  icmp_type      = {pair[0]}", f"  icmp_code      = {pair[1]}"]
            out += lines + ["}", ""]
    return "\n".join(out)


def _today(n: NaclPlan) -> str:
    """A NACL's entries today by direction and number, for the scripts' comments."""
    return "; ".join(f"{d} " + ", ".join(map(str, n.numbers_today(d))) for d in Direction if n.numbers_today(d)) \
        or "none"


# ---- CloudFormation --------------------------------------------------------------------------------------------

def _cfn_rule(group: str, p: Proposed) -> dict[str, Any]:
    rule = p.rule
    assert isinstance(rule, SgRule)
    ingress = p.direction is Direction.INGRESS
    props: dict[str, Any] = {"GroupId": group, "IpProtocol": proto(rule.protocol), "Description": _description(p)}
    pair = _port_pair(rule)
    if pair is not None:
        props["FromPort"], props["ToPort"] = pair
    peer = rule.peer
    if isinstance(peer, CidrPeer):
        props["CidrIp" if peer.cidr.version == 4 else "CidrIpv6"] = str(peer.cidr)
    elif isinstance(peer, GroupPeer):
        props["SourceSecurityGroupId" if ingress else "DestinationSecurityGroupId"] = peer.group
    elif isinstance(peer, PrefixListPeer):
        props["SourcePrefixListId" if ingress else "DestinationPrefixListId"] = peer.prefix_list
    kind = "AWS::EC2::SecurityGroupIngress" if ingress else "AWS::EC2::SecurityGroupEgress"
    return {"Type": kind, "Properties": props}


def cloudformation(result: TightenResult) -> str:
    """A JSON template with one resource per proposed rule and NACL entry."""
    resources: dict[str, Any] = {}
    for g in result.groups:
        for direction, rules in ((Direction.INGRESS, g.ingress), (Direction.EGRESS, g.egress)):
            for i, p in enumerate(rules, 1):
                resources[_logical(g.group, str(direction), str(i))] = _cfn_rule(g.group, p)
    for n in result.nacls:
        for p in [*n.ingress, *n.egress]:
            entry = p.rule
            assert isinstance(entry, NaclEntry)
            props: dict[str, Any] = {"NetworkAclId": n.nacl, "RuleNumber": entry.number,
                                     "Protocol": entry.protocol, "RuleAction": str(entry.action),
                                     "Egress": p.direction is Direction.EGRESS,
                                     "CidrBlock" if entry.cidr.version == 4 else "Ipv6CidrBlock": str(entry.cidr)}
            if has_ports(entry.protocol):
                props["PortRange"] = {"From": entry.ports.first, "To": entry.ports.last}
            elif entry.protocol in (ICMP, ICMPV6):
                props["Icmp"] = {"Type": entry.icmp.type, "Code": entry.icmp.code}
            resources[_logical(n.nacl, str(p.direction), str(entry.number))] = {"Type": "AWS::EC2::NetworkAclEntry",
                                                                               "Properties": props}
    removals = [f"{g.group} {p.direction} {p.rule.text(p.direction)}" for g in result.groups  # type: ignore[union-attr]
                for p in g.remove]
    template = {"AWSTemplateFormatVersion": "2010-09-09",
                "Description": f"vpclab tighten proposal for {result.snapshot}"[:1024],
                "Metadata": {"vpclab": {"remove": removals, "nacl_entries_replaced": {
                    n.nacl: n.today for n in result.nacls if n.ingress or n.egress}}}, "Resources": resources}
    return json.dumps(template, indent=1)


def _logical(*parts: str) -> str:
    """A CloudFormation logical id: alphanumeric only."""
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", "-".join(parts)) if w)


# ---- AWS CLI --------------------------------------------------------------------------------------------------

def _permission(rule: SgRule, description: str | None) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": proto(rule.protocol)}
    pair = _port_pair(rule)
    if pair is not None:
        perm["FromPort"], perm["ToPort"] = pair
    extra = {"Description": description} if description else {}
    peer = rule.peer
    if isinstance(peer, CidrPeer):
        if peer.cidr.version == 4:
            perm["IpRanges"] = [{"CidrIp": str(peer.cidr), **extra}]
        else:
            perm["Ipv6Ranges"] = [{"CidrIpv6": str(peer.cidr), **extra}]
    elif isinstance(peer, GroupPeer):
        perm["UserIdGroupPairs"] = [{"GroupId": peer.group, **extra}]
    else:
        perm["PrefixListIds"] = [{"PrefixListId": peer.prefix_list, **extra}]
    return perm


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def cli(result: TightenResult) -> str:
    """`aws ec2 authorize-…` for the additions, then `revoke-…` for the removals, then the NACL entries."""
    out = [f"# vpclab tighten proposal for {result.snapshot}: authorize first, then revoke", ""]
    for g in result.groups:
        for p in g.add:
            rule = p.rule
            assert isinstance(rule, SgRule)
            perm = json.dumps([_permission(rule, _description(p))], separators=(",", ":"))
            out.append(f"aws ec2 authorize-security-group-{p.direction} --group-id {g.group} "
                       f"--ip-permissions {_quote(perm)}")
    for g in result.groups:
        for p in g.remove:
            rule = p.rule
            assert isinstance(rule, SgRule)
            perm = json.dumps([_permission(rule, None)], separators=(",", ":"))
            out.append(f"aws ec2 revoke-security-group-{p.direction} --group-id {g.group} "
                       f"--ip-permissions {_quote(perm)}")
    for n in result.nacls:
        if not (n.ingress or n.egress):
            continue
        out.append(f"# {n.nacl}: these entries replace its current ones: new numbers are created first, the numbers it "
                   "has today are replaced, then its other entries are deleted (no two entries share a number)")
        out += [f"# warning: {w}" for w in n.warnings]
        for direction, proposed in ((Direction.INGRESS, n.ingress), (Direction.EGRESS, n.egress)):
            today = set(n.numbers_today(direction))
            flag = "--egress" if direction is Direction.EGRESS else "--ingress"
            ordered = sorted(proposed, key=lambda p: p.rule.number in today)  # type: ignore[union-attr]
            for p in ordered:
                entry = p.rule
                assert isinstance(entry, NaclEntry)
                verb = "replace" if entry.number in today else "create"
                parts = [f"aws ec2 {verb}-network-acl-entry --network-acl-id {n.nacl} {flag}",
                         f"--rule-number {entry.number} --protocol {entry.protocol} --rule-action {entry.action}",
                         f"--cidr-block {entry.cidr}" if entry.cidr.version == 4 else f"--ipv6-cidr-block {entry.cidr}"]
                if has_ports(entry.protocol):
                    parts.append(f"--port-range From={entry.ports.first},To={entry.ports.last}")
                elif entry.protocol in (ICMP, ICMPV6):
                    parts.append(f"--icmp-type-code Type={entry.icmp.type},Code={entry.icmp.code}")
                out.append(" ".join(parts))
            kept = {p.rule.number for p in proposed}  # type: ignore[union-attr]
            out += [f"aws ec2 delete-network-acl-entry --network-acl-id {n.nacl} {flag} --rule-number {number}"
                    for number in sorted(today - kept)]
    return "\n".join(out) + "\n"
