"""The client's conversation as one sans-IO flow, driven without a network.

The flow yields each request and takes the reply's bytes; here the "network" is the service
engine itself, in process, with a fake clock. The same flows drive Client and AsyncClient.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from engine_kit import ADD, Clock, client_for, engine_for, exchange

from wssc.errors import (
    BadContextToken,
    FailedCheck,
    RemoteFault,
    RenewNeeded,
    TransportError,
    WsscError,
    error_from_fault,
)
from wssc.service.engine import ServiceEngine
from wssc.session.client import Outgoing
from wssc.session.flow import ClientFlow, arun_flow, run_flow
from wssc.session.states import Event, Role, State, process_event
from wssc.settings import EndpointSettings, LocalServiceSecuritySettings
from wssc.xml import ns


def setup() -> tuple[ServiceEngine, ClientFlow, Clock, list[str], Callable[[Outgoing], bytes]]:
    clock = Clock()
    # The service renews keys every minute (WCF's default is 15 h).
    s = EndpointSettings(
        service=LocalServiceSecuritySettings(session_key_renewal_interval=timedelta(seconds=60))
    )
    engine = engine_for(s, clock)
    events: list[str] = []
    flow = ClientFlow(client_for(s), clock=clock, on_event=lambda e, d: events.append(e))

    def send(out: Outgoing) -> bytes:
        return exchange(engine, out.body, out.content_type).body

    return engine, flow, clock, events, send


def test_the_flow_yields_requests_and_takes_replies() -> None:
    engine, flow, _clock, events, send = setup()
    gen = flow.call(ADD, {"a": 2, "b": 3})
    kinds = []
    out = next(gen)
    try:
        while True:
            kinds.append(out.kind)
            out = gen.send(send(out))
    except StopIteration as done:
        assert done.value == 5
    assert kinds == ["issue", "app"]
    assert run_flow(flow.close(), send) is None
    assert events == ["issue", "call", "cancel"]
    assert len(engine.sessions.store) == 0


def test_renew_needed_renews_once_and_retries() -> None:
    _engine, flow, clock, events, send = setup()
    assert run_flow(flow.call(ADD, {"a": 1, "b": 1}), send) == 2
    flow.session.renew_at = clock.t + 10**9  # the client misses its own renewal time
    clock.t += 61  # the service's key lifetime has passed
    assert run_flow(flow.call(ADD, {"a": 2, "b": 2}), send) == 4
    assert events == ["issue", "call", "renew-needed", "renew", "call"]


def test_the_async_driver_runs_the_same_flow() -> None:
    _engine, flow, _clock, events, send = setup()

    async def asend(out: Outgoing) -> bytes:
        return send(out)

    async def go() -> object:
        value = await arun_flow(flow.call(ADD, {"a": 20, "b": 22}), asend)
        await arun_flow(flow.close(), asend)
        return value

    assert asyncio.run(go()) == 42
    assert events == ["issue", "call", "cancel"]


def test_a_network_error_during_close_is_thrown_into_the_flow() -> None:
    _engine, flow, _clock, _events, send = setup()
    run_flow(flow.call(ADD, {"a": 1, "b": 2}), send)

    def down(out: Outgoing) -> bytes:
        raise TransportError("cannot reach http://x/svc")

    run_flow(flow.close(), down)  # a failed Cancel is logged; the session closes locally
    assert flow.session.state is State.EXPIRED and not flow.session.is_open


def test_a_remote_fault_is_told_from_a_local_check() -> None:
    remote = error_from_fault(BadContextToken(sc_ns=ns.SC_2005).code, "gone")
    assert isinstance(remote, RemoteFault) and isinstance(remote, BadContextToken)
    assert not isinstance(BadContextToken(), RemoteFault)
    renew = error_from_fault(RenewNeeded(sc_ns=ns.SC_13).code, "")
    assert isinstance(renew, RemoteFault) and isinstance(renew, RenewNeeded)
    unknown = error_from_fault(FailedCheck().code, "x")
    assert isinstance(unknown, RemoteFault) and isinstance(unknown, WsscError)


def test_only_a_remote_bad_context_token_closes_the_session() -> None:
    _engine, flow, _clock, _events, send = setup()
    run_flow(flow.call(ADD, {"a": 1, "b": 2}), send)
    s = flow.session
    s.fault_received(BadContextToken("a local check failed"))  # says nothing of the service
    assert s.is_open
    s.fault_received(error_from_fault(BadContextToken(sc_ns=ns.SC_2005).code, "unknown"))
    assert not s.is_open and s.state is State.EXPIRED


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [
        (State.RENEWING, Event.RENEW_FAILED, State.ACTIVE),
        (State.ACTIVE, Event.CLOSED, State.EXPIRED),
        (State.PENDING, Event.CLOSED, State.EXPIRED),
    ],
)
def test_failed_renew_and_local_close_are_transitions(state: State, event: Event, after: State) -> None:
    assert process_event(Role.CLIENT, state, event) is after


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (State.ACTIVE, Event.RENEW_FAILED),
        (State.CANCELLED, Event.CLOSED),
        (State.EXPIRED, Event.MESSAGE),
    ],
)
def test_the_table_refuses_the_rest(state: State, event: Event) -> None:
    with pytest.raises(BadContextToken):
        process_event(Role.CLIENT, state, event)
