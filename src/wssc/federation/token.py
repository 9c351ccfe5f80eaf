"""An issued token as its holder (the client) keeps it: the assertion, opaque, and the
proof key that the relying party will find inside it (none: a bearer token)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from wssc.errors import ConfigurationError
from wssc.tokens.str_ import SecurityTokenReference


@dataclass(frozen=True, slots=True, eq=False)
class IssuedToken:
    """A token from an STS and what the client needs to use it."""

    assertion: etree._Element = field(repr=False)
    #: None for a bearer token (KeyType Bearer), which only a bearer endpoint takes.
    proof_key: bytes | None = field(repr=False)
    reference: SecurityTokenReference
    token_type: str
    expires: float | None

    @property
    def token_id(self) -> str:
        """The assertion's ``ID`` (SAML 1.1: ``AssertionID``)."""
        return self.assertion.get("ID") or self.assertion.get("AssertionID") or ""

    @property
    def key(self) -> bytes:
        """The proof key; `ConfigurationError` for a bearer token (no proof key), which a
        holder-of-key bootstrap cannot use."""
        if self.proof_key is None:
            raise ConfigurationError(
                "this endpoint needs an issued token with a proof key; the token is a bearer token"
            )
        return self.proof_key


__all__ = ["IssuedToken"]
