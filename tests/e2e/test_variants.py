"""More end-to-end variants: farms (Redis store, shared cookie key ring), per-message security
without a session, derived keys off, SOAP 1.1, the WSGI app, and renewal turned off."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from servers import BOOTSTRAP_NAMES, NEGOTIATING, client_credentials
from wssc.client import Client
from wssc.client.common import tls_verify
from wssc.errors import UnableToRenew

if TYPE_CHECKING:
    from servers import Server

from test_sessions import Raw

pytestmark = pytest.mark.e2e

#: The public address of a farm (its load balancer); each node listens on its own port.
FARM = "http://farm.example/svc"


def test_redis_store_serves_a_farm(server: Callable[..., Server], redis_server: tuple[str, int]) -> None:
    host, port = redis_server
    store = f"redis://{host}:{port}/3"
    # Two nodes, same store, both named by the farm's public address (the To they accept).
    a = server("--store", store, "--address", FARM)
    b = server("--store", store, "--binding", "wshttp", "--address", FARM)
    assert a.url != b.url
    raw = Raw(a)
    raw.issue()
    assert raw.add(1, 2) == 3
    raw.srv = b  # the next messages go to the other node
    assert raw.add(20, 22) == 42
    raw.cancel()  # cancelled on node B …
    raw.srv = a
    late = raw.add_request(1, 1)
    from wssc.errors import BadContextToken

    with pytest.raises(BadContextToken):  # … is gone on node A too
        raw.session.app_response(raw.post(late), late, time.time())


def test_cookie_key_ring_serves_a_farm(server: Callable[..., Server], wssc_home: Path) -> None:
    # Both nodes load the same key ring (--keyring, created by the first) and are given the
    # farm's address: the cookie names it, and the To names it.
    ring = str(wssc_home / "farm-keyring.json")
    a = server("--no-require-cancellation", "--keyring", ring, "--address", FARM)
    b = server("--no-require-cancellation", "--binding", "wshttp", "--keyring", ring, "--address", FARM)
    assert a.url != b.url
    raw = Raw(a)
    raw.issue()
    assert raw.add(1, 1) == 2
    raw.srv = b
    assert raw.add(2, 3) == 5


@pytest.mark.parametrize("bootstrap", BOOTSTRAP_NAMES)
def test_no_secure_context(server: Callable[..., Server], bootstrap: str) -> None:
    srv = server("--bootstrap", bootstrap, "--no-secure-context")
    wsdl = httpx.get(srv.wsdl_url, verify=tls_verify(srv.verify)).content
    assert b"SecureConversationToken" not in wsdl
    events: list[str] = []
    kw = client_credentials(bootstrap, srv.home)  # the registry says which credentials
    with Client.from_wsdl(srv.wsdl_url, verify=srv.verify, on_event=lambda e, d: events.append(e), **kw) as c:
        assert c.session.scs.establish_security_context is False
        assert c.Add(a=3, b=4) == 7
        assert c.Echo(text="no session") == "no session"
    assert "issue" not in events and "cancel" not in events and events.count("call") == 2
    # a negotiating bootstrap negotiates once (its legs), then its token protects both calls
    legs = events[:-2]
    assert events[-2:] == ["call", "call"], events
    assert (set(legs) == {"negotiate"}) if bootstrap in NEGOTIATING else not legs, events


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_no_derived_keys(server: Callable[..., Server], binding: str) -> None:
    srv = server("--binding", binding, "--no-derived-keys")
    wsdl = httpx.get(srv.wsdl_url).content
    assert b"RequireDerivedKeys" not in wsdl.split(b"BootstrapPolicy")[0]
    with Client.from_wsdl(srv.wsdl_url) as c:
        assert c.session.scs.require_derived_keys is False
        assert c.Add(a=1, b=1) == 2


def test_soap11(server: Callable[..., Server]) -> None:
    srv = server("--soap", "1.1", "--binding", "ws2007")
    with Client.from_wsdl(srv.wsdl_url) as c:
        assert c.session.soap.name == "1.1"
        assert c.Echo(text="soap 1.1") == "soap 1.1"


def test_wsgi_app(server: Callable[..., Server]) -> None:
    srv = server("--wsgi")
    events: list[str] = []
    with Client.from_wsdl(srv.wsdl_url, on_event=lambda e, d: events.append(e)) as c:
        assert c.Add(a=5, b=6) == 11
    assert events[0] == "issue" and events[-1] == "cancel"


def test_can_renew_false(server: Callable[..., Server]) -> None:
    # (key expiry without renewal, SessionKeyExpired, is checked on a fake clock in
    # tests/session/test_clock_driven.py: no sleeping here)
    srv = server("--binding", "ws2007", "--no-renew")
    wsdl = httpx.get(srv.wsdl_url).content
    assert b"MustNotSendRenew" in wsdl
    raw = Raw(srv)
    assert raw.session.scs.can_renew_session is False
    raw.issue()
    assert raw.add(1, 1) == 2
    # a Renew is refused even while the key is valid
    raw.session.force_renew = True
    raw.session.scs = raw.session.scs.__class__(
        **{
            **{f: getattr(raw.session.scs, f) for f in raw.session.scs.__dataclass_fields__},
            "can_renew_session": True,
        }
    )
    now = time.time()
    out = raw.session.renew_request(now)
    with pytest.raises(UnableToRenew):
        raw.session.renew_response(raw.post(out), out, now)
    raw.session.force_renew = False
    assert raw.add(2, 2) == 4  # the session itself is untouched
