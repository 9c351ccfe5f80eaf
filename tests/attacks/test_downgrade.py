"""Finding 9: a Basic256 SOAP 1.2 endpoint accepts exactly its suite's algorithms and key
lengths, and its SOAP version.

A legitimate client (it holds a session, or the service certificate for the RST) sends
correctly protected messages that use weaker choices: AES-128 with Basic128's derived-key
lengths, 3DES, RSA-1.5 key transport for the RST, and SOAP 1.1 envelopes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from attack_kit import (
    MATRIX,
    MATRIX_IDS,
    Keys,
    app_envelope,
    assert_refused_by,
    craft,
    last,
    log_mark,
    post,
    recording_client,
    serve_args,
    tostring,
)

from servers import Server
from wssc.client import Client
from wssc.contract import encode_request
from wssc.errors import SecurityVerificationFailed
from wssc.session.client import ClientSession
from wssc.xml import ns
from wssc.xml.soap import SOAP_11, new_envelope

pytestmark = pytest.mark.e2e

DOWNGRADES = {
    "aes128-basic128-keys": {"body_algorithm": ns.AES128_CBC, "enc_key_length": 16, "sig_key_length": 16},
    "aes128-basic256-keys": {"body_algorithm": ns.AES128_CBC},
    "3des": {"body_algorithm": ns.TRIPLEDES_CBC, "enc_key_length": 24},
}


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
@pytest.mark.parametrize("downgrade", list(DOWNGRADES))
def test_weaker_encryption_is_refused(
    server: Callable[..., Server], binding: str, mode: str, downgrade: str
) -> None:
    srv = server(*serve_args(binding, mode))
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        s = c.session
        assert s.suite.name == "Basic256"
        ok = craft(app_envelope(c, "Echo", text="control"), Keys.of(c), s.sc, s.suite)
        assert post(srv, tostring(ok)).status_code == 200  # control: Basic256 as crafted
        root = craft(app_envelope(c, "Echo", text="weak"), Keys.of(c), s.sc, s.suite, **DOWNGRADES[downgrade])  # type: ignore[arg-type]
        mark = log_mark(srv)
        alg = DOWNGRADES[downgrade]["body_algorithm"]
        assert_refused_by(
            srv,
            post(srv, tostring(root)),
            f"encryption method {alg!r}",
            since=mark,
            what=f"{downgrade} on Basic256 {binding}/{mode}",
        )


#: The check that refuses each weaker suite's RST (the service log's reason).
SUITE_REFUSED = {
    "Basic256Rsa15": f"key transport {ns.RSA_15!r}",
    "Basic128": f"encryption method {ns.AES128_CBC!r}",
    "TripleDes": f"encryption method {ns.TRIPLEDES_CBC!r}",
}


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
@pytest.mark.parametrize("suite", ["Basic256Rsa15", "Basic128", "TripleDes"])
def test_bootstrap_with_another_suite_is_refused(
    server: Callable[..., Server], binding: str, mode: str, suite: str
) -> None:
    """The RST itself: RSA-1.5 key transport (Basic256Rsa15), or a Basic128/3DES key and
    encryption. No session may come of it."""
    srv = server(*serve_args(binding, mode))
    c, rec = recording_client(srv)
    c.session = ClientSession(
        replace(
            c.settings, secure_conversation=replace(c.settings.secure_conversation, algorithm_suite=suite)
        ),
        c.session.bootstrap,
        c.address,
    )
    with c:
        mark = log_mark(srv)
        with pytest.raises(SecurityVerificationFailed):
            c.open()
        ex = last(rec, "/RST/SCT")
        if suite.endswith("Rsa15"):
            assert ns.RSA_15.encode() in ex.request
        assert ex.status != 200, f"{suite} RST accepted by a Basic256 endpoint"
        assert_refused_by(
            srv,
            ex.as_response(),
            SUITE_REFUSED[suite],
            since=mark,
            what=f"{suite} RST on Basic256 {binding}/{mode}",
        )


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_soap11_is_refused_by_a_soap12_endpoint(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    """A SOAP 1.1 RST, and a SOAP 1.1 application message secured with a valid session."""
    srv = server(*serve_args(binding, mode))
    c11, rec = recording_client(srv)
    c11.session = ClientSession(replace(c11.settings, soap_version="1.1"), c11.session.bootstrap, c11.address)
    with c11:
        mark = log_mark(srv)
        with pytest.raises(SecurityVerificationFailed):
            c11.open()
        ex = last(rec, "/RST/SCT")
        assert ex.request.startswith(f'<s:Envelope xmlns:s="{ns.SOAP11}"'.encode())
        assert ex.status != 200, "a SOAP 1.1 RST opened a session on a SOAP 1.2 endpoint"
        assert_refused_by(
            srv,
            ex.as_response(),
            "a SOAP 1.1 message to a SOAP 1.2 endpoint",
            since=mark,
            what=f"SOAP 1.1 RST {binding}/{mode}",
        )
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        s = c.session
        op = c.contract.operation("Echo")
        plain = new_envelope(
            SOAP_11, action=op.action, to=c.address, payload=encode_request(op, {"text": "soap11"})
        )
        root = craft(plain, Keys.of(c), s.sc, s.suite)
        mark = log_mark(srv)
        r = post(
            srv,
            tostring(root),
            content_type="text/xml; charset=utf-8",
            headers={"soapaction": f'"{op.action}"'},
        )
        assert r.status_code != 200, "a SOAP 1.1 message was served by a SOAP 1.2 endpoint"
        assert_refused_by(
            srv,
            r,
            "a SOAP 1.1 message to a SOAP 1.2 endpoint",
            since=mark,
            what=f"SOAP 1.1 application message {binding}/{mode}",
        )
