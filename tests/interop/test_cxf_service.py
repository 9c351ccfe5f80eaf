"""Live: wssc's client against an Apache CXF service (4.2.3, its defaults: WS-I BSP compliance
on), over HTTP on loopback.

``wssc.cxf.CxfService`` (``interop/cxf``) serves the demo contract behind a WS-SecurityPolicy
written in CXF's own shapes (its ws-security system tests): a SymmetricBinding whose
ProtectionToken is a SecureConversationToken with a BootstrapPolicy over an X509Token, Lax
layout, WS-Policy 1.5 and ``wsam:Addressing``; SP 2005/07 (wssc's WSHTTP family, SC 2005/02)
or SP 1.2 (WS2007, SC 1.3). CXF runs the STS side of WS-SC itself. Both sides decide each test:
CXF's verdict (its ``RESULT`` line per ``REPORT``: SCTs issued, renewed, cancelled, the calls it
ran, the faults it sent) with its exit code at the end, and what wssc's client saw.
See interop/cxf/FINDINGS.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cxf_peer import CxfService, start_cxf_service

from wssc.certs import Certificate, generate_self_signed
from wssc.certs import load as load_certificate
from wssc.client import AsyncClient, Client
from wssc.errors import InvalidSecurity, RemoteFault

pytestmark = pytest.mark.peer

ECHO = "wssc \u00e9\u00e8 <&>"
#: CXF answers a Cancel under derived keys with an RSTR signed by the SCT's own key.
DK_CANCEL_REPLY = "the policy requires derived keys"


@pytest.fixture(scope="module")
def cxf_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., CxfService]]:
    home = tmp_path_factory.mktemp("cxf-service")
    started: dict[tuple[str, ...], CxfService] = {}

    def get(*args: str) -> CxfService:
        if args not in started:
            started[args] = start_cxf_service(home, *args)
        return started[args]

    yield get
    for svc in started.values():
        final = svc.stop()  # CXF's verdict on its whole run, and its exit code
        assert final["ok"], final


def session(svc: CxfService, **kw: Any) -> tuple[list[str], list[object]]:
    events: list[str] = []
    results: list[object] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        service_certificate=load_certificate(svc.cert_pem),
        on_event=lambda name, detail: events.append(name),
        **kw,
    ) as c:
        for i in range(1, 4):
            results.append(c.Add(a=i, b=100))
        results.append(c.Echo(text=ECHO))
    return events, results


def assert_cxf_ran(verdict: dict[str, Any], *, issued: int = 1, cancelled: int = 1, renewed: int = 0) -> None:
    assert verdict["ok"], verdict
    assert verdict["calls"] == ["Add 1 100", "Add 2 100", "Add 3 100", "Echo"], verdict
    assert (verdict["issued"], verdict["renewed"], verdict["cancelled"]) == (issued, renewed, cancelled), (
        verdict
    )
    assert verdict["faults"] == [], verdict


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_session_without_derived_keys(
    cxf_services: Callable[..., CxfService], binding: str, caplog: pytest.LogCaptureFixture
) -> None:
    svc = cxf_services("--binding", binding, "--no-derived-keys")
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        events, results = session(svc)
    assert results == [101, 102, 103, ECHO]
    assert events == ["issue", "call", "call", "call", "call", "cancel"], events
    assert "cancel failed" not in caplog.text
    assert_cxf_ran(svc.report())


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_session_with_derived_keys(
    cxf_services: Callable[..., CxfService], binding: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue and calls under DerivedKeyTokens both ways. CXF cancels the SCT (its verdict says
    so) but signs its RSTR/Cancel with the SCT's key itself, not a derived key: wssc's client
    refuses that reply (the policy requires derived keys) and logs it; the session is over on
    both sides. FINDINGS C8."""
    svc = cxf_services("--binding", binding)
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        events, results = session(svc)
    assert results == [101, 102, 103, ECHO]
    assert events == ["issue", "call", "call", "call", "call"], events
    assert "cancel failed" in caplog.text and DK_CANCEL_REPLY in caplog.text, caplog.text
    assert_cxf_ran(svc.report())


def test_session_soap11(cxf_services: Callable[..., CxfService]) -> None:
    svc = cxf_services("--binding", "ws2007", "--no-derived-keys", "--soap", "1.1")
    events, results = session(svc)
    assert results == [101, 102, 103, ECHO] and events[-1] == "cancel", events
    assert_cxf_ran(svc.report())


def test_cookie_mode(cxf_services: Callable[..., CxfService]) -> None:
    """MustNotSendCancel in the policy: wssc sends no Cancel, and CXF cancels nothing."""
    svc = cxf_services("--binding", "ws2007", "--no-derived-keys", "--no-require-cancellation")
    events, results = session(svc)
    assert results == [101, 102, 103, ECHO]
    assert events[-1] == "close" and "cancel" not in events, events
    assert_cxf_ran(svc.report(), cancelled=0)


async def test_async_client_session(cxf_services: Callable[..., CxfService]) -> None:
    svc = cxf_services("--binding", "ws2007", "--no-derived-keys")
    events: list[str] = []
    async with await AsyncClient.from_wsdl(
        svc.wsdl_url,
        service_certificate=load_certificate(svc.cert_pem),
        on_event=lambda name, detail: events.append(name),
    ) as c:
        results = [await c.Add(a=i, b=100) for i in range(1, 4)]
        results.append(await c.Echo(text=ECHO))
    assert results == [101, 102, 103, ECHO]
    assert events[0] == "issue" and events[-1] == "cancel", events
    assert_cxf_ran(svc.report())


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_renewal(cxf_services: Callable[..., CxfService], binding: str) -> None:
    """CXF issues SCTs that live 6 s here (``ws-security.security.token.lifetime``); wssc renews
    at 60 % of it, CXF renews the context, and the calls go on under the new key. CXF's
    RSTR/Renew declares the SCT's namespace as a default one inside a prefixed one, which
    wssc's decryption used to re-prefix (FINDINGS C10, wssc's bug, fixed)."""
    svc = cxf_services("--binding", binding, "--no-derived-keys", "--sc-lifetime-ms", "6000")
    events: list[str] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        service_certificate=load_certificate(svc.cert_pem),
        on_event=lambda name, detail: events.append(name),
    ) as c:
        assert c.Add(a=1, b=100) == 101
        deadline = time.monotonic() + 10  # the SCT must age on the wall clock
        while not c.session.renew_due(time.time()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.session.renew_due(time.time())
        assert c.Add(a=2, b=100) == 102
        assert c.Add(a=3, b=100) == 103
        assert c.Echo(text=ECHO) == ECHO
    assert events == ["issue", "call", "renew", "call", "call", "call", "cancel"], events
    assert_cxf_ran(svc.report(), renewed=1)


# --- negatives ------------------------------------------------------------------------------------
def test_wrong_service_certificate_is_refused_by_cxf(cxf_services: Callable[..., CxfService]) -> None:
    """wssc wraps the bootstrap key to a certificate that is not CXF's: CXF cannot decrypt it,
    faults, and runs no call; its verdict records the fault."""
    svc = cxf_services("--binding", "ws2007", "--no-derived-keys")
    other = Certificate(generate_self_signed("other").cert)
    with pytest.raises(RemoteFault), Client.from_wsdl(svc.wsdl_url, service_certificate=other) as c:
        c.Add(a=1, b=2)
    verdict = svc.report()
    assert verdict["calls"] == [] and verdict["issued"] == 0, verdict
    assert len(verdict["faults"]) == 1, verdict


def test_cxf_body_only_shape_is_refused_by_wssc(cxf_services: Callable[..., CxfService]) -> None:
    """CXF's system-test shape signs the Body alone (its WS-Addressing SignedParts are
    commented out): CXF's RSTR then carries an unsigned RelatesTo, which wssc's client refuses
    (a reply must be bound to its request). CXF did issue; no call ran. FINDINGS C9."""
    svc = cxf_services("--binding", "ws2007", "--no-derived-keys", "--body-only")
    with (
        pytest.raises(InvalidSecurity, match="RelatesTo is not signed"),
        Client.from_wsdl(svc.wsdl_url, service_certificate=load_certificate(svc.cert_pem)) as c,
    ):
        c.Add(a=1, b=2)
    verdict = svc.report()
    assert verdict["issued"] == 1 and verdict["calls"] == [], verdict
