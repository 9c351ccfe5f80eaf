"""WS-Policy normal form: a policy expression as a list of alternatives.

Both WS-Policy 1.2 and 1.5 namespaces are read. ``wsp:Policy`` and ``wsp:All`` combine their
children (cross product), ``wsp:ExactlyOne`` offers each child as its own alternative::

    <wsp:Policy>                                  [[A, B], [A, C]]
      <A/>
      <wsp:ExactlyOne><B/><C/></wsp:ExactlyOne>
    </wsp:Policy>

An assertion marked ``wsp:Optional="true"`` (or ``wsp:Ignorable``) gives two alternatives, with
it first. ``<wsp:PolicyReference URI="#id"/>`` is replaced by the policy with that ``wsu:Id``.
An assertion's own nested ``wsp:Policy`` is *not* expanded here: it belongs to the assertion and
is normalized by whoever interprets the assertion (`nested_policy`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from lxml import etree

from wssc.errors import ConfigurationError
from wssc.xml import ns

from .vocab import WSP_NAMESPACES, is_true, pretty

Alternative = list[etree._Element]
Resolver = Callable[[str], "etree._Element | None"]

#: Guards against a policy whose alternatives multiply out of proportion.
MAX_ALTERNATIVES: Final = 64
_MAX_REFERENCE_DEPTH: Final = 8


def is_wsp(el: etree._Element, local: str) -> bool:
    q = etree.QName(el)
    return q.namespace in WSP_NAMESPACES and q.localname == local


def nested_policy(assertion: etree._Element) -> etree._Element | None:
    """The assertion's ``wsp:Policy`` child, if any."""
    for child in assertion:
        if isinstance(child.tag, str) and is_wsp(child, "Policy"):
            return child
    return None


def _no_resolver(uri: str) -> etree._Element | None:
    return None


def alternatives(policy: etree._Element, resolve: Resolver = _no_resolver) -> list[Alternative]:
    """Normalize a ``wsp:Policy`` (or ``wsp:All``/``wsp:ExactlyOne``) to its alternatives."""
    return _normalize(policy, resolve, 0)


def _normalize(el: etree._Element, resolve: Resolver, depth: int) -> list[Alternative]:
    if is_wsp(el, "Policy") or is_wsp(el, "All"):
        result: list[Alternative] = [[]]
        for child in _elements(el):
            result = [a + b for a in result for b in _normalize(child, resolve, depth)]
            _check_size(result)
        return result
    if is_wsp(el, "ExactlyOne"):
        result = []
        for child in _elements(el):
            result.extend(_normalize(child, resolve, depth))
            _check_size(result)
        return result
    if is_wsp(el, "PolicyReference"):
        if depth >= _MAX_REFERENCE_DEPTH:
            raise ConfigurationError("wsp:PolicyReference nesting is too deep (a cycle?)")
        uri = el.get("URI", "")
        target = resolve(uri)
        if target is None:
            raise ConfigurationError(f"wsp:PolicyReference URI={uri!r} does not resolve")
        return _normalize(target, resolve, depth + 1)
    if etree.QName(el).namespace in WSP_NAMESPACES:
        raise ConfigurationError(f"unexpected WS-Policy element {pretty(el)}")
    if _optional(el):
        return [[el], []]
    return [[el]]


def _optional(el: etree._Element) -> bool:
    names = (ns.qn(wsp, attr) for wsp in WSP_NAMESPACES for attr in ("Optional", "Ignorable"))
    return any(is_true(el.get(name)) for name in names)


def _elements(el: etree._Element) -> list[etree._Element]:
    """Element children only (comments and processing instructions are skipped)."""
    return [c for c in el if isinstance(c.tag, str)]


def _check_size(result: list[Alternative]) -> None:
    if len(result) > MAX_ALTERNATIVES:
        raise ConfigurationError(f"the policy has more than {MAX_ALTERNATIVES} alternatives")
