"""TLSNEGO (WCF's SslNegotiated: AnonymousForSslNegotiated, UserNameForSslNegotiated,
MutualSslNegotiated) end to end, in process: the service engine and both clients, both
families, session and cookie mode, TLS 1.2 and 1.3; the legs as WCF writes them; the captured
.NET final RSTR of the reference (wcf-secure-sessions.md C.4); abandoned negotiations."""

from __future__ import annotations

import asyncio
import base64
import datetime
import gc
import logging
import ssl
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from lxml import etree

import wssc.bootstrap.tlsnego as tlsnego
from core.pki import issue
from wssc.bootstrap.base import TransportInfo
from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
from wssc.bootstrap.spnego import _canonical, _without_tokens
from wssc.certs import generate_self_signed
from wssc.client import AsyncClient, Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import InvalidSecurity, NegotiationFailed
from wssc.security.x509_validation import CertificateValidator
from wssc.service.engine import HttpRequest, HttpResponse, ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import (
    WS2007,
    WSHTTP,
    Bootstrap,
    EndpointSettings,
    LocalServiceSecuritySettings,
    MessageSecurityVersion,
    SecureConversationSettings,
)
from wssc.trust import _xml as x
from wssc.trust.messages import OpaqueProof, TokenResponse
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

ADDRESS = "http://svc.wssc.test/svc"
FAMILIES = [WSHTTP, WS2007]
VARIANTS = [Bootstrap.TLSNEGO, Bootstrap.USERNAME_FOR_SSL, Bootstrap.MUTUAL_SSL]
SERVICE_CERT = generate_self_signed("svc.wssc.test")
CLIENT_CERT = generate_self_signed("client.wssc.test")
PASSWORD = "Tls-Passw0rd!"


def settings_for(bootstrap: Bootstrap, family: MessageSecurityVersion, **kw: object) -> EndpointSettings:
    service = kw.pop("service", {})
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=bootstrap,
            message_security_version=family,
            **kw,  # type: ignore[arg-type]
        ),
        service=replace(LocalServiceSecuritySettings(), **service),  # type: ignore[arg-type]
    )


def service_creds() -> ServiceCredentials:
    return ServiceCredentials(
        certificate=SERVICE_CERT,
        username_validator=lambda u, p: (u, p) == ("bob", PASSWORD),
        client_certificate_validator=CertificateValidator.peer_trust(CLIENT_CERT.cert),
    )


def client_creds(**kw: object) -> ClientCredentials:
    base = ClientCredentials(
        service_certificate=SERVICE_CERT, username="bob", password=PASSWORD, certificate=CLIENT_CERT
    )
    return replace(base, **kw)  # type: ignore[arg-type]


class Recorder(httpx.BaseTransport):
    """The WSGI app, with every request and reply kept."""

    def __init__(self, engine: ServiceEngine) -> None:
        self.inner = httpx.WSGITransport(app=WsgiApp(engine))
        self.seen: list[tuple[etree._Element, etree._Element]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        data = response.read()
        self.seen.append((etree.fromstring(body), etree.fromstring(data)))
        return httpx.Response(response.status_code, headers=response.headers, content=data)


@pytest.fixture
def tls12_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service speaks TLS 1.2 at most (as WCF's Schannel does), so the full TLS 1.2
    handshake runs."""
    real = tlsnego.server_context

    def capped(*a: object, **kw: object) -> ssl.SSLContext:
        ctx = real(*a, **kw)  # type: ignore[arg-type]
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    monkeypatch.setattr(tlsnego, "server_context", capped)
    yield


def body_child(env: etree._Element) -> etree._Element:
    body = env.find(f"{{{ns.SOAP12}}}Body")
    assert body is not None
    return x.children(body)[0]


def action(env: etree._Element) -> str:
    return env.findtext(f"{{{ns.SOAP12}}}Header/{{{ns.WSA10}}}Action") or ""


def run(
    settings: EndpointSettings, creds: ClientCredentials
) -> tuple[ServiceEngine, Recorder, list[str], str]:
    engine = ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=service_creds())
    rec = Recorder(engine)
    events: list[str] = []
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=creds,
        http=httpx.Client(transport=rec),
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=2, b=3) == 5
        sct = c.session.sct
        assert sct is not None
        record = engine.sessions.store.get(sct.identifier)
        assert (record is None) == (not settings.secure_conversation.require_cancellation)
        identity = record.identity if record is not None else ""
        if record is not None:  # session mode: renew too
            c.renew()
            renewed = c.session.sct
            assert renewed is not None and renewed.instance != sct.instance
        assert c.Add(a=4, b=5) == 9
    return engine, rec, events, identity


EXPECTED_IDENTITY = {
    Bootstrap.TLSNEGO: "",
    Bootstrap.USERNAME_FOR_SSL: "bob",
    Bootstrap.MUTUAL_SSL: CLIENT_CERT.subject,
}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda b: b.value)
@pytest.mark.parametrize("tls", ["tls13", "tls12"])
def test_whole_session_sync(
    request: pytest.FixtureRequest, family: MessageSecurityVersion, variant: Bootstrap, tls: str
) -> None:
    if tls == "tls12":
        request.getfixturevalue("tls12_service")
    engine, rec, events, identity = run(settings_for(variant, family), client_creds())
    assert events == ["negotiate", "negotiate", "issue", "call", "renew", "call", "cancel"]
    assert identity == EXPECTED_IDENTITY[variant]
    assert len(engine.sessions.store) == 0
    assert engine.negotiations is not None and len(engine.negotiations) == 0
    trust = family.sc.trust
    # the legs as WCF writes them
    (rst_env, rstr_env), (leg3_env, final_env) = rec.seen[0], rec.seen[1]
    assert [action(rst_env), action(rstr_env), action(leg3_env)] == [
        trust.rst_issue,
        trust.rstr_issue,
        trust.rstr_issue,
    ]
    assert action(final_env) == (trust.rstrc_issue_final if family is WS2007 else trust.rstr_issue)
    assert all(e.find(f"{{{ns.SOAP12}}}Header/{{{ns.WSSE}}}Security") is None for e in (rst_env, leg3_env))
    rst = body_child(rst_env)
    be = rst.find(x.tq(trust, "BinaryExchange"))
    assert be is not None and be.get("ValueType") == (
        " http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego"
        if family is WSHTTP
        else "http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego"
    )
    hello = base64.b64decode(be.text or "")
    assert hello[0] == 0x16 and hello[5] == 0x01  # a handshake record: ClientHello
    assert [etree.QName(c).localname for c in x.children(rst)] == [
        "TokenType",
        "RequestType",
        "KeySize",
        "BinaryExchange",
    ]
    rstrc = body_child(final_env)
    final = x.children(rstrc)[0]
    names = [etree.QName(c).localname for c in x.children(final)]
    last = final.find(x.tq(trust, "BinaryExchange"))
    if tls == "tls12":  # ChangeCipherSpec + Finished come with the final reply
        assert last is not None and base64.b64decode(last.text or "")[:6] == bytes.fromhex("140303000101")
        assert names[-1] == "BinaryExchange"
    else:  # TLS 1.3: the server's Finished went in leg 2; no ticket follows
        assert last is None
    # the order of the captured .NET final RSTR (C.4)
    assert [n for n in names if n != "BinaryExchange"] == [
        "TokenType",
        "RequestedSecurityToken",
        "RequestedAttachedReference",
        "RequestedUnattachedReference",
        "RequestedProofToken",
        "Lifetime",
        "KeySize",
    ]
    cipher = final.findtext(f".//{{{ns.XENC}}}CipherValue") or ""
    assert tlsnego.single_record(base64.b64decode(cipher))


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_whole_session_async(family: MessageSecurityVersion) -> None:
    settings = settings_for(Bootstrap.USERNAME_FOR_SSL, family)
    engine = ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=service_creds())
    from wssc.service.asgi import AsgiApp

    async def main() -> list[object]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=AsgiApp(engine)))
        async with AsyncClient(
            ADDRESS, get_contract(Calculator), settings=settings, credentials=client_creds(), http=http
        ) as c:
            first = await c.call("Add", 20, 22)
            await c.renew()
            second = await c.call("Add", 1, 1)
            return [first, second, len(engine.sessions.store)]

    assert asyncio.run(main()) == [42, 2, 1]
    assert len(engine.sessions.store) == 0


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_cookie_mode(family: MessageSecurityVersion) -> None:
    settings = settings_for(Bootstrap.TLSNEGO, family, require_cancellation=False)
    engine, _, events, _ = run(settings, client_creds())
    assert events == ["negotiate", "negotiate", "issue", "call", "call", "close"]
    assert len(engine.sessions.store) == 0  # cookie mode keeps nothing


def test_a_chain_trusted_service_certificate_and_dns_identity() -> None:
    """No pinned certificate: ChainTrust to the CA that issued the service's, and the WSDL's
    DNS identity against its names."""
    now = datetime.datetime.now(datetime.UTC)
    window = {"not_before": now - datetime.timedelta(days=1), "not_after": now + datetime.timedelta(days=1)}
    ca = issue("TLSNEGO Test CA", None, ca=True, **window)
    leaf = issue("svc.wssc.test", ca, **window).certificate
    settings = settings_for(Bootstrap.TLSNEGO, WSHTTP)
    engine = ServiceEngine(
        Calculator(), settings=settings, address=ADDRESS, credentials=ServiceCredentials(certificate=leaf)
    )
    creds = ClientCredentials(
        service_certificate_validator=CertificateValidator.chain_trust(ca.cert),
        service_dns_identity="svc.wssc.test",
    )
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))
    with Client(ADDRESS, get_contract(Calculator), settings=settings, credentials=creds, http=http) as c:
        assert c.Add(a=1, b=2) == 3


def test_a_feb2005_service_reads_the_value_type_without_its_space_and_echoes_it() -> None:
    """WCF's Feb 2005 service also takes the ValueType without the leading space, and answers in
    the client's spelling (negotiation.md §0.3)."""
    settings = settings_for(Bootstrap.TLSNEGO, WSHTTP)
    engine = ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=service_creds())
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))
    r = http.post(ADDRESS, content=first_leg(WSHTTP, "uuid-nospace-1", ns.TLSNEGO_VALUE_TYPE), headers=CT)
    assert r.status_code == 200
    be = etree.fromstring(r.content).find(f".//{{{ns.TRUST_2005}}}BinaryExchange")
    assert be is not None and be.get("ValueType") == ns.TLSNEGO_VALUE_TYPE
    assert base64.b64decode(be.text or "")[0] == 0x16  # ServerHello…


CT = {"content-type": "application/soap+xml"}


def client_hello() -> bytes:
    ctx = tlsnego.client_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def first_leg(
    family: MessageSecurityVersion, context: str, vtype: str | None = None, hello: bytes | None = None
) -> bytes:
    trust = family.sc.trust
    rst = etree.Element(f"{{{trust.ns}}}RequestSecurityToken", Context=context)
    be = etree.SubElement(rst, f"{{{trust.ns}}}BinaryExchange")
    be.set("ValueType", vtype if vtype is not None else tlsnego.value_type(trust))
    be.set("EncodingType", ns.WSS_BASE64)
    be.text = base64.b64encode(hello or client_hello()).decode("ascii")
    return etree.tostring(new_envelope(SOAP_12, action=trust.rst_issue, to=ADDRESS, payload=rst))


def collect() -> None:
    gc.collect()


def live_tls_objects() -> int:
    collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, ssl.SSLObject))


def test_abandoned_negotiations_cost_bounded_memory(caplog: pytest.LogCaptureFixture) -> None:
    """ClientHellos, abandoned after the service's first answer (it keeps a TLS server for the
    next leg): the states stop at max_stateful_negotiations, the rest are ServerTooBusy, and
    what the service holds stops growing: as many TLS objects (OpenSSL's memory, which
    tracemalloc does not see) as the quota, and the Python memory of a flood of 18 times the
    quota grows by less than a third of what the quota holds (ratios measured in this run)."""
    quota = 16
    settings = settings_for(
        Bootstrap.TLSNEGO,
        WSHTTP,
        service={"max_stateful_negotiations": quota, "max_pending_sessions_per_peer": 0},
    )
    engine = ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=service_creds())
    hello = client_hello()

    def leg(n: int) -> HttpResponse:  # the engine's own HTTP seam (no client library's caches)
        body = first_leg(WSHTTP, f"uuid-flood-{n}", hello=hello)
        out = engine.handle(HttpRequest("POST", "/svc", "", CT, body, TransportInfo(peer="127.0.0.1")))
        assert isinstance(out, HttpResponse)
        return out

    assert leg(-1).status == 200  # warm up, then measure
    assert engine.negotiations is not None
    engine.negotiations.drop("uuid-flood--1")
    before = live_tls_objects()
    # the log records pytest keeps are the test harness's memory, not the service's
    caplog.set_level(logging.CRITICAL, logger="wssc")
    tracemalloc.start()
    try:
        collect()
        base = tracemalloc.get_traced_memory()[0]
        assert [leg(n).status for n in range(quota)] == [200] * quota
        collect()
        at_quota = tracemalloc.get_traced_memory()[0] - base
        for n in range(quota, 2 * quota):  # the refusal path, warmed up
            assert b"ServerTooBusy" in leg(n).body
        collect()
        warmed = tracemalloc.get_traced_memory()[0]
        for n in range(2 * quota, 20 * quota):
            r = leg(n)
            assert r.status == 500 and b"ServerTooBusy" in r.body
        collect()
        flooded = tracemalloc.get_traced_memory()[0] - warmed

    finally:
        tracemalloc.stop()
    assert len(engine.negotiations) == quota
    assert live_tls_objects() - before == quota
    assert at_quota > 0
    assert flooded < at_quota / 3, (at_quota, flooded)


# --- the captured .NET final RSTR (wcf-secure-sessions.md C.4: mono's test
# ReadSecurityContextSecurityTokenSslnego3, captured from .NET 3.0) -----------------------------
CAPTURED_FINAL_RSTR = Path(__file__).parent / "data" / "tlsnego_final_rstr_dotnet.xml"


def test_the_captured_dotnet_final_rstr() -> None:
    """Everything in .NET's final TLSNEGO RSTR that can be checked without its TLS session:
    wssc's reader takes it as its client does, the ValueType is WCF's with the leading space,
    the proof key is one TLS application_data record (TLS 1.0, 32 key bytes + a 16-byte MAC)
    under the TLS_Wrap URI, the last blob is ChangeCipherSpec + an encrypted Finished, and the
    transcript's form of it drops exactly the two token elements."""
    trust = WSHTTP.sc.trust
    final = etree.parse(str(CAPTURED_FINAL_RSTR)).getroot()
    response = TokenResponse.from_xml(final, trust)
    assert response.token_type == WSHTTP.sc.sct_token_type
    assert response.token.identifier == "urn:uuid:6ee2d642-484a-4e08-a9f4-a2bfe4f2d540"
    assert response.key_size == 256
    lifetime = response.lifetime
    assert lifetime is not None and lifetime.created is not None and lifetime.expires is not None
    assert lifetime.expires - lifetime.created == 10 * 3600  # .NET 3.0's 10 hours
    proof = response.proof
    assert isinstance(proof, OpaqueProof)
    method = proof.element.find(f"{{{ns.XENC}}}EncryptionMethod")
    assert method is not None and method.get("Algorithm") == ns.TLS_WRAP
    record = base64.b64decode(proof.element.findtext(f".//{{{ns.XENC}}}CipherValue") or "")
    assert tlsnego.single_record(record)
    assert record[:5] == bytes.fromhex("1703010030") and len(record) - 5 == 256 // 8 + 16
    got = tlsnego.read_exchange(final, trust, (tlsnego.value_type(trust),), required=False)
    assert got is not None and got[1] == ns.TLSNEGO_VALUE_TYPE_2005
    blob = got[0]
    assert blob[:6] == bytes.fromhex("140301000101")  # ChangeCipherSpec (TLS 1.0)
    assert blob[6:11] == bytes.fromhex("1603010020") and len(blob) == 11 + 0x20  # Finished, encrypted
    # under Trust 1.3 wssc would refuse the spelling with the space
    with pytest.raises(Exception, match="not TLSNEGO's"):
        tlsnego.read_exchange(final, trust, (ns.TLSNEGO_VALUE_TYPE,), required=False)
    hashed = _without_tokens(final, trust)
    assert [etree.QName(c).localname for c in x.children(hashed)] == [
        "TokenType",
        "RequestedAttachedReference",
        "RequestedUnattachedReference",
        "Lifetime",
        "KeySize",
        "BinaryExchange",
    ]
    assert b"RequestedProofToken" not in _canonical(hashed) and b"Cookie" not in _canonical(hashed)


# --- each check of the client on the service's replies ----------------------------------------
class Editing(httpx.BaseTransport):
    """The WSGI app, with the ``at``-th reply rewritten by ``edit`` (on its Body's child)."""

    def __init__(self, engine: ServiceEngine, at: int, edit: Callable[[etree._Element], None]) -> None:
        self.inner = httpx.WSGITransport(app=WsgiApp(engine))  # type: ignore[arg-type]
        self.at, self.edit, self.n = at, edit, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        data = response.read()
        if self.n == self.at:
            root = etree.fromstring(data)
            self.edit(body_child(root))
            data = etree.tostring(root)
        self.n += 1
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=data)


def _t(el: etree._Element, local: str) -> etree._Element:
    found = [e for e in el.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local]
    return found[0]


def _final(rstrc: etree._Element) -> etree._Element:
    return x.children(rstrc)[0]


EDITS: dict[str, tuple[int, Callable[[etree._Element], None], str]] = {
    "leg-context": (0, lambda r: r.set("Context", "uuid-other"), "not an RSTR of this negotiation (Context)"),
    "leg-value-type": (
        0,
        lambda r: _t(r, "BinaryExchange").set("ValueType", ns.TLSNEGO_VALUE_TYPE),
        "is not TLSNEGO's",
    ),
    "final-context": (
        1,
        lambda r: x.children(r)[1].set("Context", "uuid-other"),
        "the final reply is not of this negotiation (Context)",
    ),
    "rstrc-shape": (1, lambda r: r.remove(x.children(r)[1]), "the final reply is not an RSTRC of two RSTRs"),
    "token-type": (
        1,
        lambda r: setattr(_t(_final(r), "TokenType"), "text", ns.SC_13 + "/dk"),
        "the final RSTR is malformed: the requested TokenType",
    ),
    "wrap-algorithm": (
        1,
        lambda r: _t(_final(r), "EncryptionMethod").set("Algorithm", ns.GSS_WRAP),
        "the proof key is not wrapped with TLS_Wrap",
    ),
    "key-size": (
        1,
        lambda r: setattr(_t(_final(r), "KeySize"), "text", "128"),
        "the proof key's length is not the KeySize",
    ),
    "no-authenticator": (
        1,
        lambda r: x.children(r)[1].remove(x.children(x.children(r)[1])[0]),
        "the final reply does not contain an authenticator",
    ),
    "extra-handshake": (
        1,
        lambda r: tlsnego._exchange(
            _final(r),
            WS2007.sc.trust,
            bytes.fromhex("1603030004") + b"\x0e\x00\x00\x00",
            ns.TLSNEGO_VALUE_TYPE,
        ),
        "the final TLSNEGO reply was refused",
    ),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_each_client_check_refuses_its_edit(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """One reply of the service rewritten, one check of the client's each: the client refuses
    with that check's reason and sends nothing more."""
    at, edit, reason = EDITS[name]
    family = WSHTTP if name == "leg-value-type" else WS2007  # WCF's client compares the spelling
    settings = settings_for(Bootstrap.TLSNEGO, family)
    engine = ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=service_creds())
    transport = Editing(engine, at, edit)
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        with pytest.raises(InvalidSecurity):
            with Client(
                ADDRESS,
                get_contract(Calculator),
                settings=settings,
                credentials=client_creds(),
                http=httpx.Client(transport=transport),
            ) as c:
                c.Add(a=1, b=1)
    assert reason in caplog.text
    assert transport.n == at + 1  # nothing after the edited reply


@pytest.mark.parametrize("tls", ["tls13", "tls12"])
def test_mutual_without_a_client_certificate_is_refused(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, tls: str
) -> None:
    """A client that offers no certificate to a MutualSslNegotiated service (it was configured
    for the anonymous variant): the service's TLS refuses the handshake; FailedAuthentication on
    the wire, the reason in the service log."""
    if tls == "tls12":
        request.getfixturevalue("tls12_service")
    engine = ServiceEngine(
        Calculator(),
        settings=settings_for(Bootstrap.MUTUAL_SSL, WS2007),
        address=ADDRESS,
        credentials=service_creds(),
    )
    rec = Recorder(engine)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        with pytest.raises(NegotiationFailed):
            with Client(
                ADDRESS,
                get_contract(Calculator),
                settings=settings_for(Bootstrap.TLSNEGO, WS2007),
                credentials=client_creds(),
                http=httpx.Client(transport=rec),
            ) as c:
                c.Add(a=1, b=1)
    fault = rec.seen[-1][1]
    code = fault.findtext(f".//{{{ns.SOAP12}}}Subcode/{{{ns.SOAP12}}}Value") or ""
    assert code.endswith(":FailedAuthentication")
    assert "the TLS handshake failed" in caplog.text and "CERTIFICATE" in caplog.text.upper()
    assert engine.negotiations is not None and len(engine.negotiations) == 0  # the state is dropped
