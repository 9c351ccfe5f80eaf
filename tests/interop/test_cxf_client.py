"""Live: an Apache CXF client (4.2.3, its defaults: WS-I BSP compliance on) against wssc
services, over HTTP on loopback.

The client (``interop/cxf``, ``wssc.cxf.CxfClient``) is a JAX-WS ``Dispatch`` built from the
service's live ``?wsdl``: CXF reads the WS-SecurityPolicy there and runs the secure session
itself (RST/SCT, three Add calls and an Echo). Both sides decide: the client's RESULT line and
exit code, and the service's INFO log (issued SCT, refused Cancels). CXF cancels its token
after every call, under the bootstrap's protection alone; wssc refuses such a Cancel (WCF's
rule: only a Renew may be secured by the bootstrap), and CXF goes on with the same token.
See interop/cxf/FINDINGS.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from cxf_peer import cxf_classpath, run_cxf
from metro_peer import PeerRun, ServiceLog, WsscService, expect_fault, expect_ok, start_wssc

from wssc.certs import generate_self_signed

pytestmark = pytest.mark.peer

CLIENT = "wssc.cxf.CxfClient"
ECHO = "cxf \u00e9\u00e8 <&>"
BOOTSTRAP_CANCEL = "the Cancel is not signed by the session's key"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., WsscService]]:
    cxf_classpath()  # a missing build: loud skip, or a failure under CI
    home = tmp_path_factory.mktemp("cxf-home")
    started: dict[tuple[str, ...], WsscService] = {}

    def get(*args: str) -> WsscService:
        if args not in started:
            started[args] = start_wssc(home, *args)
        return started[args]

    yield get
    for s in started.values():
        s.stop()


def cxf(svc: WsscService, *extra: str, server_cert: str | None = None) -> tuple[PeerRun, ServiceLog]:
    args = ["--wsdl", svc.wsdl_url, "--server-cert", server_cert or str(svc.cert_pem)]
    mark = svc.mark()
    run = run_cxf(CLIENT, *args, *extra)
    return run, svc.log_since(mark, until=lambda log: len(log.faults) >= 4 or not run.ok, timeout=5)


def assert_session(
    run: PeerRun,
    log: ServiceLog,
    fault: str = "InvalidSecurity",
    reason: str = BOOTSTRAP_CANCEL,
) -> None:
    expect_ok(run)
    assert run.result["results"] == [101, 102, 103], run.explain()
    assert run.result["echo"] == ECHO
    assert len(log.issued) == 1, log.text  # one SCT for the four calls
    # CXF's Cancel after each call, secured by the bootstrap alone: refused, and logged so.
    assert log.cancelled == [], log.text
    assert log.faults == [fault] * 4, log.text
    assert log.text.count(reason) == 4, log.text


@pytest.mark.parametrize("derived", [True, False], ids=["dk", "nodk"])
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_cxf_client_session_mode(services: Callable[..., WsscService], binding: str, derived: bool) -> None:
    args = ["--binding", binding] + ([] if derived else ["--no-derived-keys"])
    run, log = cxf(services(*args))
    assert_session(run, log)


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_cxf_client_cookie_mode(services: Callable[..., WsscService], binding: str) -> None:
    """Cookie mode: the SCT carries its state; CXF ignores MustNotSendCancel and cancels after
    every call anyway: refused with WCF's SecureConversationCancellationNotAllowed."""
    run, log = cxf(services("--binding", binding, "--no-require-cancellation"))
    assert_session(
        run,
        log,
        "SecureConversationCancellationNotAllowed",
        "A secure conversation cancellation is not allowed by the binding",
    )


def test_cxf_client_soap11(services: Callable[..., WsscService]) -> None:
    run, log = cxf(services("--binding", "ws2007", "--soap", "1.1"))
    assert_session(run, log)


def test_cxf_client_encrypting_to_another_certificate_is_refused(
    services: Callable[..., WsscService], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """CXF wraps the bootstrap key to a certificate that is not the service's: wssc refuses the
    RST with the generic fault, and CXF reports that fault (exit 1), not a success."""
    other = tmp_path_factory.mktemp("other-cert") / "other.pem"
    other.write_bytes(generate_self_signed().cert.public_bytes(Encoding.PEM))
    svc = services("--binding", "ws2007")
    run, log = cxf(svc, server_cert=str(other))
    expect_fault(run, "InvalidSecurity")
    assert log.issued == [], log.text
    assert "the key was encrypted for a different certificate" in log.text, log.text
