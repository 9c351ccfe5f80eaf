"""The asynchronous client, over httpx (same behaviour as `wssc.client.Client`)::

async with await AsyncClient.from_wsdl(url) as c:
    await c.call("Add", a=2, b=3)
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from wssc.client.common import (
    ClientBase,
    afirst_wsdl,
    aread_reply,
    endpoint_from_wsdl,
    find_operation,
    network_failure,
    policy_first,
    tls_verify,
)
from wssc.client.issuer import afollow_issuer, pending, with_token
from wssc.errors import ConfigurationError, TransportError, missing_extra

try:
    import httpx
except ModuleNotFoundError as exc:
    raise missing_extra(exc, "wssc.AsyncClient") from exc

from wssc.session.client import Outgoing
from wssc.session.flow import Flow, arun_flow

T = TypeVar("T")


class AsyncClient(ClientBase[httpx.AsyncClient, asyncio.Lock]):
    """The asynchronous client: the same surface as `Client`, awaited
    (one request at a time per client)."""

    def _new_http(self, verify: bool | ssl.SSLContext, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(verify=verify, timeout=timeout)

    def _new_lock(self) -> asyncio.Lock:
        return asyncio.Lock()

    @classmethod
    async def from_wsdl(
        cls,
        url: str,
        *,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 60.0,
        address: str | None = None,
        port: str | None = None,
        mex: bool = False,
        sts: str | None = None,
        sts_verify: bool | str | ssl.SSLContext | None = None,
        **kw: Any,
    ) -> AsyncClient:
        """``await AsyncClient.from_wsdl(url)``: settings, contract and certificate from the
        service's WSDL (the same as `from_wsdl_async`)."""
        return await cls.from_wsdl_async(
            url,
            verify=verify,
            timeout=timeout,
            address=address,
            port=port,
            mex=mex,
            sts=sts,
            sts_verify=sts_verify,
            **kw,
        )

    @classmethod
    async def from_mex(cls, url: str, **kw: Any) -> AsyncClient:
        """``await AsyncClient.from_mex(url)``: `from_wsdl` with ``mex=True`` (see
        `wssc.client.Client.from_mex`)."""
        return await cls.from_wsdl_async(url, mex=True, **kw)

    @classmethod
    async def from_wsdl_async(
        cls,
        url: str,
        *,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 60.0,
        address: str | None = None,
        port: str | None = None,
        mex: bool = False,
        sts: str | None = None,
        sts_verify: bool | str | ssl.SSLContext | None = None,
        **kw: Any,
    ) -> AsyncClient:
        """See `wssc.client.Client.from_wsdl` (``url``, ``address``, ``mex``)."""
        from wssc.client.wsdl_fetch import aget_capped, amex_get_capped
        from wssc.policy.wsdl_resolve import WsdlAssembler, WsdlBudget

        budget = WsdlBudget()  # each document and the total capped while they stream
        async with httpx.AsyncClient(verify=tls_verify(verify), timeout=timeout) as h:

            async def fetch(doc_url: str) -> bytes:
                try:
                    return await aget_capped(h, doc_url, budget, ClientBase._fetched)
                except httpx.HTTPError as exc:
                    raise network_failure(exc, doc_url, "cannot fetch the WSDL at") from None

            if mex:
                try:
                    answer = await amex_get_capped(h, url, budget, ClientBase._mex_answered)
                except httpx.HTTPError as exc:
                    raise network_failure(exc, url, "cannot fetch the metadata at") from None
                asm = WsdlAssembler(answer, url, budget=budget)
            else:
                url, asm = await afirst_wsdl(url, fetch, budget)
            try:
                while urls := asm.missing():  # WCF's multi-file ?wsdl=wsdl0 / ?xsd=xsd0 imports
                    for u in urls:
                        asm.add(u, await fetch(u))
            except (ConfigurationError, TransportError) as exc:
                raise policy_first(asm, port, exc) from None
        ep = endpoint_from_wsdl(asm.result(), url, port)
        sts_trust = verify if sts_verify is None else sts_verify  # a CA file or context: pinned
        todo = pending(
            ep.settings.secure_conversation,
            address or ep.address,
            kw,
            sts,
            metadata_url=url,
            sts_pinned=isinstance(sts_trust, str | ssl.SSLContext),
        )
        if todo is not None:  # an IssuedToken endpoint: follow its sp:Issuer to the STS
            plan, user, pw = todo
            tls = tls_verify(sts_trust)
            token = await afollow_issuer(plan, user, pw, verify=tls, timeout=timeout)
            kw = with_token(kw, token)
        return cls._from_endpoint(ep, url, address, verify=verify, timeout=timeout, **kw)

    async def _post(self, out: Outgoing) -> bytes:
        # The reply streams, counted against max_received_message_size (`ReplyReader`).
        try:
            async with self._http.stream(
                "POST", self.address, content=out.body, headers=self._headers(out), follow_redirects=False
            ) as r:
                self._status(r.status_code, len(out.body))
                data = await aread_reply(r, self._reader)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._answered(r.status_code, data, len(out.body))

    async def _run(self, flow: Flow[T]) -> T:
        async with self._lock:
            return await arun_flow(flow, self._post)

    # --- session life ---------------------------------------------------------------------
    async def open(self) -> None:
        """Issue the SCT now (else the first call does), or renew when due."""
        await self._run(self.flow.open())

    async def renew(self) -> None:
        await self._run(self.flow.renew())

    async def call(self, name: str, *args: object, **kwargs: object) -> object:
        """Call operation ``name``; ``await c.call("Add", 2, 3)`` is ``await c.Add(2, 3)``."""
        op, bound = self._bind(name, args, kwargs)
        return await self._run(self.flow.call(op, bound))

    def __getattr__(self, name: str) -> Callable[..., Awaitable[object]]:
        if name.startswith("_"):
            raise AttributeError(name)
        find_operation(self.contract, name)

        async def operation(*a: object, **k: object) -> object:
            return await self.call(name, *a, **k)

        return operation

    async def aclose(self) -> None:
        """Cancel (unless MustNotSendCancel) and close the HTTP client."""
        try:
            await self._run(self.flow.close())
        finally:
            if self._own_http:
                await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
