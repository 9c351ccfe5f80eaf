"""The engine's security rules, driven in process with a fake clock (no sockets).

The attack suite (tests/attacks/) runs the same attacks over HTTP; these pin the mechanisms:
the order of work (nothing decrypted before the signature verifies), one generic fault for
every security failure, keys bound to the signing token, the replay window and quotas, the
per-peer pending quota, failed-authentication throttling, and SOAP/suite downgrades.
"""

from __future__ import annotations

import base64
import copy
import re
from dataclasses import replace

import pytest
from engine_kit import ADD, Clock, client_for, engine_for, exchange
from lxml import etree

import wssc.security.decrypt as decrypt
from wssc.bootstrap import TransportInfo
from wssc.demo import Calculator
from wssc.errors import ReplayDetected, ServerTooBusy
from wssc.security.replay import MemoryReplayCache
from wssc.security.throttle import FailedAuthenticationThrottle
from wssc.service.engine import ServiceEngine
from wssc.service.transport import transport_info
from wssc.session.client import ClientSession
from wssc.settings import (
    WS2007,
    WSHTTP,
    EndpointSettings,
    LocalServiceSecuritySettings,
    SecureConversationSettings,
)
from wssc.xml import ns
from wssc.xml.parse import parse_xml

GENERIC = b"An error occurred when verifying security for the message."
XENC = f"{{{ns.XENC}}}"
WSSE = f"{{{ns.WSSE}}}"


def settings(family: object = WSHTTP, cookie: bool = False, **svc: object) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            message_security_version=family,  # type: ignore[arg-type]
            require_cancellation=not cookie,
        ),
        service=replace(LocalServiceSecuritySettings(), **svc),  # type: ignore[arg-type]
    )


def post(
    engine: ServiceEngine, body: bytes, ctype: str = "application/soap+xml", peer: str = "127.0.0.1"
) -> tuple[int, bytes]:
    r = exchange(engine, body, ctype, TransportInfo(peer=peer))
    return r.status, r.body


def open_session(engine: ServiceEngine, s: EndpointSettings, now: float) -> ClientSession:
    c = client_for(s)
    out = c.issue_request(now)
    c.issue_response(post(engine, out.body, out.content_type)[1], out, now)
    return c


def blank_ids(body: bytes) -> bytes:
    """The fault with its MessageID/RelatesTo values blanked (they differ per request)."""
    return re.sub(rb"(<[^>]*(?:MessageID|RelatesTo)[^>]*>)[^<]*", rb"\1", body)


def flip(b64: str, index: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def body_cipher_value(root: etree._Element) -> etree._Element:
    body = root.find(f"{{{ns.SOAP12}}}Body")
    assert body is not None
    cv = body.find(f"{XENC}EncryptedData/{XENC}CipherData/{XENC}CipherValue")
    assert cv is not None
    return cv


def header_ed(root: etree._Element) -> etree._Element:
    sec = root.find(f".//{WSSE}Security")
    assert sec is not None
    eds = sec.findall(f"{XENC}EncryptedData")
    return eds[-1]


@pytest.fixture(
    params=[(WSHTTP, False), (WS2007, False), (WSHTTP, True), (WS2007, True)],
    ids=["wshttp-session", "ws2007-session", "wshttp-cookie", "ws2007-cookie"],
)
def setup(request: pytest.FixtureRequest) -> tuple[ServiceEngine, EndpointSettings, Clock]:
    family, cookie = request.param
    clock = Clock()
    s = settings(family, cookie)
    return engine_for(s, clock), s, clock


def test_oracle_variants_get_byte_identical_faults(
    setup: tuple[ServiceEngine, EndpointSettings, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, s, clock = setup
    c = open_session(engine, s, clock.t)
    good = c.app_request(ADD, {"a": 1, "b": 2}, clock.t)
    decrypted: list[int] = []
    real = decrypt.block_decrypt

    def counting(alg: str, key: bytes, data: bytes) -> bytes:
        decrypted.append(len(data))
        return real(alg, key, data)

    monkeypatch.setattr(decrypt, "block_decrypt", counting)

    variants: dict[str, bytes] = {}
    for name, index in (("body-last-block", -1), ("body-penultimate", -17), ("body-iv", 0)):
        root = parse_xml(good.body)
        cv = body_cipher_value(root)
        raw_len = len(base64.b64decode(cv.text or ""))
        cv.text = flip(cv.text or "", raw_len + index if index < 0 else index)
        variants[name] = etree.tostring(root)
    for name, index in (("signature-last-block", -1), ("signature-penultimate", -17)):
        root = parse_xml(good.body)
        cv = header_ed(root).find(f"{XENC}CipherData/{XENC}CipherValue")
        assert cv is not None
        raw_len = len(base64.b64decode(cv.text or ""))
        cv.text = flip(cv.text or "", raw_len + index)
        variants[name] = etree.tostring(root)
    # An unsigned message whose Body still decrypts cleanly under the victim's key.
    root = parse_xml(good.body)
    ed = header_ed(root)
    ed.getparent().remove(ed)  # type: ignore[union-attr]
    for dr in root.iter(f"{XENC}DataReference"):
        if dr.get("URI") == "#" + (ed.get("Id") or ""):
            dr.getparent().remove(dr)  # type: ignore[union-attr]
    variants["unsigned-clean"] = etree.tostring(root)
    root = parse_xml(good.body)
    body_cipher_value(root).text = base64.b64encode(b"\x00" * 15).decode()  # truncated
    variants["truncated"] = etree.tostring(root)

    results = {}
    body_decryptions = 0
    for name, body in variants.items():
        decrypted.clear()
        status, fault = post(engine, body)
        results[name] = (status, blank_ids(fault))
        # The encrypted Signature, and the Body only under a signature never seen before.
        assert len(decrypted) <= 2, name
        body_decryptions += max(0, len(decrypted) - 1)
        if name == "unsigned-clean":
            assert decrypted == [], "an unsigned message's EncryptedData was decrypted"
    # Every variant reuses the victim's signature: its Body was opened at most once.
    assert body_decryptions <= 1
    first = next(iter(results.values()))
    assert first[0] == 500 and GENERIC in first[1]
    for name, got in results.items():
        assert got == first, f"{name} is distinguishable"
    # A fresh, untouched message still works.
    status, _ = post(engine, c.app_request(ADD, {"a": 1, "b": 2}, clock.t).body)
    assert status == 200


def test_key_mixing_other_sessions_body_is_refused(
    setup: tuple[ServiceEngine, EndpointSettings, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attacker signs the victim's still-encrypted Body with its own key and appends the
    victim's SCT/DKT/ReferenceList after its Signature: refused, the operation never runs."""
    engine, s, clock = setup
    victim = open_session(engine, s, clock.t)
    attacker = open_session(engine, s, clock.t)
    v = parse_xml(victim.app_request(ADD, {"a": 40, "b": 2}, clock.t).body)
    ran: list[object] = []
    monkeypatch.setattr(Calculator, "Add", lambda self, a, b: ran.append((a, b)) or a + b)

    # The attacker's own message, but with the victim's encrypted Body content.
    a = parse_xml(attacker.app_request(ADD, {"a": 1, "b": 1}, clock.t).body)
    a_body = a.find(f"{{{ns.SOAP12}}}Body")
    v_body = v.find(f"{{{ns.SOAP12}}}Body")
    assert a_body is not None and v_body is not None
    v_ed = copy.deepcopy(v_body[0])
    v_ed.set("Id", "victim-body")
    a_sec = a.find(f".//{WSSE}Security")
    v_sec = v.find(f".//{WSSE}Security")
    assert a_sec is not None and v_sec is not None
    # Append the victim's tokens and a ReferenceList naming its Body after the Signature.
    for el in v_sec:
        if etree.QName(el).localname in ("SecurityContextToken", "DerivedKeyToken"):
            a_sec.append(copy.deepcopy(el))
    rl = etree.SubElement(a_sec, f"{XENC}ReferenceList")
    etree.SubElement(rl, f"{XENC}DataReference").set("URI", "#victim-body")
    a_body.append(v_ed)
    status, fault = post(engine, etree.tostring(a))
    assert status == 500 and GENERIC in fault
    assert ran == []


def test_body_encrypted_with_another_tokens_key_is_refused() -> None:
    """The ReferenceList is in the right place, but the Body's key derives from another SCT."""
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    victim = open_session(engine, s, clock.t)
    attacker = open_session(engine, s, clock.t)
    v = parse_xml(victim.app_request(ADD, {"a": 40, "b": 2}, clock.t).body)
    a = parse_xml(attacker.app_request(ADD, {"a": 1, "b": 1}, clock.t).body)
    a_body, v_body = (r.find(f"{{{ns.SOAP12}}}Body") for r in (a, v))
    assert a_body is not None and v_body is not None
    a_ed, v_ed = a_body[0], copy.deepcopy(v_body[0])
    v_ed.set("Id", a_ed.get("Id") or "")
    # The victim's DKT must be resolvable: put the victim's SCT and DKTs before ours.
    a_sec, v_sec = (r.find(f".//{WSSE}Security") for r in (a, v))
    assert a_sec is not None and v_sec is not None
    ts = a_sec[0]
    for el in reversed(
        [e for e in v_sec if etree.QName(e).localname in ("SecurityContextToken", "DerivedKeyToken")]
    ):
        ts.addnext(copy.deepcopy(el))
    a_body.replace(a_ed, v_ed)
    status, fault = post(engine, etree.tostring(a))
    assert status == 500 and GENERIC in fault


def test_reference_list_after_signature_is_refused() -> None:
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    c = open_session(engine, s, clock.t)
    root = parse_xml(c.app_request(ADD, {"a": 1, "b": 2}, clock.t).body)
    sec = root.find(f".//{WSSE}Security")
    assert sec is not None
    rl = sec.find(f"{XENC}ReferenceList")
    assert rl is not None
    sec.remove(rl)
    sec.append(rl)  # now after the encrypted Signature
    status, fault = post(engine, etree.tostring(root))
    assert status == 500 and GENERIC in fault


def test_stale_created_without_expires_is_refused() -> None:
    """Finding 5: Created an hour old and no Expires: outside the replay window."""
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    c = open_session(engine, s, clock.t)
    old = clock.t - 3600
    # Over the engine: a message made an hour ago (its Expires passed too).
    status, fault = post(engine, c.app_request(ADD, {"a": 1, "b": 2}, old).body)
    assert status == 500 and GENERIC in fault
    # The rule itself: Created older than window + skew fails even without Expires (the
    # attack suite sends such a message, signed, over HTTP).
    from wssc.errors import MessageExpired
    from wssc.tokens.timestamp import Timestamp

    with pytest.raises(MessageExpired):
        Timestamp(old, None).check(clock.t, 300, 300)
    Timestamp(clock.t - 599, None).check(clock.t, 300, 300)


def test_memory_replay_cache_quota_and_lifetime() -> None:
    cache = MemoryReplayCache(max_entries=4, quota_per_partition=2)
    cache.check_and_add(b"a1", 100, 0, partition="A")
    cache.check_and_add(b"a2", 100, 0, partition="A")
    with pytest.raises(ServerTooBusy):  # A holds its whole quota
        cache.check_and_add(b"a3", 100, 0, partition="A")
    cache.check_and_add(b"b1", 100, 0, partition="B")  # B is not affected
    with pytest.raises(ReplayDetected):
        cache.check_and_add(b"a1", 100, 1, partition="B")
    cache.check_and_add(b"c1", 50, 0, partition="C")
    with pytest.raises(ServerTooBusy):  # full of live entries: fail closed
        cache.check_and_add(b"d1", 100, 10, partition="D")
    cache.check_and_add(b"d1", 100, 60, partition="D")  # c1 expired and went first
    cache.check_and_add(b"a3", 200, 101, partition="A")  # A's entries expired: quota back
    assert len(cache) <= 4


def test_replay_entry_lifetime_ignores_the_senders_expires() -> None:
    """An entry lives Created + replay window + skew, however far away Expires is."""
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    c = open_session(engine, s, clock.t)
    seen: list[float] = []
    cache = engine.replay
    assert isinstance(cache, MemoryReplayCache)
    real = cache.check_and_add

    def spy(
        key: bytes, expires: float, now: float, *, partition: str = "", peer: str = "", **dated: float | None
    ) -> None:
        seen.append(expires - now)
        real(key, expires, now, partition=partition, peer=peer, **dated)  # type: ignore[arg-type]

    cache.check_and_add = spy  # type: ignore[method-assign]
    out = c.app_request(ADD, {"a": 1, "b": 2}, clock.t)
    assert post(engine, out.body)[0] == 200
    assert seen and max(seen) <= 600 + 1


def test_failed_authentication_throttle() -> None:
    t = FailedAuthenticationThrottle(2, 3, window=60, limit_per_user=4)
    assert not t.locked("alice", "p1", 0)
    t.failed("alice", "p1", 0)
    t.failed("alice", "p1", 0)
    assert t.locked("alice", "p1", 0.5)  # per (username, address)
    assert not t.locked("alice", "p2", 0.5)  # the pair comes first: alice elsewhere is free
    t.failed("alice", "p2", 1)
    t.failed("alice", "p3", 1)
    assert t.locked("alice", "p4", 1.5)  # per username, from addresses alice never used
    t.failed("x", "p9", 3)
    t.failed("y", "p9", 3)
    t.failed("z", "p9", 3)
    assert t.locked("bob", "p9", 3.5)  # per address, for usernames never used there
    assert not t.locked("alice", "p3", 62)  # the window passed


def test_forwarded_headers_are_distrusted_without_configured_proxies() -> None:
    hdr = {"x-forwarded-proto": "https"}
    assert not transport_info(secure=True, peer="127.0.0.1", headers=hdr, forwarded_allow_ips=()).secure
    assert transport_info(secure=True, peer="127.0.0.1", headers={}, forwarded_allow_ips=()).secure
    assert transport_info(
        secure=True, peer="127.0.0.1", headers=hdr, forwarded_allow_ips=("127.0.0.1",)
    ).secure


def test_soap_11_message_to_a_soap_12_endpoint_is_refused() -> None:
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    s11 = replace(s, soap_version="1.1")
    c = client_for(s11)
    out = c.issue_request(clock.t)
    status, body = post(engine, out.body, out.content_type)
    assert status == 500 and GENERIC in body


def test_weaker_suite_is_refused_by_a_basic256_endpoint() -> None:
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    for suite in ("Basic128", "Basic256Rsa15", "TripleDes"):
        weak = replace(s, secure_conversation=replace(s.secure_conversation, algorithm_suite=suite))
        c = client_for(weak)
        out = c.issue_request(clock.t)
        status, body = post(engine, out.body, out.content_type)
        assert status == 500 and GENERIC in body, suite
    assert engine.sessions.store.count_pending() == 0


def test_the_fault_detail_goes_to_the_log_escaped(caplog: pytest.LogCaptureFixture) -> None:
    """Finding 10: a newline in an attacker's value never starts a new log line."""
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    c = open_session(engine, s, clock.t)
    forged = b"x&#10;INFO wssc.session: cancelled SCT urn:forged"
    with caplog.at_level("DEBUG", logger="wssc"):
        for target in (b'URI="#', b'Algorithm="', b'Id="'):
            body = c.app_request(ADD, {"a": 1, "b": 2}, clock.t).body
            assert target in body
            post(engine, body.replace(target, target + forged, 1))
        # An unknown SCT identifier, too.
        out = c.app_request(ADD, {"a": 1, "b": 2}, clock.t)
        post(engine, re.sub(rb"(Identifier>)urn:uuid:", rb"\1" + forged, out.body, count=1))
    assert caplog.records
    for r in caplog.records:
        assert "\n" not in r.getMessage(), r.getMessage()


def test_a_second_encrypted_key_is_refused_before_its_rsa_operation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each EncryptedKey costs an RSA private-key operation before the sender is known: an RST
    carrying two is refused at the second, whose key is never unwrapped."""
    import wssc.security.processors as processors

    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    root = parse_xml(client_for(s).issue_request(clock.t).body)
    sec = root.find(f".//{WSSE}Security")
    assert sec is not None
    ek = sec.find(f"{XENC}EncryptedKey")
    assert ek is not None
    twin = copy.deepcopy(ek)
    twin.set("Id", "ek-twin")
    ek.addnext(twin)
    unwraps: list[int] = []
    real = processors.rsa_key_unwrap

    def counting(*a: object) -> bytes:
        unwraps.append(1)
        return real(*a)  # type: ignore[arg-type]

    monkeypatch.setattr(processors, "rsa_key_unwrap", counting)
    status, fault = post(engine, etree.tostring(root))
    assert status == 500 and GENERIC in fault
    assert unwraps == [1]
    assert engine.sessions.store.count_pending() == 0
