"""Issue 6 finding 7, issue 13 item 8: pending-session floods cannot lock anybody out.

WCF's global quota (``max_pending_sessions``, 128) and wssc's per-peer quota
(``max_pending_sessions_per_peer``, 16, ``wssc serve --max-pending-sessions-per-peer N``) both
stay, but neither refuses a newcomer any more: past the per-peer quota the peer's own oldest
unused pending session is evicted, and with the global quota full the oldest unused pending
session of all is (WCF refuses with ServerTooBusy there; wssc deviates so that 128 unused RSTs
cannot lock everyone out for the inactivity timeout). Flood sources are loopback addresses
127.0.0.x, which Linux routes to the service like distinct clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    BINDINGS,
    Dedicated,
    read_fault_bytes,
    recording_client,
    serve_args,
    wait_logged,
)

from servers import Server
from wssc.client import Client
from wssc.client.common import endpoint_from_wsdl
from wssc.errors import WsscError

pytestmark = pytest.mark.e2e

GLOBAL = 40
PER_PEER_DEFAULT = 16
PEER_EVICTION = "its peer holds max_pending_sessions_per_peer"
GLOBAL_EVICTION = "max_pending_sessions (128) are pending"


def flood(srv: Server, source: str, count: int) -> list[int]:
    """``count`` anonymous RSTs from ``source``, never used; returns the HTTP statuses."""
    c = Client.from_wsdl(srv.wsdl_url)
    s = c.session
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=30) as http:
        statuses = []
        for _ in range(count):
            out = s.issue_request(time.time())
            r = http.post(srv.url, content=out.body, headers={"content-type": out.content_type})
            statuses.append(r.status_code)
    return statuses


def opened_client(srv: Server, source: str) -> Client:
    """A client from ``source`` whose session is open (issued) but not used yet."""
    ep = endpoint_from_wsdl(httpx.get(srv.wsdl_url).content, srv.wsdl_url)
    http = httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=30)
    c = Client(ep.address, ep.contract, settings=ep.settings, service_certificate=ep.certificate, http=http)
    c._own_http = True
    c.open()
    return c


def assert_newcomer_served(srv: Server, source: str) -> None:
    other, rec = recording_client(srv, local_address=source)
    with other:
        try:
            assert other.Echo(text="from elsewhere") == "from elsewhere"
        except WsscError as exc:
            faults = [read_fault_bytes(e.response) for e in rec.exchanges]
            pytest.fail(f"a client from {source} was locked out by the flood: {exc!r} {faults}")


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("quota", [None, 4], ids=["default-quota", "quota-4"])
def test_one_peer_flood_evicts_only_its_own_oldest_pending_sessions(
    start_server: Callable[..., Server], binding: str, quota: int | None
) -> None:
    extra = ["--max-pending-sessions", str(GLOBAL)]
    if quota is not None:
        extra += ["--max-pending-sessions-per-peer", str(quota)]
    expected = quota if quota is not None else PER_PEER_DEFAULT
    with Dedicated(start_server, *serve_args(binding, "session", *extra)) as srv:
        first = opened_client(srv, "127.0.0.1")  # the flood's oldest pending session
        statuses = flood(srv, "127.0.0.1", GLOBAL + 1)
        assert statuses == [200] * (GLOBAL + 1), (
            f"a flood from one peer was refused: {statuses} (evict its oldest instead)"
        )
        # Each RST past the quota evicted one of the peer's own pending sessions.
        wait_logged(srv, PEER_EVICTION + f" ({expected})", count=GLOBAL + 2 - expected)
        print(
            f"\n[pending flood] {binding} quota {expected}: {GLOBAL + 2} RSTs from "
            f"127.0.0.1 all answered; {GLOBAL + 2 - expected} of its pending sessions evicted"
        )
        # The flood's oldest session is gone: its first message is refused, and says so.
        with first:
            with pytest.raises(WsscError) as refused:
                first.Echo(text="too late")
            assert "BadContextToken" in str(refused.value)
        wait_logged(srv, "unknown or cancelled session")
        # Another source address still gets a session, and can use it.
        assert_newcomer_served(srv, "127.0.0.2")


def test_nine_addresses_cannot_lock_out_a_newcomer(start_server: Callable[..., Server]) -> None:
    """The issue's numbers at the defaults: 9 addresses x 17 unused RSTs (153 > 128 slots)."""
    with Dedicated(start_server, *serve_args("wshttp", "session")) as srv:
        for n in range(9):
            statuses = flood(srv, f"127.0.0.{11 + n}", 17)
            assert statuses == [200] * 17, f"127.0.0.{11 + n}: {statuses}"
        # 9 x 16 = 144 > 128: the global quota evicted the oldest; each peer's 17th RST its own.
        wait_logged(srv, GLOBAL_EVICTION, count=153 - 128 - 9)
        wait_logged(srv, PEER_EVICTION + " (16)", count=1)
        assert_newcomer_served(srv, "127.0.0.30")
