"""Message and metadata shapes other stacks produce, found against Metro (WSIT); no Java needed.

* Metro (like WCF's session protocol, which encrypts ``NoParts`` of a Cancel) signs the Body of
  ``RST/SCT/Cancel`` but does not encrypt it; the service must accept that, and only for Cancel.
* Metro reads SignedParts/EncryptedParts from the per-operation input/output policies of the
  WSDL, as WCF publishes them; with the binding policy alone it signs only the Timestamp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from engine_kit import ADD, CERT, T0, assert_fault_logged, client_for, engine_for, exchange
from lxml import etree

from wssc.bootstrap import TransportInfo
from wssc.bootstrap.registry import parse_bootstrap, settings_from_wsdl
from wssc.demo import Calculator
from wssc.errors import FailedAuthentication, SecurityVerificationFailed, WsscError
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import SctProtection
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import (
    WS2007,
    WSHTTP,
    Bootstrap,
    EndpointSettings,
    SecureConversationSettings,
)
from wssc.xml import ns
from wssc.xml.soap import Envelope

NOW = T0


def make(settings: EndpointSettings) -> tuple[ServiceEngine, ClientSession]:
    return engine_for(settings, lambda: NOW), client_for(settings)


def post(engine: ServiceEngine, out: Outgoing) -> bytes:
    return exchange(engine, out.body, out.content_type).body


def _body_is_encrypted(out: Outgoing) -> bool:
    root = etree.fromstring(out.body)
    body = root[-1]
    return len(body) == 1 and etree.QName(body[0]).localname == "EncryptedData"


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=["wshttp", "ws2007"])
def test_cancel_signed_but_not_encrypted_is_accepted(
    version: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="wssc")
    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(message_security_version=version)
    )  # type: ignore[arg-type]
    engine, client = make(settings)
    out = client.issue_request(NOW)
    client.issue_response(post(engine, out), out, NOW)
    assert len(engine.sessions.store) == 1
    client.policy = replace(client.policy, encrypt_body=False, encrypt_signature=False)

    # An application message must still be encrypted…
    app = client.app_request(ADD, {"a": 1, "b": 2}, NOW)
    assert not _body_is_encrypted(app)
    with pytest.raises(SecurityVerificationFailed):
        client.app_response(post(engine, app), app, NOW)
    assert_fault_logged(caplog.records, "the signature is not encrypted")

    # …but a Cancel signed (Body included) and not encrypted, as Metro sends it, is honoured.
    cancel = client.cancel_request(NOW)
    assert cancel is not None and not _body_is_encrypted(cancel)
    client.cancel_response(post(engine, cancel), cancel, NOW)
    assert len(engine.sessions.store) == 0


@pytest.mark.parametrize("encrypt_signature", [True, False], ids=["encsig", "SignBeforeEncrypt"])
def test_cancel_reply_is_signed_and_not_encrypted(encrypt_signature: bool) -> None:
    """WCF's session protocol encrypts no part of the Cancel reply (NoParts); under
    SignBeforeEncrypt Metro refuses an encrypted one ("Looking for a Signature Element in
    Security header, but found EncryptionPolicy"). Signed: Body, Timestamp, addressing."""
    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(encrypt_signature=encrypt_signature)
    )
    engine, client = make(settings)
    out = client.issue_request(NOW)
    client.issue_response(post(engine, out), out, NOW)
    cancel = client.cancel_request(NOW)
    assert cancel is not None
    reply = post(engine, cancel)
    root = etree.fromstring(reply)
    sec = Envelope(root).security_headers()[0]
    assert [etree.QName(c).localname for c in sec] == ["Timestamp", "DerivedKeyToken", "Signature"]
    assert root.find(f".//{{{ns.XENC}}}EncryptedData") is None
    signed = {r.get("URI") for r in sec.iter(f"{{{ns.DS}}}Reference")}
    body_id = Envelope(root).body.get(f"{{{ns.WSU}}}Id")
    assert f"#{body_id}" in signed and len(signed) >= 3
    client.cancel_response(reply, cancel, NOW)
    assert len(engine.sessions.store) == 0


def test_unsigned_cancel_body_is_still_refused(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="wssc")
    engine, client = make(EndpointSettings())
    out = client.issue_request(NOW)
    client.issue_response(post(engine, out), out, NOW)
    client.policy = replace(client.policy, encrypt_body=False, encrypt_signature=False)
    cancel = client.cancel_request(NOW)
    assert cancel is not None
    root = etree.fromstring(cancel.body)
    root[-1].attrib.pop(f"{{{ns.WSU}}}Id", None)  # the signature's reference no longer resolves
    tampered = Outgoing(etree.tostring(root), cancel.action, cancel.content_type, kind="cancel")
    with pytest.raises(SecurityVerificationFailed):
        client.cancel_response(post(engine, tampered), tampered, NOW)
    assert_fault_logged(caplog.records, "a signed element is missing")
    assert len(engine.sessions.store) == 1


def _wsdl(bootstrap: str, version: object) -> etree._Element:
    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=parse_bootstrap(bootstrap), message_security_version=version
        )
    )  # type: ignore[arg-type]
    engine = ServiceEngine(
        Calculator(),
        settings=settings,
        address="https://x/svc",
        certificate=CERT,
        username_validator=lambda u, p: True,
    )
    return etree.fromstring(engine.wsdl())


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=["wshttp", "ws2007"])
def test_wsdl_has_per_operation_message_policies(version: object) -> None:
    root = _wsdl("anonymous-for-certificate", version)
    sp = version.sp_ns  # type: ignore[attr-defined]
    policies = {p.get(f"{{{ns.WSU}}}Id"): p for p in root if etree.QName(p).localname == "Policy"}
    binding = root.find(f"{{{ns.WSDL}}}binding")
    assert binding is not None
    ops = binding.findall(f"{{{ns.WSDL}}}operation")
    assert ops
    for op in ops:
        for io in ("input", "output"):
            ref = op.find(f"{{{ns.WSDL}}}{io}/*[@URI]")
            assert ref is not None, f"{op.get('name')} {io} has no policy reference"
            policy = policies[ref.get("URI", "")[1:]]
            signed = policy.find(f".//{{{sp}}}SignedParts")
            encrypted = policy.find(f".//{{{sp}}}EncryptedParts")
            assert signed is not None and signed.find(f"{{{sp}}}Body") is not None
            assert encrypted is not None and encrypted.find(f"{{{sp}}}Body") is not None
    # and wssc's own importer still reads the whole WSDL back to the same settings
    imported = settings_from_wsdl(etree.tostring(root)).settings
    assert imported.message_security_version == version
    assert imported.require_derived_keys and imported.require_cancellation


def test_no_message_policies_over_transport() -> None:
    root = _wsdl("username-over-transport", WS2007)
    binding = root.find(f"{{{ns.WSDL}}}binding")
    assert binding is not None
    assert binding.findall(f"{{{ns.WSDL}}}operation/{{{ns.WSDL}}}input/*[@URI]") == []


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=["wshttp", "ws2007"])
def test_bootstrap_without_derived_keys_follows_the_published_policy(version: object) -> None:
    """``require_derived_keys=False`` removes sp:RequireDerivedKeys from the bootstrap X509Token
    too; a client that follows that policy (Metro) signs the RST with the EncryptedKey itself."""
    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(
            message_security_version=version, require_derived_keys=False
        )
    )  # type: ignore[arg-type]
    engine, client = make(settings)
    x509 = _wsdl_of(engine).find(f".//{{{version.sp_ns}}}X509Token")  # type: ignore[attr-defined]
    assert x509 is not None
    assert x509.find(f".//{{{version.sp_ns}}}RequireDerivedKeys") is None  # type: ignore[attr-defined]
    out = client.issue_request(NOW)
    assert b"DerivedKeyToken" not in out.body
    client.issue_response(post(engine, out), out, NOW)
    app = client.app_request(ADD, {"a": 2, "b": 3}, NOW)
    assert b"DerivedKeyToken" not in app.body
    assert client.app_response(post(engine, app), app, NOW) == 5


def _wsdl_of(engine: ServiceEngine) -> etree._Element:
    return etree.fromstring(engine.wsdl())


def test_decrypted_body_keeps_the_senders_prefixes() -> None:
    """Metro encrypts a Body whose content declares the wsu namespace under its own prefix
    (``xmlns:ns2="…utility…" ns2:Id``) while the Envelope declares it as ``wsu``; the digest
    was computed over ``ns2``, so decryption must keep ``ns2``."""
    import os

    from wssc.security.inbound import verify
    from wssc.security.outbound import protect
    from wssc.security.policy import MessagePolicy
    from wssc.security.tokens import SctProtection
    from wssc.tokens import SecurityContextToken
    from wssc.xml.parse import parse_xml

    secret = os.urandom(32)
    sct = SecurityContextToken("urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    doc = parse_xml(
        f'<s:Envelope xmlns:s="{ns.SOAP12}" xmlns:wsu="{ns.WSU}"><s:Header/>'
        f'<s:Body><r xmlns="urn:x"><t xmlns:ns2="{ns.WSU}" ns2:Id="t1">v</t></r></s:Body>'
        "</s:Envelope>".encode()
    )
    policy = MessagePolicy(sc=ns.SC_V13)
    wire = etree.tostring(protect(doc, SctProtection(sct, secret, include=True), policy, now=NOW))
    assert b"ns2" not in wire.split(b"<s:Body")[1]  # the Body content is encrypted
    result = verify(wire, policy=policy, now=NOW, resolver=lambda token, sc: secret)
    assert result.body_encrypted


def test_decrypted_body_keeps_a_default_namespace_under_a_prefixed_one() -> None:
    """CXF's RSTR/Renew: ``<wsc:SecurityContextToken xmlns:wsc=U>…<Instance xmlns=U>``, one
    URI under a prefix and, inside, as the default namespace. Moving the decrypted nodes
    would re-point ``Instance`` at ``wsc:`` and change the exclusive c14n that CXF digested
    (FINDINGS C10). Decryption keeps the sender's form: the digest verifies, and deleting the
    check of the plaintext's own declarations fails this test."""
    import os

    from wssc.security.inbound import verify
    from wssc.security.outbound import protect
    from wssc.security.policy import MessagePolicy
    from wssc.security.tokens import SctProtection
    from wssc.tokens import SecurityContextToken
    from wssc.xml.parse import parse_xml

    secret = os.urandom(32)
    sct = SecurityContextToken("urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    sc = ns.SC_V13.ns
    doc = parse_xml(
        f'<s:Envelope xmlns:s="{ns.SOAP12}" xmlns:wsu="{ns.WSU}"><s:Header/>'
        f'<s:Body><wsc:T xmlns:wsc="{sc}"><wsc:I>u</wsc:I><Instance xmlns="{sc}">g</Instance></wsc:T>'
        "</s:Body></s:Envelope>".encode()
    )
    policy = MessagePolicy(sc=ns.SC_V13)
    wire = etree.tostring(protect(doc, SctProtection(sct, secret, include=True), policy, now=NOW))
    assert b"Instance" not in wire  # the Body content is encrypted
    result = verify(wire, policy=policy, now=NOW, resolver=lambda token, sc: secret)
    assert result.body_encrypted
    body = etree.tostring(result.envelope.body, method="c14n", exclusive=True)
    assert b'<Instance xmlns="' in body and b"wsc:Instance" not in body, body


def _transport_session() -> tuple[ServiceEngine, ClientSession, Callable[[Outgoing], bytes]]:
    """A UserNameOverTransport engine and client, the session issued over (pretend) TLS."""
    from wssc.bootstrap import UserNameOverTransportClient

    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT, message_security_version=WS2007
        )
    )
    engine = ServiceEngine(
        Calculator(),
        settings=settings,
        address="https://x/svc",
        username_validator=lambda u, p: (u, p) == ("alice", "secret"),
        clock=lambda: NOW,
    )
    client = ClientSession(settings, UserNameOverTransportClient("alice", "secret"), "https://x/svc")

    def post_tls(out: Outgoing) -> bytes:
        return exchange(engine, out.body, out.content_type, TransportInfo(secure=True)).body

    out = client.issue_request(NOW)
    client.issue_response(post_tls(out), out, NOW)
    return engine, client, post_tls


def test_reply_over_transport_may_carry_a_timestamp_alone() -> None:
    """Over TLS a WCF or Metro service answers an SCT-secured request with a Timestamp and no
    signature (supporting tokens are the initiator's); the client must accept that."""
    _, client, post_tls = _transport_session()
    app = client.app_request(ADD, {"a": 2, "b": 3}, NOW)
    reply = etree.fromstring(post_tls(app))
    security = reply.find(f".//{{{ns.WSSE}}}Security")
    assert security is not None
    for child in list(security):
        if etree.QName(child).localname != "Timestamp":
            security.remove(child)
    assert [etree.QName(c).localname for c in security] == ["Timestamp"]
    assert client.app_response(etree.tostring(reply), app, NOW) == 5


def test_renew_over_transport_repeats_the_username_token() -> None:
    """WCF and Metro send the Renew over the bootstrap channel: over TLS it carries the
    UsernameToken again, the SCT endorsing the Timestamp (Metro refuses it without)."""
    _, client, post_tls = _transport_session()
    renew = client.renew_request(NOW)
    sec = etree.fromstring(renew.body).find(f".//{{{ns.WSSE}}}Security")
    assert sec is not None
    kinds = [etree.QName(c).localname for c in sec]
    assert "UsernameToken" in kinds and "SecurityContextToken" in kinds and "Signature" in kinds
    client.renew_response(post_tls(renew), renew, NOW)
    app = client.app_request(ADD, {"a": 2, "b": 3}, NOW)
    assert client.app_response(post_tls(app), app, NOW) == 5


def test_reference_to_a_renewed_sct_names_its_instance() -> None:
    """After a Renew the key generation is named on the SecurityTokenReference too (Metro looks
    the key up by that attribute); a first-generation SCT's reference stays bare."""
    _, client, post_tls = _transport_session()
    first = client.app_request(ADD, {"a": 1, "b": 1}, NOW)
    assert b"Instance=" not in first.body
    renew = client.renew_request(NOW)
    client.renew_response(post_tls(renew), renew, NOW)
    assert client.sct is not None and client.sct.instance
    app = client.app_request(ADD, {"a": 2, "b": 3}, NOW)
    ref = etree.fromstring(app.body).find(
        f".//{{{ns.DS}}}KeyInfo/{{{ns.WSSE}}}SecurityTokenReference/{{{ns.WSSE}}}Reference"
    )
    assert ref is not None and ref.get("URI", "").startswith("#")
    assert ref.get(f"{{{ns.SC_13}}}Instance") == client.sct.instance
    assert client.app_response(post_tls(app), app, NOW) == 5


@pytest.mark.parametrize(
    ("who", "refused"),
    [
        ("nobody", (SecurityVerificationFailed, "the request has no UsernameToken")),
        (
            "another user",
            (SecurityVerificationFailed, "the Renew comes from another identity than the session's"),
        ),
        ("a wrong password", (FailedAuthentication, "wrong username or password")),
    ],
)
def test_renew_over_transport_from_another_identity_is_refused(
    who: str, refused: tuple[type[WsscError], str], caplog: pytest.LogCaptureFixture
) -> None:
    """WCF's IsSameIdentity: the Renew's UsernameToken must authenticate the user the session
    was issued to. Without one, with another (valid) user, or with a wrong password, the
    Renew fails and the session keeps its key."""
    from wssc.bootstrap import UserNameOverTransportClient

    engine, client, post_tls = _transport_session()
    engine.bootstrap = replace(  # type: ignore[type-var]
        engine.bootstrap,
        validator=lambda u, p: (u, p) in (("alice", "secret"), ("mallory", "pw")),
    )
    forged = {
        "nobody": None,
        "another user": UserNameOverTransportClient("mallory", "pw"),
        "a wrong password": UserNameOverTransportClient("alice", "x"),
    }[who]
    real = client.bootstrap

    class Forged:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def secure_renew(
            self,
            envelope: etree._Element,
            policy: MessagePolicy,
            session: SctProtection,
            now: float | None = None,
        ) -> tuple[etree._Element, None]:
            if forged is None:
                return protect(envelope, session, policy, now=now), None
            return forged.secure_renew(envelope, policy, session, now)

    client.bootstrap = Forged()  # type: ignore[assignment]
    renew = client.renew_request(NOW)
    caplog.set_level("INFO", logger="wssc")
    with pytest.raises(refused[0]):
        client.renew_response(post_tls(renew), renew, NOW)
    assert_fault_logged(caplog.records, refused[1])
    instance = client.sct.instance if client.sct else None
    app = client.app_request(ADD, {"a": 2, "b": 3}, NOW)
    assert client.app_response(post_tls(app), app, NOW) == 5  # the old key still serves
    assert client.sct is not None and client.sct.instance == instance
