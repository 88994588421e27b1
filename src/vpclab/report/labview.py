"""`vpclab lab show`: a lab's (or a snapshot's) network, routes, rules and steps as readable tables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from vpclab.lab.loader import Lab
from vpclab.lab.runner import describe
from vpclab.model import Direction, Network


def render(lab: Lab) -> RenderableType:
    """A lab: its title and story, its network, its steps."""
    parts: list[RenderableType] = [Text(f"{lab.name} — {lab.title}", style="bold")]
    if lab.about:
        parts.append(Markdown(lab.about))
    parts += network_parts(lab.network)
    steps = Table("#", "step", "expect", title="Steps", title_justify="left")
    for step in lab.steps:
        steps.add_row(str(step.index), describe(step), step.expect or "")
    parts.append(steps)
    return Group(*parts)


def render_network(network: Network, title: str) -> RenderableType:
    """A snapshot's network (`vpclab lab show SNAPSHOT`): VPCs, subnets, routes, hosts, groups, NACLs."""
    return Group(Text(title, style="bold"), *network_parts(network))


def network_parts(net: Network) -> list[RenderableType]:
    """The network's tables, one per kind of object."""
    parts: list[RenderableType] = []
    for vpc in net.vpcs.values():
        label = f" ({vpc.label})" if vpc.label else ""
        parts.append(Text(f"VPC {vpc.id}{label}: {', '.join(str(c) for c in vpc.cidrs)}", style="bold cyan"))

    subnets = Table("subnet", "vpc", "cidr", "nacl", "route table", "route to internet", title="Subnets",
                    title_justify="left")
    for s in net.subnets.values():
        table = net.route_table_of(s.name)
        subnets.add_row(s.name, s.vpc, str(s.cidr) + (f"\n{s.ipv6_cidr}" if s.ipv6_cidr else ""), s.nacl,
                        table.id if table else "",
                        "igw (public)" if net.routes_to_internet(s.name) else "none (private)")
    parts.append(subnets)

    tables = Table("route table", "vpc", "associations", "routes", title="Route tables", title_justify="left")
    for table in net.route_tables.values():
        associations = ", ".join((["main"] if table.main else []) + list(table.subnets))
        tables.add_row(table.id, table.vpc, associations, "\n".join(str(r) for r in table.routes))
    parts.append(tables)

    hosts = Table("host", "where", "addresses", "security groups", "conntrack", title="Hosts", title_justify="left")
    for h in net.hosts.values():
        if h.internet:
            hosts.add_row(h.name, "internet", str(h.ip), "", "")
            continue
        addresses = " ".join(str(a) for a in (h.ip, h.ipv6) if a) + (f" (public {h.public_ip})" if h.public_ip else "")
        c = h.conntrack
        hosts.add_row(h.name, f"subnet {h.subnet}", addresses, ", ".join(h.security_groups),
                      f"tcp {c.tcp_established}s udp {c.udp}s/{c.udp_stream}s icmp {c.icmp}s"
                      + (f" max {c.max_entries}" if c.max_entries else ""))
    parts.append(hosts)

    for group in net.security_groups.values():
        table = Table("#", "direction", "rule", title=f"Security group {group.id}", title_justify="left")
        for direction in Direction:
            rules = group.rules(direction)
            if not rules:
                table.add_row("", str(direction), Text("(no rules: nothing allowed)", style="dim"))
            for n, rule in enumerate(rules, start=1):
                table.add_row(str(n), str(direction), rule.text(direction))
        parts.append(table)

    for acl in net.nacls.values():
        users = [s.name for s in net.subnets.values() if s.nacl == acl.id]
        table = Table("rule", "direction", "action", "match", title=f"Network ACL {acl.id} (subnets: "
                      f"{', '.join(users) or 'none'})", title_justify="left")
        for direction in Direction:
            for entry in acl.entries(direction):
                preposition = "from" if direction is Direction.INGRESS else "to"
                table.add_row(str(entry.number), str(direction), str(entry.action),
                              f"{entry.what()} {preposition} {entry.cidr}")
            table.add_row("*", str(direction), "deny", "all traffic (no numbered entry matched)")
        parts.append(table)

    if net.prefix_lists:
        pls = Table("prefix list", "cidrs", title="Prefix lists", title_justify="left")
        for pl in net.prefix_lists.values():
            pls.add_row(pl.id, ", ".join(map(str, pl.cidrs)))
        parts.append(pls)

    return parts
