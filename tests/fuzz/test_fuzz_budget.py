"""CI's budgeted fuzz campaign: ``fuzz/run.py`` runs every coverage-guided target (parser,
Security header, trust messages, cookies, WSDL policy import) for its share of
``WSSC_FUZZ_BUDGET`` seconds (default 60) and fails on a crash, a hang or an exception that is
not a typed WsscError. Without atheris: a loud skip locally, a failure under CI."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peers import REPO, in_ci

BUDGET = float(os.environ.get("WSSC_FUZZ_BUDGET", "60"))


def test_budgeted_campaign_finds_nothing(tmp_path: Path) -> None:
    _need_atheris()
    report = tmp_path / "report.json"
    crashes = tmp_path / "crashes"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "fuzz" / "run.py"),
            "--budget",
            str(BUDGET),
            "--work",
            str(tmp_path / "work"),
            "--crashes",
            str(crashes),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=BUDGET * 3 + 300,
    )
    out = proc.stdout + proc.stderr[-5000:]
    found = sorted(p.name for p in crashes.glob("*")) if crashes.exists() else []
    for name in found:  # keep the reproducers where a developer finds them
        (REPO / "fuzz" / "crashes" / name).write_bytes((crashes / name).read_bytes())
    assert proc.returncode == 0 and not found, f"fuzz findings {found} (in fuzz/crashes/):\n{out}"
    results = json.loads(report.read_text())
    assert {r["target"] for r in results} == {"verify", "parse", "trust", "cookie", "policy"}
    for r in results:
        # The harness really ran: inputs executed, and coverage beyond the seeds' first edges.
        assert r["ok"] and r["execs"] > 100 and r["cov"] > 10, r


def _need_atheris() -> None:
    if importlib.util.find_spec("atheris") is None:
        if in_ci():
            pytest.fail("atheris is not installed (CI: pip install -e '.[dev]')")
        pytest.skip("!!! atheris is not installed: the fuzz harnesses did NOT run !!!")


FIXED = sorted((REPO / "fuzz" / "crashes").glob("fixed-*"))


@pytest.mark.parametrize("path", FIXED, ids=[p.name for p in FIXED])
def test_fixed_findings_stay_fixed(path: Path, tmp_path: Path) -> None:
    """Every finding fixed so far (``fuzz/crashes/fixed-<target>-…``) replays cleanly."""
    _need_atheris()
    target = path.name.split("-")[1]
    subprocess.run(
        [sys.executable, str(REPO / "fuzz" / "seeds.py"), str(tmp_path)], check=True, capture_output=True
    )
    proc = subprocess.run(
        [sys.executable, str(REPO / "fuzz" / f"fuzz_{target}.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, WSSC_FUZZ_WORK=str(tmp_path)),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_oracle_reports_an_untyped_exception(tmp_path: Path) -> None:
    """The harness's oracle can fail: an input that raises a plain ValueError is a crash."""
    _need_atheris()
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01")
    script = tmp_path / "fuzz_boom.py"
    script.write_text(
        "import common\n"
        "from wssc.errors import InvalidSecurity\n"
        "def target(data):\n"
        "    if data[:1] == b'\\x01':\n"
        "        raise ValueError('untyped')\n"
        "    raise InvalidSecurity('typed')\n"
        "common.main(target)\n"
    )
    env = dict(os.environ, WSSC_FUZZ_WORK=str(tmp_path), PYTHONPATH=str(REPO / "fuzz"))
    typed = tmp_path / "typed"
    typed.write_bytes(b"\x02")
    ok = subprocess.run(
        [sys.executable, str(script), str(typed)], capture_output=True, text=True, timeout=120, env=env
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    boom = subprocess.run(
        [sys.executable, str(script), str(bad)], capture_output=True, text=True, timeout=120, env=env
    )
    assert boom.returncode != 0 and "ValueError: untyped" in boom.stdout + boom.stderr
