"""`crossreturn demo`: the story runs to the end — returns in every state, Ningbo recognising
automatically, Hangzhou refusing the application that asks back more pieces than declared —
and writes its source documents; a used directory is refused."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from node_gateway.cli.main import main


def test_demo_runs_story_to_every_state_with_automatic_recognition(tmp_path: Path) -> None:
    data = tmp_path / "story"
    result = CliRunner().invoke(
        main, ["demo", "--data-dir", str(data), "--json", "--records", "60"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    states = summary["returns"]
    assert set(states) == {"applied", "arrived", "inspected", "disputed", "recognized", "settled"}
    assert all(n > 0 for n in states.values())
    assert summary["automaticRecognition"] == {"recognized": 12}
    assert summary["taxRecords"] == {"2900": 0, "3100": 60, "4600": 60}
    messages = list((data / "messages").glob("*.json"))
    assert len(messages) == 120 + summary["returnsTotal"]

    again = CliRunner().invoke(main, ["demo", "--data-dir", str(data)])
    assert again.exit_code == 2 and "already holds a consortium" in again.output
