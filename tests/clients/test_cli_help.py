"""Every `crossreturn` command documents itself: a short help for the group listing and an
example in its --help."""

from __future__ import annotations

from collections.abc import Iterator

import click
from click.testing import CliRunner

from node_gateway.cli.main import main


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def test_every_command_has_a_short_help_and_an_example() -> None:
    commands = list(_commands(main))
    assert {("platform", "apply"), ("officer", "queue"), ("auditor", "report")} <= set(commands)
    assert {("admin", "vote"), ("up",), ("bench",)} <= set(commands)
    missing = []
    for path in commands:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        command = main
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]  # type: ignore[assignment]
        if "Example" not in result.output or not command.short_help:
            missing.append(" ".join(path))
    assert not missing, missing
