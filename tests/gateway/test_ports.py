"""Ports for the processes CrossReturn starts itself: free, consecutive, and outside the range
the kernel hands out to outgoing connections (so a gateway restarted on its port finds it free)."""

from __future__ import annotations

import socket
from pathlib import Path

from node_gateway.ports import free_base_port


def _ephemeral() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_free_base_port_gives_consecutive_bindable_ports_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral()
    for _ in range(20):
        base = free_base_port(3)
        assert not (low <= base <= high) and not (low <= base + 2 <= high), base
        for port in range(base, base + 3):
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))


def test_free_base_port_skips_a_taken_port() -> None:
    held = []
    try:
        for _ in range(5):
            base = free_base_port(2)
            s = socket.socket()
            s.bind(("127.0.0.1", base + 1))
            s.listen()
            held.append(s)
        taken = {s.getsockname()[1] for s in held}
        for _ in range(20):
            base = free_base_port(2)
            assert base not in taken and base + 1 not in taken
    finally:
        for s in held:
            s.close()
