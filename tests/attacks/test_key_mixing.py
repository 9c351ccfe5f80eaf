"""Finding 2: every decryption key derives from the root token that signed the message, and
the policy's protection order (SignBeforeEncrypt with EncryptSignature) is enforced.

The attacker is a legitimate client of the same service with a session of its own. It
captured a victim's request (which it cannot decrypt), signs the victim's still-encrypted Body
with its own key, and appends the victim's SCT, DerivedKeyToken and ReferenceList after its
Signature. If the service decrypted the Body with the victim's key and ran the operation in the
attacker's session, the reply, encrypted for the attacker, would reveal the victim's request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
from attack_kit import (
    MATRIX,
    MATRIX_IDS,
    WSSE,
    XENC,
    Keys,
    app_envelope,
    assert_refused_by,
    body,
    craft,
    header_children,
    log_mark,
    post,
    recording_client,
    scrub_ids,
    security,
    serve_args,
    tostring,
    tree,
)
from lxml import etree

from servers import Server
from wssc.client import Client
from wssc.crypto.suites import AlgorithmSuite
from wssc.security.outbound import _signature_bytes
from wssc.security.policy import MessagePolicy
from wssc.security.xmlsig import build_encrypted_data
from wssc.tokens.dkt import DerivedKeyToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.soap import Envelope

pytestmark = pytest.mark.e2e

SECRET_TEXT = "the victim's secret request"
#: The log reason of the check that decrypts only with keys of the signer's root token.
ROOT_TOKEN_REFUSED = "the data was encrypted with a key of another token than the signature's"


def mix(captured: bytes, attacker: Keys, sc: ScVersion, suite: AlgorithmSuite) -> bytes:
    """The victim's message, signed by the attacker over the victim's ciphertext Body, laid
    out as the policy wants (the attacker's Signature encrypted with its own key, every
    ReferenceList before it), with the victim's SCT, encryption DKT and ReferenceList (the
    Body's) before the attacker's encrypted Signature. Only the root-token check is left to
    refuse it: the Body's key derives from another token than the signature's."""
    root = tree(captured)
    sec = security(root)
    v_sct = header_children(root, "SecurityContextToken")
    v_dkts = header_children(root, "DerivedKeyToken")
    v_rl = header_children(root, "ReferenceList")
    assert len(v_sct) == 1 and len(v_dkts) == 2 and len(v_rl) == 1
    body_ed = body(root).find(f"{XENC}EncryptedData")
    assert body_ed is not None
    scrub_ids([*v_sct, *v_dkts, *v_rl, body_ed], "victim")
    rl = v_rl[0]
    for dr in rl.findall(f"{XENC}DataReference"):
        if dr.get("URI") != "#" + str(body_ed.get("Id")):
            rl.remove(dr)  # only the Body: the victim's encrypted Signature is dropped
    header = sec.getparent()
    assert header is not None
    header.remove(sec)

    now = time.time()
    new = etree.SubElement(header, f"{WSSE}Security", nsmap={"o": ns.WSSE, "u": ns.WSU})
    new.set(f"{{{Envelope(root).version.ns}}}mustUnderstand", "1")
    ts = Timestamp(now, now + 300, "attacker-ts").to_xml()
    new.append(ts)
    new.append(attacker.sct.to_xml(sc))
    base = SecurityTokenReference.local(attacker.sct.wsu_id, sc.sct_token_type)
    dk = DerivedKeyToken(base, os.urandom(16), suite.signature_key_length, offset=0, wsu_id="attacker-dk")
    new.append(dk.to_xml(sc))
    targets = [("attacker-ts", ts)]
    for h in header:
        if isinstance(h.tag, str) and etree.QName(h).namespace in (ns.WSA10, ns.WSA2004):
            hid = h.get(f"{{{ns.WSU}}}Id")
            assert hid, "the victim's addressing headers carry ids"
            targets.append((hid, h))
    b = body(root)
    targets.append((str(b.get(f"{{{ns.WSU}}}Id")), b))
    sig = _signature_bytes(
        targets,
        dk.derive(attacker.key),
        SecurityTokenReference.local("attacker-dk", sc.dk_token_type),
        MessagePolicy(sc=sc, suite=suite),
    )
    enc_dk = DerivedKeyToken(
        base, os.urandom(16), suite.encryption_key_length, offset=0, wsu_id="attacker-enc-dk"
    )
    new.append(enc_dk.to_xml(sc))
    for part in (*v_sct, v_dkts[1], rl):  # the victim's SCT, encryption DKT, ReferenceList
        new.append(part)
    etree.SubElement(rl, f"{XENC}DataReference").set("URI", "#attacker-sig")
    new.append(
        build_encrypted_data(
            "attacker-sig",
            ns.XENC_ELEMENT,
            suite.encryption,
            enc_dk.derive(attacker.key),
            sig,
            SecurityTokenReference.local("attacker-enc-dk", sc.dk_token_type),
        )
    )
    return tostring(root)


def attacker_client(srv: Server) -> tuple[Client, Keys]:
    c = Client.from_wsdl(srv.wsdl_url, verify=srv.verify)
    c.open()
    return c, Keys.of(c)


def refused_and_unread(attacker: Client, r_status: int, r_body: bytes, what: str) -> None:
    """If the service answered 200, show what the attacker learnt from the reply."""
    if r_status == 200:
        try:
            plain = attacker.session._verify_sct_reply(r_body, time.time()).to_bytes()
        except Exception as exc:  # pragma: no cover - only a diagnostic
            plain = f"(not readable by the attacker: {exc!r})".encode()
        leaked = SECRET_TEXT.encode() in plain
        pytest.fail(
            f"{what}: the service ran the operation (HTTP 200); the attacker "
            f"{'READ THE VICTIM PLAINTEXT' if leaked else 'got a reply'}: {plain[-400:]!r}"
        )


@pytest.mark.parametrize("delivered", [False, True], ids=["intercepted", "already-delivered"])
@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_victim_body_signed_by_attacker_is_refused(
    server: Callable[..., Server], binding: str, mode: str, delivered: bool
) -> None:
    """``intercepted``: the victim's request never reached the service; ``already-delivered``:
    a captured request that was processed is re-run under a fresh signature (the replay cache
    cannot know the new signature)."""
    srv = server(*serve_args(binding, mode))
    victim, rec = recording_client(srv)
    attacker, keys = attacker_client(srv)
    with victim, attacker:
        victim.open()
        s = victim.session
        op = victim.contract.operation("Echo")
        out = s.app_request(op, {"text": SECRET_TEXT}, time.time())
        if delivered:
            assert s.app_response(victim._post(out), out, time.time()) == SECRET_TEXT
        crafted = mix(out.body, keys, attacker.session.sc, attacker.session.suite)
        mark = log_mark(srv)
        r = post(srv, crafted, content_type=out.content_type)
        refused_and_unread(attacker, r.status_code, r.content, f"{binding}/{mode}")
        assert_refused_by(srv, r, ROOT_TOKEN_REFUSED, since=mark, what=f"key mixing {binding}/{mode}")
        # Both sessions still work: the refusal hurt nobody.
        assert victim.Echo(text="v") == "v" and attacker.Echo(text="a") == "a"
    assert rec is not None


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_own_keys_crafted_layout_is_accepted(server: Callable[..., Server], binding: str, mode: str) -> None:
    """Control: the hand-made header of these tests, in WCF's order, is accepted; so the
    refusals below are about the order, not about the crafting."""
    srv = server(*serve_args(binding, mode))
    attacker, keys = attacker_client(srv)
    with attacker:
        s = attacker.session
        root = craft(app_envelope(attacker, "Echo", text="ok"), keys, s.sc, s.suite)
        r = post(srv, tostring(root))
        assert r.status_code == 200, r.content[-400:]
        assert s._verify_sct_reply(r.content, time.time()).to_bytes().count(b">ok<") == 1


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_reference_list_after_signature_is_refused(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    """Encrypt-then-sign with the Body's ReferenceList after the (encrypted) Signature, all
    with the client's own keys: the policy (SignBeforeEncrypt) says otherwise, so it is
    refused, by the order check."""
    srv = server(*serve_args(binding, mode))
    attacker, keys = attacker_client(srv)
    with attacker:
        s = attacker.session
        root = craft(app_envelope(attacker, "Echo", text="order"), keys, s.sc, s.suite, sign_ciphertext=True)
        kinds = [etree.QName(c).localname for c in security(root)]
        assert kinds[-2:] == ["EncryptedData", "ReferenceList"], kinds
        mark = log_mark(srv)
        r = post(srv, tostring(root))
        refused_and_unread(attacker, r.status_code, r.content, f"{binding}/{mode}")
        assert_refused_by(
            srv,
            r,
            "a ReferenceList follows the signature",
            since=mark,
            what=f"ReferenceList after Signature {binding}/{mode}",
        )


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_plain_signature_where_the_policy_encrypts_it_is_refused(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    """The same encrypt-then-sign message with a plain Signature: the policy encrypts the
    primary signature (EncryptSignature), so it is refused by that check."""
    srv = server(*serve_args(binding, mode))
    attacker, keys = attacker_client(srv)
    with attacker:
        s = attacker.session
        root = craft(
            app_envelope(attacker, "Echo", text="order"),
            keys,
            s.sc,
            s.suite,
            sign_ciphertext=True,
            encrypt_signature=False,
        )
        kinds = [etree.QName(c).localname for c in security(root)]
        assert kinds.index("ReferenceList") > kinds.index("Signature")
        mark = log_mark(srv)
        r = post(srv, tostring(root))
        refused_and_unread(attacker, r.status_code, r.content, f"{binding}/{mode}")
        assert_refused_by(
            srv,
            r,
            "the signature is not encrypted (the policy encrypts it",
            since=mark,
            what=f"plain Signature {binding}/{mode}",
        )
