"""The lab-run report: one lane per host over virtual time, packets as arrows, drops marked with their reason,
conntrack entries' lifetimes as bars, and every step's expectation against its outcome.

The time axis is cut per step so a 600 s wait does not squash the milliseconds around it: a step with packets
gets one column per packet (evenly spaced, each labelled with its virtual time), a wait is a fixed-width break
(linear inside, so an entry that expired 30 s into a 31 s wait ends just before the break's end), and a step
without packets (a rule change, a listener) a thin marker. Geometry is computed here; the template only draws.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from vpclab.lab.schema import CONFIG_ACTIONS
from vpclab.report.html.filters import seconds

LEFT = 124.0  # the lane labels' column
RIGHT = 60.0
SLOT = 22.0  # one packet's column
PAD = 4.0  # space either side of a step's packets
MARK = 16.0  # a step without packets
BREAK = 50.0  # a wait
STEP_BAND = 24.0  # the step numbers at the top
LABEL_BAND = 100.0  # the packets' rotated labels under them
LANE = 38.0  # a lane's own height above its conntrack bars
BAR_ROW = 14.0
TICK_BAND = 58.0  # the rotated virtual times at the bottom
CHAR = 6.1  # the width of one character of a bar's 10 px label, roughly
CHANGES = CONFIG_ACTIONS
"""Steps that change the network (drawn as a dashed line across the lanes), not traffic: the lab schema's own set."""


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The template's context for `vpclab lab run LAB --html` (data: the run's `--json`, conntrack recorded)."""
    run = run_view(data)
    subtitle = f"{data['title']} · {data['backend']} backend · " + (
        "PASS: every expectation met" if data["ok"] else "FAIL: an expectation was not met")
    return {"title": f"Lab {data['lab']}", "subtitle": subtitle, "kind": "lab-run", "run": run}


def run_view(data: dict[str, Any]) -> dict[str, Any]:
    """One run's summary, steps, timeline, packets, drops and conntrack entries (also used by the diff report)."""
    tl = Timeline(data)
    steps = [_step_row(s, tl) for s in data["steps"]]
    checked = [s for s in data["steps"] if s["expect"] is not None]
    return {"lab": data["lab"], "title": data["title"], "backend": data["backend"], "ok": data["ok"],
            "warnings": data.get("warnings", []), "steps": steps,
            "counts": {"steps": len(data["steps"]), "checked": len(checked),
                       "met": sum(1 for s in checked if s["ok"]), "packets": len(tl.arrows),
                       "drops": sum(1 for a in tl.arrows if a["dropped"]), "entries": len(tl.bars)},
            "timeline": tl.as_dict(), "packets": tl.arrows, "drops": [a for a in tl.arrows if a["dropped"]],
            "entries": tl.bars, "recorded": any(s.get("conntrack") is not None for s in data["steps"])}


def _step_row(step: dict[str, Any], tl: Timeline) -> dict[str, Any]:
    if step["expect"] is None:
        verdict, css = "– nothing expected", "muted"
    elif step["ok"]:
        verdict, css = "✓ met", "ok"
    else:
        verdict, css = f"✗ not met: expected {step['expect']}, got {step['outcome']}", "bad"
    arrows = [a for a in tl.arrows if a["step"] == step["index"]]
    return {"index": step["index"], "action": step["action"], "description": step["description"],
            "expect": step["expect"], "outcome": step["outcome"], "ok": step["ok"], "verdict": verdict, "css": css,
            "detail": step.get("detail", ""), "start": tl.starts[step["index"]],
            "packets": [a["id"] for a in arrows], "drops": [a["id"] for a in arrows if a["dropped"]]}


def address_of(endpoint: str) -> str:
    """'198.18.1.10:32768' -> '198.18.1.10', '[2001:db8::1]:22' -> '2001:db8::1', a bare address unchanged."""
    if endpoint.startswith("["):
        return endpoint[1:endpoint.index("]")]
    if endpoint.count(":") == 1:
        return endpoint.split(":", 1)[0]
    return endpoint


def _r(value: float) -> float:
    return round(value, 1)


def _deny(packet: dict[str, Any]) -> dict[str, Any] | None:
    return next((t for t in packet.get("trace", []) if t.get("decision") == "deny"), None)


def _drop_fraction(deny: dict[str, Any] | None) -> float:
    """Where along the arrow the packet stopped: at the sender's gate, the subnets' ACLs, the route, the receiver's."""
    if deny is None:
        return 0.5
    outbound = deny.get("direction") == "egress"
    if deny.get("component") in ("sg", "conntrack"):
        return 0.18 if outbound else 0.82
    if deny.get("component") == "nacl":
        return 0.35 if outbound else 0.65
    return 0.5


@dataclass
class _Lifetime:
    """One conntrack entry across the steps' snapshots."""

    host: str
    flow: str
    first: int  # the position (in the step list) of the first snapshot holding it
    last: int
    entry: dict[str, Any]
    states: list[str] = field(default_factory=list)
    refreshed: list[float] = field(default_factory=list)


class Timeline:
    """Lanes, step segments, arrows and bars of one run, with the piecewise time axis described above."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.steps: list[dict[str, Any]] = data["steps"]
        self.owner = {a: h["name"] for h in data.get("hosts", []) for a in h["addresses"]}
        self.internet = {h["name"]: h.get("internet", False) for h in data.get("hosts", [])}
        self.addresses = {h["name"]: h["addresses"] for h in data.get("hosts", [])}
        self.knots: list[tuple[float, float, int]] = []  # (time, x, step position), x increasing
        self.packet_knots: list[tuple[float, float, int]] = []
        self.segments: list[dict[str, Any]] = []
        self.starts: dict[int, float] = {}
        self.ends: list[float] = []
        self._layout_axis()
        self.lifetimes = self._lifetimes()
        self.lanes = self._lanes()
        self.bars = self._bars()
        self._place_lanes()
        self.arrows = self._arrows()

    # ---- the axis ---------------------------------------------------------------------------------------

    def _layout_axis(self) -> None:
        x, now = LEFT, 0.0
        for pos, step in enumerate(self.steps):
            start = max(float(step.get("at", 0.0)), now)
            packets = step["packets"]
            x0 = x
            if packets:
                self.knots.append((start, x0, pos))
                for k, packet in enumerate(packets):
                    knot = (float(packet["time"]), x0 + PAD + SLOT * (k + 0.5), pos)
                    self.knots.append(knot)
                    self.packet_knots.append(knot)
                now = max(now, max(float(p["time"]) for p in packets))
                x = x0 + 2 * PAD + SLOT * len(packets)
                kind = "packets"
            elif step.get("wait") is not None and step["wait"] > 0:
                now = start + float(step["wait"])
                x = x0 + BREAK
                kind = "wait"
            elif step["action"] in CHANGES:
                x, kind = x0 + MARK, "change"
            else:  # a listener, or traffic whose packets the backend did not record (the kernel's)
                x, kind = x0 + 2 * PAD + SLOT, "mark"
            self.knots.append((start, x0, pos))
            self.knots.append((now, x, pos))
            self.starts[step["index"]] = start
            self.ends.append(now)
            self.segments.append({"index": step["index"], "x0": _r(x0), "x1": _r(x), "mid": _r((x0 + x) / 2),
                                  "kind": kind, "ok": step["ok"], "expect": step["expect"],
                                  "description": step["description"], "start": start, "end": now,
                                  "wait": step.get("wait"), "stripe": pos % 2 == 1,
                                  "label": _segment_label(kind, step)})
        self.knots.sort(key=lambda k: (k[1], k[0]))
        self.right = x
        self.last = now

    def x_at(self, t: float, from_pos: int = 0) -> float | None:
        """Where virtual time `t` is on the axis, looking only at steps from position `from_pos` on (the same
        instant can be in several steps); None after the run's end."""
        exact = next((x for kt, x, pos in self.packet_knots if pos >= from_pos and abs(kt - t) < 1e-9), None)
        if exact is not None:
            return exact
        knots = [k for k in self.knots if k[2] >= from_pos]
        times = [k[0] for k in knots]
        i = bisect_left(times, t - 1e-9)
        if i == len(knots):
            return None
        kt, kx, _ = knots[i]
        if abs(kt - t) < 1e-9 or i == 0:
            return kx
        pt, px, _ = knots[i - 1]
        return px + (kx - px) * (t - pt) / (kt - pt) if kt > pt else kx

    # ---- conntrack ----------------------------------------------------------------------------------------

    def _lifetimes(self) -> list[_Lifetime]:
        lives: list[_Lifetime] = []
        current: dict[tuple[Any, ...], _Lifetime] = {}
        for pos, step in enumerate(self.steps):
            for host in sorted(step.get("conntrack") or {}):
                for entry in step["conntrack"][host]:
                    key = (host, entry["flow"], entry.get("direction", ""), entry.get("created"))
                    life = current.get(key)
                    if life is None or life.last < pos - 1:  # absent from a snapshot in between: a new entry
                        life = current[key] = _Lifetime(host, entry["flow"], pos, pos, entry)
                        lives.append(life)
                    life.last, life.entry = pos, entry
                    if not life.states or life.states[-1] != entry["state"]:
                        life.states.append(entry["state"])
                    seen = entry.get("last_seen")
                    if seen is not None and (not life.refreshed or life.refreshed[-1] != seen):
                        life.refreshed.append(float(seen))
        return sorted(lives, key=lambda l: (l.first, l.host, l.flow, l.entry.get("direction", "")))

    def _bars(self) -> list[dict[str, Any]]:
        bars = []
        final = len(self.steps) - 1
        for n, life in enumerate(self.lifetimes, 1):
            e = life.entry
            created = float(e["created"]) if "created" in e else self.ends[life.first]
            if "last_seen" in e and "timeout" in e:
                expires = float(e["last_seen"]) + float(e["timeout"])
            else:  # the kernel's `conntrack -L`: seconds left when the step's snapshot was taken
                expires = self.ends[life.last] + float(e.get("expires_in", 0))
            x0 = self.x_at(created, life.first) if "created" in e else None
            x0 = self.segments[life.first]["x1"] - 4 if x0 is None else x0  # else: first seen after that step
            if life.last == final:
                end, how, x1 = expires, "open", self.right
                words = f"still tracked when the lab ended (would expire at {seconds(expires)})"
            elif expires <= self.ends[life.last + 1] + 1e-6:
                end, how = expires, "expired"
                x1 = self.x_at(expires, life.last) or self.right
                words = f"expired at {seconds(expires)}"
            else:
                end, how = self.ends[life.last + 1], "removed"
                x1 = self.segments[life.last + 1]["x1"]
                words = f"gone after step {self.steps[life.last + 1]['index']} (before its timeout)"
            x1 = max(x1, x0 + 3)
            ticks = [_r(x) for t in life.refreshed[1:] if (x := self.x_at(t, life.first)) is not None and x < x1]
            bars.append({"id": f"C{n}", "host": life.host, "flow": life.flow, "direction": e.get("direction", ""),
                         "states": life.states, "state": e["state"], "created": created, "end": end, "how": how,
                         "words": words, "timeout": e.get("timeout"), "opened_by": e.get("opened_by", ""),
                         "source": e.get("source", ""), "first_step": self.steps[life.first]["index"],
                         "last_step": self.steps[life.last]["index"], "x0": _r(x0), "x1": _r(x1),
                         "width": _r(x1 - x0), "ticks": ticks, "row": 0, "y": 0.0,
                         "created_text": seconds(created) if "created" in e
                         else f"first seen after step {self.steps[life.first]['index']}",
                         "label": "", "refreshes": len(life.refreshed)})
        for bar in bars:
            text = f"{bar['id']} {bar['flow']} · {' → '.join(bar['states'])}"
            bar["label"] = text if len(text) * CHAR + 8 < bar["width"] else bar["id"]
        return bars

    # ---- lanes ------------------------------------------------------------------------------------------

    def host_of(self, endpoint: str) -> str:
        address = address_of(endpoint)
        return self.owner.get(address, address)

    def _lanes(self) -> list[dict[str, Any]]:
        order: list[str] = []
        for step in self.steps:
            for packet in step["packets"]:
                for end in (packet["src"], packet["dst"]):
                    name = self.host_of(end)
                    if name not in order:
                        order.append(name)
        for life in self.lifetimes:
            if life.host not in order:
                order.append(life.host)
        return [{"name": name, "known": name in self.addresses, "internet": self.internet.get(name, False),
                 "addresses": self.addresses.get(name, []), "rows": 0, "y": 0.0, "top": 0.0, "height": 0.0}
                for name in order]

    def _place_lanes(self) -> None:
        rows: dict[str, list[float]] = {lane["name"]: [] for lane in self.lanes}
        for bar in sorted(self.bars, key=lambda b: (b["x0"], b["id"])):
            ends = rows[bar["host"]]
            text_end = bar["x0"] + len(bar["label"]) * CHAR + 6
            reach = max(bar["x1"], text_end)
            row = next((i for i, end in enumerate(ends) if end + 4 < bar["x0"]), len(ends))
            if row == len(ends):
                ends.append(reach)
            else:
                ends[row] = reach
            bar["row"] = row
        y = STEP_BAND + LABEL_BAND
        for lane in self.lanes:
            lane["rows"] = len(rows[lane["name"]])
            lane["top"] = _r(y)
            lane["y"] = _r(y + LANE / 2)
            lane["height"] = _r(LANE + lane["rows"] * BAR_ROW + (6 if lane["rows"] else 0))
            y += lane["height"]
        self.bottom = y
        ys = {lane["name"]: lane for lane in self.lanes}
        for bar in self.bars:
            bar["y"] = _r(ys[bar["host"]]["y"] + LANE / 2 + bar["row"] * BAR_ROW)

    # ---- packets ----------------------------------------------------------------------------------------

    def _arrows(self) -> list[dict[str, Any]]:
        ys = {lane["name"]: lane["y"] for lane in self.lanes}
        arrows = []
        n = drops = 0
        for pos, step in enumerate(self.steps):
            x0 = self.segments[pos]["x0"]
            for k, packet in enumerate(step["packets"]):
                n += 1
                x = _r(x0 + PAD + SLOT * (k + 0.5))
                src, dst = self.host_of(packet["src"]), self.host_of(packet["dst"])
                y1, y2 = ys[src], ys[dst]
                dropped = packet["verdict"] != "allowed"
                deny = _deny(packet) if dropped else None
                arrow = {"id": f"P{n}", "step": step["index"], "time": float(packet["time"]), "x": x,
                         "y1": y1, "y2": y2, "src": packet["src"], "dst": packet["dst"], "src_host": src,
                         "dst_host": dst, "proto": packet["proto"], "summary": packet["summary"],
                         "verdict": packet["verdict"], "code": packet["code"], "reason": packet.get("reason", ""),
                         "dropped": dropped, "drop": None, "trace": [_gate(g) for g in packet.get("trace", [])],
                         "same": src == dst}
                if dropped:
                    drops += 1
                    frac = _drop_fraction(deny)
                    yd = y1 + (y2 - y1) * frac if src != dst else y1 + 12
                    arrow["drop"] = {"id": f"D{drops}", "y": _r(yd), "where": _where(deny),
                                     "source": (deny or {}).get("source", ""),
                                     "gate": (deny or {}).get("reason", "")}
                arrows.append(arrow)
        return arrows

    # ---- what the template draws ------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        ticks, last = [], None
        for arrow in self.arrows:
            ticks.append({"x": arrow["x"], "text": seconds(arrow["time"]), "id": arrow["id"]})
        for seg in self.segments:
            if seg["kind"] == "wait":
                ticks.append({"x": seg["x1"], "text": seconds(seg["end"]), "id": ""})
        ticks.sort(key=lambda t: (t["x"], t["text"]))
        kept = []
        for tick in ticks:  # two labels closer than a slot would overprint: keep the first
            if last is None or tick["x"] - last >= SLOT - 8:
                kept.append(tick)
                last = tick["x"]
        width = self.right + RIGHT
        height = self.bottom + TICK_BAND
        return {"width": _r(width), "height": _r(height), "left": LEFT, "right": _r(self.right),
                "top": STEP_BAND + LABEL_BAND, "bottom": _r(self.bottom), "step_band": STEP_BAND,
                "label_y": STEP_BAND + LABEL_BAND - 6, "lanes": self.lanes, "segments": self.segments,
                "arrows": self.arrows, "bars": self.bars, "ticks": kept, "tick_y": _r(self.bottom + 8),
                "lane_half": LANE / 2, "empty": not self.lanes}


def _segment_label(kind: str, step: dict[str, Any]) -> str:
    """The rotated label over a step's segment: what a wait lasts, what a change does, what a step without
    recorded packets (a listener, or any step on the kernel backend) observed."""
    if kind == "wait":
        return f"⋯ wait {seconds(float(step['wait']))} ⋯"
    if kind == "change":
        return f"⚙ {step['description']}"
    if kind == "mark":
        return step["description"] if step["action"] == "listen" else f"{step['description']}: {step['outcome']}"
    return ""


def _gate(step: dict[str, Any]) -> dict[str, Any]:
    """One gate of a packet's trace: where, what it decided, why, and the rule's FILE:LINE."""
    return {"place": _where(step), "decision": step.get("decision", ""), "reason": step.get("reason", ""),
            "code": step.get("code", ""), "source": step.get("source", "")}


def _where(deny: dict[str, Any] | None) -> str:
    if deny is None:
        return "dropped"
    parts = [deny.get("component", ""), deny.get("id", ""), deny.get("host", ""), deny.get("direction", "")]
    return " ".join(p for p in parts if p)

