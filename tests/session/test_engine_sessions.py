"""The sans-IO engine and ClientSession together, with a fake clock: entropy modes, key
rollover, purging, and the state table."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from engine_kit import ADD, CERT, Clock, client_for, engine_for, exchange

from wssc.certs import Certificate
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import BadContextToken, RenewNeeded
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession, Outgoing
from wssc.session.states import TRANSITIONS, Event, Role, State, process_event
from wssc.settings import (
    WS2007,
    WSHTTP,
    EndpointSettings,
    KeyEntropyMode,
    LocalServiceSecuritySettings,
    SecureConversationSettings,
)


def make(settings: EndpointSettings, clock: Clock) -> tuple[ServiceEngine, ClientSession]:
    return engine_for(settings, clock), client_for(settings)


def post(engine: ServiceEngine, out: Outgoing) -> bytes:
    return exchange(engine, out.body, out.content_type).body


def issue(engine: ServiceEngine, client: ClientSession, now: float) -> None:
    out = client.issue_request(now)
    client.issue_response(post(engine, out), out, now)


def add(engine: ServiceEngine, client: ClientSession, a: int, b: int, now: float) -> object:
    out = client.app_request(ADD, {"a": a, "b": b}, now)
    return client.app_response(post(engine, out), out, now)


@pytest.mark.parametrize("mode", list(KeyEntropyMode))
@pytest.mark.parametrize("version", [WSHTTP, WS2007])
def test_entropy_modes(mode: KeyEntropyMode, version: object) -> None:
    clock = Clock()
    settings = EndpointSettings(
        SecureConversationSettings(key_entropy_mode=mode, message_security_version=version)
    )  # type: ignore[arg-type]
    engine, client = make(settings, clock)
    issue(engine, client, clock.t)
    rec = engine.sessions.store.get(client.sct.identifier)  # type: ignore[union-attr]
    assert rec is not None and rec.key == client.key  # both sides computed the same key
    assert len(client.key or b"") == 32
    assert add(engine, client, 2, 3, clock.t) == 5


def test_key_rollover_keeps_the_old_key_for_five_minutes() -> None:
    clock = Clock()
    settings = EndpointSettings()
    engine, client = make(settings, clock)
    issue(engine, client, clock.t)
    old_sct, old_key = client.sct, client.key
    stale = client.app_request(ADD, {"a": 1, "b": 1}, clock.t)  # built under the old key
    client.force_renew = True
    out = client.renew_request(clock.t)
    client.renew_response(post(engine, out), out, clock.t)
    assert client.sct is not None and old_sct is not None
    assert client.sct.instance and client.sct.instance != old_sct.instance
    assert client.key != old_key
    # within the rollover interval the old key is still accepted …
    clock.t += 4 * 60
    assert client.app_response(post(engine, stale), stale, clock.t) == 2
    # … and after it, not
    stale2 = ClientSession(settings, client.bootstrap, "http://x/svc")
    stale2.sct, stale2.key = old_sct, old_key
    stale2.process_event(Event.ISSUED)
    clock.t += 2 * 60
    out = stale2.app_request(ADD, {"a": 1, "b": 2}, clock.t)
    with pytest.raises(BadContextToken):
        stale2.app_response(post(engine, out), out, clock.t)
    assert add(engine, client, 3, 4, clock.t) == 7  # the new key works


def test_renew_needed_after_key_expiry_and_cancel_is_exempt() -> None:
    clock = Clock()
    # A session idle longer than receive_timeout (10 min) is closed, as WCF does; keep it
    # alive across the 15 h jump.
    settings = EndpointSettings(
        service=replace(LocalServiceSecuritySettings(), receive_timeout=timedelta(days=1))
    )
    engine, client = make(settings, clock)
    issue(engine, client, clock.t)
    assert add(engine, client, 1, 1, clock.t) == 2
    clock.t += 15 * 3600 + 1  # past session_key_renewal_interval (15 h)
    with pytest.raises(RenewNeeded) as info:
        add(engine, client, 1, 1, clock.t)
    assert info.value.action == "http://schemas.microsoft.com/ws/2006/05/security/SecureConversationFault"
    out = client.cancel_request(clock.t)
    assert out is not None
    client.cancel_response(post(engine, out), out, clock.t)  # no RenewNeeded for a Cancel
    assert client.state is State.CANCELLED
    assert len(engine.sessions.store) == 0


def test_pending_sessions_are_purged_after_inactivity() -> None:
    clock = Clock()
    settings = EndpointSettings(service=LocalServiceSecuritySettings(max_pending_sessions=2))
    engine, _ = make(settings, clock)
    clients = [make(settings, clock)[1] for _ in range(3)]
    issue(engine, clients[0], clock.t)
    issue(engine, clients[1], clock.t + 1)
    # The quota is full: the oldest unused pending session makes room (WCF would refuse
    # with ServerTooBusy; issue 13 item 8).
    issue(engine, clients[2], clock.t + 2)
    assert engine.sessions.store.count_pending() == 2
    with pytest.raises(BadContextToken):
        add(engine, clients[0], 1, 1, clock.t + 2)
    clock.t += settings.service.inactivity_timeout.total_seconds() + 10
    assert engine.sessions.maybe_purge(clock.t) == 2  # the two idle pending sessions
    assert engine.sessions.store.count_pending() == 0
    with pytest.raises(BadContextToken):
        add(engine, clients[1], 1, 1, clock.t)


def test_idle_active_session_expires_after_receive_timeout() -> None:
    clock = Clock()
    settings = EndpointSettings(
        service=replace(LocalServiceSecuritySettings(), receive_timeout=timedelta(minutes=10))
    )
    engine, client = make(settings, clock)
    issue(engine, client, clock.t)
    assert add(engine, client, 1, 1, clock.t) == 2
    clock.t += 11 * 60
    engine.sessions.maybe_purge(clock.t)
    with pytest.raises(BadContextToken):
        add(engine, client, 1, 1, clock.t)


@pytest.mark.parametrize("role", list(Role))
def test_state_table_forbids_everything_else(role: Role) -> None:
    states: list[State | None] = [None, *State]
    table = TRANSITIONS[role]
    for state in states:
        for event in Event:
            after = table.get(state, {}).get(event)
            if after is not None:
                assert process_event(role, state, event) is after
            else:
                with pytest.raises(BadContextToken) as info:
                    process_event(role, state, event)
                assert f"{event.value} is not allowed in state" in info.value.detail
    ended = (State.CANCELLED, State.EXPIRED)
    if role is Role.SERVICE:  # nothing leaves CANCELLED or EXPIRED on the service …
        assert not any(s in ended for s in table)
    else:  # … and a client leaves them only to open its next session
        assert all(dict(table[s]) == {Event.ISSUED: State.PENDING} for s in ended)


def test_wrong_sc_version_is_bad_context_token() -> None:
    clock = Clock()
    engine, _ = make(EndpointSettings(SecureConversationSettings(message_security_version=WS2007)), clock)
    _, client13 = make(EndpointSettings(SecureConversationSettings(message_security_version=WS2007)), clock)
    issue(engine, client13, clock.t)
    # a client speaking Feb 2005 with the same key and identifier
    other = ClientSession(EndpointSettings(), client13.bootstrap, "http://x/svc")
    other.sct, other.key = client13.sct, client13.key
    other.process_event(Event.ISSUED)
    out = other.app_request(ADD, {"a": 1, "b": 1}, clock.t)
    with pytest.raises(BadContextToken):
        other.app_response(post(engine, out), out, clock.t)


def test_cancel_target_must_be_the_signing_sct() -> None:
    from wssc.errors import WsscError
    from wssc.tokens import SecurityContextToken
    from wssc.trust import CancelRequest
    from wssc.xml.soap import new_envelope

    clock = Clock()
    engine, a = make(EndpointSettings(), clock)
    _, b = make(EndpointSettings(), clock)
    issue(engine, a, clock.t)
    issue(engine, b, clock.t)
    assert a.sct is not None and b.sct is not None
    # A signs a Cancel whose CancelTarget is B's session.
    req = CancelRequest.build(SecurityContextToken(b.sct.identifier))
    env = new_envelope(a.soap, action=a.trust.rst_sct_cancel, to="http://x/svc", payload=req.to_xml(a.sc))
    out = a._out(a._protect(env, clock.t), a.trust.rst_sct_cancel, kind="cancel")
    try:
        a.cancel_response(post(engine, out), out, clock.t)
    except WsscError as exc:
        assert exc.code.local == "InvalidRequest"  # WCF's BadCloseTarget
    else:
        raise AssertionError("a Cancel for another session was accepted")
    assert len(engine.sessions.store) == 2  # nothing was cancelled
    assert add(engine, b, 1, 1, clock.t) == 2


def test_client_renews_after_renew_needed() -> None:
    import httpx

    from wssc.client import Client
    from wssc.service.wsgi import WsgiApp

    clock = Clock()
    settings = EndpointSettings(
        service=replace(LocalServiceSecuritySettings(), receive_timeout=timedelta(days=1))
    )
    engine = ServiceEngine(
        Calculator(), settings=settings, address="http://x/svc", certificate=CERT, clock=clock
    )
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    events: list[str] = []
    with Client(
        "http://x/svc",
        get_contract(Calculator),
        settings=settings,
        http=http,
        service_certificate=Certificate(CERT.cert),
        clock=clock,
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=1, b=1) == 2
        c.session.renew_at = clock.t + 10**9  # the client misses its own renewal time
        clock.t += 15 * 3600 + 5
        assert c.Add(a=2, b=2) == 4  # RenewNeeded, renew, retry
    assert events == ["issue", "call", "renew-needed", "renew", "call", "cancel"]


def test_replayed_issue_request_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    engine, client = make(EndpointSettings(), clock)
    out = client.issue_request(clock.t)
    client.issue_response(post(engine, out), out, clock.t)
    assert engine.sessions.store.count_pending() == 1
    with caplog.at_level("INFO", logger="wssc.service"):
        replay = post(engine, out)  # the same bytes again
    # The wire says only WCF's generic fault; the service log says why.
    assert b"Fault" in replay and b"An error occurred when verifying security" in replay
    assert b"replay" not in replay.lower()
    assert "replay" in caplog.text
    assert engine.sessions.store.count_pending() == 1  # no second session was issued
