"""A hardened XML parser for untrusted SOAP messages.

Refuses, each with :class:`~wssc.errors.MalformedXml` and a reason:

* any DOCTYPE (so no DTD, no internal subset, no entity declarations);
* entity references and external resources (``resolve_entities=False``, ``no_network=True``);
* documents larger than :attr:`ParserLimits.max_bytes`;
* element nesting deeper than :attr:`ParserLimits.max_depth`;
* more elements than :attr:`ParserLimits.max_elements`;
* processing instructions outside the prolog are kept out of security processing by c14n rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from lxml import etree

from wssc.errors import MalformedXml


@dataclass(frozen=True, slots=True)
class ParserLimits:
    #: WCF's default MaxReceivedMessageSize is 64 KiB; we allow more but stay bounded.
    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 100_000


DEFAULT_LIMITS: Final = ParserLimits()


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )


_PARSER: Final = _make_parser()


def parse_xml(data: bytes | str, limits: ParserLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise :class:`MalformedXml`.

    >>> parse_xml(b"<a><b/></a>").tag
    'a'
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise MalformedXml(f"the message is larger than {limits.max_bytes} bytes")
    if not data.strip():
        raise MalformedXml("the message is empty")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(f"not well-formed XML: {exc.msg}") from None
    except ValueError as exc:  # e.g. unicode strings with encoding declarations
        raise MalformedXml(f"not parseable XML: {exc}") from None
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedXml("a DOCTYPE is not allowed in a SOAP message")
    count = 0
    for el in root.iter():
        count += 1
        if count > limits.max_elements:
            raise MalformedXml(f"the message has more than {limits.max_elements} elements")
        if isinstance(el, etree._Entity):
            raise MalformedXml("entity references are not allowed")
    _check_depth(root, limits.max_depth)
    return root


def _check_depth(root: etree._Element, max_depth: int) -> None:
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        el, d = stack.pop()
        if d > max_depth:
            raise MalformedXml(f"the message nests elements deeper than {max_depth}")
        stack.extend((c, d + 1) for c in el)
