"""Finding 9: a header marked ``mustUnderstand`` that nothing understands was accepted, signed
or unsigned. WCF answers with a MustUnderstand fault (SOAP 1.1 ``faultcode``, SOAP 1.2 ``Code``
and an ``env:NotUnderstood`` header block), after security processing: a message that fails
security gets the generic fault whatever headers it carries.

Against running services: SOAP 1.2 (WSHttpBinding's shape) and SOAP 1.1 (``--soap 1.1``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from attack_kit import (
    CBC_VARIANTS,
    Keys,
    app_envelope,
    assert_generic_fault,
    body_cipher_value,
    craft,
    edit_b64,
    post,
    read_fault_bytes,
    tostring,
    tree,
    wait_for_log,
)
from lxml import etree

from servers import Server
from wssc.client import Client
from wssc.xml import ns
from wssc.xml.soap import Envelope

pytestmark = pytest.mark.e2e

BOGUS_NS = "urn:wssc-test:bogus"
#: (server arguments, SOAP namespace, the attribute that targets a header, HTTP content type)
SERVICES = {
    "soap12": (("--binding", "wshttp"), ns.SOAP12, "role", "application/soap+xml; charset=utf-8"),
    "soap11": (("--soap", "1.1", "--binding", "ws2007"), ns.SOAP11, "actor", "text/xml; charset=utf-8"),
}


def unique(prefix: str = "Bogus") -> str:
    return prefix + uuid.uuid4().hex[:12]


def bogus_header(
    env: Envelope, local: str, attrs: dict[str, str], namespace: str = BOGUS_NS
) -> etree._Element:
    h = env.ensure_header()
    el = etree.SubElement(h, f"{{{namespace}}}{local}", nsmap={"b": namespace})
    s = env.version.ns
    for name, value in attrs.items():
        el.set(name if name.startswith("{") else f"{{{s}}}{name}", value)
    el.text = "nobody here understands this"
    return el


def with_unsigned_header(data: bytes, local: str, attrs: dict[str, str]) -> bytes:
    root = tree(data)
    bogus_header(Envelope(root), local, attrs)
    return tostring(root)


def add_request(c: Client) -> bytes:
    op = c.contract.operation("Add")
    return c.session.app_request(op, {"a": 20, "b": 22}, time.time()).body


def assert_must_understand(r: object, soap_ns: str, local: str, namespace: str = BOGUS_NS) -> None:
    import httpx

    assert isinstance(r, httpx.Response)
    fault = read_fault_bytes(r.content)
    assert fault is not None, f"expected a MustUnderstand fault, got HTTP {r.status_code}"
    assert r.status_code == 500
    assert fault.code == f"{{{soap_ns}}}MustUnderstand", fault
    assert f"The header '{local}' from the namespace '{namespace}' was not understood" in fault.reason
    root = etree.fromstring(r.content)
    nu = root.findall(f"{{{soap_ns}}}Header/{{{ns.SOAP12}}}NotUnderstood")
    if soap_ns == ns.SOAP12:
        assert len(nu) == 1
        prefix, _, name = str(nu[0].get("qname")).rpartition(":")
        assert (nu[0].nsmap.get(prefix), name) == (namespace, local)
    else:
        assert nu == []  # SOAP 1.1 has no NotUnderstood header


def logged_reason(srv: Server, soap_ns: str, local: str, namespace: str = BOGUS_NS) -> None:
    wait_for_log(srv, f"fault {{{soap_ns}}}MustUnderstand: {{{namespace}}}{local} not understood")


@pytest.mark.parametrize("version", list(SERVICES))
@pytest.mark.parametrize("value", ["1", "true", " true "])
def test_unsigned_header_not_understood(server: Callable[..., Server], version: str, value: str) -> None:
    args, soap_ns, _, ctype = SERVICES[version]
    srv = server(*args)
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        assert post(srv, add_request(c), content_type=ctype).status_code == 200  # control
        local = unique()
        data = with_unsigned_header(add_request(c), local, {"mustUnderstand": value})
        assert_must_understand(post(srv, data, content_type=ctype), soap_ns, local)
        logged_reason(srv, soap_ns, local)


@pytest.mark.parametrize("version", list(SERVICES))
@pytest.mark.parametrize("where", ["foreign-namespace", "addressing-namespace"])
def test_signed_header_not_understood(server: Callable[..., Server], version: str, where: str) -> None:
    """Signed by the session's key: the sender is authenticated, the header still unknown
    (an unknown name in the WS-Addressing namespace is no better)."""
    args, soap_ns, _, ctype = SERVICES[version]
    srv = server(*args)
    namespace = BOGUS_NS if where == "foreign-namespace" else ns.WSA10
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        s = c.session
        local = unique()
        envelope = app_envelope(c, "Add", a=20, b=22)
        bogus_header(Envelope(envelope), local, {"mustUnderstand": "1"}, namespace)
        root = craft(envelope, Keys.of(c), s.sc, s.suite, sign_namespaces=(BOGUS_NS,))
        hdr = root.find(f".//{{{namespace}}}{local}")
        assert hdr is not None and hdr.get(f"{{{ns.WSU}}}Id"), "the header is not a signed part"
        r = post(srv, tostring(root), content_type=ctype)
        assert_must_understand(r, soap_ns, local, namespace)
        logged_reason(srv, soap_ns, local, namespace)
        # control: the same crafting without the header goes through
        ok = craft(app_envelope(c, "Add", a=1, b=2), Keys.of(c), s.sc, s.suite)
        assert post(srv, tostring(ok), content_type=ctype).status_code == 200


@pytest.mark.parametrize("version", list(SERVICES))
def test_headers_not_for_this_node_or_optional_are_ignored(
    server: Callable[..., Server], version: str
) -> None:
    """mustUnderstand false, or targeted at another node: ignored, as SOAP says. Targeted at
    this node (``next``; SOAP 1.2's ``ultimateReceiver``): refused."""
    args, soap_ns, target, ctype = SERVICES[version]
    srv = server(*args)
    ignored: list[dict[str, str]] = [
        {"mustUnderstand": "0"},
        {"mustUnderstand": "false"},
        {},
        {"mustUnderstand": "1", target: "urn:wssc-test:someone-else"},
    ]
    refused: list[dict[str, str]] = [
        {"mustUnderstand": "1", target: ""},
        {"mustUnderstand": "1", target: ns.SOAP11_ACTOR_NEXT if version == "soap11" else ns.SOAP12_ROLE_NEXT},
        {"mustUnderstand": "yes"},  # neither true nor false: taken as true (fail closed)
    ]
    if version == "soap12":
        ignored.append({"mustUnderstand": "true", "role": ns.SOAP12 + "/role/none"})
        refused.append({"mustUnderstand": "true", "role": ns.SOAP12_ROLE_ULTIMATE_RECEIVER})
        # a SOAP 1.1 attribute means nothing in a SOAP 1.2 envelope
        ignored.append({f"{{{ns.SOAP11}}}mustUnderstand": "1"})
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        for attrs in ignored:
            r = post(srv, with_unsigned_header(add_request(c), unique(), attrs), content_type=ctype)
            assert r.status_code == 200, (attrs, r.content[:300])
        for attrs in refused:
            local = unique()
            r = post(srv, with_unsigned_header(add_request(c), local, attrs), content_type=ctype)
            assert_must_understand(r, soap_ns, local)
            logged_reason(srv, soap_ns, local)


@pytest.mark.parametrize("version", list(SERVICES))
def test_security_failure_comes_first(server: Callable[..., Server], version: str) -> None:
    """A message that fails security gets the generic fault, not MustUnderstand: a bogus
    header tells an unauthenticated sender nothing, and the log names the security check."""
    args, soap_ns, _, ctype = SERVICES[version]
    srv = server(*args)
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        local = unique()
        root = tree(with_unsigned_header(add_request(c), local, {"mustUnderstand": "1"}))
        edit_b64(body_cipher_value(root), CBC_VARIANTS["garbage-plaintext"])
        assert_generic_fault(post(srv, tostring(root), content_type=ctype), "tampered + bogus")
        # the log is written in order: once a later request's line is there, this one's is too
        marker = unique("After")
        data = with_unsigned_header(add_request(c), marker, {"mustUnderstand": "1"})
        assert_must_understand(post(srv, data, content_type=ctype), soap_ns, marker)
        log = wait_for_log(srv, marker)
        assert local not in log, "the tampered message reached the mustUnderstand check"
        faults = [ln for ln in log[: log.index(marker)].splitlines() if "wssc.service: fault" in ln]
        assert f"fault {{{ns.WSSE}}}FailedCheck: the decrypted data is not well-formed XML" in faults[-2], (
            "the Body's decryption did not log its refusal"
        )


@pytest.mark.parametrize("version", list(SERVICES))
def test_issue_request_with_header_not_understood(server: Callable[..., Server], version: str) -> None:
    """The RST/SCT too: refused after the bootstrap verified it, before any session exists."""
    args, soap_ns, _, ctype = SERVICES[version]
    srv = server(*args)
    with Client.from_wsdl(srv.wsdl_url) as c:
        local = unique()
        rst = c.session.issue_request(time.time()).body
        r = post(srv, with_unsigned_header(rst, local, {"mustUnderstand": "1"}), content_type=ctype)
        assert_must_understand(r, soap_ns, local)
        logged_reason(srv, soap_ns, local)
