"""index_ids selects the id attributes themselves (one XPath over attributes): the same map
and the same duplicate refusals as a walk over the elements."""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.errors import DuplicateId
from wssc.xml import ns
from wssc.xml.ids import ID_ATTRIBUTES, index_ids

U = ns.WSU


def _walk(root: etree._Element) -> dict[str, etree._Element]:
    """The reference: every element, each of its id attributes."""
    out: dict[str, etree._Element] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ID_ATTRIBUTES:
            v = el.get(attr)
            if v is not None:
                if v in out and out[v] is not el:
                    raise DuplicateId(v)
                out[v] = el
    return out


DOC = (
    f'<r xmlns:u="{U}" xmlns:x="urn:x" Id="root"><a u:Id="a1" Id="a2"><b x:Id="not-an-id"/>'
    '<!-- c --><c Id="c1"><d u:Id="d1">t</d></c></a><e/></r>'
)


def test_same_map_as_an_element_walk() -> None:
    root = etree.fromstring(DOC)
    got = index_ids(root)
    assert got == _walk(root)
    assert set(got) == {"root", "a1", "a2", "c1", "d1"}
    assert all(type(k) is str for k in got)  # plain strings, not lxml's smart strings
    assert got["a1"] is got["a2"] is root[0]


def test_subtree_into_an_existing_index() -> None:
    root = etree.fromstring(DOC)
    index = index_ids(root[1])  # <e/>: nothing
    assert index == {}
    index = index_ids(root[0][2], {"root": root})  # <c> subtree
    assert set(index) == {"root", "c1", "d1"}


@pytest.mark.parametrize(
    "doc",
    [
        f'<r xmlns:u="{U}"><a u:Id="x"/><b u:Id="x"/></r>',
        f'<r xmlns:u="{U}"><a u:Id="x"/><b Id="x"/></r>',
        '<r Id="x"><a Id="x"/></r>',
    ],
)
def test_duplicates_are_refused(doc: str) -> None:
    with pytest.raises(DuplicateId):
        index_ids(etree.fromstring(doc))


def test_duplicate_against_the_existing_index() -> None:
    root = etree.fromstring(f'<r xmlns:u="{U}"><a u:Id="x"/><b><c u:Id="x"/></b></r>')
    index = {"x": root[0]}
    with pytest.raises(DuplicateId):
        index_ids(root[1], index)


def test_one_element_with_the_same_value_twice_is_not_a_duplicate() -> None:
    root = etree.fromstring(f'<r xmlns:u="{U}"><a u:Id="x" Id="x"/></r>')
    assert index_ids(root) == {"x": root[0]}
