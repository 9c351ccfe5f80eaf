"""The checked fast readers of WCF's token layout against the general readers (issue 19).

`Timestamp`, `SecurityContextToken`, `DerivedKeyToken` and `SecurityTokenReference` are read
by position when an element has exactly the form WCF writes. Each fast reader must give the
general reader's very answer, and step aside for every departure, however small, so that the
general reader decides (its value or its error). ``wssc.tokens.paths.PATHS`` says which ran.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from wssc.errors import InvalidSecurityToken, WsscError
from wssc.tokens import dkt as dkt_mod
from wssc.tokens import sct as sct_mod
from wssc.tokens import str_ as str_mod
from wssc.tokens import timestamp as ts_mod
from wssc.tokens.dkt import DerivedKeyToken
from wssc.tokens.paths import PATHS
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns

from .helpers import SECRET, dkts, message, ok, reject, tree

NS = (
    f'xmlns:u="{ns.WSU}" xmlns:o="{ns.WSSE}" xmlns:k="{ns.WSSE11}" '
    f'xmlns:c="{ns.SC_2005}" xmlns:c13="{ns.SC_13}"'
)
REF = '<o:Reference URI="#uuid-1" ValueType="http://schemas.xmlsoap.org/ws/2005/02/sc/sct"/>'
STR = f"<o:SecurityTokenReference>{REF}</o:SecurityTokenReference>"
NONCE = "<c:Nonce>Y3Q7U/nDU7JmTzXGrplVBw==</c:Nonce>"
OL = "<c:Offset>0</c:Offset><c:Length>24</c:Length>"


def el(xml: str) -> etree._Element:
    """One element, parsed with the prefixes above in scope (the outer wrapper dropped)."""
    return etree.fromstring(f"<w {NS}>{xml}</w>")[0]


def dkt(inner: str, attrs: str = 'u:Id="_1"', tag: str = "c:DerivedKeyToken") -> str:
    return f"<{tag} {attrs}>{inner}</{tag}>"


#: name -> (reader, the module's fast reader, its PATHS key)
READERS: dict[str, tuple[Callable[[etree._Element], Any], str, Any]] = {
    "timestamp": (Timestamp.from_xml, "timestamp", ts_mod),
    "sct": (SecurityContextToken.from_xml, "sct", sct_mod),
    "dkt": (lambda e: DerivedKeyToken.from_xml(e, 32), "dkt", dkt_mod),
    "str": (SecurityTokenReference.from_xml, "str", str_mod),
}

IN_FORM: list[tuple[str, str]] = [
    (
        "timestamp",
        '<u:Timestamp u:Id="_0"><u:Created>2026-11-27T10:00:00.000Z</u:Created>'
        "<u:Expires>2026-11-27T10:05:00.000Z</u:Expires></u:Timestamp>",
    ),
    (
        "timestamp",
        "<u:Timestamp><u:Created>2026-11-27T10:00:00Z</u:Created><u:Expires>2026-11-27T10:05:00+01:00</u:Expires></u:Timestamp>",
    ),
    (
        "sct",
        '<c:SecurityContextToken u:Id="uuid-1"><c:Identifier>urn:uuid:1</c:Identifier>'
        "</c:SecurityContextToken>",
    ),
    (
        "sct",
        "<c13:SecurityContextToken><c13:Identifier> urn:uuid:1 </c13:Identifier></c13:SecurityContextToken>",
    ),
    ("dkt", dkt(STR + OL + NONCE)),
    ("dkt", dkt(STR + NONCE)),
    ("dkt", dkt(STR + "<c:Offset>32</c:Offset><c:Length>32</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c13:Nonce>AAAA</c13:Nonce>", tag="c13:DerivedKeyToken")),
    ("str", STR),
    ("str", '<o:SecurityTokenReference><o:Reference URI="#_2" ValueType="x"/></o:SecurityTokenReference>'),
]

#: Departures: the general reader decides each (a value or its error).
DEPARTURES: list[tuple[str, str]] = [
    ("timestamp", "<u:Timestamp><u:Created>2026-11-27T10:00:00Z</u:Created></u:Timestamp>"),
    (
        "timestamp",
        "<u:Timestamp><u:Expires>2026-11-27T10:05:00Z</u:Expires><u:Created>2026-11-27T10:00:00Z</u:Created></u:Timestamp>",
    ),
    ("timestamp", "<u:Timestamp><u:Created>2026-11-27T10:00:00Z</u:Created><u:Expires/></u:Timestamp>"),
    ("timestamp", "<u:Timestamp><u:Created/><u:Expires>2026-11-27T10:05:00Z</u:Expires></u:Timestamp>"),
    (
        "timestamp",
        "<u:Timestamp><u:Created>2026-11-27T10:00:00Z</u:Created><u:Expires>2026-11-27T10:05:00Z</u:Expires><u:X/></u:Timestamp>",
    ),
    ("timestamp", "<u:Timestamp><u:Created>2026-11-27T10:00:00Z</u:Created><?pi x?></u:Timestamp>"),
    (
        "sct",
        "<c:SecurityContextToken><c:Identifier>urn:uuid:1</c:Identifier><c:Instance>urn:uuid:2</c:Instance></c:SecurityContextToken>",
    ),
    ("sct", "<c:SecurityContextToken><c:Identifier>  </c:Identifier></c:SecurityContextToken>"),
    ("sct", "<c:SecurityContextToken><c13:Identifier>urn:uuid:1</c13:Identifier></c:SecurityContextToken>"),
    ("sct", f"<c:SecurityContextToken><c:Identifier>{'x' * 1025}</c:Identifier></c:SecurityContextToken>"),
    ("sct", "<c:SecurityContextToken><c:X>urn:uuid:1</c:X></c:SecurityContextToken>"),
    ("dkt", dkt(STR + OL + NONCE, attrs='u:Id="_1" Algorithm="urn:other"')),
    ("dkt", dkt(STR + OL + NONCE, attrs=f'u:Id="_1" Algorithm="{ns.SC_2005}/dk/p_sha1"')),
    ("dkt", dkt(STR + OL + NONCE, attrs='Id="_1"')),
    ("dkt", dkt(STR + OL + NONCE, attrs='u:Id=""')),
    ("dkt", dkt(STR + "<c:Offset> 0 </c:Offset><c:Length>24</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c:Offset>0</c:Offset><c:Length>99</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c:Offset>0</c:Offset><c:Length>0</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c:Offset>65</c:Offset><c:Length>16</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c:Offset>\u0660</c:Offset><c:Length>24</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c:Offset>000</c:Offset><c:Length>24</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c:Generation>0</c:Generation><c:Length>24</c:Length>" + NONCE)),
    ("dkt", dkt(STR + "<c:Length>24</c:Length><c:Offset>0</c:Offset>" + NONCE)),
    ("dkt", dkt(STR + "<c:Label>L</c:Label>" + NONCE)),
    ("dkt", dkt(STR + OL + NONCE + NONCE)),
    ("dkt", dkt(STR + "<c:Nonce> Y3Q7U/nDU7JmTzXGrplVBw== </c:Nonce>")),
    ("dkt", dkt(STR + "<c:Nonce>Y3Q7U/nDU7JmTzXGrplVBw</c:Nonce>")),
    ("dkt", dkt(STR + "<c:Nonce>Y3Q7U/nDU7JmTzXGrplVBw==AA</c:Nonce>")),
    ("dkt", dkt(STR + "<c:Nonce></c:Nonce>")),
    ("dkt", dkt(STR + f"<c:Nonce>{'A' * 92}</c:Nonce>")),
    ("dkt", dkt(STR + "<c13:Nonce>Y3Q7U/nDU7JmTzXGrplVBw==</c13:Nonce>")),
    ("dkt", dkt(NONCE + STR)),
    (
        "dkt",
        dkt(STR.replace("<o:SecurityTokenReference>", '<o:SecurityTokenReference k:TokenType="t">') + NONCE),
    ),
    ("dkt", dkt(STR.replace('URI="#uuid-1"', 'URI="urn:uuid:1"') + NONCE)),
    ("dkt", dkt(NONCE)),
    ("str", STR.replace("<o:SecurityTokenReference>", '<o:SecurityTokenReference k:TokenType="t">')),
    ("str", STR.replace("<o:SecurityTokenReference>", '<o:SecurityTokenReference u:Id="s">')),
    ("str", STR.replace('URI="#uuid-1"', 'URI="urn:uuid:1"')),
    ("str", STR.replace('URI="#uuid-1"', 'URI="#"')),
    ("str", STR.replace('URI="#uuid-1"', 'URI=""')),
    ("str", STR.replace('URI="#uuid-1"', f'URI="#{"x" * 1024}"')),
    ("str", STR.replace(' ValueType="http://schemas.xmlsoap.org/ws/2005/02/sc/sct"', "")),
    ("str", STR.replace("/>", ' c:Instance="urn:uuid:2"/>')),
    ("str", f"<o:SecurityTokenReference>{REF}{REF}</o:SecurityTokenReference>"),
    ("str", f"<o:SecurityTokenReference><?pi x?>{REF}</o:SecurityTokenReference>"),
    (
        "str",
        '<o:SecurityTokenReference><o:KeyIdentifier ValueType="v">AAAA</o:KeyIdentifier>'
        "</o:SecurityTokenReference>",
    ),
]


def _answer(reader: Callable[[etree._Element], Any], e: etree._Element) -> Any:
    try:
        return reader(e)
    except WsscError as exc:
        return f"refused: {type(exc).__name__}: {exc}"


def _run(kind: str, xml: str) -> tuple[Any, str]:
    reader, key, _ = READERS[kind]
    before = PATHS.copy()
    answer = _answer(reader, el(xml))
    ran = [k for k in (f"{key}.fast", f"{key}.general") if PATHS[k] != before[k]]
    assert len(ran) == 1
    return answer, ran[0].split(".")[1]


def _general(kind: str, xml: str) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        for mod in (ts_mod, sct_mod, dkt_mod, str_mod):
            mp.setattr(mod, "_from_wcf_layout", lambda *a: None)
        return _run(kind, xml)


@pytest.mark.parametrize(("kind", "xml"), IN_FORM)
def test_in_form_takes_the_fast_path_and_equals_the_general(kind: str, xml: str) -> None:
    answer, path = _run(kind, xml)
    assert path == "fast"
    assert not isinstance(answer, str), answer
    general, general_path = _general(kind, xml)
    assert general_path == "general"
    assert answer == general


@pytest.mark.parametrize(("kind", "xml"), DEPARTURES)
def test_departure_falls_back_to_the_general_reader(kind: str, xml: str) -> None:
    answer, path = _run(kind, xml)
    assert path == "general", "a departure from WCF's layout must take the general path"
    assert answer == _general(kind, xml)[0]


def test_dkt_fast_reader_derives_the_general_key() -> None:
    fast = DerivedKeyToken.from_xml(el(dkt(STR + OL + NONCE)))[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dkt_mod, "_from_wcf_layout", lambda *a: None)
        general = DerivedKeyToken.from_xml(el(dkt(STR + OL + NONCE)))[0]
    assert fast == general and fast.derive(SECRET) == general.derive(SECRET)
    assert len(fast.derive(SECRET)) == 24


def test_verify_takes_the_fast_paths_on_wcf_layout() -> None:
    before = PATHS.copy()
    res = ok(message())
    assert res.body_signed
    got = {k: PATHS[k] - before[k] for k in PATHS if PATHS[k] != before[k]}
    assert got.get("timestamp.fast") == 1 and got.get("dkt.fast") == 2
    assert not any(k.endswith(".general") for k in got), got


def test_verify_falls_back_and_still_accepts() -> None:
    # Whitespace around a DerivedKeyToken's Offset: legal, not WCF's layout, and (the DKT is
    # not signed) the same derived key: the general reader reads it, verify accepts.
    root = tree(message())
    offset = next(c for d in dkts(root) for c in d if etree.QName(c).localname == "Offset")
    offset.text = f" {offset.text} "
    before = PATHS.copy()
    res = ok(etree.tostring(root))
    assert res.body_signed
    assert PATHS["dkt.general"] - before["dkt.general"] == 1
    assert PATHS["dkt.fast"] - before["dkt.fast"] == 1


def test_verify_falls_back_and_the_general_reader_refuses() -> None:
    # A Length beyond the suite's maximum departs from the layout: the general reader refuses
    # it with WCF's limit error, exactly as before the fast path existed.
    root = tree(message())
    length = next(c for d in dkts(root) for c in d if etree.QName(c).localname == "Length")
    length.text = "99"
    before = PATHS.copy()
    exc = reject(InvalidSecurityToken, etree.tostring(root))
    assert "Length 99 exceeds" in str(exc)
    assert PATHS["dkt.general"] - before["dkt.general"] == 1
