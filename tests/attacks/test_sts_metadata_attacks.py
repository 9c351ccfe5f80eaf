"""Attacks on following ``sp:Issuer`` and on `wssc sts`'s metadata.

Client side, the attacker is the service (a hostile HTTP server): its policy names an STS
whose metadata never ends (refused at the WSDL cap, the bytes read bounded), or an STS over
plain HTTP (the password is never sent there), or its WSDL comes over plain HTTP naming an STS
(not followed unless the STS's trust is pinned). Server side, a real `wssc sts`: a request that
names the WS-Transfer Get action only in a comment is not taken for a metadata Get (it needs a
sign-in, and is refused with the generic fault, the STS logging why), and an oversized Get is
refused before it is read."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from attack_kit import assert_generic_fault
from hostile_http import HostileHttp, endless
from lxml import etree

from servers import free_port
from wssc.bootstrap.registry import ServiceCredentials
from wssc.certs import generate_self_signed, save
from wssc.client import Client
from wssc.client.issuer import METADATA_BUDGET_BYTES
from wssc.demo import Calculator
from wssc.errors import ConfigurationError, IssuerMetadataUnavailable, IssuerNotTrusted
from wssc.policy.mex import GET_CONTENT_TYPE, get_request
from wssc.service.engine import ServiceEngine
from wssc.service.sts_metadata import sts_wsdl
from wssc.settings import Bootstrap, EndpointSettings, SecureConversationSettings
from wssc.xml import ns

PASSWORD = "s3cret-never-leaves"


def federated_wsdl(sts: str, metadata: str | None = None) -> bytes:
    """A calculator whose policy names ``sts`` (and its metadata) in sp:Issuer."""
    scs = SecureConversationSettings(
        bootstrap=Bootstrap.ISSUED_TOKEN, issuer_address=sts, issuer_metadata=metadata
    )
    cert = generate_self_signed()
    return ServiceEngine(
        Calculator(),
        settings=EndpointSettings(secure_conversation=scs),
        address="http://127.0.0.1:1/svc",
        credentials=ServiceCredentials(certificate=cert, trusted_issuers=(cert,), audiences=("urn:rp",)),
    ).wsdl()


def test_endless_sts_metadata_is_refused_at_the_cap(tmp_path: Path) -> None:
    """The mex Get and the GET of the same address share one budget; the peak of Python
    memory during the load stays under twice the one-document cap."""
    routes: dict[str, object] = {"/sts/mex": endless(), "/sts?wsdl": endless()}
    save(generate_self_signed("x"), tmp_path / "ca.pem", tmp_path / "ca.key")
    with HostileHttp(routes) as h:  # type: ignore[arg-type]
        # the STS's address is https (never reached); its metadata is the hostile server's
        h.routes["/svc?wsdl"] = federated_wsdl(h.url("/sts").replace("http:", "https:"), h.url("/sts/mex"))
        tracemalloc.start()
        try:
            with pytest.raises(IssuerMetadataUnavailable) as err:
                Client.from_wsdl(
                    h.url("/svc?wsdl"),
                    username="alice",
                    password=PASSWORD,
                    sts_verify=str(tmp_path / "ca.pem"),
                )
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert f"larger than {METADATA_BUDGET_BYTES} bytes in all" in str(err.value)
        assert h.requests == ["/svc?wsdl", "/sts/mex", "/sts/mex"]  # Get, then GET; ?wsdl is https
    assert peak < 2 * METADATA_BUDGET_BYTES, f"peak {peak} bytes for a {METADATA_BUDGET_BYTES} cap"
    assert all(PASSWORD.encode() not in body for body in h.posted)


def test_the_password_never_goes_to_a_plain_http_sts(tmp_path: Path) -> None:
    """The hostile service names an STS at http://; its metadata is well formed (an STS
    signing in with a username over its transport): the client refuses before the RST."""
    with HostileHttp({}) as h:
        sts = h.url("/sts")
        h.routes["/svc?wsdl"] = federated_wsdl(sts)
        h.routes["/sts?wsdl"] = etree.tostring(sts_wsdl(sts, ns.TRUST_V13))
        save(generate_self_signed("x"), tmp_path / "ca.pem", tmp_path / "ca.key")
        with pytest.raises(ConfigurationError, match="reached over HTTPS"):
            Client.from_wsdl(
                h.url("/svc?wsdl"), username="alice", password=PASSWORD, sts_verify=str(tmp_path / "ca.pem")
            )
        assert h.requests == ["/svc?wsdl", "/sts?wsdl"]
    assert h.posted == []


def test_an_issuer_named_over_plain_http_is_not_followed_unpinned() -> None:
    with HostileHttp({}) as h:
        h.routes["/svc?wsdl"] = federated_wsdl("https://evil.example/sts", "https://evil.example/mex")
        with pytest.raises(IssuerNotTrusted):
            Client.from_wsdl(h.url("/svc?wsdl"), username="alice", password=PASSWORD)
        assert h.requests == ["/svc?wsdl"]  # nothing fetched from the named STS


@dataclass
class RunningSts:
    url: str
    ctx: ssl.SSLContext
    log: Path

    def wait_log(self, text: str, since: int) -> str:
        deadline = time.monotonic() + 10
        while text not in (tail := self.log.read_text()[since:]):
            assert time.monotonic() < deadline, tail
            time.sleep(0.05)
        return tail


@pytest.fixture(scope="module")
def sts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSts]:
    home = tmp_path_factory.mktemp("sts-attacks")
    save(generate_self_signed("localhost"), home / "sts.pem", home / "sts.key")
    save(generate_self_signed("rp"), home / "rp.pem", home / "rp.key")
    (home / "users").write_text(f"alice:{PASSWORD}\n")
    port = free_port()
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", str(port)]
    cmd += ["--cert", str(home / "sts.pem"), "--key", str(home / "sts.key"), "--users", str(home / "users")]
    cmd += ["--relying-party-cert", f"https://rp.test/svc={home / 'rp.pem'}"]
    log = home / "sts.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"https://127.0.0.1:{port}/sts"
    ctx = ssl.create_default_context(cafile=str(home / "sts.pem"))
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "?wsdl", verify=ctx, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    try:
        yield RunningSts(url, ctx, log)
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_get_action_in_a_comment_does_not_skip_the_sign_in(sts: RunningSts) -> None:
    body = get_request(sts.url).replace(ns.MEX_GET_ACTION.encode(), ns.TRUST_13.encode() + b"/RST/Issue", 1)
    body = body.replace(b"<s:Body/>", b"<s:Body><!-- " + ns.MEX_GET_ACTION.encode() + b" --></s:Body>")
    assert ns.MEX_GET_ACTION.encode() in body
    since = len(sts.log.read_text())
    r = httpx.post(sts.url, content=body, headers={"content-type": GET_CONTENT_TYPE}, verify=sts.ctx)
    assert_generic_fault(r, "an unsigned RST dressed as a Get")
    assert b"Metadata" not in r.content
    tail = sts.wait_log("STS fault", since)
    assert "answered a metadata Get" not in tail


def test_an_oversized_get_is_refused_before_it_is_read(sts: RunningSts) -> None:
    padding = b"<!--" + b"x" * 70_000 + b"-->"
    body = get_request(sts.url).replace(b"<s:Body/>", b"<s:Body>" + padding + b"</s:Body>")
    r = httpx.post(sts.url, content=body, headers={"content-type": GET_CONTENT_TYPE}, verify=sts.ctx)
    assert r.status_code == 413 and b"Metadata" not in r.content


def test_a_genuine_get_gets_metadata_and_nothing_else(sts: RunningSts) -> None:
    r = httpx.post(
        sts.url, content=get_request(sts.url), headers={"content-type": GET_CONTENT_TYPE}, verify=sts.ctx
    )
    assert r.status_code == 200
    assert b"MetadataSection" in r.content
    for secret in (b"Assertion", b"BinarySecret", b"ComputedKey", PASSWORD.encode()):
        assert secret not in r.content
