"""Live: the rest of CXF's matrix (issue 18) for the certificate bootstraps of issue 16, with
Apache CXF's defaults: cookie mode, derived keys off and SOAP 1.1, both version families, both
directions where CXF serves the shape; and MutualCertificate's WS-Security 1.0 shape (an
AsymmetricBinding with X.509 initiator and recipient tokens under ``sp:Wss10``).

Each cell is decided by both sides: CXF's exit code and its ``RESULT`` verdict line, and
wssc's service log (issued SCTs, refused Cancels and the logged reason of each). The session
mode cells with derived keys on are in ``test_cxf_certificates.py``. See interop/cxf/FINDINGS.md
(C22-C27).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cxf_peer import CxfService, cxf_classpath, run_cxf, start_cxf_service
from metro_peer import PeerRun, ServiceLog, WsscService, expect_ok, start_wssc

from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, save
from wssc.certs import load as load_certificate
from wssc.client import Client
from wssc.errors import RemoteFault

pytestmark = pytest.mark.peer

CLIENT = "wssc.cxf.CxfClient"
ECHO = "cxf \u00e9\u00e8 <&>"
UNFC, MC, COT = "username-for-certificate", "mutual-certificate", "certificate-over-transport"
#: wssc's logged reason for each Cancel of CXF's client (it cancels after every call, C2).
BOOTSTRAP_CANCEL = "the Cancel is not signed by the session's key"  # C3
#: C16, the first Cancel: it carries the client certificate (the bootstrap's protection), and a
#: bootstrap-secured Cancel is refused as C3's is
FIRST_CANCEL = BOOTSTRAP_CANCEL
UNSIGNED = "the message is not signed"  # C16, the later ones
COOKIE_CANCEL = "A secure conversation cancellation is not allowed by the binding"  # C4
#: CXF answers a Cancel under derived keys with an RSTR signed by the SCT's own key (C8).
DK_CANCEL_REPLY = "the policy requires derived keys"
#: The variants of the matrix: wssc serve's flags, CxfService's flags.
VARIANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cookie": (("--no-require-cancellation",), ("--no-require-cancellation",)),
    "nodk": (("--no-derived-keys",), ("--no-derived-keys",)),
    "soap11": (("--soap", "1.1"), ("--soap", "1.1")),
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cxf_classpath()  # a missing build: loud skip, or a failure under CI
    home = tmp_path_factory.mktemp("cxf-matrix-certs")
    save(generate_self_signed("wssc-cxf-client"), home / "client.pem", home / "client-key.pem")
    # CXF's service's key pair, with a Subject Key Identifier extension as CA-issued
    # certificates have: CXF references its own certificate by SKI under the WS-Security 1.0
    # shape, and WCF (and wssc) match an SKI clause only against that extension (C26).
    with_ski = generate_self_signed("localhost")
    assert with_ski.key is not None
    cert = (
        x509.CertificateBuilder()
        .subject_name(with_ski.cert.subject)
        .issuer_name(with_ski.cert.issuer)
        .public_key(with_ski.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(with_ski.cert.not_valid_before_utc)
        .not_valid_after(with_ski.cert.not_valid_after_utc)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(with_ski.key.public_key()), critical=False)
        .sign(with_ski.key, hashes.SHA256())
    )
    save(Certificate(cert, with_ski.key), home / "cxf" / "dev-cert.pem", home / "cxf" / "dev-key.pem")
    return home


def certificate(home: Path) -> tuple[str, ...]:
    return ("--client-cert", str(home / "client.pem"), "--client-key", str(home / "client-key.pem"))


def cxf_credentials(bootstrap: str, home: Path) -> tuple[str, ...]:
    return ("--user", "alice:secret") if bootstrap == UNFC else certificate(home)


@pytest.fixture(scope="module")
def services(home: Path) -> Iterator[Callable[..., WsscService]]:
    started: list[WsscService] = []

    def start(*args: str) -> WsscService:
        svc = start_wssc(home, "--trust-client-cert", str(home / "client.pem"), *args)
        started.append(svc)
        return svc

    yield start
    for s in started:
        s.stop()


def cxf(svc: WsscService, *credentials: str) -> tuple[PeerRun, ServiceLog]:
    mark = svc.mark()
    run = run_cxf(CLIENT, "--wsdl", svc.wsdl_url, "--server-cert", str(svc.cert_pem), *credentials)
    return run, svc.log_since(mark, until=lambda log: len(log.faults) >= 4 or not run.ok, timeout=5)


def assert_calls(run: PeerRun) -> None:
    expect_ok(run)
    assert run.result["results"] == [101, 102, 103], run.explain()
    assert run.result["echo"] == ECHO and run.result["closed"] is True, run.explain()


# --- CXF's client -> wssc serve ---------------------------------------------------------------
#: (bootstrap, variant, family): every variant with every bootstrap, each bootstrap and each
#: variant in both families.
CLIENT_CELLS = [
    (UNFC, "cookie", "wshttp"),
    (UNFC, "nodk", "ws2007"),
    (UNFC, "soap11", "wshttp"),
    (MC, "cookie", "ws2007"),
    (MC, "nodk", "wshttp"),
    (MC, "soap11", "ws2007"),
    (COT, "cookie", "wshttp"),
    (COT, "nodk", "ws2007"),
    (COT, "soap11", "wshttp"),
]


#: CXF's client under MutualCertificate without derived keys fails to build its own Cancel
#: (it looks for its signing certificate under the alias it was given, in no crypto) and sends
#: none; it logs this and goes on (FINDINGS C23).
CXF_CANCEL_UNSENT = 'No certificates for user "client" were found for signature'


@pytest.mark.parametrize(("bootstrap", "variant", "binding"), CLIENT_CELLS)
def test_cxf_client(
    services: Callable[..., WsscService], home: Path, bootstrap: str, variant: str, binding: str
) -> None:
    """One SCT for the four calls; CXF's Cancel after each call (C2) is refused each time, with
    the fault and the logged reason of the first check it fails: in cookie mode the binding's
    ban on Cancel (C4, as WCF checks it first); else the bootstrap's protection where the
    session's key is due (C3), or a Cancel over HTTPS without the SCT's signature (C16)."""
    svc = services("--bootstrap", bootstrap, "--binding", binding, *VARIANTS[variant][0])
    run, log = cxf(svc, *cxf_credentials(bootstrap, home))
    assert_calls(run)
    assert run.result.get("https", False) is (bootstrap == COT), run.explain()
    assert len(log.issued) == 1 and log.cancelled == [], log.text
    cookie = "cookie-mode SCT" in log.text
    assert cookie is (variant == "cookie"), log.text
    if variant == "cookie":
        assert log.faults == ["SecureConversationCancellationNotAllowed"] * 4, log.text
        assert log.text.count(COOKIE_CANCEL) == 4, log.text
    elif bootstrap == MC and variant == "nodk":
        assert log.faults == [], log.text  # no Cancel reached wssc
        assert run.stderr.count(CXF_CANCEL_UNSENT) >= 4, run.stderr[-3000:]
    elif bootstrap == COT:
        assert log.faults == ["InvalidSecurity"] * 4, log.text
        # which of the two CXF sends varies from run to run (C16); every Cancel is one of them
        assert log.text.count(FIRST_CANCEL) >= 1, log.text
        assert log.text.count(FIRST_CANCEL) + log.text.count(UNSIGNED) == 4, log.text
    else:
        assert log.faults == ["InvalidSecurity"] * 4, log.text
        assert log.text.count(BOOTSTRAP_CANCEL) == 4, log.text


# --- wssc's client -> CXF's service ------------------------------------------------------------
@pytest.fixture(scope="module")
def cxf_services(home: Path) -> Iterator[Callable[..., CxfService]]:
    started: list[CxfService] = []

    def start(*args: str) -> CxfService:
        svc = start_cxf_service(home / "cxf", "--trust-client-cert", str(home / "client.pem"), *args)
        started.append(svc)
        return svc

    yield start
    for svc in started:
        final = svc.stop()  # CXF's verdict on its whole run, and its exit code
        assert final["ok"], final


def wssc_credentials(bootstrap: str, svc: CxfService, home: Path) -> ClientCredentials:
    kw: dict[str, Any] = (
        {"username": "alice", "password": "secret"}
        if bootstrap == "unfc"
        else {"certificate": load_certificate(home / "client.pem", home / "client-key.pem")}
    )
    return ClientCredentials(service_certificate=load_certificate(svc.cert_pem), **kw)


def wssc_session(svc: CxfService, creds: ClientCredentials) -> tuple[list[str], list[object]]:
    events: list[str] = []
    results: list[object] = []
    with Client.from_wsdl(
        svc.wsdl_url, credentials=creds, on_event=lambda name, detail: events.append(name)
    ) as c:
        for i in range(1, 4):
            results.append(c.Add(a=i, b=100))
        results.append(c.Echo(text=ECHO))
    return events, results


SERVICE_CELLS = [
    ("unfc", "cookie", "wshttp"),
    ("unfc", "soap11", "ws2007"),
    ("mc", "cookie", "ws2007"),
    ("mc", "soap11", "wshttp"),
]
#: CXF's service cannot secure its own RSTR without derived keys when the SCT's bootstrap
#: carries a supporting token (UserNameForCertificate, MutualCertificate): its
#: SymmetricBindingHandler asks for an encryption username (FINDINGS C25).
CXF_REPLY_FAILURE = "A encryption username needs to be declared"


@pytest.mark.parametrize(("bootstrap", "variant", "binding"), SERVICE_CELLS)
def test_wssc_client_to_cxf(
    cxf_services: Callable[..., CxfService],
    home: Path,
    bootstrap: str,
    variant: str,
    binding: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Derived keys as WCF exports them. Cookie mode (MustNotSendCancel): wssc sends no Cancel
    and CXF cancels nothing. Session mode: CXF cancels the SCT but signs its RSTR/Cancel with
    the SCT's own key; wssc's client refuses that reply and logs it (C8)."""
    svc = cxf_services("--bootstrap", bootstrap, "--binding", binding, *VARIANTS[variant][1])
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        events, results = wssc_session(svc, wssc_credentials(bootstrap, svc, home))
    assert results == [101, 102, 103, ECHO]
    cookie = variant == "cookie"
    assert events == ["issue", "call", "call", "call", "call"] + (["close"] if cookie else []), events
    if cookie:
        assert "cancel failed" not in caplog.text, caplog.text
    else:
        assert "cancel failed" in caplog.text and DK_CANCEL_REPLY in caplog.text, caplog.text
    verdict = svc.report()
    assert verdict["ok"] and verdict["faults"] == [], verdict
    assert verdict["calls"] == ["Add 1 100", "Add 2 100", "Add 3 100", "Echo"], verdict
    assert (verdict["issued"], verdict["renewed"], verdict["cancelled"]) == (1, 0, 0 if cookie else 1), (
        verdict
    )
    assert verdict["auth"] == (["alice"] if bootstrap == "unfc" else []), verdict


@pytest.mark.parametrize(("bootstrap", "binding"), [("unfc", "ws2007"), ("mc", "wshttp")])
def test_cxf_service_fails_its_reply_without_derived_keys(
    cxf_services: Callable[..., CxfService], home: Path, bootstrap: str, binding: str
) -> None:
    """CXF accepts wssc's RST and issues the SCT (its verdict counts the RSTR as it leaves
    its STS), then fails to secure that RSTR (C25): wssc's client gets a fault, no call runs,
    CXF's verdict names the failure. Not wssc's doing: the same wssc client without derived
    keys works against CXF's AnonymousForCertificate service
    (test_cxf_service.py::test_session_without_derived_keys)."""
    svc = cxf_services("--bootstrap", bootstrap, "--binding", binding, "--no-derived-keys")
    with (
        pytest.raises(RemoteFault),
        Client.from_wsdl(svc.wsdl_url, credentials=wssc_credentials(bootstrap, svc, home)) as c,
    ):
        c.Add(a=1, b=100)
    verdict = svc.report()
    assert (verdict["issued"], verdict["calls"]) == (1, []), verdict
    assert len(verdict["faults"]) == 1 and verdict["faults"][0].startswith(CXF_REPLY_FAILURE), verdict


# --- MutualCertificate, WS-Security 1.0 (AsymmetricBinding) -------------------------------------
@pytest.mark.parametrize("binding", ["wshttp-wss10", "ws2007-wss10"])
def test_cxf_client_mutual_certificate_wss10_session(
    services: Callable[..., WsscService], home: Path, binding: str
) -> None:
    svc = services("--bootstrap", MC, "--binding", binding)
    run, log = cxf(svc, *certificate(home))
    assert_calls(run)
    assert len(log.issued) == 1 and log.cancelled == [], log.text
    assert "(identity 'CN=wssc-cxf-client')" in log.text, log.text
    assert log.faults == ["InvalidSecurity"] * 4, log.text
    assert log.text.count(BOOTSTRAP_CANCEL) == 4, log.text


def test_cxf_client_mutual_certificate_wss10_one_shot(
    services: Callable[..., WsscService], home: Path
) -> None:
    """No SecureConversationToken: every call is signed with the client's key and encrypted to
    the service's certificate, and every reply the other way round."""
    svc = services("--bootstrap", MC, "--binding", "ws2007-wss10", "--no-secure-context")
    run, log = cxf(svc, *certificate(home))
    assert_calls(run)
    assert log.issued == [] and log.faults == [], log.text


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_wssc_client_mutual_certificate_wss10_to_cxf(
    cxf_services: Callable[..., CxfService], home: Path, binding: str, caplog: pytest.LogCaptureFixture
) -> None:
    svc = cxf_services("--bootstrap", "mc10", "--binding", binding, "--no-derived-keys")
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        events, results = wssc_session(svc, wssc_credentials("mc10", svc, home))
    assert results == [101, 102, 103, ECHO]
    assert events == ["issue", "call", "call", "call", "call", "cancel"], events
    assert "cancel failed" not in caplog.text, caplog.text
    verdict = svc.report()
    assert verdict["ok"] and verdict["faults"] == [], verdict
    assert verdict["calls"] == ["Add 1 100", "Add 2 100", "Add 3 100", "Echo"], verdict
    assert (verdict["issued"], verdict["renewed"], verdict["cancelled"]) == (1, 0, 1), verdict


def test_wssc_client_mutual_certificate_wss10_one_shot_to_cxf(
    cxf_services: Callable[..., CxfService], home: Path
) -> None:
    svc = cxf_services("--bootstrap", "mc10", "--binding", "ws2007", "--no-secure-context")
    events, results = wssc_session(svc, wssc_credentials("mc10", svc, home))
    assert results == [101, 102, 103, ECHO]
    assert events == ["call"] * 4, events  # no issue, no cancel
    verdict = svc.report()
    assert verdict["ok"] and verdict["faults"] == [], verdict
    assert verdict["calls"] == ["Add 1 100", "Add 2 100", "Add 3 100", "Echo"], verdict
    assert (verdict["issued"], verdict["cancelled"]) == (0, 0), verdict
