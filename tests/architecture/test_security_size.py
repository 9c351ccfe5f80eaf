"""Issue 14: inbound security is split into one module per step, and no module of
``security/`` grows past 500 lines (WSS4J's processors are one small class each)."""

from __future__ import annotations

from pathlib import Path

import pytest

SECURITY = Path(__file__).resolve().parents[2] / "src" / "wssc" / "security"
LIMIT = 500


@pytest.mark.parametrize("path", sorted(SECURITY.glob("*.py")), ids=lambda p: p.name)
def test_no_security_module_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LIMIT, f"{path.name} has {lines} lines (split it by step or by token)"


def test_the_steps_have_their_modules() -> None:
    names = {p.stem for p in SECURITY.glob("*.py")}
    assert {
        "inbound",
        "authenticate",
        "charge",
        "decrypt",
        "digests",
        "endorsing",
        "enforce",
        "processors",
    } <= names
