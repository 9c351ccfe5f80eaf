"""The documentation's Python examples run as written: service examples build their apps,
client examples (sync, async, zeep) call a live service, and the quick start's service, saved
as calc.py and run with uvicorn, answers the quick start's client."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import servers

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


README = DOCS.parent / "README.md"


def blocks() -> list[tuple[str, int, str]]:
    """The docs' Python blocks, and the README's (as page ``README.md``)."""
    out = []
    for page in [*sorted(DOCS.rglob("*.md")), README]:
        name = "README.md" if page == README else str(page.relative_to(DOCS))
        for i, m in enumerate(FENCE.finditer(page.read_text())):
            out.append((name, i, m.group(1)))
    return out


#: The bootstrap how-tos: test_docs_howto_bootstraps.py runs each top to bottom against its
#: own service (their clients need that service's bootstrap, not the demo's).
BOOTSTRAP_HOWTOS = {
    "howto/anonymous-for-certificate.md",
    "howto/username-for-certificate.md",
    "howto/certificate-over-transport.md",
}
ALL = [b for b in blocks() if b[0] not in BOOTSTRAP_HOWTOS]


def _free_port() -> int:
    """A free port of this test worker's own slice (`servers.free_port`)."""
    return servers.free_port()


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("did not start: " + log.read_text())


@pytest.fixture(scope="module")
def demo_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``wssc serve`` (the demo service: Add, Echo), as the docs' client examples expect."""
    home = tmp_path_factory.mktemp("docs-home")
    port = _free_port()
    log = home / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wssc", "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, WSSC_HOME=str(home)),
        )
    try:
        _wait(f"http://127.0.0.1:{port}/svc?wsdl", proc, log)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, WSSC_HOME=str(cwd / ".wssc")),
    )


def _is_client(code: str) -> bool:
    return "127.0.0.1:8000/svc?wsdl" in code


def _special(code: str) -> bool:
    """Examples with their own tests below: a generated module, a remote HTTPS host."""
    return "from calc_client import" in code or "https://calc.example.com/svc?wsdl" in code


def test_the_docs_have_examples() -> None:
    assert len(ALL) >= 10
    assert any("zeep" in page for page, _, _ in ALL)
    assert sum(page == "README.md" for page, _, _ in ALL) == 2


@pytest.mark.parametrize(
    ("page", "index", "code"),
    [b for b in ALL if not _is_client(b[2]) and not _special(b[2])],
    ids=[f"{p}#{i}" for p, i, c in ALL if not _is_client(c) and not _special(c)],
)
def test_service_and_settings_examples(page: str, index: int, code: str, tmp_path: Path) -> None:
    r = _run(code, tmp_path)
    assert r.returncode == 0, f"{page} example {index}:\n{r.stderr}"


@pytest.mark.parametrize(
    ("page", "index", "code"),
    [b for b in ALL if _is_client(b[2])],
    ids=[f"{p}#{i}" for p, i, c in ALL if _is_client(c)],
)
def test_client_examples(page: str, index: int, code: str, tmp_path: Path, demo_port: int) -> None:
    r = _run(code.replace("127.0.0.1:8000", f"127.0.0.1:{demo_port}"), tmp_path)
    assert r.returncode == 0, f"{page} example {index}:\n{r.stderr}"
    assert "5" in r.stdout or "[0, 2, 4, 6, 8]" in r.stdout, r.stdout


def test_quick_start_as_written(tmp_path: Path) -> None:
    quick = [c for p, _, c in ALL if p == "quickstart.md"]
    service, client = quick[0], quick[1]
    port = _free_port()
    (tmp_path / "calc.py").write_text(service.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    log = tmp_path / "uvicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "calc:app", "--port", str(port), "--log-level", "info"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/svc?wsdl", proc, log)
        r = _run(client.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "5"
    finally:
        proc.terminate()
        proc.wait(10)
    text = log.read_text()
    assert "issued SCT" in text and "cancelled SCT" in text, text  # as the quick start says


def _one(page: str, needle: str) -> str:
    found = [c for p, _, c in ALL if p == page and needle in c]
    assert len(found) == 1, (page, needle)
    return found[0]


def test_svcutil_example(tmp_path: Path, demo_port: int) -> None:
    url = f"http://127.0.0.1:{demo_port}/svc?wsdl"
    gen = subprocess.run(
        [sys.executable, "-m", "wssc", "svcutil", url, "-o", str(tmp_path / "calc_client.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gen.returncode == 0, gen.stderr
    r = _run(_one("howto/svcutil.md", "from calc_client import"), tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "5"


def test_username_over_transport_client_example(tmp_path: Path) -> None:
    """The client example against ``wssc serve --bootstrap username-over-transport`` (HTTPS with
    the development certificate, trusted through ``verify=`` as the page says)."""
    home = tmp_path / "home"
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wssc",
                "serve",
                "--bootstrap",
                "username-over-transport",
                "--port",
                str(port),
                "--user",
                "alice:correct horse battery staple",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, WSSC_HOME=str(home)),
        )
    try:
        ca = home / "dev-cert.pem"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if (
                    httpx.get(f"https://127.0.0.1:{port}/svc?wsdl", verify=False, timeout=2).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        code = _one("howto/username-over-transport.md", "https://calc.example.com/svc?wsdl")
        code = code.replace("https://calc.example.com", f"https://127.0.0.1:{port}")
        code = code.replace(
            'password="correct horse battery staple")',
            f'password="correct horse battery staple", verify={str(ca)!r})',
        )
        assert "verify=" in code
        r = _run(code, tmp_path)
        assert r.returncode == 0, r.stderr + log.read_text()
        assert r.stdout.strip() == "3"
    finally:
        proc.terminate()
        proc.wait(10)
