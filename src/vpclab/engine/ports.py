"""Which source port a host picks for a new flow: the next port of its ephemeral range, in order.

Both backends use this, so a lab's packets carry the same ports on the simulator and on the kernel.
"""

from __future__ import annotations

from collections.abc import Container

from vpclab.model.protocols import PortRange


class EphemeralPorts:
    """A host's ephemeral ports handed out in order, wrapping at the end of the range, skipping ports in use."""

    __slots__ = ("range", "_next")

    def __init__(self, ports: PortRange) -> None:
        self.range = ports
        self._next = ports.first

    def take(self, in_use: Container[int] = ()) -> int:
        """The next free port; raises RuntimeError when every port of the range is in use."""
        ports = self.range
        for _ in range(ports.last - ports.first + 1):
            port = self._next
            self._next = ports.first if port >= ports.last else port + 1
            if port not in in_use:
                return port
        raise RuntimeError(f"no free port in the ephemeral range {ports}")
