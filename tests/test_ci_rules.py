"""The suite's CI rules hold everywhere: one ``in_ci()`` (tests/peers.py, and the same rule in
scripts/setup.sh), and no dev dependency skipped away with ``importorskip``."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

import peers
from peers import REPO, in_ci

VALUES = {
    "true": True,
    "TRUE": True,
    "1": True,
    "yes": True,
    " Yes ": True,
    "": False,
    "0": False,
    "false": False,
    "no": False,
}


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
        proc = subprocess.run(["bash", "-c", f"{m.group(0)}\nin_ci"], env=env, capture_output=True, text=True)
        assert (proc.returncode == 0) is expected, value


def _test_sources() -> list[Path]:
    here = Path(__file__).resolve().parent
    return [
        p
        for p in here.rglob("*.py")
        if p.resolve() != Path(peers.__file__).resolve() and p.resolve() != Path(__file__).resolve()
    ]


def test_nothing_else_reads_the_ci_variable() -> None:
    pattern = re.compile(r"""environ(\.get\(|\[)\s*["']CI["']""")
    offenders = [str(p) for p in _test_sources() if pattern.search(p.read_text())]
    assert offenders == [], "use peers.in_ci()"


def test_no_dev_dependency_is_skipped_away() -> None:
    offenders = [str(p) for p in _test_sources() if "importorskip(" in p.read_text()]
    assert offenders == [], "dev dependencies are imported normally: a missing one is an error"


# --- nothing waits on a fixed sleep ---------------------------------------------------------
SLEEP_OK = "# sleep-ok:"


def _is_sleep(call: ast.Call, bare_names: set[str]) -> bool:
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr == "sleep":
        return isinstance(f.value, ast.Name) and f.value.id in ("time", "asyncio")
    return isinstance(f, ast.Name) and f.id in bare_names


def fixed_sleeps(source: str) -> list[int]:
    """Lines of ``time.sleep``/``asyncio.sleep`` calls that are not inside a ``while`` loop
    (a poll: check, sleep a little, check again, up to a deadline) of their own function, nor
    marked ``# sleep-ok: <reason>`` on their line or in the comment lines just above."""
    tree = ast.parse(source)
    lines = source.splitlines()
    bare = {
        a.asname or a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "asyncio")
        for a in node.names
        if a.name == "sleep"
    }
    found: list[int] = []

    def visit(node: ast.AST, in_while: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
                continue
            if isinstance(child, ast.Call) and _is_sleep(child, bare) and not in_while:
                first = child.lineno - 1  # the call's line and the comment lines just above
                while first > 0 and lines[first - 1].lstrip().startswith("#"):
                    first -= 1
                if not any(SLEEP_OK in ln for ln in lines[first : child.lineno]):
                    found.append(child.lineno)
            visit(child, in_while or isinstance(child, ast.While))

    visit(tree, False)
    return found


def test_fixed_sleep_detector() -> None:
    """The detector itself: a bare sleep is found, a polling loop's sleep and a marked one
    are not."""
    src = (
        "import time\nimport asyncio\nfrom time import sleep as nap\n"
        "def a():\n    time.sleep(0.2)\n"  # 5: bare
        "def b():\n    while not done():\n        time.sleep(0.01)\n"  # polling
        "async def c():\n    await asyncio.sleep(1)\n"  # 10: bare
        "def d():\n    nap(2)\n"  # 12: bare
        "def e():\n    # sleep-ok: an expiry inside the server,\n    # said on two lines\n"
        "    time.sleep(2)\n"
        "def f():\n    while True:\n        def g():\n            time.sleep(1)\n"  # 20
        "def h():\n    for _ in range(3):\n        time.sleep(1)\n"  # 23: not a poll
    )
    assert fixed_sleeps(src) == [5, 10, 12, 20, 23]


def test_nothing_waits_on_a_fixed_sleep() -> None:
    """A test waits for a condition (poll it, with a deadline), never for a fixed time. A
    sleep that must let wall-clock time pass (an expiry inside a running server) says why
    with ``# sleep-ok: <reason>``."""
    here = Path(__file__).resolve().parent
    offenders = [
        f"{p.relative_to(here)}:{line}"
        for p in sorted(here.rglob("*.py"))
        for line in fixed_sleeps(p.read_text())
    ]
    assert offenders == [], "fixed sleeps (poll a condition against a deadline instead)"


def test_pre_commit_runs_ruff_ruff_format_and_mypy() -> None:
    """The pre-commit configuration runs the three checks scripts/test.sh runs, and they pass
    on the tree as it is (a file left unformatted, or a lint or type error, fails this)."""
    import yaml  # pre-commit's own dependency

    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h["entry"] for repo in config["repos"] for h in repo["hooks"]}
    assert hooks == {
        "ruff": ".venv/bin/ruff check --force-exclude",
        "ruff-format": ".venv/bin/ruff format --check --force-exclude",
        "mypy": ".venv/bin/mypy",
    }
    test_sh = (REPO / "scripts" / "test.sh").read_text()
    assert '"$BIN/ruff" format --check' in test_sh
    run = subprocess.run(
        [str(REPO / ".venv" / "bin" / "pre-commit"), "run", "--all-files"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("Passed") == 3, run.stdout


def test_test_module_names_are_unique() -> None:
    """pytest imports test modules by basename (rootdir-relative, no packages): two files of
    one name in different folders stop the whole run at collection."""
    from collections import Counter

    names = Counter(p.name for p in (REPO / "tests").rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []


# --- the CI run: parallel, with the tests that measure time alone ----------------------------
#: What a test module uses when it measures time or CPU (ratios in one run): the module, or the
#: test, must carry the ``serial`` mark (scripts/test.sh runs those alone, after the parallel pass).
MEASURES_TIME = re.compile(
    r"\b(perf_counter|process_time|thread_time|cpu_seconds|assert_cost_ratio|median_time|timed_post|cost_of)\b"
)


def test_test_sh_runs_the_suite_under_xdist_then_the_serial_tests_alone() -> None:
    test_sh = (REPO / "scripts" / "test.sh").read_text()
    assert '-n "$workers" --dist loadfile --serial-tests=exclude "$@"' in test_sh
    assert '--serial-tests=only "$@"' in test_sh
    pyproject = (REPO / "pyproject.toml").read_text()
    dev = pyproject[pyproject.index("\ndev = [") : pyproject.index("]\n", pyproject.index("\ndev = ["))]
    assert '"pytest-xdist' in dev, "scripts/setup.sh installs the dev extra: pytest-xdist must be in it"


def test_tests_that_measure_time_are_serial() -> None:
    """A test module that times something carries the ``serial`` mark (on the module or on
    its timing tests): under pytest-xdist another worker loads the other core."""
    offenders = [
        str(p.relative_to(REPO))
        for p in _test_sources()
        if p.name.startswith("test_")
        and MEASURES_TIME.search(p.read_text())
        and "pytest.mark.serial" not in p.read_text()
    ]
    assert offenders == []


def test_serial_tests_option_splits_the_suite() -> None:
    """``--serial-tests``: include (the default) keeps all, exclude deselects the serial
    ones, only keeps just them; what is left out is reported as deselected."""
    import importlib.util
    from types import SimpleNamespace

    # tests/conftest.py by its path (the name ``conftest`` may be another folder's)
    spec = importlib.util.spec_from_file_location(
        "tests_root_conftest", Path(__file__).with_name("conftest.py")
    )
    assert spec is not None and spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    class Item:
        def __init__(self, name: str, serial: bool) -> None:
            self.name, self.serial = name, serial

        def get_closest_marker(self, name: str) -> object | None:
            return object() if name == "serial" and self.serial else None

    def split(mode: str) -> tuple[list[str], list[str]]:
        items = [Item("timed", True), Item("plain", False), Item("other", False)]
        deselected: list[str] = []
        config = SimpleNamespace(
            getoption=lambda name: mode,
            hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(i.name for i in items)),
        )
        conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
        return [i.name for i in items], deselected

    assert conftest.SERIAL_TESTS == ("include", "exclude", "only")
    assert split("include") == (["timed", "plain", "other"], [])
    assert split("exclude") == (["plain", "other"], ["timed"])
    assert split("only") == (["timed"], ["plain", "other"])
