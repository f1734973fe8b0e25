"""The architecture's import rules (DESIGN §10), checked over the real import graph.

The rules themselves are import-linter contracts in pyproject.toml ([tool.importlinter]); `make
lint` runs them too. These tests run them, show that they do fail on a violation, and check
the one rule import-linter cannot see: SQL runs only in the store.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SQL_CALLS = {"execute", "executemany", "executescript"}


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_import_contracts_fail_on_a_lower_layer_importing_a_higher_one(tmp_path: Path) -> None:
    for package in ("clients", "node_gateway"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "node_gateway" / "store" / "reaches_up.py").write_text(
        '"""A store module that asks a service: what the layers forbid."""\n\n'
        "from node_gateway.services import views  # noqa: F401\n"
    )
    (tmp_path / "clients" / "reaches_in.py").write_text(
        '"""An SDK module that imports the gateway."""\n\n'
        "import node_gateway.errors  # noqa: F401\n"
    )
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "node_gateway.store.reaches_up -> node_gateway.services.views" in result.stdout
    assert "clients.reaches_in -> node_gateway.errors" in result.stdout


def _sql_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SQL_CALLS
        # a contract function of that name (`c.consortium.functions.execute`) is no SQL
        and not (isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "functions")
    ]


def test_only_the_store_runs_sql() -> None:
    gateway = ROOT / "node_gateway"
    outside = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(gateway.rglob("*.py"))
        if (gateway / "store") not in path.parents and (lines := _sql_calls(path))
    }
    assert outside == {}
