"""WCF-style document/literal *wrapped* service contracts: the model.

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

Contracts read from a WSDL (`wssc.contract.wsdl.parse_wsdl_operations`) may also carry *raw XML*
values (``xsd == "element"``, Python type ``lxml.etree._Element``): a child of complex type, an
``xs:element ref=`` to one, or a whole body element (document/literal *bare*, or a wrapper
wssc cannot map, e.g. ``xs:any``). The caller passes an lxml element whose tag is the declared
element's, and gets one (a copy) back::

    ping = etree.Element("{http://xmlsoap.org/Ping}Ping")     # then its children
    reply = client.Ping(Ping=ping)                            # an lxml element, or None

Decoding is strict and bounded (`ContractLimits`): unknown, duplicated or missing
elements, bad lexical values, and strings, binaries or lists over the limits raise
`DeserializationFailed` (WCF's ``a:DeserializationFailed``, Sender). Parameter order is
not enforced on input. Encoding a value of the wrong type raises `SerializationFailed`.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, overload

from lxml import etree

from wssc.errors import ActionNotSupported, ConfigurationError


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


def string_limits(max_string_content_length: int) -> ContractLimits:
    """The limits under an endpoint's ``max_string_content_length``: it bounds every value's
    text, so a base64Binary's too (its decoded bytes are then at most ¾ of it)."""
    if max_string_content_length == DEFAULT_LIMITS.max_string_length:
        return DEFAULT_LIMITS
    n = max_string_content_length
    return ContractLimits(max_string_length=n, max_binary_length=n)


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
#: The ``xsd`` of a raw XML value (an lxml element), read from WSDLs only.
ELEMENT: Final = "element"
_PY_TO_XSD: Final[Mapping[type, str]] = {
    int: "int",
    str: "string",
    bool: "boolean",
    float: "double",
    bytes: "base64Binary",
}


@dataclass(frozen=True, slots=True)
class ValueType:
    """The XSD shape of a parameter or result: a scalar, optionally nillable, or a list."""

    xsd: str
    optional: bool = False
    is_list: bool = False

    def __post_init__(self) -> None:
        if self.xsd not in SCALARS and self.xsd != ELEMENT:
            raise ConfigurationError(f"unsupported XSD type xs:{self.xsd}")
        if self.optional and self.is_list:
            raise ConfigurationError("an optional list cannot round-trip; use list[T]")

    @property
    def python_type(self) -> type:
        return etree._Element if self.xsd == ELEMENT else SCALARS[self.xsd]

    @property
    def is_element(self) -> bool:
        """A raw XML value (an lxml element), not a scalar."""
        return self.xsd == ELEMENT

    @property
    def annotation(self) -> str:
        """The Python spelling, e.g. ``list[int]``, ``str | None`` or ``etree._Element``."""
        base = "etree._Element" if self.is_element else self.python_type.__name__
        if self.is_list:
            return f"list[{base}]"
        return f"{base} | None" if self.optional else base

    @classmethod
    def from_annotation(cls, tp: object) -> ValueType:
        """``int`` / ``str | None`` / ``list[float]`` … → a `ValueType`."""
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
    """A parameter or result: ``name`` is its element's local name (and the Python keyword).
    ``namespace`` is its element's namespace when not the wrapper's (an ``xs:element ref=``
    into another schema; ``""`` for an unqualified element); None: the wrapper's."""

    name: str
    type: ValueType
    namespace: str | None = None

    def tag(self, wrapper_namespace: str) -> str:
        uri = wrapper_namespace if self.namespace is None else self.namespace
        return f"{{{uri}}}{self.name}" if uri else self.name


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation. Element names default to WCF's (``Add``, ``AddResponse``, ``AddResult``).

    ``namespace`` is the namespace of the wrapper elements and their children
    (``response_namespace``, when set, the reply's). ``method_name`` is the Python attribute
    to call (None for contracts read from a WSDL). ``bare_request`` / ``bare_reply``:
    document/literal *bare* (read from a WSDL): the body element itself is the one parameter
    (the result), named ``request_name`` (``response_name``), no wrapper around it.
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
    response_namespace: str = ""
    bare_request: bool = False
    bare_reply: bool = False
    #: The result element's namespace when not the reply wrapper's (see `Parameter`).
    result_namespace: str | None = None

    def __post_init__(self) -> None:
        if not self.response_namespace:
            object.__setattr__(self, "response_namespace", self.namespace)
        if not self.request_name:
            object.__setattr__(self, "request_name", self.name)
        if not self.response_name:
            object.__setattr__(self, "response_name", self.name + "Response")
        if not self.result_name:
            object.__setattr__(self, "result_name", self.name + "Result")

    @property
    def request_tag(self) -> str:
        return f"{{{self.namespace}}}{self.request_name}" if self.namespace else self.request_name

    @property
    def response_tag(self) -> str:
        uri = self.response_namespace
        return f"{{{uri}}}{self.response_name}" if uri else self.response_name

    @property
    def result_params(self) -> tuple[Parameter, ...]:
        if self.result is None:
            return ()
        return (Parameter(self.result_name, self.result, self.result_namespace),)


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
        """The operation for an inbound action, or `ActionNotSupported`."""
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


def service_contract(*, namespace: str = "http://tempuri.org/", name: str | None = None) -> Callable[[C], C]:
    """Collect the class's ``@operation`` methods (including inherited ones) into a
    `ContractSpec`, stored on the class and returned by `get_contract`."""
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
    """The `ContractSpec` of a ``@service_contract`` class or instance."""
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
