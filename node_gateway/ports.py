"""Free loopback ports for the processes CrossReturn starts itself (tests, benchmarks, `crossreturn
up --base-port 0`, a local anvil)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_base_port(count: int = 1, host: str = "127.0.0.1") -> int:
    """A port p with p .. p+count-1 all free on `host` (for tests, benchmarks, `up --base-port
    0`); another process may still take one before it is bound.

    Chosen below the kernel's ephemeral range: a port from that range may be taken at any moment
    as the local port of some outgoing connection, and a gateway restarted on it would then fail
    to listen (seen in `make soak`, where gateways are SIGKILLed and restarted on their ports).
    """
    low, high = _below_ephemeral_ports()
    rng = random.SystemRandom()
    for _ in range(200):
        base = rng.randrange(low, high - count)
        try:
            for offset in range(count):
                with socket.socket() as s:
                    s.bind((host, base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports on {host} in {low}..{high}")


def _below_ephemeral_ports() -> tuple[int, int]:
    """A range of ports outside the kernel's ephemeral range (Linux's default 32768-60999)."""
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768
    return (10_000, first) if first > 12_000 else (first + 30_000, 65_000)
