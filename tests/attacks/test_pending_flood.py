"""Finding 7: one source cannot hold every pending-session slot.

WCF's global quota (``max_pending_sessions``) stays; on top of it, a quota per peer address
(``LocalServiceSecuritySettings.max_pending_sessions_per_peer``, default 16, ``wssc serve
--max-pending-sessions-per-peer N``). Anonymous RSTs flood from 127.0.0.1 until the service
says ServerTooBusy; a client from 127.0.0.2 still gets a session.

The global quota is lowered to 40 here so the flood is bounded either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    BINDINGS,
    Dedicated,
    assert_fault,
    read_fault_bytes,
    recording_client,
    serve_args,
)

from servers import Server
from wssc.client import Client

pytestmark = pytest.mark.e2e

GLOBAL = 40
PER_PEER_DEFAULT = 16


def flood(srv: Server, source: str, limit: int) -> tuple[int, httpx.Response | None]:
    """Send anonymous RSTs from ``source`` until a fault; returns (accepted, the fault)."""
    c = Client.from_wsdl(srv.wsdl_url)
    s = c.session
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=30) as http:
        for n in range(limit):
            out = s.issue_request(time.time())
            r = http.post(srv.url, content=out.body, headers={"content-type": out.content_type})
            if r.status_code != 200:
                return n, r
    return limit, None


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("quota", [None, 4], ids=["default-quota", "quota-4"])
def test_one_peer_cannot_take_every_pending_slot(
    start_server: Callable[..., Server], binding: str, quota: int | None
) -> None:
    extra = ["--max-pending-sessions", str(GLOBAL)]
    if quota is not None:
        extra += ["--max-pending-sessions-per-peer", str(quota)]
    with Dedicated(start_server, *serve_args(binding, "session", *extra)) as srv:
        accepted, refusal = flood(srv, "127.0.0.1", GLOBAL + 1)
        print(f"\n[pending flood] {binding} quota {quota}: {accepted} RSTs accepted from "
              "127.0.0.1 before ServerTooBusy")
        assert refusal is not None, f"{GLOBAL + 1} pending sessions accepted"
        assert_fault(refusal, "ServerTooBusy", "the flood's end")
        expected = quota if quota is not None else PER_PEER_DEFAULT
        assert accepted == expected, (
            f"{accepted} pending sessions from one peer before ServerTooBusy; the per-peer "
            f"quota is {expected}")
        # Another source address still gets a session, and can use it.
        other, rec = recording_client(srv, local_address="127.0.0.2")
        with other:
            try:
                assert other.Echo(text="from elsewhere") == "from elsewhere"
            except Exception as exc:
                faults = [read_fault_bytes(e.response) for e in rec.exchanges]
                pytest.fail(f"a client from 127.0.0.2 was locked out by 127.0.0.1's flood: "
                            f"{exc!r} {faults}")
