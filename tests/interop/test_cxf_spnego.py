"""Live: Apache CXF's SPNEGO (``sp:SpnegoContextToken``, over Java's own Kerberos) against
wssc, over a real MIT KDC (`tests/kdc.py`, the session's one) and HTTP on loopback.

CXF is the one SPNEGO stack here that we did not write: its Kerberos (the JDK's GSS-API and
JAAS ``Krb5LoginModule``) is independent of MIT's, and it unwraps the proof key that wssc
sealed with MIT's GSS_Wrap. Its wire format departs from WCF's (interop/cxf/FINDINGS.md
C14-C19); wssc accepts those departures only with ``Compatibility.spnego="cxf"``
(``wssc serve --spnego-dialect cxf``), and refuses CXF by default.

The CXF client (``wssc.cxf.CxfSpnegoClient``) reads the service's live ``?wsdl`` (WCF's shape:
a SecureConversationToken whose bootstrap is an ``sp:SpnegoContextToken``), logs on as
``alice`` with her password (or ``bob`` with his keytab), negotiates, sends the RST/SCT under
the negotiated token and then three Adds under the session's SCT. Both sides decide: CXF's
RESULT line and exit code, and wssc's INFO log (the session issued to the Kerberos principal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cxf_peer import cxf_classpath, run_cxf
from metro_peer import PeerRun, ServiceLog, WsscService, expect_fault, expect_ok, start_wssc

from kdc import HOST, PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]

pytestmark = pytest.mark.peer

CLIENT = "wssc.cxf.CxfSpnegoClient"
#: CXF cancels its session after each call, sending the session's SCT itself inside the
#: Cancel (twice under one wsu:Id): refused, as wssc refuses any duplicated Id.
CANCEL_REASON = "is used more than once"


@pytest.fixture(scope="module")
def services(kdc: Kdc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., WsscService]]:
    cxf_classpath()  # a missing build: loud skip, or a failure under CI
    home = tmp_path_factory.mktemp("cxf-spnego-home")
    started: dict[tuple[str, ...], WsscService] = {}

    def get(binding: str, *extra: str) -> WsscService:
        args = ("--bootstrap", "spnego", "--binding", binding, "--keytab", str(kdc.service_keytab))
        args += ("--spn", SERVICE, *extra)
        if args not in started:
            started[args] = start_wssc(home, *args)
        return started[args]

    yield get
    for s in started.values():
        s.stop()


def cxf(svc: WsscService, kdc: Kdc, *, keytab: bool = False, calls: int = 3) -> tuple[PeerRun, ServiceLog]:
    who = (
        ["--principal", f"bob@{REALM}", "--keytab", str(kdc.client_keytab)]
        if keytab
        else ["--principal", f"alice@{REALM}", "--password", PASSWORD]
    )
    args = ["--wsdl", svc.wsdl_url, "--krb5-conf", str(kdc.root / "krb5.conf"), "--spn", f"HTTP@{HOST}"]
    mark = svc.mark()
    run = run_cxf(CLIENT, *args, *who, "--calls", str(calls), "--http11")
    log = svc.log_since(mark, until=lambda log: len(log.faults) >= calls or not run.ok, timeout=5)
    return run, log


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_cxf_spnego_client_opens_a_session_with_the_switch_on(
    services: Callable[..., WsscService], kdc: Kdc, binding: str
) -> None:
    run, log = cxf(services(binding, "--spnego-dialect", "cxf"), kdc)
    expect_ok(run)
    assert run.result["results"] == [101, 102, 103], run.explain()
    # one negotiation, one session, issued to the principal Java's Kerberos logged on as
    assert len(log.issued) == 1, log.text
    assert f"(identity 'alice@{REALM}')" in log.text, log.text
    # CXF's Cancel after each call: refused, and logged so
    assert log.cancelled == [], log.text
    assert log.faults == ["InvalidSecurity"] * 3, log.text
    assert log.text.count(CANCEL_REASON) == 3, log.text


def test_cxf_spnego_client_with_a_keytab(services: Callable[..., WsscService], kdc: Kdc) -> None:
    run, log = cxf(services("ws2007", "--spnego-dialect", "cxf"), kdc, keytab=True, calls=1)
    expect_ok(run)
    assert run.result["results"] == [101], run.explain()
    assert len(log.issued) == 1 and f"(identity 'bob@{REALM}')" in log.text, log.text


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_cxf_spnego_client_is_refused_by_default(
    services: Callable[..., WsscService], kdc: Kdc, binding: str
) -> None:
    """WCF's dialect (the default): CXF's RST, with its ``wst:Renewing``, is refused before any
    Kerberos work; CXF reports the fault (exit 1) and wssc logs which check refused it."""
    run, log = cxf(services(binding), kdc)
    expect_fault(run, "InvalidRequest", phase="call 1")
    assert log.issued == [], log.text
    assert log.faults == ["InvalidRequest"], log.text
    assert "the SPNEGO RST carries Renewing, which SPNEGO does not use" in log.text, log.text
