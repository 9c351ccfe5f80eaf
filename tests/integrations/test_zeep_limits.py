"""zeep over a wssc session under the client's own limits (``max_received_message_size``,
``max_string_content_length`` given to `secure_session` / `async_secure_session`): a request
over them is refused before it is sent, a reply over them before zeep reads it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import zeep

from wssc.errors import QuotaExceeded
from wssc.integrations.zeep import async_secure_session, secure_session

pytestmark = pytest.mark.e2e


def _count_posts(transport: Any) -> list[bytes]:
    sent: list[bytes] = []
    transport.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request.body or b""))
    return sent


@pytest.mark.parametrize("plugin", [True, False])
def test_zeep_refuses_to_send_a_string_over_its_quota(server: Callable[..., Any], plugin: bool) -> None:
    srv = server("--binding", "ws2007")
    kwargs = secure_session(srv.wsdl_url, max_string_content_length=50)
    if not plugin:
        del kwargs["wsse"]
    sent = _count_posts(kwargs["transport"])
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Echo(text="x" * 50) == "x" * 50
        before = len(sent)
        with pytest.raises(QuotaExceeded) as exc:
            client.service.Echo(text="x" * 51)
        assert len(sent) == before  # nothing was sent
    assert exc.value.limit == "max_string_content_length" and exc.value.value == 50


def test_zeep_refuses_to_send_a_message_over_its_size(server: Callable[..., Any]) -> None:
    srv = server("--binding", "ws2007")
    kwargs = secure_session(srv.wsdl_url, max_received_message_size=20_000)
    sent = _count_posts(kwargs["transport"])
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Echo(text="x" * 1000) == "x" * 1000
        before = len(sent)
        with pytest.raises(QuotaExceeded) as exc:
            client.service.Echo(text="x" * 20_000)
        assert len(sent) == before
    assert exc.value.limit == "max_received_message_size" and exc.value.value == 20_000


def test_zeep_refuses_a_reply_over_its_limits(server: Callable[..., Any]) -> None:
    srv = server("--binding", "ws2007")
    t = async_secure_session(srv.wsdl_url, max_received_message_size=30_000)["transport"]
    assert t.core.session.settings.max_received_message_size == 30_000
    with pytest.raises(QuotaExceeded) as exc:
        t.core.raise_unsecured_fault(b"<x/>" + b" " * 30_000, status=200)
    assert "incoming messages (30000) has been exceeded" in str(exc.value)
    asyncio.run(t.aclose())
