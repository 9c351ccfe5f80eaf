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
interop/cxf/FINDINGS.md (C14-C19).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cxf_peer import CxfService, cxf_classpath, run_cxf, start_cxf_service
from metro_peer import PeerRun, ServiceLog, WsscService, expect_fault, expect_ok, start_wssc

from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import generate_self_signed, save
from wssc.certs import load as load_certificate
from wssc.client import Client
from wssc.errors import RemoteFault

pytestmark = pytest.mark.peer

CLIENT = "wssc.cxf.CxfClient"
ECHO = "cxf \u00e9\u00e8 <&>"
BOOTSTRAP_CANCEL = "the Cancel is not signed by the session's key"
UNFC, MC, COT = "username-for-certificate", "mutual-certificate", "certificate-over-transport"
FAMILIES = pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
#: CXF answers a Cancel under derived keys with an RSTR signed by the SCT's own key (C8).
DK_CANCEL_REPLY = "the policy requires derived keys"
#: The SP namespace of each family (CXF names the assertion it refuses by it).
SP_NS = {
    "wshttp": "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy",
    "ws2007": "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702",
}


def https_token_refusal(binding: str) -> str:
    """CXF's exact refusal of a transport bootstrap's RST over HTTPS (C11)."""
    return f"These policy alternatives can not be satisfied: \n{{{SP_NS[binding]}}}HttpsToken"


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
#: CXF's Cancels over HTTPS (C16): the first carries the client certificate (refused as a
#: bootstrap-secured Cancel, C3), the later ones no signature at all.
TRANSPORT_CANCEL = (BOOTSTRAP_CANCEL, "the message is not signed")


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


# --- wssc's client against CXF services (policies in CXF's own shapes) ---------------------------
@pytest.fixture(scope="module")
def cxf_services(home: Path) -> Iterator[Callable[..., CxfService]]:
    started: dict[tuple[str, ...], CxfService] = {}

    def get(bootstrap: str, binding: str, *extra: str) -> CxfService:
        key = (bootstrap, binding, *extra)
        if key not in started:
            started[key] = start_cxf_service(
                home / "cxf",
                "--bootstrap",
                bootstrap,
                "--binding",
                binding,
                "--trust-client-cert",
                str(home / "client.pem"),
                *extra,
            )
        return started[key]

    (home / "cxf").mkdir(exist_ok=True)
    yield get
    for svc in started.values():
        final = svc.stop()  # CXF's verdict on its whole run, and its exit code
        assert final["ok"], final


def credentials(svc: CxfService, home: Path, **kw: Any) -> ClientCredentials:
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


def assert_cxf_session(
    svc: CxfService,
    events: list[str],
    results: list[object],
    caplog: pytest.LogCaptureFixture,
    auth: list[str],
) -> None:
    """Issue and calls under derived keys (as WCF exports them). CXF cancels the SCT but signs
    its RSTR/Cancel with the SCT's key, not a derived key: wssc's client refuses that reply and
    logs it (FINDINGS C8); the session is over on both sides."""
    assert results == [101, 102, 103, ECHO]
    assert events == ["issue", "call", "call", "call", "call"], events
    assert "cancel failed" in caplog.text and DK_CANCEL_REPLY in caplog.text, caplog.text
    verdict = svc.report()
    assert verdict["ok"], verdict
    assert verdict["calls"] == ["Add 1 100", "Add 2 100", "Add 3 100", "Echo"], verdict
    assert (verdict["issued"], verdict["renewed"], verdict["cancelled"]) == (1, 0, 1), verdict
    assert verdict["auth"] == auth and verdict["faults"] == [], verdict


@FAMILIES
def test_wssc_client_username_for_certificate_to_cxf(
    cxf_services: Callable[..., CxfService], home: Path, binding: str, caplog: pytest.LogCaptureFixture
) -> None:
    svc = cxf_services("unfc", binding)
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        events, results = wssc_session(svc, credentials(svc, home, username="alice", password="secret"))
    assert_cxf_session(svc, events, results, caplog, ["alice"])


def test_wssc_client_username_for_certificate_one_shot_to_cxf(
    cxf_services: Callable[..., CxfService], home: Path
) -> None:
    """No SecureConversationToken (CXF's shape with the bootstrap's binding at the top): each
    call carries the encrypted UsernameToken under a new EncryptedKey; CXF checks each."""
    svc = cxf_services("unfc", "ws2007", "--no-secure-context")
    events, results = wssc_session(svc, credentials(svc, home, username="alice", password="secret"))
    assert results == [101, 102, 103, ECHO]
    assert events == ["call"] * 4, events  # no issue, no cancel
    verdict = svc.report()
    assert verdict["ok"] and verdict["faults"] == [], verdict
    assert verdict["calls"] == ["Add 1 100", "Add 2 100", "Add 3 100", "Echo"], verdict
    assert (verdict["issued"], verdict["cancelled"]) == (0, 0), verdict
    assert verdict["auth"] == ["alice"] * 4, verdict


def test_cxf_refuses_a_wrong_password(cxf_services: Callable[..., CxfService], home: Path) -> None:
    svc = cxf_services("unfc", "ws2007")
    with (
        pytest.raises(RemoteFault),
        Client.from_wsdl(
            svc.wsdl_url, credentials=credentials(svc, home, username="alice", password="wrong")
        ) as c,
    ):
        c.Add(a=1, b=2)
    verdict = svc.report()
    assert verdict["auth"] == ["alice"] and verdict["issued"] == 0 and verdict["calls"] == [], verdict
    assert len(verdict["faults"]) == 1, verdict


@FAMILIES
def test_wssc_client_mutual_certificate_to_cxf(
    cxf_services: Callable[..., CxfService], home: Path, binding: str, caplog: pytest.LogCaptureFixture
) -> None:
    svc = cxf_services("mc", binding)
    mine = load_certificate(home / "client.pem", home / "client-key.pem")
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        events, results = wssc_session(svc, credentials(svc, home, certificate=mine))
    assert_cxf_session(svc, events, results, caplog, [])


def test_cxf_refuses_an_untrusted_client_certificate(
    cxf_services: Callable[..., CxfService], home: Path
) -> None:
    svc = cxf_services("mc", "ws2007")
    stranger = load_certificate(home / "stranger.pem", home / "stranger-key.pem")
    with (
        pytest.raises(RemoteFault),
        Client.from_wsdl(svc.wsdl_url, credentials=credentials(svc, home, certificate=stranger)) as c,
    ):
        c.Add(a=1, b=2)
    verdict = svc.report()
    assert verdict["issued"] == 0 and verdict["calls"] == [], verdict
    assert len(verdict["faults"]) == 1, verdict


@FAMILIES
def test_cxf_service_refuses_certificate_over_transport(
    cxf_services: Callable[..., CxfService], home: Path, binding: str
) -> None:
    """CXF's HTTPS/bootstrap bug (FINDINGS C11) hits CertificateOverTransport too: its service
    asserts HttpsToken against the endpoint policy only, then swaps in the BootstrapPolicy, whose
    own TransportBinding/HttpsToken nobody asserts; it refuses wssc's RST (over real TLS, with
    CXF's TLSSessionInfo present) by that policy check. wssc is not at fault; nothing is issued."""
    svc = cxf_services("cot", binding, "--no-derived-keys")
    assert svc.url.startswith("https://")
    mine = load_certificate(home / "client.pem", home / "client-key.pem")
    refusal = https_token_refusal(binding)
    with (
        pytest.raises(RemoteFault) as raised,
        Client.from_wsdl(
            svc.wsdl_url, credentials=credentials(svc, home, certificate=mine), verify=str(svc.cert_pem)
        ) as c,
    ):
        c.Add(a=1, b=2)
    assert refusal in str(raised.value), raised.value
    verdict = svc.report()
    assert verdict["issued"] == 0 and verdict["calls"] == [], verdict
    assert len(verdict["faults"]) == 1 and verdict["faults"][0].startswith(refusal), verdict
