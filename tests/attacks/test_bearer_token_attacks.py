"""Issue 16: bearer issued tokens (WCF's IssuedTokenOverTransport with ``IssuedKeyType.BearerKey``)
attacked on a real ``wssc serve --bootstrap bearer-token-over-transport`` (HTTPS, both families,
one-shot and with a session), trusting one STS certificate.

A bearer token has no proof key: whoever holds it may present it. So the service takes it over
HTTPS only, once (replay detection is on for bearer tokens whatever ``--detect-replayed-tokens``
says), and no endpoint is downgraded: a bearer token is refused where a proof key is due, and a
holder-of-key token where a bearer token is. Each refusal asserts the generic fault on the wire
and the check that refused in the service log; a valid token on the same server is the control.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from attack_kit import app_envelope, assert_refused_by, log_mark, post, read_fault_bytes, start_with_settings
from lxml import etree

from servers import Server
from wssc.bootstrap.bearer_token_over_transport import BearerTokenOverTransportClient
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, load, save
from wssc.client import Client
from wssc.demo import Calculator
from wssc.errors import ConfigurationError, RemoteFault, SecurityVerificationFailed
from wssc.federation.assertion import token_type
from wssc.federation.saml2 import build_saml2
from wssc.federation.saml11 import build_saml11
from wssc.federation.saml_signature import sign_assertion
from wssc.federation.token import IssuedToken
from wssc.security.outbound import protect
from wssc.service.engine import ServiceEngine
from wssc.settings import Bootstrap, EndpointSettings, SecureConversationSettings
from wssc.trust.issued import assertion_reference

pytestmark = pytest.mark.e2e
BUILD = {"saml20": build_saml2, "saml11": build_saml11}
BEARER = ("--bootstrap", "bearer-token-over-transport", "--no-secure-context")
HOLDER_OF_KEY = ("--bootstrap", "issued-token-over-transport", "--binding", "wshttp", "--no-secure-context")


@pytest.fixture(scope="module")
def sts() -> Certificate:
    return generate_self_signed("sts.bearer.test")


@pytest.fixture(scope="module")
def issuer_pem(sts: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d: Path = tmp_path_factory.mktemp("bearer-issuer")
    save(sts, d / "sts.pem", d / "sts.key")
    return d / "sts.pem"


@pytest.fixture(scope="module", params=["wshttp", "ws2007"])
def srv(request: pytest.FixtureRequest, server: Callable[..., Server], issuer_pem: Path) -> Server:
    return server(*BEARER, "--binding", request.param, "--issuer-cert", str(issuer_pem))


def bearer(
    audience: str, signer: Certificate, version: str = "saml20", *, now: float | None = None
) -> IssuedToken:
    """A bearer assertion (no proof key) for ``audience``, signed by ``signer``."""
    a = BUILD[version](
        issuer="https://sts.bearer.test/",
        audience=audience,
        subject="alice",
        relying_party=None,
        proof_key=None,
        now=time.time() if now is None else now,
    )  # type: ignore[operator]
    signed = sign_assertion(a, signer)
    return IssuedToken(signed, None, assertion_reference(signed), token_type(signed), None)


def holder_of_key(srv: Server, signer: Certificate) -> IssuedToken:
    a = build_saml2(
        issuer="https://sts.bearer.test/",
        audience=srv.url,
        subject="alice",
        relying_party=load(srv.home / "dev-cert.pem"),
        proof_key=bytes(range(32)),
        now=time.time(),
    )
    signed = sign_assertion(a, signer)
    return IssuedToken(signed, bytes(range(32)), assertion_reference(signed), token_type(signed), None)


@pytest.fixture(scope="module")
def client(srv: Server, sts: Certificate) -> Iterator[Client]:
    """Builds the plain envelopes (and its policy); its own token is never sent."""
    with Client.from_wsdl(
        srv.wsdl_url, credentials=ClientCredentials(issued_token=bearer(srv.url, sts)), verify=srv.verify
    ) as c:
        yield c


def message(client: Client, assertion: etree._Element, a: int = 2, b: int = 3) -> bytes:
    """An Add over TLS: a Timestamp and ``assertion`` in the header, as the bearer client sends it."""
    env = app_envelope(client, "Add", a=a, b=b)
    return etree.tostring(protect(env, None, client.session.policy, supporting=[assertion]))


def secured(client: Client, token: IssuedToken, a: int = 2, b: int = 3) -> bytes:
    env = app_envelope(client, "Add", a=a, b=b)
    return etree.tostring(BearerTokenOverTransportClient(token).secure(env, client.session.policy)[0])


def accepted(srv: Server, body: bytes) -> None:
    r = post(srv, body)
    assert r.status_code == 200 and read_fault_bytes(r.content) is None, r.content[:500]


def refused(srv: Server, body: bytes, reason: str) -> None:
    mark = log_mark(srv)
    assert_refused_by(srv, post(srv, body), reason, since=mark)


@pytest.mark.parametrize("version", sorted(BUILD))
def test_a_bearer_token_is_good_for_one_message(
    srv: Server, client: Client, sts: Certificate, version: str
) -> None:
    """The control (accepted), then the same assertion in a second, freshly secured one-shot
    message (new Timestamp, new MessageID): refused as replayed."""
    token = bearer(srv.url, sts, version)
    r = post(srv, secured(client, token, 40, 2))
    assert r.status_code == 200 and b">42<" in r.content, r.content[:500]
    refused(srv, secured(client, token, 1, 1), "the assertion was replayed")


def test_an_expired_bearer_token(srv: Server, client: Client, sts: Certificate) -> None:
    stale = bearer(srv.url, sts, now=time.time() - 2 * 3600)  # an hour's lifetime, ended an hour ago
    refused(srv, secured(client, stale), "the assertion has expired")


def test_a_bearer_token_from_an_untrusted_issuer(srv: Server, client: Client) -> None:
    forged = bearer(srv.url, generate_self_signed("stranger.bearer.test"))
    refused(srv, secured(client, forged), "the assertion is signed by an untrusted issuer")


def test_a_bearer_token_for_another_relying_party(srv: Server, client: Client, sts: Certificate) -> None:
    other = bearer("https://elsewhere.test/svc", sts)
    refused(srv, secured(client, other), "the assertion is for another audience")


def test_a_holder_of_key_token_at_the_bearer_endpoint(srv: Server, client: Client, sts: Certificate) -> None:
    """A holder-of-key assertion presented bare (no proof of possession) is not a bearer token."""
    refused(
        srv, message(client, holder_of_key(srv, sts).assertion), "the assertion is not a bearer assertion"
    )
    accepted(srv, secured(client, bearer(srv.url, sts)))  # the same server takes a bearer token


def test_a_bearer_token_at_a_holder_of_key_endpoint(
    server: Callable[..., Server], issuer_pem: Path, sts: Certificate
) -> None:
    """No downgrade: the IssuedTokenOverTransport (holder-of-key) endpoint refuses a bearer
    assertion; a holder-of-key token signed with its proof key is accepted there (control)."""
    from wssc.bootstrap.issued_token_over_transport import IssuedTokenOverTransportClient

    hok = server(*HOLDER_OF_KEY, "--issuer-cert", str(issuer_pem))
    token = holder_of_key(hok, sts)
    with Client.from_wsdl(
        hok.wsdl_url, credentials=ClientCredentials(issued_token=token), verify=hok.verify
    ) as c:
        env = app_envelope(c, "Add", a=2, b=3)
        good = IssuedTokenOverTransportClient(token).secure(env, c.session.policy)[0]
        accepted(hok, etree.tostring(good))
        refused(
            hok,
            message(c, bearer(hok.url, sts).assertion),
            "a bearer assertion where a proof key is required",
        )


def test_a_session_spends_the_bearer_token(
    server: Callable[..., Server], issuer_pem: Path, sts: Certificate
) -> None:
    """With a session, the token is spent on the RST/SCT: the session works, and a second
    session with the same token is refused (the generic fault at the client, the replay in the log)."""
    s = server(
        "--bootstrap", "bearer-token-over-transport", "--binding", "ws2007", "--issuer-cert", str(issuer_pem)
    )
    creds = ClientCredentials(issued_token=bearer(s.url, sts, "saml11"))
    with Client.from_wsdl(s.wsdl_url, credentials=creds, verify=s.verify) as c:
        assert c.Add(a=2, b=3) == 5 and c.Add(a=4, b=5) == 9
    mark = log_mark(s)
    with Client.from_wsdl(s.wsdl_url, credentials=creds, verify=s.verify) as again:
        with pytest.raises(SecurityVerificationFailed) as info:
            again.Add(a=1, b=1)
        assert isinstance(info.value, RemoteFault)  # the service's generic fault
    from attack_kit import fault_logged

    fault_logged(s, "the assertion was replayed", since=mark)


def test_a_bearer_token_over_plain_http_is_refused_by_the_service(
    start_server: Callable[..., Server], issuer_pem: Path, sts: Certificate
) -> None:
    """The app behind a proxy that does not say TLS (no trusted X-Forwarded-Proto): refused,
    as the bearer token crossed a plain-HTTP hop."""
    plain = start_with_settings(
        start_server, *BEARER, "--issuer-cert", str(issuer_pem), settings={}, plain_http=True
    )
    assert plain.url.startswith("http://")
    with Client.from_wsdl(
        plain.wsdl_url,
        address=plain.url.replace("http://", "https://"),  # (only to build the envelope)
        credentials=ClientCredentials(issued_token=bearer(plain.url, sts)),
    ) as c:
        body = secured(c, bearer(plain.url, sts))
    refused(plain, body, "a bearer token is taken over HTTPS only")


def test_a_bearer_endpoint_is_never_published_on_plain_http() -> None:
    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(bootstrap=Bootstrap.BEARER_TOKEN_OVER_TRANSPORT)
    )
    with pytest.raises(ConfigurationError, match="relies on transport security"):
        ServiceEngine(Calculator(), settings=settings, address="http://rp.test/svc")


def test_the_client_sends_no_bearer_token_over_plain_http(srv: Server, sts: Certificate) -> None:
    mark = log_mark(srv)
    with pytest.raises(ConfigurationError, match="nothing was sent"):
        with Client.from_wsdl(
            srv.wsdl_url,
            address=srv.url.replace("https://", "http://"),
            credentials=ClientCredentials(issued_token=bearer(srv.url, sts)),
            verify=srv.verify,
        ) as c:
            c.Add(a=1, b=2)
    with open(srv.log_path, "rb") as f:
        f.seek(mark)
        assert b"Add" not in f.read()  # (the WSDL was fetched; no call reached the service)
