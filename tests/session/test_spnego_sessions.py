"""SPNEGO (WCF's SspiNegotiated) end to end, in process: the service engine and both clients,
over a real MIT KDC (`tests/kdc.py`) for Kerberos and pyspnego's NTLM for the fallback.

Each refusal asserts WCF's fault on the wire and the reason the service logged."""

from __future__ import annotations

import asyncio
import base64
import copy
import gc
import hashlib
import hmac
import tracemalloc
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from lxml import etree

from kdc import PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
from wssc.client import AsyncClient, Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import TransportError
from wssc.service.engine import ServiceEngine
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
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

ADDRESS = "http://svc.wssc.test/svc"
FAMILIES = [WSHTTP, WS2007]
NTLM_PASSWORD = "Ntlm-Passw0rd!"


def settings_for(family: MessageSecurityVersion, **service: object) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=Bootstrap.SPNEGO, message_security_version=family
        ),
        service=replace(LocalServiceSecuritySettings(), **service),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def ntlm_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ntlm") / "users"
    path.write_text(f"WSSC:carol:{NTLM_PASSWORD}\n")
    return path


def engine_for(
    settings: EndpointSettings, kdc: Kdc, ntlm_users: Path | None = None, keytab: Path | None = None
) -> ServiceEngine:
    creds = ServiceCredentials(
        kerberos_keytab=str(keytab or kdc.service_keytab),
        ntlm_user_file=str(ntlm_users) if ntlm_users else None,
    )
    return ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=creds)


def alice() -> ClientCredentials:
    return ClientCredentials(spn=SERVICE, username=f"alice@{REALM}", password=PASSWORD)


def wsgi(engine: ServiceEngine) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_kerberos_whole_session_sync(kdc: Kdc, family: MessageSecurityVersion) -> None:
    settings = settings_for(family)
    engine = engine_for(settings, kdc)
    events: list[str] = []
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=alice(),
        http=wsgi(engine),
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=2, b=3) == 5
        sct = c.session.sct
        assert sct is not None
        record = engine.sessions.store.get(sct.identifier)
        assert record is not None and record.identity == f"alice@{REALM}"
        c.renew()
        renewed = c.session.sct
        assert renewed is not None and renewed.instance != sct.instance
        assert c.Add(a=4, b=5) == 9
    # Kerberos: one leg (AP-REQ → final RSTRC with the AP-REP), then the RST/SCT
    assert events == ["negotiate", "issue", "call", "renew", "call", "cancel"]
    assert engine.sessions.store.get(sct.identifier) is None
    assert engine.negotiations is not None and len(engine.negotiations) == 0


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_kerberos_whole_session_async(kdc: Kdc, family: MessageSecurityVersion) -> None:
    settings = settings_for(family)
    engine = engine_for(settings, kdc)
    from wssc.service.asgi import AsgiApp

    async def main() -> list[object]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=AsgiApp(engine)))
        async with AsyncClient(
            ADDRESS, get_contract(Calculator), settings=settings, credentials=alice(), http=http
        ) as c:
            first = await c.call("Add", 20, 22)
            await c.renew()
            second = await c.call("Add", 1, 1)
            return [first, second, len(engine.sessions.store)]

    assert asyncio.run(main()) == [42, 2, 1]
    assert len(engine.sessions.store) == 0


def carol(password: str = NTLM_PASSWORD) -> ClientCredentials:
    return ClientCredentials(spn=SERVICE, username="WSSC\\carol", password=password)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_ntlm_whole_session(kdc: Kdc, ntlm_users: Path, family: MessageSecurityVersion) -> None:
    """No Kerberos principal for this user: SPNEGO falls back to NTLM, over two legs."""
    settings = settings_for(family)
    engine = engine_for(settings, kdc, ntlm_users)
    events: list[str] = []
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=carol(),
        http=wsgi(engine),
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=7, b=8) == 15
        sct = c.session.sct
        assert sct is not None
        record = engine.sessions.store.get(sct.identifier)
        assert record is not None and record.identity.lower() == "wssc\\carol"
        c.renew()
        assert c.Add(a=1, b=2) == 3
    assert events == ["negotiate", "negotiate", "issue", "call", "renew", "call", "cancel"]
    assert len(engine.sessions.store) == 0


def _ntlm_first_leg(family: MessageSecurityVersion, context: str, token: bytes) -> bytes:
    trust = family.sc.trust
    rst = etree.Element(f"{{{trust.ns}}}RequestSecurityToken", Context=context)
    be = etree.SubElement(rst, f"{{{trust.ns}}}BinaryExchange")
    be.set("ValueType", ns.SPNEGO_VALUE_TYPE)
    be.set("EncodingType", ns.WSS_BASE64)
    be.text = base64.b64encode(token).decode("ascii")
    return etree.tostring(new_envelope(SOAP_12, action=trust.rst_issue, to=ADDRESS, payload=rst))


def test_abandoned_negotiations_cost_bounded_memory(kdc: Kdc, ntlm_users: Path) -> None:
    """NTLM first legs (the service keeps a context for the second leg), abandoned: the states
    stop at max_stateful_negotiations, the rest are ServerTooBusy, and the memory the service
    holds stops growing with them: a flood of 20 times the quota holds what the quota did
    (a ratio measured in this run)."""
    import spnego as pyspnego

    quota = 16
    settings = settings_for(WSHTTP, max_stateful_negotiations=quota, max_pending_sessions_per_peer=0)
    engine = engine_for(settings, kdc, ntlm_users)
    http = wsgi(engine)
    token = pyspnego.client("WSSC\\carol", "x", protocol="ntlm").step()
    assert token
    headers = {"content-type": "application/soap+xml"}

    def leg(n: int) -> httpx.Response:
        return http.post(ADDRESS, content=_ntlm_first_leg(WSHTTP, f"uuid-flood-{n}", token), headers=headers)

    assert leg(-1).status_code == 200  # warm up (imports, caches), then measure
    engine.negotiations.drop("uuid-flood--1")  # type: ignore[union-attr]
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        assert [leg(n).status_code for n in range(quota)] == [200] * quota
        gc.collect()
        at_quota = tracemalloc.get_traced_memory()[0] - base
        for n in range(quota, 20 * quota):
            r = leg(n)
            assert r.status_code == 500 and b"ServerTooBusy" in r.content
        gc.collect()
        flooded = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert engine.negotiations is not None and len(engine.negotiations) == quota
    assert at_quota > 0
    assert flooded < 1.5 * at_quota, (at_quota, flooded)


def _independent_p_sha1(secret: bytes, seed: bytes, n: int) -> bytes:
    """RFC 2246's P_SHA-1, written out here (not wssc's)."""
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha1).digest()
        out += hmac.new(secret, a + seed, hashlib.sha1).digest()
    return out[:n]


class _Recorder(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.seen = inner, []  # type: ignore[var-annotated]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        data = response.read()
        self.seen.append((body, data))
        return httpx.Response(response.status_code, headers=response.headers, content=data)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("who", ["kerberos", "ntlm"])
def test_the_legs_are_wcfs_wire_format(
    kdc: Kdc, ntlm_users: Path, family: MessageSecurityVersion, who: str
) -> None:
    """negotiation.md §2–§4, checked on the recorded legs with XPath and an independent
    P_SHA1: the actions, the RST's children, the BinaryExchange attributes, the final RSTRC
    (two RSTRs, the proof key wrapped with GSS_Wrap), and the authenticator over the
    transcript (exc-c14n of each RST/RSTR; the final one without its two token elements)."""
    settings = settings_for(family)
    engine = engine_for(settings, kdc, ntlm_users)
    rec = _Recorder(httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    creds = alice() if who == "kerberos" else carol()
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=creds,
        http=httpx.Client(transport=rec),
    ) as c:
        assert c.Add(a=1, b=1) == 2
        negotiated = c.session._negotiated
        key = negotiated.key  # type: ignore[union-attr]
    trust = family.sc.trust
    t = {"t": trust.ns, "s": ns.SOAP12, "a": ns.WSA10, "e": ns.XENC, "o": ns.WSSE}
    legs = 1 if who == "kerberos" else 2
    envs = [(etree.fromstring(req), etree.fromstring(rep)) for req, rep in rec.seen[:legs]]
    actions = [
        (q.findtext("s:Header/a:Action", namespaces=t), r.findtext("s:Header/a:Action", namespaces=t))
        for q, r in envs
    ]
    final_action = trust.rstrc_issue_final if family is WS2007 else trust.rstr_issue
    expected = [(trust.rst_issue, trust.rstr_issue), (trust.rstr_issue, trust.rstr_issue)][:legs]
    expected[-1] = (expected[-1][0], final_action)
    assert actions == expected
    for q, _ in envs:
        assert q.find("s:Header/o:Security", namespaces=t) is None  # legs are unsecured
    rst = envs[0][0].find("s:Body/t:RequestSecurityToken", namespaces=t)
    assert rst is not None
    assert [etree.QName(e).localname for e in rst] == [
        "TokenType",
        "RequestType",
        "KeySize",
        "BinaryExchange",
    ]
    assert rst.findtext("t:KeySize", namespaces=t) == "256"
    context = rst.get("Context")
    for q, r in envs:
        for be in q.iterfind(".//t:BinaryExchange", namespaces=t):
            assert list(be.attrib.items()) == [
                ("ValueType", "http://schemas.xmlsoap.org/ws/2005/02/trust/spnego"),
                ("EncodingType", ns.WSS_BASE64),
            ]
    rstrc = envs[-1][1].find("s:Body/t:RequestSecurityTokenResponseCollection", namespaces=t)
    assert rstrc is not None and len(rstrc) == 2
    final, auth = rstrc
    assert final.get("Context") == auth.get("Context") == context
    assert [etree.QName(e).localname for e in final][:7] == [
        "TokenType", "RequestedSecurityToken", "RequestedAttachedReference",
        "RequestedUnattachedReference", "RequestedProofToken", "Lifetime", "KeySize",
    ]  # fmt: skip
    method = final.find("t:RequestedProofToken/e:EncryptedKey/e:EncryptionMethod", namespaces=t)
    assert (
        method is not None
        and method.get("Algorithm") == "http://schemas.xmlsoap.org/2005/02/trust/spnego#GSS_Wrap"
    )
    assert len(key) == 32
    # the transcript: RST, the intermediate RSTRs both ways, the final RSTR minus its tokens
    units = [rst]
    for i, (q, r) in enumerate(envs):
        if i:
            units.append(q.find("s:Body/t:RequestSecurityTokenResponse", namespaces=t))
        if i < legs - 1:
            units.append(r.find("s:Body/t:RequestSecurityTokenResponse", namespaces=t))
    stripped = copy.deepcopy(final)
    for name in ("RequestedSecurityToken", "RequestedProofToken"):
        stripped.remove(stripped.find(f"t:{name}", namespaces=t))
    units.append(stripped)
    h = hashlib.sha1(b"".join(etree.tostring(u, method="c14n", exclusive=True) for u in units)).digest()
    combined = auth.findtext("t:Authenticator/t:CombinedHash", namespaces=t)
    assert base64.b64decode(combined or "") == _independent_p_sha1(key, b"AUTH-HASH" + h, 32)


def test_the_spn_defaults_to_wcfs_host_slash_the_address_host(kdc: Kdc) -> None:
    """Without spn= the client targets host/<the address's host>, as WCF does. The KDC has no
    such principal: no Kerberos ticket, so SPNEGO offers NTLM (an NTLMSSP NEGOTIATE)."""
    settings = settings_for(WSHTTP)
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.read())
        return httpx.Response(503)

    creds = ClientCredentials(username=f"alice@{REALM}", password=PASSWORD)
    http = httpx.Client(transport=httpx.MockTransport(handler))
    c = Client(ADDRESS, get_contract(Calculator), settings=settings, credentials=creds, http=http)
    assert c.session.bootstrap.credentials.spn == "host/svc.wssc.test"  # type: ignore[attr-defined]
    with pytest.raises(TransportError):
        c.Add(a=1, b=1)
    assert len(seen) == 1
    be = etree.fromstring(seen[0]).find(f".//{{{ns.TRUST_2005}}}BinaryExchange")
    assert be is not None and b"NTLMSSP\x00\x01" in base64.b64decode(be.text or "")
