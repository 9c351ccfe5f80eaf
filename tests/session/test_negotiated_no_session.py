"""``establish_security_context=False`` over a negotiating bootstrap, service side, in process:
SPNEGO (a real MIT KDC, `tests/kdc.py`) and TLSNEGO, both families. After the legs every
application message is protected by the negotiated SCT (WCF's wsHttpBinding with
establishSecurityContext=false), which the service keeps in its negotiated-token cache
(`wssc.session.negotiated`), not among the negotiations in progress; the authenticated
principal reaches the operation (`wssc.service.caller`)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from kdc import PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
from wssc.certs import generate_self_signed
from wssc.client import Client
from wssc.contract import get_contract, operation, service_contract
from wssc.service.caller import caller_identity
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
SERVICE_CERT = generate_self_signed("svc.wssc.test")


@service_contract(namespace="http://tempuri.org/", name="IWho")
class Who:
    @operation
    def WhoAmI(self, text: str) -> str:
        return f"{text}:{caller_identity()}"


def settings_for(bootstrap: Bootstrap, family: MessageSecurityVersion, **service: object) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=bootstrap, message_security_version=family, establish_security_context=False
        ),
        service=replace(LocalServiceSecuritySettings(), **service),  # type: ignore[arg-type]
    )


class Counting(httpx.BaseTransport):
    def __init__(self, engine: ServiceEngine) -> None:
        self.inner = httpx.WSGITransport(app=WsgiApp(engine))  # type: ignore[arg-type]
        self.actions: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.actions.append(body.split(b"Action", 2)[1][:120].decode(errors="replace"))
        return self.inner.handle_request(request)


def run(
    engine: ServiceEngine, settings: EndpointSettings, creds: ClientCredentials
) -> tuple[list[str], Counting]:
    transport = Counting(engine)
    with Client(
        ADDRESS,
        get_contract(Who),
        settings=settings,
        credentials=creds,
        http=httpx.Client(transport=transport),
    ) as c:
        answers = [c.WhoAmI(text=str(n)) for n in range(3)]
    return answers, transport


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_spnego_messages_under_the_negotiated_token(kdc: Kdc, family: MessageSecurityVersion) -> None:
    settings = settings_for(Bootstrap.SPNEGO, family)
    engine = ServiceEngine(
        Who(),
        settings=settings,
        address=ADDRESS,
        credentials=ServiceCredentials(kerberos_keytab=str(kdc.service_keytab)),
    )
    creds = ClientCredentials(spn=SERVICE, username=f"alice@{REALM}", password=PASSWORD)
    answers, transport = run(engine, settings, creds)
    assert answers == [f"{n}:alice@{REALM}" for n in range(3)]
    # one Kerberos leg, then three messages under its token: no RST/SCT, no session
    assert sum("RST/Issue" in a for a in transport.actions) == 1
    assert not any("RST/SCT" in a for a in transport.actions)
    assert engine.negotiations is not None and len(engine.negotiations) == 0  # its slot is free
    assert engine.negotiated is not None and len(engine.negotiated) == 1  # the token is cached


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_tlsnego_messages_under_the_negotiated_token(family: MessageSecurityVersion) -> None:
    settings = settings_for(Bootstrap.USERNAME_FOR_SSL, family)
    engine = ServiceEngine(
        Who(),
        settings=settings,
        address=ADDRESS,
        credentials=ServiceCredentials(
            certificate=SERVICE_CERT, username_validator=lambda u, p: (u, p) == ("bob", "Tls-Passw0rd!")
        ),
    )
    creds = ClientCredentials(service_certificate=SERVICE_CERT, username="bob", password="Tls-Passw0rd!")
    answers, transport = run(engine, settings, creds)
    assert answers == [f"{n}:bob" for n in range(3)]
    assert not any("RST/SCT" in a for a in transport.actions)
    assert engine.negotiations is not None and len(engine.negotiations) == 0
    assert engine.negotiated is not None and len(engine.negotiated) == 1


def test_a_flood_of_finished_negotiations_costs_bounded_memory() -> None:
    """Finished negotiations whose tokens are never used (TLSNEGO, anonymous): the cache holds
    at most ``max_cached_cookies`` of them, every one after gets ServerTooBusy (its slot in the
    negotiation states freed all the same), and memory stops growing once the cache is full:
    20 refused negotiations leave the service holding less than a tenth of what 9 cached tokens hold."""
    import gc
    import tracemalloc

    from wssc.errors import ServerTooBusy

    settings = settings_for(
        Bootstrap.TLSNEGO,
        WS2007,
        max_cached_cookies=10,
        max_cached_cookies_per_peer=0,
        max_stateful_negotiations=2,
    )
    engine = ServiceEngine(
        Who(), settings=settings, address=ADDRESS, credentials=ServiceCredentials(certificate=SERVICE_CERT)
    )
    creds = ClientCredentials(service_certificate=SERVICE_CERT)
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]

    def negotiate() -> bool:
        with Client(ADDRESS, get_contract(Who), settings=settings, credentials=creds, http=http) as c:
            try:
                c.WhoAmI(text="x")
            except ServerTooBusy:
                return False
            return True

    def served() -> int:
        """Memory held by what the service allocated (the engine on the traceback)."""
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, "*wssc/service/engine.py", all_frames=True)]
        )
        return sum(stat.size for stat in snapshot.statistics("filename"))

    assert negotiate()  # warm up imports and caches
    tracemalloc.start(30)
    try:
        start = served()
        first = [negotiate() for _ in range(9)]  # fills the cache (10 with the warm-up)
        filled = served()
        second = [negotiate() for _ in range(20)]
        flooded = served()
    finally:
        tracemalloc.stop()
    assert first == [True] * 9 and second == [False] * 20
    assert engine.negotiated is not None and len(engine.negotiated) == 10
    assert engine.negotiations is not None and len(engine.negotiations) == 0
    # 20 refused negotiations cost the service less than a tenth of what 9 cached tokens hold
    assert flooded - filled < (filled - start) / 10, (start, filled, flooded)
