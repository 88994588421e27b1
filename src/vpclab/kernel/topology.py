"""The lab network as namespaces and links: pure command lists (`commands`) and the calls that run them.

Router namespace: one bridge per subnet holding the gateway (.1); ENI namespaces bridge a host to its subnet
and hold its security groups; internet hosts hang off point-to-point links (proxy ARP, a /32 route each); a NAT
gateway is a namespace on its subnet's bridge that source-NATs what the router's policy routes send it; public IPs
are routed to an IGW namespace that sends packets straight back, so a VPC host reaching another's public IP goes
out through the IGW's translation and comes back in through it, each subnet's NACL seeing the addresses AWS's does.
Everything is created inside the lab's namespaces: veths are born there, nothing touches the root namespace.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from vpclab.engine.nat import NAT_IDLE_TIMEOUT
from vpclab.errors import KernelError
from vpclab.kernel import driver
from vpclab.kernel.plan import Plan
from vpclab.model.network import Host, Network
from vpclab.model.routing import TargetKind

#: emulate AWS where Linux differs (docs/assumptions.md, "The kernel backend")
ENI_SYSCTLS = {
    "net.bridge.bridge-nf-call-iptables": 1,        # bridged packets meet the SG chain and conntrack
    "net.bridge.bridge-nf-call-ip6tables": 1,
    "net.netfilter.nf_conntrack_tcp_loose": 0,      # no mid-stream pickup: untracked flows stay cut
    "net.netfilter.nf_conntrack_tcp_be_liberal": 1,  # no TCP window checks
    "net.netfilter.nf_conntrack_checksum": 0,
    "net.netfilter.nf_conntrack_generic_timeout": 600,
    "net.ipv6.conf.all.disable_ipv6": 1,
}
ROUTER_SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.bridge.bridge-nf-call-iptables": 0,        # NACLs must not see traffic within a subnet
    "net.bridge.bridge-nf-call-ip6tables": 0,
    "net.bridge.bridge-nf-call-arptables": 0,
    "net.ipv4.icmp_echo_ignore_all": 1,             # the VPC router's address is not a host
    "net.ipv6.icmp.echo_ignore_all": 1,
    "net.ipv4.conf.all.rp_filter": 0,               # hairpin packets come back from the IGW with public sources
    "net.ipv6.conf.all.disable_ipv6": 1,
}


#: the IGW's bounce namespace forwards everything back out the link it came in on
IGW_SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.eth0.send_redirects": 0,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.eth0.rp_filter": 0,
    "net.ipv4.icmp_echo_ignore_all": 1,
    "net.ipv6.conf.all.disable_ipv6": 1,
}
#: a NAT gateway: forwards, translates with its own conntrack, forgets a flow idle for 350 s (nat.py, §3)
NAT_SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.send_redirects": 0,          # it forwards back out the interface packets came in on
    "net.ipv4.conf.eth0.send_redirects": 0,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.icmp_echo_ignore_all": 1,
    "net.netfilter.nf_conntrack_tcp_timeout_established": int(NAT_IDLE_TIMEOUT),
    "net.netfilter.nf_conntrack_udp_timeout": int(NAT_IDLE_TIMEOUT),
    "net.netfilter.nf_conntrack_udp_timeout_stream": int(NAT_IDLE_TIMEOUT),
    "net.netfilter.nf_conntrack_icmp_timeout": int(NAT_IDLE_TIMEOUT),
    "net.ipv6.conf.all.disable_ipv6": 1,
}


#: the router's address on every internet host's link, that host's IPv6 default gateway
LINK_LOCAL_ROUTER = "fe80::1"
#: IPv6 on, without what would delay or change addresses: duplicate address detection, router advertisements
IPV6_ON = {"net.ipv6.conf.all.disable_ipv6": 0, "net.ipv6.conf.default.disable_ipv6": 0,
           "net.ipv6.conf.all.accept_dad": 0, "net.ipv6.conf.default.accept_dad": 0,
           "net.ipv6.conf.all.accept_ra": 0, "net.ipv6.conf.default.accept_ra": 0,
           "net.ipv6.conf.all.autoconf": 0, "net.ipv6.conf.default.autoconf": 0}
#: set before any interface exists, so no link-local address waits for duplicate address detection
EARLY_IPV6 = {"net.ipv6.conf.all.accept_dad": 0, "net.ipv6.conf.default.accept_dad": 0}

#: hosts retransmit a lost TCP segment after 10 ms, not Linux's 200 ms minimum, so data held behind a segment a
#: filter dropped arrives within a step's observation once the cause is removed, as on AWS (issue 9 defect 7)
RTO = "rto_min 10ms"
#: and the exponential backoff stops at 1 s (Linux >= 6.15; older kernels keep 120 s: `driver.optional_sysctl`)
HOST_OPTIONAL_SYSCTLS = {"net.ipv4.tcp_rto_max_ms": 1000}


def eni_sysctls(host: Host) -> dict[str, object]:
    c = host.conntrack
    return ENI_SYSCTLS | {
        "net.netfilter.nf_conntrack_tcp_timeout_established": c.tcp_established,
        "net.netfilter.nf_conntrack_udp_timeout": c.udp,
        "net.netfilter.nf_conntrack_udp_timeout_stream": c.udp_stream,
        "net.netfilter.nf_conntrack_icmp_timeout": c.icmp,
    }


def host_sysctls(host: Host) -> dict[str, object]:
    return {
        "net.ipv4.icmp_echo_ignore_all": int(host.icmp_echo_ignore),
        "net.ipv6.icmp.echo_ignore_all": int(host.icmp_echo_ignore),  # IPv4's knob leaves ICMPv6 echo answered
        "net.ipv4.ip_local_port_range": f"{host.ephemeral_ports.first} {host.ephemeral_ports.last}",
        "net.ipv6.conf.all.disable_ipv6": 1,
    }


@dataclass
class Commands:
    """What to run, in order: namespace creation, then `ip` batches per namespace in dependency order."""

    create: list[str] = field(default_factory=list)
    stages: list[dict[str, list[str]]] = field(default_factory=list)


def commands(network: Network, plan: Plan) -> Commands:
    """The `ip` commands that build the topology (pure)."""
    cmds = Commands(create=[f"netns add {ns}" for ns in plan.namespaces])
    router = ["link set lo up"]
    for name, bridge in plan.bridges.items():
        subnet = network.subnets[name]
        router += [f"link add {bridge} type bridge", f"addr add {_gateway(network, name)}/{subnet.cidr.prefixlen} "
                   f"dev {bridge}", f"link set {bridge} up"]
        if subnet.ipv6_cidr is not None:  # the VPC router in a dual-stack subnet: base + 1 of its IPv6 block too
            router.append(f"addr add {gateway_v6(network, name)}/{subnet.ipv6_cidr.prefixlen} dev {bridge} nodad")
    hosts: dict[str, list[str]] = {}
    enis: dict[str, list[str]] = {}
    attach: list[str] = []
    # Distinct interface indexes for both ends of every veth: when a veth's index equals its peer's (common
    # across namespaces), the kernel treats its carrier change as non-urgent and delays it by up to a second.
    index = iter(range(1000, 1_000_000))
    for name, ns in plan.hosts.items():
        host = network.hosts[name]
        if host.internet:
            link = plan.internet_links[host.name]
            hosts[ns] = ["link set lo up", f"link add eth0 index {next(index)} type veth peer name {link} "
                         f"index {next(index)} netns {plan.router}",
                         f"addr add {host.ip}/32 dev eth0", "link set eth0 up", f"route add default dev eth0 {RTO}"]
            attach += [f"link set {link} up", f"route add {host.ip}/32 dev {link}"]
            if host.ipv6 is not None:  # reached on its link by the router's fixed link-local address
                hosts[ns] += [f"addr add {host.ipv6}/128 dev eth0 nodad",
                              f"route add default via {LINK_LOCAL_ROUTER} dev eth0 {RTO}"]
                attach += [f"addr add {LINK_LOCAL_ROUTER}/64 dev {link} nodad", f"route add {host.ipv6}/128 dev {link}"]
            continue
        eni = plan.enis[host.name]
        subnet = network.subnets[host.subnet or ""]
        prefix = subnet.cidr.prefixlen
        hosts[ns] = ["link set lo up", f"link add eth0 index {next(index)} type veth peer name to-host "
                     f"index {next(index)} netns {eni}",
                     *(f"addr add {a}/{prefix} dev eth0" for a in _ipv4_addresses(host)), "link set eth0 up",
                     f"route add default via {_gateway(network, host.subnet or '')} {RTO}"]
        if host.ipv6 is not None and subnet.ipv6_cidr is not None:
            hosts[ns] += [f"addr add {host.ipv6}/{subnet.ipv6_cidr.prefixlen} dev eth0 nodad",
                          f"route add default via {gateway_v6(network, subnet.name)} {RTO}"]
        uplink = plan.uplinks[host.name]
        enis[eni] = ["link set lo up", "link add br0 type bridge",
                     f"link add to-vpc index {next(index)} type veth peer name {uplink} index {next(index)} "
                     f"netns {plan.router}",
                     "link set to-host master br0", "link set to-vpc master br0", "link set to-host up",
                     "link set to-vpc up", "link set br0 up"]
        attach += [f"link set {uplink} master {plan.bridges[host.subnet or '']}", f"link set {uplink} up"]
        for public in host.public_map.values():  # out through the IGW and back (hairpin); proxy ARP on internet links
            attach.append(f"route add {public}/32 via {Plan.IGW_ADDRESS} dev {Plan.IGW_LINK}")
    for nat_id, ns in plan.nats.items():
        nat = network.nat_gateways[nat_id]
        subnet = network.subnets[nat.subnet]
        link = plan.nat_uplinks[nat_id]
        hosts[ns] = ["link set lo up", f"link add eth0 index {next(index)} type veth peer name {link} "
                     f"index {next(index)} netns {plan.router}",
                     f"addr add {nat.private_ip}/{subnet.cidr.prefixlen} dev eth0", "link set eth0 up",
                     f"route add default via {_gateway(network, nat.subnet)}"]
        attach += [f"link set {link} master {plan.bridges[nat.subnet]}", f"link set {link} up"]
        if nat.public_ip is not None:
            attach.append(f"route add {nat.public_ip}/32 via {Plan.IGW_ADDRESS} dev {Plan.IGW_LINK}")
    attach += nat_routes(network, plan)
    # the internet gateway's bounce: what the router sends there comes straight back on the same link
    router += [f"link add {Plan.IGW_LINK} index {next(index)} type veth peer name eth0 index {next(index)} "
               f"netns {plan.igw}", f"addr add {Plan.IGW_ROUTER_ADDRESS}/30 dev {Plan.IGW_LINK}",
               f"link set {Plan.IGW_LINK} up"]
    hosts[plan.igw] = ["link set lo up", f"addr add {Plan.IGW_ADDRESS}/30 dev eth0", "link set eth0 up",
                       f"route add default via {Plan.IGW_ROUTER_ADDRESS}"]
    cmds.stages = [{plan.router: router}, hosts, enis, {plan.router: attach}]
    return cmds


def _gateway(network: Network, subnet: str) -> IPv4Address:
    """The VPC router's address in a subnet (base + 1, as in AWS)."""
    return network.subnets[subnet].cidr.network_address + 1  # type: ignore[return-value]


def gateway_v6(network: Network, subnet: str) -> IPv6Address:
    """The VPC router's IPv6 address in a dual-stack subnet (base + 1 of the subnet's block)."""
    block = network.subnets[subnet].ipv6_cidr
    assert block is not None
    return block.network_address + 1


def dual_stack(network: Network, plan: Plan) -> bool:
    """Whether anything the run builds has an IPv6 address (then IPv6 is switched on in its namespaces)."""
    return any(network.subnets[s].ipv6_cidr is not None for s in plan.bridges) or \
        any(network.hosts[h].ipv6 is not None for h in plan.hosts)


def _ipv4_addresses(host: Host) -> list[IPv4Address]:
    return [a for a in (host.ip, *host.secondary_ips) if isinstance(a, IPv4Address)]


def nat_routes(network: Network, plan: Plan) -> list[str]:
    """Policy routes in the router for subnets whose route table sends traffic to a NAT gateway: a table per such
    subnet (selected by its bridge) holding its NAT routes and `throw` for every other route, so the longest
    prefix of the subnet's own table decides, as in AWS (aws-routing-terraform.md §1.2, §3)."""
    lines: list[str] = []
    prefix_lists = {pid: pl.cidrs for pid, pl in network.prefix_lists.items()}
    for i, (name, bridge) in enumerate(plan.bridges.items()):
        table = network.route_table_of(name)
        if table is None or not any(r.target in plan.nats for r in table.targets(TargetKind.NAT_GATEWAY)):
            continue
        number = 100 + i
        for route in table.routes:
            destinations = prefix_lists.get(route.destination, ()) if isinstance(route.destination, str) \
                else (route.destination,)
            for destination in destinations:
                if destination.version != 4:
                    continue
                if route.kind is TargetKind.NAT_GATEWAY and route.target in plan.nats and not route.blackhole:
                    nat = network.nat_gateways[route.target]
                    lines.append(f"route replace {destination} via {nat.private_ip} dev {plan.bridges[nat.subnet]} "
                                 f"table {number}")
                else:
                    lines.append(f"route replace throw {destination} table {number}")
        lines.append(f"rule add iif {bridge} lookup {number} pref {number}")
    return lines


def _parallel(jobs: dict[str, list[str]]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: driver.ip_batch(*item), jobs.items()))


def create(network: Network, plan: Plan) -> None:
    """Build the namespaces and links (the rules come separately)."""
    built = commands(network, plan)
    driver.ip_batch(None, built.create)
    v6 = dual_stack(network, plan)
    if v6:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda ns: driver.sysctl(ns, EARLY_IPV6), plan.namespaces))
    for stage in built.stages:
        _parallel(stage)
    links = plan.internet_links.values()
    jobs = {plan.router: ROUTER_SYSCTLS | {f"net.ipv4.conf.{link}.proxy_arp": 1 for link in links}
            | {f"net.ipv4.neigh.{link}.proxy_delay": 0 for link in links}}  # answer ARP at once, not within 0.8 s
    for name, ns in plan.hosts.items():
        jobs[ns] = host_sysctls(network.hosts[name])
    jobs[plan.igw] = IGW_SYSCTLS
    if v6:  # dual stack: IPv6 on in the router (forwarding), the hosts and the ENIs (bridged IPv6 meets the SGs)
        for ns in jobs:
            if ns not in plan.nats.values() and ns != plan.igw:
                jobs[ns] = jobs[ns] | IPV6_ON
        jobs[plan.router] |= {"net.ipv6.conf.all.forwarding": 1}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: driver.sysctl(*item), jobs.items()))
        list(pool.map(lambda ns: driver.optional_sysctl(ns, HOST_OPTIONAL_SYSCTLS), plan.hosts.values()))


def wait_until_forwarding(plan: Plan, timeout: float = 5.0) -> float:
    """Wait until every bridge port has carrier and forwards (new veths take a moment); returns the wait."""
    start = time.monotonic()
    pending = [plan.router, *plan.enis.values()]
    while pending:
        pending = [ns for ns in pending if not _forwarding(ns)]
        if not pending:
            break
        if time.monotonic() - start > timeout:
            raise KernelError(f"bridge ports in {', '.join(pending)} did not come up within {timeout:g} s")
        time.sleep(0.02)
    return time.monotonic() - start


def _forwarding(ns: str) -> bool:
    ports = json.loads(driver.run(["bridge", "-n", ns, "-j", "link"]) or "[]")
    return all(port.get("state") == "forwarding" for port in ports)


def destroy(plan: Plan) -> None:
    """Delete every namespace of the run (their links go with them)."""
    existing = set(driver.namespaces())
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(driver.delete_namespace, [ns for ns in plan.namespaces if ns in existing]))
