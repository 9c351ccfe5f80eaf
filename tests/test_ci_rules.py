"""The suite's CI rules hold everywhere: one ``in_ci()`` (tests/peers.py, and the same rule in
scripts/setup.sh), and no dev dependency skipped away with ``importorskip``."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import peers
from peers import REPO, in_ci

VALUES = {"true": True, "TRUE": True, "1": True, "yes": True, " Yes ": True,
          "": False, "0": False, "false": False, "no": False}


@pytest.mark.parametrize(("value", "expected"), list(VALUES.items()))
def test_in_ci(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_setup_sh_reads_ci_like_in_ci() -> None:
    setup = (REPO / "scripts" / "setup.sh").read_text()
    m = re.search(r"^in_ci\(\) \{.*\}$", setup, re.M)
    assert m, "scripts/setup.sh defines in_ci() on one line"
    for value, expected in VALUES.items():
        env = {"CI": value, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        proc = subprocess.run(["bash", "-c", f"{m.group(0)}\nin_ci"], env=env,
                              capture_output=True, text=True)
        assert (proc.returncode == 0) is expected, value


def _test_sources() -> list[Path]:
    here = Path(__file__).resolve().parent
    return [p for p in here.rglob("*.py") if p.resolve() != Path(peers.__file__).resolve()
            and p.resolve() != Path(__file__).resolve()]


def test_nothing_else_reads_the_ci_variable() -> None:
    pattern = re.compile(r"""environ(\.get\(|\[)\s*["']CI["']""")
    offenders = [str(p) for p in _test_sources() if pattern.search(p.read_text())]
    assert offenders == [], "use peers.in_ci()"


def test_no_dev_dependency_is_skipped_away() -> None:
    offenders = [str(p) for p in _test_sources() if "importorskip(" in p.read_text()]
    assert offenders == [], "dev dependencies are imported normally: a missing one is an error"
