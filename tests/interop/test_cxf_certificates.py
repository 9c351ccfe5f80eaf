"""Live: Apache CXF (4.2.3, its defaults: WS-I BSP compliance on) with the certificate
bootstraps of issue 16, both directions, both version families, session mode, derived keys as
WCF exports them:

- UserNameForCertificate (a UsernameToken in a symmetric binding keyed to the service
  certificate), inside the SecureConversationToken's bootstrap, and one-shot;
- MutualCertificate, WS-Security 1.1 shape (the service's X.509 protects, the client's X.509
  endorses);
- CertificateOverTransport over real TLS (the client's X.509 endorses; HTTPS protects).

Both sides decide each test: CXF's exit code and its ``RESULT`` verdict line, and wssc's
service log (issued SCTs, refused Cancels and their logged reasons). See
interop/cxf/FINDINGS.md (C14-C18).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cxf_peer import cxf_classpath, run_cxf
from metro_peer import PeerRun, ServiceLog, WsscService, expect_fault, expect_ok, start_wssc

from wssc.certs import generate_self_signed, save

pytestmark = pytest.mark.peer

CLIENT = "wssc.cxf.CxfClient"
ECHO = "cxf \u00e9\u00e8 <&>"
BOOTSTRAP_CANCEL = "the Cancel is not signed by the session's key"
UNFC, MC, COT = "username-for-certificate", "mutual-certificate", "certificate-over-transport"
FAMILIES = pytest.mark.parametrize("binding", ["wshttp", "ws2007"])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cxf_classpath()  # a missing build: loud skip, or a failure under CI
    home = tmp_path_factory.mktemp("cxf-certificates")
    save(generate_self_signed("wssc-cxf-client"), home / "client.pem", home / "client-key.pem")
    save(generate_self_signed("stranger"), home / "stranger.pem", home / "stranger-key.pem")
    return home


@pytest.fixture(scope="module")
def services(home: Path) -> Iterator[Callable[..., WsscService]]:
    started: dict[tuple[str, ...], WsscService] = {}

    def get(bootstrap: str, binding: str, *extra: str) -> WsscService:
        key = (bootstrap, binding, *extra)
        if key not in started:
            started[key] = start_wssc(
                home,
                "--bootstrap",
                bootstrap,
                "--binding",
                binding,
                "--trust-client-cert",
                str(home / "client.pem"),
                *extra,
            )
        return started[key]

    yield get
    for s in started.values():
        s.stop()


def cxf(svc: WsscService, *credentials: str) -> tuple[PeerRun, ServiceLog]:
    mark = svc.mark()
    run = run_cxf(CLIENT, "--wsdl", svc.wsdl_url, "--server-cert", str(svc.cert_pem), *credentials)
    return run, svc.log_since(mark, until=lambda log: len(log.faults) >= 4 or not run.ok, timeout=5)


def certificate(home: Path, name: str = "client") -> tuple[str, ...]:
    return ("--client-cert", str(home / f"{name}.pem"), "--client-key", str(home / f"{name}-key.pem"))


def assert_calls(run: PeerRun) -> None:
    expect_ok(run)
    assert run.result["results"] == [101, 102, 103], run.explain()
    assert run.result["echo"] == ECHO and run.result["closed"] is True, run.explain()


def assert_session(
    run: PeerRun, log: ServiceLog, identity: str, reasons: tuple[str, ...] = (BOOTSTRAP_CANCEL,)
) -> None:
    """One SCT for the four calls, issued to ``identity``; CXF's Cancel after each call is
    secured without the session's key and refused (FINDINGS C2, C3), each with a logged reason."""
    assert_calls(run)
    assert len(log.issued) == 1, log.text
    assert f"(identity '{identity}')" in log.text, log.text
    assert log.cancelled == [], log.text
    assert log.faults == ["InvalidSecurity"] * 4, log.text
    assert sum(log.text.count(r) for r in reasons) == 4, log.text


# --- UserNameForCertificate --------------------------------------------------------------------
@FAMILIES
def test_username_for_certificate_session(services: Callable[..., WsscService], binding: str) -> None:
    run, log = cxf(services(UNFC, binding), "--user", "alice:secret")
    assert_session(run, log, "alice")


def test_username_for_certificate_one_shot(services: Callable[..., WsscService]) -> None:
    """No SecureConversationToken: every call carries the encrypted UsernameToken."""
    run, log = cxf(services(UNFC, "ws2007", "--no-secure-context"), "--user", "alice:secret")
    assert_calls(run)
    assert log.issued == [] and log.faults == [], log.text


def test_username_for_certificate_wrong_password(services: Callable[..., WsscService]) -> None:
    run, log = cxf(services(UNFC, "wshttp"), "--user", "alice:wrong")
    expect_fault(run, "FailedAuthentication")
    assert run.result["calls"] == 0, run.explain()
    assert log.issued == [] and log.faults == ["FailedAuthentication"], log.text
    assert "wrong username or password" in log.text, log.text


# --- MutualCertificate (WS-Security 1.1 shape) ------------------------------------------------
@FAMILIES
def test_mutual_certificate_session(services: Callable[..., WsscService], home: Path, binding: str) -> None:
    """CXF references its included certificate by ThumbprintSHA1 (RequireThumbprintReference)
    and requires the reply's SignatureConfirmations encrypted under EncryptSignature (C14, C15)."""
    run, log = cxf(services(MC, binding), *certificate(home))
    assert_session(run, log, "CN=wssc-cxf-client")


def test_mutual_certificate_untrusted_client(services: Callable[..., WsscService], home: Path) -> None:
    run, log = cxf(services(MC, "ws2007"), *certificate(home, "stranger"))
    expect_fault(run, "InvalidSecurity")  # the generic fault on the wire; the detail in the log
    assert log.issued == [] and log.faults == ["InvalidSecurityToken"], log.text
    assert "'CN=stranger' was refused" in log.text, log.text


# --- CertificateOverTransport (HTTPS) ----------------------------------------------------------
#: CXF's Cancel over the transport binding: the first carries no SCT, the later ones no
#: signature at all (FINDINGS C16).
TRANSPORT_CANCEL = ("the message is not secured by a SecurityContextToken", "the message is not signed")


@FAMILIES
def test_certificate_over_transport_session(
    services: Callable[..., WsscService], home: Path, binding: str
) -> None:
    svc = services(COT, binding)
    assert svc.url.startswith("https://")
    run, log = cxf(svc, *certificate(home))
    assert run.result["https"] is True, run.explain()
    assert_session(run, log, "CN=wssc-cxf-client", TRANSPORT_CANCEL)


def test_certificate_over_transport_untrusted_client(
    services: Callable[..., WsscService], home: Path
) -> None:
    run, log = cxf(services(COT, "ws2007"), *certificate(home, "stranger"))
    expect_fault(run, "InvalidSecurity")  # the generic fault on the wire; the detail in the log
    assert log.issued == [] and log.faults == ["InvalidSecurityToken"], log.text
    assert "'CN=stranger' was refused" in log.text, log.text
