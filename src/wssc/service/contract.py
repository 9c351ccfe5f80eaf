"""WCF-style document/literal *wrapped* service contracts.

A contract is a Python class whose typed methods become operations::

    @service_contract(namespace="http://tempuri.org/", name="ICalculator")
    class Calculator:
        @operation
        def Add(self, a: int, b: int) -> int:
            return a + b

Actions follow WCF's default rule, ``{namespace}{ContractName}/{Op}`` and ``…/{Op}Response``
(``http://tempuri.org/ICalculator/Add``). Request body, every element in the contract namespace::

    <Add xmlns="http://tempuri.org/"><a>1</a><b>2</b></Add>

Reply body::

    <AddResponse xmlns="http://tempuri.org/"><AddResult>3</AddResult></AddResponse>

A ``-> None`` operation replies with an empty ``<AddResponse/>``.

Types (Python → XSD): ``int`` → ``xs:int`` (32-bit, as WCF's ``Int32``), ``str`` → ``xs:string``,
``bool`` → ``xs:boolean``, ``float`` → ``xs:double``, ``bytes`` → ``xs:base64Binary``.
``X | None`` is ``minOccurs="0" nillable="true"``: absent or ``xsi:nil="true"`` decode to None,
and None encodes as ``<x xsi:nil="true"/>``. ``list[X]`` is the element repeated in place
(``minOccurs="0" maxOccurs="unbounded"``; WCF's ``ArrayOf…`` wrappers are not used), so
``list[X] | None`` and ``list[X | None]`` are refused: they cannot round-trip.

Decoding is strict and bounded (:class:`ContractLimits`): unknown, duplicated or missing
elements, bad lexical values, and strings, binaries or lists over the limits raise
:class:`DeserializationFailed` (WCF's ``a:DeserializationFailed``, Sender). Parameter order is
not enforced on input. Encoding a value of the wrong type raises :class:`SerializationFailed`.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, overload

from lxml import etree

from wssc.errors import ActionNotSupported, ConfigurationError, FaultCode, WsscError
from wssc.xml import ns

__all__ = [
    "DEFAULT_LIMITS",
    "ContractLimits",
    "ContractSpec",
    "DeserializationFailed",
    "OperationSpec",
    "Parameter",
    "SerializationFailed",
    "ValueType",
    "combine_uri",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "get_contract",
    "operation",
    "service_contract",
]


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


# --- limits and types -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ContractLimits:
    """Decoding quotas, per value (WCF's reader quotas play this role)."""

    #: Characters in any one value's text (strings, and the lexical form of every other type).
    max_string_length: int = 64 * 1024
    #: Decoded bytes of one ``xs:base64Binary`` value.
    max_binary_length: int = 64 * 1024
    #: Items of one ``list[T]`` value (WCF's ``MaxArrayLength`` default).
    max_list_length: int = 16 * 1024


DEFAULT_LIMITS: Final = ContractLimits()

#: XSD local name → Python type. ``long`` and ``float`` are read from imported WSDLs only.
SCALARS: Final[Mapping[str, type]] = {
    "int": int,
    "long": int,
    "string": str,
    "boolean": bool,
    "double": float,
    "float": float,
    "base64Binary": bytes,
}
_PY_TO_XSD: Final[Mapping[type, str]] = {
    int: "int",
    str: "string",
    bool: "boolean",
    float: "double",
    bytes: "base64Binary",
}
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


@dataclass(frozen=True, slots=True)
class ValueType:
    """The XSD shape of a parameter or result: a scalar, optionally nillable, or a list."""

    xsd: str
    optional: bool = False
    is_list: bool = False

    def __post_init__(self) -> None:
        if self.xsd not in SCALARS:
            raise ConfigurationError(f"unsupported XSD type xs:{self.xsd}")
        if self.optional and self.is_list:
            raise ConfigurationError("an optional list cannot round-trip; use list[T]")

    @property
    def python_type(self) -> type:
        return SCALARS[self.xsd]

    @property
    def annotation(self) -> str:
        """The Python spelling, e.g. ``list[int]`` or ``str | None``."""
        base = self.python_type.__name__
        if self.is_list:
            return f"list[{base}]"
        return f"{base} | None" if self.optional else base

    @classmethod
    def from_annotation(cls, tp: object) -> ValueType:
        """``int`` / ``str | None`` / ``list[float]`` … → a :class:`ValueType`."""
        origin = typing.get_origin(tp)
        if origin is typing.Union or origin is types.UnionType:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1 or len(typing.get_args(tp)) != 2:
                raise ConfigurationError(f"unsupported union {tp!r}: only X | None is allowed")
            inner = cls.from_annotation(args[0])
            if inner.is_list:
                raise ConfigurationError(f"{tp!r}: an optional list cannot round-trip")
            return cls(inner.xsd, optional=True)
        if origin is list:
            (item,) = typing.get_args(tp) or (None,)
            if not isinstance(item, type) or item not in _PY_TO_XSD:
                raise ConfigurationError(f"unsupported list item type in {tp!r}")
            return cls(_PY_TO_XSD[item], is_list=True)
        if isinstance(tp, type) and tp in _PY_TO_XSD:
            return cls(_PY_TO_XSD[tp])
        raise ConfigurationError(f"unsupported type {tp!r} (use int, str, bool, float, bytes)")


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: ValueType


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation. Element names default to WCF's (``Add``, ``AddResponse``, ``AddResult``).

    ``namespace`` is the namespace of the wrapper elements and their children.
    ``method_name`` is the Python attribute to call (None for contracts read from a WSDL).
    """

    name: str
    namespace: str
    action: str
    reply_action: str
    parameters: tuple[Parameter, ...]
    result: ValueType | None
    is_async: bool = False
    method_name: str | None = None
    request_name: str = ""
    response_name: str = ""
    result_name: str = ""

    def __post_init__(self) -> None:
        if not self.request_name:
            object.__setattr__(self, "request_name", self.name)
        if not self.response_name:
            object.__setattr__(self, "response_name", self.name + "Response")
        if not self.result_name:
            object.__setattr__(self, "result_name", self.name + "Result")

    @property
    def request_tag(self) -> str:
        return f"{{{self.namespace}}}{self.request_name}"

    @property
    def response_tag(self) -> str:
        return f"{{{self.namespace}}}{self.response_name}"

    @property
    def result_params(self) -> tuple[Parameter, ...]:
        return () if self.result is None else (Parameter(self.result_name, self.result),)


@dataclass(frozen=True, eq=False)
class ContractSpec:
    """A contract: its name (the WSDL portType), namespace, and operations keyed by action."""

    name: str
    namespace: str
    operations: dict[str, OperationSpec] = field(default_factory=dict)

    def operation(self, name: str) -> OperationSpec:
        """The operation called ``name`` (``KeyError`` if none)."""
        for op in self.operations.values():
            if op.name == name:
                return op
        raise KeyError(name)

    def find(self, action: str | None) -> OperationSpec:
        """The operation for an inbound action, or :class:`ActionNotSupported`."""
        op = self.operations.get(action or "")
        if op is None:
            raise ActionNotSupported(f"no operation has the action {action!r}")
        return op

    @property
    def operation_names(self) -> list[str]:
        return [op.name for op in self.operations.values()]


# --- decorators -----------------------------------------------------------------------------
_OP_ATTR: Final = "__wssc_operation__"
_CONTRACT_ATTR: Final = "__wssc_contract__"
F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)


@dataclass(frozen=True, slots=True)
class _OperationOptions:
    name: str | None = None
    action: str | None = None
    reply_action: str | None = None


@overload
def operation(func: F, /) -> F: ...
@overload
def operation(
    *, name: str | None = None, action: str | None = None, reply_action: str | None = None
) -> Callable[[F], F]: ...
def operation(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    action: str | None = None,
    reply_action: str | None = None,
) -> F | Callable[[F], F]:
    """Mark a method as an operation; ``name``/``action``/``reply_action`` override WCF's."""
    options = _OperationOptions(name, action, reply_action)

    def mark(f: F) -> F:
        setattr(f, _OP_ATTR, options)
        return f

    return mark if func is None else mark(func)


def combine_uri(first: str, second: str) -> str:
    """WCF's ``NamingHelper.CombineUriStrings``: join with ``/`` unless one side has it."""
    if first.endswith("/") or second.startswith("/"):
        return first + second
    return f"{first}/{second}"


def service_contract(
    *, namespace: str = "http://tempuri.org/", name: str | None = None
) -> Callable[[C], C]:
    """Collect the class's ``@operation`` methods (including inherited ones) into a
    :class:`ContractSpec`, stored on the class and returned by :func:`get_contract`."""
    if not namespace:
        raise ConfigurationError("a service contract needs a non-empty namespace")

    def build(cls: C) -> C:
        contract_name = name or cls.__name__
        found: dict[str, tuple[Callable[..., Any], _OperationOptions]] = {}
        for klass in reversed(cls.__mro__):
            for attr, member in vars(klass).items():
                opts = getattr(member, _OP_ATTR, None)
                if not isinstance(opts, _OperationOptions):
                    continue
                if isinstance(member, staticmethod | classmethod) or not callable(member):
                    raise ConfigurationError(f"{contract_name}.{attr}: use a plain method")
                found[attr] = (member, opts)
        if not found:
            raise ConfigurationError(f"contract {contract_name} has no @operation methods")
        ops: dict[str, OperationSpec] = {}
        names: set[str] = set()
        for attr, (func, opts) in found.items():
            spec = _operation_spec(func, attr, opts, namespace, contract_name)
            if spec.action in ops or spec.name in names:
                raise ConfigurationError(
                    f"contract {contract_name}: duplicate operation {spec.name} ({spec.action})"
                )
            ops[spec.action] = spec
            names.add(spec.name)
        setattr(cls, _CONTRACT_ATTR, ContractSpec(contract_name, namespace, ops))
        return cls

    return build


def get_contract(obj: object) -> ContractSpec:
    """The :class:`ContractSpec` of a ``@service_contract`` class or instance."""
    spec = getattr(obj, _CONTRACT_ATTR, None)
    if not isinstance(spec, ContractSpec):
        raise ConfigurationError(f"{obj!r} is not a @service_contract class")
    return spec


def _operation_spec(
    func: Callable[..., Any], attr: str, opts: _OperationOptions, namespace: str, contract: str
) -> OperationSpec:
    op_name = opts.name or attr
    where = f"{contract}.{attr}"
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:
        raise ConfigurationError(f"{where}: cannot resolve type hints ({exc})") from None
    sig = inspect.signature(func)
    params: list[Parameter] = []
    for i, p in enumerate(sig.parameters.values()):
        if i == 0:
            continue  # self
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise ConfigurationError(f"{where}: *args, **kwargs and positional-only are refused")
        if p.name not in hints:
            raise ConfigurationError(f"{where}: parameter {p.name} has no type annotation")
        params.append(Parameter(p.name, _value_type(hints[p.name], where)))
    if "return" not in hints:
        raise ConfigurationError(f"{where}: the return type must be annotated (-> None if void)")
    ret = hints["return"]
    result = None if ret is None or ret is type(None) else _value_type(ret, where)
    action = opts.action or combine_uri(combine_uri(namespace, contract), op_name)
    return OperationSpec(
        name=op_name,
        namespace=namespace,
        action=action,
        reply_action=opts.reply_action or action + "Response",
        parameters=tuple(params),
        result=result,
        is_async=inspect.iscoroutinefunction(func),
        method_name=attr,
    )


def _value_type(tp: object, where: str) -> ValueType:
    try:
        return ValueType.from_annotation(tp)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc.detail}") from None


# --- encoding -------------------------------------------------------------------------------
def encode_request(spec: OperationSpec, args: Mapping[str, object]) -> etree._Element:
    """``{"a": 1, "b": 2}`` → ``<Add xmlns="…"><a>1</a><b>2</b></Add>`` (client side).

    Unknown names raise :class:`SerializationFailed`; a missing optional parameter is sent as nil
    and a missing list as empty, a missing required one raises.
    """
    unknown = sorted(set(args) - {p.name for p in spec.parameters})
    if unknown:
        raise SerializationFailed(f"{spec.name}: unknown parameter(s) {', '.join(unknown)}")
    wrapper = etree.Element(spec.request_tag, nsmap=default_nsmap(spec.namespace))
    for p in spec.parameters:
        if p.name not in args and not (p.type.optional or p.type.is_list):
            raise SerializationFailed(f"{spec.name}: missing parameter {p.name}")
        default: object = [] if p.type.is_list else None
        _encode_value(wrapper, spec.namespace, p, args.get(p.name, default))
    return wrapper


def encode_response(spec: OperationSpec, value: object) -> etree._Element:
    """``3`` → ``<AddResponse xmlns="…"><AddResult>3</AddResult></AddResponse>`` (service)."""
    wrapper = etree.Element(spec.response_tag, nsmap=default_nsmap(spec.namespace))
    if spec.result is None:
        if value is not None:
            raise SerializationFailed(f"{spec.name} is declared -> None but returned a value")
        return wrapper
    _encode_value(wrapper, spec.namespace, Parameter(spec.result_name, spec.result), value)
    return wrapper


def _encode_value(parent: etree._Element, ns_: str, p: Parameter, value: object) -> None:
    tag = f"{{{ns_}}}{p.name}"
    t = p.type
    if t.is_list:
        if not isinstance(value, list | tuple):
            raise SerializationFailed(f"{p.name}: expected a list, got {type(value).__name__}")
        for item in value:
            _set_text(etree.SubElement(parent, tag), p.name, _format(t.xsd, p.name, item))
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
    return _decode_children(payload, spec.namespace, spec.parameters, limits)


def decode_response(
    spec: OperationSpec, payload: etree._Element, limits: ContractLimits = DEFAULT_LIMITS
) -> object:
    """``<AddResponse><AddResult>3</AddResult></AddResponse>`` → ``3`` (client side)."""
    _expect_tag(payload, spec.response_tag)
    values = _decode_children(payload, spec.namespace, spec.result_params, limits)
    return values.get(spec.result_name)


def _expect_tag(el: etree._Element, tag: str) -> None:
    if el.tag != tag:
        got = el.tag if isinstance(el.tag, str) else "a non-element"
        raise DeserializationFailed(f"expected the element {tag}, got {_shorten(got)}")


def _decode_children(
    wrapper: etree._Element, ns_: str, params: tuple[Parameter, ...], limits: ContractLimits
) -> dict[str, object]:
    by_name = {p.name: p.type for p in params}
    values: dict[str, object] = {}
    lists: dict[str, list[object]] = {p.name: [] for p in params if p.type.is_list}
    for child in wrapper:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        q = etree.QName(child)
        t = by_name.get(q.localname) if q.namespace == ns_ else None
        if t is None:
            raise DeserializationFailed(f"unexpected element {_shorten(child.tag)}")
        name = q.localname
        if t.is_list:
            items = lists[name]
            if len(items) >= limits.max_list_length:
                raise DeserializationFailed(
                    f"{{{ns_}}}{name} has more than {limits.max_list_length} items"
                )
            items.append(_decode_value(child, name, ValueType(t.xsd), limits))
        elif name in values:
            raise DeserializationFailed(f"the element {{{ns_}}}{name} appears twice")
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
            raise DeserializationFailed(f"the required element {{{ns_}}}{p.name} is missing")
    return out


def _decode_value(el: etree._Element, name: str, t: ValueType, limits: ContractLimits) -> object:
    if any(isinstance(c.tag, str) for c in el):
        raise DeserializationFailed(f"{name}: xs:{t.xsd} cannot contain elements")
    text = (el.text or "") + "".join(c.tail or "" for c in el)
    nil = el.get(_XSI_NIL)
    if nil is not None and nil.strip() in ("true", "1"):
        if not t.optional:
            raise DeserializationFailed(f"{name} is required and cannot be nil")
        if text.strip():
            raise DeserializationFailed(f"{name} is nil but has content")
        return None
    if len(text) > limits.max_string_length:
        raise DeserializationFailed(f"{name} is longer than {limits.max_string_length} characters")
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
