"""One `SctProtection` per session key, on both sides, so that protect's per-(token, policy)
`Plan` is worked out once per session and not once per message (issue 19: 122 k
instructions a reply); and the plans of a session that ended are dropped, since they hold
its key (SECURITY row 55)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from lxml import etree

from wssc.certs import Certificate, generate_self_signed
from wssc.client import AsyncClient
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.security import outbound_fast
from wssc.security.tokens import SctProtection
from wssc.service.asgi import AsgiApp
from wssc.service.engine import HttpRequest, HttpResponse, ServiceEngine
from wssc.tokens.paths import PATHS
from wssc.tokens.sct import SecurityContextToken
from wssc.xml.soap import new_envelope

CERT = generate_self_signed()
URL = "http://testserver/svc"


def plans_of(identifier: str) -> list[object]:
    return [
        p.token
        for p in outbound_fast._PLANS.values()
        if isinstance(p.token, SctProtection) and p.token.sct.identifier == identifier
    ]


def test_a_session_s_messages_share_one_protection_and_one_plan_each_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbound_fast, "_PLANS", {})
    eng = ServiceEngine(Calculator(), address=URL, certificate=CERT)
    seen: dict[str, Any] = {}

    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=AsgiApp(eng)))
        c = AsyncClient(URL, get_contract(Calculator), http=http, service_certificate=Certificate(CERT.cert))
        async with c:
            assert await c.call("Add", a=1, b=2) == 3
            session = c.flow.session
            assert session.sct is not None
            ident = seen["id"] = session.sct.identifier
            client_token = session._token()
            service_tokens = dict(eng._reply_tokens)
            reused = PATHS["protect.plan.reused"]
            for i in range(3):
                assert await c.call("Add", a=i, b=1) == i + 1
            # the same objects on both sides, and each message reused its side's plan
            assert session._token() is client_token
            assert dict(eng._reply_tokens) == service_tokens and len(service_tokens) == 1
            assert PATHS["protect.plan.reused"] - reused == 6
            assert len(plans_of(ident)) == 2  # the client's, the service's
            await c.renew()
            renewed = session._token()
            assert renewed is not client_token and renewed.key is session.key
            assert await c.call("Add", a=2, b=2) == 4
            # the old key's client plan is gone
            assert all(t is not client_token for t in plans_of(ident))
        seen["client_token"] = session._sct_protection
        await http.aclose()

    asyncio.run(main())
    # closed with a Cancel: no protection and no plan of the session left on either side
    assert seen["client_token"] is None
    assert not [n for n in eng._reply_tokens if n[0] == seen["id"]]
    assert plans_of(seen["id"]) == []


def test_a_new_key_under_the_same_names_gets_a_new_protection() -> None:
    eng = ServiceEngine(Calculator(), address=URL, certificate=CERT)
    sct = SecurityContextToken("urn:uuid:1", None, None, "uuid-1")
    first = eng._reply_token(sct, b"k" * 32)
    assert eng._reply_token(sct, b"k" * 32) is first
    second = eng._reply_token(sct, b"j" * 32)
    assert second is not first and second.key == b"j" * 32 and not second.include


def test_the_reply_protections_are_bounded() -> None:
    eng = ServiceEngine(Calculator(), address=URL, certificate=CERT)
    for i in range(200):
        eng._reply_token(SecurityContextToken(f"urn:uuid:{i}", None, None, f"uuid-{i}"), bytes(32))
        assert len(eng._reply_tokens) <= 64


def test_a_purge_drops_the_reply_protections_of_the_sessions_it_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session that ends by a timeout on the service: the purge that removes it drops its
    reply protection and its plan (they hold its key)."""
    monkeypatch.setattr(outbound_fast, "_PLANS", {})
    offset = [0.0]
    eng = ServiceEngine(Calculator(), address=URL, certificate=CERT, clock=lambda: time.time() + offset[0])
    seen: dict[str, str] = {}

    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=AsgiApp(eng)))
        c = AsyncClient(URL, get_contract(Calculator), http=http, service_certificate=Certificate(CERT.cert))
        await c.open()
        assert await c.call("Add", a=1, b=1) == 2
        assert c.flow.session.sct is not None
        seen["id"] = c.flow.session.sct.identifier
        await http.aclose()

    asyncio.run(main())
    assert len(plans_of(seen["id"])) == 2 and len(eng._reply_tokens) == 1
    # past the session's receive timeout, any message that reaches the engine purges it
    svc = eng.settings.service
    offset[0] = svc.receive_timeout.total_seconds() + svc.inactivity_timeout.total_seconds() + 10.0
    env = new_envelope(eng.soap, action="urn:any", to=URL, payload=etree.Element("any"))
    body = etree.tostring(env)
    out = eng.handle(HttpRequest("POST", "/svc", "", {"content-type": eng.soap.content_type}, body))
    assert isinstance(out, HttpResponse) and out.status == 500  # the message itself is refused
    assert eng.sessions.store.get(seen["id"]) is None and eng._reply_tokens == {}
    # the client never closed: its own plan is still there, the service's is gone
    assert [t.include for t in plans_of(seen["id"])] == [True]  # type: ignore[attr-defined]
