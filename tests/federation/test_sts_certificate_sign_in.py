"""Signing in to `wssc sts` with a client certificate (ADFS's ``certificatemixed``, WCF's
CertificateOverTransport): ``wssc sts --client-ca`` accepts it at ``PATH/certificatemixed`` and
publishes that port beside the username one; `wssc serve --bootstrap issued-token` takes the
token; ``StsExchange(client_certificate=)``, ``wssc call --sts-client-cert`` and
``Client.from_wsdl`` following ``sp:Issuer`` with ``ClientCredentials(certificate=)`` obtain it,
in both families. Refused: a certificate the STS does not trust, and a certificate sign-in to
an STS configured without ``--client-ca``: the generic fault on the wire, the reason logged."""

from __future__ import annotations

import datetime
import logging
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from core.pki import issue
from servers import Server, free_port
from wssc.bootstrap.base import TransportInfo
from wssc.bootstrap.registry import ClientCredentials, certificate_over_tls, settings_from_wsdl
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import AsyncClient, Client
from wssc.client.issuer import IssuerPlan, choose_endpoint
from wssc.client.sts import StsExchange, request_token
from wssc.errors import ConfigurationError, WsscError
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.security.x509_validation import CertificateValidator
from wssc.service.sts import SecurityTokenService
from wssc.service.sts_metadata import CERTIFICATE_SUFFIX, names, sts_wsdl
from wssc.xml import ns

DAY = datetime.timedelta(days=1)
INVALID_SECURITY = "An error occurred when verifying security for the message."


@dataclass
class Sts:
    url: str
    ca: str  # the STS's own (HTTPS) certificate, to trust
    log: Path

    @property
    def certificate_url(self) -> str:
        return self.url + CERTIFICATE_SUFFIX

    def wait_log(self, text: str, since: int = 0) -> None:
        deadline = time.monotonic() + 10
        while text not in self.log.read_text()[since:]:
            assert time.monotonic() < deadline, self.log.read_text()[since:]
            time.sleep(0.05)


@dataclass
class Pki:
    ca_pem: Path
    client: Certificate  # issued by the CA, with its key
    client_pem: Path
    client_key: Path
    subject: str


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    home = tmp_path_factory.mktemp("client-pki")
    now = datetime.datetime.now(datetime.UTC)
    ca = issue("STS Client CA", None, ca=True, not_before=now - DAY, not_after=now + DAY)
    leaf = issue("alice.example", ca, not_before=now - DAY, not_after=now + DAY)
    (home / "ca.pem").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    save(leaf.certificate, home / "client.pem", home / "client.key")
    return Pki(
        home / "ca.pem",
        leaf.certificate,
        home / "client.pem",
        home / "client.key",
        leaf.cert.subject.rfc4514_string(),
    )


@dataclass
class Federation:
    keys: Path  # the STS's certificate and key (it signs the assertions and serves HTTPS)
    services: dict[str, Server]  # the relying parties, one per family, naming the STS


@pytest.fixture(scope="module")
def fed(server: Callable[..., Server], tmp_path_factory: pytest.TempPathFactory) -> Federation:
    keys = tmp_path_factory.mktemp("sts-keys")
    save(generate_self_signed("localhost"), keys / "sts.pem", keys / "sts.key")
    port = free_port()
    (keys / "port").write_text(str(port))
    url = f"https://127.0.0.1:{port}/sts"
    services = {
        binding: server(
            *("--binding", binding, "--bootstrap", "issued-token", "--issuer-cert", str(keys / "sts.pem")),
            *("--sts-address", url, "--sts-metadata", url),
        )
        for binding in ("wshttp", "ws2007")
    }
    return Federation(keys, services)


def _run_sts(fed: Federation, home: Path, port: str, *extra: str) -> Iterator[Sts]:
    """``wssc sts`` on ``port`` for ``fed``'s services, with ``extra`` arguments."""
    url = f"https://127.0.0.1:{port}/sts"
    (home / "users").write_text("bob:secret\n")
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", port]
    cmd += ["--cert", str(fed.keys / "sts.pem"), "--key", str(fed.keys / "sts.key")]
    cmd += ["--users", str(home / "users")]
    for srv in fed.services.values():
        cmd += ["--relying-party-cert", f"{srv.url}={srv.home / 'dev-cert.pem'}"]
    log = home / "sts.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([*cmd, *extra], stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    ctx = ssl.create_default_context(cafile=str(fed.keys / "sts.pem"))
    deadline = time.monotonic() + 30
    try:
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url + "?wsdl", verify=ctx, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield Sts(url, str(fed.keys / "sts.pem"), log)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def sts(fed: Federation, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sts]:
    """The STS at the address the services name, trusting the client CA."""
    home = tmp_path_factory.mktemp("sts")
    yield from _run_sts(fed, home, (fed.keys / "port").read_text(), "--client-ca", str(pki.ca_pem))


@pytest.fixture(scope="module")
def username_only_sts(fed: Federation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sts]:
    """An STS configured without --client-ca or --trust-client-cert."""
    home = tmp_path_factory.mktemp("sts-username-only")
    yield from _run_sts(fed, home, str(free_port()))


def _token(sts: Sts, srv: Server, cert: Certificate) -> object:
    exchange = StsExchange.new(sts.certificate_url, srv.url, client_certificate=cert)
    return request_token(exchange, verify=sts.ca, timeout=30)


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_certificate_sign_in_then_a_session_and_a_call(
    fed: Federation, sts: Sts, pki: Pki, binding: str
) -> None:
    srv = fed.services[binding]
    since = len(sts.log.read_text())
    token = _token(sts, srv, pki.client)
    events: list[str] = []
    client = Client.from_wsdl(
        srv.wsdl_url,
        credentials=ClientCredentials(issued_token=token),  # type: ignore[arg-type]
        on_event=lambda e, d: events.append(e),
    )
    with client:
        assert client.call("Add", a=2, b=3) == 5
    assert events.count("issue") == 1  # a secure session, bootstrapped by the token
    # the identity (the assertion's subject) is the client certificate's subject
    sts.wait_log(f"issued a SAML 2.0 token to {pki.subject}", since)
    assert pki.subject.encode() in etree.tostring(token.assertion)  # type: ignore[attr-defined]


def test_wssc_call_signs_in_to_the_sts_with_a_certificate(fed: Federation, sts: Sts, pki: Pki) -> None:
    srv = fed.services["ws2007"]
    out = subprocess.run(
        [
            *(sys.executable, "-m", "wssc", "call", srv.url, "Add", "20", "22", "--sts", sts.certificate_url),
            *("--sts-client-cert", str(pki.client_pem), "--sts-client-key", str(pki.client_key)),
            *("--sts-cafile", sts.ca),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"


def test_wssc_call_follows_the_issuer_with_a_certificate(fed: Federation, sts: Sts, pki: Pki) -> None:
    """No --sts: the STS the policy names, its certificate port from its metadata."""
    srv = fed.services["wshttp"]
    since = len(sts.log.read_text())
    out = subprocess.run(
        [
            *(sys.executable, "-m", "wssc", "call", srv.url, "Add", "40", "2"),
            *("--sts-client-cert", str(pki.client_pem), "--sts-client-key", str(pki.client_key)),
            *("--sts-cafile", sts.ca),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"
    sts.wait_log(f"issued a SAML 2.0 token to {pki.subject}", since)


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_following_the_issuer_picks_the_certificate_port(
    fed: Federation, sts: Sts, pki: Pki, binding: str
) -> None:
    """``sp:Issuer`` names the username port's address; given a client certificate the
    client takes the STS's certificate port (its own address) from the STS's metadata."""
    srv = fed.services[binding]
    since = len(sts.log.read_text())
    client = Client.from_wsdl(
        srv.wsdl_url, credentials=ClientCredentials(certificate=pki.client), sts_verify=sts.ca
    )
    with client:
        assert client.call("Add", a=1, b=2) == 3
    sts.wait_log(f"issued a SAML 2.0 token to {pki.subject}", since)


def test_the_metadata_publishes_both_ports(sts: Sts) -> None:
    wsdl = httpx.get(sts.url + "?wsdl", verify=ssl.create_default_context(cafile=sts.ca)).content
    ep = settings_from_wsdl(wsdl, port=names(ns.TRUST_V13, certificate=True)[2])
    assert ep.settings.bootstrap == certificate_over_tls().key
    assert not ep.settings.establish_security_context
    assert ep.address == sts.certificate_url
    assert settings_from_wsdl(wsdl, port=names(ns.TRUST_V13)[2]).address == sts.url


@pytest.mark.parametrize("trust", [ns.TRUST_V13, ns.TRUST_FEB2005], ids=["1.3", "feb2005"])
def test_the_certificate_port_in_each_family(trust: ns.TrustVersion) -> None:
    root = sts_wsdl(
        "https://sts.test/sts", trust, certificate_address="https://sts.test/sts/certificatemixed"
    )
    ep = settings_from_wsdl(root, port=names(trust, certificate=True)[2])
    assert ep.settings.bootstrap == certificate_over_tls().key
    assert ep.settings.message_security_version.sc.trust.ns == trust.ns
    plan = IssuerPlan("https://sts.test/sts", None, "https://rp.test/")
    # a username picks the port at the issuer's address; a client certificate its own port
    assert choose_endpoint(etree.tostring(root), plan).address == "https://sts.test/sts"
    with_cert = replace(plan, client_certificate=generate_self_signed("c.test"))
    assert choose_endpoint(etree.tostring(root), with_cert).address == "https://sts.test/sts/certificatemixed"


def test_without_client_ca_only_the_username_port_is_published(username_only_sts: Sts) -> None:
    ctx = ssl.create_default_context(cafile=username_only_sts.ca)
    wsdl = httpx.get(username_only_sts.url + "?wsdl", verify=ctx).content
    assert names(ns.TRUST_V13, certificate=True)[2].encode() not in wsdl
    with pytest.raises(ConfigurationError):
        settings_from_wsdl(wsdl, port=names(ns.TRUST_V13, certificate=True)[2])


def _refused(sts: Sts, srv: Server, cert: Certificate) -> tuple[str, str]:
    """The fault an STS answers a certificate sign-in with: (code, reason)."""
    exchange = StsExchange.new(sts.certificate_url, srv.url, client_certificate=cert)
    r = httpx.post(
        exchange.address,
        content=exchange.request(time.time()),
        headers={
            "content-type": 'application/soap+xml; charset=utf-8; action="' + ns.TRUST_V13.rst_issue + '"'
        },
        verify=ssl.create_default_context(cafile=sts.ca),
    )
    assert r.status_code == 500
    root = etree.fromstring(r.content)
    code = root.findtext(f".//{{{ns.SOAP12}}}Subcode/{{{ns.SOAP12}}}Value") or ""
    reason = root.findtext(f".//{{{ns.SOAP12}}}Text") or ""
    with pytest.raises(WsscError):
        request_token(exchange, verify=sts.ca, timeout=30)
    return code, reason


def test_an_untrusted_client_certificate_is_refused(fed: Federation, sts: Sts) -> None:
    stranger = generate_self_signed("mallory.example")
    since = len(sts.log.read_text())
    code, reason = _refused(sts, fed.services["ws2007"], stranger)
    assert code.endswith(":InvalidSecurity") and reason == INVALID_SECURITY
    sts.wait_log("ChainTrust: the certificate 'CN=mallory.example' was refused", since)
    assert "issued a SAML" not in sts.log.read_text()[since:]


def test_a_certificate_sign_in_to_an_sts_without_client_ca_is_refused(
    fed: Federation, username_only_sts: Sts, pki: Pki
) -> None:
    since = len(username_only_sts.log.read_text())
    code, reason = _refused(username_only_sts, fed.services["ws2007"], pki.client)
    assert code.endswith(":InvalidSecurity") and reason == INVALID_SECURITY
    username_only_sts.wait_log("this STS trusts no client certificate", since)
    assert "issued a SAML" not in username_only_sts.log.read_text()[since:]


def test_the_client_certificate_needs_its_key(pki: Pki) -> None:
    with pytest.raises(ConfigurationError, match="private key"):
        StsExchange.new(
            "https://sts.test/sts", "https://rp.test/", client_certificate=Certificate(pki.client.cert)
        )
    with pytest.raises(ConfigurationError, match="HTTPS"):
        request_token(
            StsExchange.new("http://sts.test/sts", "https://rp.test/", client_certificate=pki.client)
        )


# --- sans-IO: each address takes its own sign-in only -----------------------------------------
RP = "https://rp.test/service"
TLS = TransportInfo(secure=True, peer="127.0.0.1")


def _sts(sts_cert: Certificate, rp_cert: Certificate, pki: Pki) -> SecurityTokenService:
    return SecurityTokenService(
        signer=sts_cert,
        issuer="https://sts.test/",
        relying_parties={RP: rp_cert},
        validator=lambda user, password: user == "bob" and password == "secret",
        client_certificate_validator=CertificateValidator.chain_trust(pki.ca_pem),
    )


def _answer(
    sts: SecurityTokenService,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
    *,
    certificate: bool,
    transport: TransportInfo = TLS,
) -> tuple[int, bytes, str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        status, _, out = sts.handle(body, transport, certificate=certificate)
    return status, out, caplog.text


def test_sans_io_certificate_sign_in(
    sts_cert: Certificate, rp_cert: Certificate, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    sts = _sts(sts_cert, rp_cert, pki)
    ex = StsExchange.new("https://sts.test/sts/certificatemixed", RP, client_certificate=pki.client)
    status, out, log = _answer(sts, ex.request(), caplog, certificate=True)
    assert status == 200, log
    token = ex.read(out)
    rp = IssuedTokenValidator(issuers=(sts_cert,), audiences=(RP,), relying_party=rp_cert)
    assert rp.validate(token.assertion, time.time()).assertion.subject == pki.subject


def test_each_address_takes_its_own_sign_in_only(
    sts_cert: Certificate, rp_cert: Certificate, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    """A certificate-signed RST at the username address, a UsernameToken at the certificate
    address, and a certificate sign-in over plain HTTP: refused, generically, each logged."""
    sts = _sts(sts_cert, rp_cert, pki)
    by_cert = StsExchange.new("https://sts.test/sts", RP, client_certificate=pki.client).request()
    by_name = StsExchange.new("https://sts.test/sts", RP, "bob", "secret").request()
    plain = TransportInfo(secure=False, peer="127.0.0.1")
    cases = [
        (by_cert, False, TLS, "no trusted certification authority is configured"),
        (by_name, True, TLS, "the message is not signed"),
        (by_cert, True, plain, "CertificateOverTransport requires HTTPS"),
    ]
    for body, certificate, transport, logged in cases:
        status, out, log = _answer(sts, body, caplog, certificate=certificate, transport=transport)
        assert status == 500 and b"InvalidSecurity" in out and b"issued" not in out
        assert INVALID_SECURITY.encode() in out
        assert "STS fault" in log and logged in log, log
        assert "issued a SAML" not in log


async def test_async_client_follows_the_issuer_with_a_certificate(
    fed: Federation, sts: Sts, pki: Pki
) -> None:
    srv = fed.services["ws2007"]
    client = await AsyncClient.from_wsdl(
        srv.wsdl_url, credentials=ClientCredentials(certificate=pki.client), sts_verify=sts.ca
    )
    async with client:
        assert await client.call("Add", a=40, b=2) == 42


def test_the_cli_takes_chain_or_peer_trust_not_both(pki: Pki, tmp_path: Path) -> None:
    save(generate_self_signed("localhost"), tmp_path / "sts.pem", tmp_path / "sts.key")
    (tmp_path / "users").write_text("bob:secret\n")
    out = subprocess.run(
        [
            *(sys.executable, "-m", "wssc", "sts", "--cert", str(tmp_path / "sts.pem")),
            *("--key", str(tmp_path / "sts.key"), "--users", str(tmp_path / "users")),
            *("--relying-party-cert", f"{RP}={tmp_path / 'sts.pem'}", "--port", str(free_port())),
            *("--client-ca", str(pki.ca_pem), "--trust-client-cert", str(pki.client_pem)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "not both" in out.stderr
