"""The two readings of an algorithm suite's signature algorithms (``Compatibility.
suite_signatures``): WCF's (the default: HMAC-SHA256 under the ``…Sha256`` suites) and
WS-SecurityPolicy's (HMAC-SHA1 in every suite, as Metro and CXF sign). Each side sends its
reading and requires it: a peer of the other reading is refused with the generic fault, and the
log names the signature method that was refused. Live peers: ``tests/interop/test_suites.py``."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest
from engine_kit import ADD, CERT, Clock, assert_fault_logged, exchange

from wssc.bootstrap import AnonymousForCertificateClient
from wssc.certs import Certificate
from wssc.crypto.suites import SUITES, get_suite
from wssc.demo import Calculator
from wssc.errors import InvalidRequest, RemoteFault, UnsupportedAlgorithm
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession
from wssc.settings import (
    MONO_COMPATIBLE,
    WCF_COMPATIBLE,
    WS2007,
    WS_SP_SUITES,
    Compatibility,
    EndpointSettings,
    SecureConversationSettings,
)
from wssc.trust.entropy import check_key_size
from wssc.xml import ns

ADDRESS = "http://x/svc"


def settings(suite: str) -> EndpointSettings:
    return EndpointSettings(
        SecureConversationSettings(
            algorithm_suite=suite, message_security_version=WS2007, encrypt_signature=False
        )
    )


def pair(suite: str, service: Compatibility, client: Compatibility) -> tuple[ServiceEngine, ClientSession]:
    s = settings(suite)
    engine = ServiceEngine(
        Calculator(), settings=s, address=ADDRESS, certificate=CERT, clock=Clock(), compatibility=service
    )
    session = ClientSession(
        s, AnonymousForCertificateClient(Certificate(CERT.cert)), ADDRESS, compatibility=client
    )
    return engine, session


def signature_methods(body: bytes) -> set[str]:
    """The SignatureMethods in the clear (the session's replies and requests are encrypted
    under EncryptSignature: the tests use SignBeforeEncrypt to see them)."""
    return {m.decode() for m in re.findall(rb'SignatureMethod Algorithm="([^"]+)"', body)}


def test_the_readings_differ_only_in_the_sha256_suites_signatures() -> None:
    for suite in SUITES.values():
        wsp = suite.read_as("ws-sp")
        assert suite.read_as("wcf") is suite
        assert (wsp.symmetric_signature, wsp.asymmetric_signature) == (ns.HMAC_SHA1, ns.RSA_SHA1)
        # digest, encryption, key wraps and derived key lengths are the same in both readings
        same = ("digest", "encryption", "symmetric_key_wrap", "asymmetric_key_wrap", "signature_key_length")
        assert all(getattr(wsp, f) == getattr(suite, f) for f in same), suite.name
        assert (wsp == suite) is ("Sha256" not in suite.name), suite.name
    b = get_suite("Basic256Sha256")
    assert (b.symmetric_signature, b.asymmetric_signature, b.digest) == (
        ns.HMAC_SHA256,
        ns.RSA_SHA256,
        ns.SHA256,
    )
    with pytest.raises(UnsupportedAlgorithm, match="unknown suite reading"):
        b.read_as("lax")  # type: ignore[arg-type]


def test_monos_reading_signs_rsa_sha256_in_every_suite() -> None:
    """Mono's WCF endorses with RSA-SHA256 under Basic256 (its captures); its HMAC is the
    suite's. The Mono preset reads the suites so; the default does not."""
    for suite in SUITES.values():
        mono = suite.read_as("mono")
        assert mono.asymmetric_signature == ns.RSA_SHA256, suite.name
        assert mono.symmetric_signature == suite.symmetric_signature, suite.name
        assert replace(mono, asymmetric_signature=suite.asymmetric_signature) == suite, suite.name
    assert MONO_COMPATIBLE.suite_signatures == "mono"
    assert get_suite("Basic256").read_as(WCF_COMPATIBLE.suite_signatures).asymmetric_signature == ns.RSA_SHA1


@pytest.mark.parametrize(
    ("compat", "method"),
    [(WCF_COMPATIBLE, ns.HMAC_SHA256), (WS_SP_SUITES, ns.HMAC_SHA1)],
    ids=["wcf", "ws-sp"],
)
def test_a_whole_session_in_each_reading_signs_with_its_method(compat: Compatibility, method: str) -> None:
    engine, client = pair("Basic256Sha256", compat, compat)
    out = client.issue_request(Clock().t)
    reply = exchange(engine, out.body, out.content_type).body
    client.issue_response(reply, out, Clock().t)
    assert signature_methods(reply) == {method}
    call = client.app_request(ADD, {"a": 2, "b": 3}, Clock().t)
    assert signature_methods(call.body) == {method}
    answer = exchange(engine, call.body, call.content_type).body
    assert signature_methods(answer) == {method}
    assert client.app_response(answer, call, Clock().t) == 5


@pytest.mark.parametrize(
    ("service", "client", "refused"),
    [(WCF_COMPATIBLE, WS_SP_SUITES, ns.HMAC_SHA1), (WS_SP_SUITES, WCF_COMPATIBLE, ns.HMAC_SHA256)],
    ids=["wcf-service-refuses-ws-sp", "ws-sp-service-refuses-wcf"],
)
def test_the_other_reading_is_refused(
    service: Compatibility, client: Compatibility, refused: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No fallback: a service of one reading refuses the other's RST with the generic fault,
    and its log names the signature method it refused."""
    engine, session = pair("Basic256Sha256", service, client)
    out = session.issue_request(Clock().t)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        r = exchange(engine, out.body, out.content_type)
    assert r.status == 500
    with pytest.raises(RemoteFault) as err:
        session.issue_response(r.body, out, Clock().t)
    assert "InvalidSecurity" in str(err.value.code), err.value
    assert_fault_logged(caplog.records, f"signature method '{refused}'")


def test_a_client_refuses_a_reply_signed_in_the_other_reading() -> None:
    """The client requires its reading too: a ws-sp service's RSTR (HMAC-SHA1) is refused by a
    client that reads the suite as WCF does."""
    engine, client = pair("Basic256Sha256", WS_SP_SUITES, WS_SP_SUITES)
    out = client.issue_request(Clock().t)
    reply = exchange(engine, out.body, out.content_type).body
    assert signature_methods(reply) == {ns.HMAC_SHA1}
    client.policy = replace(client.policy, suite=get_suite("Basic256Sha256"))  # the WCF reading
    with pytest.raises(UnsupportedAlgorithm, match="signature method"):
        client.issue_response(reply, out, Clock().t)


@pytest.mark.parametrize(
    ("suite", "bits"),
    [("Basic256", (256, 256)), ("Basic192", (192, 256)), ("Basic128", (128, 256)), ("TripleDes", (192, 256))],
)
def test_requested_key_sizes_are_wcfs(suite: str, bits: tuple[int, int]) -> None:
    """WCF's ``IsSymmetricKeyLengthSupported`` per suite (CXF's client asks 256 bits under
    TripleDes); one bit size outside each end is refused."""
    s = get_suite(suite)
    lo, hi = bits
    check_key_size(lo, s)
    check_key_size(hi, s)
    for bad in (lo - 8, hi + 8):
        with pytest.raises(InvalidRequest, match="not supported"):
            check_key_size(bad, s)
