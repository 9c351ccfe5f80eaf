"""Live, issue 16: WCF's federation bindings' real bootstrap with Metro, both directions.

``ws2007FederationHttpBinding`` (Message security, ``negotiateServiceCredential=false``) is
WCF's IssuedTokenForCertificate: a SymmetricBinding protected by the service's X.509
certificate (thumbprint, never included), the STS's SAML token as an *endorsing* supporting
token, SignatureConfirmation. Metro calls it "Issued Token with Service Certificate".

(a) ``MetroService --bootstrap it-cert`` (the bootstrap of a session) and ``it-cert-oneshot``
(no session) publish that policy, naming Metro's STS in ``sp:Issuer``; wssc's
``Client.from_wsdl`` recognises it, follows ``sp:Issuer`` to Metro's STS, signs in, and calls.
Metro's service decides (it prints ``CALL`` for each call it ran).

(b) Metro's client reads ``wssc serve --bootstrap issued-token-for-certificate``'s WSDL,
follows its ``sp:Issuer`` to ``wssc sts`` and opens a whole session; Metro's RESULT line and
wssc's service log decide.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from metro_federation import Federation, federation, metro_client, start_wssc_federation, token_from
from metro_peer import WsscService, WsscSts, expect_ok, metro_classpath

from wssc.bootstrap.registry import ClientCredentials
from wssc.client import Client
from wssc.errors import RemoteFault
from wssc.settings import Bootstrap

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    yield from federation(tmp_path_factory)


SIGN_BEFORE_ENCRYPT = ("--protection-order", "SignBeforeEncrypt")


def calls_in(out: str) -> list[str]:
    return re.findall(r"^CALL Add (\d+) 100", out, re.M)


# --- (a) wssc's client: Metro's STS -> Metro's IssuedTokenForCertificate service -------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_wssc_client_opens_a_session_with_metros_it_cert_service(fed: Federation, binding: str) -> None:
    """The session: RST/Issue at Metro's STS (read from sp:Issuer), the RST/SCT secured under an
    EncryptedKey to Metro's certificate and endorsed by the SAML token's proof key, three calls
    on the SCT, Cancel."""
    sts = fed.get_sts("--no-line-breaks")  # FINDINGS M15
    svc = fed.get_metro(binding, sts, "it-cert")
    sts_mark, mark = sts.mark(), svc.mark()
    events: list[tuple[str, str]] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        username="alice",
        password="secret",
        sts_verify=str(sts.cert_pem),
        on_event=lambda n, d: events.append((n, d)),
    ) as c:
        assert c.settings.secure_conversation.bootstrap == Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE
        assert c.settings.secure_conversation.establish_security_context
        assert c.settings.secure_conversation.issuer_address == sts.url  # read from sp:Issuer
        results = [c.Add(a=i, b=100) for i in range(1, 4)]
    assert results == [101, 102, 103]
    names = [n for n, _ in events]
    assert names[0] == "issue" and names[-1] == "cancel" and names.count("issue") == 1, events
    assert "AUTH alice ok" in sts.out_since(sts_mark, until=lambda o: "AUTH" in o)
    out = svc.out_since(mark, until=lambda o: len(calls_in(o)) >= 3)
    assert calls_in(out) == ["1", "2", "3"], out  # Metro ran the calls


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_wssc_client_one_shot_with_metros_it_cert_service(fed: Federation, binding: str) -> None:
    """Without a session: every call carries the SAML token, endorsing; no RST/SCT, no Cancel."""
    sts = fed.get_sts("--no-line-breaks")
    svc = fed.get_metro(binding, sts, "it-cert-oneshot")
    mark = svc.mark()
    events: list[tuple[str, str]] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        username="alice",
        password="secret",
        sts_verify=str(sts.cert_pem),
        on_event=lambda n, d: events.append((n, d)),
    ) as c:
        assert c.settings.secure_conversation.bootstrap == Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE
        assert not c.settings.secure_conversation.establish_security_context
        assert [c.Add(a=i, b=100) for i in (1, 2)] == [101, 102]
    assert not [n for n, _ in events if n in ("issue", "cancel")], events
    out = svc.out_since(mark, until=lambda o: len(calls_in(o)) >= 2)
    assert calls_in(out) == ["1", "2"], out


@pytest.mark.parametrize("bootstrap", ["it-cert", "it-cert-oneshot"])
def test_metros_it_cert_service_refuses_an_endorsement_by_another_key(
    fed: Federation, bootstrap: str
) -> None:
    """Metro's genuine token, its endorsing signature made with another key than the token's
    proof key: Metro's service refuses the first request (WSS1710, its signature check) and
    runs no call, so the verdicts above are Metro's check of the endorsement."""
    sts = fed.get_sts("--no-line-breaks")
    svc = fed.get_metro("ws2007", sts, bootstrap)
    token = token_from(sts, svc.url)
    forged = replace(token, proof_key=bytes(32))  # type: ignore[type-var]
    mark, err_mark = svc.mark(), svc.err_path.stat().st_size
    with pytest.raises(RemoteFault) as refused:
        with Client.from_wsdl(svc.wsdl_url, credentials=ClientCredentials(issued_token=forged)) as c:
            c.Add(a=1, b=100)
    assert "InvalidSecurity" in str(refused.value), refused.value
    deadline = time.monotonic() + 15  # Metro's log: its signature check refused
    while "WSS1710: Signature Verification" not in (err := svc.err_path.read_bytes()[err_mark:].decode()):
        assert time.monotonic() < deadline, err[-3000:]
        time.sleep(0.02)
    assert not calls_in(svc.out_since(mark)), svc.out_since(mark)


# --- IssuedTokenOverTransport: wssc's client -> Metro's it-transport service (HTTPS) ----------------
@pytest.mark.parametrize("bootstrap", ["it-transport", "it-transport-oneshot"])
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_wssc_client_with_metros_it_transport_service(fed: Federation, binding: str, bootstrap: str) -> None:
    """IssuedTokenOverTransport: over HTTPS, the SAML token endorsing the Timestamp (of the
    RST/SCT in a session, of every call one-shot); wssc's client reads the policy, follows
    sp:Issuer to Metro's STS and calls; Metro runs the calls."""
    session = bootstrap == "it-transport"
    sts = fed.get_sts("--no-line-breaks")
    svc = fed.get_metro(binding, sts, bootstrap)
    assert svc.url.startswith("https://")
    mark = svc.mark()
    events: list[tuple[str, str]] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        verify=str(svc.cert_pem),
        username="alice",
        password="secret",
        sts_verify=str(sts.cert_pem),
        on_event=lambda n, d: events.append((n, d)),
    ) as c:
        assert c.settings.secure_conversation.bootstrap == Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT
        assert c.settings.secure_conversation.establish_security_context is session
        assert [c.Add(a=i, b=100) for i in (1, 2)] == [101, 102]
    names = [n for n, _ in events if n in ("issue", "cancel")]
    assert names == (["issue", "cancel"] if session else []), events
    out = svc.out_since(mark, until=lambda o: len(calls_in(o)) >= 2)
    assert calls_in(out) == ["1", "2"], out


# --- (b) Metro's client: wssc's STS -> wssc's IssuedTokenForCertificate service ---------------------
@pytest.fixture(scope="module")
def it_cert_services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., tuple[WsscSts, WsscService]]]:
    """``wssc sts`` + ``wssc serve --bootstrap issued-token-for-certificate`` (or ``bootstrap``)
    per (binding, bootstrap, extra flags), started on first use."""
    metro_classpath()
    started: dict[tuple[str, ...], tuple[WsscSts, WsscService]] = {}

    def get(
        binding: str, *extra: str, bootstrap: str = "issued-token-for-certificate"
    ) -> tuple[WsscSts, WsscService]:
        key = (binding, bootstrap, *extra)
        if key not in started:
            home = tmp_path_factory.mktemp(f"wssc-{bootstrap}-{binding}")
            started[key] = start_wssc_federation(home, binding, bootstrap, *extra)
        return started[key]

    yield get
    for sts, svc in started.values():
        sts.stop()
        svc.stop()


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_metros_client_opens_a_session_with_wssc_it_cert_service(
    it_cert_services: Callable[..., tuple[WsscSts, WsscService]], binding: str
) -> None:
    """Metro's client (its defaults, plus the service's certificate in its trust store) through
    wssc's STS: the RST/SCT endorsed by the SAML token, three Adds, an Echo, Cancel. wssc's
    service runs with WCF's SignBeforeEncrypt: under EncryptSignature Metro sends its
    endorsement in the clear (FINDINGS M13, the test below)."""
    sts, svc = it_cert_services(binding, *SIGN_BEFORE_ENCRYPT)
    sts_mark, mark = sts.mark(), svc.mark()
    run = expect_ok(metro_client(sts, svc, server_cert=True))
    assert run.result["results"] == [101, 102, 103] and run.result["closed"] is True
    assert "issued a SAML 2.0 token to alice" in sts.log_since(sts_mark, until=lambda t: "issued" in t)
    log = svc.log_since(mark, until=lambda lg: bool(lg.cancelled))
    assert len(log.issued) == 1 and log.cancelled == log.issued, log.text
    assert "identity 'alice'" in log.text  # the subject of wssc's assertion


def test_metros_unencrypted_issued_token_endorsement_is_refused(
    it_cert_services: Callable[..., tuple[WsscSts, WsscService]],
) -> None:
    """Under WCF's default EncryptSignature Metro encrypts its primary signature but sends the
    SAML token's endorsing signature in the clear (FINDINGS M13, here with the issued token);
    WCF requires every signature encrypted, and so does wssc: the generic fault, the reason
    logged, no session. Metro got its token from wssc's STS first."""
    sts, svc = it_cert_services("ws2007")
    sts_mark, mark = sts.mark(), svc.mark()
    run = metro_client(sts, svc, server_cert=True)
    assert not run.ok and run.result["calls"] == 0, run.explain()
    assert "WSSC0022" in run.result["error"], run.explain()  # the unsecured fault lost (M4)
    assert "issued a SAML 2.0 token to alice" in sts.log_since(sts_mark, until=lambda t: "issued" in t)
    log = svc.log_since(mark, until=lambda lg: bool(lg.faults))
    assert log.faults == ["InvalidSecurity"], log.text
    assert "the endorsing signature is not encrypted" in log.text, log.text
    assert log.issued == [], log.text


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_metros_client_opens_a_session_with_wssc_it_transport_service(
    it_cert_services: Callable[..., tuple[WsscSts, WsscService]], binding: str
) -> None:
    """IssuedTokenOverTransport: Metro's client (its defaults) through wssc's STS against
    ``wssc serve --bootstrap issued-token-over-transport`` over HTTPS: RST/SCT endorsed by the
    SAML token, three Adds, an Echo, Cancel."""
    sts, svc = it_cert_services(binding, bootstrap="issued-token-over-transport")
    assert svc.url.startswith("https://")
    sts_mark, mark = sts.mark(), svc.mark()
    run = expect_ok(metro_client(sts, svc))
    assert run.result["results"] == [101, 102, 103] and run.result["closed"] is True
    assert "issued a SAML 2.0 token to alice" in sts.log_since(sts_mark, until=lambda t: "issued" in t)
    log = svc.log_since(mark, until=lambda lg: bool(lg.cancelled))
    assert len(log.issued) == 1 and log.cancelled == log.issued, log.text
    assert "identity 'alice'" in log.text
