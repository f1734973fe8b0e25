"""Security fixtures: a consortium of its own (2900 return centre, 3100 and 4600 origins) on
the embedded ledger, so the generated requests that a gateway accepts never show up in the
lists other test folders read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.gateway import GatewayWorld


@pytest.fixture(scope="session")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayWorld]:
    """The consortium: ledger genesis two days ago, batches of 16, recognition by officers."""
    world = GatewayWorld.open(tmp_path_factory.mktemp("security-consortium"), batch_size=16)
    yield world
    world.close()
