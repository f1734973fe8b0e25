"""README's layout section is drawn from the tree: every package and top-level module of the
SDK and the gateway is listed under its folder, and every file or folder it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("clients", "node_gateway")
NAME = re.compile(r"[\w.-]+/?")


def _layout() -> dict[str, set[str]]:
    """README's `## Layout` block as {top-level folder: names listed one level below it}."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    listed: dict[str, set[str]] = {}
    top = ""
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        head = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        if indent == 0:
            top = head.rstrip("/")
            listed.setdefault(top, set())
        elif indent == 2 and top:
            listed[top].update(
                name for name in NAME.findall(head) if "." in name or name.endswith("/")
            )
    return listed


def _tree(package: str) -> set[str]:
    """A package's subpackages (`name/`) and top-level modules (`name.py`)."""
    base = ROOT / package
    subpackages = {f"{p.parent.name}/" for p in base.glob("*/__init__.py")}
    modules = {p.name for p in base.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    return subpackages | modules


def test_layout_lists_every_package_and_module() -> None:
    listed = _layout()
    for package in PACKAGES:
        assert _tree(package) - listed[package] == set(), f"{package}/ not in README's layout"


def test_layout_names_only_what_exists() -> None:
    missing = [
        f"{top}/{name}"
        for top, names in _layout().items()
        for name in names
        if (ROOT / top).is_dir() and not (ROOT / top / name.rstrip("/")).exists()
    ]
    assert missing == []
