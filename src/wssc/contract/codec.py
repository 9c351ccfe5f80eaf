"""The XSD value codec of a contract: operation arguments and results to and from the
document/literal *wrapped* body elements (see `wssc.contract.model` for the shapes).

Decoding is strict and bounded (`ContractLimits`); encoding a
value of the wrong type raises `SerializationFailed`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import math
import re
from collections.abc import Mapping
from typing import Final

from lxml import etree

from wssc.contract.model import (
    DEFAULT_LIMITS,
    SCALARS,
    ContractLimits,
    OperationSpec,
    Parameter,
    ValueType,
)
from wssc.errors import FaultCode, WsscError
from wssc.xml import ns

_INT_RANGES: Final[Mapping[str, tuple[int, int]]] = {
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
_INT_RE: Final = re.compile(r"[+-]?[0-9]{1,40}")
_DOUBLE_RE: Final = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_SPECIAL_DOUBLES: Final[Mapping[str, float]] = {
    "INF": math.inf,
    "+INF": math.inf,
    "-INF": -math.inf,
    "NaN": math.nan,
}
_XSI_NIL: Final = f"{{{ns.XSI}}}nil"
_SHOWN: Final = 40  # characters of a bad value echoed into a fault reason


# --- errors ---------------------------------------------------------------------------------
class DeserializationFailed(WsscError):
    """A request (or reply) body does not match the operation's parameters."""

    default_code = FaultCode(ns.WCF_DISPATCHER, "DeserializationFailed", "Sender")
    default_reason = "The formatter threw an exception while trying to deserialize the message"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: FaultCode | None = None,
        reason: str | None = None,
        action: str | None = None,
    ) -> None:
        # The detail names parameters and types, never secrets, so the reason carries it (WCF
        # does the same); values echoed into it are truncated by the callers.
        if reason is None and detail:
            reason = f"{self.default_reason}: {detail}"
        super().__init__(detail, code=code, reason=reason, action=action)


class SerializationFailed(WsscError):
    """A value cannot be written as its declared XSD type (a local bug, not the peer's)."""

    default_code = FaultCode(ns.WCF_DISPATCHER, "InternalServiceFault", "Receiver")
    default_reason = "The server was unable to process the request due to an internal error."


def encode_request(spec: OperationSpec, args: Mapping[str, object]) -> etree._Element:
    """``{"a": 1, "b": 2}`` → ``<Add xmlns="…"><a>1</a><b>2</b></Add>`` (client side).

    Unknown names raise `SerializationFailed`; a missing optional parameter is sent as nil
    and a missing list as empty, a missing required one raises. A bare operation's body is its
    one parameter's element.
    """
    unknown = sorted(set(args) - {p.name for p in spec.parameters})
    if unknown:
        raise SerializationFailed(f"{spec.name}: unknown parameter(s) {', '.join(unknown)}")
    if spec.bare_request:
        (p,) = spec.parameters
        if p.name not in args:
            raise SerializationFailed(f"{spec.name}: missing parameter {p.name}")
        return _encode_bare(spec.request_tag, p, args[p.name])
    wrapper = etree.Element(spec.request_tag, nsmap=_nsmap_of(spec.request_tag))
    for p in spec.parameters:
        if p.name not in args and not (p.type.optional or p.type.is_list):
            raise SerializationFailed(f"{spec.name}: missing parameter {p.name}")
        default: object = [] if p.type.is_list else None
        _encode_value(wrapper, spec.namespace, p, args.get(p.name, default))
    return wrapper


def encode_response(spec: OperationSpec, value: object) -> etree._Element:
    """``3`` → ``<AddResponse xmlns="…"><AddResult>3</AddResult></AddResponse>`` (service)."""
    if spec.bare_reply and spec.result is not None:
        return _encode_bare(spec.response_tag, spec.result_params[0], value)
    wrapper = etree.Element(spec.response_tag, nsmap=_nsmap_of(spec.response_tag))
    if spec.result is None:
        if value is not None:
            raise SerializationFailed(f"{spec.name} is declared -> None but returned a value")
        return wrapper
    _encode_value(wrapper, spec.response_namespace, spec.result_params[0], value)
    return wrapper


def _nsmap_of(tag: str) -> dict[str, str] | None:
    uri = _namespace_of(tag)
    return default_nsmap(uri) if uri else None


@functools.lru_cache(maxsize=256)
def _namespace_of(tag: str) -> str | None:
    """The namespace of a Clark name (the contract's own tags: a handful per contract),
    parsed once instead of on every encoded message."""
    return etree.QName(tag).namespace


def _element_value(tag: str, name: str, value: object) -> etree._Element:
    """A copy of the caller's lxml element for the element ``tag`` (its tag must be that)."""
    if not isinstance(value, etree._Element) or not isinstance(value.tag, str):
        raise SerializationFailed(f"{name}: expected an lxml element {tag}, got {type(value).__name__}")
    if value.tag != tag:
        raise SerializationFailed(f"{name}: expected the element {tag}, got {_shorten(value.tag)}")
    return copy.deepcopy(value)


def _encode_bare(tag: str, p: Parameter, value: object) -> etree._Element:
    if p.type.is_element:
        return _element_value(tag, p.name, value)
    el = etree.Element(tag, nsmap=_nsmap_of(tag))
    if value is None:
        raise SerializationFailed(f"{p.name}: None given for a required {p.type.annotation}")
    _set_text(el, p.name, _format(p.type.xsd, p.name, value))
    return el


def _encode_value(parent: etree._Element, ns_: str, p: Parameter, value: object) -> None:
    tag = p.tag(ns_)
    t = p.type
    if t.is_list:
        if not isinstance(value, list | tuple):
            raise SerializationFailed(f"{p.name}: expected a list, got {type(value).__name__}")
        for item in value:
            if t.is_element:
                parent.append(_element_value(tag, p.name, item))
            else:
                _set_text(etree.SubElement(parent, tag), p.name, _format(t.xsd, p.name, item))
        return
    if t.is_element:
        if value is None:
            if not t.optional:
                raise SerializationFailed(f"{p.name}: None given for a required {t.annotation}")
            return  # minOccurs="0": left out
        parent.append(_element_value(tag, p.name, value))
        return
    child = etree.SubElement(parent, tag)
    if value is None:
        if not t.optional:
            raise SerializationFailed(f"{p.name}: None given for a required {t.annotation}")
        child.set(_XSI_NIL, "true")
        return
    _set_text(child, p.name, _format(t.xsd, p.name, value))


def default_nsmap(uri: str) -> dict[str, str]:
    """``{None: uri}``: an ``nsmap`` making ``uri`` the default namespace (as WCF writes)."""
    return {None: uri}  # type: ignore[dict-item]  # lxml-stubs omit the None key


def _set_text(el: etree._Element, name: str, text: str) -> None:
    try:
        el.text = text
    except ValueError:
        raise SerializationFailed(f"{name}: the string has characters XML cannot carry") from None


def _format(xsd: str, name: str, value: object) -> str:
    expected = SCALARS[xsd]
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        lo, hi = _INT_RANGES[xsd]
        if not lo <= value <= hi:
            raise SerializationFailed(f"{name}: {value} is out of range for xs:{xsd}")
        return str(value)
    if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        f = float(value)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "INF" if f > 0 else "-INF"
        return repr(f)
    if expected is bool and isinstance(value, bool):
        return "true" if value else "false"
    if expected is str and isinstance(value, str):
        return value
    if expected is bytes and isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise SerializationFailed(f"{name}: expected xs:{xsd}, got {type(value).__name__}")


# --- decoding -------------------------------------------------------------------------------
def decode_request(
    spec: OperationSpec, payload: etree._Element, limits: ContractLimits = DEFAULT_LIMITS
) -> dict[str, object]:
    """``<Add><a>1</a><b>2</b></Add>`` → ``{"a": 1, "b": 2}`` in parameter order (service)."""
    _expect_tag(payload, spec.request_tag)
    if spec.bare_request:
        (p,) = spec.parameters
        return {p.name: _decode_bare(payload, p, limits)}
    return _decode_children(payload, spec.namespace, spec.parameters, limits)


def decode_response(
    spec: OperationSpec, payload: etree._Element, limits: ContractLimits = DEFAULT_LIMITS
) -> object:
    """``<AddResponse><AddResult>3</AddResult></AddResponse>`` → ``3`` (client side)."""
    _expect_tag(payload, spec.response_tag)
    if spec.bare_reply and spec.result is not None:
        return _decode_bare(payload, spec.result_params[0], limits)
    values = _decode_children(payload, spec.response_namespace, spec.result_params, limits)
    return values.get(spec.result_name)


def _decode_bare(payload: etree._Element, p: Parameter, limits: ContractLimits) -> object:
    if p.type.is_element:
        return _decode_element(payload, p.name, limits)
    return _decode_value(payload, p.name, p.type, limits)


def _expect_tag(el: etree._Element, tag: str) -> None:
    if el.tag != tag:
        got = el.tag if isinstance(el.tag, str) else "a non-element"
        raise DeserializationFailed(f"expected the element {tag}, got {_shorten(got)}")


def _decode_children(
    wrapper: etree._Element, ns_: str, params: tuple[Parameter, ...], limits: ContractLimits
) -> dict[str, object]:
    by_tag = {p.tag(ns_): p for p in params}
    values: dict[str, object] = {}
    lists: dict[str, list[object]] = {p.name: [] for p in params if p.type.is_list}
    for child in wrapper:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        p = by_tag.get(child.tag)
        if p is None:
            raise DeserializationFailed(f"unexpected element {_shorten(child.tag)}")
        t, name = p.type, p.name
        if t.is_list:
            items = lists[name]
            if len(items) >= limits.max_list_length:
                raise DeserializationFailed(f"{child.tag} has more than {limits.max_list_length} items")
            items.append(_decode_value(child, name, ValueType(t.xsd), limits))
        elif name in values:
            raise DeserializationFailed(f"the element {child.tag} appears twice")
        else:
            values[name] = _decode_value(child, name, t, limits)
    out: dict[str, object] = {}
    for p in params:
        if p.type.is_list:
            out[p.name] = lists[p.name]
        elif p.name in values:
            out[p.name] = values[p.name]
        elif p.type.optional:
            out[p.name] = None
        else:
            raise DeserializationFailed(f"the required element {p.tag(ns_)} is missing")
    return out


def string_quota_exceeded(name: str, limit: int) -> DeserializationFailed:
    """The refusal of a value whose text is over ``max_string_length``, naming the quota and
    its value as WCF's ``MaxStringContentLength`` refusal does (never the value itself)."""
    return DeserializationFailed(
        f"{name}: the maximum string content length quota ({limit}) has been exceeded "
        "(max_string_content_length; WCF's MaxStringContentLength)"
    )


def first_long_string(el: etree._Element, limit: int) -> str | None:
    """The local name of the first element in ``el`` (its descendants included, its own tail
    not) whose text, a tail inside it, or an attribute value is longer than ``limit``
    characters; None when every one fits. One pass over the tree: linear."""
    for node in el.iter():
        texts = [node.text or ""]
        if node is not el:
            texts.append(node.tail or "")
        if isinstance(node.tag, str):
            texts += [str(v) for v in node.attrib.values()]
        if any(len(t) > limit for t in texts):
            tag = node.tag if isinstance(node.tag, str) else el.tag
            return etree.QName(tag).localname
    return None


def _decode_element(el: etree._Element, name: str, limits: ContractLimits) -> etree._Element:
    """A raw-XML value: its size is bounded by the message parser's limits, and each of its
    texts and attribute values by ``max_string_length``."""
    if first_long_string(el, limits.max_string_length) is not None:
        raise string_quota_exceeded(name, limits.max_string_length)
    return copy.deepcopy(el)


def _decode_value(el: etree._Element, name: str, t: ValueType, limits: ContractLimits) -> object:
    if t.is_element:
        nil = el.get(_XSI_NIL)
        if t.optional and nil is not None and nil.strip() in ("true", "1") and not len(el):
            return None
        return _decode_element(el, name, limits)
    if not len(el):  # no child nodes at all (the usual scalar): its text is all there is
        text = el.text or ""
    elif any(isinstance(c.tag, str) for c in el):
        raise DeserializationFailed(f"{name}: xs:{t.xsd} cannot contain elements")
    else:  # comments or processing instructions between pieces of text
        text = (el.text or "") + "".join(c.tail or "" for c in el)
    nil = el.get(_XSI_NIL)
    if nil is not None and nil.strip() in ("true", "1"):
        if not t.optional:
            raise DeserializationFailed(f"{name} is required and cannot be nil")
        if text.strip():
            raise DeserializationFailed(f"{name} is nil but has content")
        return None
    if len(text) > limits.max_string_length:
        raise string_quota_exceeded(name, limits.max_string_length)
    return _parse(t.xsd, name, text, limits)


def _parse(xsd: str, name: str, text: str, limits: ContractLimits) -> object:
    if xsd == "string":
        return text
    s = text.strip()
    # The value itself is not echoed: it may be a secret, and faults and logs must not carry it.
    bad = DeserializationFailed(f"{name}: the value is not a valid xs:{xsd}")
    if xsd in _INT_RANGES:
        if not _INT_RE.fullmatch(s):
            raise bad
        value = int(s)
        lo, hi = _INT_RANGES[xsd]
        if not lo <= value <= hi:
            raise bad
        return value
    if xsd == "boolean":
        if s in ("true", "1"):
            return True
        if s in ("false", "0"):
            return False
        raise bad
    if xsd in ("double", "float"):
        if s in _SPECIAL_DOUBLES:
            return _SPECIAL_DOUBLES[s]
        if not _DOUBLE_RE.fullmatch(s):
            raise bad
        return float(s)
    # base64Binary: whitespace is allowed anywhere in the lexical form
    compact = "".join(s.split())
    if len(compact) // 4 * 3 > limits.max_binary_length + 2:
        raise DeserializationFailed(f"{name} is longer than {limits.max_binary_length} bytes")
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise bad from None
    if len(data) > limits.max_binary_length:
        raise DeserializationFailed(f"{name} is longer than {limits.max_binary_length} bytes")
    return data


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
