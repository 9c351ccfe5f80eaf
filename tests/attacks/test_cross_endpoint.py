"""Finding 3: cross-endpoint replay. A victim's Add captured at service A must not run at
service B, and a message addressed elsewhere must not run here.

A and B are two cookie-mode ``wssc serve`` on one host with the same ``WSSC_HOME`` (the
fixtures share one): before the fix they shared the default key ring and nobody compared
``wsa:To``, so A's captured Add answered 200 at B. Now:

* each endpoint has its own key ring by default, and a cookie names the endpoint that issued
  it (refused elsewhere even when the ring is shared on purpose);
* the signed ``wsa:To`` must be this endpoint's address (WCF's address filter), else
  ``wsa:DestinationUnreachable``; a declared reverse proxy's forwarded origin counts too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from attack_kit import (
    BINDINGS,
    assert_fault,
    client_via,
    last,
    post,
    read_fault_bytes,
    recording_client,
    serve_args,
    wait_for_log,
)

from servers import Server
from wssc.errors import DestinationUnreachable, RemoteFault
from wssc.xml import ns

pytestmark = pytest.mark.e2e

OTHER_ENDPOINT = "cookie was issued by another endpoint"
EVIL = "http://evil.example/other"


def _captured_add(srv: Server) -> bytes:
    client, rec = recording_client(srv)
    with client:
        assert client.Add(a=20, b=22) == 42
    return last(rec, "/Add").request


@pytest.mark.parametrize("ring", ["default", "shared"])
def test_an_add_captured_at_a_is_refused_at_b(
    start_server: Callable[..., Server], wssc_home: Path, ring: str
) -> None:
    """``default``: each endpoint made its own ring (no flag). ``shared``: both were given one
    ring file on purpose; the cookie still names the endpoint that issued it."""
    extra: tuple[str, ...] = ()
    if ring == "shared":
        extra = ("--keyring", str(wssc_home / "shared-by-a-and-b.json"))
    a = start_server(*serve_args("wshttp", "cookie", *extra))
    b = start_server(*serve_args("wshttp", "cookie", *extra))
    if ring == "default":
        rings = sorted(p.name for p in wssc_home.glob("keyring-*.json"))
        assert any(str(a.port) in r for r in rings) and any(str(b.port) in r for r in rings)
    captured = _captured_add(a)
    r = post(b, captured)
    assert r.status_code == 500, f"A's Add ran at B: HTTP {r.status_code}"
    fault = assert_fault(r, "BadContextToken", "A's Add at B")
    assert fault.code == f"{{{ns.SC_2005}}}BadContextToken"
    wait_for_log(b, OTHER_ENDPOINT)
    assert OTHER_ENDPOINT not in a.log()


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("mode", ["session", "cookie"])
def test_a_message_addressed_elsewhere_is_destination_unreachable(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    """A signed application message with ``To=http://evil.example/other``: the signature and
    the session are fine, the address is not."""
    srv = server(*serve_args(binding, mode))
    client, rec = client_via(srv, srv.url)
    with client:
        assert client.Add(a=1, b=1) == 2  # a genuine session
        client.session.address = EVIL  # the next message is signed To=evil
        with pytest.raises(DestinationUnreachable) as info:
            client.Add(a=2, b=2)
        assert isinstance(info.value, RemoteFault)
        client.session.address = srv.url
    answer = last(rec, "/Add")
    assert answer.status == 500
    fault = read_fault_bytes(answer.response)
    assert fault is not None and fault.code == f"{{{ns.WSA10}}}DestinationUnreachable"
    assert "AddressFilter mismatch" in fault.reason
    wait_for_log(srv, f"wsa:To '{EVIL}' is not this endpoint's address")


@pytest.mark.parametrize(
    "to", [EVIL, "http://127.0.0.1:1/svc", "https://127.0.0.1:{port}/svc", "http://127.0.0.1:{port}/other"]
)
def test_an_rst_addressed_elsewhere_opens_no_session(server: Callable[..., Server], to: str) -> None:
    """The RST that opens a session is addressed too: another host and path, another port
    (the other endpoint on this host), another scheme, another path."""
    srv = server(*serve_args("wshttp", "cookie"))
    to = to.format(port=srv.port)
    client, rec = client_via(srv, to)
    with client, pytest.raises(DestinationUnreachable):
        client.Add(a=1, b=2)
    assert [e.action.rsplit("/", 1)[-1] for e in rec.exchanges] == ["SCT"]
    wait_for_log(srv, f"wsa:To '{to}' is not this endpoint's address")


def test_the_address_comparison_follows_wcf(server: Callable[..., Server]) -> None:
    """Host name ignored (StrongWildcard), default port, path case and trailing slash and
    query ignored: the same endpoint, as WCF's EndpointAddressMessageFilter sees it."""
    srv = server(*serve_args("wshttp", "cookie"))
    for to in (
        f"http://LOCALHOST:{srv.port}/svc",
        f"http://127.0.0.1:{srv.port}/SVC/",
        f"http://127.0.0.1:{srv.port}/svc?x=1",
    ):
        client, _ = client_via(srv, to)
        with client:
            assert client.Add(a=3, b=4) == 7, to


PROXY = {"x-forwarded-proto": "https", "x-forwarded-host": "public.example", "x-forwarded-for": "203.0.113.9"}


def test_behind_a_declared_proxy_the_public_address_is_this_endpoint(
    start_server: Callable[..., Server],
) -> None:
    """Clients address the proxy (``https://public.example/svc``); the proxy forwards over
    HTTP with X-Forwarded-*. Declared (``--forwarded-allow-ips``): the calls go through.
    Undeclared, the same headers are anybody's word: DestinationUnreachable."""
    declared = start_server(*serve_args("wshttp", "cookie", "--forwarded-allow-ips", "127.0.0.1"))
    client, _ = client_via(declared, "https://public.example/svc", PROXY)
    with client:
        assert client.Add(a=5, b=6) == 11
        assert client.Echo(text="via the proxy") == "via the proxy"
    # The declared proxy names the origin: another public port is another endpoint.
    client, _ = client_via(declared, "https://public.example:8443/svc", PROXY)
    with client, pytest.raises(DestinationUnreachable):
        client.Add(a=5, b=6)
    undeclared = start_server(*serve_args("wshttp", "cookie"))
    client, _ = client_via(undeclared, "https://public.example/svc", PROXY)
    with client, pytest.raises(DestinationUnreachable):
        client.Add(a=5, b=6)
    wait_for_log(undeclared, "wsa:To 'https://public.example/svc' is not this endpoint's")
