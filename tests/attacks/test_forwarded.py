"""Finding 8: forwarded headers are honoured only from proxies configured explicitly.

A UserNameOverTransport service runs on plain HTTP, as it would behind a TLS-terminating proxy
(``launch.py`` drops only the TLS options from the ``uvicorn.run`` call the CLI makes). A
client on 127.0.0.1 claims ``X-Forwarded-Proto: https`` (or ``Forwarded: proto=https``): that
must not satisfy the HTTPS requirement, unless the operator said the proxy is trusted
(``wssc serve --forwarded-allow-ips 127.0.0.1``).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    BINDINGS,
    Dedicated,
    Recorder,
    Via,
    assert_generic_fault,
    fault_logged,
    last,
    log_mark,
    serve_args,
)

from servers import Server
from wssc.client import Client
from wssc.client.common import endpoint_from_wsdl
from wssc.errors import SecurityVerificationFailed, WsscError

pytestmark = pytest.mark.e2e

CLAIMS = {
    "x-forwarded-proto": {"x-forwarded-proto": "https"},
    "x-forwarded-proto-and-for": {"x-forwarded-proto": "https", "x-forwarded-for": "10.9.8.7"},
    "forwarded": {"forwarded": "for=10.9.8.7;proto=https"},
}


def plain_http_client(srv: Server, headers: dict[str, str]) -> tuple[Client, Recorder]:
    """A UserNameOverTransport client that talks plain HTTP to ``srv``, as a TLS-terminating
    proxy would: it addresses (``wsa:To``) the https address the WSDL advertises, and its
    requests reach ``srv`` over HTTP with ``headers``."""
    ep = endpoint_from_wsdl(httpx.get(srv.wsdl_url).content, srv.wsdl_url)
    assert ep.address.startswith("https://")
    via = Via(srv.url, headers)
    http = httpx.Client(transport=via, timeout=30)
    c = Client(ep.address, ep.contract, settings=ep.settings, username="alice", password="secret", http=http)
    c._own_http = True
    return c, via.recorder


def uot_http(start: Callable[..., Server], binding: str, *extra: str) -> Dedicated:
    return Dedicated(
        start,
        *serve_args(binding, "session", "--bootstrap", "username-over-transport", *extra),
        plain_http=True,
    )


@pytest.mark.parametrize("binding", BINDINGS)
def test_forwarded_claims_from_an_untrusted_peer_are_ignored(
    start_server: Callable[..., Server], binding: str
) -> None:
    with uot_http(start_server, binding) as srv:
        assert srv.url.startswith("http://")
        answers: dict[str, httpx.Response] = {}
        called: dict[str, bool] = {}
        for name, headers in {"no-claim": {}, **CLAIMS}.items():
            c, rec = plain_http_client(srv, headers)
            with c:
                try:
                    called[name] = c.Echo(text="over plain http") == "over plain http"
                except WsscError:
                    called[name] = False
                answers[name] = last(rec, "/RST/SCT").as_response()
        passed = [n for n, r in answers.items() if r.status_code == 200 or called[n]]
        assert not passed, f"plain HTTP passed the HTTPS requirement with: {passed}"
        for name, r in answers.items():
            assert_generic_fault(r, f"{name} over plain HTTP")


@pytest.mark.parametrize("binding", BINDINGS[:1])
def test_a_configured_proxy_is_trusted(start_server: Callable[..., Server], binding: str) -> None:
    """The other side of the contract: with ``--forwarded-allow-ips 127.0.0.1`` the same
    header is the proxy's word, and the call goes through."""
    with uot_http(start_server, binding, "--forwarded-allow-ips", "127.0.0.1") as srv:
        c, _ = plain_http_client(srv, CLAIMS["x-forwarded-proto"])
        with c:
            assert c.Echo(text="via the proxy") == "via the proxy"
        c, _ = plain_http_client(srv, {})
        with c:
            mark = log_mark(srv)
            with pytest.raises(SecurityVerificationFailed):
                c.Echo(text="no claim")
            fault_logged(srv, "UserNameOverTransport requires HTTPS", since=mark)
