"""A seeded generator of v5 flow logs for a small snapshot, and the least-privilege rules its traffic implies.

The snapshot (a lab file): a public subnet with two web ENIs (sg-web), a private one with two app ENIs (sg-app)
and a database ENI (sg-db), today's rules broad (the usual 0.0.0.0/0 and allow-all egress). The traffic: internet
clients on 443, an admin on 22 and ping, web → app on 8080, app → db on 5432, web → package mirrors on 80, 443 and
FTP 20-21, app → NTP on UDP 123, and rejected scans on 3389. `truth` is what it implies, stated from the traffic
(not computed by vpclab): every rule a group needs, peers as /32, a group where they are all its (≥ 2) members.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass, field
from pathlib import Path

FIELDS = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
          "log-status vpc-id subnet-id tcp-flags type pkt-srcaddr pkt-dstaddr flow-direction").split()

SNAPSHOT = """\
lab: flowsynth
title: generated for tighten and replay tests
vpc: {cidr: 10.0.0.0/16}
subnets:
  public: {cidr: 10.0.1.0/24, public: true}
  private: {cidr: 10.0.2.0/24}
security_groups:
  sg-web:
    ingress:
      - {proto: tcp, ports: 443, cidr: 0.0.0.0/0}
      - {proto: tcp, ports: 22, cidr: 0.0.0.0/0}
      - {proto: icmp, icmp: {type: -1}, cidr: 0.0.0.0/0}
  sg-app:
    ingress:
      - {proto: tcp, ports: 8080, cidr: 10.0.0.0/16}
  sg-db:
    ingress:
      - {proto: tcp, ports: 5432, cidr: 10.0.0.0/16}
hosts:
  eni-0000000000000a001: {subnet: public, ip: 10.0.1.11, public_ip: 198.18.0.11, security_groups: [sg-web]}
  eni-0000000000000a002: {subnet: public, ip: 10.0.1.12, public_ip: 198.18.0.12, security_groups: [sg-web]}
  eni-0000000000000b001: {subnet: private, ip: 10.0.2.21, security_groups: [sg-app]}
  eni-0000000000000b002: {subnet: private, ip: 10.0.2.22, security_groups: [sg-app]}
  eni-0000000000000c001: {subnet: private, ip: 10.0.2.31, security_groups: [sg-db]}
steps: []
"""

WEB = {"eni-0000000000000a001": "10.0.1.11", "eni-0000000000000a002": "10.0.1.12"}
APP = {"eni-0000000000000b001": "10.0.2.21", "eni-0000000000000b002": "10.0.2.22"}
DB = {"eni-0000000000000c001": "10.0.2.31"}
ENI_OF = {ip: eni for table in (WEB, APP, DB) for eni, ip in table.items()}
SUBNET_OF = {**{e: "subnet-public" for e in WEB}, **{e: "subnet-private" for e in (*APP, *DB)}}
GROUP_OF = {**{e: "sg-web" for e in WEB}, **{e: "sg-app" for e in APP}, **{e: "sg-db" for e in DB}}
ADMIN = "192.0.2.10"
T0 = 1_764_590_400  # 2025-12-01T12:00:00Z


@dataclass(frozen=True)
class Conn:
    """One connection: client, server, protocol and port, when, how big, and whether the server's ENI refused it."""

    client: str
    server: str
    proto: int  # 6 tcp, 17 udp, 1 icmp
    port: int
    cport: int
    start: int
    duration: int
    packets: int
    nbytes: int
    action: str = "ACCEPT"


@dataclass
class Synth:
    """What was written: the snapshot, the log folder, the connections and the rules they imply."""

    snapshot: Path
    logs: Path
    conns: list[Conn]
    truth: dict[str, dict[str, set[tuple[str, str, str]]]] = field(default_factory=dict)
    records: int = 0


def _public(rng: random.Random, used: set[str]) -> str:
    while True:
        address = f"{rng.choice(('203.0.113', '198.51.100'))}.{rng.randint(2, 250)}"
        if address not in used and address != ADMIN:
            used.add(address)
            return address


def connections(seed: int) -> tuple[list[Conn], dict[str, dict[str, set[tuple[str, str, str]]]]]:
    """The traffic of one seed and its ground truth (group -> direction -> {(proto, ports, peer)})."""
    rng = random.Random(seed)
    used: set[str] = set()
    conns: list[Conn] = []
    truth: dict[str, dict[str, set[tuple[str, str, str]]]] = {
        g: {"ingress": set(), "egress": set()} for g in ("sg-web", "sg-app", "sg-db")}
    t = T0

    def conn(client: str, server: str, proto: int, port: int, action: str = "ACCEPT", long: bool = False) -> None:
        nonlocal t
        t += rng.randint(1, 20)
        cport = rng.randint(32768, 60999) if proto in (6, 17) else 0
        duration = rng.randint(400, 3000) if long else rng.randint(0, 50)
        conns.append(Conn(client, server, proto, port, cport, t, duration, rng.randint(2, 40),
                          rng.randint(100, 90_000), action))

    clients = [_public(rng, used) for _ in range(rng.randint(2, 6))]
    for client in clients:
        for web in rng.sample(sorted(WEB.values()), rng.randint(1, 2)):
            for _ in range(rng.randint(1, 3)):
                conn(client, web, 6, 443)
        truth["sg-web"]["ingress"].add(("tcp", "443", f"{client}/32"))
    for web in WEB.values():
        conn(ADMIN, web, 6, 22, long=True)
        conn(ADMIN, web, 1, 0)
    truth["sg-web"]["ingress"] |= {("tcp", "22", f"{ADMIN}/32"), ("icmp", "all", f"{ADMIN}/32")}
    for web in WEB.values():
        for app in APP.values():
            conn(web, app, 6, 8080, long=rng.random() < 0.5)
    truth["sg-web"]["egress"].add(("tcp", "8080", "sg-app"))
    truth["sg-app"]["ingress"].add(("tcp", "8080", "sg-web"))
    db = next(iter(DB.values()))
    for app in APP.values():
        conn(app, db, 6, 5432, long=True)
    truth["sg-app"]["egress"].add(("tcp", "5432", f"{db}/32"))
    truth["sg-db"]["ingress"].add(("tcp", "5432", "sg-app"))
    mirrors = [_public(rng, used) for _ in range(rng.randint(1, 3))]
    for mirror in mirrors:
        for port in (80, 443):
            conn(rng.choice(sorted(WEB.values())), mirror, 6, port)
            truth["sg-web"]["egress"].add(("tcp", str(port), f"{mirror}/32"))
    ftp = mirrors[0]
    for port in (20, 21):
        conn(next(iter(WEB.values())), ftp, 6, port)
    truth["sg-web"]["egress"].add(("tcp", "20-21", f"{ftp}/32"))
    ntp = _public(rng, used)
    for app in APP.values():
        conn(app, ntp, 17, 123)
    truth["sg-app"]["egress"].add(("udp", "123", f"{ntp}/32"))
    for _ in range(rng.randint(1, 4)):
        conn(_public(rng, used), rng.choice(sorted(WEB.values())), 6, 3389, action="REJECT")
    return conns, truth


def _records(c: Conn) -> list[list[str]]:
    """The records a connection leaves at every ENI it touches: request and reply, with flags and direction."""
    out: list[list[str]] = []
    request_flags, reply_flags = (3, 19) if c.duration < 60 else (2, 18)
    half = max(1, c.packets // 2)
    for eni, side in ((ENI_OF.get(c.client), "client"), (ENI_OF.get(c.server), "server")):
        if eni is None:
            continue
        local = c.client if side == "client" else c.server
        for sender, receiver, sport, dport, flags in ((c.client, c.server, c.cport, c.port, request_flags),
                                                      (c.server, c.client, c.port, c.cport, reply_flags)):
            if c.action == "REJECT" and sender == c.server:
                continue  # a refused request gets no reply
            direction = "egress" if sender == local else "ingress"
            tcp = str(flags) if c.proto == 6 else "0"
            start = c.start if sender == c.client else c.start + 1  # the reply comes a moment later
            out.append(["5", "123456789012", eni, sender, receiver, str(sport), str(dport), str(c.proto), str(half),
                        str(c.nbytes // 2), str(start), str(c.start + max(1, c.duration)), c.action, "OK", "vpc-0synth",
                        SUBNET_OF[eni], tcp, "IPv4", sender, receiver, direction])
    return out


def write(folder: Path, seed: int, files: int = 3) -> Synth:
    """Write the snapshot and the logs (S3 layout, gzip, a header line per file) for `seed`."""
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = folder / "snapshot.yaml"
    snapshot.write_text(SNAPSHOT, encoding="utf-8")
    conns, truth = connections(seed)
    rows = [r for c in conns for r in _records(c)]
    random.Random(seed + 1).shuffle(rows)
    logs = folder / "logs"
    day = logs / "AWSLogs" / "123456789012" / "vpcflowlogs" / "us-east-1" / "2025" / "12" / "01"
    day.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        part = rows[i::files]
        name = day / f"123456789012_vpcflowlogs_us-east-1_fl-0synth_20251201T12{i:02d}Z_{seed:08x}.log.gz"
        with gzip.open(name, "wt", encoding="ascii") as out:
            out.write(" ".join(FIELDS) + "\n")
            for r in part:
                out.write(" ".join(r) + "\n")
    return Synth(snapshot, logs, conns, truth, len(rows))


def proposal_rules(groups: list[dict]) -> dict[str, dict[str, set[tuple[str, str, str]]]]:
    """A tighten JSON's proposed rule sets in the truth's terms."""
    return {g["group"]: {d: {(r["proto"], r["ports"], r["peer"]) for r in g[d]} for d in ("ingress", "egress")}
            for g in groups}


def open_run(snapshot: Path, logs: list[Path], engine: object = "duckdb",  # type: ignore[no-untyped-def]
             aggregate: bool = True):
    """The snapshot's network and an open flow run over `logs` (directions settled by the snapshot's addresses)."""
    from vpclab.flows.pipeline import read_flows
    from vpclab.load.snapshot import load_snapshot

    network = load_snapshot(snapshot).network
    known = [(h.name, str(a)) for h in network.vpc_hosts() for a in h.private_addresses]
    return network, read_flows(list(logs), engine=engine, known_addresses=known,  # type: ignore[arg-type]
                               aggregate=aggregate)


def tighten_json(snapshot: Path, logs: list[Path], engine: object = "duckdb", aggregate: bool = False,
                 **options: object) -> dict:
    """`vpclab tighten --format json` through the API (like the command, without building `flow_rows`)."""
    from vpclab.analysis.tighten import TightenOptions, tighten
    from vpclab.report.tighten import to_dict

    network, run = open_run(snapshot, logs, engine, aggregate)
    try:
        return to_dict(tighten(network, run, TightenOptions(**options), snapshot=str(snapshot)))  # type: ignore[arg-type]
    finally:
        run.close()
