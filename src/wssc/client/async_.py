"""The asynchronous client, over httpx (same behaviour as :class:`wssc.client.Client`)::

    async with await AsyncClient.from_wsdl(url) as c:
        await c.call("Add", a=2, b=3)
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

from wssc.certs import Certificate
from wssc.client.common import (
    ClientBase,
    EventHook,
    endpoint_from_wsdl,
    log,
    tls_verify,
)
from wssc.errors import ConfigurationError, RenewNeeded, WsscError
from wssc.service.contract import ContractSpec
from wssc.session.client import Outgoing
from wssc.settings import EndpointSettings


class AsyncClient(ClientBase):
    """The asyncio twin of :class:`~wssc.client.sync.Client`: ``await
    AsyncClient.from_wsdl(url)``, ``await client.call("Add", a=1, b=2)``, and :meth:`aclose`
    (or ``async with``) sends the Cancel unless the policy says MustNotSendCancel. Concurrent
    calls share one session."""

    def __init__(
        self,
        address: str,
        contract: ContractSpec,
        *,
        settings: EndpointSettings | None = None,
        service_certificate: Certificate | None = None,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 60.0,
        http: httpx.AsyncClient | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.time,
        local_reference_value_types: bool = True,
    ) -> None:
        super().__init__(
            address, contract, settings=settings, service_certificate=service_certificate,
            username=username, password=password, on_event=on_event, clock=clock,
            local_reference_value_types=local_reference_value_types,
        )
        self._http = http or httpx.AsyncClient(verify=tls_verify(verify), timeout=timeout)
        self._own_http = http is None
        self._lock = asyncio.Lock()

    @classmethod
    async def from_wsdl(
        cls, url: str, *, verify: bool | str | ssl.SSLContext = True, timeout: float = 60.0, **kw: Any
    ) -> AsyncClient:
        """``await AsyncClient.from_wsdl(url)``: settings, contract and certificate from the
        service's WSDL (the same as :meth:`from_wsdl_async`)."""
        return await cls.from_wsdl_async(url, verify=verify, timeout=timeout, **kw)

    @classmethod
    async def from_wsdl_async(
        cls, url: str, *, verify: bool | str | ssl.SSLContext = True, timeout: float = 60.0, **kw: Any
    ) -> AsyncClient:
        from wssc.policy.wsdl_resolve import WsdlAssembler

        async with httpx.AsyncClient(verify=tls_verify(verify), timeout=timeout) as h:

            async def fetch(doc_url: str) -> bytes:
                try:
                    r = await h.get(doc_url)
                except httpx.HTTPError as exc:
                    raise ConfigurationError(f"cannot fetch the WSDL at {doc_url}: {exc}") from None
                ClientBase._fetched(r.status_code, doc_url)
                return r.content

            asm = WsdlAssembler(await fetch(url), url)
            while urls := asm.missing():  # WCF's multi-file ?wsdl=wsdl0 / ?xsd=xsd0 imports
                for u in urls:
                    asm.add(u, await fetch(u))
        ep = endpoint_from_wsdl(asm.result(), url)
        kw.setdefault("service_certificate", ep.certificate)
        return cls(ep.address, ep.contract, settings=ep.settings, verify=verify,
                   timeout=timeout, **kw)

    async def _post(self, out: Outgoing) -> bytes:
        try:
            r = await self._http.post(self.address, content=out.body, headers={
                "content-type": out.content_type, "soapaction": f'"{out.action}"'})
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"cannot reach {self.address}: {exc}") from None
        return self._answered(r.status_code, r.content)

    async def open(self) -> None:
        async with self._lock:
            s = self.session
            if not s.scs.establish_security_context:
                return
            now = self.clock()
            if s.issue_due(now):
                out = s.issue_request(now)
                sct = s.issue_response(await self._post(out), out, now)
                self._event("issue", f"SCT {sct.identifier}{' (cookie)' if sct.cookie else ''}")
            elif s.renew_due(now):
                await self._renew_locked()

    async def _renew_locked(self) -> None:
        now = self.clock()
        out = self.session.renew_request(now)
        sct = self.session.renew_response(await self._post(out), out, now)
        self._event("renew", f"SCT {sct.identifier} instance {sct.instance}")

    async def renew(self) -> None:
        async with self._lock:
            await self._renew_locked()

    async def call(self, name: str, *args: object, **kwargs: object) -> object:
        op, bound = self._bind(name, args, kwargs)
        for attempt in (1, 2):
            await self.open()
            now = self.clock()
            out = self.session.app_request(op, bound, now)
            try:
                value = self.session.app_response(await self._post(out), out, now)
            except RenewNeeded:
                if attempt == 2 or not self.session.scs.can_renew_session:
                    raise
                self._event("renew-needed", "the service asked for a new key")
                continue
            self._event("call", f"{name} -> {value!r}")
            return value
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        s = self.session
        try:
            out = s.cancel_request(self.clock())
            if out is not None:
                s.cancel_response(await self._post(out), out, self.clock())
                self._event("cancel", "session cancelled")
            elif s.is_open:
                self._event("close", "no Cancel sent (MustNotSendCancel: cookie mode)")
                s.closed_without_cancel()
        except WsscError as exc:
            log.warning("cancel failed: %s", exc.describe())
            s.closed_without_cancel()
        finally:
            if self._own_http:
                await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
