"""The state machines own the state: every change of a client's or a service's session goes
through its role's ``process_event`` and follows the table in :mod:`wssc.session.states`;
expiry is an event too."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from engine_kit import ADD, Clock, client_for, engine_for, exchange

import wssc.session.client
import wssc.session.service
from wssc.errors import BadContextToken, TransportError
from wssc.session import states
from wssc.session.client import ClientSession, Outgoing
from wssc.session.flow import ClientFlow, run_flow
from wssc.session.service import SessionManager
from wssc.session.states import TRANSITIONS, Event, Role, State
from wssc.settings import EndpointSettings, LocalServiceSecuritySettings, SecureConversationSettings
from wssc.store.record import SessionRecord
from wssc.tokens.sct import SecurityContextToken

P, A, C, X = State.PENDING, State.ACTIVE, State.CANCELLED, State.EXPIRED


@dataclass(frozen=True)
class Step:
    role: Role
    before: State | None
    event: Event
    after: State


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Step]]:
    """Every call of ``process_event`` that the client and the service make, in order."""
    seen: list[Step] = []

    def spy(role: Role, state: State | None, event: Event, sc_ns: str = "") -> State:
        after = states.process_event(role, state, event, sc_ns)
        seen.append(Step(role, state, event, after))
        return after

    monkeypatch.setattr(wssc.session.client, "process_event", spy)
    monkeypatch.setattr(wssc.session.service, "process_event", spy)
    yield seen


def assert_one_chain(seen: list[Step], session: ClientSession) -> None:
    """The client's steps form one unbroken path through its table, from no session to the
    state the session shows: no change happened beside ``process_event``."""
    mine = [s for s in seen if s.role is Role.CLIENT]
    assert mine and mine[0].before is None
    for prev, step in itertools.pairwise(mine):
        assert step.before is prev.after, f"{step} does not follow {prev}"
    for step in mine:
        assert TRANSITIONS[Role.CLIENT][step.before][step.event] is step.after
    assert session.state is mine[-1].after


def flow_for(settings: EndpointSettings, clock: Clock) -> tuple[ClientFlow, Callable[[Outgoing], bytes]]:
    engine = engine_for(settings, clock)

    def send(out: Outgoing) -> bytes:
        return exchange(engine, out.body, out.content_type).body

    return ClientFlow(client_for(settings), clock=clock), send


def test_every_client_change_goes_through_the_table(steps: list[Step]) -> None:
    clock = Clock()
    flow, send = flow_for(EndpointSettings(), clock)
    s = flow.session
    call = lambda a: run_flow(flow.call(ADD, {"a": a, "b": 1}), send)  # noqa: E731
    assert call(1) == 2
    s.force_renew = True
    assert call(2) == 3  # PENDING/ACTIVE -> RENEWING -> ACTIVE
    run_flow(flow.close(), send)  # -> CANCELLED
    assert s.state is C
    assert call(3) == 4  # CANCELLED -> PENDING: the next session
    s.sct = replace(s.sct, identifier="urn:uuid:unknown")  # type: ignore[arg-type]
    with pytest.raises(BadContextToken):
        call(4)  # the service does not know it: -> EXPIRED
    assert s.state is X
    assert call(5) == 6  # EXPIRED -> PENDING -> ACTIVE
    assert_one_chain(steps, s)
    assert [st.event for st in steps if st.role is Role.CLIENT] == [
        Event.ISSUED,
        Event.MESSAGE,
        Event.RENEW_SENT,
        Event.RENEWED,
        Event.MESSAGE,
        Event.CANCEL,
        Event.ISSUED,
        Event.MESSAGE,
        Event.CLOSED,
        Event.ISSUED,
        Event.MESSAGE,
    ]
    with pytest.raises(AttributeError):
        s.state = State.ACTIVE  # type: ignore[misc]


def test_a_reissued_cookie_closes_the_old_session_first(steps: list[Step]) -> None:
    """Cookie mode re-issues at 60 % of the cookie's life while the session is open: the old
    session is closed through the table (it used to jump from "no session" to PENDING)."""
    clock = Clock()
    settings = EndpointSettings(SecureConversationSettings(require_cancellation=False))
    flow, send = flow_for(settings, clock)
    s = flow.session
    assert run_flow(flow.call(ADD, {"a": 1, "b": 1}), send) == 2
    first = s.sct
    clock.t = s.renew_at + 1
    assert run_flow(flow.call(ADD, {"a": 2, "b": 2}), send) == 4
    assert s.sct != first and s.state is A
    assert_one_chain(steps, s)
    client = [(st.before, st.event) for st in steps if st.role is Role.CLIENT]
    assert client[2:5] == [(A, Event.CLOSED), (X, Event.ISSUED), (P, Event.MESSAGE)]


def test_a_network_error_during_renew_keeps_the_key(steps: list[Step]) -> None:
    """A Renew that never got an answer returns the session to ACTIVE, and the next call
    renews again (it used to stay RENEWING, and every later Renew was refused locally)."""
    clock = Clock()
    flow, send = flow_for(EndpointSettings(), clock)
    s = flow.session
    assert run_flow(flow.call(ADD, {"a": 1, "b": 1}), send) == 2
    key = s.key

    def down_for_renew(out: Outgoing) -> bytes:
        if out.kind == "renew":
            raise TransportError("cannot reach http://x/svc")
        return send(out)

    s.force_renew = True
    with pytest.raises(TransportError):
        run_flow(flow.call(ADD, {"a": 2, "b": 2}), down_for_renew)
    assert s.state is A and s.key == key and s.force_renew
    assert run_flow(flow.call(ADD, {"a": 3, "b": 3}), send) == 6
    assert s.key != key  # renewed this time
    assert_one_chain(steps, s)
    assert (State.RENEWING, Event.RENEW_FAILED, A) in [
        (st.before, st.event, st.after) for st in steps if st.role is Role.CLIENT
    ]


# --- the service ------------------------------------------------------------------------------
def manager(**service: object) -> SessionManager:
    return SessionManager(EndpointSettings(service=replace(LocalServiceSecuritySettings(), **service)))  # type: ignore[arg-type]


def stored(m: SessionManager, state: State, now: float) -> SessionRecord:
    rec = m.issue(b"k" * 32, "", now, peer="192.0.2.1").record
    if state is A:
        m.activate(rec, now)
    got = m.store.get(rec.context_id)
    assert got is not None and got.activated is (state is A)
    return got


def apply(m: SessionManager, rec: SessionRecord, event: Event, now: float) -> None:
    sct = SecurityContextToken(rec.context_id, rec.instance)
    if event is Event.MESSAGE:
        m.activate(m.lookup(sct, now), now)
    elif event is Event.RENEWED:
        m.renew(sct, b"n" * 32, now)
    elif event is Event.CANCEL:
        m.cancel(m.lookup(sct, now))
    else:  # EXPIRED: the token's lifetime is over; the next lookup finds it so
        m.store.put(replace(rec, expires=now - 1))
        with pytest.raises(BadContextToken) as info:
            m.lookup(sct, now)
        assert "expired" in info.value.detail


SERVICE_EVENTS = [Event.MESSAGE, Event.RENEWED, Event.CANCEL, Event.EXPIRED]


@pytest.mark.parametrize("event", SERVICE_EVENTS, ids=lambda e: e.value)
@pytest.mark.parametrize("start", [P, A], ids=lambda s: s.value)
def test_the_service_store_follows_the_table(steps: list[Step], start: State, event: Event) -> None:
    """Each event on a stored session goes through the service table once, and the store then
    holds what the table says: the record, activated when ACTIVE, or nothing once the session
    ended. On the ended session the same event is BadContextToken."""
    m = manager()
    now = 1_800_000_000.0
    rec = stored(m, start, now)
    del steps[:]
    apply(m, rec, event, now + 1)
    after = TRANSITIONS[Role.SERVICE][start][event]
    assert steps == [Step(Role.SERVICE, start, event, after)]
    held = m.store.get(rec.context_id)
    if after in (C, X):
        assert held is None and m.store.count_pending() == 0
        with pytest.raises(BadContextToken) as info:
            apply(m, rec, event if event is not Event.EXPIRED else Event.MESSAGE, now + 2)
        assert "unknown or cancelled session" in info.value.detail
    else:
        assert held is not None and held.activated is (after is A)


def test_eviction_is_an_expired_event(steps: list[Step], caplog: pytest.LogCaptureFixture) -> None:
    """A pending session evicted for the quota, or forgotten after the inactivity timeout,
    ends through EXPIRED (it used to be deleted beside the table)."""
    caplog.set_level(logging.INFO, "wssc.session")
    m = manager(max_pending_sessions=1)
    now = 1_800_000_000.0
    first = stored(m, P, now)
    del steps[:]
    second = m.issue(b"k" * 32, "", now + 1, peer="192.0.2.2").record
    assert steps == [Step(Role.SERVICE, P, Event.EXPIRED, X), Step(Role.SERVICE, None, Event.ISSUED, P)]
    assert m.store.get(first.context_id) is None
    assert "max_pending_sessions (1) are pending" in caplog.text
    del steps[:]
    later = now + 1 + m.settings.service.inactivity_timeout.total_seconds() + 1
    m._last_purge = later  # the store's bulk purge aside: the issue path forgets it itself
    m.issue(b"k" * 32, "", later, peer="192.0.2.3")
    assert steps[0] == Step(Role.SERVICE, P, Event.EXPIRED, X)
    assert m.store.get(second.context_id) is None
    assert "unused for the inactivity timeout" in caplog.text


def test_the_store_purge_is_expired_in_bulk() -> None:
    """``maybe_purge`` lets the store delete stale sessions in one pass: allowed because the
    service table ends every state a store holds with EXPIRED."""
    for held in (P, A):
        assert TRANSITIONS[Role.SERVICE][held][Event.EXPIRED] is X
    m = manager(inactivity_timeout=timedelta(seconds=10))
    now = 1_800_000_000.0
    rec = stored(m, P, now)
    assert m.maybe_purge(now + 11) == 1 and m.store.get(rec.context_id) is None
