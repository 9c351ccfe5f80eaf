"""A hardened XML parser for untrusted SOAP messages.

Refuses, each with `MalformedXml` and a reason:

* any DOCTYPE (so no DTD, no internal subset, no entity declarations);
* entity references and external resources (``resolve_entities=False``, ``no_network=True``);
* documents larger than `ParserLimits.max_bytes`;
* element nesting deeper than `ParserLimits.max_depth`;
* more elements than `ParserLimits.max_elements`;
* any error libxml2 reports, even one lxml lets through (lxml looks at the last diagnostic
  only, so a namespace error followed by a warning passed: undeclared prefixes leaving tags
  such as ``s:Envelope``, invalid namespace URIs such as ``urn:a}b`` that make lxml's
  ``{namespace}local`` tags ambiguous, an attribute given twice through two prefixes of one
  namespace, of which lxml silently kept one);
* comments are dropped while parsing: exclusive c14n leaves them out of every digest, so a
  comment inside signed text must not be able to change what the application reads.
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
        remove_comments=True,  # never significant in SOAP; exc-c14n ignores them anyway
        remove_pis=False,
        collect_ids=False,
    )



def parse_xml(data: bytes | str, limits: ParserLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise `MalformedXml`.

    >>> parse_xml(b"<a><b/></a>").tag
    'a'
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise MalformedXml(f"the message is larger than {limits.max_bytes} bytes")
    if not data.strip():
        raise MalformedXml("the message is empty")
    # A parser per call (about 1 µs): its error log then belongs to this parse alone, even
    # when several threads parse at once.
    parser = _make_parser()
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
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedXml("a DOCTYPE is not allowed in a SOAP message")
    if _COUNT(root) > limits.max_elements:  # type: ignore[operator]
        raise MalformedXml(f"the message has more than {limits.max_elements} elements")
    if _too_deep(limits.max_depth)(root):
        raise MalformedXml(f"the message nests elements deeper than {limits.max_depth}")
    return root


_COUNT: Final = etree.XPath("count(//*)")
_DEPTH_CHECKS: dict[int, etree.XPath] = {}


def _too_deep(max_depth: int) -> etree.XPath:
    """An XPath that is true when an element sits deeper than ``max_depth`` (the root is at
    depth 1). Evaluated in C: no Python walk over the tree."""
    x = _DEPTH_CHECKS.get(max_depth)
    if x is None:
        x = etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")")
        _DEPTH_CHECKS[max_depth] = x
    return x
