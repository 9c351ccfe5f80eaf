"""What the in-process engine tests share: one certificate, the demo contract's Add, a fake
clock, an engine and a client over one settings object, and posting to the engine (a
dispatched operation is run, as the WSGI driver does)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from wssc.bootstrap import AnonymousForCertificateClient, TransportInfo
from wssc.certs import Certificate, generate_self_signed
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.service.engine import (
    Dispatch,
    HttpRequest,
    HttpResponse,
    ServiceEngine,
    run_dispatch_sync,
)
from wssc.session.client import ClientSession
from wssc.settings import EndpointSettings

CERT = generate_self_signed()
ADD = get_contract(Calculator).operation("Add")
#: The fake clock's start: 2027-01-15T08:00:00Z.
T0 = 1_800_000_000.0
ADDRESS = "http://x/svc"


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def engine_for(settings: EndpointSettings, clock: Callable[[], float]) -> ServiceEngine:
    """The demo service, AnonymousForCertificate with :data:`CERT` unless ``settings`` say
    otherwise."""
    return ServiceEngine(Calculator(), settings=settings, address=ADDRESS, certificate=CERT, clock=clock)


def client_for(settings: EndpointSettings) -> ClientSession:
    """A sans-IO AnonymousForCertificate client of :func:`engine_for`'s service."""
    return ClientSession(settings, AnonymousForCertificateClient(Certificate(CERT.cert)), ADDRESS)


def exchange(
    engine: ServiceEngine, body: bytes, content_type: str, transport: TransportInfo | None = None
) -> HttpResponse:
    """POST ``body`` to the engine; a dispatched operation runs in this thread."""
    r = engine.handle(
        HttpRequest("POST", "/svc", "", {"content-type": content_type}, body, transport or TransportInfo())
    )
    return run_dispatch_sync(r) if isinstance(r, Dispatch) else r


def logged_faults(records: list[logging.LogRecord]) -> list[str]:
    """The details of the faults the service logged (``wssc.service``: ``fault CODE: DETAIL``),
    from pytest's ``caplog.records``."""
    out = []
    for r in records:
        m = r.getMessage()
        if r.name == "wssc.service" and m.startswith("fault "):
            out.append(m.split(": ", 1)[1] if ": " in m else m)
    return out


def assert_fault_logged(records: list[logging.LogRecord], reason: str) -> None:
    """The service logged a fault whose detail starts with ``reason``: that check refused."""
    got = logged_faults(records)
    assert any(d.startswith(reason) for d in got), f"expected {reason!r} in the log; got {got}"
