"""WCF's Kerberos bootstrap (``negotiateServiceCredential="false"``) end to end, in process:
the service engine and both clients over a real MIT KDC (`tests/kdc.py`), both families,
session and cookie mode; the wire shape (the AP-REQ BinarySecurityToken, the keys derived
from it, the reply's Kerberosv5APREQSHA1); policy export and import; the binding preset."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import replace

import httpx
import pytest
from lxml import etree

from kdc import PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from wssc.bootstrap.bindings import WS2007HttpBinding, WSHttpBinding
from wssc.bootstrap.kerberos import KERBEROS_CLOCK_SKEW, SeenApReqs
from wssc.bootstrap.registry import (
    ClientCredentials,
    ServiceCredentials,
    bootstrap_kind,
    explain,
    policy_for,
    settings_from_policy,
    settings_from_wsdl,
)
from wssc.client import AsyncClient, Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import ConfigurationError, ServerTooBusy
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import (
    WS2007,
    WSHTTP,
    Bootstrap,
    EndpointSettings,
    MessageSecurityVersion,
    SecureConversationSettings,
)
from wssc.xml import ns

ADDRESS = "http://svc.wssc.test/svc"
FAMILIES = [WSHTTP, WS2007]


def settings_for(family: MessageSecurityVersion, cookie: bool = False) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=Bootstrap.KERBEROS, message_security_version=family, require_cancellation=not cookie
        )
    )


def engine_for(settings: EndpointSettings, kdc: Kdc) -> ServiceEngine:
    creds = ServiceCredentials(kerberos_keytab=str(kdc.service_keytab), spn=SERVICE)
    return ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=creds)


def alice() -> ClientCredentials:
    return ClientCredentials(spn=SERVICE, username=f"alice@{REALM}", password=PASSWORD)


class Recorder(httpx.BaseTransport):
    """The WSGI app, keeping every request and response body."""

    def __init__(self, engine: ServiceEngine) -> None:
        self.inner = httpx.WSGITransport(app=WsgiApp(engine))  # type: ignore[arg-type]
        self.exchanges: list[tuple[bytes, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        data = response.read()
        self.exchanges.append((body, data))
        return httpx.Response(response.status_code, headers=response.headers, content=data)


def _security(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    sec = root.find(f".//{{{ns.WSSE}}}Security")
    assert sec is not None
    return sec


@pytest.mark.parametrize("cookie", [False, True], ids=["session", "cookie"])
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_kerberos_session_sync(kdc: Kdc, family: MessageSecurityVersion, cookie: bool) -> None:
    settings = settings_for(family, cookie)
    engine = engine_for(settings, kdc)
    rec = Recorder(engine)
    events: list[str] = []
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=alice(),
        http=httpx.Client(transport=rec),
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=2, b=3) == 5
        sct = c.session.sct
        assert sct is not None
        if not cookie:
            record = engine.sessions.store.get(sct.identifier)
            assert record is not None and record.identity == f"alice@{REALM}"
        if not cookie:  # a cookie-mode endpoint renews nothing (MustNotSendRenew)
            c.renew()
            renewed = c.session.sct
            assert renewed is not None and renewed.instance != sct.instance
        assert c.Add(a=4, b=5) == 9
    assert events[:2] == ["issue", "call"]  # one leg: no negotiation
    renews = [b for b, _ in rec.exchanges if b"/SCT/Renew" in b]
    assert len(renews) == (0 if cookie else 1)
    # WCF's Renew under a one-shot bootstrap: a fresh AP-REQ, the session's SCT endorsing it
    for body in renews:
        sec = _security(body)
        assert [b.get("ValueType") for b in sec.iter(f"{{{ns.WSSE}}}BinarySecurityToken")] == [
            ns.WSS_KERBEROS_AP_REQ
        ]
        assert any(etree.QName(e).localname == "SecurityContextToken" for e in sec)
    # the RST/SCT: one BinarySecurityToken, a GSS-framed Kerberos AP-REQ, the DKTs on it
    rst, rstr = rec.exchanges[0]
    sec = _security(rst)
    bsts = sec.findall(f"{{{ns.WSSE}}}BinarySecurityToken")
    assert [b.get("ValueType") for b in bsts] == [ns.WSS_KERBEROS_AP_REQ]
    ap_req = base64.b64decode(bsts[0].text or "")
    assert ap_req[0] == 0x60 and bytes.fromhex("06092a864886f712010202") in ap_req[:20]
    assert sec.find(f"{{{ns.XENC}}}EncryptedKey") is None  # the Kerberos key itself, no wrapped key
    bst_id = bsts[0].get(f"{{{ns.WSU}}}Id")
    dkts = [e for e in sec if etree.QName(e).localname == "DerivedKeyToken"]
    refs = [r.get("URI") for d in dkts for r in d.iter(f"{{{ns.WSSE}}}Reference")]
    assert len(dkts) == 2 and refs == [f"#{bst_id}"] * 2
    # the RSTR names the AP-REQ by its SHA-1
    sha1 = base64.b64encode(hashlib.sha1(ap_req).digest()).decode()
    kis = list(_security(rstr).iter(f"{{{ns.WSSE}}}KeyIdentifier"))
    assert kis and {(k.get("ValueType"), (k.text or "").strip()) for k in kis} == {
        (ns.WSS_KERBEROS_AP_REQ_SHA1, sha1)
    }


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_kerberos_session_async(kdc: Kdc, family: MessageSecurityVersion) -> None:
    settings = settings_for(family)
    engine = engine_for(settings, kdc)
    from wssc.service.asgi import AsgiApp

    async def main() -> list[object]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=AsgiApp(engine)))
        async with AsyncClient(
            ADDRESS, get_contract(Calculator), settings=settings, credentials=alice(), http=http
        ) as c:
            return [await c.call("Add", 20, 22), await c.call("Add", 1, 1)]

    assert asyncio.run(main()) == [42, 2]


def test_kerberos_with_a_client_keytab(kdc: Kdc) -> None:
    settings = settings_for(WS2007)
    engine = engine_for(settings, kdc)
    creds = ClientCredentials(spn=SERVICE, username=f"bob@{REALM}", kerberos_keytab=str(kdc.client_keytab))
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=creds,
        http=httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine))),  # type: ignore[arg-type]
    ) as c:
        assert c.Add(a=1, b=2) == 3
        sct = c.session.sct
        assert sct is not None
        record = engine.sessions.store.get(sct.identifier)
        assert record is not None and record.identity == f"bob@{REALM}"


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_kerberos_policy_export_and_import(family: MessageSecurityVersion) -> None:
    scs = settings_for(family).secure_conversation
    policy = policy_for(scs, policy_id="P")
    sp = ns.SP12 if family is WS2007 else ns.SP11
    tokens = list(policy.iter(f"{{{sp}}}KerberosToken"))
    assert len(tokens) == 1
    assert tokens[0].get(f"{{{sp}}}IncludeToken") == sp + "/IncludeToken/Once"
    inner = {etree.QName(e).localname for e in tokens[0].iter() if e is not tokens[0]}
    assert {"RequireDerivedKeys", "WssGssKerberosV5ApReqToken11"} <= inner
    imported = settings_from_policy(policy)
    assert imported.settings.bootstrap == Bootstrap.KERBEROS
    assert imported.settings.require_derived_keys
    # without derived keys, as exported
    plain = policy_for(replace(scs, require_derived_keys=False), policy_id="P")
    assert not settings_from_policy(plain).settings.require_derived_keys


def test_kerberos_policy_refuses_another_token_type() -> None:
    policy = policy_for(settings_for(WSHTTP).secure_conversation, policy_id="P")
    el = next(policy.iter(f"{{{ns.SP11}}}WssGssKerberosV5ApReqToken11"))
    el.tag = f"{{{ns.SP11}}}WssKerberosV5ApReqToken11"  # the raw AP-REQ, not GSS-framed
    with pytest.raises(Exception, match="Kerberos"):
        settings_from_policy(policy)


def test_kerberos_wsdl_and_inspect(kdc: Kdc) -> None:
    engine = engine_for(settings_for(WS2007), kdc)
    endpoint = settings_from_wsdl(engine.wsdl())
    assert endpoint.settings.bootstrap == Bootstrap.KERBEROS
    assert endpoint.identity_spn == SERVICE
    text = explain(endpoint)
    assert "Kerberos" in text and "AP-REQ" in text and "WssGssKerberosV5ApReqToken11" in text


def test_kerberos_preset() -> None:
    for preset, family in ((WSHttpBinding, WSHTTP), (WS2007HttpBinding, WS2007)):
        s = preset(client_credential_type="Windows", negotiate_service_credential=False)
        assert s.secure_conversation.bootstrap == Bootstrap.KERBEROS
        assert s.secure_conversation.message_security_version is family
        assert s.secure_conversation.algorithm_suite == "Basic128"  # WCF's KerberosDefault
        chosen = preset(
            client_credential_type="Windows", negotiate_service_credential=False, algorithm_suite="Basic256"
        )
        assert chosen.secure_conversation.algorithm_suite == "Basic256"
    assert WSHttpBinding().secure_conversation.algorithm_suite == "Basic256"
    assert bootstrap_kind(Bootstrap.KERBEROS).cli_name == "kerberos"


def test_seen_ap_reqs_is_bounded_and_forgets_after_twice_the_skew() -> None:
    seen = SeenApReqs(capacity=2)
    assert seen.claim("a", 1000.0) and not seen.claim("a", 1000.0 + 599)
    assert seen.claim("b", 1000.0)
    with pytest.raises(ServerTooBusy):
        seen.claim("c", 1100.0)  # full of live entries: refused, nothing forgotten early
    seen.release("b")  # an AP-REQ the acceptor refused holds no place
    assert seen.claim("c", 1100.0) and len(seen) == 2
    assert seen.claim("a", 1000.0 + 2 * KERBEROS_CLOCK_SKEW)  # expired: a new entry
    assert seen.claim("d", 1100.0 + 600) and len(seen) == 2  # the expired ones purged


def test_kerberos_secures_each_message_without_a_session(kdc: Kdc) -> None:
    """``establishSecurityContext="false"``: every request carries its own fresh AP-REQ."""
    base = settings_for(WS2007)
    settings = replace(
        base, secure_conversation=replace(base.secure_conversation, establish_security_context=False)
    )
    engine = engine_for(settings, kdc)
    rec = Recorder(engine)
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=alice(),
        http=httpx.Client(transport=rec),
    ) as c:
        assert c.Add(a=1, b=2) == 3
        assert c.Add(a=3, b=4) == 7
    assert len(rec.exchanges) == 2
    tokens = [
        [b.text for b in _security(req).iter(f"{{{ns.WSSE}}}BinarySecurityToken")] for req, _ in rec.exchanges
    ]
    assert all(len(t) == 1 for t in tokens) and tokens[0] != tokens[1]


def test_no_ticket_for_the_principal_is_a_clear_local_error(kdc: Kdc) -> None:
    """A principal the realm does not know: nothing is sent, and the error says what to check."""
    settings = settings_for(WSHTTP)
    engine = engine_for(settings, kdc)
    rec = Recorder(engine)
    creds = replace(alice(), spn="HTTP/nowhere.wssc.test")
    with pytest.raises(
        ConfigurationError, match=r"no Kerberos ticket for HTTP/nowhere.wssc.test; nothing was sent"
    ):
        with Client(
            ADDRESS,
            get_contract(Calculator),
            settings=settings,
            credentials=creds,
            http=httpx.Client(transport=rec),
        ) as c:
            c.Add(a=1, b=2)
    assert rec.exchanges == []
