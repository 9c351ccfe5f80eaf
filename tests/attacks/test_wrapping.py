"""Signature wrapping, comment injection and duplicated elements, on ``verify`` itself (moved
from ``tests/core/test_security.py``): the element the application reads must be the very
element the signature covered."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from core.helpers import (
    DS,
    T0,
    WSU,
    body_of,
    message,
    ok,
    policy,
    reject,
    resign,
    security,
    tree,
)
from wssc.errors import DuplicateId, InvalidSecurity, MalformedXml, WsscError
from wssc.xml import ns
from wssc.xml.soap import Envelope

#: The check that the Body the application reads is the one the signature covered.
BODY_NOT_SIGNED = "the Body is not signed by the message signature"


def _wrap_in_header(root: etree._Element, el: etree._Element) -> etree._Element:
    header = Envelope(root).header
    assert header is not None
    wrapper = etree.SubElement(header, "{urn:evil}Wrapper")
    wrapper.append(el)
    return wrapper


def test_wrapping_body_moved_new_body_same_id() -> None:
    root = tree(message(encrypt=False))
    env = Envelope(root)
    old = env.body
    new = copy.deepcopy(old)
    new.find(".//{urn:test}Text").text = "transfer all the money"
    _wrap_in_header(root, old)
    root.append(new)
    exc = reject(DuplicateId, root)
    assert exc.code.clark == f"{{{ns.WSSE}}}InvalidSecurity"
    assert exc.detail is not None and exc.detail.endswith("is used more than once")


def test_wrapping_body_moved_new_body_without_id() -> None:
    root = tree(message(encrypt=False))
    old = Envelope(root).body
    new = copy.deepcopy(old)
    del new.attrib[f"{WSU}Id"]
    new.find(".//{urn:test}Text").text = "transfer all the money"
    _wrap_in_header(root, old)
    root.append(new)
    assert reject(InvalidSecurity, root).detail == BODY_NOT_SIGNED


def test_wrapping_body_moved_next_to_new_body() -> None:
    root = tree(message(encrypt=False))
    old = Envelope(root).body
    new = copy.deepcopy(old)
    del new.attrib[f"{WSU}Id"]
    idx = list(root).index(old)
    wrapper = etree.Element("{urn:evil}Wrapper")
    root.insert(idx, wrapper)
    wrapper.append(old)
    root.append(new)
    assert reject(InvalidSecurity, root).detail == BODY_NOT_SIGNED


def test_wrapping_body_moved_into_security_header() -> None:
    root = tree(message(encrypt=False))
    old = Envelope(root).body
    new = copy.deepcopy(old)
    del new.attrib[f"{WSU}Id"]
    security(root).append(old)
    root.append(new)
    assert reject(InvalidSecurity, root).detail == "unexpected element 'Body' in the security header"


def test_wrapping_action_header() -> None:
    root = tree(message(encrypt=False))
    header = Envelope(root).header
    action = header.find(f"{{{ns.WSA10}}}Action")
    evil = copy.deepcopy(action)
    del evil.attrib[f"{WSU}Id"]
    evil.text = "urn:evil:Delete"
    header.insert(list(header).index(action), evil)
    _wrap_in_header(root, action)
    assert reject(InvalidSecurity, root).detail == "a signed element is not where the application reads it"


def test_wrapping_timestamp_replaced() -> None:
    root = tree(message(encrypt=False, now=T0 - 10_000))  # an old, expired message
    sec = security(root)
    old_ts = sec.find(f"{WSU}Timestamp")
    fresh = copy.deepcopy(old_ts)
    del fresh.attrib[f"{WSU}Id"]
    fresh.find(f"{WSU}Created").text = "2027-01-15T08:00:00Z"
    fresh.find(f"{WSU}Expires").text = "2027-01-15T08:05:00Z"
    sec.replace(old_ts, fresh)
    _wrap_in_header(root, old_ts)
    assert reject(InvalidSecurity, root).detail == "the Timestamp is not signed"


def _inject_comment(el: etree._Element, keep: int) -> None:
    """``<x>hello</x>`` -> ``<x>hel<!---->lo</x>``: exc-c14n (without comments) is unchanged."""
    text = el.text or ""
    el.text = text[:keep]
    c = etree.Comment("")
    c.tail = text[keep:]
    el.insert(0, c)


@pytest.mark.parametrize("encrypt", [False, True])
def test_comment_injection_in_signed_action(encrypt: bool) -> None:
    root = tree(message(encrypt=encrypt))
    _inject_comment(root.find(f".//{{{ns.WSA10}}}Action"), len("urn:test:Ec"))
    try:
        r = ok(etree.tostring(root))
    except WsscError:
        return  # refusing is fine too
    assert r.envelope.action == "urn:test:Echo"


def test_comment_injection_in_signed_body() -> None:
    root = tree(message(encrypt=False))
    _inject_comment(body_of(root).find(".//{urn:test}Text"), 3)
    try:
        r = ok(etree.tostring(root))
    except WsscError:
        return
    assert r.envelope.payload.findtext("{urn:test}Text") == "hello"


def test_duplicate_action_header() -> None:
    root = tree(message(encrypt=False))
    header = Envelope(root).header
    action = header.find(f"{{{ns.WSA10}}}Action")
    dup = copy.deepcopy(action)
    del dup.attrib[f"{WSU}Id"]
    dup.text = "urn:evil"
    header.append(dup)
    assert reject(InvalidSecurity, root).detail == "duplicate addressing header Action"
    header.insert(0, copy.deepcopy(dup))
    assert reject(InvalidSecurity, root).detail == "duplicate addressing header Action"


def test_duplicate_action_header_same_id() -> None:
    root = tree(message(encrypt=False))
    header = Envelope(root).header
    header.append(copy.deepcopy(header.find(f"{{{ns.WSA10}}}Action")))
    exc = reject(DuplicateId, root)
    assert exc.detail is not None and exc.detail.endswith("is used more than once")


def test_duplicate_body() -> None:
    root = tree(message(encrypt=False))
    new = copy.deepcopy(Envelope(root).body)
    del new.attrib[f"{WSU}Id"]
    root.append(new)
    assert reject(MalformedXml, root).detail == "a SOAP Envelope must have exactly one Body"


def test_element_referenced_twice() -> None:
    root = tree(message(derived=False, encrypt=False))
    si = security(root).find(f"{DS}Signature/{DS}SignedInfo")
    si.append(copy.deepcopy(si.findall(f"{DS}Reference")[-1]))
    resign(root)
    assert (
        reject(InvalidSecurity, root, policy(derived=False)).detail
        == "an element is referenced twice by the signature"
    )
