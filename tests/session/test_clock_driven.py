"""Time-driven session behaviour, in process: the sans-IO ServiceEngine and the clients run
on one fake clock (the engine's and the client's ``clock=`` seams), so a 3 s key lifetime is
exercised exactly, with no sleeping and no dependence on machine load.

These used to be end-to-end tests with 3 s lifetimes and 2-3.5 s sleeps against a ``wssc
serve`` subprocess. One real end-to-end check with generous margins stays in
``tests/e2e/test_sessions.py`` (``test_expired_key_gets_renew_needed_then_renew_works``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import timedelta

import httpx
import pytest

from wssc.bootstrap import AnonymousForCertificateClient, TransportInfo
from wssc.certs import Certificate, generate_self_signed
from wssc.client import Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import BadContextToken, RenewNeeded, SessionKeyExpired
from wssc.service.engine import Dispatch, HttpRequest, ServiceEngine, run_dispatch_sync
from wssc.service.wsgi import WsgiApp
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import (
    MESSAGE_SECURITY_VERSIONS,
    EndpointSettings,
    LocalServiceSecuritySettings,
    SecureConversationSettings,
)
from wssc.store.cookie import KeyRing

CERT = generate_self_signed()
ADDRESS = "http://svc.test/svc"
CONTRACT = get_contract(Calculator)
BINDINGS = ["wshttp", "ws2007"]


@dataclass
class FakeClock:
    t: float = field(default_factory=lambda: float(int(time.time())))

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def _settings(
    binding: str,
    *,
    cookie: bool = False,
    key_renewal: float | None = None,
    cookie_lifetime: float | None = None,
    can_renew: bool = True,
) -> EndpointSettings:
    svc = LocalServiceSecuritySettings()
    if key_renewal is not None:  # as `wssc serve --key-renewal` sets them
        svc = replace(
            svc,
            session_key_renewal_interval=timedelta(seconds=key_renewal),
            session_key_rollover_interval=timedelta(seconds=min(300.0, key_renewal)),
        )
    if cookie_lifetime is not None:
        svc = replace(svc, issued_cookie_lifetime=timedelta(seconds=cookie_lifetime))
    return EndpointSettings(
        SecureConversationSettings(
            message_security_version=MESSAGE_SECURITY_VERSIONS[binding],
            require_cancellation=not cookie,
            can_renew_session=can_renew,
        ),
        service=svc,
    )


class World:
    """One engine, one fake clock; hand-driven sessions (``raw``) and real Clients."""

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings
        self.clock = FakeClock()
        cookie = not settings.secure_conversation.require_cancellation
        self.engine = ServiceEngine(
            Calculator(),
            settings=settings,
            address=ADDRESS,
            certificate=CERT,
            clock=self.clock,
            keyring=KeyRing.generate() if cookie else None,
        )

    def post(self, out: Outgoing) -> bytes:
        r = self.engine.handle(
            HttpRequest("POST", "/svc", "", {"content-type": out.content_type}, out.body, TransportInfo())
        )
        return (run_dispatch_sync(r) if isinstance(r, Dispatch) else r).body

    def raw(self) -> Raw:
        return Raw(self)

    def client(self, events: list[str]) -> Client:
        http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(self.engine)))
        return Client(
            ADDRESS,
            CONTRACT,
            settings=self.settings,
            service_certificate=Certificate(CERT.cert),
            http=http,
            clock=self.clock,
            on_event=lambda e, d: events.append(e),
        )


class Raw:
    """A ClientSession driven by hand at the world's clock."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.session = ClientSession(
            world.settings, AnonymousForCertificateClient(Certificate(CERT.cert)), ADDRESS
        )

    def issue(self) -> None:
        now = self.w.clock()
        out = self.session.issue_request(now)
        self.session.issue_response(self.w.post(out), out, now)

    def add(self, a: int, b: int) -> object:
        now = self.w.clock()
        out = self.session.app_request(CONTRACT.operation("Add"), {"a": a, "b": b}, now)
        return self.session.app_response(self.w.post(out), out, now)

    def renew(self) -> None:
        now = self.w.clock()
        out = self.session.renew_request(now)
        self.session.renew_response(self.w.post(out), out, now)

    def cancel(self) -> None:
        now = self.w.clock()
        out = self.session.cancel_request(now)
        assert out is not None
        self.session.cancel_response(self.w.post(out), out, now)


@pytest.mark.parametrize("binding", BINDINGS)
def test_expired_key_gets_renew_needed_then_renew_works(binding: str) -> None:
    w = World(_settings(binding, key_renewal=3))
    raw = w.raw()
    raw.issue()
    assert raw.add(1, 1) == 2
    w.clock.advance(2.9)
    assert raw.add(1, 2) == 3  # still within the key's 3 s
    w.clock.advance(0.6)
    with pytest.raises(RenewNeeded):
        raw.add(2, 2)
    assert raw.session.renew_due(w.clock())
    first = raw.session.sct.instance if raw.session.sct else None
    raw.renew()
    assert raw.session.sct is not None and raw.session.sct.instance not in (None, first)
    assert raw.add(3, 4) == 7
    w.clock.advance(3.5)  # the renewed key expires too
    with pytest.raises(RenewNeeded):
        raw.add(1, 1)
    raw.cancel()  # a Cancel is exempt from key expiry


def test_client_renews_by_itself() -> None:
    w = World(_settings("ws2007", key_renewal=3))
    events: list[str] = []
    with w.client(events) as c:
        assert c.Add(a=1, b=2) == 3
        w.clock.advance(1.0)  # before 60 % of the key lifetime: no renewal
        assert c.Add(a=1, b=1) == 2
        assert "renew" not in events
        w.clock.advance(1.2)  # past 60 %
        assert c.Add(a=2, b=2) == 4
    assert events.count("renew") == 1 and events[-1] == "cancel"


def test_client_recovers_from_renew_needed() -> None:
    """Past the whole key lifetime (the client slept): the service's RenewNeeded makes the
    client renew and retry."""
    settings = _settings("wshttp", key_renewal=3)
    w = World(settings)
    events: list[str] = []
    with w.client(events) as c:
        assert c.Add(a=1, b=2) == 3
        c.session.renew_at = float("inf")  # as if the client had missed its renewal point
        w.clock.advance(10)
        assert c.Add(a=2, b=3) == 5
    assert "renew-needed" in events and "renew" in events


def test_expired_cookie_is_rejected_and_the_client_reissues() -> None:
    w = World(_settings("ws2007", cookie=True, cookie_lifetime=3))
    raw = w.raw()
    raw.issue()
    assert raw.add(1, 1) == 2
    w.clock.advance(2.9)
    assert raw.add(1, 1) == 2
    w.clock.advance(0.6)
    with pytest.raises(BadContextToken):
        raw.add(1, 1)
    events: list[str] = []
    with w.client(events) as c:
        assert c.Add(a=1, b=1) == 2
        w.clock.advance(1.0)
        assert c.Add(a=1, b=2) == 3
        assert events.count("issue") == 1 and "reissue" not in events
        w.clock.advance(1.0)  # past 60 % of the cookie lifetime
        assert c.Add(a=1, b=3) == 4
    assert events.count("issue") + events.count("reissue") == 2 and "cancel" not in events


def test_cannot_renew_gets_session_key_expired() -> None:
    w = World(_settings("ws2007", key_renewal=3, can_renew=False))
    raw = w.raw()
    raw.issue()
    assert raw.add(1, 1) == 2
    w.clock.advance(3.5)
    with pytest.raises(SessionKeyExpired):  # not RenewNeeded: renewing is off
        raw.add(2, 2)
