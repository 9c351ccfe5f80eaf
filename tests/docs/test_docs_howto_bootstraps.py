"""The bootstrap how-tos run as written, each page top to bottom in one folder:

- ``xml``: the WCF binding configuration: well-formed, and it names the page's WCF settings;
- ``python``: run (the service examples build their apps; the client examples call the page's
  service and print 5);
- ``sh`` with ``wssc serve``: the page's service, started in the background until the end;
- any other ``sh``: run in bash; it must succeed, or fail where its ``docs-test`` marker says
  "it fails"; a ``text`` block right after is its expected output (``…`` matches anything);
- a ``text`` block after prose that shows a ``wssc.service`` line: the service's log must come
  to hold it (polled, with a deadline).

``127.0.0.1:8000`` and ``--port 8000`` are the page's service: a free port here. The generic
docs tests (test_docs_commands.py, test_docs_examples.py) leave these pages' blocks to this
module (their ``sh`` blocks are synopses there, options checked against ``--help``).
"""

from __future__ import annotations

import os
import re
import shlex
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree
from tests.docs.test_docs_commands import FENCE, MARKER, ROOT, _expect, _shims
from tests.docs.test_docs_examples import BOOTSTRAP_HOWTOS, _free_port

#: Each page, and what its WCF configuration must say.
PAGES = {
    "howto/anonymous-for-certificate.md": (
        'clientCredentialType="None"',
        'negotiateServiceCredential="false"',
    ),
    "howto/username-for-certificate.md": (
        'clientCredentialType="UserName"',
        'negotiateServiceCredential="false"',
    ),
    "howto/certificate-over-transport.md": (
        'mode="TransportWithMessageCredential"',
        'clientCredentialType="Certificate"',
    ),
}


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    text: str
    reason: str  # the docs-test marker's, "" without one
    after_block: bool  # right after the previous block, nothing between


def blocks(page: str) -> list[Block]:
    text = (ROOT / "docs" / page).read_text()
    out: list[Block] = []
    prev_end = None
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mk = MARKER.search(before)
        adjacent = prev_end is not None and not text[prev_end : m.start()].strip()
        out.append(
            Block(
                text[: m.start()].count("\n") + 1, m.group(1), m.group(2), mk.group(2) if mk else "", adjacent
            )
        )
        prev_end = m.end()
    return out


def test_the_pages_are_the_ones_the_generic_tests_leave_out_and_in_the_nav() -> None:
    assert set(PAGES) == BOOTSTRAP_HOWTOS
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in PAGES:
        assert f" {page}" in nav, page
        kinds = {b.lang for b in blocks(page)}
        assert {"xml", "python", "sh", "text"} <= kinds, (page, kinds)


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], list[Service]]]:
    _shims(tmp_path / "bin")
    env = dict(
        os.environ,
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        WSSC_HOME=str(tmp_path / ".wssc-home"),
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    services: list[Service] = []
    yield tmp_path, env, services
    for s in services:
        s.proc.terminate()
        s.proc.wait(15)


def _start(cmd: str, port: int, cwd: Path, env: dict[str, str], where: str) -> Service:
    log = cwd / f"service-{port}.log"
    argv = shlex.split(re.sub(r"\\\n\s*", " ", cmd), comments=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    tls = "certificate-over-transport" in cmd
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/svc?wsdl"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"{where}: `{cmd}` exited:\n{log.read_text()}"
        ca = cwd / "dev-cert.pem"  # made by the service as it starts
        try:
            if not tls or ca.exists():
                verify = ssl.create_default_context(cafile=str(ca)) if tls else True
                if httpx.get(url, verify=verify, timeout=2).status_code == 200:
                    return Service(proc, log)
        except (httpx.HTTPError, ssl.SSLError):
            pass
        assert time.monotonic() < deadline, f"{where}: `{cmd}` did not serve:\n{log.read_text()}"
        time.sleep(0.1)


def _wait_log(service: Service, expected: str, where: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            _expect(expected, service.log.read_text(errors="replace"), where)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_page_runs_as_written(page: str, folder: tuple[Path, dict[str, str], list[Service]]) -> None:
    cwd, env, services = folder
    port = _free_port()
    items = blocks(page)
    ran = {"python": 0, "sh": 0, "log": 0, "fails": 0}
    for k, b in enumerate(items):
        where = f"{page}:{b.line}"
        code = b.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("--port 8000", f"--port {port}")
        nxt = items[k + 1] if k + 1 < len(items) else None
        expected = nxt.text if nxt is not None and nxt.lang == "text" and nxt.after_block else None
        if b.lang == "xml":
            config = etree.fromstring(b.text.encode())
            for setting in PAGES[page]:
                assert setting in b.text, (where, setting)
            assert config.find(".//security") is not None, where
        elif b.lang == "python":
            r = subprocess.run(
                [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
            )
            assert r.returncode == 0, f"{where}:\n{r.stderr}"
            if "Add(a=2, b=3)" in code:
                assert r.stdout.strip() == "5", (where, r.stdout)
            ran["python"] += 1
        elif b.lang == "sh" and code.startswith("wssc serve "):
            assert not services, f"{where}: one service a page"
            services.append(_start(code, port, cwd, env, where))
        elif b.lang == "sh":
            r = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            fails = "it fails" in b.reason
            assert (r.returncode != 0) is fails, f"{where} (rc {r.returncode}):\n{r.stdout}\n{r.stderr}"
            assert "Traceback" not in r.stderr, where
            if expected is not None:
                _expect(expected, r.stdout + r.stderr, where)
            ran["sh"] += 1
            ran["fails"] += fails
        elif b.lang == "text" and not b.after_block:
            assert "wssc.service" in b.text, f"{where}: a text block after prose is a service log line"
            assert services, f"{where}: a log line before the page's service"
            _wait_log(services[0], b.text, where)
            ran["log"] += 1
    # a service, a client in Python (sync) and zeep, wssc call, a refusal, its log line
    assert services and ran["python"] >= 2 and ran["sh"] >= 2 and ran["fails"] == 1 and ran["log"] == 1, ran
