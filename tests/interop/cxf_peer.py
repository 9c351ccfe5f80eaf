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
from pathlib import Path

import pytest
from metro_peer import PeerRun

from peers import REPO, in_ci

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


def run_cxf(main: str, *args: str, timeout: float = TIMEOUT) -> PeerRun:
    argv = ["java", "-cp", cxf_classpath(), main, *args]
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
