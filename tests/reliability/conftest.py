"""The fixtures of every reliability module: its own consortium on anvil (each area's gateway a
`crossreturn serve` process) and the workload that keeps it busy (tests/reliability/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.harness import AREAS, Workload
from tests.utils.anvil_network import AnvilNetwork


@pytest.fixture(scope="module")
def net(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AnvilNetwork]:
    """A consortium of its own for each test module."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with AnvilNetwork.running(tmp_path_factory.mktemp(name), AREAS) as network:
        yield network


@pytest.fixture(scope="module")
def workload(net: AnvilNetwork) -> Iterator[Workload]:
    """Bulk ingest and returns running until the module's tests are done."""
    load = Workload(net)
    load.start()
    try:
        yield load
    finally:
        load.stop()
