"""Issue 16: attacks on the IssuedToken bootstrap of a real ``wssc serve --bootstrap
issued-token`` that trusts one STS certificate (``--issuer-cert``).

Each forged or stale SAML assertion is refused with the generic fault on the wire, and the
service log names the check that refused it: expired, another audience, an untrusted issuer,
re-signed with another key under the trusted certificate, tampered after signing, no
holder-of-key proof key (bearer), and a genuine assertion with a message not keyed by its
proof key (no proof of possession). A valid token from the same STS is accepted by the same
server (the control), so each refusal is that one check's. Every test runs for a SAML 2.0
and a SAML 1.1 assertion (one checker serves both).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from attack_kit import app_envelope, assert_refused_by, log_mark, post, read_fault_bytes
from lxml import etree

from servers import Server
from wssc.bootstrap.issued_token import IssuedTokenClient
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, load, save
from wssc.client import Client
from wssc.federation.assertion import token_type
from wssc.federation.saml2 import build_saml2
from wssc.federation.saml11 import build_saml11
from wssc.federation.saml_signature import sign_assertion
from wssc.federation.token import IssuedToken
from wssc.trust.issued import assertion_reference
from wssc.xml import ns

pytestmark = pytest.mark.e2e
S = f"{{{ns.SAML2}}}"
S11 = f"{{{ns.SAML11}}}"
KEY = bytes(range(32))
BUILD = {"saml20": build_saml2, "saml11": build_saml11}


@pytest.fixture(params=sorted(BUILD))
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def sts() -> Certificate:
    return generate_self_signed("sts.attack.test")


@pytest.fixture(scope="module")
def stranger() -> Certificate:
    return generate_self_signed("stranger.attack.test")


@pytest.fixture(scope="module")
def srv(server: Callable[..., Server], sts: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Server:
    d: Path = tmp_path_factory.mktemp("attack-issuer")
    save(sts, d / "sts.pem", d / "sts.key")
    return server(
        "--binding",
        "ws2007",
        "--bootstrap",
        "issued-token",
        "--issuer-cert",
        str(d / "sts.pem"),
        "--no-secure-context",
    )


def unsigned(srv: Server, version: str = "saml20", **kw: object) -> etree._Element:
    args: dict[str, object] = {"issuer": "https://sts.attack.test/", "audience": srv.url, "subject": "alice"}
    args.update(relying_party=load(srv.home / "dev-cert.pem"), proof_key=KEY, now=time.time())
    args.update(kw)
    return BUILD[version](**args)  # type: ignore[arg-type]


def assertion(srv: Server, signer: Certificate, version: str = "saml20", **kw: object) -> etree._Element:
    return sign_assertion(unsigned(srv, version, **kw), signer)


def as_token(a: etree._Element, key: bytes = KEY) -> IssuedToken:
    return IssuedToken(a, key, assertion_reference(a), token_type(a), None)


@pytest.fixture(scope="module")
def client(srv: Server, sts: Certificate) -> Iterator[Client]:
    with Client.from_wsdl(
        srv.wsdl_url, credentials=ClientCredentials(issued_token=as_token(assertion(srv, sts)))
    ) as c:
        yield c


def send(client: Client, token: IssuedToken) -> bytes:
    env = app_envelope(client, "Add", a=2, b=3)
    secured, _ = IssuedTokenClient(token).secure(env, client.session.policy)
    return etree.tostring(secured)


def refused(srv: Server, client: Client, token: IssuedToken, reason: str) -> None:
    body = send(client, token)
    mark = log_mark(srv)
    r = post(srv, body)
    assert_refused_by(srv, r, reason, since=mark)


def test_valid_token_is_accepted(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    token = as_token(assertion(srv, sts, version))
    for _ in range(2):  # the same assertion serves many messages (no ID replay check by default)
        r = post(srv, send(client, token))
        assert r.status_code == 200 and read_fault_bytes(r.content) is None
    assert client.call("Add", a=40, b=2) == 42


def test_expired(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    stale = assertion(srv, sts, version, now=time.time() - 7200, lifetime=3600.0)
    refused(srv, client, as_token(stale), "the assertion has expired")


def test_not_yet_valid(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    early = assertion(srv, sts, version, now=time.time() + 3600)
    refused(srv, client, as_token(early), "the assertion is not yet valid")


def test_other_audience(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    other = assertion(srv, sts, version, audience="https://elsewhere.test/svc")
    refused(srv, client, as_token(other), "the assertion is for another audience")


def test_untrusted_issuer(srv: Server, client: Client, stranger: Certificate, version: str) -> None:
    forged = as_token(assertion(srv, stranger, version))
    refused(srv, client, forged, "the assertion is signed by an untrusted issuer")


def test_resigned_under_the_trusted_certificate(
    srv: Server, client: Client, sts: Certificate, stranger: Certificate, version: str
) -> None:
    """Signed by the attacker's key, the KeyInfo showing the trusted STS certificate."""
    forged = assertion(srv, stranger, version, subject="admin")
    x5 = forged.find(f".//{{{ns.DS}}}X509Certificate")
    assert x5 is not None
    x5.text = base64.b64encode(sts.der).decode()
    refused(srv, client, as_token(forged), "the issuer's signature does not verify")


def test_tampered_after_signing(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    a = assertion(srv, sts, version)
    names = [*a.iterfind(f"{S}Subject/{S}NameID"), *a.iterfind(f"{S11}*/{S11}Subject/{S11}NameIdentifier")]
    assert names
    for name in names:
        name.text = "admin"
    refused(srv, client, as_token(a), "the issuer's signature does not verify")


def test_bearer_assertion_where_a_proof_key_is_required(
    srv: Server, client: Client, sts: Certificate, version: str
) -> None:
    bare = unsigned(srv, version)
    for conf in bare.iterfind(f"{S}Subject/{S}SubjectConfirmation"):
        conf.set("Method", ns.SAML2_BEARER)
    for method in bare.iterfind(f"{S11}*/{S11}Subject/{S11}SubjectConfirmation/{S11}ConfirmationMethod"):
        method.text = ns.SAML11_BEARER
    refused(
        srv,
        client,
        as_token(sign_assertion(bare, sts)),
        "a bearer assertion where a proof key is required",
    )


def test_no_proof_of_possession(srv: Server, client: Client, sts: Certificate, version: str) -> None:
    """A genuine assertion (captured, say) with a message keyed by a key the sender chose."""
    refused(srv, client, as_token(assertion(srv, sts, version), key=bytes(32)), "wrong key")


def test_cached_assertion_without_proof_of_possession(
    srv: Server, client: Client, sts: Certificate, version: str
) -> None:
    """The holder's assertion, accepted (so in the service's validated-assertion cache), resent
    by someone without its proof key: the cache spares the RSA operations, not the proof of
    possession."""
    genuine = as_token(assertion(srv, sts, version))
    ok = post(srv, send(client, genuine))
    assert ok.status_code == 200 and read_fault_bytes(ok.content) is None
    refused(srv, client, as_token(genuine.assertion, key=bytes(32)), "wrong key")


def test_replayed_assertion_with_detection_on(
    server: Callable[..., Server], sts: Certificate, tmp_path_factory: pytest.TempPathFactory, version: str
) -> None:
    """``--detect-replayed-tokens``: a second message with the same assertion (freshly
    signed with its proof key, so only the assertion repeats; validated from the cache) is
    refused; without the flag (the module's server) the same assertion serves many messages,
    as WCF's clients reuse it."""
    d: Path = tmp_path_factory.mktemp("replay-issuer")
    save(sts, d / "sts.pem", d / "sts.key")
    strict = server(
        "--binding", "ws2007", "--bootstrap", "issued-token", "--issuer-cert", str(d / "sts.pem"),
        "--no-secure-context", "--detect-replayed-tokens",
    )  # fmt: skip
    token = as_token(assertion(strict, sts, version))
    with Client.from_wsdl(strict.wsdl_url, credentials=ClientCredentials(issued_token=token)) as c:
        first = post(strict, send(c, token))
        assert first.status_code == 200 and read_fault_bytes(first.content) is None
        mark = log_mark(strict)
        again = post(strict, send(c, token))
        assert_refused_by(strict, again, "the assertion was replayed", since=mark)
