"""The seam between the policy layer and the bootstraps above it.

Each bootstrap module (``wssc.bootstrap.*``) describes its own WS-SecurityPolicy shape: the
assertions of its bootstrap binding (export) and how it recognises them (import), with the
words ``wssc inspect`` uses for it. The policy layer never names a bootstrap: its callers (the
registry, `wssc.bootstrap.registry`) hand it the shapes to use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from lxml import etree

from wssc.settings import Bootstrap, SecureConversationSettings

if TYPE_CHECKING:
    from wssc.policy.export import PolicyWriter
    from wssc.policy.policy_import import BindingFacts, PolicyReader


class BootstrapShape(Protocol):
    @property
    def key(self) -> Bootstrap:
        """The settings value this shape stands for."""
        ...

    @property
    def description(self) -> str:
        """Plain words for ``wssc inspect``."""
        ...

    @property
    def needs_service_certificate(self) -> bool:
        """Does the client need the service's X.509 certificate?"""
        ...

    def assertions(
        self, w: PolicyWriter, settings: SecureConversationSettings
    ) -> list[etree._Element]:
        """The bootstrap binding's assertions (security binding, Wss11, Trust…)."""
        ...

    def recognize(self, reader: PolicyReader, binding: BindingFacts) -> bool | None:
        """None when ``binding`` is not this bootstrap; else the RequireDerivedKeys of its
        protection token (False when it has none)."""
        ...


__all__ = ["BootstrapShape"]
