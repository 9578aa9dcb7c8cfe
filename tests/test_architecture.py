"""The core must stay UI-free: nothing outside agent/tui may import Textual."""

from __future__ import annotations

import ast
from pathlib import Path

AGENT = Path(__file__).parent.parent / "agent"
UI_PACKAGES = {"textual", "rich"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_ui() -> None:
    offenders = []
    core_files = [p for p in AGENT.rglob("*.py") if "tui" not in p.relative_to(AGENT).parts]
    assert len(core_files) > 5
    for path in core_files:
        bad = _imports(path) & UI_PACKAGES
        if bad:
            offenders.append(f"{path.relative_to(AGENT.parent)} imports {sorted(bad)}")
    assert offenders == []


def test_no_shell_true_anywhere() -> None:
    offenders = []
    for path in AGENT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "shell"
                and not (isinstance(node.value, ast.Constant) and node.value.value is False)
            ):
                offenders.append(str(path))
    assert offenders == []


def test_subprocess_only_in_runner() -> None:
    """One chokepoint: only agent/runner.py may use subprocess directly."""
    offenders = [
        str(p.relative_to(AGENT.parent))
        for p in AGENT.rglob("*.py")
        if "subprocess" in _imports(p) and p.name != "runner.py"
    ]
    assert offenders == []
