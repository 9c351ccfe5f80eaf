"""The AnonymousForCertificate client half checks the reply to its bootstrap request:

* ``wsse11:SignatureConfirmation`` (WSS 1.1 §8.5, which WCF's AnonymousForCertificate sends,
  see the Mono captures): when the reply carries any, there is exactly one, it is signed, and
  its Value is the SignatureValue of the request we sent; ``require_signature_confirmation``
  also refuses a reply without one;
* the reply is keyed by the bootstrap key (``signing_kind == "ek"``).
"""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest
from lxml import etree

from core.helpers import DS, SCT_ID, SECRET, T0, WSSE, WSU, plain_envelope, protect_message, resign
from wssc.bootstrap import TransportInfo
from wssc.bootstrap.anonymous_for_certificate import (
    AnonymousForCertificateClient,
    AnonymousForCertificateService,
)
from wssc.bootstrap.base import ClientContext, ServiceResult
from wssc.certs import Certificate, generate_self_signed
from wssc.errors import BadContextToken, InvalidSecurity
from wssc.security import MessagePolicy, verify
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.soap import SOAP_12

CERT = generate_self_signed()
#: The Signature stays in the clear so that a test can add a confirmation and re-sign.
POLICY = MessagePolicy(encrypt_signature=False)
SC_TAG = f"{{{ns.WSSE11}}}SignatureConfirmation"


def _exchange(client: AnonymousForCertificateClient) -> tuple[ClientContext, ServiceResult, etree._Element]:
    root, ctx = client.secure(plain_envelope(SOAP_12), POLICY, now=T0)
    service = AnonymousForCertificateService(CERT)
    result = service.verify(etree.tostring(root), TransportInfo(), POLICY, T0)
    reply = service.secure_reply(plain_envelope(SOAP_12, "reply"), result, POLICY, now=T0)
    return ctx, result, reply


def _confirm(
    reply: etree._Element, result: ServiceResult, values: list[bytes | None], signed: bool = True
) -> bytes:
    """Add one SignatureConfirmation per value after the Timestamp; sign them or not."""
    sec = reply.find(f".//{WSSE}Security")
    assert sec is not None
    ts = sec.find(f"{WSU}Timestamp")
    assert ts is not None
    si = sec.find(f"{DS}Signature/{DS}SignedInfo")
    assert si is not None
    template = si.find(f"{DS}Reference")
    assert template is not None
    for i, value in enumerate(values):
        el = etree.Element(SC_TAG, nsmap={"k": ns.WSSE11})
        el.set(f"{WSU}Id", f"SigConf-{i}")
        if value is not None:
            el.set("Value", base64.b64encode(value).decode())
        ts.addnext(el)
        if signed:
            ref = copy.deepcopy(template)
            ref.set("URI", f"#SigConf-{i}")
            dm = ref.find(f"{DS}DigestMethod")
            dv = ref.find(f"{DS}DigestValue")
            assert dm is not None and dv is not None
            h = hashlib.sha256 if dm.get("Algorithm") == ns.SHA256 else hashlib.sha1
            dv.text = base64.b64encode(h(exc_c14n(el)).digest()).decode()
            si.append(ref)
    assert result.reply_sha1 is not None
    # the other digests cover the plaintext Body, which is encrypted now: keep them
    resign(reply, result.reply_keys[result.reply_sha1], update_digests=False)
    return etree.tostring(reply)


def test_the_client_records_the_signature_the_service_saw() -> None:
    ctx, result, _ = _exchange(AnonymousForCertificateClient(Certificate(CERT.cert)))
    assert result.message.signature_value is not None
    assert ctx.request_signatures == [result.message.signature_value]


def test_a_matching_signed_confirmation_is_accepted() -> None:
    client = AnonymousForCertificateClient(Certificate(CERT.cert), require_signature_confirmation=True)
    ctx, result, reply = _exchange(client)
    data = _confirm(reply, result, [ctx.request_signatures[0]])
    got = client.verify_reply(data, ctx, POLICY, now=T0)
    assert got.signature_confirmations == ctx.request_signatures


def test_no_confirmation_is_accepted_unless_required() -> None:
    client = AnonymousForCertificateClient(Certificate(CERT.cert))
    ctx, _, reply = _exchange(client)
    data = etree.tostring(reply)
    assert client.verify_reply(data, ctx, POLICY, now=T0).signature_confirmations == []
    strict = AnonymousForCertificateClient(Certificate(CERT.cert), require_signature_confirmation=True)
    with pytest.raises(InvalidSecurity, match="no SignatureConfirmation"):
        strict.verify_reply(data, ctx, POLICY, now=T0)


@pytest.mark.parametrize(
    "case",
    ["other-value", "no-value", "extra-confirmation", "unsigned"],
)
def test_a_wrong_confirmation_is_refused(case: str) -> None:
    client = AnonymousForCertificateClient(Certificate(CERT.cert))
    ctx, result, reply = _exchange(client)
    ours = ctx.request_signatures[0]
    values: list[bytes | None] = {
        "other-value": [bytes(len(ours))],
        "no-value": [None],
        "extra-confirmation": [ours, bytes(len(ours))],
        "unsigned": [ours],
    }[case]
    data = _confirm(reply, result, values, signed=case != "unsigned")
    # The message itself verifies: only the confirmation check can refuse it.
    assert result.reply_sha1 is not None
    verify(
        data,
        policy=MessagePolicy(),
        now=T0,
        encrypted_key_sha1_keys={result.reply_sha1: result.reply_keys[result.reply_sha1]},
    )
    with pytest.raises(InvalidSecurity, match="SignatureConfirmation"):
        client.verify_reply(data, ctx, POLICY, now=T0)


def test_a_confirmation_of_another_request_is_refused() -> None:
    """A reply (with a valid confirmation) to one request does not answer another one."""
    client = AnonymousForCertificateClient(Certificate(CERT.cert))
    ctx, result, reply = _exchange(client)
    data = _confirm(reply, result, [ctx.request_signatures[0]])
    other = ClientContext(dict(ctx.reply_keys), [bytes(20)])
    with pytest.raises(InvalidSecurity, match="SignatureConfirmation"):
        client.verify_reply(data, other, POLICY, now=T0)


def test_a_reply_signed_by_an_sct_is_refused() -> None:
    """A real SCT-signed reply: refused by verify (the client has no resolver)."""
    client = AnonymousForCertificateClient(Certificate(CERT.cert))
    ctx, _, _ = _exchange(client)
    with pytest.raises(BadContextToken, match="no key is known for this SecurityContextToken"):
        client.verify_reply(protect_message(SOAP_12, MessagePolicy(), now=T0), ctx, MessagePolicy(), now=T0)


def test_the_bootstrap_key_check_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The "keyed by the bootstrap key" check. With today's ``verify`` (no resolver, no private
    key on the client side) no real message reaches it with another signer: it is defence in
    depth, kept in case ``verify`` learns new key sources. Here ``verify`` returns a genuine
    result of an SCT-signed message, and the check must refuse it."""
    import wssc.bootstrap.anonymous_for_certificate as afc

    sct_signed = verify(
        protect_message(SOAP_12, MessagePolicy(), now=T0),
        now=T0,
        resolver=lambda tok, sc: SECRET if tok.identifier == SCT_ID else None,
    )
    assert sct_signed.signing_kind == "sct"
    monkeypatch.setattr(afc, "verify", lambda *a, **kw: sct_signed)
    client = AnonymousForCertificateClient(Certificate(CERT.cert))
    with pytest.raises(InvalidSecurity, match="bootstrap key"):
        client.verify_reply(b"<ignored/>", ClientContext(), POLICY, now=T0)
