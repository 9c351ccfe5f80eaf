"""Fuzz the engine with correctly *secured* messages whose bodies are mutated (RST Issue /
Renew / Cancel and application payloads): every answer must be a success or a typed SOAP
fault, never the generic internal-error fault (which would mean an untyped exception)."""

from __future__ import annotations

import copy
import os
import random
import time

import pytest
from lxml import etree

from wssc.bootstrap import AnonymousForCertificateClient, TransportInfo
from wssc.certs import Certificate, generate_self_signed
from wssc.contract import encode_request, get_contract
from wssc.demo import Calculator
from wssc.security import SctProtection, protect
from wssc.service.engine import (
    INTERNAL_ERROR,
    Dispatch,
    HttpRequest,
    HttpResponse,
    ServiceEngine,
    run_dispatch_sync,
)
from wssc.session.client import ClientSession
from wssc.settings import (
    WS2007,
    WSHTTP,
    EndpointSettings,
    LocalServiceSecuritySettings,
    SecureConversationSettings,
)
from wssc.trust import CancelRequest, IssueRequest, RenewRequest
from wssc.xml.soap import new_envelope

CERT = generate_self_signed()
ITERATIONS = int(os.environ.get("WSSC_FUZZ_EXAMPLES", "150"))
TEXTS = ["", "x", "-1", "99999999999999999999", "AAAA", "urn:uuid:x", "   ", "\u00b2", "1e5"]
ATTRS = ["Context", "Type", "ValueType", "URI", "{http://schemas.xmlsoap.org/ws/2005/02/sc}Instance"]


def mutate(el: etree._Element, rnd: random.Random) -> etree._Element:
    for _ in range(rnd.randint(1, 3)):
        nodes = list(el.iter())
        n = rnd.choice(nodes)
        op = rnd.randrange(6)
        parent = n.getparent()
        if op == 0 and parent is not None:
            parent.remove(n)
        elif op == 1:
            n.text = rnd.choice(TEXTS)
        elif op == 2 and parent is not None:
            parent.append(copy.deepcopy(n))
        elif op == 3:
            n.set(rnd.choice(ATTRS), rnd.choice(["", "#x", "urn:a"]))
        elif op == 4:
            etree.SubElement(n, rnd.choice(["{urn:x}Junk", str(n.tag)]))
        elif op == 5 and len(n):
            n[:] = list(reversed(n))
    return el


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=["wshttp", "ws2007"])
def test_mutated_bodies_get_typed_faults(version: object) -> None:
    rnd = random.Random(20261127)
    settings = EndpointSettings(
        SecureConversationSettings(message_security_version=version),  # type: ignore[arg-type]
        service=LocalServiceSecuritySettings(max_pending_sessions=100_000),
    )
    engine = ServiceEngine(Calculator(), settings=settings, address="http://x/svc", certificate=CERT)

    def post(body: bytes) -> HttpResponse:
        r = engine.handle(
            HttpRequest("POST", "/svc", "", {"content-type": "application/soap+xml"}, body, TransportInfo())
        )
        return run_dispatch_sync(r) if isinstance(r, Dispatch) else r

    contract = get_contract(Calculator)
    faults = 0
    for _ in range(ITERATIONS):
        cs = ClientSession(settings, AnonymousForCertificateClient(Certificate(CERT.cert)), "http://x/svc")
        now = time.time()
        kind = rnd.choice(["issue", "app", "cancel", "renew"])
        if kind == "issue":
            rst = IssueRequest.build(cs.sc, cs.suite).to_xml(cs.sc)
            env = new_envelope(cs.soap, action=cs.trust.rst_sct, to="http://x/svc", payload=mutate(rst, rnd))
            root, _ = cs.bootstrap.secure(env, cs.policy, now)
        else:
            out = cs.issue_request(now)
            cs.issue_response(post(out.body).body, out, now)
            assert cs.sct is not None and cs.key is not None
            if kind == "app":
                op = contract.operation(rnd.choice(["Add", "Echo"]))
                args: dict[str, object] = {"a": 1, "b": 2} if op.name == "Add" else {"text": "t"}
                action, payload = op.action, encode_request(op, args)
            elif kind == "cancel":
                action = cs.trust.rst_sct_cancel
                payload = CancelRequest.build(cs.sct).to_xml(cs.sc)
            else:
                action = cs.trust.rst_sct_renew
                payload = RenewRequest.build(cs.sc, cs.sct, cs.suite).to_xml(cs.sc)
            env = new_envelope(cs.soap, action=action, to="http://x/svc", payload=mutate(payload, rnd))
            root = protect(env, SctProtection(cs.sct, cs.key), cs.policy, now=now)
        r = post(etree.tostring(root))
        assert INTERNAL_ERROR.encode() not in r.body, (kind, etree.tostring(env)[:800])
        if r.status == 500:
            faults += 1
            assert b"Fault" in r.body
    assert faults > ITERATIONS // 4  # the mutations do hit the validation
