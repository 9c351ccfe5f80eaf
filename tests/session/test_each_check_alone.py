"""Issue 13, "Tests that let a broken check through": for each of nine security checks, a
message that passes every OTHER check, so that this check alone stands in the way.

Each test asserts the generic fault on the wire and the service log's reason (which check
refused). Deleting the check makes its test fail: the message is then accepted, or refused
later for another reason. Each test was run with its check deleted, and failed.

The messages are made here by a legitimate key holder (two sessions of the test's own), in
WCF's layout, with one knob turned per test. Ids never collide, so the duplicate-Id check
(which runs before any key logic) cannot mask a later one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

import pytest
from engine_kit import ADD, Clock, client_for, engine_for, exchange
from lxml import etree

from wssc.bootstrap import TransportInfo
from wssc.client.common import bind_args
from wssc.contract import encode_request
from wssc.crypto.suites import AlgorithmSuite
from wssc.security.outbound import _ensure_id, _Ids, _signature_bytes, _with_wsu_prefix
from wssc.security.policy import MessagePolicy
from wssc.security.xmlsig import build_encrypted_data, serialize_content
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession
from wssc.settings import EndpointSettings, SecureConversationSettings
from wssc.tokens.dkt import DerivedKeyToken
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.trust.messages import CancelRequest
from wssc.xml import ns
from wssc.xml.ids import index_ids
from wssc.xml.soap import Envelope

GENERIC = b"An error occurred when verifying security for the message."
WSSE, WSSE11, XENC = f"{{{ns.WSSE}}}", f"{{{ns.WSSE11}}}", f"{{{ns.XENC}}}"


# --- a session pair, and the service's log ------------------------------------------------
@dataclass
class Rig:
    engine: ServiceEngine
    clock: Clock
    a: ClientSession  # the sender
    b: ClientSession  # another session of the same sender (for key mixing)
    caplog: pytest.LogCaptureFixture

    def post(self, body: bytes) -> tuple[int, bytes]:
        r = exchange(self.engine, body, "application/soap+xml", TransportInfo(peer="127.0.0.1"))
        return r.status, r.body

    def refused_by(self, body: bytes, reason: str) -> None:
        """The generic fault on the wire, and ``reason`` opening the logged fault detail."""
        self.caplog.clear()
        status, fault = self.post(body)
        assert status == 500 and GENERIC in fault, (status, fault[:300])
        logged = [r.getMessage() for r in self.caplog.records if r.name == "wssc.service"]
        pattern = re.compile(r"^fault \S+: " + re.escape(reason))
        assert any(pattern.match(m) for m in logged), f"expected the log reason {reason!r}; logged: {logged}"

    def accepted(self, body: bytes) -> bytes:
        status, reply = self.post(body)
        assert status == 200, (status, reply[:600], [r.getMessage() for r in self.caplog.records])
        return reply


def rig(caplog: pytest.LogCaptureFixture, settings: EndpointSettings | None = None) -> Rig:
    settings = settings or EndpointSettings()
    clock = Clock()
    engine = engine_for(settings, clock)
    caplog.set_level("INFO", logger="wssc")

    def session() -> ClientSession:
        c = client_for(settings)
        out = c.issue_request(clock.t)
        c.issue_response(exchange(engine, out.body, out.content_type).body, out, clock.t)
        return c

    return Rig(engine, clock, session(), session(), caplog)


# --- WCF's layout, with knobs ------------------------------------------------------------------
@dataclass
class Holder:
    """A session's SCT and key as the sender writes them (its own wsu:Id for the SCT)."""

    sct: SecurityContextToken
    key: bytes = field(repr=False)

    @classmethod
    def of(cls, c: ClientSession, sct_id: str) -> Holder:
        assert c.sct is not None and c.key is not None
        return cls(replace(c.sct, wsu_id=sct_id), c.key)


@dataclass
class Knobs:
    body_key: str = "a"  # whose DerivedKeyToken encrypts the Body
    signature_key: str = "a"  # whose DerivedKeyToken encrypts the Signature
    encrypt_signature: bool = True
    encrypt_body: bool = True
    #: the Body ReferenceList after the (encrypted) Signature, which then covers the ciphertext
    body_list_after_signature: bool = False
    signature_method: str | None = None
    digest_method: str | None = None
    #: plain wsse11:SignatureConfirmation elements added to the header (filler)
    filler: int = 0
    #: wsse11:SignatureConfirmation elements added encrypted (each a header EncryptedData)
    encrypted_fillers: int = 0
    #: the b session's SCT and a DerivedKeyToken on it in the header
    with_b: bool = False
    created: float | None = None
    expires: float | None = None


def build(r: Rig, envelope: etree._Element, k: Knobs) -> bytes:
    """``envelope`` secured by session a's SCT, in WCF's layout::

    Timestamp, SCT(a), DKT sig(a), DKT enc(a), [SCT(b), DKT enc(b)], fillers,
    [encrypted fillers], ReferenceList, EncryptedData (the Signature) [, ReferenceList]
    """
    sc, suite = r.a.sc, r.a.suite
    holders = {"a": Holder.of(r.a, "sct-a"), "b": Holder.of(r.b, "sct-b")}
    now = r.clock.t if k.created is None else k.created
    envelope = _with_wsu_prefix(envelope)
    env = Envelope(envelope)
    ids = _Ids(set(index_ids(envelope)) | {"sct-a", "sct-b"})
    header = env.ensure_header()
    sec = etree.SubElement(header, f"{WSSE}Security", nsmap={"o": ns.WSSE, "u": ns.WSU})
    sec.set(f"{{{env.version.ns}}}mustUnderstand", "1")
    ts = Timestamp(now, now + 300 if k.expires is None else k.expires, ids.next())
    ts_el = ts.to_xml()
    sec.append(ts_el)

    def dkt(h: Holder, length: int) -> tuple[bytes, SecurityTokenReference]:
        base = SecurityTokenReference.local(h.sct.wsu_id, sc.sct_token_type)
        d = DerivedKeyToken(base, b"n" * 16, length, offset=0, wsu_id=ids.next())
        sec.append(d.to_xml(sc))
        return d.derive(h.key), SecurityTokenReference.local(d.wsu_id, sc.dk_token_type)

    sec.append(holders["a"].sct.to_xml(sc))
    sig_key, sig_ref = dkt(holders["a"], suite.signature_key_length)
    enc = {"a": dkt(holders["a"], suite.encryption_key_length)}
    if k.with_b:
        sec.append(holders["b"].sct.to_xml(sc))
        enc["b"] = dkt(holders["b"], suite.encryption_key_length)
    for _ in range(k.filler):
        etree.SubElement(sec, f"{WSSE11}SignatureConfirmation", nsmap={"k": ns.WSSE11})
    policy = MessagePolicy(sc=sc, suite=_suite(suite, k.signature_method, k.digest_method))
    targets: list[tuple[str, etree._Element]] = [(ts.wsu_id, ts_el)]
    for h in header:
        if isinstance(h.tag, str) and etree.QName(h).namespace in (ns.WSA10, ns.WSA2004):
            targets.append((_ensure_id(h, ids), h))
    body = env.body
    body_id = _ensure_id(body, ids)
    filler_ids = []
    for _ in range(k.encrypted_fillers):
        filler_ids.append(ed_id := ids.next())
        plain = etree.Element(f"{WSSE11}SignatureConfirmation", nsmap={"k": ns.WSSE11, "u": ns.WSU})
        plain.set(f"{{{ns.WSU}}}Id", ids.next())
        key, ref = enc["a"]
        sec.append(
            build_encrypted_data(ed_id, ns.XENC_ELEMENT, suite.encryption, key, etree.tostring(plain), ref)
        )
    rl = etree.SubElement(sec, f"{XENC}ReferenceList", nsmap={"e": ns.XENC})
    for ed_id in filler_ids:
        etree.SubElement(rl, f"{XENC}DataReference").set("URI", "#" + ed_id)

    def encrypt_body() -> str:
        data_id = ids.next()
        key, ref = enc[k.body_key]
        ed = build_encrypted_data(
            data_id, ns.XENC_CONTENT, suite.encryption, key, serialize_content(body), ref
        )
        for child in list(body):
            body.remove(child)
        body.text = None
        body.append(ed)
        return data_id

    late_body = k.encrypt_body and k.body_list_after_signature
    if late_body:  # encrypt first: the signature covers the ciphertext
        late_id = encrypt_body()
    targets.append((body_id, body))
    signature = _signature_bytes(targets, sig_key, sig_ref, policy)
    if k.encrypt_body and not late_body:
        etree.SubElement(rl, f"{XENC}DataReference").set("URI", "#" + encrypt_body())
    if k.encrypt_signature:
        sig_id = ids.next()
        key, ref = enc[k.signature_key]
        sec.append(build_encrypted_data(sig_id, ns.XENC_ELEMENT, suite.encryption, key, signature, ref))
        etree.SubElement(rl, f"{XENC}DataReference").set("URI", "#" + sig_id)
    else:
        sec.append(etree.fromstring(signature))
    if len(rl) == 0:
        sec.remove(rl)
    if late_body:
        after = etree.SubElement(sec, f"{XENC}ReferenceList", nsmap={"e": ns.XENC})
        etree.SubElement(after, f"{XENC}DataReference").set("URI", "#" + late_id)
    return etree.tostring(envelope)


def _suite(suite: AlgorithmSuite, sig: str | None, dig: str | None) -> AlgorithmSuite:
    return replace(suite, symmetric_signature=sig or suite.symmetric_signature, digest=dig or suite.digest)


def add(r: Rig, a: int = 20, b: int = 22) -> etree._Element:
    """The plain envelope of ``Add(a, b)`` from session a."""
    s = r.a
    return s._envelope(ADD.action, encode_request(ADD, bind_args(ADD, (), {"a": a, "b": b})))


def security_children(body: bytes) -> int:
    sec = etree.fromstring(body).find(f".//{WSSE}Security")
    assert sec is not None
    return sum(1 for c in sec if isinstance(c.tag, str))


# --- the untouched layout works (each knob's baseline) --------------------------------------------
def test_the_builder_makes_messages_the_service_accepts(caplog: pytest.LogCaptureFixture) -> None:
    r = rig(caplog)
    for k in (Knobs(), Knobs(with_b=True), Knobs(filler=3), Knobs(encrypted_fillers=2)):
        r.accepted(build(r, add(r), k))


# --- 1. decrypt only under the signer's root token -----------------------------------------------
def test_body_encrypted_under_another_sessions_key_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Signed by session a, the Body encrypted with a key derived from session b's SCT (both
    in the header, every Id distinct). Only the key-binding check stands in the way."""
    r = rig(caplog)
    r.refused_by(
        build(r, add(r), Knobs(with_b=True, body_key="b")),
        "the data was encrypted with a key of another token than the signature's",
    )


# --- 2. an encrypted Signature under another token's key ---------------------------------------
def test_signature_encrypted_under_another_sessions_key_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = rig(caplog)
    r.refused_by(
        build(r, add(r), Knobs(with_b=True, signature_key="b")),
        "the signature was encrypted with another token's key",
    )


# --- 3. a ReferenceList after the Signature --------------------------------------------------------
def test_reference_list_after_the_signature_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """The Signature is encrypted and listed before it (as the policy wants); the Body is
    encrypted after signing, its ReferenceList after the Signature (EncryptBeforeSigning's
    layout, under a SignBeforeEncrypt policy)."""
    r = rig(caplog)
    r.refused_by(
        build(r, add(r), Knobs(body_list_after_signature=True)), "a ReferenceList follows the signature"
    )


# --- 4. a plain primary signature where the policy encrypts it ----------------------------------
def test_plain_signature_where_the_policy_encrypts_it_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = rig(caplog)
    r.refused_by(build(r, add(r), Knobs(encrypt_signature=False)), "the signature is not encrypted")


# --- 5. the replay entry lives Created + replay window + skew ---------------------------------------
def test_a_replay_just_before_the_window_and_skew_end_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A message created at T, replayed at T + window + skew - 1 s: its Timestamp still passes
    (Created is not older than window + skew), so only the replay cache can refuse it, and its
    entry must still be there. The session is kept active meanwhile."""
    r = rig(caplog)
    window = r.engine.policy.replay_window + r.engine.policy.max_clock_skew
    assert window == 600  # WCF's defaults: 5 min + 5 min
    t0 = r.clock.t
    captured = build(r, add(r), Knobs(expires=t0 + window))
    r.accepted(captured)
    while r.clock.t < t0 + window - 100:  # keep the session alive (inactivity: 2 minutes)
        r.clock.t += 100
        r.accepted(build(r, add(r), Knobs()))
    r.clock.t = t0 + window - 1
    r.refused_by(captured, "A replay of a previously received message was detected")
    # One second past it, the Timestamp refuses it: the entry need not live longer.
    r.clock.t = t0 + window + 1
    r.refused_by(captured, "the message is older than the replay window")


# --- 6, 7. strict signature and digest methods (no downgrade) ---------------------------------------
SHA256 = EndpointSettings(secure_conversation=SecureConversationSettings(algorithm_suite="Basic256Sha256"))


def test_signature_method_downgrade_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """HMAC-SHA1 on a Basic256Sha256 endpoint (the digests stay SHA-256)."""
    r = rig(caplog, SHA256)
    assert r.a.suite.symmetric_signature == ns.HMAC_SHA256
    r.accepted(build(r, add(r), Knobs()))
    r.refused_by(build(r, add(r), Knobs(signature_method=ns.HMAC_SHA1)), f"signature method {ns.HMAC_SHA1!r}")


def test_digest_method_downgrade_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """SHA-1 digests on a Basic256Sha256 endpoint (the signature stays HMAC-SHA256)."""
    r = rig(caplog, SHA256)
    assert r.a.suite.digest == ns.SHA256
    r.refused_by(build(r, add(r), Knobs(digest_method=ns.SHA1)), f"digest method {ns.SHA1!r}")


# --- 8. at most 64 children in the security header --------------------------------------------------
def test_64_security_header_children_pass_and_65_do_not(caplog: pytest.LogCaptureFixture) -> None:
    r = rig(caplog)
    limit = r.engine.policy.max_header_elements
    assert limit == 64
    base = security_children(build(r, add(r), Knobs()))
    at = build(r, add(r), Knobs(filler=limit - base))
    assert security_children(at) == limit
    r.accepted(at)
    past = build(r, add(r), Knobs(filler=limit - base + 1))
    assert security_children(past) == limit + 1
    r.refused_by(past, "the security header has more than 64 elements")


# --- 9. at most 16 EncryptedData -------------------------------------------------------------------
def test_16_data_references_pass_and_17_do_not(caplog: pytest.LogCaptureFixture) -> None:
    """An application message: the Body, the Signature and n encrypted header tokens, all
    listed and all decrypting under the signer's key (16 header EncryptedData at most, so the
    header's own EncryptedData cap is not reached)."""
    r = rig(caplog)
    limit = r.engine.policy.max_encrypted_data
    assert limit == 16
    r.accepted(build(r, add(r), Knobs(encrypted_fillers=limit - 2)))  # 16 DataReferences
    r.refused_by(
        build(r, add(r), Knobs(encrypted_fillers=limit - 1)),  # 17
        "the message references more than 16 EncryptedData",
    )


def cancel(r: Rig) -> etree._Element:
    s = r.a
    assert s.sct is not None
    return s._envelope(s.trust.rst_sct_cancel, CancelRequest.build(s.sct).to_xml(s.sc))


def test_16_header_encrypted_data_pass_and_17_do_not(caplog: pytest.LogCaptureFixture) -> None:
    """A Cancel (its Body and Signature are not encrypted, as WCF sends it): n encrypted header
    tokens, each listed. At 17 the header's EncryptedData cap refuses it before the
    ReferenceList (after them, with 17 DataReferences) is even read."""
    r = rig(caplog)
    limit = r.engine.policy.max_encrypted_data
    over = build(
        r, cancel(r), Knobs(encrypt_body=False, encrypt_signature=False, encrypted_fillers=limit + 1)
    )
    r.refused_by(over, "too many EncryptedData in the security header")
    at = build(r, cancel(r), Knobs(encrypt_body=False, encrypt_signature=False, encrypted_fillers=limit))
    assert b"RequestedTokenCancelled" in r.accepted(at)


def test_time_is_the_fake_clock() -> None:
    """The rig's messages are made at the fake clock's time, far from the real one: nothing in
    this module depends on the wall clock."""
    assert abs(Clock().t - time.time()) > 3600
