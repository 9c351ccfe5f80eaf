"""WSS4J verifies the steady-state messages the *service* sends (and the client's requests).

The service runs in-process (the same sans-IO engine the ASGI/WSGI apps use); its replies are
written to files and handed to ``peer verify`` with the session's SCT identifier and key.
"""

from __future__ import annotations

import base64
import itertools
import time
from pathlib import Path

import pytest

from peers import Wss4jPeer, wss4j_verdict
from wssc.bootstrap import AnonymousForCertificateClient, TransportInfo
from wssc.certs import Certificate, generate_self_signed
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.service.engine import Dispatch, HttpRequest, ServiceEngine, run_dispatch_sync
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import WS2007, WSHTTP, EndpointSettings, SecureConversationSettings
from wssc.store.cookie import KeyRing
from wssc.xml.ns import WSSE

pytestmark = pytest.mark.peer

CERT = generate_self_signed()


def _session(version: str, soap: str, cookie: bool) -> tuple[ServiceEngine, ClientSession]:
    settings = EndpointSettings(
        SecureConversationSettings(
            require_cancellation=not cookie,
            message_security_version=WSHTTP if version == "wshttp" else WS2007,
        ),
        soap_version=soap,
    )
    engine = ServiceEngine(
        Calculator(),
        settings=settings,
        address="http://127.0.0.1/svc",
        certificate=CERT,
        keyring=KeyRing.generate() if cookie else None,
    )
    client = ClientSession(
        settings, AnonymousForCertificateClient(Certificate(CERT.cert)), "http://127.0.0.1/svc"
    )
    return engine, client


def _post(engine: ServiceEngine, out: Outgoing) -> bytes:
    r = engine.handle(
        HttpRequest("POST", "/svc", "", {"content-type": out.content_type}, out.body, TransportInfo())
    )
    if isinstance(r, Dispatch):
        r = run_dispatch_sync(r)
    assert r.status == 200, r.body[:500]
    return r.body


@pytest.mark.parametrize(
    ("version", "soap", "cookie"),
    list(itertools.product(["wshttp", "ws2007"], ["1.1", "1.2"], [False, True])),
)
def test_wss4j_verifies_service_replies(
    wss4j: Wss4jPeer, tmp_path: Path, version: str, soap: str, cookie: bool
) -> None:
    engine, client = _session(version, soap, cookie)
    now = time.time()
    out = client.issue_request(now)
    client.issue_response(_post(engine, out), out, now)
    assert client.sct is not None and client.key is not None
    echo = get_contract(Calculator).operation("Echo")
    out = client.app_request(echo, {"text": "checked by WSS4J"}, now)
    request_path = tmp_path / "request.xml"
    request_path.write_bytes(out.body)
    reply = _post(engine, out)
    reply_path = tmp_path / "reply.xml"
    reply_path.write_bytes(reply)
    secret = base64.b64encode(client.key).decode()
    for path in (reply_path, request_path):
        proc = wss4j.verify(path, secret=secret, sct_id=client.sct.identifier, require_encrypted_body=True)
        assert wss4j_verdict(proc).ok, f"{path.name}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "checked by WSS4J" in proc.stdout  # the decrypted Body
    # and our own client accepts the same reply
    assert client.app_response(reply, out, now) == "checked by WSS4J"


def test_wss4j_rejects_service_reply_under_wrong_key(wss4j: Wss4jPeer, tmp_path: Path) -> None:
    engine, client = _session("wshttp", "1.2", False)
    now = time.time()
    out = client.issue_request(now)
    client.issue_response(_post(engine, out), out, now)
    assert client.sct is not None
    out = client.app_request(get_contract(Calculator).operation("Add"), {"a": 1, "b": 2}, now)
    path = tmp_path / "reply.xml"
    path.write_bytes(_post(engine, out))
    verdict = wss4j.verdict(
        path, secret=base64.b64encode(b"\x01" * 32).decode(), sct_id=client.sct.identifier
    )
    assert not verdict.ok and verdict.fault == f"{{{WSSE}}}FailedCheck", verdict.output
