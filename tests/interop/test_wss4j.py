"""Interop with Apache WSS4J 1.6.19 (the peer in ../shared/peers/wss4j), through the wssc CLI.

Every message is made fresh by the peer (or by ``wssc message protect``) in ``tmp_path`` with a
random secret and SCT identifier; the stored samples under ``vectors/`` are checked as well, but
never alone.

a. WSS4J secures, ``wssc message verify`` verifies and decrypts (every positive peer variant).
b. ``wssc message protect`` secures, ``peer verify`` accepts.
c. negative messages: each rejected with the right fault QName (or, where WS-SC's rules make
   the message valid although WSS4J rejects it, accepted).
d. ``wssc.crypto.p_sha1`` against WSS4J's P_SHA1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from peers import Wss4jPeer, wssc_cli
from wssc.crypto import p_sha1

pytestmark = pytest.mark.peer

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XENC = "http://www.w3.org/2001/04/xmlenc#"
SOAP_NS = ("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")
SC_NS = {
    "sc2005": "http://schemas.xmlsoap.org/ws/2005/02/sc",
    "sc13": "http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512",
}
CLI_SC = {"sc2005": "2005", "sc13": "1.3"}
DEFAULT_LABEL = "WS-SecureConversationWS-SecureConversation"
FAILED_CHECK = f"{{{WSSE}}}FailedCheck"
MESSAGE_EXPIRED = f"{{{WSSE}}}MessageExpired"
TOKEN_UNAVAILABLE = f"{{{WSSE}}}SecurityTokenUnavailable"
FAULT_RE = re.compile(r"^FAULT (\{[^}]*\}\S+?):", re.M)


# --- helpers -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sct:
    """A fresh SCT: random 32-byte secret and urn:uuid identifier."""

    secret: str
    sct_id: str

    @classmethod
    def fresh(cls) -> Sct:
        return cls(base64.b64encode(os.urandom(32)).decode(), f"urn:uuid:{uuid.uuid4()}")

    @property
    def peer_opts(self) -> dict[str, str]:
        return {"secret": self.secret, "sct_id": self.sct_id}

    @property
    def cli_args(self) -> list[str]:
        return ["--sct-id", self.sct_id, "--secret", self.secret]


@pytest.fixture
def sct() -> Sct:
    return Sct.fresh()


def plain(peer: Wss4jPeer, soap: str) -> Path:
    return peer.vectors / f"{soap}-plain.xml"


def _root(xml: str | bytes | Path) -> Any:
    if isinstance(xml, Path):
        xml = xml.read_bytes()
    if isinstance(xml, str):
        xml = xml.encode()
    return etree.fromstring(xml)


def body_payload(xml: str | bytes | Path) -> list[bytes]:
    """The Body's child elements, exclusive-c14n'd (independent of the envelope's prefixes)."""
    root = _root(xml)
    bodies = [b for ns in SOAP_NS for b in root.findall(f"{{{ns}}}Body")]
    assert len(bodies) == 1, "expected exactly one SOAP Body"
    return [etree.tostring(c, method="c14n", exclusive=True) for c in bodies[0] if isinstance(c.tag, str)]


def has_encrypted_data(xml: str | bytes | Path) -> bool:
    return next(_root(xml).iter(f"{{{XENC}}}EncryptedData"), None) is not None


def assert_plaintext(out: str | bytes | Path, original: Path) -> None:
    """``out`` holds the original Body, in clear, and no xenc:EncryptedData anywhere."""
    expected = body_payload(original)
    assert expected, "the plain input has an empty Body"
    assert not has_encrypted_data(out), "xenc:EncryptedData left in the verified envelope"
    assert body_payload(out) == expected


def fault_of(proc: Any) -> str:
    """The ``FAULT {ns}Local`` QName that a failed ``wssc message verify`` printed.

    Also checks: non-zero exit, no traceback, nothing on stdout.
    """
    assert proc.returncode != 0, f"expected a failure, got exit 0; stdout:\n{proc.stdout[:2000]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.strip() == "", "nothing may reach stdout when verification fails"
    m = FAULT_RE.search(proc.stderr)
    assert m, f"no 'FAULT {{ns}}Local: reason' on stderr:\n{proc.stderr}"
    return m.group(1)


def wssc_verify(path: Path, sct: Sct, *extra: str) -> Any:
    return wssc_cli("message", "verify", *sct.cli_args, *extra, path)


def assert_verifies(proc: Any, original: Path) -> None:
    assert proc.returncode == 0, f"wssc message verify exited {proc.returncode}:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert_plaintext(proc.stdout, original)


# --- a. WSS4J -> wssc ------------------------------------------------------------------------
# (id, soap, peer secure options). Every flag of `peer secure` that yields a valid message.
BASE_VARIANTS = [
    (f"{ns}-{soap}-{'sign-enc' if enc else 'sign'}", soap, {"ns": ns, "encrypt": enc})
    for ns in ("sc2005", "sc13")
    for soap in ("soap11", "soap12")
    for enc in (False, True)
]
EXTRA_VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("basic128-sign", "soap11", {"suite": "basic128"}),
    ("basic128-sign-enc", "soap11", {"suite": "basic128", "encrypt": True}),
    ("sc13-basic128-sign-enc-soap12", "soap12", {"ns": "sc13", "suite": "basic128", "encrypt": True}),
    ("basic256-sign-enc", "soap11", {"suite": "basic256", "encrypt": True}),
    ("encrypt-signature", "soap11", {"encrypt": True, "encrypt_signature": True}),
    ("sc13-encrypt-signature-soap12", "soap12", {"ns": "sc13", "encrypt": True, "encrypt_signature": True}),
    (
        "basic128-encrypt-signature",
        "soap11",
        {"suite": "basic128", "encrypt": True, "encrypt_signature": True},
    ),
    ("dk-offset32-sign", "soap11", {"dk_offset": 32}),
    ("dk-offset32-sign-enc", "soap11", {"encrypt": True, "dk_offset": 32}),
    ("dk-label-default", "soap11", {"encrypt": True, "dk_label": DEFAULT_LABEL}),
    ("dk-label-custom", "soap11", {"encrypt": True, "dk_label": "CustomLabel"}),
    ("sc13-dk-label-custom-soap12", "soap12", {"ns": "sc13", "dk_label": "CustomLabel"}),
    ("ref-identifier-sign", "soap11", {"ref": "identifier"}),
    ("sc13-ref-identifier-sign-enc", "soap11", {"ns": "sc13", "encrypt": True, "ref": "identifier"}),
    ("no-sct-sign", "soap11", {"no_sct": True}),
    ("no-sct-sign-enc", "soap11", {"encrypt": True, "no_sct": True}),
    ("sc13-no-sct-sign-enc-soap12", "soap12", {"ns": "sc13", "encrypt": True, "no_sct": True}),
    ("sct-wsu-id-custom", "soap11", {"encrypt": True, "sct_wsu_id": "uuid-sct-7"}),
    ("sig-key-len-20", "soap11", {"sig_key_len": 20}),
    ("dk-generation0", "soap11", {"encrypt": True, "dk_generation": 0}),
    # WS-SC: Generation N = key at offset N*Length. The peer derives it that way; WSS4J's own
    # receiver ignores <Generation> and rejects this (FINDINGS.md), wssc must accept it.
    ("dk-generation1", "soap11", {"encrypt": True, "dk_generation": 1}),
    (
        "sc13-dk-algorithm-attr",
        "soap11",
        {
            "ns": "sc13",
            "encrypt": True,
            "dk_algorithm": SC_NS["sc13"] + "/dk/p_sha1",
        },
    ),
    ("sc2005-dk-algorithm-attr", "soap11", {"dk_algorithm": SC_NS["sc2005"] + "/dk/p_sha1"}),
]


@pytest.mark.parametrize(
    ("soap", "opts"), [pytest.param(s, o, id=i) for i, s, o in BASE_VARIANTS + EXTRA_VARIANTS]
)
def test_wss4j_message_verifies_in_wssc(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, soap: str, opts: dict[str, Any]
) -> None:
    src = plain(wss4j, soap)
    msg = tmp_path / "wss4j.xml"
    wss4j.secure(src, msg, **sct.peer_opts, **opts)
    encrypted = bool(opts.get("encrypt"))
    assert has_encrypted_data(msg) == encrypted
    ns = SC_NS[opts.get("ns", "sc2005")]
    assert f'xmlns:wsc="{ns}"' in msg.read_text(), "the peer did not use the asked WS-SC version"

    extra = ["--suite", opts.get("suite", "basic256")]
    if encrypted:
        extra.append("--require-encrypted-body")
    assert_verifies(wssc_verify(msg, sct, *extra), src)


def test_stored_wss4j_samples_verify_in_wssc(wss4j: Wss4jPeer) -> None:
    """The saved positive samples (fixed secret, expired timestamps) verify too."""
    manifest = json.loads((wss4j.vectors / "manifest.json").read_text())
    stored = Sct(manifest["secret"], manifest["sct_identifier"])
    samples = [s for s in manifest["samples"] if s["expect"] == "ok"]
    assert len(samples) >= 10
    for s in samples:
        suite = "basic128" if "basic128" in s["secure_options"] else "basic256"
        proc = wssc_verify(wss4j.vectors / s["file"], stored, "--ignore-expiry", "--suite", suite)
        assert proc.returncode == 0, f"{s['file']}: {proc.stderr}"
        assert_plaintext(proc.stdout, wss4j.vectors / s["input"])


# --- b. wssc -> WSS4J ------------------------------------------------------------------------
@pytest.mark.parametrize("suite", ["basic256", "basic128"])
@pytest.mark.parametrize("encrypt", [True, False], ids=["encrypt", "no-encrypt"])
@pytest.mark.parametrize("soap", ["soap11", "soap12"])
@pytest.mark.parametrize("sc", ["sc2005", "sc13"])
def test_wssc_message_verifies_in_wss4j(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, sc: str, soap: str, encrypt: bool, suite: str
) -> None:
    src = plain(wss4j, soap)
    msg, dec = tmp_path / "wssc.xml", tmp_path / "decrypted.xml"
    args = ["message", "protect", *sct.cli_args, "--sc-version", CLI_SC[sc], "--suite", suite]
    if not encrypt:
        args.append("--no-encrypt")
    proc = wssc_cli(*args, src, msg)
    assert proc.returncode == 0, proc.stderr
    text = msg.read_text()
    assert SC_NS[sc] in text
    assert has_encrypted_data(msg) == encrypt
    if encrypt:
        assert f"{XENC}aes{suite[5:]}-cbc" in text

    res = wss4j.verify(msg, **sct.peer_opts, out=dec, require_encrypted_body=encrypt)
    assert res.returncode == 0, f"WSS4J rejected it:\n{res.stdout[-3000:]}\n{res.stderr}"
    assert "VERIFY OK" in res.stdout
    assert "body signed: yes" in res.stdout
    assert_plaintext(dec, src)


@pytest.mark.parametrize("encrypt", [True, False], ids=["encrypt", "no-encrypt"])
@pytest.mark.parametrize("sc", ["sc2005", "sc13"])
def test_wssc_no_derived_keys_in_wss4j(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, sc: str, encrypt: bool
) -> None:
    """``--no-derived-keys``: the SCT key signs (and encrypts) directly, KeyInfo -> the SCT.

    WSS4J 1.6.19 takes an SCT as the signature and encryption key itself (the secret comes
    from its callback; checked: signed and encrypted, SC 2005 and 1.3, all verify).
    """
    src = plain(wss4j, "soap11")
    msg, dec = tmp_path / "wssc.xml", tmp_path / "decrypted.xml"
    args = ["message", "protect", *sct.cli_args, "--sc-version", CLI_SC[sc], "--no-derived-keys"]
    if not encrypt:
        args.append("--no-encrypt")
    proc = wssc_cli(*args, src, msg)
    assert proc.returncode == 0, proc.stderr
    assert "DerivedKeyToken" not in msg.read_text()

    res = wss4j.verify(msg, **sct.peer_opts, out=dec, require_encrypted_body=encrypt)
    assert res.returncode == 0, f"WSS4J rejected it:\n{res.stdout[-3000:]}\n{res.stderr}"
    assert "VERIFY OK" in res.stdout
    assert_plaintext(dec, src)


# --- c. negative messages ----------------------------------------------------------------------
def _secured(peer: Wss4jPeer, sct: Sct, tmp_path: Path, soap: str = "soap11", **opts: Any) -> Path:
    msg = tmp_path / "secured.xml"
    peer.secure(plain(peer, soap), msg, **sct.peer_opts, **opts)
    return msg


def _mutated(peer: Wss4jPeer, msg: Path, **mutation: bool) -> Path:
    out = msg.with_name("mutated.xml")
    peer.mutate(msg, out, **mutation)
    return out


SIGN_OR_ENC = [
    pytest.param({"ns": "sc2005"}, id="sc2005-sign"),
    pytest.param({"ns": "sc2005", "encrypt": True}, id="sc2005-sign-enc"),
    pytest.param({"ns": "sc13", "encrypt": True, "encrypt_signature": True}, id="sc13-encsig"),
]


@pytest.mark.parametrize(("sc", "soap"), [("sc2005", "soap11"), ("sc13", "soap12")])
def test_tampered_body_is_failed_check(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, sc: str, soap: str
) -> None:
    msg = _secured(wss4j, sct, tmp_path, soap, ns=sc)
    bad = _mutated(wss4j, msg, tamper_body=True)
    assert fault_of(wssc_verify(bad, sct)) == FAILED_CHECK


def test_tamper_body_on_encrypted_body_is_not_a_change(wss4j: Wss4jPeer, sct: Sct, tmp_path: Path) -> None:
    """``mutate --tamper-body`` puts an attribute on the first Body child. When the Body is
    encrypted that child is the xenc:EncryptedData, which decryption replaces before the
    signature (made over the plaintext) is checked: WSS4J and wssc both accept the message."""
    bad = _mutated(wss4j, _secured(wss4j, sct, tmp_path, encrypt=True), tamper_body=True)
    assert 'tampered="1"' in bad.read_text()
    assert wss4j.verdict(bad, **sct.peer_opts).ok
    assert_verifies(wssc_verify(bad, sct), plain(wss4j, "soap11"))


@pytest.mark.parametrize("opts", SIGN_OR_ENC[1:])
def test_tampered_ciphertext_is_failed_check(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, opts: dict[str, Any]
) -> None:
    """Flip one bit in the first ciphertext block of the Body's EncryptedData (after the IV):
    the decrypted Body changes, so its digest no longer matches."""
    msg = _secured(wss4j, sct, tmp_path, **opts)
    root = _root(msg)
    body = next(b for ns in SOAP_NS for b in root.iter(f"{{{ns}}}Body"))
    cipher = next(body.iter(f"{{{XENC}}}CipherValue"))
    raw = bytearray(base64.b64decode(cipher.text))
    raw[16 + 3] ^= 0x01
    cipher.text = base64.b64encode(bytes(raw)).decode()
    bad = tmp_path / "tampered.xml"
    bad.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    verdict = wss4j.verdict(bad, **sct.peer_opts)  # a crash raises: never a rejection
    assert not verdict.ok and verdict.fault == FAILED_CHECK, verdict.output
    assert fault_of(wssc_verify(bad, sct)) == FAILED_CHECK


@pytest.mark.parametrize("opts", SIGN_OR_ENC)
def test_wrong_secret_is_failed_check(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, opts: dict[str, Any]
) -> None:
    msg = _secured(wss4j, sct, tmp_path, **opts)
    wrong = Sct(Sct.fresh().secret, sct.sct_id)
    assert fault_of(wssc_verify(msg, wrong)) == FAILED_CHECK


def test_expired_message_is_message_expired(wss4j: Wss4jPeer, sct: Sct, tmp_path: Path) -> None:
    """WSS4J Timestamp with a 1 s lifetime, checked once it expired with no clock-skew allowance.

    With WCF's default MaxClockSkew (5 min) the same message is still fresh: WSS4J allows no
    skew, wssc (like WCF) 300 s by default.
    """
    msg = _secured(wss4j, sct, tmp_path, encrypt=True, ttl=1)
    # The Timestamp must age on the wall clock: poll until it is refused as expired (it was
    # fresh when made), deadline 15 s.
    deadline = time.monotonic() + 15
    while True:
        proc = wssc_verify(msg, sct, "--max-clock-skew", "0")
        if proc.returncode != 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert fault_of(proc) == MESSAGE_EXPIRED
    assert_verifies(wssc_verify(msg, sct), plain(wss4j, "soap11"))


def test_expired_message_library(wss4j: Wss4jPeer, sct: Sct, tmp_path: Path) -> None:
    """The same through the library API, so the rule is pinned even without the CLI flag."""
    from wssc.errors import MessageExpired
    from wssc.security import MessagePolicy, verify

    msg = _secured(wss4j, sct, tmp_path, ttl=1)
    key = base64.b64decode(sct.secret)
    data = msg.read_bytes()
    with pytest.raises(MessageExpired) as info:
        verify(
            data,
            resolver=lambda token, sc: key,
            now=time.time() + 2.5,
            policy=MessagePolicy(max_clock_skew=0.0),
        )
    assert info.value.code.clark == MESSAGE_EXPIRED


@pytest.mark.parametrize(
    ("soap", "opts"),
    [
        pytest.param("soap11", {"ns": "sc2005"}, id="sc2005-soap11-sign"),
        pytest.param("soap12", {"ns": "sc13", "encrypt": True}, id="sc13-soap12-sign-enc"),
        pytest.param(
            "soap11", {"ns": "sc2005", "encrypt": True, "encrypt_signature": True}, id="sc2005-encsig"
        ),
    ],
)
def test_dkt_without_str_derives_from_the_only_sct(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, soap: str, opts: dict[str, Any]
) -> None:
    """WS-SC: a DKT without STR takes its key from context. One SCT in scope: use it.

    (WSS4J 1.6 itself rejects these with FailedCheck.)
    """
    msg = _mutated(wss4j, _secured(wss4j, sct, tmp_path, soap, **opts), strip_dkt_str=True)
    assert "SecurityTokenReference" not in _dkt_xml(msg)
    assert_verifies(wssc_verify(msg, sct), plain(wss4j, soap))


def _dkt_xml(msg: Path) -> str:
    root = _root(msg)
    dkts = [e for ns in SC_NS.values() for e in root.iter(f"{{{ns}}}DerivedKeyToken")]
    assert dkts
    return "".join(etree.tostring(d, encoding="unicode") for d in dkts)


@pytest.mark.parametrize("sc", ["sc2005", "sc13"])
def test_dkt_without_str_and_no_sct_is_unknown_derivation_source(
    wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, sc: str
) -> None:
    msg = _secured(wss4j, sct, tmp_path, ns=sc, encrypt=True, no_sct=True)
    bad = _mutated(wss4j, msg, strip_dkt_str=True)
    assert fault_of(wssc_verify(bad, sct)) == f"{{{SC_NS[sc]}}}UnknownDerivationSource"


def _unknown_token_faults(sc: str) -> set[str]:
    return {f"{{{SC_NS[sc]}}}BadContextToken", TOKEN_UNAVAILABLE}


@pytest.mark.parametrize("no_sct", [False, True], ids=["sct-in-header", "no-sct"])
@pytest.mark.parametrize("sc", ["sc2005", "sc13"])
def test_unknown_sct_is_rejected(wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, sc: str, no_sct: bool) -> None:
    msg = _secured(wss4j, sct, tmp_path, ns=sc, encrypt=True, no_sct=no_sct)
    stranger = Sct(sct.secret, f"urn:uuid:{uuid.uuid4()}")
    assert fault_of(wssc_verify(msg, stranger)) in _unknown_token_faults(sc)


@pytest.mark.parametrize("sc", ["sc2005", "sc13"])
def test_dropped_sct_is_rejected(wss4j: Wss4jPeer, sct: Sct, tmp_path: Path, sc: str) -> None:
    """The DKTs still point at ``#SCT-1``, which is gone: that reference cannot be resolved."""
    bad = _mutated(wss4j, _secured(wss4j, sct, tmp_path, ns=sc, encrypt=True), drop_sct=True)
    assert fault_of(wssc_verify(bad, sct)) in _unknown_token_faults(sc)


def test_sct_without_wsu_id_verifies(wss4j: Wss4jPeer, sct: Sct, tmp_path: Path) -> None:
    """DKTs refer to the SCT by its Identifier, so the SCT needs no wsu:Id (WSS4J 1.6 crashes)."""
    msg = _secured(wss4j, sct, tmp_path, ns="sc13", encrypt=True, ref="identifier")
    bad = _mutated(wss4j, msg, strip_sct_wsu_id=True)
    assert_verifies(wssc_verify(bad, sct), plain(wss4j, "soap11"))


# The stored negatives (vectors/negative, made by run-samples.sh): what wssc must answer.
# "ok" where WS-SC makes the message valid although WSS4J 1.6 rejects it.
STORED_NEGATIVE: dict[str, tuple[str | set[str], dict[str, str]]] = {
    "tampered-body": ({FAILED_CHECK}, {}),
    "wrong-secret": ({FAILED_CHECK}, {"secret": "A" * 43 + "="}),
    "dkt-no-str-sign": ("ok", {}),
    "dkt-no-str-sign-enc": ("ok", {}),
    "dkt-no-str-no-sct": ({f"{{{SC_NS['sc2005']}}}UnknownDerivationSource"}, {}),
    "dk-generation1": ("ok", {}),
    "sct-no-wsu-id": ("ok", {}),
    "sct-dropped-wsuid-ref": (_unknown_token_faults("sc2005"), {}),
    "unknown-sct-sc2005-soap11-sign": (
        _unknown_token_faults("sc2005"),
        {"sct_id": "urn:uuid:ffffffff-0000-0000-0000-000000000000"},
    ),
    "unknown-sct-sc2005-no-sct": (
        _unknown_token_faults("sc2005"),
        {"sct_id": "urn:uuid:ffffffff-0000-0000-0000-000000000000"},
    ),
    # wsc:Algorithm="urn:example:bogus" (namespace-qualified, the spelling WSS4J reads): an
    # unknown key derivation algorithm is refused rather than ignored.
    "dkt-qualified-bogus-algorithm": ({f"{{{WSSE}}}UnsupportedAlgorithm"}, {}),
}


def test_stored_negative_set_is_covered(wss4j: Wss4jPeer) -> None:
    stored = {p.stem for p in (wss4j.vectors / "negative").glob("*.xml")}
    assert stored == set(STORED_NEGATIVE), "a stored negative sample has no expectation here"


@pytest.mark.parametrize("name", sorted(STORED_NEGATIVE))
def test_stored_negative_samples(wss4j: Wss4jPeer, name: str) -> None:
    manifest = json.loads((wss4j.vectors / "manifest.json").read_text())
    expect, override = STORED_NEGATIVE[name]
    key = Sct(override.get("secret", manifest["secret"]), override.get("sct_id", manifest["sct_identifier"]))
    sample = next(s for s in manifest["samples"] if s["file"] == f"negative/{name}.xml")
    proc = wssc_verify(wss4j.vectors / "negative" / f"{name}.xml", key, "--ignore-expiry")
    if expect == "ok":
        original = wss4j.vectors / sample["input"]
        if original.parent.name == "messages":  # mutated from a stored message: use its input
            base = next(s for s in manifest["samples"] if s["file"] == sample["input"])
            original = wss4j.vectors / base["input"]
        assert_verifies(proc, original)
    else:
        assert fault_of(proc) in expect


# --- d. P_SHA1 ---------------------------------------------------------------------------------
def test_p_sha1_matches_stored_wss4j_vectors(wss4j: Wss4jPeer) -> None:
    doc = json.loads((wss4j.vectors / "psha1-vectors.json").read_text())
    assert len(doc["vectors"]) >= 14
    for v in doc["vectors"]:
        seed = v["label"].encode("utf-8") + base64.b64decode(v["nonce"])
        got = p_sha1(base64.b64decode(v["secret"]), seed, v["length"], v["offset"])
        assert got == base64.b64decode(v["result"]), v["name"]
        assert got.hex() == v["result_hex"], v["name"]


@pytest.mark.parametrize(
    ("secret_len", "nonce_len", "length", "offset", "label"),
    [
        (32, 16, 24, 0, None),
        (16, 16, 16, 0, None),
        (32, 16, 32, 32, None),
        (24, 32, 20, 20, None),
        (48, 24, 33, 7, None),
        (32, 16, 1, 19, None),
        (32, 16, 100, 3, None),
        (32, 16, 64, 0, "WS-SecureConversation"),
        (32, 16, 32, 32, DEFAULT_LABEL),
        (20, 8, 48, 5, "Custom label \u00e9\u00df"),
    ],
)
def test_p_sha1_matches_fresh_wss4j(
    wss4j: Wss4jPeer,
    secret_len: int,
    nonce_len: int,
    length: int,
    offset: int,
    label: str | None,
) -> None:
    secret, nonce = os.urandom(secret_len), os.urandom(nonce_len)
    expected = wss4j.psha1(secret, nonce, length, offset, label)
    seed = (DEFAULT_LABEL if label is None else label).encode("utf-8") + nonce
    assert p_sha1(secret, seed, length, offset) == expected, (
        f"secret={base64.b64encode(secret).decode()} nonce={base64.b64encode(nonce).decode()}"
    )
