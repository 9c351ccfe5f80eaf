"""``wssc serve --bootstrap mutual-certificate``, ``wssc call`` with ``--client-cert`` and
``--client-key``, and ``wssc inspect`` naming the bootstrap in WCF's words."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from servers import Server, client_certificate
from wssc.certs import generate_self_signed, save

pytestmark = pytest.mark.e2e


def wssc(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wssc", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
        env=dict(os.environ, WSSC_HOME=str(home)),
    )


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_call_with_the_client_certificate(server: Callable[..., Server], binding: str) -> None:
    srv = server("--binding", binding, "--bootstrap", "mutual-certificate")
    cert, key = client_certificate(srv.home)
    p = wssc(
        srv.home, "call", "-v", srv.url, "Add", "2", "3", "--client-cert", str(cert), "--client-key", str(key)
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "5"
    p = wssc(srv.home, "inspect", srv.wsdl_url)
    assert p.returncode == 0, p.stderr
    assert "Bootstrap:       MutualCertificate" in p.stdout


def test_call_with_an_untrusted_certificate_fails_cleanly(
    server: Callable[..., Server], tmp_path: Path
) -> None:
    srv = server("--binding", "wshttp", "--bootstrap", "mutual-certificate")
    save(generate_self_signed("stranger"), tmp_path / "c.pem", tmp_path / "k.pem")
    p = wssc(
        srv.home,
        "call",
        srv.url,
        "Add",
        "2",
        "3",
        "--client-cert",
        str(tmp_path / "c.pem"),
        "--client-key",
        str(tmp_path / "k.pem"),
    )
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    assert "An error occurred when verifying security for the message." in p.stderr


def test_the_how_to_client_example_runs(server: Callable[..., Server], tmp_path: Path) -> None:
    """docs/howto/mutual-certificate.md's client, as written, against a MutualCertificate
    service that trusts the run's client certificate (its files in place of the page's)."""
    import re

    page = (Path(__file__).resolve().parents[2] / "docs/howto/mutual-certificate.md").read_text()
    (code,) = [c for c in re.findall(r"^```python\n(.*?)^```", page, re.S | re.M) if "Client.from_wsdl" in c]
    srv = server("--binding", "ws2007", "--bootstrap", "mutual-certificate")
    cert, key = client_certificate(srv.home)
    code = (
        code.replace("https://calc.example.com/svc?wsdl", srv.wsdl_url)
        .replace('"client-cert.pem"', repr(str(cert)))
        .replace('"client-key.pem"', repr(str(key)))
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "5"
