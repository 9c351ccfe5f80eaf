"""The engine's reply envelope: a copy of one built per (SOAP version, action), its RelatesTo
filled in, gives the very bytes `new_envelope` writes, and never carries one reply's
RelatesTo or payload into the next."""

from __future__ import annotations

from lxml import etree

from wssc.certs import generate_self_signed
from wssc.contract import encode_response, get_contract
from wssc.demo import Calculator
from wssc.service.engine import ServiceEngine
from wssc.settings import EndpointSettings
from wssc.xml import ns
from wssc.xml.soap import SOAP_11, SOAP_12, Envelope, SoapVersion, new_envelope

CERT = generate_self_signed()
TO = "http://127.0.0.1:1/svc"
OP = get_contract(Calculator).operation("Echo")


def _request(version: SoapVersion, message_id: bool) -> Envelope:
    env = new_envelope(version, action=OP.action, to=TO, message_id=message_id)
    return Envelope(etree.fromstring(etree.tostring(env)))


def _engine(soap: str) -> ServiceEngine:
    return ServiceEngine(
        Calculator(), settings=EndpointSettings(soap_version=soap), address=TO, certificate=CERT
    )


def test_replies_equal_new_envelope_and_share_nothing() -> None:
    for version, soap in ((SOAP_12, "1.2"), (SOAP_11, "1.1")):
        engine = _engine(soap)
        seen = []
        for text in ("one", "two"):
            req = _request(version, message_id=True)
            reply = engine._reply(req, OP.reply_action, encode_response(OP, text))
            want = new_envelope(
                version,
                action=OP.reply_action,
                payload=encode_response(OP, text),
                relates_to=req.message_id,
                reply_to_anonymous=False,
            )
            assert etree.tostring(reply) == etree.tostring(want)
            seen.append(Envelope(reply).header_text(ns.WSA10, "RelatesTo"))
        assert seen[0] != seen[1] and None not in seen
        (template,) = engine._reply_templates.values()
        assert template[0][1].text == "" and len(template[1]) == 0  # left as built


def test_a_request_without_message_id_gets_a_reply_with_its_own() -> None:
    engine = _engine("1.2")
    reply = Envelope(
        engine._reply(_request(SOAP_12, message_id=False), OP.reply_action, encode_response(OP, "x"))
    )
    assert reply.header_text(ns.WSA10, "RelatesTo") is None
    assert (reply.message_id or "").startswith("urn:uuid:")
    assert engine._reply_templates == {}
