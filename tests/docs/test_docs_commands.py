"""Every shell block in the docs and the README runs, as written, or says why not.

A ``sh``/``bash``/``console``/``shell`` block is, by the HTML comment right before its fence:

- ``<!-- docs-test: skip (why) -->``: listed and counted, not run (PyPI installs, a real host);
- ``<!-- docs-test: synopsis (why) -->``: a usage line; each ``wssc`` command in it must
  exist, and every option it names must be in that command's ``--help``;
- unmarked: run. A block of servers (``wssc serve``, ``uvicorn``) starts each one and waits
  for its WSDL; any other block runs in bash against the demo ``wssc serve`` (port 8000 in
  the text is the demo's port), in a folder holding the quick start's ``calc.py`` and the
  demo's WSDL as ``service.wsdl``. A ``text`` block right after is its expected output
  (``…`` matches anything). A block that fails is a failure: mark it, or fix it.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.docs.test_docs_examples import _free_port, _wait, demo_port  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL = ("sh", "bash", "console", "shell")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARKER = re.compile(r"<!--\s*docs-test:\s*(skip|synopsis)\s*\((.+?)\)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    text: str
    marker: str  # "", "skip" or "synopsis"
    reason: str
    output: str | None  # the text block right after, if any

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    def commands(self) -> list[str]:
        """Lines joined at ``\\``, comments and blank lines dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        out = []
        for raw in joined.splitlines():
            line = raw.strip()
            if line.startswith("$ "):
                line = line[2:]
            if line and not line.startswith("#"):
                out.append(line)
        return out


def collect() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text()
        matches = list(FENCE.finditer(text))
        for k, m in enumerate(matches):
            if m.group(1) not in SHELL:
                continue
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mk = MARKER.search(before)
            nxt = matches[k + 1] if k + 1 < len(matches) else None
            output = None
            if nxt is not None and nxt.group(1) == "text" and not text[m.end() : nxt.start()].strip():
                output = nxt.group(2)
            found.append(
                Block(
                    str(page.relative_to(ROOT)),
                    text[: m.start()].count("\n") + 1,
                    m.group(1),
                    m.group(2),
                    mk.group(1) if mk else "",
                    mk.group(2) if mk else "",
                    output,
                )
            )
    return found


ALL = collect()
RUN = [b for b in ALL if not b.marker]
SYNOPSES = [b for b in ALL if b.marker == "synopsis"]
SKIPPED = [b for b in ALL if b.marker == "skip"]


def test_every_shell_block_is_collected_and_the_skipped_ones_say_why() -> None:
    assert len(ALL) >= 15, [b.id for b in ALL]
    assert {"README.md", "docs/cli.md", "docs/howto/debugging.md"} <= {b.page for b in ALL}
    for b in SKIPPED:
        assert len(b.reason) > 10, b.id
    # the list the reader of this test sees: what is not run, and why
    print("\n".join(f"not run: {b.id}: {b.reason}" for b in SKIPPED))
    assert len(SKIPPED) <= 6, [b.id for b in SKIPPED]
    assert len(RUN) >= 6 and len(SYNOPSES) >= 3


def test_a_marker_is_read_and_an_unmarked_block_is_run() -> None:
    page = (
        "intro\n<!-- docs-test: skip (needs a WCF service) -->\n```sh\nwssc call X\n```\n"
        "```console\n$ wssc inspect x\n```\n```text\nout\n```\n"
    )
    fences = list(FENCE.finditer(page))
    assert [f.group(1) for f in fences] == ["sh", "console", "text"]
    assert MARKER.search(page[: fences[0].start()].rstrip("\n").rsplit("\n", 1)[-1])
    assert not MARKER.search(page[: fences[1].start()].rstrip("\n").rsplit("\n", 1)[-1])


# --- synopses: each option exists ---------------------------------------------------------------
def _wssc(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wssc", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def _synopsis_commands(line: str) -> list[tuple[list[str], list[str]]]:
    words = line.split()
    assert words[0] == "wssc", line
    path: list[str] = []
    for w in words[1:]:
        if w.startswith(("-", "[")) or not re.fullmatch(r"[a-z|]+", w):
            break
        path.append(w)
    options = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", line)
    variants: list[list[str]] = [[]]
    for part in path:
        variants = [[*v, alt] for v in variants for alt in part.split("|")]
    return [(v, options) for v in variants]


@pytest.mark.parametrize("block", SYNOPSES, ids=[b.id for b in SYNOPSES])
def test_synopsis_options_exist(block: Block) -> None:
    checked = 0
    for line in block.commands():
        for path, options in _synopsis_commands(line):
            r = _wssc(*path, "--help")
            assert r.returncode == 0, f"{block.id}: wssc {' '.join(path)} --help: {r.stderr}"
            flags = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", r.stdout))
            missing = [o for o in options if o not in flags]
            assert not missing, f"{block.id}: `wssc {' '.join(path)}` has no {missing}"
            checked += 1
    assert checked >= 1


def test_the_synopsis_check_catches_a_missing_option() -> None:
    """The docs once showed ``message verify --sc-version``, which only ``protect`` has."""
    ((path, options),) = _synopsis_commands("wssc message verify --sc-version 1.3 secured.xml")
    r = _wssc(*path, "--help")
    assert "--sc-version" not in set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", r.stdout))
    assert path == ["message", "verify"] and options == ["--sc-version"]


# --- runnable blocks ---------------------------------------------------------------------------
def _shims(bindir: Path) -> None:
    """``wssc`` and ``uvicorn`` on PATH as this interpreter's, with this checkout's sources."""
    bindir.mkdir(parents=True, exist_ok=True)
    for name, module in (("wssc", "wssc"), ("uvicorn", "uvicorn")):
        shim = bindir / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m {module} "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)


def _workdir(tmp: Path, port: int) -> dict[str, str]:
    quick = (ROOT / "docs" / "quickstart.md").read_text()
    service = re.search(r"^```python\n(.*?)^```", quick, re.S | re.M)
    assert service is not None
    (tmp / "calc.py").write_text(service.group(1).replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    _shims(tmp / "bin")
    return dict(
        os.environ,
        PATH=f"{tmp / 'bin'}{os.pathsep}{os.environ['PATH']}",
        WSSC_HOME=str(tmp / ".wssc-home"),
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    )


def _is_server(cmd: str) -> bool:
    return cmd.startswith(("wssc serve", "uvicorn "))


def _expect(output: str, got: str, where: str) -> None:
    lines = [line for line in got.splitlines() if line.strip()]
    at = 0
    for want in (w for w in output.splitlines() if w.strip()):
        pattern = re.compile(re.escape(want.strip()).replace("…", ".*"))
        while at < len(lines) and not pattern.fullmatch(lines[at].strip()):
            at += 1
        assert at < len(lines), f"{where}: expected {want!r} in order, got:\n{got}"
        at += 1


def _serve(cmd: str, env: dict[str, str], cwd: Path, where: str) -> None:
    port = _free_port()
    argv = shlex.split(cmd.replace("8000", str(port)).replace("0.0.0.0", "127.0.0.1"), comments=True)
    log = cwd / f"server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}/svc?wsdl", proc, log)
    except RuntimeError as exc:
        pytest.fail(f"{where}: `{cmd}` did not serve: {exc}")
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.fixture
def workdir(tmp_path: Path, demo_port: int) -> Iterator[tuple[Path, dict[str, str]]]:  # noqa: F811
    env = _workdir(tmp_path, demo_port)
    wsdl = httpx.get(f"http://127.0.0.1:{demo_port}/svc?wsdl", timeout=10)
    (tmp_path / "service.wsdl").write_bytes(wsdl.content)
    yield tmp_path, env


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_shell_block_runs(block: Block, workdir: tuple[Path, dict[str, str]], demo_port: int) -> None:  # noqa: F811
    cwd, env = workdir
    commands = block.commands()
    assert commands, block.id
    if all(_is_server(c) for c in commands):
        for c in commands:
            _serve(c, env, cwd, block.id)
        return
    script = block.text.replace("127.0.0.1:8000", f"127.0.0.1:{demo_port}")
    t0 = time.monotonic()
    r = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, (
        f"{block.id} (unmarked, so it must run; mark it with "
        f"<!-- docs-test: skip (why) --> if it cannot):\n{r.stdout}\n"
        f"{r.stderr}"
    )
    assert time.monotonic() - t0 < 180
    if block.output is not None:
        _expect(block.output, r.stderr + r.stdout, block.id)  # -v goes to stderr
