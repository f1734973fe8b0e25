"""Gateway fixtures: one demo consortium (2900 return centre, 3100 and 4600 origins) on the
embedded ledger for the whole session, reached through a TestClient per area.

Founding it takes under a second and every test makes its own cases and returns (fresh
inventory-list serials, random return ids), so the tests share it without seeing each other's
data except in lists, which they filter.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.gateway import GatewayWorld


@pytest.fixture(scope="session")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayWorld]:
    """The consortium: ledger genesis two days ago, batches of 16, recognition by officers."""
    world = GatewayWorld.open(tmp_path_factory.mktemp("consortium"), batch_size=16)
    yield world
    world.close()
