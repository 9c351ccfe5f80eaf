"""Live: IssuedToken (federation) with Metro, both directions, on loopback.

Metro's own security token service (``wssc.metro.MetroSts``: ``BaseSTSImpl``, WS-Trust Issue
over a UserNameOverTransport endpoint, SAML 2.0 holder-of-key with a symmetric proof key
encrypted to the relying party) stands in for ADFS. wssc's client obtains a token from it and
calls (a) Metro's relying party (``MetroService --bootstrap it``: WCF's federation policy,
``sp:IssuedToken`` naming the STS in ``sp:Issuer``) and (b) wssc's own service trusting
Metro's signing certificate. The peers decide: Metro's STS prints ``AUTH``, Metro's service
answers the calls and prints ``CALL``; wssc's service logs the SCT it issued to the token's
subject and its Cancel.

The other direction: Metro's client reads ``wssc serve --bootstrap issued-token``'s WSDL,
follows its ``sp:Issuer`` to ``wssc sts`` (WS-MetadataExchange), signs in there and opens a
session; Metro's RESULT line and exit code decide.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from metro_federation import Federation, federation, metro_client, start_wssc_federation, token_from
from metro_peer import (
    MetroSts,
    WsscService,
    WsscSts,
    expect_fault,
    expect_ok,
    metro_classpath,
    metro_sts_cert,
)

from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import generate_self_signed, save
from wssc.client import Client
from wssc.errors import RemoteFault

pytestmark = pytest.mark.peer

GENERIC = "An error occurred when verifying security for the message."


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    yield from federation(tmp_path_factory)


# --- wssc's client: Metro's STS -> Metro's relying party ---------------------------------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_metro_sts_token_opens_a_session_with_metros_service(fed: Federation, binding: str) -> None:
    """RST/Issue to Metro's STS, then RST/SCT with the SAML token to Metro's service, three
    calls, Cancel. Metro's service validates its STS's signature and our proof of possession."""
    # --no-line-breaks: Metro's service cannot verify its own STS's default output (M15).
    sts = fed.get_sts("--no-line-breaks")
    svc = fed.get_metro(binding, sts)
    sts_mark, mark = sts.mark(), svc.mark()
    token = token_from(sts, svc.url)
    assert "AUTH alice ok" in sts.out_since(sts_mark, until=lambda o: "AUTH" in o)
    events: list[tuple[str, str]] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        credentials=ClientCredentials(issued_token=token),  # type: ignore[arg-type]
        on_event=lambda n, d: events.append((n, d)),
    ) as c:
        assert c.settings.secure_conversation.issuer_address == sts.url  # read from sp:Issuer
        results = [c.Add(a=i, b=100) for i in range(1, 4)]
    assert results == [101, 102, 103]
    names = [n for n, _ in events]
    assert names[0] == "issue" and names[-1] == "cancel" and names.count("issue") == 1, events
    out = svc.out_since(mark, until=lambda o: len(re.findall(r"^CALL Add", o, re.M)) >= 3)
    assert len(re.findall(r"^CALL Add (\d) 100", out, re.M)) == 3, out  # Metro ran the calls


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_metro_sts_token_one_shot_with_metros_service(fed: Federation, binding: str) -> None:
    """Metro's relying party without a session (``EstablishSecurityContext=false``): every
    call carries Metro's SAML token; no RST/SCT, no Cancel."""
    sts = fed.get_sts("--no-line-breaks")
    svc = fed.get_metro(binding, sts, "it-oneshot")
    mark = svc.mark()
    events: list[tuple[str, str]] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        username="alice",
        password="secret",
        sts_verify=str(sts.cert_pem),
        on_event=lambda n, d: events.append((n, d)),
    ) as c:
        assert not c.settings.secure_conversation.establish_security_context
        assert [c.Add(a=i, b=100) for i in (1, 2)] == [101, 102]
    assert not [n for n, _ in events if n in ("issue", "cancel")], events
    out = svc.out_since(mark, until=lambda o: len(re.findall(r"^CALL Add", o, re.M)) >= 2)
    assert len(re.findall(r"^CALL Add (\d) 100", out, re.M)) == 2, out


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_client_follows_metros_issuer_to_metros_sts(fed: Federation, binding: str) -> None:
    """``Client.from_wsdl`` with a username alone: it follows Metro's ``sp:Issuer`` to Metro's
    STS (its ``?wsdl``, as Metro publishes it), signs in there and opens the session."""
    sts = fed.get_sts("--no-line-breaks")
    svc = fed.get_metro(binding, sts)
    sts_mark, mark = sts.mark(), svc.mark()
    with Client.from_wsdl(
        svc.wsdl_url, username="alice", password="secret", sts_verify=str(sts.cert_pem)
    ) as c:
        assert c.Add(a=7, b=100) == 107
    assert "AUTH alice ok" in sts.out_since(sts_mark, until=lambda o: "AUTH" in o)
    assert "CALL Add 7 100" in svc.out_since(mark, until=lambda o: "CALL" in o)


def test_metros_service_refuses_a_token_for_another_key(fed: Federation) -> None:
    """The same session with the proof key swapped: Metro's service refuses the RST (the
    proof of possession fails), so the verdict above is Metro's own."""
    from dataclasses import replace

    sts = fed.get_sts("--no-line-breaks")
    svc = fed.get_metro("ws2007", sts)
    token = token_from(sts, svc.url)
    forged = replace(token, proof_key=bytes(32))  # type: ignore[type-var]
    mark = svc.mark()
    with pytest.raises(RemoteFault):
        with Client.from_wsdl(svc.wsdl_url, credentials=ClientCredentials(issued_token=forged)) as c:
            c.Add(a=1, b=2)
    assert "CALL" not in svc.out_since(mark)


def test_metro_sts_refuses_a_wrong_password(fed: Federation) -> None:
    sts = fed.get_sts()
    mark = sts.mark()
    with pytest.raises(RemoteFault):
        token_from(sts, "http://127.0.0.1:1/svc", password="wrong")
    assert "AUTH alice refused" in sts.out_since(mark, until=lambda o: "AUTH" in o)


# --- wssc's client: Metro's STS -> wssc's relying party (the ADFS stand-in) ---------------------------
def wssc_call(
    svc: WsscService, sts: MetroSts, *extra: str, follow: bool = False
) -> subprocess.CompletedProcess[str]:
    """``wssc call`` with ``--sts`` (or, ``follow``, without: the policy's sp:Issuer)."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "wssc", "call", svc.url, "Add", "2", "3"),
            *(() if follow else ("--sts", sts.url)),
            *("--username", "alice", "--password", "secret", "--sts-cafile", str(sts.cert_pem), *extra),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, WSSC_HOME=str(svc.home)),
    )


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
@pytest.mark.parametrize("session", [True, False], ids=["session", "one-shot"])
def test_metro_sts_token_calls_wssc_service(fed: Federation, binding: str, session: bool) -> None:
    """``wssc call --sts`` with Metro's STS, Metro's defaults (SAML 2.0 signed RSA-SHA1, base64
    with CRLF line breaks), against ``wssc serve --bootstrap issued-token`` trusting it."""
    sts = fed.get_sts()
    sts_cert = str(metro_sts_cert(fed.home))
    svc = fed.get_wssc(
        *("--binding", binding, "--issuer-cert", sts_cert, "--issuer-sha1", "--sts-address", sts.url),
        *(() if session else ("--no-secure-context",)),
    )
    mark = svc.mark()
    out = wssc_call(svc, sts)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "5"
    if session:
        log = svc.log_since(mark, until=lambda lg: bool(lg.cancelled))
        assert len(log.issued) == 1 and log.cancelled == log.issued, log.text
        assert "identity 'CN=alice'" in log.text  # the subject of Metro's assertion
    else:
        log = svc.log_since(mark)
        assert not log.issued and not log.faults, log.text


def test_wssc_call_follows_the_issuer_to_metros_sts(fed: Federation) -> None:
    """``wssc call`` without ``--sts``: it reads Metro's STS from the service's sp:Issuer,
    fetches the STS's ``?wsdl`` from Metro, signs in and calls."""
    sts = fed.get_sts()
    sts_cert = str(metro_sts_cert(fed.home))
    svc = fed.get_wssc(
        *("--binding", "ws2007", "--issuer-cert", sts_cert, "--issuer-sha1", "--sts-address", sts.url)
    )
    sts_mark, mark = sts.mark(), svc.mark()
    out = wssc_call(svc, sts, follow=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "5"
    assert "AUTH alice ok" in sts.out_since(sts_mark, until=lambda o: "AUTH" in o)
    log = svc.log_since(mark, until=lambda lg: bool(lg.cancelled))
    assert len(log.issued) == 1 and log.cancelled == log.issued, log.text


def sts_stderr_since(sts: MetroSts, mark: int) -> str:
    with open(sts.err_path, "rb") as f:
        f.seek(mark)
        return f.read().decode(errors="replace")


UNFC_STS = ("--bootstrap", "unfc", "--no-line-breaks")  # line breaks: FINDINGS M15


def test_metro_sts_with_username_for_certificate(fed: Federation) -> None:
    """Metro's STS as its basic sample deploys it: UserNameForCertificate over HTTP (the RST
    signed and encrypted under a key sent to the STS's certificate, the UsernameToken
    encrypted). ``wssc call --sts URL --sts-cert PEM`` signs in so and calls wssc's service."""
    sts = fed.get_sts(*UNFC_STS)
    assert sts.url.startswith("http://")
    sts_cert = str(metro_sts_cert(fed.home))
    svc = fed.get_wssc("--binding", "ws2007", "--issuer-cert", sts_cert, "--issuer-sha1")
    sts_mark, mark = sts.mark(), svc.mark()
    out = wssc_call(svc, sts, "--sts-cert", sts_cert)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "5"
    assert "AUTH alice ok" in sts.out_since(sts_mark, until=lambda o: "AUTH" in o)
    log = svc.log_since(mark, until=lambda lg: bool(lg.cancelled))
    assert len(log.issued) == 1 and "identity 'CN=alice'" in log.text, log.text


@pytest.mark.parametrize("case", ["wrong-password", "other-certificate"])
def test_metro_sts_with_username_for_certificate_refuses(fed: Federation, case: str) -> None:
    """A wrong password (Metro's validator refuses it), or the RST encrypted to another
    certificate than the STS's (Metro cannot decrypt it and never sees the password): no
    token, nothing reaches the service."""
    sts = fed.get_sts(*UNFC_STS)
    sts_cert = str(metro_sts_cert(fed.home))
    svc = fed.get_wssc("--binding", "ws2007", "--issuer-cert", sts_cert, "--issuer-sha1")
    sts_mark, mark = sts.mark(), svc.mark()
    err_mark = sts.err_path.stat().st_size
    cert = str(fed.rp_cert) if case == "other-certificate" else sts_cert
    out = subprocess.run(
        [
            *(sys.executable, "-m", "wssc", "call", svc.url, "Add", "2", "3", "--sts", sts.url),
            *("--sts-cert", cert, "--username", "alice"),
            *("--password", "wrong" if case == "wrong-password" else "secret"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and out.stdout.strip() != "5", out.stdout
    if case == "wrong-password":
        assert "AUTH alice refused" in sts.out_since(sts_mark, until=lambda o: "AUTH" in o)
    else:
        deadline = time.monotonic() + 15
        while "No Matching private key" not in (text := sts_stderr_since(sts, err_mark)):
            assert time.monotonic() < deadline, text[-3000:]
            time.sleep(0.02)
        # Metro refused while decrypting, before its validator saw a password.
        assert "AUTH" not in sts.out_since(sts_mark, until=lambda o: True)
    assert not svc.log_since(mark).issued


@pytest.mark.parametrize(
    ("trusted", "sha1", "reason"),
    [
        ("other", True, "the assertion is signed by an untrusted issuer"),
        ("metro", False, "the issuer's signature is malformed: Signature method RSA_SHA1 forbidden"),
    ],
    ids=["untrusted-issuer", "sha1-not-allowed"],
)
def test_wssc_service_refuses_metros_token(fed: Federation, trusted: str, sha1: bool, reason: str) -> None:
    """Metro's token where wssc does not trust Metro's certificate (another issuer is
    configured), or trusts it but not RSA-SHA1 (the default): the generic fault on the wire,
    the reason in the service log."""
    sts = fed.get_sts()
    other = fed.home / "other-sts.pem"
    if not other.exists():
        save(generate_self_signed("other-sts"), other, fed.home / "other-sts.key")
    cert = str(metro_sts_cert(fed.home) if trusted == "metro" else other)
    svc = fed.get_wssc("--issuer-cert", cert, *(("--issuer-sha1",) if sha1 else ()))
    mark = svc.mark()
    out = wssc_call(svc, sts)
    assert out.returncode != 0
    assert "InvalidSecurity" in out.stderr and GENERIC in out.stderr, out.stderr
    log = svc.log_since(mark, until=lambda lg: reason in lg.text)
    assert reason in log.text, log.text
    assert not log.issued


# --- Metro's client: wssc's STS -> wssc's service ----------------------------------------------------
@pytest.fixture(scope="module", params=["wshttp", "ws2007"])
def wssc_federation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WsscSts, WsscService]]:
    """``wssc sts`` and ``wssc serve --bootstrap issued-token`` naming it, in one family."""
    metro_classpath()
    binding = str(request.param)
    sts, svc = start_wssc_federation(tmp_path_factory.mktemp(f"wssc-sts-{binding}"), binding, "issued-token")
    yield sts, svc
    sts.stop()
    svc.stop()


def test_metros_client_through_wssc_sts_opens_a_session(wssc_federation: tuple[WsscSts, WsscService]) -> None:
    sts, svc = wssc_federation
    sts_mark, mark = sts.mark(), svc.mark()
    run = expect_ok(metro_client(sts, svc))
    assert run.result["results"] == [101, 102, 103] and run.result["closed"] is True
    assert "issued a SAML 2.0 token to alice" in sts.log_since(sts_mark, until=lambda t: "issued" in t)
    log = svc.log_since(mark, until=lambda lg: bool(lg.cancelled))
    assert len(log.issued) == 1 and log.cancelled == log.issued, log.text
    assert "identity 'alice'" in log.text  # the subject of wssc's assertion


def test_metros_client_with_a_wrong_sts_password_is_refused(
    wssc_federation: tuple[WsscSts, WsscService],
) -> None:
    """wssc's STS refuses the sign-in; Metro's client fails before any call (it reports its
    own InvalidSecurity for the unsecured fault: FINDINGS M4), and no session is opened."""
    sts, svc = wssc_federation
    sts_mark, mark = sts.mark(), svc.mark()
    run = expect_fault(metro_client(sts, svc, password="wrong"), "InvalidSecurity", phase="call 1")
    assert run.result["calls"] == 0
    text = sts.log_since(sts_mark, until=lambda t: "STS fault" in t)
    assert "FailedAuthentication: wrong username or password" in text, text
    assert "issued a SAML" not in text
    assert not svc.log_since(mark).issued
