"""Every reason code the server side uses is one the station's catalogue words.

The web pages say a reason in the coordinator's language from its code
(server/web/reason_words.py); a code missing from agent/report/reasons.py shows
its English ``message`` on a Dutch or French page. The sample reports the server's
tests, demo and benchmarks store are held to the same rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.report.reasons import lookup
from agent.report.samples import sample_report
from agent.report.schema import Reason, Warning_

ROOT = Path(__file__).resolve().parents[2]
#: the code the server runs, and what it stores as laptops' reports in tests, demo and bench
SOURCES = ("server", "bench", "agent/report/samples.py", "agent/demo")
#: what names a reason code: the catalogue's helpers and the report schema's classes
MAKERS = {
    "agent.report.reasons": {"reason", "warning"},
    "agent.report.schema": {"Reason", "Warning_"},
}


def _python_files() -> Iterator[Path]:
    for name in SOURCES:
        path = ROOT / name
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def codes_in(source: str) -> list[tuple[int, str, str | None]]:
    """(line, code, variant) of every literal reason code named in ``source``."""
    tree = ast.parse(source)
    makers = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in MAKERS
        for alias in node.names
        if alias.name in MAKERS[node.module]
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _name(node.func) not in makers:
            continue
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        code = _literal(keywords.get("code")) or (_literal(node.args[0]) if node.args else None)
        if code is not None:
            found.append((node.lineno, code, _literal(keywords.get("variant"))))
    return found


def test_every_reason_code_in_the_server_code_is_in_the_catalogue() -> None:
    unknown = []
    seen = 0
    for path in _python_files():
        for line, code, variant in codes_in(path.read_text(encoding="utf-8")):
            seen += 1
            if lookup(code, variant) is None:
                unknown.append(f"{path.relative_to(ROOT)}:{line}: {code} ({variant})")
    assert seen >= 3  # the sample reports name a few
    assert not unknown, "not in agent/report/reasons.py: " + ", ".join(unknown)


def _reasons(value: Any) -> Iterator[Reason | Warning_]:
    if isinstance(value, Reason | Warning_):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _reasons(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _reasons(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _reasons(item)


def test_every_reason_in_the_sample_reports_is_in_the_catalogue() -> None:
    reasons = [r for n in range(20) for r in _reasons(sample_report(n))]
    assert {r.code for r in reasons} >= {"grade.battery_worn", "battery.health", "ata.reallocated"}
    unknown = {
        (r.code, r.params.get("variant"))
        for r in reasons
        if lookup(r.code, r.params.get("variant")) is None
    }
    assert not unknown, unknown


def test_the_scan_finds_an_unknown_code() -> None:
    source = (
        "from agent.report.reasons import reason\n"
        "from agent.report.schema import Reason\n"
        'Reason(code="battery.worn", message="x")\nreason("grade.ram_good", gib=8.0)\n'
    )
    found = codes_in(source)
    assert [(c, v) for _, c, v in found] == [("battery.worn", None), ("grade.ram_good", None)]
    assert lookup("battery.worn") is None and lookup("grade.ram_good") is not None
    assert codes_in('Reason("wipe", "Wipe failed")\n') == []  # another module's Reason
