"""Child lookups by walking the children instead of lxml's path lookup (issue 19):
`Envelope.header`, `Envelope.body`, `Envelope.security_headers`, `read_inclusive_prefixes`,
the WS-Addressing namespace test of `enforce` and the SCT reader's tag test. Each gives
what ``find``/``findall``/``QName`` gave, on the usual form and on the odd ones."""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.errors import InvalidSecurityToken, MalformedXml
from wssc.tokens.sct import SecurityContextToken
from wssc.xml import ns
from wssc.xml.c14n import read_inclusive_prefixes
from wssc.xml.soap import Envelope

S = ns.SOAP12


def env(inner: str) -> etree._Element:
    return etree.fromstring(
        f'<s:Envelope xmlns:s="{S}" xmlns:o="{ns.WSSE}" xmlns:x="urn:x">{inner}</s:Envelope>'
    )


@pytest.mark.parametrize(
    "inner",
    [
        "<s:Header><o:Security/></s:Header><s:Body/>",
        "<s:Body/>",
        "<?pi x?><x:Header/><s:Header n='1'/><s:Header n='2'><o:Security/><o:Security/></s:Header><s:Body/>",
        "<s:Header><x:Security/><!--c--><o:Security n='1'/><o:Security n='2'/></s:Header><s:Body/>",
    ],
)
def test_header_and_security_headers_as_find_gives_them(inner: str) -> None:
    root = env(inner)
    e = Envelope(root)
    assert e.header is root.find(f"{{{S}}}Header")
    h = e.header
    want = [] if h is None else h.findall(f"{{{ns.WSSE}}}Security")
    got = e.security_headers()
    assert len(got) == len(want) and all(a is b for a, b in zip(got, want, strict=True))
    assert e.body is root.findall(f"{{{S}}}Body")[0]


@pytest.mark.parametrize("inner", ["<s:Header/>", "<s:Body/><s:Body/>", "<x:Body/>"])
def test_not_exactly_one_body_is_refused(inner: str) -> None:
    with pytest.raises(MalformedXml, match="exactly one Body"):
        Envelope(env(inner)).body


@pytest.mark.parametrize(
    ("children", "want"),
    [
        ("", []),
        ('<ec:InclusiveNamespaces PrefixList="a #default  s"/>', ["a", "#default", "s"]),
        ('<x:InclusiveNamespaces PrefixList="z"/><ec:InclusiveNamespaces PrefixList="b"/>', ["b"]),
        ('<ec:InclusiveNamespaces PrefixList="c"/><ec:InclusiveNamespaces PrefixList="d"/>', ["c"]),
        ("<ec:InclusiveNamespaces/>", []),
        ('<x:w><ec:InclusiveNamespaces PrefixList="deep"/></x:w>', []),
    ],
)
def test_inclusive_prefixes_as_find_gives_them(children: str, want: list[str]) -> None:
    t = etree.fromstring(f'<t xmlns:ec="{ns.EXC_C14N}" xmlns:x="urn:x">{children}</t>')
    node = t.find(f"{{{ns.EXC_C14N}}}InclusiveNamespaces")
    assert (
        read_inclusive_prefixes(t) == want == ([] if node is None else (node.get("PrefixList") or "").split())
    )


@pytest.mark.parametrize(
    "tag",
    [
        f"{{{ns.SC_2005}}}Other",
        "{urn:x}SecurityContextToken",
        "SecurityContextToken",
        f"{{{ns.SC_2005}}}SecurityContextTokenX",
        f"{{{ns.SC_2005}x}}SecurityContextToken",
    ],
)
def test_sct_reader_refuses_other_tags(tag: str) -> None:
    el = etree.Element(tag)
    etree.SubElement(el, f"{{{ns.SC_2005}}}Identifier").text = "urn:uuid:1"
    with pytest.raises(InvalidSecurityToken, match="not a SecurityContextToken"):
        SecurityContextToken.from_xml(el)


@pytest.mark.parametrize("sc", [ns.SC_2005, ns.SC_13])
def test_sct_reader_reads_both_versions(sc: str) -> None:
    el = etree.Element(f"{{{sc}}}SecurityContextToken")
    etree.SubElement(el, f"{{{sc}}}Identifier").text = "urn:uuid:1"
    tok, version = SecurityContextToken.from_xml(el)
    assert tok.identifier == "urn:uuid:1" and version.ns == sc
