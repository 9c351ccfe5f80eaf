"""An issued token as its holder (the client) keeps it: the assertion, opaque, and the
proof key that the relying party will find inside it."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from wssc.tokens.str_ import SecurityTokenReference


@dataclass(frozen=True, slots=True, eq=False)
class IssuedToken:
    """A token from an STS and what the client needs to use it."""

    assertion: etree._Element = field(repr=False)
    proof_key: bytes = field(repr=False)
    reference: SecurityTokenReference
    token_type: str
    expires: float | None

    @property
    def token_id(self) -> str:
        """The assertion's ``ID`` (SAML 1.1: ``AssertionID``)."""
        return self.assertion.get("ID") or self.assertion.get("AssertionID") or ""


__all__ = ["IssuedToken"]
