"""A seeded synthetic VPC Flow Log generator: S3 layout, gzip, every version-5 field, and the ground truth it implies.

`write_flows(folder, records, seed)` writes `AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/*.log.gz` (a header
line per file, like AWS's plain-text S3 output, aws-semantics.md §5.8) for a fleet of ENIs in one VPC: servers
listening on a few ports, clients inside and on the internet, long-lived connections spanning intervals (tcp-flags 0
after the handshake, §5.4), short ones (3 / 19 in one interval), UDP, rejected internet scans (one direction, SYN
only) and NODATA intervals. Both ENIs of an in-VPC connection log it (four records per interval). `truth.json` lists
the rules the ACCEPTed traffic implies: per ENI, ingress (proto, local port, peer) for connections toward it and
egress (proto, peer port, peer) for the ones it opened.

Run as `python -m bench.flowgen FOLDER --records N [--seed S]`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

FORMAT = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
          "log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id "
          "sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path")
ACCOUNT, REGION, VPC = "123456789012", "eu-west-1", "vpc-0a1b2c3d4e5f60718"
START = 1_764_547_200  # 2025-12-01T00:00:00Z, fixed so runs are reproducible
WINDOW = 300  # one file per 5-minute window, as AWS publishes them
SERVICES = ((6, 443), (6, 22), (6, 5432), (6, 8080), (17, 53), (6, 6379))


@dataclass(frozen=True)
class Eni:
    """One generated interface: id, private address, subnet, instance, AZ, and the ports it serves."""

    eni: str
    addr: str
    subnet: str
    instance: str
    az: str
    serves: tuple[tuple[int, int], ...]


def fleet(count: int, rng: random.Random) -> list[Eni]:
    """`count` ENIs in 10.0.0.0/16, one subnet per 256 addresses; a third serve one or two ports."""
    out = []
    for i in range(count):
        serves = tuple(rng.sample(SERVICES, rng.choice((1, 2)))) if i % 3 == 0 else ()
        out.append(Eni(f"eni-{i:017x}", f"10.0.{i // 250}.{i % 250 + 4}", f"subnet-{i // 250:017x}",
                       f"i-{i:017x}", f"euw1-az{i % 3 + 1}", serves))
    return out


def _record(eni: Eni, src: str, dst: str, sp: int, dp: int, proto: int, packets: int, size: int, start: int,
            action: str, flags: int, direction: str, path: str) -> str:
    flag = str(flags) if proto == 6 else "0"
    return (f"5 {ACCOUNT} {eni.eni} {src} {dst} {sp} {dp} {proto} {packets} {packets * size} {start} {start + 58} "
            f"{action} OK {VPC} {eni.subnet} {eni.instance} {flag} IPv4 {src} {dst} {REGION} {eni.az} - - - - "
            f"{direction} {path}")


def write_flows(folder: Path, records: int, seed: int = 7, enis: int = 2000) -> dict[str, int]:
    """Write about `records` records under `folder` (S3 layout) and `folder/truth.json`; returns the counts."""
    rng = random.Random(seed)
    hosts = fleet(enis, rng)
    servers = [h for h in hosts if h.serves]
    day = folder / "AWSLogs" / ACCOUNT / "vpcflowlogs" / REGION / "2025" / "12" / "01"
    day.mkdir(parents=True, exist_ok=True)
    truth: set[tuple[str, str, int, int, str]] = set()
    written = nodata = rejects = 0
    window = 0
    per_file = max(records // 96, 1000)  # about a day of 5-minute files at any size
    while written < records:
        lines: list[str] = []
        base = START + window * WINDOW
        while len(lines) < per_file:
            kind = rng.random()
            t = base + rng.randrange(0, WINDOW - 60)
            if kind < 0.02:  # an internet scan the security group rejects: one inbound SYN, no answer
                target = rng.choice(hosts)
                scanner = f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                lines.append(_record(target, scanner, target.addr, rng.randrange(1024, 65536),
                                     rng.choice((23, 3389, 445, 22, 1433)), 6, 1, 44, t, "REJECT", 2, "ingress", "-"))
                rejects += 1
                continue
            if kind < 0.025:  # an idle interval
                idle = rng.choice(hosts)
                lines.append(f"5 {ACCOUNT} {idle.eni} - - - - - - - {t} {t + 58} - NODATA {VPC} {idle.subnet} "
                             f"{idle.instance} - - - - {REGION} {idle.az} - - - - - -")
                nodata += 1
                continue
            server = rng.choice(servers)
            proto, port = rng.choice(server.serves)
            inside = rng.random() < 0.7
            client = rng.choice(hosts) if inside else None
            if client is not None and client.eni == server.eni:
                continue
            client_addr = client.addr if client else f"203.0.{rng.randrange(114, 120)}.{rng.randrange(1, 255)}"
            sport = rng.randrange(32768, 61000)
            intervals = 1 if rng.random() < 0.8 or proto == 17 else rng.randrange(2, 6)
            for k in range(intervals):
                ts = t + 60 * k
                if intervals == 1:
                    f_out, f_back = 3, 19  # SYN|FIN and SYN-ACK|FIN in one interval
                else:
                    f_out, f_back = (2, 18) if k == 0 else (1, 1) if k == intervals - 1 else (0, 0)
                pk = rng.randrange(1, 40)
                size = rng.randrange(60, 1400)
                lines.append(_record(server, client_addr, server.addr, sport, port, proto, pk, size, ts, "ACCEPT",
                                     f_out, "ingress", "-"))
                lines.append(_record(server, server.addr, client_addr, port, sport, proto, pk, size, ts, "ACCEPT",
                                     f_back, "egress", "1" if client else "2"))
                if client is not None:
                    lines.append(_record(client, client.addr, server.addr, sport, port, proto, pk, size, ts,
                                         "ACCEPT", f_out, "egress", "1"))
                    lines.append(_record(client, server.addr, client.addr, port, sport, proto, pk, size, ts,
                                         "ACCEPT", f_back, "ingress", "-"))
            truth.add((server.eni, "ingress", proto, port, client_addr if client is None else client.addr))
            if client is not None:
                truth.add((client.eni, "egress", proto, port, server.addr))
        stamp = f"20251201T{(window * 5) // 60 % 24:02d}{(window * 5) % 60:02d}Z"
        name = f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0123456789abcdef0_{stamp}_{window:08x}.log.gz"
        with gzip.open(day / name, "wt", compresslevel=1) as handle:
            handle.write(FORMAT + "\n")
            handle.write("\n".join(lines) + "\n")
        written += len(lines)
        window += 1
    rules = [{"eni": e, "direction": d, "proto": p, "port": port, "peer": peer}
             for e, d, p, port, peer in sorted(truth)]
    (folder / "truth.json").write_text(json.dumps({"seed": seed, "records": written, "rules": rules}, indent=0))
    return {"records": written, "files": window, "nodata": nodata, "rejects": rejects, "truth_rules": len(rules)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flowgen", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(write_flows(args.folder, args.records, args.seed))


if __name__ == "__main__":
    main()
