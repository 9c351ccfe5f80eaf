"""Drive the Apache CXF peer in ``interop/cxf`` (CXF 4.2.3, WSS4J underneath, its defaults).

The peer is built by ``scripts/setup.sh`` (``mvn -q -B package``) into ``interop/cxf/target``
(override with ``WSSC_CXF_BUILD``). Each Java program prints one line ``RESULT {json}`` and
exits 0 (ok), 1 (the other side answered with a SOAP fault) or 2 (anything else); a run whose
exit code disagrees with its RESULT, or without exactly one RESULT line, fails the test as a
crash. The wssc services and the log reading are Metro's (``metro_peer``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from metro_peer import PeerRun, _await_wsdl, free_port

from java_launch import java_argv
from peers import REPO, in_ci
from wssc.client.common import tls_verify

TIMEOUT = 120


def cxf_build_dir() -> Path:
    env = os.environ.get("WSSC_CXF_BUILD")
    return Path(env) if env else REPO / "interop" / "cxf" / "target"


def cxf_missing(what: str) -> None:
    """The CXF peer cannot run: an error under CI=true, else a loud skip."""
    if in_ci():
        pytest.fail(f"{what} (CI=true: scripts/setup.sh must build the CXF peer)")
    pytest.skip(f"!!! {what}; CXF interop NOT tested (run scripts/setup.sh) !!!")


def cxf_classpath() -> str:
    build = cxf_build_dir()
    classes, lib = build / "classes", build / "lib"
    if not (classes / "wssc" / "cxf" / "CxfClient.class").is_file():
        cxf_missing(f"CXF peer not built: {classes}/wssc/cxf/CxfClient.class is missing")
    if not any(lib.glob("cxf-rt-ws-security-*.jar")):
        cxf_missing(f"CXF peer libraries missing in {lib}")
    if shutil.which("java") is None:
        cxf_missing("java is not on PATH")
    return f"{classes}{os.pathsep}{lib}{os.sep}*"


def cxf_argv(main: str, *args: str) -> list[str]:
    """The java argv of one of the CXF peer's programs (checked built; see ``java_launch``)."""
    cxf_classpath()
    return java_argv(main, *args, peer=("cxf", cxf_build_dir()))


def run_cxf(main: str, *args: str, timeout: float = TIMEOUT) -> PeerRun:
    argv = cxf_argv(main, *args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    run = PeerRun(argv, p.returncode, p.stdout, p.stderr)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if len(lines) != 1:
        pytest.fail(f"the CXF peer crashed (no single RESULT line):\n{run.explain()}\n{p.stdout}")
    run.result = json.loads(lines[0][len("RESULT ") :])
    expected_rc = 0 if run.ok else (1 if run.fault else 2)
    if p.returncode != expected_rc or not isinstance(run.result.get("ok"), bool):
        pytest.fail(f"the CXF peer's exit code disagrees with its result:\n{run.explain()}")
    return run


# --- the CXF service (wssc.cxf.CxfService) -------------------------------------------------------
@dataclass
class CxfService:
    """A running ``wssc.cxf.CxfService``. Its verdict is a ``RESULT {json}`` line that it prints
    for each ``REPORT`` line on its stdin (what CXF did since the last report), and once more,
    for its whole run, when its stdin closes; it then exits 0, or 2 when its own code failed."""

    url: str
    cert_pem: Path
    out_path: Path
    err_path: Path
    proc: subprocess.Popen[bytes]
    reports: int = 0

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    def _results(self) -> list[dict[str, Any]]:
        lines = self.out_path.read_text(errors="replace").splitlines()
        return [json.loads(ln[len("RESULT ") :]) for ln in lines if ln.startswith("RESULT ")]

    def stderr_tail(self, n: int = 60) -> str:
        return "\n".join(self.err_path.read_text(errors="replace").splitlines()[-n:])

    def report(self, timeout: float = 15.0) -> dict[str, Any]:
        """CXF's verdict on what it did since the last report (polled, with a deadline)."""
        assert self.proc.stdin is not None and self.proc.poll() is None, self.stderr_tail()
        self.proc.stdin.write(b"REPORT\n")
        self.proc.stdin.flush()
        self.reports += 1
        deadline = time.monotonic() + timeout
        while len(results := self._results()) < self.reports:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"the CXF service gave no verdict:\n{self.stderr_tail()}")
            time.sleep(0.02)
        verdict = results[self.reports - 1]
        assert isinstance(verdict.get("ok"), bool), verdict
        return verdict

    def stop(self) -> dict[str, Any]:
        """Close its stdin: its verdict on the whole run, checked against its exit code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"the CXF service did not stop:\n{self.stderr_tail()}")
        results = self._results()
        if len(results) != self.reports + 1 or not results[-1].get("final"):
            pytest.fail(f"the CXF service crashed (no final RESULT), rc={rc}:\n{self.stderr_tail()}")
        verdict = results[-1]
        if rc != (0 if verdict["ok"] else 2):
            pytest.fail(f"the CXF service's exit code {rc} disagrees with its verdict {verdict}")
        return verdict


def start_cxf_service(home: Path, *args: str, path: str = "/svc") -> CxfService:
    """``args``: CxfService's flags (``--binding``, ``--bootstrap``, ``--no-derived-keys``,
    ``--suite``, ``--sc-lifetime-ms``…). The key pair is wssc's dev certificate in ``home``.
    ``path``: the endpoint whose WSDL says it is up (``/svc/<suite>`` under ``--suites``)."""
    from wssc.certs import dev_certificate

    _, cert, key = dev_certificate(home)
    port = free_port()
    out_path, err_path = home / f"cxf-{port}.out", home / f"cxf-{port}.err"
    argv = cxf_argv("wssc.cxf.CxfService", "--port", str(port), "--cert", str(cert), "--key", str(key))
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([*argv, *args], stdout=out, stderr=err, stdin=subprocess.PIPE)
    scheme = "https" if "unot" in args or "cot" in args else "http"
    svc = CxfService(f"{scheme}://127.0.0.1:{port}{path}", Path(cert), out_path, err_path, proc)
    _await_wsdl(
        proc,
        svc.wsdl_url,
        lambda: tls_verify(str(cert)) if scheme == "https" else True,
        "the CXF service",
        svc.stderr_tail,
        timeout=60,
        interval=0.2,
        request_timeout=5,
        ready=lambda: "LISTENING" in out_path.read_text(errors="replace"),
    )
    return svc
