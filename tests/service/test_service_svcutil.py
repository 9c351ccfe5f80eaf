"""``wssc svcutil``: the generated module is valid, typed Python that calls the service."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import httpx

from wssc.certs import Certificate, generate_self_signed
from wssc.client import Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp

CERT = generate_self_signed()
URL = "http://testserver/svc"


def test_generated_client_calls_the_service(tmp_path: Path) -> None:
    engine = ServiceEngine(Calculator(), address=URL, certificate=CERT)
    wsdl = tmp_path / "calc.wsdl"
    wsdl.write_bytes(engine.wsdl())
    out = tmp_path / "calc_client.py"
    proc = subprocess.run(
        [sys.executable, "-m", "wssc", "svcutil", str(wsdl), "-o", str(out), "--url", URL + "?wsdl"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    source = out.read_text()
    assert "def Add(self, a: int, b: int) -> int:" in source
    assert "def Echo(self, text: str) -> str:" in source
    assert "A Cancel (RST/SCT/Cancel) will be sent" in source  # the policy, explained
    # the module type-checks under mypy --strict
    check = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(out)], capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stdout
    spec = importlib.util.spec_from_file_location("calc_client", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    inner = Client(URL, get_contract(Calculator), http=http, service_certificate=Certificate(CERT.cert))
    with module.CalculatorClient(client=inner) as calc:
        assert calc.Add(2, 40) == 42
        assert calc.Echo("typed") == "typed"
    assert len(engine.sessions.store) == 0  # closed with a Cancel


def test_svcutil_on_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wssc", "svcutil", str(tmp_path / "nope.wsdl"), "-o", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot read") and "Traceback" not in proc.stderr
