"""Comments never reach the application (issue 19): bytes are parsed without them
(`parse_xml`), so verify strips comments only from an element handed in already parsed.
Both paths read a commented, signed Action as the sender signed it."""

from __future__ import annotations

from lxml import etree

from wssc.xml import ns
from wssc.xml.parse import parse_xml

from .helpers import message, ok, tree


def _commented() -> etree._Element:
    root = tree(message(encrypt=True))
    action = root.find(f".//{{{ns.WSA10}}}Action")
    assert action is not None and action.text == "urn:test:Echo"
    action.text = "urn:test:Ec"
    c = etree.Comment("x")
    c.tail = "ho"
    action.insert(0, c)
    return root


def test_bytes_arrive_without_comments() -> None:
    data = etree.tostring(_commented())
    assert b"<!--x-->" in data
    assert not list(parse_xml(data).iter(etree.Comment))
    assert ok(data).envelope.action == "urn:test:Echo"


def test_an_element_is_stripped_of_comments() -> None:
    root = _commented()
    assert list(root.iter(etree.Comment))
    r = ok(root)
    assert r.envelope.action == "urn:test:Echo"
    assert not list(root.iter(etree.Comment))
