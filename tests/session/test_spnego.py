"""SPNEGO (WCF's SspiNegotiated) end to end, in process: the service engine and both clients,
over a real MIT KDC (`tests/kdc.py`) for Kerberos and pyspnego's NTLM for the fallback.

Each refusal asserts WCF's fault on the wire and the reason the service logged."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from kdc import PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
from wssc.client import AsyncClient, Client
from wssc.contract import get_contract
from wssc.demo import Calculator
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
