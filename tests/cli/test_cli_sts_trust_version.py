"""``wssc sts --trust feb2005``: the STS's endpoint and metadata in WS-Trust February 2005
(wsFederationHttpBinding's family), and 1.3 by default. Metro's client talks to the STS in
the relying party's WS-Trust version (interop/metro FINDINGS M16)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from servers import free_port
from wssc.certs import generate_self_signed, save
from wssc.xml import ns


def wsdl_of_sts(home: Path, *extra: str) -> str:
    save(generate_self_signed("localhost"), home / "sts.pem", home / "sts.key")
    save(generate_self_signed("rp.test"), home / "rp.pem", home / "rp.key")
    (home / "users").write_text("alice:secret\n")
    port = free_port()
    cmd = [sys.executable, "-m", "wssc", "sts", "--port", str(port), "--users", str(home / "users")]
    cmd += ["--cert", str(home / "sts.pem"), "--key", str(home / "sts.key"), *extra]
    cmd += ["--relying-party-cert", f"https://rp.test/svc={home / 'rp.pem'}"]
    log = home / "sts.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    ctx = ssl.create_default_context(cafile=str(home / "sts.pem"))
    deadline = time.monotonic() + 30
    try:
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                r = httpx.get(f"https://127.0.0.1:{port}/sts?wsdl", verify=ctx, timeout=2)
                if r.status_code == 200:
                    return r.text
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    ("extra", "port_type", "trust", "sp"),
    [
        ((), "IWSTrust13Sync", ns.TRUST_13, ns.SP12),
        (("--trust", "feb2005"), "IWSTrustFeb2005Sync", ns.TRUST_2005, ns.SP11),
    ],
    ids=["default-1.3", "feb2005"],
)
def test_trust_version_of_the_endpoint(
    tmp_path: Path, extra: tuple[str, ...], port_type: str, trust: str, sp: str
) -> None:
    text = wsdl_of_sts(tmp_path, *extra)
    assert f'name="{port_type}"' in text
    assert f"{trust}/RST/Issue" in text
    assert sp in text
