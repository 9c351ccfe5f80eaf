"""A registry for custom token types.

Register a serializer plus a key-identifier clause per type::

    register_token_type(CustomTokenType(
        token_type="urn:example:token",
        element="{urn:example}MyToken",
        serialize=lambda tok: ...,            # -> the token element
        key_identifier_clause=lambda tok: ...  # -> the element that identifies it
    ))

A DerivedKeyToken over a custom token must reference it through a
``wsse:SecurityTokenReference``. WCF writes an unwrapped clause without complaint and the
receiver fails when it deserializes; wssc refuses at serialization time
(`derived_key_base` and `DerivedKeyToken.to_xml`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from wssc.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class CustomClause:
    """A key identifier clause produced by a custom token type."""

    token_type: str
    element: etree._Element


@dataclass(frozen=True, slots=True)
class CustomTokenType:
    token_type: str
    element: str  # Clark name of the token element
    serialize: Callable[[Any], etree._Element]
    key_identifier_clause: Callable[[Any], etree._Element]
    parse: Callable[[etree._Element], Any] | None = None


_REGISTRY: dict[str, CustomTokenType] = {}


def register_token_type(t: CustomTokenType) -> None:
    if t.token_type in _REGISTRY and _REGISTRY[t.token_type] is not t:
        raise ConfigurationError(f"token type {t.token_type!r} is already registered")
    _REGISTRY[t.token_type] = t


def unregister_token_type(token_type: str) -> None:
    _REGISTRY.pop(token_type, None)


def token_type(token_type: str) -> CustomTokenType:
    try:
        return _REGISTRY[token_type]
    except KeyError:
        raise ConfigurationError(f"token type {token_type!r} is not registered") from None


def derived_key_base(token_type_uri: str, token: Any) -> CustomClause:
    """The clause a DerivedKeyToken over ``token`` will carry (checked when serialized)."""
    t = token_type(token_type_uri)
    return CustomClause(t.token_type, t.key_identifier_clause(token))
