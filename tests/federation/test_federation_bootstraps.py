"""The bootstraps WCF's federation bindings build, end to end with a real ``wssc sts``:
IssuedTokenOverTransport (``TransportWithMessageCredential``) and IssuedTokenForCertificate
(``Message``, ``negotiateServiceCredential=false``). Each ``wssc serve`` names the STS in its
policy (``sp:Issuer`` with mex metadata); ``Client.from_wsdl`` and ``wssc call`` follow it,
sign in at the STS and call the service, with a secure session and without one, in both
families, with SAML 2.0 and (one cell each) SAML 1.1."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from servers import Server, free_port
from wssc.bootstrap.registry import settings_from_wsdl
from wssc.certs import generate_self_signed, save
from wssc.client import Client
from wssc.client.common import tls_verify
from wssc.settings import Bootstrap

pytestmark = pytest.mark.e2e

#: cell -> (bootstrap, binding, session, SAML version)
CELLS = {
    "ot-ws2007-session": ("issued-token-over-transport", "ws2007", True, "saml20"),
    "ot-wshttp-oneshot": ("issued-token-over-transport", "wshttp", False, "saml20"),
    "ot-wshttp-session-saml11": ("issued-token-over-transport", "wshttp", True, "saml11"),
    "ot-ws2007-oneshot-saml11": ("issued-token-over-transport", "ws2007", False, "saml11"),
    "fc-ws2007-session": ("issued-token-for-certificate", "ws2007", True, "saml20"),
    "fc-wshttp-oneshot": ("issued-token-for-certificate", "wshttp", False, "saml20"),
    "fc-wshttp-session-saml11": ("issued-token-for-certificate", "wshttp", True, "saml11"),
    "fc-ws2007-oneshot-saml11": ("issued-token-for-certificate", "ws2007", False, "saml11"),
    "ssl-ws2007-session": ("issued-token-for-ssl", "ws2007", True, "saml20"),
    "ssl-wshttp-oneshot-saml11": ("issued-token-for-ssl", "wshttp", False, "saml11"),
}
WCF_NAMES = {
    "issued-token-over-transport": Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT,
    "issued-token-for-certificate": Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE,
    "issued-token-for-ssl": Bootstrap.ISSUED_TOKEN_FOR_SSL,
}


@dataclass
class Federation:
    sts_url: str
    ca: str
    log: Path
    servers: dict[str, Server]

    def count(self, text: str) -> int:
        return self.log.read_text().count(text)

    def wait_count(self, text: str, n: int) -> None:
        deadline = time.monotonic() + 10
        while self.count(text) < n:
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.05)


def _serve_args(cell: str, sts_url: str, issuer_pem: Path) -> list[str]:
    bootstrap, binding, session, version = CELLS[cell]
    args = ["--bootstrap", bootstrap, "--binding", binding, "--issuer-cert", str(issuer_pem)]
    args += ["--sts-address", sts_url, "--sts-metadata", sts_url + "/mex"]
    if not session:
        args.append("--no-secure-context")
    if version == "saml11":
        args += ["--issued-token-type", "saml11"]
    return args


@pytest.fixture(scope="module")
def fed(server: Callable[..., Server], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    home = tmp_path_factory.mktemp("fedbind")
    save(generate_self_signed("localhost"), home / "sts.pem", home / "sts.key")
    port = free_port()
    sts_url = f"https://127.0.0.1:{port}/sts"
    servers = {cell: server(*_serve_args(cell, sts_url, home / "sts.pem")) for cell in CELLS}
    (home / "users").write_text("alice:secret\n")
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", str(port)]
    cmd += ["--cert", str(home / "sts.pem"), "--key", str(home / "sts.key"), "--users", str(home / "users")]
    for srv in servers.values():
        cmd += ["--relying-party-cert", f"{srv.url}={srv.home / 'dev-cert.pem'}"]
    log = home / "sts.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    ctx = ssl.create_default_context(cafile=str(home / "sts.pem"))
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(sts_url + "?wsdl", verify=ctx, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    try:
        yield Federation(sts_url, str(home / "sts.pem"), log, servers)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_client_follows_the_issuer_and_calls(fed: Federation, cell: str) -> None:
    bootstrap, _, session, version = CELLS[cell]
    srv = fed.servers[cell]
    wsdl = httpx.get(srv.wsdl_url, verify=tls_verify(srv.verify)).content
    imported = settings_from_wsdl(wsdl).settings
    assert imported.bootstrap == WCF_NAMES[bootstrap]
    assert imported.issuer_address == fed.sts_url
    issued_line = f"issued a SAML {'1.1' if version == 'saml11' else '2.0'} token to alice"
    before = fed.count(issued_line)
    events: list[str] = []
    client = Client.from_wsdl(
        srv.wsdl_url,
        username="alice",
        password="secret",
        sts_verify=fed.ca,
        verify=srv.verify,
        on_event=lambda e, d: events.append(e),
    )
    assert client.session.scs.bootstrap == WCF_NAMES[bootstrap]
    with client:
        assert client.call("Add", a=2, b=3) == 5
        if session:  # a Renew as WCF sends it (over TLS: under the SCT; else the bootstrap's too)
            client.renew()
        assert client.Echo(text="héllo") == "héllo"
    assert events.count("issue") == (1 if session else 0)
    assert events.count("renew") == (1 if session else 0)
    fed.wait_count(issued_line, before + 1)


def test_wssc_call_follows_the_issuer(fed: Federation) -> None:
    srv = fed.servers["ot-ws2007-session"]
    out = subprocess.run(
        [
            *(sys.executable, "-m", "wssc", "call", srv.url, "Add", "20", "22"),
            *("--username", "alice", "--password", "secret", "--sts-cafile", fed.ca),
            *("--cafile", str(srv.verify)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"


@pytest.mark.parametrize("bootstrap", sorted({v[0] for v in CELLS.values()}))
def test_inspect_names_the_bootstrap_in_wcf_words(fed: Federation, bootstrap: str) -> None:
    cell = next(c for c, v in CELLS.items() if v[0] == bootstrap)
    srv = fed.servers[cell]
    tls = ["--cafile", str(srv.verify)] if srv.url.startswith("https") else []
    out = subprocess.run(
        [sys.executable, "-m", "wssc", "inspect", srv.wsdl_url, *tls],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert WCF_NAMES[bootstrap].value in out.stdout
    assert "STS:" in out.stdout and fed.sts_url in out.stdout
