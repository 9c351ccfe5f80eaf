"""protect's scan of the ids the plain envelope already uses (issue 19).

Fast path: when the Body's content, serialized anyway to be encrypted, holds no ``Id=``
bytes, only the root, the Body element and the Header's subtree are scanned. Anything else
(an id inside the Body, text that merely contains ``Id=``, a Body not encrypted) takes the
whole-tree scan. Either way the ids handed out never collide with one already in use.
"""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.errors import DuplicateId
from wssc.security import MessagePolicy, SctProtection, protect
from wssc.security import outbound as outbound_module
from wssc.xml import ns
from wssc.xml.ids import index_ids
from wssc.xml.soap import SOAP_12

from .helpers import SECRET, T0, ok, plain_envelope, sct

U = f"{{{ns.WSU}}}Id"


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tag of each element `index_ids` is called on during protect."""
    seen: list[str] = []

    def spy(root: etree._Element, into: dict[str, etree._Element] | None = None) -> dict[str, etree._Element]:
        seen.append(etree.QName(root).localname)
        return index_ids(root, into)

    monkeypatch.setattr(outbound_module, "index_ids", spy)
    return seen


def _protect(env: etree._Element, policy: MessagePolicy | None = None) -> etree._Element:
    return protect(env, SctProtection(sct(), SECRET), policy or MessagePolicy(), now=T0)


def _ids(root: etree._Element) -> list[str]:
    return [str(v) for v in root.xpath("//@u:Id | //@Id", namespaces={"u": ns.WSU})]


def _assert_unique_and_verifies(root: etree._Element) -> None:
    ids = _ids(root)
    assert len(ids) == len(set(ids)), ids
    res = ok(etree.tostring(root))
    assert res.body_signed and res.body_encrypted


def test_fast_path_scans_the_header_only(scans: list[str]) -> None:
    env = plain_envelope(SOAP_12)
    env[0][0].set(U, "_0")  # an id in the Header is still seen
    root = _protect(env)
    assert scans == ["Header"]
    assert root[0][0].get(U) == "_0"
    assert root.find(f".//{{{ns.WSU}}}Timestamp").get(U) != "_0"
    _assert_unique_and_verifies(root)


def test_an_id_on_the_body_element_is_seen(scans: list[str]) -> None:
    env = plain_envelope(SOAP_12)
    env[1].set("Id", "_0")
    root = _protect(env)
    assert scans == ["Header"]
    assert root.find(f".//{{{ns.WSU}}}Timestamp").get(U) != "_0"
    _assert_unique_and_verifies(root)


@pytest.mark.parametrize("attr", [U, "Id"])
def test_an_id_inside_the_body_takes_the_whole_scan(scans: list[str], attr: str) -> None:
    env = plain_envelope(SOAP_12)
    body_child = env[1][0]
    body_child.set(attr, "_0")
    root = _protect(env)
    assert scans == ["Envelope"]  # the fallback: the whole tree
    assert root.find(f".//{{{ns.WSU}}}Timestamp").get(U) != "_0"
    res = ok(etree.tostring(root))
    assert res.envelope.body[0].get(attr) == "_0"
    ids = _ids(res.envelope.root)
    assert len(ids) == len(set(ids)), ids


def test_text_that_looks_like_an_id_takes_the_whole_scan(scans: list[str]) -> None:
    root = _protect(plain_envelope(SOAP_12, text='Id="_0"'))
    assert scans == ["Envelope"]
    _assert_unique_and_verifies(root)


def test_no_encrypted_body_takes_the_whole_scan(scans: list[str]) -> None:
    pol = MessagePolicy(encrypt_body=False)
    root = _protect(plain_envelope(SOAP_12), pol)
    assert scans == ["Envelope"]
    res = ok(etree.tostring(root), pol)
    assert res.body_signed


def test_duplicates_outside_the_body_are_refused_on_both_paths() -> None:
    env = plain_envelope(SOAP_12)  # fast path: the Header and the Body element share an id
    env[0][0].set(U, "x")
    env[1].set(U, "x")
    with pytest.raises(DuplicateId):
        _protect(env)
    env = plain_envelope(SOAP_12)  # fallback: the same, plus an id inside the Body
    env[0][0].set(U, "x")
    env[1].set(U, "x")
    env[1][0].set(U, "y")
    with pytest.raises(DuplicateId):
        _protect(env)
