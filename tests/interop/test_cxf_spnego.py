"""Live: Apache CXF's SPNEGO (``sp:SpnegoContextToken``, over Java's own Kerberos) against
wssc, over a real MIT KDC (`tests/kdc.py`, the session's one) and HTTP on loopback.

CXF is the one SPNEGO stack here that we did not write: its Kerberos (the JDK's GSS-API and
JAAS ``Krb5LoginModule``) is independent of MIT's, and it unwraps the proof key that wssc
sealed with MIT's GSS_Wrap. Its wire format departs from WCF's (interop/cxf/FINDINGS.md
S1-S11); wssc accepts those departures only with ``Compatibility.spnego="cxf"``
(``wssc serve --spnego-dialect cxf``), and refuses CXF by default.

Both ways: CXF's client against ``wssc serve --bootstrap spnego``, and wssc's client against a
CXF service (``wssc.cxf.CxfSpnegoService``) in the shape CXF serves without help (its own
system tests' policy: the ``sp:SpnegoContextToken`` protects the application messages
directly, WCF's establishSecurityContext=false).

The CXF client (``wssc.cxf.CxfSpnegoClient``) reads the service's live ``?wsdl`` (WCF's shape:
a SecureConversationToken whose bootstrap is an ``sp:SpnegoContextToken``), logs on as
``alice`` with her password (or ``bob`` with his keytab), negotiates, sends the RST/SCT under
the negotiated token and then three Adds under the session's SCT. Both sides decide: CXF's
RESULT line and exit code, and wssc's INFO log (the session issued to the Kerberos principal).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cxf_peer import cxf_argv, cxf_classpath, run_cxf
from metro_peer import (
    PeerRun,
    ServiceLog,
    WsscService,
    _await_wsdl,
    expect_fault,
    expect_ok,
    free_port,
    start_wssc,
)

from kdc import HOST, PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from wssc.bootstrap.registry import ClientCredentials
from wssc.client import Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import RemoteFault
from wssc.settings import (
    CXF_SPNEGO,
    WCF_COMPATIBLE,
    WS2007,
    Bootstrap,
    EndpointSettings,
    SecureConversationSettings,
)

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


# --- wssc's client -> CXF's SPNEGO service ---------------------------------------------------------
@dataclass
class CxfSpnegoService:
    url: str
    out_path: Path
    err_path: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> dict[str, Any]:
        """Close its stdin: its verdict on the whole run, checked against its exit code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("the CXF SPNEGO service did not stop")
        lines = [
            ln for ln in self.out_path.read_text(errors="replace").splitlines() if ln.startswith("RESULT ")
        ]
        tail = self.err_path.read_text(errors="replace")[-3000:]
        if len(lines) != 1:
            pytest.fail(f"the CXF SPNEGO service crashed (no single RESULT), rc={rc}:\n{tail}")
        verdict: dict[str, Any] = json.loads(lines[0][len("RESULT ") :])
        if not verdict.get("final") or rc != (0 if verdict["ok"] else 2):
            pytest.fail(f"the CXF SPNEGO service's exit code {rc} disagrees with its verdict {verdict}")
        return verdict


def start_cxf_spnego_service(kdc: Kdc, home: Path) -> CxfSpnegoService:
    port = free_port()
    out_path, err_path = home / f"cxf-spnego-{port}.out", home / f"cxf-spnego-{port}.err"
    argv = cxf_argv("wssc.cxf.CxfSpnegoService", "--port", str(port))
    argv += ["--krb5-conf", str(kdc.root / "krb5.conf"), "--keytab", str(kdc.service_keytab)]
    argv += ["--principal", f"{SERVICE}@{REALM}", "--spn", f"HTTP@{HOST}"]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.PIPE)
    svc = CxfSpnegoService(f"http://127.0.0.1:{port}/svc", out_path, err_path, proc)
    _await_wsdl(
        proc,
        svc.url + "?wsdl",
        lambda: True,
        "the CXF SPNEGO service",
        lambda: err_path.read_text(errors="replace")[-3000:],
        timeout=60,
        interval=0.2,
        request_timeout=5,
        ready=lambda: "LISTENING" in out_path.read_text(errors="replace"),
    )
    return svc


#: CXF's system-test shape: SP 1.2 / Trust 1.3, no secure session, no derived keys, the
#: signature not encrypted (its policy has no sp:EncryptSignature).
CXF_SHAPE = EndpointSettings(
    secure_conversation=SecureConversationSettings(
        bootstrap=Bootstrap.SPNEGO,
        message_security_version=WS2007,
        establish_security_context=False,
        require_derived_keys=False,
        encrypt_signature=False,
    )
)


def alice() -> ClientCredentials:
    return ClientCredentials(spn=SERVICE, username=f"alice@{REALM}", password=PASSWORD)


def test_wssc_client_calls_a_cxf_spnego_service(kdc: Kdc, tmp_path: Path) -> None:
    """From CXF's live WSDL alone (wssc reads its policy: SPNEGO, no secure session, no derived
    keys), plus ``CXF_SPNEGO``: CXF's JDK acceptor takes wssc's Kerberos token and seals the
    proof key with the JDK's GSS_Wrap; wssc unwraps it with MIT's, and the negotiated token
    then protects each Add both ways. CXF's verdict: both Adds ran, no fault."""
    svc = start_cxf_spnego_service(kdc, tmp_path)
    events: list[str] = []
    try:
        with Client.from_wsdl(
            svc.url + "?wsdl",
            credentials=alice(),
            compatibility=CXF_SPNEGO,
            on_event=lambda e, d: events.append(e),
        ) as c:
            assert not c.session.scs.establish_security_context
            assert c.Add(a=2, b=3) == 5
            assert c.Add(a=4, b=5) == 9
    finally:
        verdict = svc.stop()
    assert verdict["ok"] is True and verdict["faults"] == [], verdict
    assert [(call["a"], call["b"]) for call in verdict["calls"]] == [(2, 3), (4, 5)], verdict
    # one negotiation (one Kerberos leg), then the calls under the negotiated token
    assert events == ["negotiate", "call", "call"], events


def test_zeep_calls_a_cxf_spnego_service(kdc: Kdc, tmp_path: Path) -> None:
    import zeep

    from wssc.integrations.zeep import secure_session

    svc = start_cxf_spnego_service(kdc, tmp_path)
    try:
        kwargs = secure_session(svc.url + "?wsdl", credentials=alice(), compatibility=CXF_SPNEGO)
        with zeep.Client(svc.url + "?wsdl", **kwargs) as client:
            assert client.service.Add(a=20, b=22) == 42
    finally:
        verdict = svc.stop()
    assert verdict["ok"] is True and verdict["faults"] == [], verdict
    assert [(call["a"], call["b"]) for call in verdict["calls"]] == [(20, 22)], verdict


def test_wssc_client_in_wcf_dialect_fails_against_cxf(kdc: Kdc, tmp_path: Path) -> None:
    """WCF's dialect (the default) is not CXF's: CXF's service does not take wssc's leg for a
    negotiation (no SOAP 1.2 action parameter; and under Trust 1.3 WCF's ValueType), faults,
    and runs nothing."""
    svc = start_cxf_spnego_service(kdc, tmp_path)
    try:
        with pytest.raises(RemoteFault):
            with Client(
                svc.url,
                get_contract(Calculator),
                settings=CXF_SHAPE,
                credentials=alice(),
                compatibility=WCF_COMPATIBLE,
            ) as c:
                c.Add(a=2, b=3)
    finally:
        verdict = svc.stop()
    assert verdict["calls"] == [] and len(verdict["faults"]) == 1, verdict
    # CXF took the leg for an application message, and found no token in it
    assert "No SecurityContextToken token found in message" in verdict["faults"][0], verdict


# --- CXF's client -> wssc's service without a session (CXF's own shape) ------------------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_cxf_spnego_client_without_a_session(
    services: Callable[..., WsscService], kdc: Kdc, binding: str
) -> None:
    """``wssc serve --no-secure-context``: the live WSDL's SymmetricBinding has the
    ``sp:SpnegoContextToken`` as its protection token (WCF's export with
    establishSecurityContext=false, and the shape CXF serves itself). CXF's client reads it,
    negotiates once, and sends each Add under the negotiated token; wssc caches that token (no
    session is issued) and answers under it. CXF's verdict: the three results."""
    svc = services(binding, "--spnego-dialect", "cxf", "--no-secure-context")
    run, log = cxf(svc, kdc)
    expect_ok(run)
    assert run.result["results"] == [101, 102, 103], run.explain()
    assert log.issued == [], log.text  # no secure session
    assert log.text.count("negotiated SCT urn:uuid:") == 1, log.text  # one negotiation
    assert f"(identity 'alice@{REALM}')" in log.text, log.text


def test_cxf_spnego_client_without_a_session_is_refused_by_default(
    services: Callable[..., WsscService], kdc: Kdc
) -> None:
    """The same shape in WCF's dialect: CXF's RST is refused before any Kerberos work, and no
    token is cached."""
    run, log = cxf(services("ws2007", "--no-secure-context"), kdc, calls=1)
    expect_fault(run, "InvalidRequest", phase="call 1")
    assert "negotiated SCT" not in log.text, log.text
    assert "the SPNEGO RST carries Renewing, which SPNEGO does not use" in log.text, log.text
