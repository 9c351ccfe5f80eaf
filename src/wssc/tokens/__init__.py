"""Security tokens: SCT, DKT, STR, Timestamp, and the custom token registry."""

from wssc.tokens.dkt import DEFAULT_LABEL, DerivedKeyToken
from wssc.tokens.registry import (
    CustomClause,
    CustomTokenType,
    derived_key_base,
    register_token_type,
    unregister_token_type,
)
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.tokens.timestamp import Timestamp, format_time, parse_time

__all__ = [
    "DEFAULT_LABEL",
    "CustomClause",
    "CustomTokenType",
    "DerivedKeyToken",
    "SecurityContextToken",
    "SecurityTokenReference",
    "Timestamp",
    "derived_key_base",
    "format_time",
    "parse_time",
    "register_token_type",
    "unregister_token_type",
]
