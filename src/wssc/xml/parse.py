"""A hardened XML parser for untrusted SOAP messages.

Refuses, each with `MalformedXml` and a reason:

* any DOCTYPE (so no DTD, no internal subset, no entity declarations);
* entity references and external resources (``resolve_entities=False``, ``no_network=True``);
* documents larger than `ParserLimits.max_bytes`;
* element nesting deeper than `ParserLimits.max_depth`;
* more elements than `ParserLimits.max_elements`;
* an element with more than `ParserLimits.max_attributes_per_element` attributes
  (namespace declarations included), more than `ParserLimits.max_attributes` attributes
  in all, or more than `ParserLimits.max_namespace_declarations` namespace
  declarations: counted *before* the tree is built (`_check_attributes`), so that a
  refused message costs about its own size in memory (a tree holds some 250 bytes per
  attribute: 3.5 MB of attributes made 86 MB of tree);
* an encoding other than UTF-8 (or US-ASCII, ISO-8859-1): those counts read the bytes;
* any error libxml2 reports, even one lxml lets through (lxml looks at the last diagnostic
  only, so a namespace error followed by a warning passed: undeclared prefixes leaving tags
  such as ``s:Envelope``, invalid namespace URIs such as ``urn:a}b`` that make lxml's
  ``{namespace}local`` tags ambiguous, an attribute given twice through two prefixes of one
  namespace, of which lxml silently kept one);
* comments are dropped while parsing: exclusive c14n leaves them out of every digest, so a
  comment inside signed text must not be able to change what the application reads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree

from wssc.errors import MalformedXml


@dataclass(frozen=True, slots=True)
class ParserLimits:
    """Quotas on one document. WCF's ``XmlDictionaryReaderQuotas`` are the model; a service
    also refuses a request larger than ``EndpointSettings.max_received_message_size`` (64
    KiB, WCF's default) before it parses anything."""

    #: Any document: a service's requests are bounded far lower, by the message size.
    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 100_000
    #: Attributes of one element, namespace declarations included. WCF reads a start tag
    #: within ``MaxBytesPerRead`` (4096 bytes): 256 attributes of 16 bytes. WCF's own
    #: elements carry at most six.
    max_attributes_per_element: int = 256
    #: Attributes in the whole document (namespace declarations not included): WCF's
    #: ``MaxArrayLength``, more than a 64 KiB message can hold (an attribute takes 5 bytes).
    max_attributes: int = 16_384
    #: Namespace declarations in the whole document. A WCF message under message security
    #: has about 15, a Metro one about 30.
    max_namespace_declarations: int = 1024


DEFAULT_LIMITS: Final = ParserLimits()


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,  # never significant in SOAP; exc-c14n ignores them anyway
        remove_pis=False,
        collect_ids=False,
    )


_LOCAL: Final = threading.local()


def _thread_parser() -> etree.XMLParser:
    """This thread's hardened parser (made on first use)."""
    parser: etree.XMLParser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = _make_parser()
    return parser


def parse_xml(data: bytes | str, limits: ParserLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise `MalformedXml`.

    >>> parse_xml(b"<a><b/></a>").tag
    'a'
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise MalformedXml(f"the message is larger than {limits.max_bytes} bytes")
    if not data or data.isspace():  # (isspace stops at the first other byte: no copy)
        raise MalformedXml("the message is empty")
    _check_encoding(data)
    _check_attributes(data, limits)
    root = _parse(data)
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedXml("a DOCTYPE is not allowed in a SOAP message")
    _check_elements(root, limits)
    return root


#: The element `parse_fragment` wraps content in.
FRAGMENT_TAG: Final = "wssc-fragment"
_FRAGMENT_END: Final = f"</{FRAGMENT_TAG}>".encode()


def fragment_start(declarations: Mapping[str | None, str]) -> bytes:
    """The start tag `parse_fragment` wraps content in, declaring ``declarations`` (prefix,
    or None for the default namespace, to URI)::

        <wssc-fragment xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns="urn:a">
    """
    decls = "".join(
        f' xmlns:{p}="{_attribute_value(u)}"' if p else f' xmlns="{_attribute_value(u)}"'
        for p, u in declarations.items()
    )
    return f"<{FRAGMENT_TAG}{decls}>".encode()


def parse_fragment(start: bytes, content: bytes, limits: ParserLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted ``content`` (decrypted bytes: elements and text) inside the wrapper
    element ``start`` (from `fragment_start`), or raise `MalformedXml`; returns the wrapper.

    The same checks as `parse_xml`, on the wrapped bytes, but for two that cannot apply: the
    document starts with the wrapper's ``<``, so libxml2 reads it as UTF-8 (an XML declaration
    naming another encoding inside ``content`` is an error there), and no DOCTYPE can follow
    a start tag (one in ``content`` is an error too)."""
    data = start + content + _FRAGMENT_END
    if len(data) > limits.max_bytes:
        raise MalformedXml(f"the message is larger than {limits.max_bytes} bytes")
    _check_attributes(data, limits)
    root = _parse(data)
    _check_elements(root, limits)
    return root


def _parse(data: bytes) -> etree._Element:
    """libxml2's parse of checked bytes, refused on any error."""
    # One parser per thread: its error log belongs to this parse alone (libxml2's context
    # clears it as each parse starts), even when several threads parse at once; building a
    # parser per call cost more than the parse of a small message's fragments.
    parser = _thread_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(f"not well-formed XML: {exc.msg}") from None
    except ValueError as exc:  # e.g. unicode strings with encoding declarations
        raise MalformedXml(f"not parseable XML: {exc}") from None
    # lxml judges well-formedness by libxml2's *last* diagnostic only: a namespace error
    # (undeclared prefix, invalid namespace URI, an attribute defined twice through two
    # prefixes) followed by a mere warning is let through. Any error refuses the document.
    errors = parser.error_log.filter_from_level(etree.ErrorLevels.ERROR)
    if errors:
        raise MalformedXml(f"not well-formed XML: {errors[0].message}")
    return root


def _check_elements(root: etree._Element, limits: ParserLimits) -> None:
    elements: float = _COUNT(root)  # type: ignore[assignment]
    if elements > limits.max_elements:
        raise MalformedXml(f"the message has more than {limits.max_elements} elements")
    # Nesting is never deeper than the number of elements: most messages (a secured one
    # holds about 40 elements outside an encrypted Body) need no depth walk at all.
    if elements > limits.max_depth and _too_deep(limits.max_depth)(root):
        raise MalformedXml(f"the message nests elements deeper than {limits.max_depth}")


def _attribute_value(u: str) -> str:
    return u.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


#: ``regexp=False`` (here and below): lxml would otherwise register the EXSLT regular-expression
#: functions, which these expressions do not use, on every evaluation.
_COUNT: Final = etree.XPath("count(//*)", regexp=False)
_DEPTH_CHECKS: dict[int, etree.XPath] = {}


def _too_deep(max_depth: int) -> etree.XPath:
    """An XPath that is true when an element sits deeper than ``max_depth`` (the root is at
    depth 1). Evaluated in C: no Python walk over the tree."""
    x = _DEPTH_CHECKS.get(max_depth)
    if x is None:
        x = etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")", regexp=False)
        _DEPTH_CHECKS[max_depth] = x
    return x


# --- attributes and namespace declarations, counted before the tree is built -----------------
#: ``<?xml ... encoding="X"``: the encodings in which every ASCII character is its own byte
#: and no other byte sequence stands for one, so that the byte counts below are sound.
_DECLARED_ENCODING: Final = re.compile(rb"""\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([^"']*)""")
_ASCII_TRANSPARENT: Final = frozenset(
    {b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1", b"latin1"}
)
#: What libxml2 treats as part of a document: comments, CDATA sections, processing
#: instructions (each ends at its first terminator, for libxml2 as for this expression).
_NOT_MARKUP: Final = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)
#: One attribute (or namespace declaration) of a start tag; its value holds no ``<``.
_ATTRIBUTE: Final = rb"""\s++[^\s=/><]++\s*+=\s*+(?:"[^"<]*+"|'[^'<]*+')"""
_PER_ELEMENT: dict[int, tuple[re.Pattern[bytes], re.Pattern[bytes]]] = {}
#: A start tag: its attributes (and declarations) as written, from the first to the last.
_START_TAG: Final = re.compile(rb"<[^\s/>!?<]++((?:%s)*+)" % _ATTRIBUTE)
#: Each attribute of such a run: ``xmlns`` for a namespace declaration, else empty.
_ATTRIBUTE_KIND: Final = re.compile(
    rb"""\s++(?:(xmlns)(?::[^\s=/><]++)?+(?=\s*+=)|[^\s=/><]++)\s*+=\s*+"""
    rb"""(?:"[^"<]*+"|'[^'<]*+')"""
)
_BUT_LT_EQ: Final = bytes(b for b in range(256) if b not in b"<=")


def _check_encoding(data: bytes) -> None:
    """Refuse bytes in which an ASCII character is not its own byte (UTF-16/32, EBCDIC, a
    declared encoding of that kind): the counts of `_check_attributes` read the bytes."""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    m = _DECLARED_ENCODING.match(data, bom)
    start = data[bom : bom + 1]
    # UTF-16/32 (a NUL in the first four bytes, or their byte-order marks), EBCDIC ('<?xm'),
    # or a declared encoding of another kind.
    if (
        b"\x00" in data[:4]
        or start in (b"\xfe", b"\xff")
        or data[bom : bom + 4] == b"\x4c\x6f\xa7\x94"
        or (m is not None and m.group(1).lower() not in _ASCII_TRANSPARENT)
    ):
        raise MalformedXml("the message is not UTF-8 (only UTF-8, US-ASCII and ISO-8859-1 are accepted)")
    if start not in (b"<", b" ", b"\t", b"\r", b"\n"):
        raise MalformedXml("not well-formed XML: the document does not start with '<'")


def _check_attributes(data: bytes, limits: ParserLimits) -> None:
    """Refuse too many attributes or namespace declarations, reading the bytes.

    Every attribute and declaration needs a ``=``, every declaration the letters ``xmlns``,
    and an element's attributes all lie between its ``<`` and the next ``<`` (an attribute
    value holds no ``<``). So byte counts bound the real ones from above; usually they are
    already within the caps and nothing else runs (one ``bytes.count``: a few µs for a
    secured message). Past them, the start tags are read exactly (`_markup`,
    `_check_start_tags`, `_count_exactly`), by regular expressions run in C.
    """
    per_element = limits.max_attributes_per_element
    eq = data.count(b"=")
    if eq <= min(per_element, limits.max_attributes, limits.max_namespace_declarations):
        return
    # Fast (C, a few ns a byte): with all but "<" and "=" deleted, is there a run of more
    # than per_element "=" (between two "<")? Only then look at the tags.
    one_tag = eq > per_element and b"=" * (per_element + 1) in data.translate(None, _BUT_LT_EQ)
    all_tags = eq > limits.max_attributes or (
        eq > limits.max_namespace_declarations and data.count(b"xmlns") > limits.max_namespace_declarations
    )
    if one_tag or all_tags:
        markup = _markup(data)
        if one_tag:
            _check_start_tags(markup, per_element)
        if all_tags:
            _count_exactly(markup, limits)


def _markup(data: bytes) -> bytes:
    """``data`` without comments, CDATA sections and PIs (each ends at its first terminator,
    for libxml2 as for this expression): what is left holds ``<`` only where a tag starts
    (text and attribute values hold none). A ``<!`` left over is a DOCTYPE, or not XML."""
    if b"<!" not in data and b"<?" not in data:
        return data
    data = _NOT_MARKUP.sub(b"", data)
    if b"<!DOCTYPE" in data:
        raise MalformedXml("a DOCTYPE is not allowed in a SOAP message")
    if b"<!" in data:
        raise MalformedXml("not well-formed XML: '<!' outside a comment or CDATA section")
    return data


def _check_start_tags(markup: bytes, per_element: int) -> None:
    """Read exactly each start tag followed by more than ``per_element`` ``=`` before the
    next ``<``."""
    patterns = _PER_ELEMENT.get(per_element)
    if patterns is None:
        patterns = (
            # a "<" with more than per_element "=" before the next "<"
            re.compile(rb"<(?:[^<=]*+=){%d}" % (per_element + 1)),
            # a start tag's name, then per_element + 1 attributes (reads no further)
            re.compile(rb"<[^\s/>!?<]++(?:%s){%d}" % (_ATTRIBUTE, per_element + 1)),
        )
        _PER_ELEMENT[per_element] = patterns
    suspect, more_than = patterns
    found = suspect.search(markup)
    while found is not None:
        if more_than.match(markup, found.start()):
            raise MalformedXml(f"an element has more than {per_element} attributes")
        found = suspect.search(markup, found.end())


def _count_exactly(markup: bytes, limits: ParserLimits) -> None:
    """Count every start tag's attributes and declarations (no element has more than
    ``max_attributes_per_element``: `_check_start_tags` ran, or no run of "=" is that
    long), 64 KiB of tags at a time, stopping at the first cap passed."""
    elements = attributes = declarations = 0
    pos = 0
    while pos < len(markup):
        end = markup.find(b"<", pos + 65536)  # a tag never spans two pieces
        end = len(markup) if end < 0 else end
        runs = _START_TAG.findall(markup, pos, end)  # each start tag's attributes, as written
        kinds = _ATTRIBUTE_KIND.findall(b"".join(runs))
        plain = kinds.count(b"")
        elements += len(runs)
        attributes += plain
        declarations += len(kinds) - plain
        if elements > limits.max_elements:
            raise MalformedXml(f"the message has more than {limits.max_elements} elements")
        if attributes > limits.max_attributes:
            raise MalformedXml(f"the message has more than {limits.max_attributes} attributes")
        if declarations > limits.max_namespace_declarations:
            raise MalformedXml(
                f"the message declares more than {limits.max_namespace_declarations} namespaces"
            )
        pos = end
