"""A full session (issue, calls, renew, a refused message, cancel), and a cookie-mode one, with
every logger at DEBUG: the session events are logged on wssc.* loggers, and no secret (SCT key,
password, nonce, entropy, cipher value, cookie) appears in any log line."""

from __future__ import annotations

import base64
import dataclasses
import logging

import httpx
import pytest
from lxml import etree

from servers import BOOTSTRAP_NAMES, over_tls, signs_in, signs_with_certificate
from wssc.bootstrap.registry import ClientCredentials, parse_bootstrap
from wssc.certs import Certificate, generate_self_signed
from wssc.client import Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import BadContextToken
from wssc.security.x509_validation import CertificateValidator
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import (
    MESSAGE_SECURITY_VERSIONS,
    EndpointSettings,
    SecureConversationSettings,
)

CERT = generate_self_signed()
PASSWORD = "Tr0ub4dor&3-horse-battery"
SECRET_ELEMENTS = {"Nonce", "BinarySecret", "CipherValue", "SignatureValue", "Password", "Cookie", "Entropy"}


def _forms(value: bytes | str) -> set[str]:
    if isinstance(value, str):
        return {value}
    return {base64.b64encode(value).decode(), value.hex(), value.hex().upper(), repr(value)[2:-1]} - {""}


class Wire:
    """Every request and reply body, and the secret values they carry."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def take(self, body: bytes) -> None:
        try:
            root = etree.fromstring(body)
        except etree.XMLSyntaxError:
            return
        for el in root.iter():
            if isinstance(el.tag, str) and etree.QName(el).localname in SECRET_ELEMENTS:
                text = "".join(el.itertext()).strip()
                if len(text) >= 8:
                    self.secrets.add(text)

    def request(self, request: httpx.Request) -> None:
        self.take(request.read())

    def response(self, response: httpx.Response) -> None:
        self.take(response.read())


def _settings(bootstrap: str, cookie: bool) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=parse_bootstrap(bootstrap),
            require_cancellation=not cookie,
            message_security_version=MESSAGE_SECURITY_VERSIONS["ws2007"],
        )
    )


@pytest.mark.parametrize(
    ("bootstrap", "cookie"),
    [
        *((name, False) for name in BOOTSTRAP_NAMES),
        *((name, True) for name in BOOTSTRAP_NAMES if not over_tls(name)),
    ],
)
def test_logs_carry_events_but_no_secrets(
    caplog: pytest.LogCaptureFixture, bootstrap: str, cookie: bool
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    settings = _settings(bootstrap, cookie)
    tls = over_tls(bootstrap)
    url = f"{'https' if tls else 'http'}://testserver/svc"
    engine = ServiceEngine(
        Calculator(),
        settings=settings,
        address=url,
        certificate=CERT,
        username_validator=lambda u, p: (u, p) == ("alice", PASSWORD),
        client_certificate_validator=CertificateValidator.peer_trust(CERT.cert),
    )
    wire = Wire()
    http = httpx.Client(
        transport=httpx.WSGITransport(app=WsgiApp(engine)),  # type: ignore[arg-type]
        event_hooks={"request": [wire.request], "response": [wire.response]},
    )
    kw: dict[str, object] = {"username": "alice", "password": PASSWORD} if signs_in(bootstrap) else {}
    if signs_with_certificate(bootstrap):  # the service's key pair doubles as the client's
        kw = {"credentials": ClientCredentials(certificate=CERT)}
    client = Client(
        url,
        get_contract(Calculator),
        settings=settings,
        http=http,
        service_certificate=Certificate(CERT.cert),
        **kw,
    )  # type: ignore[arg-type]
    secrets: set[str] = set(_forms(PASSWORD)) if signs_in(bootstrap) else set()
    with client:
        assert client.Add(a=1, b=2) == 3
        s = client.session
        assert s.key is not None and s.sct is not None
        secrets |= _forms(s.key)
        if s.sct.cookie:
            secrets |= _forms(s.sct.cookie)
        assert client.Echo(text="app-secret-argument-42") == "app-secret-argument-42"
        secrets.add("app-secret-argument-42")  # application data stays out of the logs too
        if not cookie:
            client.renew()
            assert s.key is not None
            secrets |= _forms(s.key)
            assert client.Add(a=2, b=2) == 4
            # a refused message: an SCT the service does not know
            real = s.sct
            s.sct = dataclasses.replace(real, identifier="urn:uuid:unknown-to-the-service")
            with pytest.raises(BadContextToken):
                client.Add(a=1, b=1)
            from wssc.session.states import Event

            s.sct = real  # the session closed on BadContextToken: re-open it with the real
            s.process_event(Event.ISSUED)  # SCT, so that close() sends the Cancel
    secrets |= wire.secrets
    assert len(wire.secrets) >= 3  # nonces, cipher values… were seen on the wire

    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    events = [r.getMessage() for r in caplog.records if r.name.startswith("wssc.")]
    # the events are there…
    assert any("issued" in m for m in events), events
    if cookie:
        assert not any("cancelled" in m for m in events)
    else:
        assert any("renewed" in m for m in events), events
        assert any("cancelled" in m for m in events), events
        assert any("BadContextToken" in m for m in events), events  # refused, and why
    # … and no secret is
    leaked = sorted(x for x in secrets if x in text)
    assert not leaked, f"secrets in the logs: {leaked}"
