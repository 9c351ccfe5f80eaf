"""Clients over httpx: `Client` (sync) and `AsyncClient`.

Imported lazily, so that ``wssc.client.common`` (shared with the zeep integration) works
without httpx installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wssc.client.async_ import AsyncClient
    from wssc.client.sync import Client

__all__ = ["AsyncClient", "Client"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from wssc.client.sync import Client

        return Client
    if name == "AsyncClient":
        from wssc.client.async_ import AsyncClient

        return AsyncClient
    raise AttributeError(f"module 'wssc.client' has no attribute {name!r}")
