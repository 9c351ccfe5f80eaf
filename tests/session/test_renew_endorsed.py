"""A Renew under message security, as WCF and Metro send it: secured by the bootstrap (a fresh
EncryptedKey, its DerivedKeyTokens, the primary signature encrypted), with the session's SCT
as an *endorsing* token whose signature covers the primary signature
(interop/metro/FINDINGS.md W5b). In process, with a fake clock: no Java.

The endorsement is what proves the Renew comes from the session's holder; it is bound to the
message through the primary signature. Each way of cutting that binding is refused with the
one generic fault, and the session keeps its key.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Callable

import pytest
from engine_kit import ADD, Clock, client_for, engine_for, exchange
from lxml import etree

from wssc.bootstrap import TransportInfo
from wssc.crypto.primitives import block_decrypt, hmac_sign
from wssc.errors import BadContextToken
from wssc.security.xmlsig import build_encrypted_data
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession, Outgoing
from wssc.session.states import Event
from wssc.settings import WS2007, WSHTTP, EndpointSettings, SecureConversationSettings
from wssc.tokens.dkt import DerivedKeyToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope, read_fault

GENERIC = "An error occurred when verifying security for the message."
DS, XENC = ns.DS, ns.XENC
SIGNATURE = f"{{{DS}}}Signature"
ENCRYPTED_DATA = f"{{{XENC}}}EncryptedData"


def open_session(settings: EndpointSettings | None = None) -> tuple[Clock, ServiceEngine, ClientSession]:
    settings = settings or EndpointSettings()
    clock = Clock()
    engine, client = engine_for(settings, clock), client_for(settings)
    out = client.issue_request(clock.t)
    client.issue_response(post(engine, out), out, clock.t)
    assert add(engine, client, 1, 2, clock.t) == 3
    return clock, engine, client


def post(engine: ServiceEngine, out: Outgoing, body: bytes | None = None) -> bytes:
    return exchange(engine, out.body if body is None else body, out.content_type).body


def add(engine: ServiceEngine, client: ClientSession, a: int, b: int, now: float) -> object:
    out = client.app_request(ADD, {"a": a, "b": b}, now)
    return client.app_response(post(engine, out), out, now)


def renew_request(client: ClientSession, now: float) -> Outgoing:
    client.force_renew = True
    return client.renew_request(now)


def security(root: etree._Element) -> etree._Element:
    sec = Envelope(root).security_headers()
    assert len(sec) == 1
    return sec[0]


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def current_instance(engine: ServiceEngine, client: ClientSession) -> str | None:
    assert client.sct is not None
    rec = engine.sessions.store.get(client.sct.identifier)
    assert rec is not None
    return rec.instance


# --- what works ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encrypt_signature", [True, False], ids=["encsig", "SignBeforeEncrypt"])
@pytest.mark.parametrize("derived", [True, False], ids=["dk", "nodk"])
@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=["wshttp", "ws2007"])
def test_renew_has_wcfs_shape_and_renews(version: object, derived: bool, encrypt_signature: bool) -> None:
    settings = EndpointSettings(
        SecureConversationSettings(
            message_security_version=version,
            require_derived_keys=derived,  # type: ignore[arg-type]
            encrypt_signature=encrypt_signature,
        )
    )
    clock, engine, client = open_session(settings)
    old = client.sct
    out = renew_request(client, clock.t)
    sec = security(etree.fromstring(out.body))
    order = [local(c) for c in sec]
    dk = ["DerivedKeyToken"] if derived else []
    # both signatures encrypted, as WCF sends them (its receiver requires all signatures
    # encrypted under EncryptSignature); both in the clear under SignBeforeEncrypt
    sig = "EncryptedData" if encrypt_signature else "Signature"
    assert order == [
        "Timestamp",
        "EncryptedKey",
        *dk,
        *dk,
        "SecurityContextToken",
        *dk,
        "ReferenceList",
        sig,
        sig,
    ], order
    data_refs = [d.get("URI") for d in sec.find(f"{{{XENC}}}ReferenceList")]  # type: ignore[union-attr]
    if encrypt_signature:
        assert {f"#{sec[-2].get('Id')}", f"#{sec[-1].get('Id')}"} <= set(data_refs)
    primary, endorsing = (_opened(out, sec, el) for el in (sec[-2], sec[-1]))
    refs = endorsing.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    # the one Reference names the primary signature
    assert len(refs) == 1 and refs[0].get("URI") == f"#{primary.get('Id')}"
    assert out.boot is not None  # the reply comes under the bootstrap key

    reply = post(engine, out)
    rsec = security(etree.fromstring(reply))
    assert rsec.find(f"{{{XENC}}}EncryptedKey") is None
    assert ns.WSS_ENCRYPTED_KEY_SHA1.encode() in reply  # secured with the Renew's own key
    client.renew_response(reply, out, clock.t)
    assert client.sct is not None and old is not None
    assert client.sct.identifier == old.identifier and client.sct.instance != old.instance
    assert current_instance(engine, client) == client.sct.instance
    assert add(engine, client, 2, 3, clock.t) == 5  # the new key works


def test_renew_after_key_expiry_is_accepted() -> None:
    """Metro renews only once the key has expired: the endorsing SCT resolves all the same
    (a Renew is exempt from key expiry, as a Cancel is)."""
    clock, engine, client = open_session()
    clock.t += 15 * 3600 + 1  # past session_key_renewal_interval; receive_timeout is 10 min
    # keep the session alive: receive_timeout would close it; touch the record's last use
    assert client.sct is not None
    rec = engine.sessions.store.get(client.sct.identifier)
    assert rec is not None
    engine.sessions.store.put(rec.touched(clock.t))
    out = renew_request(client, clock.t)
    client.renew_response(post(engine, out), out, clock.t)
    assert add(engine, client, 4, 5, clock.t) == 9


def test_a_second_renew_is_endorsed_by_the_renewed_generation() -> None:
    clock, engine, client = open_session()
    for _ in range(2):
        out = renew_request(client, clock.t)
        client.renew_response(post(engine, out), out, clock.t)
    assert client.sct is not None and current_instance(engine, client) == client.sct.instance
    assert add(engine, client, 5, 5, clock.t) == 10


# --- what is refused ----------------------------------------------------------------------------
def assert_refused(
    engine: ServiceEngine,
    client: ClientSession,
    out: Outgoing,
    body: bytes,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    why: str,
) -> None:
    """The generic fault on the wire, ``why`` in the service log, the session unrenewed."""
    before = current_instance(engine, client)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = parse_xml(post(engine, out, body))
    fault = read_fault(Envelope(reply))
    assert fault is not None and fault.reason == GENERIC, fault
    assert (fault.code.namespace, fault.code.local) == (ns.WSSE, "InvalidSecurity")
    assert why in caplog.text, caplog.text
    assert current_instance(engine, client) == before  # not renewed
    assert add(engine, client, 6, 1, clock.t) == 7  # the session keeps its key


def _edit(out: Outgoing, change: Callable[[etree._Element], None], *, reencrypt: bool = True) -> bytes:
    """Apply ``change`` to the Security header with the endorsing signature (``sec[-1]``) in
    the clear; an encrypted one is decrypted first and encrypted again after (the test plays
    the holder of the Renew's bootstrap key), under its own Id."""
    root = etree.fromstring(out.body)
    sec = security(root)
    ed = sec[-1]
    if ed.tag == ENCRYPTED_DATA:
        sec.replace(ed, _opened(out, sec, ed))
    change(sec)
    if ed.tag == ENCRYPTED_DATA and reencrypt:
        sec.replace(
            sec[-1],
            build_encrypted_data(
                ed.get("Id") or "",
                ns.XENC_ELEMENT,
                ns.AES256_CBC,
                _bootstrap_encryption_key(out, sec),
                etree.tostring(sec[-1]),
                _encryption_reference(sec),
            ),
        )
    return etree.tostring(root)


def test_a_renew_without_the_endorsement_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Anyone can secure a Renew with a bootstrap of their own (the client is anonymous): a
    Renew naming a live session but not endorsed by its SCT must not renew it."""
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)

    def strip(sec: etree._Element) -> None:
        sec.remove(sec[-1])

    assert_refused(
        engine, client, out, _edit(out, strip), clock, caplog, "the message has no endorsing signature"
    )


def test_an_endorsement_lifted_onto_another_renew_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """An eavesdropper copies a captured Renew's SCT, DerivedKeyToken and endorsing signature
    into a Renew of its own (its own EncryptedKey; it cannot know the session key). The
    endorsement's digest covers the victim's primary signature, not the attacker's. Under
    SignBeforeEncrypt, where the endorsement travels in the clear (as Metro's always does)."""
    settings = EndpointSettings(SecureConversationSettings(encrypt_signature=False))
    clock, engine, client = open_session(settings)
    captured = renew_request(client, clock.t)  # never delivered
    attacker = client_for(settings)
    attacker.sct, attacker.key = client.sct, os.urandom(32)
    attacker.process_event(Event.ISSUED)
    own = renew_request(attacker, clock.t)
    victim_sec = security(etree.fromstring(captured.body))

    def lift(sec: etree._Element) -> None:
        # the SCT's DerivedKeyToken and the endorsing signature, from the captured message
        dkt = [c for c in sec if local(c) == "DerivedKeyToken"][-1]
        victim_dkt = [c for c in victim_sec if local(c) == "DerivedKeyToken"][-1]
        sec.replace(dkt, victim_dkt)
        sec.replace(sec[-1], victim_sec[-1])

    assert_refused(
        engine,
        client,
        own,
        _edit(own, lift),
        clock,
        caplog,
        "does not verify over the primary signature (a digest did not match",
    )


def test_metros_endorsement_over_nothing_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Metro's Renew (FINDINGS.md M12): its endorsing signature names the primary signature
    but digests the empty string (``<ds:Transforms/>``, DigestValue = SHA-1 of nothing), so
    it binds no message. Made here with the session's real key, it is still refused:
    accepting it would let anyone who saw one Renew renew the session and take the key."""
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)

    def metro(sec: etree._Element) -> None:
        sig = sec[-1]
        ref = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
        assert ref is not None
        transforms = ref.find(f"{{{DS}}}Transforms")
        assert transforms is not None
        for t in list(transforms):
            transforms.remove(t)
        dv = ref.find(f"{{{DS}}}DigestValue")
        assert dv is not None
        dv.text = base64.b64encode(hashlib.sha1(b"").digest()).decode()
        _resign(sig, sec, client)

    assert_refused(
        engine,
        client,
        out,
        _edit(out, metro),
        clock,
        caplog,
        "does not verify over the primary signature (only one exclusive c14n",
    )


def test_an_endorsement_over_the_timestamp_instead_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Over TLS the SCT endorses the Timestamp; under message security that would bind the
    endorsement to nothing the primary signature protects for this message alone."""
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)

    def retarget(sec: etree._Element) -> None:
        ts = sec[0]
        assert local(ts) == "Timestamp"
        ref = sec[-1].find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
        assert ref is not None
        ref.set("URI", "#" + (ts.get(f"{{{ns.WSU}}}Id") or ""))
        dv = ref.find(f"{{{DS}}}DigestValue")
        assert dv is not None
        dv.text = base64.b64encode(hashlib.sha1(exc_c14n(ts)).digest()).decode()
        _resign(sec[-1], sec, client)

    assert_refused(
        engine,
        client,
        out,
        _edit(out, retarget),
        clock,
        caplog,
        "the endorsing signature must cover the primary signature and nothing else",
    )


def test_an_endorsement_by_the_bootstrap_key_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """The endorsing signature must be made with the SCT's key: one made with the Renew's
    own EncryptedKey proves nothing about the session."""
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)

    def by_bootstrap(sec: etree._Element) -> None:
        sig = sec[-1]
        ki = sig.find(f"{{{DS}}}KeyInfo")
        assert ki is not None
        primary_dkt = next(c for c in sec if local(c) == "DerivedKeyToken")
        ki.clear()
        ki.append(
            etree.fromstring(
                f'<o:SecurityTokenReference xmlns:o="{ns.WSSE}"><o:Reference URI="'
                f'#{primary_dkt.get(f"{{{ns.WSU}}}Id")}"/></o:SecurityTokenReference>'
            )
        )
        key = DerivedKeyToken.from_xml(primary_dkt, 64)[0].derive(_bootstrap_key(out))
        _resign(sig, sec, client, key=key)

    assert_refused(
        engine,
        client,
        out,
        _edit(out, by_bootstrap),
        clock,
        caplog,
        "the endorsing signature is not made with the key of a token the policy names",
    )


def test_a_plain_endorsement_is_refused_where_signatures_are_encrypted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """WCF's receiver requires every signature encrypted under EncryptSignature
    (``AllSignaturesEncrypted``); so does wssc's: a correct endorsement sent in the clear (as
    Metro sends it) is refused, and the log says why."""
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)

    endorsing_id = security(etree.fromstring(out.body))[-1].get("Id")

    def in_the_clear(sec: etree._Element) -> None:
        rl = sec.find(f"{{{XENC}}}ReferenceList")
        assert rl is not None
        listed = [d for d in rl if d.get("URI") == f"#{endorsing_id}"]
        assert len(listed) == 1
        rl.remove(listed[0])

    assert_refused(
        engine,
        client,
        out,
        _edit(out, in_the_clear, reencrypt=False),
        clock,
        caplog,
        "the endorsing signature is not encrypted",
    )


def test_a_renew_endorsed_by_another_session_is_refused() -> None:
    """The endorsing SCT must be the session the RenewTarget names: the holder of one
    session cannot renew another with its own key."""
    clock, engine, client = open_session()
    other = client_for(EndpointSettings())
    o = other.issue_request(clock.t)
    other.issue_response(post(engine, o), o, clock.t)
    assert other.sct is not None and other.key is not None
    # RenewTarget: the client's session; endorsed by other's SCT, with other's key
    forger = client_for(EndpointSettings())
    forger.sct, forger.key = client.sct, other.key
    forger.process_event(Event.ISSUED)
    out = renew_request(forger, clock.t)
    other_id = other.sct.identifier

    def endorse_with_other(sec: etree._Element) -> None:
        sct_el = next(c for c in sec if local(c) == "SecurityContextToken")
        next(c for c in sct_el if local(c) == "Identifier").text = other_id

    before = current_instance(engine, client)
    reply = parse_xml(post(engine, out, _edit(out, endorse_with_other)))
    assert read_fault(Envelope(reply)) is not None
    assert current_instance(engine, client) == before
    assert add(engine, client, 6, 1, clock.t) == 7
    assert add(engine, other, 6, 2, clock.t) == 8  # other's session is untouched too


# --- helpers that need the client's keys (the test plays the key holder) ---------------------------
def _bootstrap_key(out: Outgoing) -> bytes:
    assert out.boot is not None
    (key,) = out.boot.reply_keys.values()
    return key


def _opened(out: Outgoing, sec: etree._Element, el: etree._Element) -> etree._Element:
    """``el`` itself, or the ds:Signature an EncryptedData holds."""
    if el.tag != ENCRYPTED_DATA:
        return el
    cv = el.find(f"{{{XENC}}}CipherData/{{{XENC}}}CipherValue")
    assert cv is not None and cv.text
    plain = block_decrypt(ns.AES256_CBC, _bootstrap_encryption_key(out, sec), base64.b64decode(cv.text))
    sig = etree.fromstring(plain)
    assert sig.tag == SIGNATURE
    return sig


def _bootstrap_encryption_key(out: Outgoing, sec: etree._Element) -> bytes:
    """The second DerivedKeyToken on the EncryptedKey, or (no derived keys) its key."""
    dkts = [c for c in sec if local(c) == "DerivedKeyToken"]
    if not dkts:
        return _bootstrap_key(out)
    return DerivedKeyToken.from_xml(dkts[1], 64)[0].derive(_bootstrap_key(out))


def _encryption_reference(sec: etree._Element) -> SecurityTokenReference:
    dkts = [c for c in sec if local(c) == "DerivedKeyToken"]
    return SecurityTokenReference.local(dkts[1].get(f"{{{ns.WSU}}}Id") or "", ns.SC_FEB2005.dk_token_type)


def _resign(
    sig: etree._Element, sec: etree._Element, client: ClientSession, key: bytes | None = None
) -> None:
    """Recompute the endorsing SignatureValue over the (edited) SignedInfo, with the SCT's
    DerivedKeyToken key (the session key's holder can), or ``key``."""
    if key is None:
        assert client.key is not None
        dkt = [c for c in sec if local(c) == "DerivedKeyToken"][-1]
        key = DerivedKeyToken.from_xml(dkt, 64)[0].derive(client.key)
    si = sig.find(f"{{{DS}}}SignedInfo")
    sv = sig.find(f"{{{DS}}}SignatureValue")
    assert si is not None and sv is not None
    sv.text = base64.b64encode(hmac_sign(ns.HMAC_SHA1, key, exc_c14n(si))).decode()


def test_helpers_resign_an_untouched_endorsement_that_still_verifies() -> None:
    """The tampering tests re-sign after editing; re-signing alone must not break a Renew
    (else they would pass for the wrong reason)."""
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)
    body = _edit(out, lambda sec: _resign(sec[-1], sec, client))
    client.renew_response(post(engine, out, body), out, clock.t)
    assert client.sct is not None and current_instance(engine, client) == client.sct.instance


def test_the_service_can_read_the_encrypted_primary_signature() -> None:
    """Sanity for the tests above: the primary signature decrypts under the bootstrap key."""
    clock, _, client = open_session()
    out = renew_request(client, clock.t)
    sec = security(etree.fromstring(out.body))
    ed = sec[-2]
    assert ed.tag == ENCRYPTED_DATA
    cv = ed.find(f"{{{XENC}}}CipherData/{{{XENC}}}CipherValue")
    assert cv is not None and cv.text
    plain = block_decrypt(ns.AES256_CBC, _bootstrap_encryption_key(out, sec), base64.b64decode(cv.text))
    assert plain.startswith(b"<ds:Signature") and b' Id="' in plain[:200]


def test_the_verified_renew_names_its_signer_and_its_endorsing_sct() -> None:
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)
    sct, key = client.sct, client.key
    assert sct is not None and key is not None
    boot = engine.bootstrap.verify(
        out.body,
        TransportInfo(),
        engine.policy,
        clock.t,
        endorsing=lambda s, sc: key if s.identifier == sct.identifier else None,
    )
    result = boot.message
    assert result.signing_kind == "ek" and result.signing_sct is None
    assert result.endorsing_sct is not None and result.endorsing_sct.identifier == sct.identifier
    assert f"endorsed by SCT {sct.identifier}" in result.describe()
    # without the session keys the same message is refused
    with pytest.raises(BadContextToken, match="no key is known for this SecurityContextToken"):
        engine.bootstrap.verify(
            out.body, TransportInfo(), engine.policy, clock.t, endorsing=lambda s, sc: None
        )


@pytest.mark.parametrize("what", ["Cancel", "Add"])
def test_only_a_renew_may_be_secured_by_the_bootstrap(what: str, caplog: pytest.LogCaptureFixture) -> None:
    """The engine asks the bootstrap (``secured_by_bootstrap``) whether a request carries the
    bootstrap's protection; only a Renew may. The same Renew relabelled as a Cancel or as an
    application message is refused before anything is verified."""
    clock, engine, client = open_session()
    out = renew_request(client, clock.t)
    assert engine.bootstrap.secured_by_bootstrap(Envelope(etree.fromstring(out.body)))
    root = etree.fromstring(out.body)
    header = Envelope(root).header
    assert header is not None
    action = header.find(f"{{{ns.WSA10}}}Action")
    assert action is not None
    sc = EndpointSettings().secure_conversation.message_security_version.sc
    action.text = sc.trust.rst_sct_cancel if what == "Cancel" else ADD.action
    assert_refused(
        engine,
        client,
        out,
        etree.tostring(root),
        clock,
        caplog,
        "only a Renew may be secured by the bootstrap",
    )
