"""Shared fixtures: one deployed consortium per session, reverted to a snapshot after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.chain import World, build_world

pytest_plugins = ["tests.utils.anvil"]  # the `anvil` fixture


@pytest.fixture(scope="session")
def base_world() -> World:
    """The consortium, deployed once per session."""
    return build_world()


@pytest.fixture
def world(base_world: World) -> Iterator[World]:
    """The consortium, reverted to its deployed state after the test.

    One empty block is mined first: after a revert the head is the deployment block, whose
    time may lie minutes behind the clock of the next block on a loaded machine, and a test
    that travels to `now() + n` must not travel backwards."""
    snapshot = base_world.tester.take_snapshot()
    base_world.tester.mine_blocks(1)
    yield base_world
    base_world.tester.revert_to_snapshot(snapshot)
