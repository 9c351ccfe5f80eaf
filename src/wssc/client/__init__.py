"""Clients over httpx: :class:`Client` (sync) and :class:`AsyncClient`."""

from wssc.client.async_ import AsyncClient
from wssc.client.sync import Client

__all__ = ["AsyncClient", "Client"]
