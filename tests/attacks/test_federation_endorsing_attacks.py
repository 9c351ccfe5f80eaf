"""Issue 16: attacks on the federation bindings' bootstraps, in which the issued token
*endorses* the message: a real ``wssc serve --bootstrap issued-token-for-certificate`` (the
service's X.509 protects, WS2007, no session) and ``--bootstrap issued-token-over-transport``
(HTTPS, WSHTTP, no session), each trusting one STS certificate.

Refused, each with the generic fault on the wire and the check that refused in the service
log: a message protected by the EncryptedKey (or sent over TLS) that carries a genuine issued
token but no signature by its proof key; a message endorsed by another key than the token's
proof key; an assertion from an untrusted issuer. A valid token is accepted by the same server
(the control), so each refusal is that one check's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from attack_kit import app_envelope, assert_refused_by, log_mark, post, read_fault_bytes, saml_token
from lxml import etree

from servers import Server
from wssc.bootstrap.anonymous_for_certificate import AnonymousForCertificateClient
from wssc.bootstrap.issued_token_for_certificate import IssuedTokenForCertificateClient
from wssc.bootstrap.issued_token_over_transport import IssuedTokenOverTransportClient
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, load, save
from wssc.client import Client
from wssc.federation.saml2 import build_saml2
from wssc.federation.saml11 import build_saml11
from wssc.federation.token import IssuedToken
from wssc.security.outbound import protect
from wssc.xml.soap import Envelope

pytestmark = pytest.mark.e2e
KEY = bytes(range(32))
BUILD = {"saml20": build_saml2, "saml11": build_saml11}
KINDS = {
    "for-certificate": ("--bootstrap", "issued-token-for-certificate", "--binding", "ws2007"),
    "over-transport": ("--bootstrap", "issued-token-over-transport", "--binding", "wshttp"),
}


@pytest.fixture(scope="module")
def sts() -> Certificate:
    return generate_self_signed("sts.endorsing.test")


@pytest.fixture(scope="module")
def issuer_pem(sts: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d: Path = tmp_path_factory.mktemp("endorsing-issuer")
    save(sts, d / "sts.pem", d / "sts.key")
    return d / "sts.pem"


@pytest.fixture(scope="module", params=sorted(KINDS))
def srv(request: pytest.FixtureRequest, server: Callable[..., Server], issuer_pem: Path) -> Server:
    return server(*KINDS[request.param], "--issuer-cert", str(issuer_pem), "--no-secure-context")


def as_token(srv: Server, signer: Certificate, version: str = "saml20", key: bytes = KEY) -> IssuedToken:
    return saml_token(srv, signer, KEY, key, build=BUILD[version])


def over_tls(srv: Server) -> bool:
    return srv.url.startswith("https")


@pytest.fixture(scope="module")
def client(srv: Server, sts: Certificate) -> Iterator[Client]:
    with Client.from_wsdl(
        srv.wsdl_url,
        credentials=ClientCredentials(issued_token=as_token(srv, sts)),
        verify=srv.verify,
    ) as c:
        yield c


def secured(srv: Server, client: Client, token: IssuedToken) -> bytes:
    """The request as the bootstrap's own client secures it, with ``token``."""
    env = app_envelope(client, "Add", a=2, b=3)
    policy = client.session.policy
    if over_tls(srv):
        return etree.tostring(IssuedTokenOverTransportClient(token).secure(env, policy)[0])
    cert = load(srv.home / "dev-cert.pem")
    return etree.tostring(
        IssuedTokenForCertificateClient(Certificate(cert.cert), token).secure(env, policy)[0]
    )


def unendorsed(srv: Server, client: Client, token: IssuedToken) -> bytes:
    """A genuine assertion in the header, but nothing signed with its proof key: under the
    EncryptedKey alone (for-certificate), or over TLS with an unsigned Timestamp."""
    env = app_envelope(client, "Add", a=2, b=3)
    policy = client.session.policy
    if over_tls(srv):
        root = protect(env, None, policy)
    else:
        cert = load(srv.home / "dev-cert.pem")
        root, _ = AnonymousForCertificateClient(Certificate(cert.cert)).secure(env, policy)
    sec = Envelope(root).security_headers()[0]
    sec.insert(1, copy.deepcopy(token.assertion))  # after the Timestamp
    return etree.tostring(root)


def refused(srv: Server, body: bytes, reason: str) -> None:
    mark = log_mark(srv)
    assert_refused_by(srv, post(srv, body), reason, since=mark)


@pytest.mark.parametrize("version", sorted(BUILD))
def test_valid_token_is_accepted(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    r = post(srv, secured(srv, client, as_token(srv, sts, version)))
    assert r.status_code == 200 and read_fault_bytes(r.content) is None
    assert client.call("Add", a=40, b=2) == 42


@pytest.mark.parametrize("version", sorted(BUILD))
def test_no_endorsement_by_the_proof_key(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    body = unendorsed(srv, client, as_token(srv, sts, version))
    reason = "the message is not signed" if over_tls(srv) else "the message has no endorsing signature"
    refused(srv, body, reason)


def test_endorsed_by_another_key(srv: Server, client: Client, sts: Certificate) -> None:
    """The genuine assertion, but the endorsement made with a key the sender chose."""
    stolen = as_token(srv, sts, "saml11", key=bytes(32))
    refused(srv, secured(srv, client, stolen), "the signature value did not verify")


def test_untrusted_issuer(srv: Server, client: Client) -> None:
    forged = as_token(srv, generate_self_signed("stranger.endorsing.test"))
    refused(srv, secured(srv, client, forged), "the assertion is signed by an untrusted issuer")
